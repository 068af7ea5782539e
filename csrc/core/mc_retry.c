/* mc_retry.c — classification, backoff and the per-attempt decision. */
#include "mc_retry.h"
#include "mc_defaults.h"

#include <math.h>

void mc_retry_policy_init(mc_retry_policy *p) {
  p->attempts = MC_DEFAULT_RETRY_ATTEMPTS;
  p->base = MC_DEFAULT_RETRY_BASE;
  p->cap = MC_DEFAULT_RETRY_CAP;
  p->deadline = MC_DEFAULT_RETRY_DEADLINE;
  p->wait_rate_limit = 1;
  p->max_wait = MC_DEFAULT_MAX_WAIT;
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

double mc_backoff(const mc_retry_policy *p, int attempt, uint64_t *rng) {
  double ceiling = p->base * pow(2.0, attempt > 1 ? attempt - 1 : 0);
  if (ceiling > p->cap) ceiling = p->cap;
  return ceiling * mc_random(rng);
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

mc_decision mc_decide(const mc_retry_policy *p, const mc_outcome *o, uint64_t *rng) {
  mc_decision d;
  d.action = MC_ACT_FAIL;
  d.delay = 0;
  d.retryable = 0;
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
  if (o->status == 429) {
    double wait = o->reset_in >= 0 ? o->reset_in : mc_backoff(p, o->attempt, rng);
    /* the request was refused before any work: safe to resend. Waiting out a
    ** limit is bounded by max_wait only: it is not a failed attempt, and the
    ** retry deadline (meant for failures) does not cut it short. */
    if (!p->wait_rate_limit || o->fail_fast || wait > p->max_wait) return d;
    d.action = MC_ACT_WAIT;
    d.delay = wait;
    return d;
  }
  if (d.retryable) {
    /* 503 means the server refused before acting: safe for any call.
    ** 500/502/504 leave the outcome unknown: only idempotent calls replay. */
    if (o->idempotent || o->status == 503)
      return retry_or_fail(p, o, d, MC_ACT_RETRY, mc_backoff(p, o->attempt, rng));
  }
  return d;
}
