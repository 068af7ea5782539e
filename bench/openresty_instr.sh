#!/usr/bin/env bash
# bench/openresty_instr.sh — instructions per call inside nginx (deterministic,
# where the OpenResty row's wall-clock ratio moves with the machine's load).
# One nginx process (master_process off) runs under callgrind with the handlers
# of bench/fixtures/bench_resty.lua against the bench upstream; each handler
# runs for 500 and for 5,500 calls, and the difference / 5,000 is the cost of
# one more call, free of start-up and warm-up:
#   bash bench/openresty_instr.sh      -> mediacdn (sirv:stat, resty transport)
#                                         and the bare cosocket + cjson handler
# Needs valgrind, nginx with the Lua module and build/luajit (bash scripts/build.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;$root/spec/?.lua;$root/bench/lib/?.lua;;"
export LUA_CPATH="$root/build/lua54/?.so;;"
work=$(mktemp -d /tmp/mediacdn-instr.XXXXXX)
upid=""
cleanup() { [ -n "$upid" ] && kill "$upid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
read -r upport port < <(lua5.4 -e 'print(table.concat(require("helpers.util").free_ports(2), " "))')
user=""; [ "$(id -u)" = 0 ] && user="user root;"
# the bench upstream (static answers), as bench/lib/bench.lua starts it
mkdir -p "$work/up/logs" "$work/up/tmp" "$work/up/conf" "$work/cl/logs" "$work/cl/tmp"
stat=$(lua5.4 -e 'io.write((require("bench_upstream_stat")))')
STAT="$stat" PREFIX="$work/up" PORT="$upport" USERLINE="$user" FIXTURES="$root/bench/fixtures" lua5.4 -e '
  local t = io.read("a")
  io.write((t:gsub("@([%u_]+)@", { PREFIX = os.getenv("PREFIX"), FIXTURES = os.getenv("FIXTURES"),
    PORT = os.getenv("PORT"), STAT_JSON = os.getenv("STAT"), USER = os.getenv("USERLINE") })))' \
  < bench/fixtures/upstream.conf.in > "$work/up/conf/nginx.conf"
env -u LUA_PATH -u LUA_CPATH nginx -p "$work/up" -c conf/nginx.conf -e logs/error.log >/dev/null 2>&1 &
upid=$!
cat > "$work/cl/nginx.conf" <<CONF
$user
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
master_process off; daemon off;
error_log $work/cl/logs/error.log warn;
pid $work/cl/logs/nginx.pid;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $work/cl/tmp;
  lua_package_path "$root/lua/?.lua;$root/lua/?/init.lua;;";
  lua_package_cpath "$root/build/luajit/?.so;;";
  server { listen 127.0.0.1:$port;
    location ~ ^/bench/(\w+)\$ { content_by_lua_block {
      local m = package.loaded.bench_resty or dofile("$root/bench/fixtures/bench_resty.lua")
      package.loaded.bench_resty = m
      m[ngx.var[1]]() } } } }
CONF
# instructions of one nginx run serving handler $1 with n=$2
run() {
  env -u LUA_PATH -u LUA_CPATH valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
    nginx -p "$work/cl" -c "$work/cl/nginx.conf" -e "$work/cl/logs/error.log" >/dev/null 2>"$work/vg.log" &
  local vp=$! i
  for i in $(seq 150); do curl -s -o /dev/null "http://127.0.0.1:$port/bench/rss" && break; sleep 0.2; done
  curl -sf -o /dev/null "http://127.0.0.1:$port/bench/$1?n=$2&url=http://127.0.0.1:$upport" \
    || { echo "openresty_instr: the $1 handler failed" >&2; kill "$vp"; exit 1; }
  kill -QUIT "$vp"; wait "$vp" || true
  grep -o "summary: [0-9]*" "$work/cg.out" | awk '{ print $2 }'
}
per_call() { local a b; a=$(run "$1" 500); b=$(run "$1" 5500); echo $(( (b - a) / 5000 )); }
ours=$(per_call percall)
bare=$(per_call bare)
echo "per-call instructions inside nginx (LuaJIT): mediacdn sirv:stat $ours, bare cosocket + cjson $bare"
