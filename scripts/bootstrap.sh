#!/usr/bin/env bash
# Sets up everything the gate, its demo and its tests need, from a clean clone:
# a virtualenv in .venv with the package and test tools, and the real 9router (pinned) in .cache/.
# Idempotent and quick on a second run. Needs python3 (3.11+), node and npm (Node 20+).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
for tool in python3 node npm; do
  command -v "$tool" >/dev/null || { echo "bootstrap: $tool is not installed; install it and rerun" >&2; exit 1; }
done
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# This machine's pip config names optional local indexes; their "is ignored" warnings are noise.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]" 2>&1 \
  | { grep -v "^WARNING: Location '.*' is ignored" || true; }
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "bootstrap: pip install failed" >&2; exit 1; }
bash scripts/install-9router.sh
