#!/usr/bin/env bash
# make lint (and a step of the test command): luacheck with .luacheckrc over
# every Lua file of lua/, emulator/, spec/, examples/, bench/, tools/ and the
# Lua scripts in bin/; then every C file of csrc/ through the compiler's warnings
# (-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# -Wconversion -Wsign-conversion, syntax only). One item per file; ends with
# "lint: N passed, N failed" and exits 1 when any file warns.
#
#   MC_LINT_C=0   skip the C part          MC_LINT_LUA=0   skip luacheck
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0; failed=0

if [ "${MC_LINT_LUA:-1}" = 1 ]; then
  if ! command -v luacheck >/dev/null; then
    echo "lint: luacheck not found (Debian: apt-get install lua-check; scripts/install-deps.sh)"
    echo "lint: 0 passed, 1 failed"; exit 1
  fi
  files=()
  while IFS= read -r f; do files+=("$f"); done < <(find lua emulator spec examples bench tools -name '*.lua' -type f 2>/dev/null | sort)
  for f in bin/*; do
    [ -f "$f" ] || continue
    case "$f" in *.lua) files+=("$f"); continue ;; esac
    # a Lua script by its #! line, or a sh/Lua polyglot (a "--[" comment on line 2)
    if head -1 "$f" | grep -q 'lua' || sed -n 2p "$f" | grep -q '^--\['; then files+=("$f"); fi
  done
  out=$(luacheck --formatter plain --codes "${files[@]}" 2>&1)
  bad=$(printf '%s\n' "$out" | grep -E '^[^ ]+:[0-9]+:[0-9]+: ' | cut -d: -f1 | sort -u)
  nbad=0; [ -n "$bad" ] && nbad=$(printf '%s\n' "$bad" | wc -l)
  printf '%s\n' "$out" | grep -E '^[^ ]+:[0-9]+:[0-9]+: ' | head -100
  echo "luacheck: $(( ${#files[@]} - nbad )) files clean, $nbad with warnings"
  passed=$((passed + ${#files[@]} - nbad)); failed=$((failed + nbad))
fi

if [ "${MC_LINT_C:-1}" = 1 ]; then
  cflags=(-std=gnu11 -fsyntax-only -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
          -Wmissing-prototypes -Wconversion -Wsign-conversion -Icsrc/core -Icsrc/file -Icsrc/curl -Icsrc/redis
          $(pkg-config --cflags libcjson 2>/dev/null))
  luainc=$(pkg-config --cflags lua5.4 2>/dev/null)
  # third-party headers as system headers (their own code does not build under -Wconversion)
  redisinc=$(pkg-config --cflags-only-I hiredis 2>/dev/null | sed 's/-I/-isystem /g')
  nc=0; cbad=0
  for f in $(find csrc tests/c -name '*.c' | sort); do
    extra=(); case "$f" in csrc/lua/*) extra=($luainc $redisinc -DMC_HAVE_REDIS=1) ;; csrc/redis/*) extra=($redisinc) ;; tests/c/test_hardening.c) [ -n "$redisinc" ] && extra=($redisinc -DMC_HAVE_REDIS=1) ;; esac
    nc=$((nc + 1))
    if ! gcc "${cflags[@]}" "${extra[@]}" -Icsrc/lua "$f" 2>"${TMPDIR:-/tmp}/mc-lint-$$.txt"; then
      cbad=$((cbad + 1)); head -20 "${TMPDIR:-/tmp}/mc-lint-$$.txt"
    fi
  done
  rm -f "${TMPDIR:-/tmp}/mc-lint-$$.txt"
  echo "C warnings (-Wconversion): $((nc - cbad)) files clean, $cbad with warnings"
  passed=$((passed + nc - cbad)); failed=$((failed + cbad))
fi

echo "lint: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
