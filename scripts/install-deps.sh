#!/usr/bin/env bash
# Install what mediacdn needs to build, test and run its sandbox on Debian 12
# (a minimal debian:12 image included). Installs only what is missing; runs as
# root or through sudo. Safe to run again.
set -euo pipefail

PKGS=(
  ca-certificates curl gcc make cmake pkg-config
  lua5.4 liblua5.4-dev luajit2 libluajit2-5.1-dev
  libcurl4-openssl-dev libcjson-dev libssl-dev
  lua-busted luarocks lua-cjson
  nginx-light libnginx-mod-http-lua lua-resty-core lua-resty-lrucache
  procps lua-socket lua-luv openssl
  lua-argparse lua-filesystem bsdutils   # the mediacdn command line (bsdutils: script, for its pty spec)
  libhiredis-dev redis-server lua-nginx-redis   # fleet sharing (lua-nginx-redis pulls nginx-extras)
  lua-check
)
# optional groups, for the commands that need them (issue 18):
#   MC_DEPS_EXTRA="fuzz"      clang + libFuzzer runtime   (make fuzz)
#   MC_DEPS_EXTRA="valgrind"  valgrind                    (make check-valgrind)
for group in ${MC_DEPS_EXTRA:-}; do
  case "$group" in
    fuzz) PKGS+=(clang libclang-rt-14-dev) ;;
    valgrind) PKGS+=(valgrind) ;;
    *) echo "install-deps: unknown group $group" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # luajit2 (OpenResty's branch) conflicts with Debian's plain luajit packages:
  # apt resolves that by removing the plain ones, which is what nginx's Lua module needs.
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node + the real @tus/server for the tus specs and benches: Debian's nodejs/npm
# when node is missing, then `npm ci` into the project-local directory picked
# by the Node version (scripts/tus-server-dir.sh), only when its lock changed.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  echo "installing: nodejs npm" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
root=$(cd "$(dirname "$0")/.." && pwd)
tusdir="$root/$(bash "$root/scripts/tus-server-dir.sh")"
if ! cmp -s "$tusdir/package-lock.json" "$tusdir/node_modules/.mediacdn-lock" 2>/dev/null; then
  echo "installing: @tus/server into ${tusdir#"$root"/}" >&2
  # trust the system CA store (a registry behind a TLS proxy whose CA is installed there)
  if [ -z "${npm_config_cafile:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    export npm_config_cafile=/etc/ssl/certs/ca-certificates.crt
  fi
  (cd "$tusdir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$tusdir/package-lock.json" "$tusdir/node_modules/.mediacdn-lock"
fi
