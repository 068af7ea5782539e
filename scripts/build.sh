#!/usr/bin/env bash
# Build the C core and the binding twice: build/lua54 and build/luajit.
# MC_SANITIZE=1 builds build/asan-lua54 and build/asan-luajit with ASan/UBSan instead.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
san=OFF; prefix=""
if [ "${MC_SANITIZE:-0}" = 1 ]; then san=ON; prefix="asan-"; fi
for flavor in 5.4 luajit; do
  dir="build/${prefix}lua54"; [ "$flavor" = luajit ] && dir="build/${prefix}luajit"
  cmake -S . -B "$dir" -DLUA_FLAVOR="$flavor" -DMC_SANITIZE="$san" >/dev/null
  cmake --build "$dir" -j "$jobs" >/dev/null
done
echo "built: build/${prefix}lua54/mediacdn/core.so build/${prefix}luajit/mediacdn/core.so"
