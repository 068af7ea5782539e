/*
** test_hardening.c — regression tests for what the sanitizers and the fuzz
** targets (fuzz/) found in the sans-I/O core: hostile or broken server input
** must give a defined result, never undefined behaviour. Each test names the
** finding it pins down. Run from test_core.c's main through test_hardening();
** the counters are the runner's.
*/
#include <stdio.h>
#include <string.h>

#include "mc_http.h"
#include "mc_json.h"
#include "mc_ratelimit.h"

void test_hardening(int *passed, int *failed);

static int *hp, *hf;

#define HCHECK(cond)                                                    \
  do {                                                                  \
    if (cond) (*hp)++;                                                  \
    else {                                                              \
      (*hf)++;                                                          \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
    }                                                                   \
  } while (0)

/* Observe the given header lines (NULL-terminated) into fresh budgets. */
static int observe(const char *const *lines, mc_budgets *b, mc_rate_observation *obs) {
  mc_headers h;
  int r;
  mc_headers_init(&h);
  for (; *lines; lines++) mc_headers_feed_line(&h, *lines, strlen(*lines));
  r = mc_budgets_observe(b, &h, obs);
  mc_headers_free(&h);
  return r;
}

/*
** Finding (issue 18): "X-RateLimit-Limit: 1e66" / "X-RateLimit-Remaining: 1e35"
** were converted to long without a range check (UB). A count that is not a
** finite number in [0, 1e15], or a reset that is not finite and >= 0, is
** treated as absent.
*/
static void test_ratelimit_out_of_range(void) {
  mc_budgets b;
  mc_rate_observation obs;
  mc_budget *g;
  static const char *const huge[] = {
    "X-RateLimit-Limit: 1e66", "X-RateLimit-Remaining: 5", "X-RateLimit-Reset: 100", NULL
  };
  static const char *const huge_remaining[] = {
    "X-RateLimit-Limit: 100", "X-RateLimit-Remaining: 1e35", "X-RateLimit-Reset: 100", NULL
  };
  static const char *const all_bad[] = {
    "X-RateLimit-Limit: nan", "X-RateLimit-Remaining: -inf", "X-RateLimit-Reset: inf",
    "X-Global-RateLimit-Limit: 1e400", "X-Global-RateLimit-Remaining: -1e300",
    "X-Global-RateLimit-Reset: nan", NULL
  };
  static const char *const edge[] = {
    "X-Global-RateLimit-Limit: 1e15", "X-Global-RateLimit-Remaining: 999999999999999",
    "X-Global-RateLimit-Reset: 0", NULL
  };

  mc_budgets_init(&b);
  HCHECK(observe(huge, &b, &obs) == 1);
  g = mc_budgets_find(&b, MC_GLOBAL_BUCKET);
  HCHECK(g != NULL && g->limit == -1 && g->remaining == 5 && g->reset == 100);
  HCHECK(observe(huge_remaining, &b, &obs) == 1);
  g = mc_budgets_find(&b, MC_GLOBAL_BUCKET);
  HCHECK(g != NULL && g->limit == 100 && g->remaining == -1);
  mc_budgets_free(&b);

  /* nothing usable: as if no rate header had come */
  mc_budgets_init(&b);
  HCHECK(observe(all_bad, &b, &obs) == 0);
  HCHECK(b.count == 0);
  mc_budgets_free(&b);

  /* the largest accepted values still fit and count down */
  mc_budgets_init(&b);
  HCHECK(observe(edge, &b, &obs) == 1);
  g = mc_budgets_find(&b, MC_GLOBAL_BUCKET);
  HCHECK(g != NULL && g->limit == 1000000000000000L && g->remaining == 999999999999999L);
  mc_budgets_consume(&b, NULL);
  HCHECK(g != NULL && g->remaining == 999999999999998L);
  mc_budgets_free(&b);
}

/* Feed one raw line of len bytes (it may hold NUL bytes). */
static void feed_raw(mc_headers *h, const char *line, size_t len) {
  HCHECK(mc_headers_feed_line(h, line, len) == 0);
}

