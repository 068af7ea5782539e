/*
** fuzz_url.c — libFuzzer target for mc_url (RFC 3986 percent-encoding of
** query values and paths: mc_url_escape, mc_url_escape_keep with "/" kept,
** and mc_url_unescape). Input: byte 0 picks a short output capacity, the rest
** is the string. Invariants: the size query and the real encoding agree; the
** output holds only unreserved characters and %XX (upper-case hex) and
** decodes back to the input (by hand and by mc_url_unescape); with "/" kept
** the output holds the input's slashes and nothing else unescaped; a
** too-small buffer is never overrun and always NUL-terminated; unescaping
** arbitrary text fails or stays within its input's length.
*/
#include "fuzz_util.h"
#include "mc_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t small, need, n, i, o;
  char *in, *out, *back;
  if (size == 0) return 0;
  small = data[0];
  in = fuzz_copy(data + 1, size - 1, 0);
  need = mc_url_escape(in, size - 1, NULL, 0);
  out = malloc(need + 1);
  FUZZ_REQUIRE(out != NULL);
  n = mc_url_escape(in, size - 1, out, need + 1);
  FUZZ_REQUIRE(n == need && out[n] == '\0' && strlen(out) == n);
  back = malloc(size);
  FUZZ_REQUIRE(back != NULL);
  for (i = 0, o = 0; i < n; o++) {
    if (out[i] == '%') {
      int hi, lo;
      FUZZ_REQUIRE(i + 2 < n);
      hi = hexval(out[i + 1]);
      lo = hexval(out[i + 2]);
      FUZZ_REQUIRE(hi >= 0 && lo >= 0);
      FUZZ_REQUIRE(!unreserved((char)(hi * 16 + lo)));
      back[o] = (char)(hi * 16 + lo);
      i += 3;
    } else {
      FUZZ_REQUIRE(unreserved(out[i]));
      back[o] = out[i];
      i += 1;
    }
  }
  FUZZ_REQUIRE(o == size - 1 && memcmp(back, in, o) == 0);
  free(out);
  if (small > 0 && small <= need) {
    out = malloc(small);
    FUZZ_REQUIRE(out != NULL);
    n = mc_url_escape(in, size - 1, out, small);
    FUZZ_REQUIRE(n == need && memchr(out, '\0', small) != NULL);
    free(out);
  }
  /* mc_url_unescape undoes it */
  out = malloc(need + 1);
  FUZZ_REQUIRE(out != NULL);
  mc_url_escape(in, size - 1, out, need + 1);
  FUZZ_REQUIRE(mc_url_unescape(out, need, back) == (long)(size - 1) && memcmp(back, in, size - 1) == 0);
  free(out);
  /* slashes kept (a path) */
  need = mc_url_escape_keep(in, size - 1, "/", NULL, 0);
  out = malloc(need + 1);
  FUZZ_REQUIRE(out != NULL);
  n = mc_url_escape_keep(in, size - 1, "/", out, need + 1);
  FUZZ_REQUIRE(n == need && out[n] == '\0');
  for (i = 0; i < n; i++) FUZZ_REQUIRE(unreserved(out[i]) || out[i] == '/' || out[i] == '%');
  FUZZ_REQUIRE(mc_url_unescape(out, n, back) == (long)(size - 1) && memcmp(back, in, size - 1) == 0);
  free(out);
  /* arbitrary text */
  {
    long m = mc_url_unescape(in, size - 1, back);
    FUZZ_REQUIRE(m == -1 || (m >= 0 && (size_t)m <= size - 1));
  }
  free(back);
  free(in);
  return 0;
}
