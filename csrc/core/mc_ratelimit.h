/*
** mc_ratelimit.h — hourly rate-limit budgets, one per X-RateLimit-Type, and
** the pacing decision taken before each request. Pure bookkeeping: the caller
** passes the clock in and does any waiting itself.
*/
#ifndef MC_RATELIMIT_H
#define MC_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include "mc_http.h"

#define MC_GLOBAL_BUCKET "rest:global"
#define MC_BUCKET_NAME_MAX 64

typedef struct mc_budget {
  char type[MC_BUCKET_NAME_MAX];
  long limit;
  long remaining;
  double reset;      /* epoch seconds */
} mc_budget;

typedef struct mc_budgets {
  mc_budget *items;
  size_t count, cap;
  double pace_threshold;  /* start pacing when remaining <= threshold * limit */
  double pace_max_delay;  /* never pace longer than this (seconds) per request */
} mc_budgets;

/* What one response said (either header family may be missing). */
typedef struct mc_rate_observation {
  int has_type, has_global;
  mc_budget type;        /* X-RateLimit-* (its own bucket) */
  mc_budget global;      /* X-Global-RateLimit-* (or X-RateLimit-* of rest:global) */
} mc_rate_observation;

void mc_budgets_init(mc_budgets *b);
void mc_budgets_free(mc_budgets *b);
mc_budget *mc_budgets_find(mc_budgets *b, const char *type);
/* Create or update a bucket. Returns 0, -1 on OOM. */
int mc_budgets_set(mc_budgets *b, const char *type, long limit, long remaining, double reset);
/* Parse both header families and update the buckets; fills obs. Returns 1 if
** any rate header was present, 0 if none, -1 on OOM. */
int mc_budgets_observe(mc_budgets *b, const mc_headers *h, mc_rate_observation *obs);
/* Count one request about to be sent against a bucket (optimistic, so that
** concurrent callers pace before the next response arrives). */
void mc_budgets_consume(mc_budgets *b, const char *type);

/*
** Before sending a request that counts against `type` (and the global bucket):
** returns the seconds to wait. *blocked is set when a bucket is exhausted and
** its reset lies ahead (the wait is then until the reset, not a pacing delay);
** *blocked_type names that bucket.
*/
double mc_budgets_delay(const mc_budgets *b, const char *type, double now,
                        int *blocked, const char **blocked_type);

#endif
