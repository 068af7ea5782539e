/*
** mc_retry.h — what to do with an attempt's outcome: classify it into an
** error kind and decide done / retry after N s / re-authenticate / wait for
** the rate-limit reset / fail. Exponential backoff with full jitter, capped
** attempts and a total deadline. No clock, no sleeping: inputs come in.
*/
#ifndef MC_RETRY_H
#define MC_RETRY_H

#include <stdint.h>
#include "mc_http.h"

typedef enum mc_action {
  MC_ACT_DONE = 0,   /* success: hand the response over */
  MC_ACT_RETRY,      /* sleep delay, then send again */
  MC_ACT_REAUTH,     /* drop the token, fetch a new one, replay now */
  MC_ACT_WAIT,       /* rate limited: sleep delay (until reset), then send again */
  MC_ACT_FAIL        /* give up: return the error of this attempt */
} mc_action;

typedef struct mc_retry_policy {
  int attempts;        /* total attempts, >= 1 */
  double base;         /* first backoff ceiling, seconds */
  double cap;          /* max backoff ceiling, seconds */
  double deadline;     /* total seconds across attempts; 0 = none */
  int wait_rate_limit; /* 1: wait for the reset on 429; 0: fail fast */
  double max_wait;     /* never wait longer than this for a reset (seconds) */
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
  double reset_in;             /* 429: seconds until the bucket resets (<0 unknown) */
  int fail_fast;               /* this call must not wait out a 429, whatever the policy */
} mc_outcome;

typedef struct mc_decision {
  mc_action action;
  double delay;
  const char *kind;   /* error kind of this attempt ("" on success) */
  int retryable;      /* whether the error is of a retryable kind */
} mc_decision;

/* Fill p with the defaults of mc_defaults.h (MC_DEFAULT_RETRY_*, wait for
** rate-limit resets up to MC_DEFAULT_MAX_WAIT). */
void mc_retry_policy_init(mc_retry_policy *p);
/* Error kind and retryability of an HTTP status (2xx gives ""). */
const char *mc_status_kind(long status, int *retryable);
/* Full-jitter backoff for attempt n (1-based): uniform in [0, min(cap, base*2^(n-1))]. */
double mc_backoff(const mc_retry_policy *p, int attempt, uint64_t *rng);
mc_decision mc_decide(const mc_retry_policy *p, const mc_outcome *o, uint64_t *rng);
/* xorshift64* step; *state must be non-zero. Returns a double in [0, 1). */
double mc_random(uint64_t *state);

#endif
