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

int mc_tests_passed, mc_tests_failed;


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
  double d, br;
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
  d = mc_budgets_delay(&b, "rest:post:files:search", 500, &blocked, &bt, &br);
  CHECK(blocked && fabs(d - 400) < 1e-9 && strcmp(bt, "rest:global") == 0 && br == 900);
  /* after the reset nothing blocks */
  d = mc_budgets_delay(&b, "rest:post:files:search", 901, &blocked, &bt, &br);
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
  d = mc_budgets_delay(&b, "rest:global", 100, &blocked, &bt, &br);
  CHECK(!blocked && fabs(d - 10.0) < 1e-9); /* 60 s left / (5+1), pacing */
  mc_budgets_consume(&b, "rest:global");
  CHECK(mc_budgets_find(&b, "rest:global")->remaining == 4);
  mc_headers_free(&h);
  mc_headers_init(&h);
  CHECK(mc_budgets_observe(&b, &h, &obs) == 0);
  mc_headers_free(&h);
  mc_budgets_free(&b);
}

/* mc_budgets_parse_values: a value is what strtod reads, plain digits
** read without it; one that is not a finite number in range is absent. */
static void test_ratelimit_values(void) {
  static const struct { const char *v; double want; } cases[] = {
    {"7000000", 7000000}, {"0", 0}, {"007", 7}, {"4102444800", 4102444800.0},
    {"999999999999999", 999999999999999.0},        /* 15 digits: read directly */
    {"1000000000000000", 1e15},                    /* 16: through strtod, the largest count */
    {"1000000000000001", -1}, {"12abc", 12}, {" 5", 5}, {"5 ", 5}, {"1e3", 1000},
    {"2.5", 2}, {"0x10", 16}, {"-1", -1}, {"abc", -1}, {"", -1}, {"inf", -1}, {"nan", -1},
  };
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *values[MC_RATE_H_COUNT] = {0};
    mc_rate_observation obs;
    int r;
    values[MC_RATE_H_LIMIT] = "100";
    values[MC_RATE_H_REMAINING] = cases[i].v;
    values[MC_RATE_H_RESET] = "160";
    values[MC_RATE_H_TYPE] = "rest:get:files:stat";
    r = mc_budgets_parse_values(values, &obs);
    CHECK(r == 1 && obs.has_type && !obs.has_global);
    CHECK(strcmp(obs.type.type, "rest:get:files:stat") == 0);
    CHECK(obs.type.limit == 100 && obs.type.reset == 160);
    if (obs.type.remaining != (long)cases[i].want) fprintf(stderr, "case '%s'\n", cases[i].v);
    CHECK(obs.type.remaining == (long)cases[i].want);
  }
  {
    /* the global family alone; a reset beyond 15 digits still reads */
    const char *values[MC_RATE_H_COUNT] = {0};
    mc_rate_observation obs;
    values[MC_RATE_H_GLOBAL_LIMIT] = "7000";
    values[MC_RATE_H_GLOBAL_REMAINING] = "6999";
    values[MC_RATE_H_GLOBAL_RESET] = "41024448000000000";
    CHECK(mc_budgets_parse_values(values, &obs) == 1 && obs.has_global && !obs.has_type);
    CHECK(obs.global.limit == 7000 && obs.global.remaining == 6999 && obs.global.reset == 41024448000000000.0);
    CHECK(strcmp(obs.global.type, "rest:global") == 0);
  }
  {
    const char *values[MC_RATE_H_COUNT] = {0};
    mc_rate_observation obs;
    values[MC_RATE_H_TYPE] = "rest:global"; /* a type alone is no figure */
    CHECK(mc_budgets_parse_values(values, &obs) == 0 && !obs.has_type && !obs.has_global);
  }
}

static void test_retry(void) {
  mc_retry_policy p;
  mc_outcome o;
  mc_decision d;
  uint64_t rng = 42;
  int i, r;
  mc_retry_policy_init(&p);
  p.deadline = 0;
  mc_outcome_init(&o);
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
  o.now = 1000;
  o.retry_after = 2;
  d = mc_decide(&p, &o, &rng);
  CHECK(d.action == MC_ACT_WAIT && fabs(d.delay - 2.1) < 1e-9);
  p.wait_rate_limit = 0;
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_FAIL);
  o.rate_mode = MC_RATE_WAIT; /* per call: wait although the policy fails fast */
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_WAIT);
  p.wait_rate_limit = 1;
  o.rate_mode = MC_RATE_FAIL; /* per call: do not wait */
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_FAIL);
  o.rate_mode = MC_RATE_POLICY;
  p.deadline = 10;
  o.elapsed = 9;
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_WAIT); /* max_wait, not the deadline, bounds waits */
  o.retry_after = 4000;
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_FAIL); /* beyond max_wait (3600) */
  o.retry_after = 2;
  o.max_wait = 1; /* per call: a shorter bound */
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_FAIL);
  o.max_wait = -1;
  o.elapsed = 0;
  o.retry_after = -1;
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

