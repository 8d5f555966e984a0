#!/usr/bin/env bash
# Installs the real 9router (pinned) and a compiled better-sqlite3 driver into .cache/9router.
# Idempotent: a finished install is left as it is. Used by the tests, the demo and the benchmark.
# On Node 20 (no built-in node:sqlite) 9router needs the better-sqlite3 driver: the sql.js it
# bundles ships without its wasm, and better-sqlite3's prebuilt binary is a download from GitHub,
# which may be unreachable, so it is compiled from source here (needs a C++ toolchain and python3).
# Without a driver the server starts but every route that touches its database answers 500.
# First run: about 2.5 min on a cold machine (mostly the compile); needs the npm registry.
set -euo pipefail
VERSION="${NINEROUTER_VERSION:-0.5.69}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${NINEROUTER_HOME:-$ROOT/.cache/9router}"
PKG="$DEST/pkg"
RUNTIME="$DEST/runtime"
STAMP="$DEST/.installed-$VERSION"
say() { printf 'install-9router: %s\n' "$*" >&2; }

if [ -f "$STAMP" ]; then
  exit 0
fi
mkdir -p "$DEST"
# Parallel callers (pytest-xdist workers, a demo next to a test run) must not install into the
# same folder at once: take a lock, then re-check the stamp the winner leaves behind.
if command -v flock >/dev/null; then
  exec 9>"$DEST/.install.lock"
  flock 9
  [ -f "$STAMP" ] && exit 0
fi
command -v node >/dev/null || { echo "install-9router: node is not installed (need Node.js 20+)" >&2; exit 1; }
mkdir -p "$PKG" "$RUNTIME"
# Should the postinstall hook ever run (npm versions differ), keep it out of ~/.9router.
export DATA_DIR="$DEST/postinstall-data"
mkdir -p "$DATA_DIR"
( cd "$PKG" && [ -f package.json ] || npm init -y >/dev/null )
# --ignore-scripts: the package's postinstall only warms ~/.9router/runtime (sql.js without its
# wasm, and a better-sqlite3 build that fails offline) and a tray helper; the server needs
# neither, and skipping it saves a failed native compile (about a minute). The dependencies
# have no install scripts of their own.
say "npm: installing 9router $VERSION into $DEST (about 30 s; needs the npm registry)"
started=$SECONDS
( cd "$PKG" && npm install --no-audit --no-fund --loglevel=error --ignore-scripts "9router@$VERSION" )
say "npm: 9router installed in $((SECONDS - started)) s"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 22 ]; then
  ( cd "$RUNTIME" && [ -f package.json ] || npm init -y >/dev/null )
  nodedir_args=()
  [ -d /usr/include/node ] && nodedir_args=(--nodedir=/usr)
  say "npm: compiling better-sqlite3 for Node $node_major (about 2.5 min on a cold machine, quiet meanwhile)"
  started=$SECONDS
  ( cd "$RUNTIME" && npm install --no-audit --no-fund --loglevel=error "${nodedir_args[@]}" better-sqlite3@12.6.2 )
  say "npm: better-sqlite3 built in $((SECONDS - started)) s"
fi
# Fail here, not at the first test, if the driver cannot load (the server would then run with
# no SQLite driver and every DB route would answer 500).
if [ "$node_major" -lt 22 ]; then
  NODE_PATH="$RUNTIME/node_modules" node -e 'new (require("better-sqlite3"))(":memory:").close()' \
    || { echo "install-9router: better-sqlite3 does not load" >&2; exit 1; }
fi
[ -f "$PKG/node_modules/9router/app/custom-server.js" ] \
  || { echo "install-9router: app/custom-server.js missing in 9router $VERSION" >&2; exit 1; }
touch "$STAMP"
say "9router $VERSION ready in $DEST"
