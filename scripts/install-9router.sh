#!/usr/bin/env bash
# Installs the real 9router (pinned) and a compiled better-sqlite3 driver into .cache/9router.
# Idempotent: a finished install is left as it is. Used by the tests, the demo and the benchmark.
# Node 20 needs better-sqlite3 built from source (npm strips the prebuilt sql.js wasm and the
# prebuild download needs GitHub); see ../shared/reference/9router-api.md section 1.
set -euo pipefail
VERSION="${NINEROUTER_VERSION:-0.5.69}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${NINEROUTER_HOME:-$ROOT/.cache/9router}"
PKG="$DEST/pkg"
RUNTIME="$DEST/runtime"
STAMP="$DEST/.installed-$VERSION"

if [ -f "$STAMP" ]; then
  exit 0
fi
command -v node >/dev/null || { echo "install-9router: node is not installed (need Node.js 20+)" >&2; exit 1; }
mkdir -p "$PKG" "$RUNTIME"
# The postinstall hook wants a data dir; point it at a scratch one so ~/.9router stays untouched.
export DATA_DIR="$DEST/postinstall-data"
mkdir -p "$DATA_DIR"
( cd "$PKG" && [ -f package.json ] || npm init -y >/dev/null )
( cd "$PKG" && npm install --no-audit --no-fund --loglevel=error "9router@$VERSION" )
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 22 ]; then
  ( cd "$RUNTIME" && [ -f package.json ] || npm init -y >/dev/null )
  nodedir_args=()
  [ -d /usr/include/node ] && nodedir_args=(--nodedir=/usr)
  ( cd "$RUNTIME" && npm install --no-audit --no-fund --loglevel=error "${nodedir_args[@]}" better-sqlite3@12.6.2 )
fi
touch "$STAMP"
echo "install-9router: 9router $VERSION ready in $DEST"
