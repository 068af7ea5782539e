#!/usr/bin/env bash
# make fuzz: builds every libFuzzer target fuzz/fuzz_*.c against the C core
# (csrc/core/*.c) with clang -fsanitize=fuzzer,address,undefined (UB aborts)
# and runs each for FUZZ_SECONDS (default 60), one after the other. Ends with
# "fuzz: N passed, N failed" (a target fails on any crash, sanitizer report,
# leak, timeout or broken invariant) and exits 1 on a failure.
#
#   FUZZ_SECONDS=60          per target          FUZZ_TARGETS="http json"  only these
#   FUZZ_JOBS=1              libFuzzer workers per target (-fork)
#   FUZZ_BUILD_ONLY=1        build, then run each target once over its seed corpus
#
# Seeds: fuzz/corpus/<target>/ (small, committed). New inputs found during a
# run go to build/fuzz/corpus/<target>/ (not committed); crash, leak and
# timeout inputs to build/fuzz/artifacts/<target>/. A crash input becomes a
# regression test in tests/c/test_hardening.c and a seed in fuzz/corpus/.
# Reproduce one: build/fuzz/fuzz_<target> build/fuzz/artifacts/<target>/crash-...
#
# Needs clang and the libFuzzer runtime (Debian: clang, libclang-rt-14-dev);
# missing ones are installed through scripts/install-deps.sh MC_DEPS_EXTRA=fuzz.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${FUZZ_SECONDS:-60}
out="$root/build/fuzz"
mkdir -p "$out"

CC=${FUZZ_CC:-clang}
probe() {
  printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
    >"$out/probe.c"
  "$CC" -fsanitize=fuzzer "$out/probe.c" -o "$out/probe" >/dev/null 2>&1
}
if ! command -v "$CC" >/dev/null || ! probe; then
  MC_DEPS_EXTRA=fuzz bash scripts/install-deps.sh || { echo "fuzz: cannot install clang"; exit 1; }
  probe || { echo "fuzz: $CC cannot build a libFuzzer target"; exit 1; }
fi

cjson_cflags=$(pkg-config --cflags libcjson)
cjson_libs=$(pkg-config --libs libcjson)
flags=(-g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined,float-cast-overflow
       -fno-sanitize-recover=all -fno-omit-frame-pointer
       -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
       -Icsrc/core -Ifuzz $cjson_cflags)

# the core once, as objects instrumented for coverage (no fuzzer main)
objs=()
mkdir -p "$out/obj"
for src in csrc/core/*.c; do
  o="$out/obj/$(basename "${src%.c}").o"
  "$CC" "${flags[@]/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,}" -c "$src" -o "$o" || {
    echo "fuzz: cannot compile $src"; echo "fuzz: 0 passed, 1 failed"; exit 1; }
  objs+=("$o")
done

# fuzz_redis also links csrc/redis/mc_redis.c and libhiredis (libhiredis-dev)
redis_objs=(); redis_libs=""
if pkg-config --exists hiredis; then
  hiredis_inc=$(pkg-config --cflags-only-I hiredis | sed "s/^ *-I//; s/ .*//")
  o="$out/obj/mc_redis.o"
  "$CC" "${flags[@]/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,}" -Icsrc/redis -isystem "$hiredis_inc" \
    -c csrc/redis/mc_redis.c -o "$o" || { echo "fuzz: cannot compile csrc/redis/mc_redis.c"; exit 1; }
  redis_objs=("$o"); redis_libs=$(pkg-config --libs hiredis)
fi

targets=${FUZZ_TARGETS:-$(ls fuzz/fuzz_*.c | sed 's#fuzz/fuzz_\(.*\)\.c#\1#')}
passed=0; failed=0
for t in $targets; do
  bin="$out/fuzz_$t"
  extra=(); libs=""
  if [ "$t" = redis ]; then
    [ ${#redis_objs[@]} -gt 0 ] || { echo "fuzz redis: hiredis not found (libhiredis-dev)"; failed=$((failed + 1)); continue; }
    extra=(-Icsrc/redis -isystem "$hiredis_inc" "${redis_objs[@]}"); libs=$redis_libs
  fi
  if ! "$CC" "${flags[@]}" "fuzz/fuzz_$t.c" "${extra[@]}" "${objs[@]}" -o "$bin" $cjson_libs $libs -lcrypto -lm; then
    echo "fuzz $t: build failed"; failed=$((failed + 1)); continue
  fi
  seeds="fuzz/corpus/$t"; mkdir -p "$seeds"
  work="$out/corpus/$t"; art="$out/artifacts/$t"
  mkdir -p "$work" "$art"
  log="$out/$t.log"
  if [ "${FUZZ_BUILD_ONLY:-0}" = 1 ]; then
    "$bin" -runs=0 -artifact_prefix="$art/" "$seeds" >"$log" 2>&1
  else
    echo "== fuzz $t (${seconds} s)"
    ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
      "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$art/" ${FUZZ_JOBS:+-fork=$FUZZ_JOBS} \
        "$work" "$seeds" >"$log" 2>&1
  fi
  rc=$?
  if [ "$rc" -eq 0 ]; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "fuzz $t: ok (${runs:-0} runs, ${cov:-cov: ?})"
    passed=$((passed + 1))
  else
    echo "fuzz $t: FAILED (exit $rc; log $log)"
    grep -E 'ERROR|runtime error|invariant failed|SUMMARY|Test unit written' "$log" | head -20
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
