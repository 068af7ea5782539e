/*
** mc_lua_policy.c — binding of the sans-I/O policy core: percent-encoding,
** hashing/base64, and the mediacdn.Policy userdata (rate-limit budgets +
** retry decisions). The logic lives in csrc/core; this file converts values.
*/
#include "mc_lua.h"
#include "mc_crypto.h"
#include "mc_ratelimit.h"
#include "mc_retry.h"
#include "mc_url.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLICY_MT "mediacdn.Policy"

typedef struct lpolicy {
  int open;
  mc_budgets budgets;
  mc_retry_policy retry;
  uint64_t rng;
} lpolicy;

/* ---- small functions --------------------------------------------------- */

/* Scratch memory owned by a userdata on the stack (freed by the GC, so a
** raise cannot leak it; works on 5.1/LuaJIT which lack luaL_buffinitsize). */
static char *scratch(lua_State *L, size_t size) {
  return (char *)lua_newuserdata(L, size ? size : 1);
}

/* Push n bytes of the scratch at the top, replacing it. */
static void push_scratch(lua_State *L, const char *p, size_t n) {
  lua_pushlstring(L, p, n);
  lua_remove(L, -2);
}

static int l_url_escape(lua_State *L) {
  size_t len, need;
  const char *s = luaL_checklstring(L, 1, &len);
  char *out;
  need = len * 3 + 1;
  out = scratch(L, need);
  need = mc_url_escape(s, len, out, need);
  push_scratch(L, out, need);
  return 1;
}

static int l_sha256_hex(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  unsigned char d[MC_SHA256_LEN];
  char hex[2 * MC_SHA256_LEN + 1];
  if (mc_sha256(s, len, d) != 0) return luaL_error(L, "sha256 failed");
  mc_hex(d, sizeof d, hex);
  lua_pushstring(L, hex);
  return 1;
}

/* hmac_sha256(key, msg [, "hex"]) -> raw 32 bytes, or hex */
static int l_hmac_sha256(lua_State *L) {
  size_t klen, mlen;
  const char *k = luaL_checklstring(L, 1, &klen);
  const char *m = luaL_checklstring(L, 2, &mlen);
  const char *fmt = luaL_optstring(L, 3, "raw");
  unsigned char d[MC_SHA256_LEN];
  if (mc_hmac_sha256(k, klen, m, mlen, d) != 0) return luaL_error(L, "hmac-sha256 failed");
  if (strcmp(fmt, "hex") == 0) {
    char hex[2 * MC_SHA256_LEN + 1];
    mc_hex(d, sizeof d, hex);
    lua_pushstring(L, hex);
  } else {
    lua_pushlstring(L, (const char *)d, sizeof d);
  }
  return 1;
}

/* base64_encode(s [, url]) */
static int l_base64_encode(lua_State *L) {
  size_t len, n;
  const char *s = luaL_checklstring(L, 1, &len);
  int url = lua_toboolean(L, 2);
  char *out = scratch(L, mc_base64_encoded_size(len));
  n = mc_base64_encode((const unsigned char *)s, len, out, url);
  push_scratch(L, out, n);
  return 1;
}

/* base64_decode(s) -> bytes | nil, message */
static int l_base64_decode(lua_State *L) {
  size_t len;
  long n;
  const char *s = luaL_checklstring(L, 1, &len);
  unsigned char *out = (unsigned char *)scratch(L, len * 3 / 4 + 3);
  n = mc_base64_decode(s, len, out);
  if (n < 0) {
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_pushliteral(L, "invalid base64");
    return 2;
  }
  push_scratch(L, (const char *)out, (size_t)n);
  return 1;
}

/* ---- Policy userdata --------------------------------------------------- */

static lpolicy *check_policy(lua_State *L) {
  lpolicy *p = (lpolicy *)luaL_checkudata(L, 1, POLICY_MT);
  if (!p->open) luaL_error(L, "attempt to use a closed policy");
  return p;
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
  p = (lpolicy *)mc_newuserdata(L, sizeof *p);
  memset(p, 0, sizeof *p);
  luaL_setmetatable(L, POLICY_MT);
  mc_budgets_init(&p->budgets);
  p->open = 1;
  p->retry.attempts = (int)opt_field_num(L, 1, "attempts", 5);
  if (p->retry.attempts < 1) p->retry.attempts = 1;
  p->retry.base = opt_field_num(L, 1, "base", 0.25);
  p->retry.cap = opt_field_num(L, 1, "cap", 30);
  p->retry.deadline = opt_field_num(L, 1, "deadline", 0);
  p->retry.max_wait = opt_field_num(L, 1, "max_wait", 3600);
  p->budgets.pace_threshold = opt_field_num(L, 1, "pace_threshold", 0.1);
  p->budgets.pace_max_delay = opt_field_num(L, 1, "pace_max_delay", 10);
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

static int l_policy_close(lua_State *L) {
  lpolicy *p = (lpolicy *)luaL_checkudata(L, 1, POLICY_MT);
  if (p->open) {
    mc_budgets_free(&p->budgets);
    p->open = 0;
  }
  return 0;
}

static int l_policy_tostring(lua_State *L) {
  lpolicy *p = (lpolicy *)luaL_checkudata(L, 1, POLICY_MT);
  lua_pushfstring(L, "mediacdn.Policy (%s)", p->open ? "open" : "closed");
  return 1;
}

void mc_lua_register_policy(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"url_escape", l_url_escape},
    {"sha256_hex", l_sha256_hex},
    {"hmac_sha256", l_hmac_sha256},
    {"base64_encode", l_base64_encode},
    {"base64_decode", l_base64_decode},
    {"policy", l_policy_new},
    {NULL, NULL}
  };
  static const luaL_Reg methods[] = {
    {"observe", l_policy_observe},
    {"seed", l_policy_seed},
    {"delay", l_policy_delay},
    {"consume", l_policy_consume},
    {"decide", l_policy_decide},
    {"budget", l_policy_budget},
    {"budgets", l_policy_budgets},
    {"backoff", l_policy_backoff},
    {"close", l_policy_close},
    {NULL, NULL}
  };
  if (luaL_newmetatable(L, POLICY_MT)) {
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_policy_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_policy_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, l_policy_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  luaL_setfuncs(L, fns, 0);
}
