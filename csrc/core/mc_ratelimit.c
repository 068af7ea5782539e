/* mc_ratelimit.c — rate-limit budgets, pacing, and the reading of a 429. */
#include "mc_ratelimit.h"
#include "mc_defaults.h"
#include "mc_json.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const mc_budgets_header_names[] = {
  "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-ratelimit-type",
  "x-global-ratelimit-limit", "x-global-ratelimit-remaining", "x-global-ratelimit-reset",
  NULL
};

void mc_budgets_init(mc_budgets *b) {
  memset(b, 0, sizeof *b);
  b->pace_threshold = MC_DEFAULT_PACE_THRESHOLD;
  b->pace_max_delay = MC_DEFAULT_PACE_MAX_DELAY;
}

void mc_budgets_free(mc_budgets *b) {
  free(b->items);
  b->items = NULL;
  b->count = b->cap = 0;
}

mc_budget *mc_budgets_find(mc_budgets *b, const char *type) {
  size_t i;
  for (i = 0; i < b->count; i++)
    if (strcmp(b->items[i].type, type) == 0) return &b->items[i];
  return NULL;
}

int mc_budgets_set(mc_budgets *b, const char *type, long limit, long remaining, double reset) {
  mc_budget *e = mc_budgets_find(b, type);
  if (!e) {
    if (b->count == b->cap) {
      size_t ncap = b->cap ? b->cap * 2 : 8;
      mc_budget *ni = realloc(b->items, ncap * sizeof *ni);
      if (!ni) return -1;
      b->items = ni;
      b->cap = ncap;
    }
    e = &b->items[b->count++];
    memset(e, 0, sizeof *e);
    strncpy(e->type, type, sizeof e->type - 1);
  }
  e->limit = limit;
  e->remaining = remaining;
  e->reset = reset;
  return 0;
}

/* The largest limit/remaining accepted from a header: far above any real
** budget, exact in a double and in a 64-bit long (a 32-bit long: its max). */
#if LONG_MAX > 2147483647L
#define MC_RATE_COUNT_MAX 1e15
#else
#define MC_RATE_COUNT_MAX 2147483647.0
#endif

/* Parse a decimal header value; returns 1 on success. A value that is not a
** finite number in [0, max] is treated as absent (a hostile or broken server
** must not make the conversion to long undefined). Plain digits (what Sirv
** sends), up to 15 of them, are read directly: exact in a double, and the
** same value strtod gives; anything else goes through strtod. */
static int header_num(const char *v, double max, double *out) {
  char *end;
  double d = 0;
  const char *p = v;
  if (!v || !*v) return 0;
  while (*p >= '0' && *p <= '9' && p - v < 15) d = d * 10 + (*p++ - '0');
  if (*p != '\0') {
    d = strtod(v, &end);
    if (end == v || !isfinite(d)) return 0;
  }
  if (d < 0 || d > max) return 0;
  *out = d;
  return 1;
}

/* Read one family (its limit, remaining and reset values) into out. */
static int read_family(const char *lim, const char *rem, const char *rst, mc_budget *out) {
  double limit = -1, remaining = -1, reset = 0;
  int any = 0;
  any |= header_num(lim, MC_RATE_COUNT_MAX, &limit);
  any |= header_num(rem, MC_RATE_COUNT_MAX, &remaining);
  any |= header_num(rst, DBL_MAX, &reset);
  if (!any) return 0;
  out->limit = (long)limit;
  out->remaining = (long)remaining;
  out->reset = reset;
  return 1;
}

int mc_budgets_parse_values(const char *const values[MC_RATE_H_COUNT], mc_rate_observation *obs) {
  const char *type;
  memset(obs, 0, sizeof *obs);
  if (read_family(values[MC_RATE_H_GLOBAL_LIMIT], values[MC_RATE_H_GLOBAL_REMAINING],
                  values[MC_RATE_H_GLOBAL_RESET], &obs->global)) {
    obs->has_global = 1;
    strcpy(obs->global.type, MC_GLOBAL_BUCKET);
  }
  if (read_family(values[MC_RATE_H_LIMIT], values[MC_RATE_H_REMAINING], values[MC_RATE_H_RESET],
                  &obs->type)) {
    type = values[MC_RATE_H_TYPE];
    strncpy(obs->type.type, (type && *type) ? type : MC_GLOBAL_BUCKET, sizeof obs->type.type - 1);
    if (strcmp(obs->type.type, MC_GLOBAL_BUCKET) == 0 && !obs->has_global) {
      /* older responses: the X-RateLimit-* family describes the global bucket */
      obs->global = obs->type;
      obs->has_global = 1;
    } else {
      obs->has_type = 1;
    }
  }
  return obs->has_global || obs->has_type;
}

int mc_budgets_parse(const mc_headers *h, mc_rate_observation *obs) {
  const char *values[MC_RATE_H_COUNT];
  int i;
  for (i = 0; i < MC_RATE_H_COUNT; i++) values[i] = mc_headers_get(h, mc_budgets_header_names[i]);
  return mc_budgets_parse_values(values, obs);
}

