/*
** fuzz_http.c — libFuzzer target for mc_http's response parsing: status lines
** (mc_parse_status_line) and header lines (mc_headers_feed_line, lookup,
** repeats joined with ", "). Input: raw response-head bytes, split at '\n'.
** Invariants: a status is -1 or 100..999; every stored name is a non-empty
** lower-case RFC 9110 token; values hold no CR or LF and are trimmed (a value joined from an
** empty repeat may end in ", ": RFC 9110 lets list elements be empty).
*/
#include "fuzz_util.h"
#include "mc_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One line: parse it as a status line and feed it as a header line. */
/* RFC 9110 tchar, lower case only (names are folded) */
static int lower_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static void one_line(const char *line, size_t len, void *ctx) {
  mc_headers *h = ctx;
  long st = mc_parse_status_line(line, len);
  FUZZ_REQUIRE(st == -1 || (st >= 100 && st <= 999));
  FUZZ_REQUIRE(mc_headers_feed_line(h, line, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mc_headers h;
  size_t i, j;
  mc_headers_init(&h);
  fuzz_lines(data, size, one_line, &h);
  for (i = 0; i < h.count; i++) {
    const char *n = h.items[i].name, *v = h.items[i].value;
    size_t vl = strlen(v);
    FUZZ_REQUIRE(n[0] != '\0');
    for (j = 0; n[j]; j++) FUZZ_REQUIRE(lower_tchar(n[j]));
    FUZZ_REQUIRE(strpbrk(v, "\r\n") == NULL);
    FUZZ_REQUIRE(vl == 0 || (v[0] != ' ' && v[0] != '\t'));
    FUZZ_REQUIRE(vl == 0 || v[vl - 1] != '\t');
    FUZZ_REQUIRE(vl == 0 || v[vl - 1] != ' ' || (vl >= 2 && v[vl - 2] == ','));
    FUZZ_REQUIRE(mc_headers_get(&h, n) != NULL);
  }
  (void)mc_headers_get(&h, "content-length");
  mc_headers_free(&h);
  return 0;
}
