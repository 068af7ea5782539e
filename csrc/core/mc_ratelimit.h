/*
** mc_ratelimit.h — hourly rate-limit budgets, one per X-RateLimit-Type, the
** pacing delay taken before each request, and the reading of a 429: which
** bucket it hit and when that bucket resets. Pure bookkeeping: the caller
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

/* Which bucket a 429 hit and when it resets. */
typedef struct mc_limit_hit {
  char type[MC_BUCKET_NAME_MAX];  /* the bucket; the request's own when no header names
                                     one ("" when the request has none) */
  double reset_at;                /* epoch seconds as stated (may be fractional); 0 unknown */
} mc_limit_hit;

/* The header names a response's rate limits are read from (lower case), in
** this order (NULL-terminated after MC_RATE_H_COUNT names). */
enum {
  MC_RATE_H_LIMIT, MC_RATE_H_REMAINING, MC_RATE_H_RESET, MC_RATE_H_TYPE,
  MC_RATE_H_GLOBAL_LIMIT, MC_RATE_H_GLOBAL_REMAINING, MC_RATE_H_GLOBAL_RESET,
  MC_RATE_H_COUNT
};
extern const char *const mc_budgets_header_names[];

/* Copy a bucket name (NULL: "") into a MC_BUCKET_NAME_MAX buffer, truncating. */
void mc_budgets_copy_name(char *dst, const char *src);
/* Initialise with the pacing defaults of mc_defaults.h. */
void mc_budgets_init(mc_budgets *b);
void mc_budgets_free(mc_budgets *b);
mc_budget *mc_budgets_find(mc_budgets *b, const char *type);
/* Create or update a bucket. Returns 0, -1 on OOM. */
int mc_budgets_set(mc_budgets *b, const char *type, long limit, long remaining, double reset);
/* Parse both header families into obs without touching any budget. Returns 1
** if any rate header was present, else 0. */
int mc_budgets_parse(const mc_headers *h, mc_rate_observation *obs);
/* The same from the values already looked up: values[i] is the value of
** mc_budgets_header_names[i] (NULL when absent), i < MC_RATE_H_COUNT. For a
** caller that holds the headers in its own table (the binding): no lookup. */
int mc_budgets_parse_values(const char *const values[MC_RATE_H_COUNT], mc_rate_observation *obs);
/* Update the buckets from an observation. Returns 0, -1 on OOM. */
int mc_budgets_apply(mc_budgets *b, const mc_rate_observation *obs);
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
** *blocked_type names that bucket and *blocked_reset gives its reset time.
*/
double mc_budgets_delay(const mc_budgets *b, const char *type, double now,
                        int *blocked, const char **blocked_type, double *blocked_reset);

/*
** Read a 429: the bucket it hit is the request's own bucket when that one
** reads empty, else the global one; when neither reads empty, the one that
** resets later. Without a reset in the headers, Retry-After (seconds from
** now; < 0 when absent) and then stated_reset (a reset time stated elsewhere,
** e.g. the body's `reset` field; <= 0 when absent) say when. `bucket` names
** the request's own bucket (may be NULL) for a hit no header names.
*/
void mc_budgets_hit(const mc_rate_observation *obs, double retry_after, double stated_reset,
                    const char *bucket, double now, mc_limit_hit *hit);

/* The numeric `reset` field of a JSON object body (a number or a numeric
** string). body must be NUL-terminated at body[len]. Returns 1 and sets *out,
** or 0 when there is none or it is not finite. */
int mc_budgets_body_reset(const char *body, size_t len, double *out);

#endif
