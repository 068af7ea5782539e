/*
** test_core.c — unit tests of the sans-I/O core (no Lua, no network).
** Prints "core: N passed, N failed" last; exit status 1 on any failure.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mc_crypto.h"
#include "mc_http.h"
#include "mc_json.h"
#include "mc_ratelimit.h"
#include "mc_retry.h"
#include "mc_url.h"
#include "mc_tests.h"

static int passed, failed;

#define CHECK(cond)                                                     \
  do {                                                                  \
    if (cond) passed++;                                                 \
    else {                                                              \
      failed++;                                                         \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
    }                                                                   \
  } while (0)

/* Add a "name: value" header (names already lower case). */
static void feed(mc_headers *h, const char *line) {
  const char *colon = strchr(line, ':'), *v = colon + 1;
  while (*v == ' ') v++;
  mc_headers_add(h, line, (size_t)(colon - line), v, strlen(v));
}

static void test_url(void) {
  char out[128];
  const char *in = "/a b/\xc3\xbc#?%+~.jpg";
  size_t n = mc_url_escape(in, strlen(in), out, sizeof out);
  CHECK(strcmp(out, "%2Fa%20b%2F%C3%BC%23%3F%25%2B~.jpg") == 0);
  CHECK(n == strlen(out));
  n = mc_url_escape("abc def", 7, out, 4); /* too small: reports the size needed */
  CHECK(n == 9);
}

