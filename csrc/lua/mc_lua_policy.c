/*
** mc_lua_policy.c — binding of the sans-I/O policy core: the mediacdn.Policy
** userdata (rate-limit budgets + retry decisions). The logic and the
** defaults live in csrc/core (mc_ratelimit, mc_retry, mc_defaults.h); this
** file converts values.
*/
#include "mc_lua.h"
#include "mc_ratelimit.h"
#include "mc_retry.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct lpolicy {
  mc_lua_handle h;   /* first: the binding's handle header */
  mc_budgets budgets;
  mc_retry_policy retry;
  uint64_t rng;
} lpolicy;

/* ---- Policy userdata --------------------------------------------------- */

static const mc_lua_class l_policy_class; /* defined below its methods */

static lpolicy *check_policy(lua_State *L) {
  return (lpolicy *)mc_lua_handle_check(L, 1, &l_policy_class);
}

/* A numeric field of an outcome table (any real number). */
static double opt_field_real(lua_State *L, int t, const char *k, double def) {
  double v;
  lua_getfield(L, t, k);
  v = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : def;
  lua_pop(L, 1);
  return v != v ? def : v;
}

/* A numeric option; NaN and negative values are misuse (they would wrap when cast). */
static double opt_field_num(lua_State *L, int t, const char *k, double def) {
  double v;
  lua_getfield(L, t, k);
  if (lua_isnil(L, -1)) v = def;
  else if (lua_type(L, -1) != LUA_TNUMBER) {
    luaL_error(L, "policy option '%s' must be a number", k);
    v = def;
  } else {
    v = lua_tonumber(L, -1);
    if (v != v || v < 0) luaL_error(L, "policy option '%s' must be a non-negative number", k);
  }
  lua_pop(L, 1);
  return v;
}

/* core.policy{attempts, base, cap, deadline, rate_limit, max_wait, pace_threshold, pace_max_delay, seed} */
static int l_policy_new(lua_State *L) {
  lpolicy *p;
  const char *mode;
  lua_settop(L, 1);
  if (lua_isnil(L, 1)) {
    lua_newtable(L);
    lua_replace(L, 1);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  p = (lpolicy *)mc_lua_handle_new(L, &l_policy_class, sizeof *p);
  mc_budgets_init(&p->budgets);
  mc_retry_policy_init(&p->retry);
  p->h.open = 1;
  /* nil options keep the defaults mc_budgets_init/mc_retry_policy_init set */
  p->retry.attempts = (int)opt_field_num(L, 1, "attempts", p->retry.attempts);
  if (p->retry.attempts < 1) p->retry.attempts = 1;
  p->retry.base = opt_field_num(L, 1, "base", p->retry.base);
  p->retry.cap = opt_field_num(L, 1, "cap", p->retry.cap);
  p->retry.deadline = opt_field_num(L, 1, "deadline", p->retry.deadline);
  p->retry.max_wait = opt_field_num(L, 1, "max_wait", p->retry.max_wait);
  p->budgets.pace_threshold = opt_field_num(L, 1, "pace_threshold", p->budgets.pace_threshold);
  p->budgets.pace_max_delay = opt_field_num(L, 1, "pace_max_delay", p->budgets.pace_max_delay);
  lua_getfield(L, 1, "rate_limit");
  mode = lua_isnil(L, -1) ? "wait" : lua_tostring(L, -1);
  if (!mode || (strcmp(mode, "wait") != 0 && strcmp(mode, "fail") != 0))
    return luaL_error(L, "policy option 'rate_limit' must be \"wait\" or \"fail\"");
  p->retry.wait_rate_limit = strcmp(mode, "wait") == 0;
  lua_pop(L, 1);
  p->rng = (uint64_t)opt_field_num(L, 1, "seed", 0);
  if (p->rng == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    p->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)p;
    if (p->rng == 0) p->rng = 1;
  }
  return 1;
}

static void push_budget(lua_State *L, const mc_budget *b) {
  lua_createtable(L, 0, 4);
  lua_pushstring(L, b->type);
  lua_setfield(L, -2, "type");
  mc_pushint(L, b->limit);
  lua_setfield(L, -2, "limit");
  mc_pushint(L, b->remaining);
  lua_setfield(L, -2, "remaining");
  lua_pushnumber(L, b->reset);
  lua_setfield(L, -2, "reset");
}

/* p:observe(headers) -> {type=,limit=,remaining=,reset=, global={...}} | nil */
static int l_policy_observe(lua_State *L) {
  lpolicy *p = check_policy(L);
  mc_headers h;
  mc_rate_observation obs;
  int r;
  luaL_checktype(L, 2, LUA_TTABLE);
  mc_headers_init(&h);
  lua_pushnil(L);
  while (lua_next(L, 2) != 0) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING) {
      size_t nl, vl;
      const char *n = lua_tolstring(L, -2, &nl);
      const char *v = lua_tolstring(L, -1, &vl);
      if (nl < 40 && strstr(n, "atelimit") && mc_headers_add(&h, n, nl, v, vl) < 0) {
        mc_headers_free(&h);
        return luaL_error(L, "out of memory");
      }
    }
    lua_pop(L, 1);
  }
  r = mc_budgets_observe(&p->budgets, &h, &obs);
  mc_headers_free(&h);
  if (r < 0) return luaL_error(L, "out of memory");
  if (r == 0) {
    lua_pushnil(L);
    return 1;
  }
  if (obs.has_type) push_budget(L, &obs.type);
  else push_budget(L, &obs.global);
  if (obs.has_global) {
    push_budget(L, &obs.global);
    lua_setfield(L, -2, "global");
  }
  return 1;
}

