#!/usr/bin/env bash
# make soak: the fault soak (tools/soak.lua, issue 18 §3) against a fresh
# sandbox, over the blocking and the loop transport. Prints operations, faults
# met, retries, failed (reconciled), lost, duplicated, mismatched; exits 1 when
# anything was lost, duplicated or mismatched.
#
#   scripts/soak.sh [--vm lua5.4|luajit] [--ops 10000] [--seed N] [--concurrency 16]
#                   [--large-kb 2048] [--transports blocking,loop]
#   MC_SKIP_BUILD=1   reuse build/
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
vm=lua5.4
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --vm) vm=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
dir=lua54; [ "$vm" = luajit ] && dir=luajit
if [ "${MC_SKIP_BUILD:-0}" != 1 ]; then bash scripts/build.sh >/dev/null || exit 1; fi
LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;$root/spec/?.lua;;" \
LUA_CPATH="$root/build/$dir/?.so;;" \
  exec "$vm" tools/soak.lua "${args[@]}"