/* A 429 observation: own bucket `type` and the global one. */
static void limit_obs(mc_rate_observation *obs, const char *type, long own_left, double own_reset,
                      long glob_left, double glob_reset) {
  memset(obs, 0, sizeof *obs);
  if (type) {
    obs->has_type = 1;
    strcpy(obs->type.type, type);
    obs->type.limit = 100;
    obs->type.remaining = own_left;
    obs->type.reset = own_reset;
  }
  if (glob_reset >= 0) {
    obs->has_global = 1;
    strcpy(obs->global.type, MC_GLOBAL_BUCKET);
    obs->global.limit = 7000;
    obs->global.remaining = glob_left;
    obs->global.reset = glob_reset;
  }
}

/* Which bucket a 429 hit and when it resets. */
static void test_limit_hit(void) {
  mc_rate_observation obs;
  mc_limit_hit hit;
  double r;
  const char *body = "{\"statusCode\":429,\"reset\":1234}";
  /* own bucket empty: that one, even if the global one resets later */
  limit_obs(&obs, "rest:get:files:meta", 0, 1100, 50, 2000);
  mc_budgets_hit(&obs, -1, 0, "rest:global", 1000, &hit);
  CHECK(strcmp(hit.type, "rest:get:files:meta") == 0 && hit.reset_at == 1100);
  /* own bucket left, global empty: the global one */
  limit_obs(&obs, "rest:get:files:meta", 3, 1100, 0, 1050);
  mc_budgets_hit(&obs, -1, 0, "rest:get:files:meta", 1000, &hit);
  CHECK(strcmp(hit.type, MC_GLOBAL_BUCKET) == 0 && hit.reset_at == 1050);
  /* neither reads empty: the later reset */
  limit_obs(&obs, "rest:get:files:meta", 3, 1100, 9, 1500);
  mc_budgets_hit(&obs, -1, 0, NULL, 1000, &hit);
  CHECK(strcmp(hit.type, MC_GLOBAL_BUCKET) == 0 && hit.reset_at == 1500);
  limit_obs(&obs, "rest:get:files:meta", 3, 1700, 9, 1500);
  mc_budgets_hit(&obs, -1, 0, NULL, 1000, &hit);
  CHECK(strcmp(hit.type, "rest:get:files:meta") == 0 && hit.reset_at == 1700);
  /* no reset in the headers: Retry-After, then a stated reset, named by the request's bucket */
  limit_obs(&obs, NULL, 0, 0, 0, 0);
  mc_budgets_hit(&obs, 5, 1300, "rest:post:files:search", 1000.5, &hit);
  CHECK(strcmp(hit.type, "rest:post:files:search") == 0 && hit.reset_at == 1005.5);
  mc_budgets_hit(&obs, -1, 1300, "rest:post:files:search", 1000, &hit);
  CHECK(hit.reset_at == 1300);
  mc_budgets_hit(NULL, -1, 0, NULL, 1000, &hit);
  CHECK(hit.reset_at == 0 && hit.type[0] == '\0');
  /* the body's reset field, a number or a numeric string */
  CHECK(mc_budgets_body_reset(body, strlen(body), &r) == 1 && r == 1234);
  body = "{\"reset\":\"1700000000\"}";
  CHECK(mc_budgets_body_reset(body, strlen(body), &r) == 1 && r == 1700000000);
  body = "{\"reset\":\"soon\"}";
  CHECK(mc_budgets_body_reset(body, strlen(body), &r) == 0);
  body = "[1]";
  CHECK(mc_budgets_body_reset(body, strlen(body), &r) == 0);
  body = "not json";
  CHECK(mc_budgets_body_reset(body, strlen(body), &r) == 0);
}

