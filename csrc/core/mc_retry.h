/*
** mc_retry.h — what to do with an attempt's outcome: classify it into an
** error kind and decide done / retry after N s / re-authenticate / wait for
** the rate-limit reset / fail; and, before an attempt, whether the budgets
** let it go now. Exponential backoff with full jitter, capped attempts and a
** total deadline; rate-limit waits bounded by max_wait and a number of waits.
** No clock, no sleeping: every input (the time too) comes in.
*/
#ifndef MC_RETRY_H
#define MC_RETRY_H

#include <stdint.h>
#include "mc_http.h"
#include "mc_ratelimit.h"

typedef enum mc_action {
  MC_ACT_DONE = 0,   /* success: hand the response over (mc_admit: send now) */
  MC_ACT_RETRY,      /* sleep delay, then send again */
  MC_ACT_REAUTH,     /* drop the token, fetch a new one, replay now */
  MC_ACT_WAIT,       /* rate limited: sleep delay (until reset), then send again */
  MC_ACT_FAIL,       /* give up: return the error of this attempt */
  MC_ACT_PACE        /* mc_admit: sleep delay (a budget is nearly spent), then send */
} mc_action;

/* A call's rate-limit mode: the policy's, or overridden for this call. */
typedef enum mc_rate_mode {
  MC_RATE_POLICY = 0,
  MC_RATE_WAIT,      /* wait for the reset (up to max_wait) */
  MC_RATE_FAIL       /* fail fast with the reset time */
} mc_rate_mode;

typedef struct mc_retry_policy {
  int attempts;        /* total attempts, >= 1 */
  double base;         /* first backoff ceiling, seconds */
  double cap;          /* max backoff ceiling, seconds */
  double deadline;     /* total seconds across attempts; 0 = none */
  int wait_rate_limit; /* 1: wait for the reset on 429; 0: fail fast */
  double max_wait;     /* never wait longer than this for a reset (seconds) */
  int max_rate_waits;  /* rate-limit waits per call before giving up */
} mc_retry_policy;

/* One attempt's outcome as the caller saw it. */
typedef struct mc_outcome {
  long status;                 /* HTTP status; 0 when the transport failed */
  mc_transport_kind terr;      /* transport failure class when status == 0 */
  int nothing_sent;            /* the transport failed before sending (connect) */
  int idempotent;              /* safe to replay after an unknown outcome */
  int reauthed;                /* a 401 replay already happened for this call */
  int attempt;                 /* 1-based number of this attempt */
  double elapsed;              /* seconds since the call started */
  /* rate limits: read when status == 429 */
  double now;                  /* epoch seconds when the response arrived */
  int waits;                   /* rate-limit waits this call already spent */
  mc_rate_observation rate;    /* the response's rate-limit headers (has_* 0: none) */
  double retry_after;          /* Retry-After seconds; < 0 when absent */
  double stated_reset;         /* a reset time stated elsewhere (the body's `reset`, or the
                                  reset_at of an error being waited out); <= 0 unknown */
  const char *bucket;          /* the bucket the request counted against (NULL: none) */
  mc_rate_mode rate_mode;      /* this call's mode */
  double max_wait;             /* this call's bound on a wait; < 0: the policy's */
} mc_outcome;

typedef struct mc_decision {
  mc_action action;
  double delay;
  const char *kind;   /* error kind of this attempt ("" on success) */
  int retryable;      /* whether the error is of a retryable kind */
  /* rate limits (429, mc_admit): */
  double reset_at;                          /* when the bucket resets, whole epoch s; 0 unknown */
  char ratelimit_type[MC_BUCKET_NAME_MAX];  /* which bucket ("" unknown) */
} mc_decision;

/* The defaults of mc_defaults.h (wait mode). */
void mc_retry_policy_init(mc_retry_policy *p);
/* An outcome with no field set (retry_after, stated_reset, max_wait absent). */
void mc_outcome_init(mc_outcome *o);
/* Error kind and retryability of an HTTP status (2xx gives ""). */
const char *mc_status_kind(long status, int *retryable);
/* Full-jitter backoff for attempt n (1-based): uniform in [0, min(cap, base*2^(n-1))]. */
double mc_backoff(const mc_retry_policy *p, int attempt, uint64_t *rng);
/*
** Decide after an attempt. On a 429 the decision names the bucket hit and its
** reset (mc_budgets_hit) and waits until that reset + 0.1 s (resets are whole
** seconds, rounded down), 1 s when it has just passed, and when it is unknown
** a backoff on the waits so far, at least 1 s; it fails instead in fail mode,
** after max_rate_waits waits, or when the wait would exceed max_wait.
*/
mc_decision mc_decide(const mc_retry_policy *p, const mc_outcome *o, uint64_t *rng);
/*
** Before sending a request that counts against `bucket` (NULL: no budget):
** MC_ACT_DONE (send now), MC_ACT_PACE (sleep delay first: the budget is nearly
** spent), MC_ACT_WAIT (ratelimit_type is empty until reset_at: sleep delay
** first), or MC_ACT_FAIL (empty, and this call may not wait: rate_limited).
** mode and max_wait (< 0: the policy's) are this call's.
*/
mc_decision mc_admit(const mc_retry_policy *p, const mc_budgets *b, const char *bucket,
                     double now, mc_rate_mode mode, double max_wait);
/* xorshift64* step; *state must be non-zero. Returns a double in [0, 1). */
double mc_random(uint64_t *state);

#endif
