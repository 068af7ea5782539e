/* mc_retry.c — classification, backoff, the per-attempt decision and the
** admission of a request against the rate-limit budgets. */
#include "mc_retry.h"
#include "mc_defaults.h"

#include <limits.h>
#include <math.h>
#include <string.h>

void mc_retry_policy_init(mc_retry_policy *p) {
  p->attempts = MC_DEFAULT_RETRY_ATTEMPTS;
  p->base = MC_DEFAULT_RETRY_BASE;
  p->cap = MC_DEFAULT_RETRY_CAP;
  p->deadline = MC_DEFAULT_RETRY_DEADLINE;
  p->wait_rate_limit = 1;
  p->max_wait = MC_DEFAULT_MAX_WAIT;
  p->max_rate_waits = MC_DEFAULT_MAX_RATE_WAITS;
}

void mc_outcome_init(mc_outcome *o) {
  memset(o, 0, sizeof *o);
  o->attempt = 1;
  o->retry_after = -1;
  o->stated_reset = 0;
  o->max_wait = -1;
}

double mc_random(uint64_t *state) {
  uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return (double)((x * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

const char *mc_status_kind(long status, int *retryable) {
  *retryable = 0;
  if (status >= 200 && status < 300) return "";
  switch (status) {
    case 401: return "auth";
    case 403: return "forbidden";
    case 404: case 410: return "not_found";
    case 409: case 412: return "conflict";
    case 429: *retryable = 1; return "rate_limited";
    case 500: case 502: case 503: case 504: *retryable = 1; return "transient";
    default: break;
  }
  if (status >= 500) return "transient";
  if (status >= 400) return "client";
  return "protocol"; /* 1xx/3xx we did not follow */
}

/* 2^(attempt-1) is infinite past attempt 1024: a zero base (or a zero draw
** under an infinite ceiling) must give 0, not 0 * inf = NaN (fuzz_retry). */
double mc_backoff(const mc_retry_policy *p, int attempt, uint64_t *rng) {
  double ceiling, u;
  if (!(p->base > 0)) return 0;
  ceiling = p->base * pow(2.0, attempt > 1 ? attempt - 1 : 0);
  if (ceiling > p->cap) ceiling = p->cap;
  u = mc_random(rng);
  return u > 0 ? ceiling * u : 0;
}

static const char *transport_kind(mc_transport_kind k, int *retryable) {
  switch (k) {
    case MC_TERR_TIMEOUT: *retryable = 1; return "timeout";
    case MC_TERR_TRANSIENT: *retryable = 1; return "transient";
    case MC_TERR_PROTOCOL: *retryable = 0; return "protocol";
    default: *retryable = 0; return "local";
  }
}

/* Retry, or fail when attempts or the deadline are used up. */
static mc_decision retry_or_fail(const mc_retry_policy *p, const mc_outcome *o, mc_decision d,
                                 mc_action act, double delay) {
  if (o->attempt >= p->attempts) return d;
  if (p->deadline > 0 && o->elapsed + delay > p->deadline) return d;
  d.action = act;
  d.delay = delay;
  return d;
}

/* Whether this call waits out a limit, by its mode or else the policy's. */
static int waits_for_reset(const mc_retry_policy *p, mc_rate_mode mode) {
  if (mode == MC_RATE_WAIT) return 1;
  if (mode == MC_RATE_FAIL) return 0;
  return p->wait_rate_limit;
}

/* Resets are whole seconds: report the next whole second (0 stays unknown). */
static double whole_reset(double reset_at) {
  return reset_at > 0 ? ceil(reset_at) : 0;
}

/*
** A 429: which bucket, when it resets, and whether to wait for it. The
** request was refused before any work, so it is safe to resend. Waiting out a
** limit is bounded by max_wait and max_rate_waits only: it is not a failed
** attempt, and the retry deadline (meant for failures) does not cut it short.
*/
static mc_decision rate_limited(const mc_retry_policy *p, const mc_outcome *o, mc_decision d,
                                uint64_t *rng) {
  mc_limit_hit hit;
  double wait, need, max_wait = o->max_wait >= 0 ? o->max_wait : p->max_wait;
  mc_budgets_hit(&o->rate, o->retry_after, o->stated_reset, o->bucket, o->now, &hit);
  memcpy(d.ratelimit_type, hit.type, sizeof d.ratelimit_type);
  d.reset_at = whole_reset(hit.reset_at);
  if (hit.reset_at > o->now) {
    need = hit.reset_at - o->now;
    wait = need + 0.1; /* resets are whole seconds, rounded down */
  } else if (hit.reset_at > 0) {
    need = wait = 1.0; /* a reset just passed means "within a second" */
  } else {
    /* unknown: back off on the waits so far, at least a second */
    need = wait = mc_backoff(p, o->waits < INT_MAX ? o->waits + 1 : INT_MAX, rng);
    if (wait < 1.0) need = wait = 1.0;
  }
  /* max_wait bounds the time until the reset (the 0.1 s slack aside) */
  if (!waits_for_reset(p, o->rate_mode) || o->waits >= p->max_rate_waits || need > max_wait)
    return d;
  d.action = MC_ACT_WAIT;
  d.delay = wait;
  return d;
}

/* A decision that fails with no kind yet. */
static mc_decision fail_decision(void) {
  mc_decision d;
  memset(&d, 0, sizeof d);
  d.action = MC_ACT_FAIL;
  d.kind = "";
  return d;
}

mc_decision mc_decide(const mc_retry_policy *p, const mc_outcome *o, uint64_t *rng) {
  mc_decision d = fail_decision();
  if (o->status == 0) {
    d.kind = transport_kind(o->terr, &d.retryable);
    /* an unknown outcome may only be replayed when that is safe */
    if (d.retryable && (o->idempotent || o->nothing_sent))
      return retry_or_fail(p, o, d, MC_ACT_RETRY, mc_backoff(p, o->attempt, rng));
    return d;
  }
  d.kind = mc_status_kind(o->status, &d.retryable);
  if (d.kind[0] == '\0') {
    d.action = MC_ACT_DONE;
    return d;
  }
  if (o->status == 401) {
    if (!o->reauthed) d.action = MC_ACT_REAUTH; /* once per call; does not use an attempt */
    return d;
  }
  if (o->status == 429) return rate_limited(p, o, d, rng);
  if (d.retryable) {
    /* 503 means the server refused before acting: safe for any call.
    ** 500/502/504 leave the outcome unknown: only idempotent calls replay. */
    if (o->idempotent || o->status == 503)
      return retry_or_fail(p, o, d, MC_ACT_RETRY, mc_backoff(p, o->attempt, rng));
  }
  return d;
}

mc_decision mc_admit(const mc_retry_policy *p, const mc_budgets *b, const char *bucket,
                     double now, mc_rate_mode mode, double max_wait) {
  mc_decision d = fail_decision();
  int blocked = 0;
  const char *btype = NULL;
  double reset = 0, delay;
  d.action = MC_ACT_DONE;
  if (!bucket) return d;
  delay = mc_budgets_delay(b, bucket, now, &blocked, &btype, &reset);
  if (delay <= 0) return d;
  d.delay = delay;
  if (!blocked) {
    d.action = MC_ACT_PACE;
    mc_budgets_copy_name(d.ratelimit_type, bucket);
    return d;
  }
  mc_budgets_copy_name(d.ratelimit_type, btype);
  d.reset_at = whole_reset(reset);
  d.kind = "rate_limited";
  d.retryable = 1;
  if (max_wait < 0) max_wait = p->max_wait;
  d.action = (!waits_for_reset(p, mode) || delay > max_wait) ? MC_ACT_FAIL : MC_ACT_WAIT;
  return d;
}