/* How long a 429 waits, how many times, and what it reports. */
static void test_rate_decide(void) {
  mc_retry_policy p;
  mc_outcome o;
  mc_decision d;
  uint64_t rng = 7;
  int i;
  mc_retry_policy_init(&p);
  mc_outcome_init(&o);
  o.status = 429;
  o.now = 1000.4;
  o.bucket = "rest:post:files:search";
  limit_obs(&o.rate, "rest:post:files:search", 0, 1002, 10, 4000);
  d = mc_decide(&p, &o, &rng);
  CHECK(d.action == MC_ACT_WAIT && fabs(d.delay - 1.7) < 1e-9);
  CHECK(d.reset_at == 1002 && strcmp(d.ratelimit_type, "rest:post:files:search") == 0);
  /* a whole-second reset that has just passed: wait a second */
  limit_obs(&o.rate, NULL, 0, 0, 0, 1000);
  d = mc_decide(&p, &o, &rng);
  CHECK(d.action == MC_ACT_WAIT && d.delay == 1.0 && d.reset_at == 1000);
  CHECK(strcmp(d.ratelimit_type, MC_GLOBAL_BUCKET) == 0);
  /* a Retry-After reset is reported in whole seconds */
  memset(&o.rate, 0, sizeof o.rate);
  o.retry_after = 3;
  d = mc_decide(&p, &o, &rng);
  CHECK(d.action == MC_ACT_WAIT && fabs(d.delay - 3.1) < 1e-9 && d.reset_at == 1004);
  CHECK(strcmp(d.ratelimit_type, "rest:post:files:search") == 0);
  /* unknown: at least a second, growing with the waits, and no invented reset */
  o.retry_after = -1;
  for (i = 0; i < 10; i++) {
    double ceiling = 0.25 * pow(2, i);
    o.waits = i;
    d = mc_decide(&p, &o, &rng);
    CHECK(d.action == MC_ACT_WAIT && d.delay >= 1.0 && d.delay <= (ceiling > 30 ? 30 : ceiling < 1 ? 1 : ceiling));
    CHECK(d.reset_at == 0);
  }
  /* after max_rate_waits waits it gives up, reporting the bucket */
  o.waits = p.max_rate_waits;
  d = mc_decide(&p, &o, &rng);
  CHECK(d.action == MC_ACT_FAIL && strcmp(d.kind, "rate_limited") == 0 && d.retryable);
  CHECK(strcmp(d.ratelimit_type, "rest:post:files:search") == 0);
  /* a reset stated elsewhere (the body, an earlier error's reset_at) */
  o.waits = 0;
  o.stated_reset = 1060;
  d = mc_decide(&p, &o, &rng);
  CHECK(d.action == MC_ACT_WAIT && fabs(d.delay - 59.7) < 1e-9 && d.reset_at == 1060);
  /* max_wait bounds the time until the reset, not the slack added to it */
  o.stated_reset = 0;
  o.now = 1000;
  o.max_wait = 60;
  limit_obs(&o.rate, NULL, 0, 0, 0, 1060);
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_WAIT);
  limit_obs(&o.rate, NULL, 0, 0, 0, 1061);
  CHECK(mc_decide(&p, &o, &rng).action == MC_ACT_FAIL);
  /* a success carries no rate-limit fields */
  o.status = 200;
  d = mc_decide(&p, &o, &rng);
  CHECK(d.action == MC_ACT_DONE && d.reset_at == 0 && d.ratelimit_type[0] == '\0');
}

/* Before sending: send, pace, wait for a reset, or fail fast. */
static void test_admit(void) {
  mc_retry_policy p;
  mc_budgets b;
  mc_decision d;
  mc_retry_policy_init(&p);
  mc_budgets_init(&b);
  d = mc_admit(&p, &b, "rest:global", 100, MC_RATE_POLICY, -1);
  CHECK(d.action == MC_ACT_DONE && d.delay == 0);
  mc_budgets_set(&b, "rest:global", 100, 5, 160);
  d = mc_admit(&p, &b, "rest:get:files:meta", 100, MC_RATE_POLICY, -1);
  CHECK(d.action == MC_ACT_PACE && fabs(d.delay - 10.0) < 1e-9);
  CHECK(strcmp(d.ratelimit_type, "rest:get:files:meta") == 0 && d.reset_at == 0);
  CHECK(mc_admit(&p, &b, NULL, 100, MC_RATE_POLICY, -1).action == MC_ACT_DONE); /* no budget */
  mc_budgets_set(&b, "rest:get:files:meta", 10, 0, 400);
  d = mc_admit(&p, &b, "rest:get:files:meta", 100, MC_RATE_POLICY, -1);
  CHECK(d.action == MC_ACT_WAIT && d.delay == 300 && d.reset_at == 400);
  CHECK(strcmp(d.ratelimit_type, "rest:get:files:meta") == 0 && strcmp(d.kind, "rate_limited") == 0);
  CHECK(mc_admit(&p, &b, "rest:get:files:meta", 100, MC_RATE_FAIL, -1).action == MC_ACT_FAIL);
  CHECK(mc_admit(&p, &b, "rest:get:files:meta", 100, MC_RATE_POLICY, 60).action == MC_ACT_FAIL);
  p.wait_rate_limit = 0;
  d = mc_admit(&p, &b, "rest:get:files:meta", 100, MC_RATE_POLICY, -1);
  CHECK(d.action == MC_ACT_FAIL && d.reset_at == 400);
  CHECK(mc_admit(&p, &b, "rest:get:files:meta", 100, MC_RATE_WAIT, -1).action == MC_ACT_WAIT);
  CHECK(mc_admit(&p, &b, "rest:get:files:meta", 401, MC_RATE_POLICY, -1).action == MC_ACT_DONE);
  mc_budgets_free(&b);
}

int main(void) {
  mc_test_http1();
  test_url();
  test_crypto();
  test_json();
  mc_test_json();
  test_ratelimit();
  test_ratelimit_values();
  test_retry();
  test_limit_hit();
  test_rate_decide();
  test_admit();
  mc_test_imgurl();
  mc_test_sparevideos();
  mc_test_tus();
  mc_test_hardening();
  printf("core: %d passed, %d failed\n", mc_tests_passed, mc_tests_failed);
  return mc_tests_failed ? 1 : 0;
}
