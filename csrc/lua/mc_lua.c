/*
** mc_lua.c — luaopen_mediacdn_core: the thin binding over the C layers, plus
** the one helper every userdata type is built with and core.defaults.
** No logic lives here: each mc_lua_*.c registers its part of the table.
*/
#include "mc_lua.h"
#include "mc_defaults.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

int luaopen_mediacdn_core(lua_State *L);

/* ---- userdata types ----------------------------------------------------- */

/* close / __gc / __close of every type (upvalue 1: its mc_lua_class):
** releases an open handle once; closing again does nothing. */
static int lcore_close(lua_State *L) {
  const mc_lua_class *cls = (const mc_lua_class *)lua_touserdata(L, lua_upvalueindex(1));
  mc_lua_handle *h = (mc_lua_handle *)luaL_checkudata(L, 1, cls->name);
  lua_settop(L, 1);
  if (h->open) {
    h->open = 0;
    cls->release(L, h);
  }
  return 0;
}

/* __tostring: "mediacdn.Easy (0x...)" or "mediacdn.Easy (closed)". */
static int lcore_tostring(lua_State *L) {
  const mc_lua_class *cls = (const mc_lua_class *)lua_touserdata(L, lua_upvalueindex(1));
  mc_lua_handle *h = (mc_lua_handle *)luaL_checkudata(L, 1, cls->name);
  if (h->open) lua_pushfstring(L, "%s (%p)", cls->name, (void *)h);
  else lua_pushfstring(L, "%s (closed)", cls->name);
  return 1;
}

void mc_lua_class_register(lua_State *L, const mc_lua_class *cls) {
  if (!luaL_newmetatable(L, cls->name)) {
    lua_pop(L, 1);
    return;
  }
  lua_newtable(L); /* __index: the methods and close */
  if (cls->methods) luaL_setfuncs(L, cls->methods, 0);
  lua_pushlightuserdata(L, (void *)cls);
  lua_pushcclosure(L, lcore_close, 1);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "close");
  lua_pushvalue(L, -1);
  lua_setfield(L, -4, "__gc");
  lua_setfield(L, -3, "__close");
  lua_setfield(L, -2, "__index");
  lua_pushlightuserdata(L, (void *)cls);
  lua_pushcclosure(L, lcore_tostring, 1);
  lua_setfield(L, -2, "__tostring");
  lua_pushstring(L, cls->name);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}

void *mc_lua_handle_new(lua_State *L, const mc_lua_class *cls, size_t size) {
  void *ud = mc_newuserdata(L, size);
  memset(ud, 0, size);
  luaL_getmetatable(L, cls->name);
  lua_setmetatable(L, -2);
  return ud;
}

void *mc_lua_handle_check(lua_State *L, int idx, const mc_lua_class *cls) {
  mc_lua_handle *h = (mc_lua_handle *)luaL_checkudata(L, idx, cls->name);
  if (!h->open) luaL_error(L, "attempt to use a closed %s", cls->name);
  return h;
}

/* ---- core.defaults ------------------------------------------------------ */

/* core.defaults: mc_defaults_list plus the version (integral values as
** integers, so that 30 prints as 30 under Lua 5.4). */
double mc_lua_opt_number(lua_State *L, int t, const char *who, const char *k, double def,
                         double lo, double hi, int integral) {
  double v;
  lua_getfield(L, t, k);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return def;
  }
  if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "%s: option '%s' must be a number", who, k);
  v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(v >= lo && v <= hi) || (integral && v != floor(v))) {
    char range[80]; /* lua_pushfstring has no %.0f */
    snprintf(range, sizeof range, "%s from %.0f to %.0f", integral ? "an integer" : "a number", lo, hi);
    luaL_error(L, "%s: option '%s' must be %s", who, k, range);
  }
  return v;
}

static void lcore_push_defaults(lua_State *L) {
  const mc_default *d;
  lua_newtable(L);
  for (d = mc_defaults_list; d->name; d++) {
    if (d->value == floor(d->value)) mc_pushint(L, d->value);
    else lua_pushnumber(L, d->value);
    lua_setfield(L, -2, d->name);
  }
  lua_pushliteral(L, MC_VERSION);
  lua_setfield(L, -2, "version");
}

int luaopen_mediacdn_core(lua_State *L) {
  /* libcurl's global init is not thread-safe before 7.84; the module is
  ** loaded once per Lua state and curl_global_init is reference-counted. */
  curl_global_init(CURL_GLOBAL_DEFAULT);
  lua_newtable(L);
  lua_pushliteral(L, MC_VERSION);
  lua_setfield(L, -2, "version");
  lcore_push_defaults(L);
  lua_setfield(L, -2, "defaults");
  mc_lua_register_json(L);
  mc_lua_register_curl(L);
  mc_lua_register_http1(L);
  mc_lua_register_clock(L);
  mc_lua_register_crypto(L);
  mc_lua_register_url(L);
  mc_lua_register_policy(L);
  mc_lua_register_tus(L);
  mc_lua_register_imgurl(L);
  mc_lua_register_sparevideos(L);
  mc_lua_register_redis(L);
  mc_lua_register_signal(L);
  return 1;
}
