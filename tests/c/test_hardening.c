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
#include "mc_http1.h"
#include "mc_json.h"
#include "mc_ratelimit.h"
#include "mc_retry.h"
#ifdef MC_HAVE_REDIS
#include "mc_redis.h"
#endif

#include "mc_tests.h"


/* Observe the given header lines (NULL-terminated) into fresh budgets. */
static int observe(const char *const *lines, mc_budgets *b, mc_rate_observation *obs) {
  mc_headers h;
  int r;
  mc_headers_init(&h);
  for (; *lines; lines++) {   /* "Name: value" */
    const char *colon = strchr(*lines, ':'), *v = colon + 1;
    while (*v == ' ') v++;
    mc_headers_add(&h, *lines, (size_t)(colon - *lines), v, strlen(v));
  }
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
  CHECK(observe(huge, &b, &obs) == 1);
  g = mc_budgets_find(&b, MC_GLOBAL_BUCKET);
  CHECK(g != NULL && g->limit == -1 && g->remaining == 5 && g->reset == 100);
  CHECK(observe(huge_remaining, &b, &obs) == 1);
  g = mc_budgets_find(&b, MC_GLOBAL_BUCKET);
  CHECK(g != NULL && g->limit == 100 && g->remaining == -1);
  mc_budgets_free(&b);

  /* nothing usable: as if no rate header had come */
  mc_budgets_init(&b);
  CHECK(observe(all_bad, &b, &obs) == 0);
  CHECK(b.count == 0);
  mc_budgets_free(&b);

  /* the largest accepted values still fit and count down */
  mc_budgets_init(&b);
  CHECK(observe(edge, &b, &obs) == 1);
  g = mc_budgets_find(&b, MC_GLOBAL_BUCKET);
  CHECK(g != NULL && g->limit == 1000000000000000L && g->remaining == 999999999999999L);
  mc_budgets_consume(&b, NULL);
  CHECK(g != NULL && g->remaining == 999999999999998L);
  mc_budgets_free(&b);
}

/* Feed one raw head line of len bytes (it may hold NUL bytes) after a
** status line; returns mc_http1_head_line's result. */
static int head_line(const char *line, size_t len, mc_http1_error *err) {
  mc_headers hs;
  mc_http1_head h;
  int r;
  mc_headers_init(&hs);
  mc_http1_head_init(&h, &hs, 1);
  r = mc_http1_head_line(&h, "HTTP/1.1 200 OK", 15, err);
  if (r == 0) r = mc_http1_head_line(&h, line, len, err);
  mc_headers_free(&hs);
  return r;
}

/*
** Finding (fuzz_http, before issue 12): a NUL byte in a header value cut the
** value short, a line whose name is not an RFC 9110 token was stored under
** that name, and "HTTP/1.1 099" / "HTTP/1.1 000" parsed as statuses 99 and 0
** (0 reads as "no response" to the retry policy). mc_http1 (issue 12) refuses
** each as a protocol error; these pin that down.
*/
static void test_head_line_bytes(void) {
  mc_http1_error err;
  mc_headers hs;
  mc_http1_head h;
  CHECK(head_line("X-A:  1 \0 2", 12, &err) == -1 && err.kind == MC_TERR_PROTOCOL);
  CHECK(head_line("X-C: a\rb", 8, &err) == -1 && err.kind == MC_TERR_PROTOCOL);
  CHECK(head_line("Bad Name: x", 11, &err) == -1 && err.kind == MC_TERR_PROTOCOL);
  CHECK(head_line("X\0Y: 1", 7, &err) == -1);
  CHECK(head_line("(x): 1", 6, &err) == -1);
  CHECK(head_line("A!#$%&'*+-.^_`|~9: ok", 21, &err) == 0);
  mc_headers_init(&hs);
  mc_http1_head_init(&h, &hs, 1);
  CHECK(mc_http1_head_line(&h, "HTTP/1.1 099 C", 14, &err) == -1);
  mc_http1_head_init(&h, &hs, 1);
  CHECK(mc_http1_head_line(&h, "HTTP/1.1 000", 12, &err) == -1);
  mc_http1_head_init(&h, &hs, 1);
  CHECK(mc_http1_head_line(&h, "HTTP/1.1 599 X", 14, &err) == 0 && h.status == 599);
  mc_headers_free(&hs);
}

/*
** Finding (fuzz_http1_head): an obs-fold continuing an empty value gave a
** value with a leading SP ("X:" then " 204" gave " 204"); the fold's SP only
** separates, so the value is "204".
*/
static void test_fold_onto_empty(void) {
  mc_http1_error err;
  mc_headers hs;
  mc_http1_head h;
  const char *v;
  mc_headers_init(&hs);
  mc_http1_head_init(&h, &hs, 1);
  CHECK(mc_http1_head_line(&h, "HTTP/1.1 200 OK", 15, &err) == 0);
  CHECK(mc_http1_head_line(&h, "X-Empty:", 8, &err) == 0);
  CHECK(mc_http1_head_line(&h, "  204", 5, &err) == 0);
  CHECK(mc_http1_head_line(&h, "X-Two: a", 8, &err) == 0);
  CHECK(mc_http1_head_line(&h, "\tb", 2, &err) == 0);
  v = mc_headers_get(&hs, "x-empty");
  CHECK(v != NULL && strcmp(v, "204") == 0);
  v = mc_headers_get(&hs, "x-two");
  CHECK(v != NULL && strcmp(v, "a b") == 0);
  mc_headers_free(&hs);
}

