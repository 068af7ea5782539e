#!/usr/bin/env bash
# The test command (make test; .ci/run). Installs what is missing, builds the
# binding for Lua 5.4 and LuaJIT, runs the C core tests and every busted spec
# under both interpreters, and ends with one line: "N passed, N failed".
#   MC_SKIP_DEPS=1   skip the install step
#   MC_SPECS="spec/x_spec.lua ..."   run only these specs
#   MC_VMS="lua5.4"  run only these interpreters
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ "${MC_SKIP_DEPS:-0}" != 1 ]; then
  bash scripts/install-deps.sh || { echo "dependency install failed"; echo "0 passed, 1 failed"; exit 1; }
fi
if ! bash scripts/build.sh; then
  echo "build failed"; echo "0 passed, 1 failed"; exit 1
fi

passed=0; failed=0; skipped=0
logdir="$root/build/test-logs/run-$$"; mkdir -p "$logdir"

# lint: luacheck over every Lua file and the C warnings pass (scripts/lint.sh)
out=$(bash scripts/lint.sh 2>&1); echo "$out" | tail -3
p=$(echo "$out" | sed -n 's/^lint: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
f=$(echo "$out" | sed -n 's/^lint: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))

# C unit tests of the sans-I/O core (a missing binary is a failure, not a pass)
b=build/lua54/mc_core_tests
if [ -x "$b" ]; then
  out=$("$b" 2>&1); echo "$out" | tail -3
  p=$(echo "$out" | sed -n 's/^core: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
  f=$(echo "$out" | sed -n 's/^core: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
else
  echo "missing $b"; failed=$((failed + 1))
fi

specs=${MC_SPECS:-spec}
for vm in ${MC_VMS:-lua5.4 luajit}; do
  dir=lua54; [ "$vm" = luajit ] && dir=luajit
  log="$logdir/busted-$vm.tap"
  echo "== busted under $vm"
  # busted's --lpath keeps only the first entry of a list: use the environment
  LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;$root/spec/?.lua;$root/emulator/lua/?.lua;;" \
  LUA_CPATH="$root/build/$dir/?.so;;" \
    busted --lua="$vm" -o TAP $specs >"$log" 2>&1
  rc=$?
  # busted's TAP marks pending specs "ok N - # SKIP": count them apart, never as passed
  s=$(grep -a -cE '^ok [0-9]+ .*# SKIP' "$log")
  p=$(( $(grep -a -cE '^ok [0-9]+' "$log") - s ))
  f=$(grep -a -cE '^not ok [0-9]+' "$log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    # busted died before reporting (a spec file failed to load, ...)
    echo "busted exited with $rc under $vm:"; tail -30 "$log"; f=1
  fi
  grep -a -E '^not ok' -A 12 "$log" | head -200
  echo "$vm: $p passed, $f failed, $s skipped"
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
done

echo "skipped (pending): $skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
