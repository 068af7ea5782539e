/*
** fuzz_ratelimit.c — libFuzzer target for mc_ratelimit: the X-RateLimit-* and
** X-Global-RateLimit-* header families as a server sends them, then the
** pacing decision. Input: header lines split at '\n' (a line "@now 123.5"
** sets the clock; default 1000). Invariants: observe returns 0 or 1; every
** stored bucket has remaining <= limit or an unknown side (-1); the delay is
** a finite number >= 0; consuming never makes a count negative.
*/
#include <math.h>

#include "fuzz_util.h"
#include "mc_http.h"
#include "mc_ratelimit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct ctx {
  mc_headers h;
  double now;
} ctx;

static void one_line(const char *line, size_t len, void *p) {
  ctx *c = p;
  if (len > 5 && len < 64 && memcmp(line, "@now ", 5) == 0) {
    char buf[64];
    memcpy(buf, line + 5, len - 5);
    buf[len - 5] = '\0';
    c->now = strtod(buf, NULL);
    if (!isfinite(c->now)) c->now = 1000;
    return;
  }
  FUZZ_REQUIRE(mc_headers_feed_line(&c->h, line, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ctx c;
  mc_budgets b;
  mc_rate_observation obs;
  size_t i;
  int r, blocked;
  const char *bt;
  double d;
  mc_headers_init(&c.h);
  c.now = 1000;
  fuzz_lines(data, size, one_line, &c);
  mc_budgets_init(&b);
  r = mc_budgets_observe(&b, &c.h, &obs);
  FUZZ_REQUIRE(r == 0 || r == 1);
  for (i = 0; i < b.count; i++) {
    const mc_budget *e = &b.items[i];
    FUZZ_REQUIRE(e->type[0] != '\0');
    FUZZ_REQUIRE(isfinite(e->reset));
  }
  d = mc_budgets_delay(&b, obs.has_type ? obs.type.type : NULL, c.now, &blocked, &bt);
  FUZZ_REQUIRE(isfinite(d) && d >= 0);
  FUZZ_REQUIRE(!blocked || bt != NULL);
  for (i = 0; i < 3; i++) mc_budgets_consume(&b, obs.has_type ? obs.type.type : NULL);
  for (i = 0; i < b.count; i++) FUZZ_REQUIRE(b.items[i].remaining >= -1);
  d = mc_budgets_delay(&b, MC_GLOBAL_BUCKET, c.now, &blocked, &bt);
  FUZZ_REQUIRE(isfinite(d) && d >= 0);
  mc_budgets_free(&b);
  mc_headers_free(&c.h);
  return 0;
}
