/*
** fuzz_ratelimit.c — libFuzzer target for what a server's rate-limit answers
** reach in the policy core: the X-RateLimit-* and X-Global-RateLimit-* header
** families (mc_budgets_observe), the `reset` field of a 429 body
** (mc_budgets_body_reset), Retry-After, the reading of a 429 (mc_decide ->
** mc_budgets_hit) and the admission of the next request (mc_admit ->
** mc_budgets_delay). Input: header lines split at '\n'; "@now 123.5" sets the
** clock (default 1000), "@body {...}" is the 429's body, "@retry-after 3"
** its Retry-After. Invariants: observe returns 0 or 1; stored counts are -1
** or within [0, 1e15] and resets finite; every delay and reset_at is a finite
** number >= 0; a blocked admission names its bucket; consuming never makes a
** count lower than -1.
*/
#include <math.h>

#include "fuzz_util.h"
#include "mc_http.h"
#include "mc_ratelimit.h"
#include "mc_retry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct ctx {
  mc_headers h;
  double now, retry_after;
  char *body;
  size_t body_len;
} ctx;

/* A directive ("@now", "@body", "@retry-after") or a "Name: value" line. */
static void one_line(const char *line, size_t len, void *p) {
  ctx *c = p;
  const char *colon;
  if (len > 5 && len < 64 && memcmp(line, "@now ", 5) == 0) {
    char buf[64];
    memcpy(buf, line + 5, len - 5);
    buf[len - 5] = '\0';
    c->now = strtod(buf, NULL);
    if (!isfinite(c->now) || c->now < 0) c->now = 1000;
    return;
  }
  if (len > 13 && len < 64 && memcmp(line, "@retry-after ", 13) == 0) {
    char buf[64];
    memcpy(buf, line + 13, len - 13);
    buf[len - 13] = '\0';
    c->retry_after = strtod(buf, NULL);
    if (!isfinite(c->retry_after) || c->retry_after < 0) c->retry_after = -1;
    return;
  }
  if (len >= 6 && memcmp(line, "@body ", 6) == 0) {
    free(c->body);
    c->body = fuzz_copy((const uint8_t *)line + 6, len - 6, 1);
    c->body_len = len - 6;
    return;
  }
  colon = memchr(line, ':', len);
  if (!colon || colon == line) return;
  {
    const char *v = colon + 1;
    size_t vlen = len - (size_t)(v - line);
    while (vlen > 0 && *v == ' ') { v++; vlen--; }
    FUZZ_REQUIRE(mc_headers_add(&c->h, line, (size_t)(colon - line), v, vlen) == 0);
  }
}

static void check_decision(const mc_decision *d) {
  FUZZ_REQUIRE(isfinite(d->delay) && d->delay >= 0);
  FUZZ_REQUIRE(isfinite(d->reset_at) && d->reset_at >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ctx c;
  mc_budgets b;
  mc_rate_observation obs;
  mc_retry_policy pol;
  mc_outcome o;
  mc_decision d;
  uint64_t rng = 42;
  const char *bucket;
  size_t i;
  int r;
  double stated = 0;
  memset(&c, 0, sizeof c);
  mc_headers_init(&c.h);
  c.now = 1000;
  c.retry_after = -1;
  fuzz_lines(data, size, one_line, &c);
  mc_budgets_init(&b);
  mc_retry_policy_init(&pol);
  r = mc_budgets_observe(&b, &c.h, &obs);
  FUZZ_REQUIRE(r == 0 || r == 1);
  for (i = 0; i < b.count; i++) {
    const mc_budget *e = &b.items[i];
    FUZZ_REQUIRE(e->type[0] != '\0');
    FUZZ_REQUIRE(e->limit == -1 || (e->limit >= 0 && e->limit <= 1000000000000000L));
    FUZZ_REQUIRE(e->remaining == -1 || (e->remaining >= 0 && e->remaining <= 1000000000000000L));
    FUZZ_REQUIRE(isfinite(e->reset));
  }
  bucket = obs.has_type ? obs.type.type : NULL;
  /* the 429 this response could be */
  if (c.body && mc_budgets_body_reset(c.body, c.body_len, &stated)) FUZZ_REQUIRE(isfinite(stated));
  mc_outcome_init(&o);
  o.status = 429;
  o.attempt = 1;
  o.now = c.now;
  o.rate = obs;
  o.retry_after = c.retry_after;
  o.stated_reset = stated;
  o.bucket = bucket;
  d = mc_decide(&pol, &o, &rng);
  check_decision(&d);
  FUZZ_REQUIRE(d.action == MC_ACT_WAIT || d.action == MC_ACT_FAIL);
  /* the next request's admission, before and after counting three */
  d = mc_admit(&pol, &b, bucket ? bucket : MC_GLOBAL_BUCKET, c.now, MC_RATE_POLICY, -1);
  check_decision(&d);
  FUZZ_REQUIRE(d.action != MC_ACT_WAIT || d.ratelimit_type[0] != '\0');
  for (i = 0; i < 3; i++) mc_budgets_consume(&b, bucket);
  for (i = 0; i < b.count; i++) FUZZ_REQUIRE(b.items[i].remaining >= -1);
  d = mc_admit(&pol, &b, MC_GLOBAL_BUCKET, c.now, MC_RATE_WAIT, -1);
  check_decision(&d);
  mc_budgets_free(&b);
  mc_headers_free(&c.h);
  free(c.body);
  return 0;
}
