#!/usr/bin/env bash
# Container tooling for tests/test_container.py, without a Docker engine:
#   1. apt-get install buildah podman debootstrap (only those missing);
#   2. a local Debian base image with python3 + venv, made by debootstrap, cached as a tarball
#      under .cache/container/ and imported into the local image store as $SMOKE_BASE_IMAGE.
# Idempotent and safe to run concurrently (one flock). Needs root. Prints the base image name last.
#
# Why debootstrap: no registry but the package mirrors can be reached here, so python:3.12-slim
# cannot be pulled; the Dockerfile takes the base as a build argument instead.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${SMOKE_CONTAINER_CACHE:-$REPO_ROOT/.cache/container}"
SUITE="${SMOKE_BASE_SUITE:-bookworm}"
BASE_IMAGE="${SMOKE_BASE_IMAGE:-localhost/9router-smoke-base:$SUITE}"
TARBALL="$CACHE_DIR/$SUITE-python3.tar"

log() { printf 'install-container-tools: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get, debootstrap and buildah's chroot isolation need it)"

# 1. Tools.
missing=()
for tool in buildah podman debootstrap; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/.lock"
flock 9

# The Debian mirror this machine's apt uses (deb822 "URIs:" of the stanza serving $SUITE, else a
# one-line "deb URL $SUITE" entry). Never hard-coded: the reachable mirror differs per machine.
debian_mirror() {
  local uri
  uri="$(
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v suite="$SUITE" '
      /^[[:space:]]*$/ { if (uris != "" && hit) { print uris; exit } uris = ""; hit = 0; next }
      tolower($1) == "uris:" { uris = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) hit = 1 }
      END { if (uris != "" && hit) print uris }
    ' | head -n 1
  )"
  if [ -z "$uri" ]; then
    uri="$(
      cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        sed -E 's/\[[^]]*\]//' | awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }'
    )"
  fi
  [ -n "$uri" ] || die "no Debian mirror for $SUITE in /etc/apt/sources.list.d/*.sources or sources.list"
  printf '%s\n' "$uri"
}

# 2. Base image: the store first, then the cached tarball, then debootstrap from nothing.
if buildah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
  log "base image $BASE_IMAGE present"
else
  if [ ! -s "$TARBALL" ]; then
    mirror="$(debian_mirror)"
    rootfs="$(mktemp -d "${TMPDIR:-/tmp}/9router-smoke-rootfs.XXXXXX")"
    trap 'rm -rf "$rootfs"' EXIT
    log "debootstrap $SUITE from $mirror (about a minute)"
    started=$SECONDS
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
      "$SUITE" "$rootfs" "$mirror" >"$CACHE_DIR/debootstrap.log" 2>&1 ||
      die "debootstrap failed; see $CACHE_DIR/debootstrap.log"
    # Package lists and caches only make the image bigger.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*
    tar -C "$rootfs" -cf "$TARBALL.tmp" .
    mv "$TARBALL.tmp" "$TARBALL"
    rm -rf "$rootfs"
    trap - EXIT
    log "debootstrap took $((SECONDS - started)) s; cached $TARBALL"
  fi
  log "importing $TARBALL as $BASE_IMAGE"
  podman import --quiet "$TARBALL" "$BASE_IMAGE" >/dev/null
fi

printf '%s\n' "$BASE_IMAGE"