static void test_crypto(void) {
  unsigned char d[32];
  char hex[65], b64[64];
  unsigned char back[64];
  long n;
  CHECK(mc_hmac_sha256("key", 3, "The quick brown fox jumps over the lazy dog", 43, d) == 0);
  mc_hex(d, 32, hex);
  CHECK(strcmp(hex, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8") == 0);
  CHECK(mc_sha256("abc", 3, d) == 0);
  mc_hex(d, 32, hex);
  CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
  mc_base64_encode((const unsigned char *)"hello!?", 7, b64, 0);
  CHECK(strcmp(b64, "aGVsbG8hPw==") == 0);
  mc_base64_encode((const unsigned char *)"hello!?", 7, b64, 1);
  CHECK(strcmp(b64, "aGVsbG8hPw") == 0);
  n = mc_base64_decode("aGVsbG8hPw==", 12, back);
  CHECK(n == 7 && memcmp(back, "hello!?", 7) == 0);
  CHECK(mc_base64_decode("a$==", 4, back) == -1);
}

static void test_json(void) {
  char err[160];
  char deep[2100];
  cJSON *j = mc_json_parse("{\"a\":1}", 7, 0, err, sizeof err);
  CHECK(j != NULL);
  cJSON_Delete(j);
  CHECK(mc_json_parse("{\"a\":", 5, 0, err, sizeof err) == NULL);
  CHECK(strstr(err, "truncated") != NULL);
  CHECK(mc_json_parse("[1] x", 5, 0, err, sizeof err) == NULL);
  CHECK(mc_json_parse("[1]", 3, 2, err, sizeof err) == NULL);
  CHECK(strstr(err, "too large") != NULL);
  memset(deep, '[', 1001);
  memset(deep + 1001, ']', 1001);
  deep[2002] = '\0';
  CHECK(mc_json_parse(deep, 2002, 0, err, sizeof err) == NULL);
}

static void test_ratelimit(void) {
  mc_budgets b;
  mc_headers h;
  mc_rate_observation obs;
  int blocked;
  const char *bt;
  double d;
  mc_budgets_init(&b);
  mc_headers_init(&h);
  feed(&h, "x-ratelimit-limit: 25");
  feed(&h, "x-ratelimit-remaining: 24");
  feed(&h, "x-ratelimit-reset: 1000");
  feed(&h, "x-ratelimit-type: rest:post:files:batch:delete");
  feed(&h, "x-global-ratelimit-limit: 7000");
  feed(&h, "x-global-ratelimit-remaining: 0");
  feed(&h, "x-global-ratelimit-reset: 900");
  CHECK(mc_budgets_observe(&b, &h, &obs) == 1);
  CHECK(obs.has_type && obs.has_global);
  CHECK(mc_budgets_find(&b, "rest:post:files:batch:delete")->remaining == 24);
  CHECK(mc_budgets_find(&b, "rest:global")->remaining == 0);
  /* the global bucket is empty until 900: any call waits 400 s at t=500 */
  d = mc_budgets_delay(&b, "rest:post:files:search", 500, &blocked, &bt);
  CHECK(blocked && fabs(d - 400) < 1e-9 && strcmp(bt, "rest:global") == 0);
  /* after the reset nothing blocks */
  d = mc_budgets_delay(&b, "rest:post:files:search", 901, &blocked, &bt);
  CHECK(!blocked && d == 0);
  mc_headers_free(&h);
  /* older responses: X-RateLimit-* of type rest:global describe the global bucket */
  mc_budgets_free(&b);
  mc_budgets_init(&b);
  mc_headers_init(&h);
  feed(&h, "X-RateLimit-Limit: 100");
  feed(&h, "X-RateLimit-Remaining: 5");
  feed(&h, "X-RateLimit-Reset: 160");
  feed(&h, "X-RateLimit-Type: rest:global");
  CHECK(mc_budgets_observe(&b, &h, &obs) == 1);
  CHECK(obs.has_global && !obs.has_type);
  d = mc_budgets_delay(&b, "rest:global", 100, &blocked, &bt);
  CHECK(!blocked && fabs(d - 10.0) < 1e-9); /* 60 s left / (5+1), pacing */
  mc_budgets_consume(&b, "rest:global");
  CHECK(mc_budgets_find(&b, "rest:global")->remaining == 4);
  mc_headers_free(&h);
  mc_headers_init(&h);
  CHECK(mc_budgets_observe(&b, &h, &obs) == 0);
  mc_headers_free(&h);
  mc_budgets_free(&b);
}

static void test_retry(void) {
  mc_retry_policy p = {5, 0.25, 30, 0, 1, 3600};
  mc_outcome o;
  mc_decision d;
  uint64_t rng = 42;
  int i, r;
  memset(&o, 0, sizeof o);
  o.attempt = 1;
  o.status = 200;
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_DONE);
  o.status = 503;
  d = mc_decide(&p, &o, &rng);
  CHECK(d.action == MC_ACT_RETRY && d.delay >= 0 && d.delay <= 0.25 && strcmp(d.kind, "transient") == 0);
  o.status = 500; /* unknown outcome: only idempotent calls replay */
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_FAIL);
  o.idempotent = 1;
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_RETRY);
  o.attempt = 5;
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_FAIL);
  o.attempt = 1;
  o.status = 404;
  d = mc_decide(&p, &o, &rng);
  CHECK(d.action == MC_ACT_FAIL && strcmp(d.kind, "not_found") == 0 && !d.retryable);
  o.status = 401;
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_REAUTH);
  o.reauthed = 1;
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_FAIL);
  o.status = 429;
  o.reset_in = 2;
  d = mc_decide(&p, &o, &rng);
  CHECK(d.action == MC_ACT_WAIT && d.delay == 2);
  p.wait_rate_limit = 0;
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_FAIL);
  p.wait_rate_limit = 1;
  o.fail_fast = 1; /* per call: do not wait */
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_FAIL);
  o.fail_fast = 0;
  p.deadline = 10;
  o.elapsed = 9;
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_WAIT); /* max_wait, not the deadline, bounds waits */
  o.reset_in = 4000;
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_FAIL); /* beyond max_wait (3600) */
  o.reset_in = 2;
  o.elapsed = 0;
  /* transport failures */
  o.status = 0;
  o.terr = MC_TERR_TIMEOUT;
  o.idempotent = 0;
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_FAIL);
  o.nothing_sent = 1;
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_RETRY);
  o.terr = MC_TERR_LOCAL;
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_FAIL);
  CHECK(strcmp(mc_status_kind(409, &r), "conflict") == 0);
  CHECK(strcmp(mc_status_kind(418, &r), "client") == 0);
  /* full jitter stays within the growing, capped ceiling */
  for (i = 1; i <= 12; i++) {
    double b = mc_backoff(&p, i, &rng), ceil = 0.25 * pow(2, i - 1);
    if (ceil > 30) ceil = 30;
    CHECK(b >= 0 && b <= ceil);
  }
}

int main(void) {
  mc_test_http1(&passed, &failed);
  test_url();
  test_crypto();
  test_json();
  test_ratelimit();
  test_retry();
  printf("core: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