/*
** Finding (fuzz_http): a NUL byte in a header value cut the value short,
** leaving what came before it untrimmed ("X-A:  1 \0 2" gave "1 "), and a
** line whose name is not an RFC 9110 token ("Bad Name: x", "X\0Y: 1") was
** stored under that name. Now NUL, CR and LF inside a value become SP before
** trimming (RFC 9110 5.5), and a line with a non-token name is ignored.
*/
static void test_header_line_bytes(void) {
  mc_headers h;
  const char *v;
  mc_headers_init(&h);
  feed_raw(&h, "X-A:  1 \0 2\0 \r\n", 14);
  v = mc_headers_get(&h, "x-a");
  HCHECK(v != NULL && strcmp(v, "1   2") == 0);
  feed_raw(&h, "X-B: \0\0", 7);
  v = mc_headers_get(&h, "x-b");
  HCHECK(v != NULL && strcmp(v, "") == 0);
  feed_raw(&h, "X-C: a\rb", 8);
  v = mc_headers_get(&h, "x-c");
  HCHECK(v != NULL && strcmp(v, "a b") == 0);
  feed_raw(&h, "Bad Name: x", 11);
  HCHECK(mc_headers_get(&h, "bad name") == NULL);
  feed_raw(&h, "X\0Y: 1", 7);
  HCHECK(mc_headers_get(&h, "x") == NULL);
  feed_raw(&h, "(x): 1", 6);
  HCHECK(mc_headers_get(&h, "(x)") == NULL);
  /* every token character is allowed */
  feed_raw(&h, "A!#$%&'*+-.^_`|~9: ok", 21);
  v = mc_headers_get(&h, "a!#$%&'*+-.^_`|~9");
  HCHECK(v != NULL && strcmp(v, "ok") == 0);
  HCHECK(h.count == 4);
  mc_headers_free(&h);
}

/*
** Finding (fuzz_http): "HTTP/1.1 099 X" parsed as status 99 and "HTTP/1.1 000"
** as 0, which the retry policy reads as "no response" (a transport failure).
** A status below 100 is malformed (-1); 600-999 stay numbers, which the
** policy treats as server errors (RFC 9110 15).
*/
static void test_status_line_range(void) {
  HCHECK(mc_parse_status_line("HTTP/1.1 099 C", 14) == -1);
  HCHECK(mc_parse_status_line("HTTP/1.1 000", 12) == -1);
  HCHECK(mc_parse_status_line("HTTP/1.1 100 Continue", 21) == 100);
  HCHECK(mc_parse_status_line("HTTP/1.1 599 X", 14) == 599);
  HCHECK(mc_parse_status_line("HTTP/1.1 999", 12) == 999);
}

/*
** Finding (audit of the JSON bridge): "\u0000" inside a string decoded to a
** string cut at that point ("a\u0000b" gave "a"), silently. Such a document is
** now refused with a message; an escaped backslash before "u0000" is text.
*/
static void test_json_escaped_nul(void) {
  char err[160];
  cJSON *j;
  HCHECK(mc_json_parse("[\"a\\u0000b\"]", 12, 0, err, sizeof err) == NULL);
  HCHECK(strstr(err, "NUL") != NULL);
  HCHECK(mc_json_parse("{\"k\\u0000\":1}", 13, 0, err, sizeof err) == NULL);
  j = mc_json_parse("[\"a\\\\u0000b\"]", 13, 0, err, sizeof err);
  HCHECK(j != NULL && strcmp(cJSON_GetArrayItem(j, 0)->valuestring, "a\\u0000b") == 0);
  cJSON_Delete(j);
  j = mc_json_parse("[\"\\u00001\"]", 11, 0, err, sizeof err); /* still a NUL then "1" */
  HCHECK(j == NULL);
  cJSON_Delete(j);
}

void test_hardening(int *passed, int *failed) {
  hp = passed;
  hf = failed;
  test_ratelimit_out_of_range();
  test_header_line_bytes();
  test_status_line_range();
  test_json_escaped_nul();
}