/*
** Finding (audit of the JSON bridge): "\u0000" inside a string decoded to a
** string cut at that point ("a\u0000b" gave "a"), silently. Such a document is
** now refused with a message; an escaped backslash before "u0000" is text.
*/
static void test_json_escaped_nul(void) {
  char err[160];
  cJSON *j;
  CHECK(mc_json_parse("[\"a\\u0000b\"]", 12, 0, err, sizeof err) == NULL);
  CHECK(strstr(err, "NUL") != NULL);
  CHECK(mc_json_parse("{\"k\\u0000\":1}", 13, 0, err, sizeof err) == NULL);
  j = mc_json_parse("[\"a\\\\u0000b\"]", 13, 0, err, sizeof err);
  CHECK(j != NULL && strcmp(cJSON_GetArrayItem(j, 0)->valuestring, "a\\u0000b") == 0);
  cJSON_Delete(j);
  j = mc_json_parse("[\"\\u00001\"]", 11, 0, err, sizeof err); /* still a NUL then "1" */
  CHECK(j == NULL);
  cJSON_Delete(j);
}

/*
** Finding (fuzz_retry): mc_backoff computed base * 2^(attempt-1); past
** attempt 1024 the power is infinite and a zero base gave 0 * inf = NaN, so
** a policy {base = 0, attempts = 2000} retried with a NaN delay. A zero base
** (or a zero random draw under an infinite ceiling) now gives 0.
*/
static void test_backoff_no_nan(void) {
  mc_retry_policy p;
  mc_outcome o;
  mc_decision d;
  uint64_t rng = 7;
  double b;
  mc_retry_policy_init(&p);
  p.base = 0;
  p.attempts = 2147483647;
  b = mc_backoff(&p, 2147483647, &rng);
  CHECK(b == 0);
  b = mc_backoff(&p, 2000, &rng);
  CHECK(b == 0);
  mc_outcome_init(&o);
  o.status = 503;
  o.attempt = 2000;
  d = mc_decide(&p, &o, &rng);
  CHECK(d.action == MC_ACT_RETRY && d.delay == 0);
  /* a positive base still backs off, bounded by the cap at any attempt */
  p.base = 0.5;
  p.cap = 30;
  b = mc_backoff(&p, 2147483647, &rng);
  CHECK(b == b && b >= 0 && b <= 30);
}

/*
** Finding (fuzz_retry): a 429 with no reset known backs off on the waits so
** far, mc_backoff(waits + 1): waits = INT_MAX (the binding lets any count in
** [0, INT_MAX] through) overflowed a signed int (UB). It saturates now.
*/
static void test_rate_waits_saturate(void) {
  mc_retry_policy p;
  mc_outcome o;
  mc_decision d;
  uint64_t rng = 3;
  mc_retry_policy_init(&p);
  p.max_rate_waits = 2147483647;
  mc_outcome_init(&o);
  o.status = 429;
  o.now = 1000;
  o.waits = 2147483647;
  d = mc_decide(&p, &o, &rng);
  CHECK(d.action == MC_ACT_FAIL && strcmp(d.kind, "rate_limited") == 0); /* waits used up */
  o.waits = 2147483646;
  d = mc_decide(&p, &o, &rng);
  CHECK(d.delay == d.delay && d.delay >= 1.0);
}

#ifdef MC_HAVE_REDIS
/* Feed bytes to a bounded reader and collect; returns collect's result. */
static int redis_collect(const char *bytes, size_t n, mc_redis *m) {
  redisReader *rd = redisReaderCreate();
  int rc;
  mc_redis_reader_bound(rd);
  redisReaderFeed(rd, bytes, n);
  rc = mc_redis_collect(m, rd);
  redisReaderFree(rd);
  return rc;
}

/*
** Finding (fuzz_redis): hiredis 0.14 allocates an array reply's element
** vector when it reads "*N": 14 bytes from a broken or hostile server
** ("*2147483647\r\n") made the client calloc 16 GB. An array of more than
** MC_REDIS_MAX_ELEMENTS elements now fails the connection with a protocol
** error before anything is allocated; arrays within the bound still parse.
*/
static void test_redis_array_bound(void) {
  mc_redis m;
  redisReply *r;
  char big[32];
  mc_redis_init(&m);
  CHECK(redis_collect("*2147483647\r\n:1\r\n", 17, &m) == -1);
  CHECK(strstr(m.err, "protocol error") != NULL); /* hiredis >= 1.0 words the reason its own way */
  CHECK(mc_redis_take(&m) == NULL);
  snprintf(big, sizeof big, "*%d\r\n", MC_REDIS_MAX_ELEMENTS + 1);
  CHECK(redis_collect(big, strlen(big), &m) == -1);
  CHECK(redis_collect("*2\r\n$3\r\nfoo\r\n:-7\r\n+OK\r\n", 23, &m) == 0);
  r = mc_redis_take(&m);
  CHECK(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer == -7);
  freeReplyObject(r);
  r = mc_redis_take(&m);
  CHECK(r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0);
  freeReplyObject(r);
  /* the bound applies to nested arrays too */
  snprintf(big, sizeof big, "*1\r\n*%d\r\n", MC_REDIS_MAX_ELEMENTS + 1);
  CHECK(redis_collect(big, strlen(big), &m) == -1);
  mc_redis_free(&m);
}
#endif

void mc_test_hardening(void) {
  test_ratelimit_out_of_range();
  test_head_line_bytes();
  test_fold_onto_empty();
  test_json_escaped_nul();
  test_backoff_no_nan();
  test_rate_waits_saturate();
#ifdef MC_HAVE_REDIS
  test_redis_array_bound();
#endif
}
