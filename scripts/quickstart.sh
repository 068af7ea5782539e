#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build, start a
# sandbox on a free loopback port, run examples/quickstart.lua against it,
# and stop the sandbox again (also on failure or Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
[ "${MC_SKIP_DEPS:-0}" = 1 ] || bash scripts/install-deps.sh
bash scripts/build.sh >/dev/null

out=$(mktemp); pidfile=$(mktemp)
bin/mediacdn-sandbox --port 0 >"$out" 2>"$out.err" &
sandbox_pid=$!
cleanup() { kill "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true; rm -f "$out" "$out.err" "$pidfile"; }
trap cleanup EXIT INT TERM
for _ in $(seq 1 100); do
  url=$(head -n1 "$out" 2>/dev/null || true)
  [ -n "$url" ] && break
  kill -0 "$sandbox_pid" 2>/dev/null || { cat "$out.err" >&2; echo "sandbox failed to start" >&2; exit 1; }
  sleep 0.1
done
[ -n "${url:-}" ] || { echo "sandbox did not print its URL" >&2; exit 1; }
echo "sandbox: $url"

export SIRV_BASE_URL="$url"
export LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;;"
export LUA_CPATH="$root/build/lua54/?.so;;"
lua5.4 examples/quickstart.lua