int mc_budgets_apply(mc_budgets *b, const mc_rate_observation *obs) {
  if (obs->has_global &&
      mc_budgets_set(b, MC_GLOBAL_BUCKET, obs->global.limit, obs->global.remaining, obs->global.reset) < 0)
    return -1;
  if (obs->has_type &&
      mc_budgets_set(b, obs->type.type, obs->type.limit, obs->type.remaining, obs->type.reset) < 0)
    return -1;
  return 0;
}

int mc_budgets_observe(mc_budgets *b, const mc_headers *h, mc_rate_observation *obs) {
  if (!mc_budgets_parse(h, obs)) return 0;
  return mc_budgets_apply(b, obs) < 0 ? -1 : 1;
}

void mc_budgets_consume(mc_budgets *b, const char *type) {
  mc_budget *e = type ? mc_budgets_find(b, type) : NULL;
  mc_budget *g = mc_budgets_find(b, MC_GLOBAL_BUCKET);
  if (e && e->remaining > 0) e->remaining--;
  if (g && g != e && g->remaining > 0) g->remaining--;
}

/* Delay that one bucket asks for: blocked until reset, or a pacing spread. */
static double bucket_delay(const mc_budgets *b, const mc_budget *e, double now, int *blocked) {
  double left, d;
  if (!e || e->limit <= 0 || e->remaining < 0) return 0;
  left = e->reset - now;
  if (left <= 0) return 0; /* the window has reset: the budget is full again */
  if (e->remaining == 0) {
    *blocked = 1;
    return left;
  }
  if (b->pace_threshold <= 0 || (double)e->remaining > b->pace_threshold * (double)e->limit)
    return 0;
  /* spread what is left evenly over the rest of the window */
  d = left / (double)(e->remaining + 1);
  return d > b->pace_max_delay ? b->pace_max_delay : d;
}

double mc_budgets_delay(const mc_budgets *b, const char *type, double now,
                        int *blocked, const char **blocked_type, double *blocked_reset) {
  size_t i;
  double best = 0;
  *blocked = 0;
  *blocked_type = NULL;
  *blocked_reset = 0;
  for (i = 0; i < b->count; i++) {
    const mc_budget *e = &b->items[i];
    int blk = 0;
    double d;
    if (strcmp(e->type, MC_GLOBAL_BUCKET) != 0 && (!type || strcmp(e->type, type) != 0)) continue;
    d = bucket_delay(b, e, now, &blk);
    if (blk && (!*blocked || d > best)) {
      *blocked = 1;
      *blocked_type = e->type;
      *blocked_reset = e->reset;
      best = d;
    } else if (!*blocked && d > best) {
      best = d;
    }
  }
  return best;
}

void mc_budgets_copy_name(char *dst, const char *src) {
  size_t n = src ? strlen(src) : 0;
  if (n > MC_BUCKET_NAME_MAX - 1) n = MC_BUCKET_NAME_MAX - 1;
  if (n) memcpy(dst, src, n);
  dst[n] = '\0';
}

void mc_budgets_hit(const mc_rate_observation *obs, double retry_after, double stated_reset,
                    const char *bucket, double now, mc_limit_hit *hit) {
  const mc_budget *own = NULL, *glob = NULL, *h = NULL;
  memset(hit, 0, sizeof *hit);
  if (obs) {
    if (obs->has_type && strcmp(obs->type.type, MC_GLOBAL_BUCKET) != 0) own = &obs->type;
    if (obs->has_global) glob = &obs->global;
  }
  if (own && own->remaining == 0) h = own;
  else if (glob && glob->remaining == 0) h = glob;
  else if (own && glob) h = glob->reset > own->reset ? glob : own; /* a 429 although none reads empty */
  else h = own ? own : glob;
  if (h && h->reset > 0) {
    mc_budgets_copy_name(hit->type, h->type);
    hit->reset_at = h->reset;
    return;
  }
  mc_budgets_copy_name(hit->type, bucket);
  if (retry_after >= 0) hit->reset_at = now + retry_after;
  else if (stated_reset > 0) hit->reset_at = stated_reset;
}

int mc_budgets_body_reset(const char *body, size_t len, double *out) {
  char err[128];
  cJSON *doc, *r;
  int found = 0;
  if (!body || len == 0) return 0;
  doc = mc_json_parse(body, len, 0, err, sizeof err);
  if (!doc) return 0;
  r = cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, "reset") : NULL;
  if (cJSON_IsNumber(r) && isfinite(r->valuedouble)) {
    *out = r->valuedouble;
    found = 1;
  } else if (cJSON_IsString(r) && r->valuestring && *r->valuestring) {
    char *end;
    double d = strtod(r->valuestring, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (end != r->valuestring && *end == '\0' && isfinite(d)) {
      *out = d;
      found = 1;
    }
  }
  cJSON_Delete(doc);
  return found;
}
