#!/usr/bin/env bash
# Sets up everything the gate, its demo and its tests need, from a clean clone:
# a virtualenv in .venv with the package and test tools, and the real 9router (pinned) in .cache/.
# Idempotent and quick on a second run. Needs python3 (3.11+), node and npm (Node 20+), and the
# package registries (PyPI, npm) on the first run. Uses nothing from the caller's PATH but those.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf 'bootstrap: %s\n' "$*" >&2; }
for tool in python3 node npm; do
  command -v "$tool" >/dev/null || { say "$tool is not installed; install it and rerun"; exit 1; }
done
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { say "$(command -v python3) is $(python3 -V 2>&1); need Python 3.11+"; exit 1; }
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $(python3 -V 2>&1)"
  python3 -m venv .venv
fi
# A second run skips pip when pyproject.toml has not changed since the last good install.
stamp=".venv/.installed-$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest()[:16])' pyproject.toml)"
if [ ! -f "$stamp" ]; then
  say "pip: installing the package and its test tools into .venv (about 20 s; needs PyPI)"
  started=$SECONDS
  # This machine's pip config names optional local indexes; their "is ignored" warnings are noise.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]" 2>&1 \
    | { grep -v "^WARNING: Location '.*' is ignored" || true; }
  [ "${PIPESTATUS[0]}" -eq 0 ] || { say "pip install failed"; exit 1; }
  rm -f .venv/.installed-*
  touch "$stamp"
  say "pip: done in $((SECONDS - started)) s"
fi
bash scripts/install-9router.sh
