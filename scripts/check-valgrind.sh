#!/usr/bin/env bash
# make check-valgrind: valgrind memcheck over the C core tests and the
# in-process unit specs (those that start no server and spawn no process),
# under Lua 5.4 and LuaJIT, on the normal builds (build/lua54, build/luajit).
# (Specs that start the sandbox or nginx are the ASan run's job: make check-asan.)
# Passes with 0 errors and 0 definite leaks; ends with
# "valgrind: N passed, N failed, N findings".
#
#   MC_SPECS="spec/x_spec.lua ..."  only these specs   MC_VMS="lua5.4"  only these VMs
#   MC_SKIP_BUILD=1                 reuse build/
#
# The interpreter runs with build/valgrind-tools/libmc_unpreload.so preloaded
# (tests/memcheck/mc_unpreload.c built without a sanitizer): it makes dlclose a
# no-op, so blocks held by a C module's static state are not reported as lost
# when lua_close unloads the module before valgrind's leak check. Suppressions
# (third-party only, each with its reason) are in tests/memcheck/valgrind.supp.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
start=$(date +%s)

command -v valgrind >/dev/null || { echo "valgrind not found (Debian: apt-get install valgrind)"; exit 1; }
if [ "${MC_SKIP_BUILD:-0}" != 1 ]; then
  bash scripts/build.sh || { echo "build failed"; echo "valgrind: 0 passed, 1 failed, 0 findings"; exit 1; }
fi
tools="$root/build/valgrind-tools"
logs="$root/build/valgrind-logs"
mkdir -p "$tools"; rm -rf "$logs"; mkdir -p "$logs"
gcc -shared -fPIC -O1 -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
  -o "$tools/libmc_unpreload.so" tests/memcheck/mc_unpreload.c || exit 1

vg=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite --show-leak-kinds=definite --keep-debuginfo=yes
    --track-origins=yes --num-callers=30
    --suppressions="$root/tests/memcheck/valgrind.supp")

passed=0; failed=0; findings=0

# a valgrind log holding any error or definite leak counts as a finding
count_findings() {
  local f=$1 n
  n=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$f" | tail -1)
  if [ "${n:-1}" != 0 ]; then
    findings=$((findings + 1)); echo "---- $f"; grep -v '^==[0-9]*== *$' "$f" | head -80
  fi
}

echo "== mc_core_tests (valgrind)"
out=$("${vg[@]}" --log-file="$logs/core.log" build/lua54/mc_core_tests 2>&1)
echo "$out" | tail -3
p=$(echo "$out" | sed -n 's/^core: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
f=$(echo "$out" | sed -n 's/^core: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
count_findings "$logs/core.log"

# in-process specs of the library: they load mediacdn, use none of the server
# helpers and spawn no process (the emulator's pure-Lua specs run no C of ours)
if [ -n "${MC_SPECS:-}" ]; then
  specs=$MC_SPECS
else
  specs=$(grep -L -E 'helpers\.(sandbox|httpd|rig)|io\.popen|os\.execute|util\.(run|capture|sh_ok)|start_sandbox' spec/*_spec.lua \
    | xargs grep -l 'mediacdn' | tr '\n' ' ')
fi
echo "in-process specs: $specs"
busted_bin=$(command -v busted)
for vm in ${MC_VMS:-lua5.4 luajit}; do
  dir=lua54; [ "$vm" = luajit ] && dir=luajit
  log="$logs/busted-$vm.tap"
  t0=$(date +%s)
  echo "== busted under $vm (valgrind)"
  LD_PRELOAD="$tools/libmc_unpreload.so" \
  LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;$root/spec/?.lua;$root/emulator/lua/?.lua;;" \
  LUA_CPATH="$root/build/$dir/?.so;;" \
    "${vg[@]}" --log-file="$logs/$vm.log" "$vm" "$busted_bin" --ignore-lua -o TAP $specs >"$log" 2>&1
  rc=$?
  s=$(grep -a -cE '^ok [0-9]+ .*# SKIP' "$log")
  p=$(( $(grep -a -cE '^ok [0-9]+' "$log") - s ))
  f=$(grep -a -cE '^not ok [0-9]+' "$log")
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 99 ] && [ "$f" -eq 0 ]; then
    echo "busted exited with $rc under $vm:"; tail -30 "$log"; f=1
  fi
  grep -a -E '^not ok' -A 12 "$log" | head -200
  echo "$vm: $p passed, $f failed, $s skipped ($(( $(date +%s) - t0 )) s)"
  passed=$((passed + p)); failed=$((failed + f))
  count_findings "$logs/$vm.log"
done

echo "valgrind: took $(( $(date +%s) - start )) s"
echo "valgrind: $passed passed, $failed failed, $findings findings"
[ "$failed" -eq 0 ] && [ "$findings" -eq 0 ]
