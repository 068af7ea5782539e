#!/usr/bin/env bash
# make bench: every benchmark row against its baseline, measured in this same
# command, printed as one table (ratio > 1: mediacdn did better; peak RSS of
# the mediacdn process and of the baseline where one is measured).
#
#   bench/run.sh              all rows        BENCH_ROWS="percall json"  only these
#   BENCH_QUICK=1             smaller sizes (a smoke run, not for the README)
#
# Rows (each a script in bench/ printing "ROW ..." lines through bench/lib/bench.lua):
#   percall      sirv:stat per call vs a C libcurl loop (Lua 5.4, LuaJIT)
#   json         decoding a 1,000-hit search page vs lua-cjson (Lua 5.4, LuaJIT)
#   upload       standard upload vs curl -T (Lua 5.4)
#   concurrency  mediacdn.loop at 16/64/256 in flight vs C curl_multi (Lua 5.4, LuaJIT)
#   tus          256 MiB to the real @tus/server, 1 MiB chunks: mediacdn.tus vs
#                tus-js-client and vs a C libcurl PATCH loop; 64 MiB to the
#                sandbox at 50 ms per request, parallel = 4 vs sequential (Lua 5.4)
#   openresty    in nginx: per-call vs a bare cosocket exchange, 50 concurrent
#                handler calls with 200 ms upstream latency vs bare cosockets
# The C baselines (bench/c/*.c) are built here into build/bench/. The tus row
# needs Node with @tus/server and tus-js-client (both pinned in the lock of
# spec/fixtures/tus/v1 or v2): when they are missing, scripts/install-deps.sh
# installs them first.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

quick=${BENCH_QUICK:-0}
rows=${BENCH_ROWS:-"percall json upload concurrency tus openresty"}

bash scripts/build.sh >/dev/null || { echo "bench: build failed"; exit 1; }
mkdir -p build/bench
for p in bench/c/*.c; do
  name=$(basename "${p%.c}")
  gcc -O2 -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
    $(pkg-config --cflags libcjson) "$p" -o "build/bench/$name" $(pkg-config --libs libcjson) -lcurl \
    || { echo "bench: cannot build $p"; exit 1; }
done

out="build/bench/rows.tsv"; : >"$out"
# run_row SCRIPT VM ARGS...: its ROW lines go to $out, anything else to the terminal
run_row() {
  local script=$1 vm=$2; shift 2
  local dir=lua54; [ "$vm" = luajit ] && dir=luajit
  echo "bench: $script under $vm ..." >&2
  LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;$root/spec/?.lua;$root/bench/lib/?.lua;;" \
  LUA_CPATH="$root/build/$dir/?.so;;" \
    "$vm" "bench/$script" "$@" 2>&1 | while IFS= read -r line; do
      case "$line" in ROW*) printf '%s\n' "$line" >>"$out" ;; *) printf '  %s\n' "$line" >&2 ;; esac
    done
}

for r in $rows; do
  case "$r" in
    percall)
      n=5000; [ "$quick" = 1 ] && n=500
      run_row percall.lua lua5.4 "$n"; run_row percall.lua luajit "$n" ;;
    json)
      k=50; [ "$quick" = 1 ] && k=5
      run_row json_decode.lua lua5.4 "$k"; run_row json_decode.lua luajit "$k" ;;
    upload)
      mb=100; [ "$quick" = 1 ] && mb=10
      run_row upload.lua lua5.4 "$mb" ;;
    concurrency)
      run_row concurrency.lua lua5.4 20; run_row concurrency.lua luajit 20 ;;
    tus)
      tusdir=$(bash scripts/tus-server-dir.sh 2>/dev/null || true)
      if [ -z "$tusdir" ] || [ ! -f "$tusdir/node_modules/@tus/server/package.json" ] \
         || [ ! -f "$tusdir/node_modules/tus-js-client/package.json" ]; then
        echo "bench: installing Node, @tus/server and tus-js-client (scripts/install-deps.sh) ..." >&2
        bash scripts/install-deps.sh || { echo "bench: install-deps failed; skipping the tus row" >&2; continue; }
      fi
      if [ "$quick" = 1 ]; then run_row tus.lua lua5.4 32 16 3; else run_row tus.lua lua5.4 256 64 9; fi ;;
    openresty)
      n=5000; [ "$quick" = 1 ] && n=500
      run_row openresty.lua lua5.4 "$n" ;;
    *) echo "bench: unknown row $r" >&2 ;;
  esac
done

# the table
awk -F'\t' '
  function kb(v) { return v == "" ? "" : sprintf("%.1f MB", v / 1024) }
  BEGIN {
    printf "| benchmark | mediacdn | baseline | ratio | target | peak RSS mediacdn / baseline |\n"
    printf "|---|---|---|---|---|---|\n"
  }
  $1 == "ROW" {
    rss = kb($8); if ($9 != "") rss = rss " / " kb($9)
    printf "| %s | %s %s | %s: %s | %s | %s | %s |\n", $2, $3, $6, $4, $5, $7, ($10 == "" ? "" : ">= " $10), rss
    n++
  }
  END { if (n == 0) { print "bench: no rows"; exit 1 } }
' "$out"
