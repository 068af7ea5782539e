/*
** mc_lua_policy.c — binding of the sans-I/O policy core: the mediacdn.Policy
** userdata (rate-limit budgets + retry decisions). The logic and the
** defaults live in csrc/core (mc_ratelimit, mc_retry, mc_defaults.h); this
** file converts values.
*/
#include "mc_lua.h"
#include "mc_ratelimit.h"
#include "mc_retry.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
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

/* Registry key (its address) of the mediacdn.Policy metatable, so that the
** per-call check compares metatables without looking its name up. */
static const char l_policy_mt_key = 0;

/* The open policy at index 1 (raises as mc_lua_handle_check does). */
static lpolicy *check_policy(lua_State *L) {
  lpolicy *p = (lpolicy *)lua_touserdata(L, 1);
  if (p && lua_getmetatable(L, 1)) {
    int same;
    lua_pushlightuserdata(L, (void *)&l_policy_mt_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (same && p->h.open) return p;
  }
  return (lpolicy *)mc_lua_handle_check(L, 1, &l_policy_class); /* raises the usual error */
}

/* A numeric field of an outcome table (any real number). */
static double opt_field_real(lua_State *L, int t, const char *k, double def) {
  double v;
  lua_getfield(L, t, k);
  v = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : def;
  lua_pop(L, 1);
  return v != v ? def : v;
}

/* An outcome field that becomes an int or a long: clamped to [lo, hi] (an
** out-of-range double converted as is would be undefined behaviour). */
static double opt_field_clamped(lua_State *L, int t, const char *k, double def, double lo, double hi) {
  double v = opt_field_real(L, t, k, def);
  return v < lo ? lo : v > hi ? hi : v;
}

/* A count from a server (getAccountLimits): -1 (unknown) unless a finite
** number in [0, 1e15], as for the X-RateLimit-* headers. */
static long server_count(double v) {
  return (isfinite(v) && v >= 0 && v <= 1e15) ? (long)v : -1;
}

/* An integer option in [0, max]; raises naming the option (a larger double
** converted to int would be undefined behaviour). */
static double opt_field_count(lua_State *L, int t, const char *k, double def, double max) {
  double v;
  lua_getfield(L, t, k);
  if (lua_isnil(L, -1)) v = def;
  else if (lua_type(L, -1) != LUA_TNUMBER) {
    luaL_error(L, "policy option '%s' must be a number", k);
    v = def;
  } else {
    v = lua_tonumber(L, -1);
    if (!(v >= 0 && v <= max)) {
      char top[32];
      snprintf(top, sizeof top, "%.0f", max); /* lua_pushfstring has no %.0f */
      luaL_error(L, "policy option '%s' must be a number from 0 to %s", k, top);
    }
  }
  lua_pop(L, 1);
  return v;
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

static int opt_field_bool(lua_State *L, int t, const char *k) {
  int v;
  lua_getfield(L, t, k);
  v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* A per-call rate-limit mode: field rate_limit ("wait" | "fail"), or
** fail_fast = true; MC_RATE_POLICY when neither is set. */
static mc_rate_mode opt_rate_mode(lua_State *L, int t) {
  const char *m;
  mc_rate_mode mode = MC_RATE_POLICY;
  lua_getfield(L, t, "rate_limit");
  m = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  if (m && strcmp(m, "wait") == 0) mode = MC_RATE_WAIT;
  else if (m && strcmp(m, "fail") == 0) mode = MC_RATE_FAIL;
  else if (!lua_isnil(L, -1)) luaL_error(L, "field 'rate_limit' must be \"wait\" or \"fail\"");
  lua_pop(L, 1);
  if (opt_field_bool(L, t, "fail_fast")) mode = MC_RATE_FAIL;
  return mode;
}

/* core.policy{attempts, base, cap, deadline, rate_limit, max_wait, max_rate_waits,
** pace_threshold, pace_max_delay, seed}; nil fields take mc_defaults.h's values. */
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
  p->retry.attempts = (int)opt_field_count(L, 1, "attempts", p->retry.attempts, INT_MAX);
  if (p->retry.attempts < 1) p->retry.attempts = 1;
  p->retry.base = opt_field_num(L, 1, "base", p->retry.base);
  p->retry.cap = opt_field_num(L, 1, "cap", p->retry.cap);
  p->retry.deadline = opt_field_num(L, 1, "deadline", p->retry.deadline);
  p->retry.max_wait = opt_field_num(L, 1, "max_wait", p->retry.max_wait);
  p->retry.max_rate_waits = (int)opt_field_count(L, 1, "max_rate_waits", p->retry.max_rate_waits, INT_MAX);
  p->budgets.pace_threshold = opt_field_num(L, 1, "pace_threshold", p->budgets.pace_threshold);
  p->budgets.pace_max_delay = opt_field_num(L, 1, "pace_max_delay", p->budgets.pace_max_delay);
  lua_getfield(L, 1, "rate_limit");
  mode = lua_isnil(L, -1) ? "wait" : lua_tostring(L, -1);
  if (!mode || (strcmp(mode, "wait") != 0 && strcmp(mode, "fail") != 0))
    return luaL_error(L, "policy option 'rate_limit' must be \"wait\" or \"fail\"");
  p->retry.wait_rate_limit = strcmp(mode, "wait") == 0;
  lua_pop(L, 1);
  p->rng = (uint64_t)opt_field_count(L, 1, "seed", 0, 9007199254740992.0);
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

/* Registry key of the list of mc_budgets_header_names as Lua strings, made
** once per Lua state: the per-response lookups then hash no C string. */
static const char l_policy_names_key = 0;

/* Push the list of rate-limit header names (created on first use). */
static void push_rate_names(lua_State *L) {
  int i;
  lua_pushlightuserdata(L, (void *)&l_policy_names_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  if (lua_istable(L, -1)) return;
  lua_pop(L, 1);
  lua_createtable(L, MC_RATE_H_COUNT, 0);
  for (i = 0; i < MC_RATE_H_COUNT; i++) {
    lua_pushstring(L, mc_budgets_header_names[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushlightuserdata(L, (void *)&l_policy_names_key);
  lua_pushvalue(L, -2);
  lua_rawset(L, LUA_REGISTRYINDEX);
}

/*
** Read the known rate-limit headers (mc_budgets_header_names) of the header
** table at index t into obs: each name looked up once in the table, the
** values borrowed from the Lua strings (kept on the stack until parsed): no
** copy and no allocation, so nothing can leak if a Lua call raised. Returns 1
** when any was present, 0 when none. Leaves the header values on the stack
** above the list of names (the caller's top + 1 + i + 1 is the value of name
** i), the caller restores its top.
*/
static int parse_rate_headers(lua_State *L, int t, mc_rate_observation *obs) {
  const char *values[MC_RATE_H_COUNT];
  int i, names, any = 0;
  luaL_checkstack(L, MC_RATE_H_COUNT + 2, "rate-limit headers");
  push_rate_names(L);
  names = lua_gettop(L);
  for (i = 0; i < MC_RATE_H_COUNT; i++) {
    lua_rawgeti(L, names, i + 1);
    lua_rawget(L, t);
    if (lua_type(L, -1) == LUA_TSTRING) {
      values[i] = lua_tostring(L, -1); /* on the stack */
      any = 1;
    } else {
      values[i] = NULL;
    }
  }
  if (!any) {
    memset(obs, 0, sizeof *obs);
    return 0;
  }
  return mc_budgets_parse_values(values, obs);
}

/* Read the rate headers of the table at 2 into obs and update the budgets;
** 0 when the response carried none. The header values stay on the stack
** (from index 4 + MC_RATE_H_*). */
static int observe_apply(lua_State *L, lpolicy *p, mc_rate_observation *obs) {
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  if (!parse_rate_headers(L, 2, obs)) return 0; /* (copies what it keeps) */
  if (mc_budgets_apply(&p->budgets, obs) < 0) luaL_error(L, "out of memory");
  return 1;
}

/* p:observe(headers) -> {type=,limit=,remaining=,reset=, global={...}} | nil */
static int l_policy_observe(lua_State *L) {
  lpolicy *p = check_policy(L);
  mc_rate_observation obs;
  if (!observe_apply(L, p, &obs)) {
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

/*
** p:observe_type(headers) -> type | nil
** observe without the tables: the budgets are updated alike, and only the
** bucket the response counted against (observe's .type) comes back. For the
** engine's per-response path when no event sink wants the figures.
*/
static int l_policy_observe_type(lua_State *L) {
  lpolicy *p = check_policy(L);
  mc_rate_observation obs;
  const char *type;
  if (!observe_apply(L, p, &obs)) {
    lua_pushnil(L);
    return 1;
  }
  type = obs.has_type ? obs.type.type : obs.global.type;
  /* the X-RateLimit-Type value itself when that is the name (most answers;
  ** then no new string is made), else the name as the core holds it */
  if (lua_type(L, 4 + MC_RATE_H_TYPE) == LUA_TSTRING && strcmp(lua_tostring(L, 4 + MC_RATE_H_TYPE), type) == 0)
    lua_pushvalue(L, 4 + MC_RATE_H_TYPE);
  else
    lua_pushstring(L, type);
  return 1;
}

/* p:seed(limits) — limits as returned by getAccountLimits */
static int l_policy_seed(lua_State *L) {
  lpolicy *p = check_policy(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, 2) != 0) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TTABLE) {
      /* server data: a number out of range is unknown, never converted as is */
      long limit = server_count(opt_field_real(L, lua_gettop(L), "limit", -1));
      long remaining = server_count(opt_field_real(L, lua_gettop(L), "remaining", -1));
      double reset = opt_field_real(L, lua_gettop(L), "reset", 0);
      if (!isfinite(reset) || reset < 0) reset = 0;
      if (mc_budgets_set(&p->budgets, lua_tostring(L, -2), limit, remaining, reset) < 0)
        return luaL_error(L, "out of memory");
    }
    lua_pop(L, 1);
  }
  return 0;
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
    case MC_ACT_PACE: return "pace";
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

/* Push a decision's rate-limit fields: reset_at (nil when unknown), ratelimit_type (nil when none). */
static void push_rate_fields(lua_State *L, const mc_decision *d) {
  if (d->reset_at > 0) lua_pushnumber(L, d->reset_at);
  else lua_pushnil(L);
  if (d->ratelimit_type[0]) lua_pushstring(L, d->ratelimit_type);
  else lua_pushnil(L);
}

/* A 429's inputs: the rate headers, Retry-After, and the body's reset field. */
static void read_limit_inputs(lua_State *L, int t, mc_outcome *o) {
  lua_getfield(L, t, "headers");
  if (lua_type(L, -1) == LUA_TTABLE) {
    int hidx = lua_gettop(L);
    parse_rate_headers(L, hidx, &o->rate); /* (copies what it keeps) */
    lua_settop(L, hidx);
    lua_getfield(L, hidx, "retry-after");
    if (lua_type(L, -1) == LUA_TSTRING) {
      const char *v = lua_tostring(L, -1);
      char *end;
      double ra = strtod(v, &end);
      while (*end == ' ' || *end == '\t') end++;
      if (end != v && *end == '\0' && ra >= 0 && isfinite(ra)) o->retry_after = ra;
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (o->stated_reset > 0) return;
  lua_getfield(L, t, "body");
  if (lua_type(L, -1) == LUA_TSTRING) {
    size_t len;
    const char *body = lua_tolstring(L, -1, &len);
    double r;
    if (mc_budgets_body_reset(body, len, &r)) o->stated_reset = r;
  }
  lua_pop(L, 1);
}

/*
** p:decide{status, terr, nothing_sent, idempotent, reauthed, attempt, elapsed,
**          now, waits, bucket, headers, body, reset_at, rate_limit, fail_fast, max_wait}
** -> action, delay, kind, retryable, reset_at, ratelimit_type
** action: "done" | "retry" | "reauth" | "wait" | "fail". On a 429, headers/body
** are the response's and reset_at a reset known from elsewhere (an error's).
*/
static int l_policy_decide(lua_State *L) {
  lpolicy *p = check_policy(L);
  mc_outcome o;
  mc_decision d;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  mc_outcome_init(&o);
  o.status = (long)opt_field_clamped(L, 2, "status", 0, 0, 999);
  lua_getfield(L, 2, "terr");
  o.terr = terr_from_name(lua_tostring(L, -1));
  lua_pop(L, 1);
  o.nothing_sent = opt_field_bool(L, 2, "nothing_sent");
  o.idempotent = opt_field_bool(L, 2, "idempotent");
  o.reauthed = opt_field_bool(L, 2, "reauthed");
  o.attempt = (int)opt_field_clamped(L, 2, "attempt", 1, 1, INT_MAX);
  o.elapsed = opt_field_real(L, 2, "elapsed", 0);
  o.now = opt_field_real(L, 2, "now", 0);
  o.waits = (int)opt_field_clamped(L, 2, "waits", 0, 0, INT_MAX);
  o.max_wait = opt_field_real(L, 2, "max_wait", -1);
  o.stated_reset = opt_field_real(L, 2, "reset_at", 0);
  o.rate_mode = opt_rate_mode(L, 2);
  lua_getfield(L, 2, "bucket"); /* stays at index 3 while o.bucket points into it */
  o.bucket = lua_type(L, 3) == LUA_TSTRING ? lua_tostring(L, 3) : NULL;
  if (o.status == 429) read_limit_inputs(L, 2, &o);
  d = mc_decide(&p->retry, &o, &p->rng);
  lua_pushstring(L, action_name(d.action));
  lua_pushnumber(L, d.delay);
  lua_pushstring(L, d.kind);
  lua_pushboolean(L, d.retryable);
  push_rate_fields(L, &d);
  return 6;
}

/*
** p:admit(bucket, now [, {rate_limit=, max_wait=, consume=}])
** p:admit(bucket, now, rate_limit, max_wait, consume)
** -> action, delay, ratelimit_type, reset_at
** Before sending: "send" now, "pace" (sleep delay, then send), "wait" (the
** bucket ratelimit_type is empty until reset_at: sleep delay, then send), or
** "fail" (empty, and this call may not wait: rate_limited). With consume =
** true a request that will go (any action but "fail") is also counted
** against bucket as p:consume(bucket) would: one call instead of two. The
** options come in a table or as arguments 4-6 (rate_limit "wait" | "fail" |
** nil, max_wait a number | nil, consume): the engine's per-attempt form, which
** reads no table field.
*/
static int l_policy_admit(lua_State *L) {
  lpolicy *p = check_policy(L);
  const char *bucket = luaL_optstring(L, 2, NULL);
  double now = luaL_checknumber(L, 3);
  mc_rate_mode mode = MC_RATE_POLICY;
  double max_wait = -1;
  int consume = 0;
  mc_decision d;
  if (lua_type(L, 4) == LUA_TTABLE) {
    mode = opt_rate_mode(L, 4);
    max_wait = opt_field_real(L, 4, "max_wait", -1);
    consume = opt_field_bool(L, 4, "consume");
  } else {
    if (!lua_isnoneornil(L, 4)) {
      const char *m = lua_type(L, 4) == LUA_TSTRING ? lua_tostring(L, 4) : NULL;
      if (m && strcmp(m, "wait") == 0) mode = MC_RATE_WAIT;
      else if (m && strcmp(m, "fail") == 0) mode = MC_RATE_FAIL;
      else return luaL_argerror(L, 4, "must be a table of options, \"wait\", \"fail\" or nil");
    }
    if (lua_type(L, 5) == LUA_TNUMBER) {
      max_wait = lua_tonumber(L, 5);
      if (max_wait != max_wait) max_wait = -1; /* NaN: as an absent field */
    } else if (!lua_isnoneornil(L, 5)) {
      return luaL_argerror(L, 5, "max_wait must be a number or nil");
    }
    consume = lua_toboolean(L, 6);
  }
  d = mc_admit(&p->retry, &p->budgets, bucket, now, mode, max_wait);
  if (consume && bucket && d.action != MC_ACT_FAIL) mc_budgets_consume(&p->budgets, bucket);
  lua_pushstring(L, d.action == MC_ACT_DONE ? "send" : action_name(d.action));
  lua_pushnumber(L, d.delay);
  if (d.ratelimit_type[0]) lua_pushstring(L, d.ratelimit_type);
  else lua_pushnil(L);
  if (d.reset_at > 0) lua_pushnumber(L, d.reset_at);
  else lua_pushnil(L);
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

/* close / __gc / __close (through mc_lua_class): free the budgets. */
static void l_policy_release(lua_State *L, void *ud) {
  lpolicy *p = (lpolicy *)ud;
  (void)L;
  mc_budgets_free(&p->budgets);
}

static const luaL_Reg l_policy_methods[] = {
  {"observe", l_policy_observe},
  {"observe_type", l_policy_observe_type},
  {"seed", l_policy_seed},
  {"admit", l_policy_admit},
  {"consume", l_policy_consume},
  {"decide", l_policy_decide},
  {"budget", l_policy_budget},
  {"budgets", l_policy_budgets},
  {NULL, NULL}
};

static const mc_lua_class l_policy_class = {"mediacdn.Policy", l_policy_methods, l_policy_release};

void mc_lua_register_policy(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"policy", l_policy_new},
    {NULL, NULL}
  };
  mc_lua_class_register(L, &l_policy_class);
  lua_pushlightuserdata(L, (void *)&l_policy_mt_key);
  luaL_getmetatable(L, l_policy_class.name);
  lua_rawset(L, LUA_REGISTRYINDEX);
  luaL_setfuncs(L, fns, 0);
}