/* p:seed(limits) — limits as returned by getAccountLimits */
static int l_policy_seed(lua_State *L) {
  lpolicy *p = check_policy(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, 2) != 0) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TTABLE) {
      double limit = opt_field_real(L, lua_gettop(L), "limit", -1);
      double remaining = opt_field_real(L, lua_gettop(L), "remaining", -1);
      double reset = opt_field_real(L, lua_gettop(L), "reset", 0);
      if (mc_budgets_set(&p->budgets, lua_tostring(L, -2), (long)limit, (long)remaining, reset) < 0)
        return luaL_error(L, "out of memory");
    }
    lua_pop(L, 1);
  }
  return 0;
}

/* p:delay(type, now) -> seconds, blocked_type|nil */
static int l_policy_delay(lua_State *L) {
  lpolicy *p = check_policy(L);
  const char *type = luaL_optstring(L, 2, NULL);
  double now = luaL_checknumber(L, 3);
  int blocked = 0;
  const char *btype = NULL;
  double d = mc_budgets_delay(&p->budgets, type, now, &blocked, &btype);
  lua_pushnumber(L, d);
  if (blocked) lua_pushstring(L, btype);
  else lua_pushnil(L);
  return 2;
}

static int l_policy_consume(lua_State *L) {
  lpolicy *p = check_policy(L);
  mc_budgets_consume(&p->budgets, luaL_optstring(L, 2, NULL));
  return 0;
}

static const char *action_name(mc_action a) {
  switch (a) {
    case MC_ACT_DONE: return "done";
    case MC_ACT_RETRY: return "retry";
    case MC_ACT_REAUTH: return "reauth";
    case MC_ACT_WAIT: return "wait";
    default: return "fail";
  }
}

static mc_transport_kind terr_from_name(const char *s) {
  if (!s) return MC_TERR_NONE;
  if (strcmp(s, "timeout") == 0) return MC_TERR_TIMEOUT;
  if (strcmp(s, "transient") == 0) return MC_TERR_TRANSIENT;
  if (strcmp(s, "protocol") == 0) return MC_TERR_PROTOCOL;
  return MC_TERR_LOCAL;
}

static int opt_field_bool(lua_State *L, int t, const char *k) {
  int v;
  lua_getfield(L, t, k);
  v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* p:decide{status, terr, nothing_sent, idempotent, reauthed, attempt, elapsed, reset_in}
** -> action, delay, kind, retryable */
static int l_policy_decide(lua_State *L) {
  lpolicy *p = check_policy(L);
  mc_outcome o;
  mc_decision d;
  luaL_checktype(L, 2, LUA_TTABLE);
  memset(&o, 0, sizeof o);
  o.status = (long)opt_field_real(L, 2, "status", 0);
  lua_getfield(L, 2, "terr");
  o.terr = terr_from_name(lua_tostring(L, -1));
  lua_pop(L, 1);
  o.nothing_sent = opt_field_bool(L, 2, "nothing_sent");
  o.idempotent = opt_field_bool(L, 2, "idempotent");
  o.reauthed = opt_field_bool(L, 2, "reauthed");
  o.attempt = (int)opt_field_real(L, 2, "attempt", 1);
  o.elapsed = opt_field_real(L, 2, "elapsed", 0);
  o.reset_in = opt_field_real(L, 2, "reset_in", -1);
  o.fail_fast = opt_field_bool(L, 2, "fail_fast");
  d = mc_decide(&p->retry, &o, &p->rng);
  lua_pushstring(L, action_name(d.action));
  lua_pushnumber(L, d.delay);
  lua_pushstring(L, d.kind);
  lua_pushboolean(L, d.retryable);
  return 4;
}

/* p:budget(type) -> {type, limit, remaining, reset} | nil */
static int l_policy_budget(lua_State *L) {
  lpolicy *p = check_policy(L);
  const mc_budget *b = mc_budgets_find(&p->budgets, luaL_checkstring(L, 2));
  if (!b) lua_pushnil(L);
  else push_budget(L, b);
  return 1;
}

static int l_policy_budgets(lua_State *L) {
  lpolicy *p = check_policy(L);
  size_t i;
  lua_createtable(L, 0, (int)p->budgets.count);
  for (i = 0; i < p->budgets.count; i++) {
    push_budget(L, &p->budgets.items[i]);
    lua_setfield(L, -2, p->budgets.items[i].type);
  }
  return 1;
}

static int l_policy_backoff(lua_State *L) {
  lpolicy *p = check_policy(L);
  lua_pushnumber(L, mc_backoff(&p->retry, (int)luaL_checkinteger(L, 2), &p->rng));
  return 1;
}

/* close / __gc / __close (through mc_lua_class): free the budgets. */
static void l_policy_release(lua_State *L, void *ud) {
  lpolicy *p = (lpolicy *)ud;
  (void)L;
  mc_budgets_free(&p->budgets);
}

static const luaL_Reg l_policy_methods[] = {
  {"observe", l_policy_observe},
  {"seed", l_policy_seed},
  {"delay", l_policy_delay},
  {"consume", l_policy_consume},
  {"decide", l_policy_decide},
  {"budget", l_policy_budget},
  {"budgets", l_policy_budgets},
  {"backoff", l_policy_backoff},
  {NULL, NULL}
};

static const mc_lua_class l_policy_class = {"mediacdn.Policy", l_policy_methods, l_policy_release};

void mc_lua_register_policy(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"policy", l_policy_new},
    {NULL, NULL}
  };
  mc_lua_class_register(L, &l_policy_class);
  luaL_setfuncs(L, fns, 0);
}
