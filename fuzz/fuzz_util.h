/*
** fuzz_util.h — helpers shared by the libFuzzer targets in fuzz/ (header
** only, static functions). Inputs are copied into exactly-sized heap buffers
** so AddressSanitizer sees any read past their end; FUZZ_REQUIRE aborts (a
** crash libFuzzer records) when a target's invariant does not hold.
*/
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_REQUIRE(cond)                                                   \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "invariant failed %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                               \
    }                                                                        \
  } while (0)

/* A heap copy of len bytes (NUL-terminated at [len] when nul is set). */
static inline char *fuzz_copy(const uint8_t *data, size_t len, int nul) {
  char *p = malloc(len + (nul ? 1 : 0) + (len == 0 && !nul ? 1 : 0));
  if (!p) abort();
  if (len) memcpy(p, data, len);
  if (nul) p[len] = '\0';
  return p;
}

/* Call fn(line, len, ctx) for each '\n'-separated line of data, each line in
** its own exactly-sized buffer (the '\n' dropped, a '\r' kept). */
static inline void fuzz_lines(const uint8_t *data, size_t size,
                              void (*fn)(const char *line, size_t len, void *ctx), void *ctx) {
  size_t start = 0, i;
  for (i = 0; i <= size; i++) {
    if (i == size || data[i] == '\n') {
      char *line = fuzz_copy(data + start, i - start, 0);
      fn(line, i - start, ctx);
      free(line);
      start = i + 1;
    }
  }
}

#endif
