/*
** fuzz_retry.c — libFuzzer target for the policy core's inputs (mc_retry over
** mc_ratelimit): the per-attempt decision (mc_decide: status, transport
** failure, attempt counts, elapsed time, 401 replay, a 429 with its rate-limit
** observation, Retry-After and stated reset, the per-call mode and max_wait),
** the admission of the next request against the budgets (mc_admit ->
** mc_budgets_delay, pacing) and the backoff (mc_backoff). Every value lies in
** the domain the binding (csrc/lua/mc_lua_policy.c) lets through: policy
** numbers >= 0 (infinity too), counts in [0, INT_MAX], attempt >= 1, a status
** in [0, 999], a call's max_wait any number but NaN, clock readings (now,
** elapsed) and stated resets finite (the engine takes them from its clock, a
** body's finite `reset`, an earlier decision); server counts as mc_budgets_observe
** stores them (-1 or [0, 1e15]) and resets finite and >= 0.
** Input: a byte stream read field by field (a double is 8 raw bytes or, when
** its first byte is below 16, one of a table of edge values).
** Invariants: the action is one of the enum and matches the status (2xx
** done, 401 reauth once, a retry only for a retryable kind, within attempts
** and the deadline); a delay is >= 0 and never NaN, a retry's at most the
** cap, a wait's at most the call's max_wait (+ the 0.1 s slack); reset_at is
** 0 or a whole number; an admission that waits names its bucket; a backoff
** lies in [0, cap].
*/
#include <limits.h>
#include <math.h>

#include "fuzz_util.h"
#include "mc_retry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct rd {
  const uint8_t *p;
  size_t n;
} rd;

static uint64_t take_u64(rd *r, size_t bytes) {
  uint64_t v = 0;
  size_t i;
  for (i = 0; i < bytes; i++) {
    v = (v << 8) | (r->n ? *r->p : 0);
    if (r->n) {
      r->p++;
      r->n--;
    }
  }
  return v;
}

/* Any double but NaN (NaN becomes def, as the binding's opt_field_real does). */
static double take_num(rd *r, double def) {
  static const double edge[16] = { 0, -0.0, 1, -1, 0.5, 1e-300, 1e300, -1e300, INFINITY, -INFINITY,
                                   1e15, 4294967296.0, 1700000000.0, 1700000000.5, 0.1, 3600 };
  uint64_t u;
  double d;
  if (r->n && *r->p < 16) {
    d = edge[*r->p];
    r->p++;
    r->n--;
    return d;
  }
  u = take_u64(r, 8);
  memcpy(&d, &u, sizeof d);
  return d != d ? def : d;
}

/* A clock reading or a time derived from one (now, elapsed, a reset stated
** by a body or an earlier error): any finite number. */
static double take_time(rd *r, double def) {
  double d = take_num(r, def);
  return isfinite(d) ? d : def;
}

/* A policy number: >= 0 (the binding refuses negative and NaN). */
static double take_nonneg(rd *r, double def) {
  double d = take_num(r, def);
  return d < 0 ? -d : d;
}

/* A count in [lo, INT_MAX]: small ones likelier. */
static int take_count(rd *r, int lo) {
  uint64_t u = take_u64(r, 1);
  int v;
  if (u & 0x80) {
    v = (int)(take_u64(r, 4) & 0x7fffffff);
    return v < lo ? lo : v;
  }
  return (int)(u & 0x7f) + lo;
}

/* A server count as mc_budgets_observe stores it: -1 or [0, 1e15]. */
static long take_server_count(rd *r) {
  double d = take_num(r, -1);
  return (isfinite(d) && d >= 0 && d <= 1e15) ? (long)d : -1;
}

/* A reset as stored: finite and >= 0 (0: unknown). */
static double take_reset(rd *r) {
  double d = take_num(r, 0);
  return (isfinite(d) && d >= 0) ? d : 0;
}

static void take_budget(rd *r, mc_budget *b, const char *type) {
  mc_budgets_copy_name(b->type, type);
  b->limit = take_server_count(r);
  b->remaining = take_server_count(r);
  b->reset = take_reset(r);
}

static void check_decision(const mc_decision *d) {
  FUZZ_REQUIRE(d->action >= MC_ACT_DONE && d->action <= MC_ACT_PACE);
  FUZZ_REQUIRE(!(d->delay != d->delay) && d->delay >= 0);
  FUZZ_REQUIRE(d->kind != NULL);
  FUZZ_REQUIRE(d->reset_at == 0 || (isfinite(d->reset_at) && d->reset_at > 0 && d->reset_at == floor(d->reset_at)));
  FUZZ_REQUIRE(memchr(d->ratelimit_type, '\0', sizeof d->ratelimit_type) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rd r = { data, size };
  mc_retry_policy pol;
  mc_budgets b;
  mc_outcome o;
  mc_decision d;
  uint64_t rng;
  int retryable, i, nb;
  double max_wait, back;
  static const char *const buckets[4] = { MC_GLOBAL_BUCKET, "rest:post:files:search", "rest:get:files:stat", NULL };
  const char *bucket;
  mc_retry_policy_init(&pol);
  mc_budgets_init(&b);
  pol.attempts = take_count(&r, 1);
  pol.base = take_nonneg(&r, pol.base);
  pol.cap = take_nonneg(&r, pol.cap);
  pol.deadline = take_nonneg(&r, pol.deadline);
  pol.max_wait = take_nonneg(&r, pol.max_wait);
  pol.max_rate_waits = take_count(&r, 0);
  pol.wait_rate_limit = (int)(take_u64(&r, 1) & 1);
  b.pace_threshold = take_nonneg(&r, b.pace_threshold);
  b.pace_max_delay = take_nonneg(&r, b.pace_max_delay);
  rng = take_u64(&r, 8) | 1;
  bucket = buckets[take_u64(&r, 1) & 3];

  /* the decision after an attempt */
  mc_outcome_init(&o);
  o.status = (long)(take_u64(&r, 2) % 1000);
  if (o.status % 7 == 0) o.status = 0;
  o.terr = (mc_transport_kind)(take_u64(&r, 1) % (MC_TERR_PROTOCOL + 1));
  {
    uint64_t f = take_u64(&r, 1);
    o.nothing_sent = f & 1;
    o.idempotent = (f >> 1) & 1;
    o.reauthed = (f >> 2) & 1;
    o.rate_mode = (mc_rate_mode)((f >> 3) % 3);
    if (f & 0x40) o.status = 429;
  }
  o.attempt = take_count(&r, 1);
  o.elapsed = take_time(&r, 0);
  o.now = take_time(&r, 0);
  o.waits = take_count(&r, 0);
  o.max_wait = take_num(&r, -1);
  o.stated_reset = take_time(&r, 0);
  {
    double ra = take_num(&r, -1);
    o.retry_after = (ra >= 0 && isfinite(ra)) ? ra : -1; /* as the binding reads Retry-After */
  }
  o.bucket = bucket;
  o.rate.has_type = (int)(take_u64(&r, 1) & 1);
  if (o.rate.has_type) take_budget(&r, &o.rate.type, bucket ? bucket : "rest:other");
  o.rate.has_global = (int)(take_u64(&r, 1) & 1);
  if (o.rate.has_global) take_budget(&r, &o.rate.global, MC_GLOBAL_BUCKET);

  d = mc_decide(&pol, &o, &rng);
  check_decision(&d);
  FUZZ_REQUIRE(d.action != MC_ACT_PACE);
  if (o.status >= 200 && o.status < 300) FUZZ_REQUIRE(d.action == MC_ACT_DONE);
  else FUZZ_REQUIRE(d.action != MC_ACT_DONE && d.kind[0] != '\0');
  if (o.status != 0 && d.action != MC_ACT_DONE) {
    FUZZ_REQUIRE(strcmp(d.kind, mc_status_kind(o.status, &retryable)) == 0 && d.retryable == retryable);
  }
  FUZZ_REQUIRE(d.action != MC_ACT_REAUTH || (o.status == 401 && !o.reauthed));
  FUZZ_REQUIRE(d.action != MC_ACT_WAIT || o.status == 429);
  if (d.action == MC_ACT_RETRY) {
    FUZZ_REQUIRE(d.retryable && o.attempt < pol.attempts);
    FUZZ_REQUIRE(d.delay <= pol.cap);
    FUZZ_REQUIRE(pol.deadline == 0 || o.elapsed + d.delay <= pol.deadline);
    if (o.status == 0) FUZZ_REQUIRE(o.idempotent || o.nothing_sent);
    else FUZZ_REQUIRE(o.idempotent || o.status == 503);
  }
  if (d.action == MC_ACT_WAIT) {
    max_wait = o.max_wait >= 0 ? o.max_wait : pol.max_wait;
    FUZZ_REQUIRE(d.delay <= max_wait + 0.1 + 1e-9 * fabs(max_wait));
    FUZZ_REQUIRE(o.waits < pol.max_rate_waits && o.rate_mode != MC_RATE_FAIL);
    FUZZ_REQUIRE(d.delay >= 0.1 || d.delay == 1.0 || d.delay >= 1.0);
  }

  /* admission of the next request against budgets the server reported */
  nb = (int)(take_u64(&r, 1) % 4);
  for (i = 0; i < nb; i++) {
    mc_budget x;
    take_budget(&r, &x, buckets[i % 3]);
    FUZZ_REQUIRE(mc_budgets_set(&b, x.type, x.limit, x.remaining, x.reset) == 0);
  }
  if (o.status == 429 || (take_u64(&r, 1) & 1)) FUZZ_REQUIRE(mc_budgets_apply(&b, &o.rate) == 0);
  max_wait = take_num(&r, -1);
  for (i = 0; i < 3; i++) {
    mc_rate_mode mode = (mc_rate_mode)(i % 3);
    d = mc_admit(&pol, &b, bucket, o.now, mode, max_wait);
    check_decision(&d);
    FUZZ_REQUIRE(d.action == MC_ACT_DONE || d.action == MC_ACT_PACE || d.action == MC_ACT_WAIT ||
                 d.action == MC_ACT_FAIL);
    if (!bucket) FUZZ_REQUIRE(d.action == MC_ACT_DONE && d.delay == 0);
    if (d.action == MC_ACT_PACE) FUZZ_REQUIRE(d.delay > 0 && d.delay <= b.pace_max_delay);
    if (d.action == MC_ACT_WAIT || d.action == MC_ACT_FAIL) {
      FUZZ_REQUIRE(d.ratelimit_type[0] != '\0' && strcmp(d.kind, "rate_limited") == 0 && d.delay > 0);
      FUZZ_REQUIRE(d.action != MC_ACT_WAIT || mode != MC_RATE_FAIL);
      if (d.action == MC_ACT_WAIT) FUZZ_REQUIRE(d.delay <= (max_wait >= 0 ? max_wait : pol.max_wait));
    }
    mc_budgets_consume(&b, bucket);
    for (nb = 0; nb < (int)b.count; nb++) FUZZ_REQUIRE(b.items[nb].remaining >= -1);
  }

  /* the backoff alone, at the attempt given and at the extremes */
  for (i = 0; i < 3; i++) {
    int a = i == 0 ? o.attempt : i == 1 ? 1 : INT_MAX;
    back = mc_backoff(&pol, a, &rng);
    FUZZ_REQUIRE(!(back != back) && back >= 0 && back <= pol.cap);
    FUZZ_REQUIRE(back <= pol.base * pow(2.0, a - 1.0) || isinf(pol.base * pow(2.0, a - 1.0)) ||
                 pol.base == 0);
  }
  mc_budgets_free(&b);
  return 0;
}
