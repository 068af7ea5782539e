/*
** mc_lua_sparevideos.c — binding of the SpareVideos signer (csrc/core/mc_svsign).
**
**   core.sv_sign(fields, private_key) -> token
**   core.sv_payload(fields)           -> the PHP-exact JSON that sv_sign signs
**
** fields is an ordered list of {key, value} pairs; a value is a string, an integer
** (a Lua integer, or an integral float below 2^53), a boolean, or a list of
** strings marked with mediacdn.array_mt (core.array_mt). Misuse raises an error
** that names the argument and the field ("fields[3] ('thumbnail'): ..."), never
** the value or the key. The token is built in C; nothing is cached.
*/
#include "mc_lua.h"
#include "mc_svsign.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_MT_KEY "mediacdn.array_mt"
#define MAX_FIELDS 64

/* Is the value at idx a table whose metatable is mediacdn.array_mt? */
static int is_marked_list(lua_State *L, int idx) {
  int same;
  if (!lua_istable(L, idx) || !lua_getmetatable(L, idx)) return 0;
  lua_getfield(L, LUA_REGISTRYINDEX, ARRAY_MT_KEY);
  same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same;
}

/* Read an integer value at idx into *out; 0 when it is not integral. */
static int read_integer(lua_State *L, int idx, long long *out) {
  double d;
#if LUA_VERSION_NUM >= 503
  if (lua_isinteger(L, idx)) {
    *out = (long long)lua_tointeger(L, idx);
    return 1;
  }
#endif
  d = lua_tonumber(L, idx);
  if (d != floor(d) || fabs(d) >= 9007199254740992.0) return 0;
  *out = (long long)d;
  return 1;
}

/* " ('key')" for a short printable key, else "" (keys are names, never secrets). */
static void key_label(const char *k, size_t n, char *out, size_t outlen) {
  size_t j;
  out[0] = '\0';
  if (n == 0 || n >= 40) return;
  for (j = 0; j < n; j++) {
    if ((unsigned char)k[j] < 0x20 || (unsigned char)k[j] >= 0x7F || k[j] == '\'') return;
  }
  snprintf(out, outlen, " ('%.*s')", (int)n, k);
}

/* Fill field f from the pair at the top of the stack (a table); i is 1-based.
** Leaves the pair's key and value on the stack (they must stay referenced). */
static void read_field(lua_State *L, int i, mc_sv_field *f) {
  int vt, pair = lua_gettop(L);
  char name[64];
  memset(f, 0, sizeof *f);
  lua_rawgeti(L, pair, 1);
  lua_rawgeti(L, pair, 2);
  if (lua_type(L, -2) != LUA_TSTRING) {
    luaL_error(L, "fields[%d]: the key (pair[1]) must be a string, got %s", i, luaL_typename(L, -2));
  }
  f->key = lua_tolstring(L, -2, &f->keylen);
  key_label(f->key, f->keylen, name, sizeof name);
  vt = lua_type(L, -1);
  if (vt == LUA_TSTRING) {
    f->kind = MC_SV_STRING;
    f->str.s = lua_tolstring(L, -1, &f->str.n);
  } else if (vt == LUA_TBOOLEAN) {
    f->kind = MC_SV_BOOL;
    f->b = lua_toboolean(L, -1);
  } else if (vt == LUA_TNUMBER) {
    f->kind = MC_SV_INT;
    if (!read_integer(L, -1, &f->i)) {
      luaL_error(L, "fields[%d]%s: the value must be an integer, not a fractional number", i, name);
    }
  } else if (vt == LUA_TTABLE && is_marked_list(L, -1)) {
    size_t n = (size_t)lua_rawlen(L, -1), k;
    mc_sv_str *items;
    int list = lua_gettop(L);
    /* the items array lives in a userdata left on the stack (freed by the GC) */
    items = (mc_sv_str *)lua_newuserdata(L, (n ? n : 1) * sizeof *items);
    for (k = 0; k < n; k++) {
      lua_rawgeti(L, list, (int)k + 1);
      if (lua_type(L, -1) != LUA_TSTRING) {
        luaL_error(L, "fields[%d]%s: list item %d must be a string, got %s", i, name, (int)k + 1, luaL_typename(L, -1));
      }
      items[k].s = lua_tolstring(L, -1, &items[k].n);
      lua_pop(L, 1); /* the list table keeps the string alive */
    }
    f->kind = MC_SV_LIST;
    f->items = items;
    f->nitems = n;
  } else if (vt == LUA_TTABLE) {
    luaL_error(L, "fields[%d]%s: unsupported value type table (a list of strings must be marked with mediacdn.array_mt)", i, name);
  } else {
    luaL_error(L, "fields[%d]%s: unsupported value type %s (string, integer, boolean or a list of strings)", i,
               name, luaL_typename(L, -1));
  }
}

/* Convert the fields list at index 1 into an array of mc_sv_field (in a userdata
** on the stack). Returns the count. */
static size_t read_fields(lua_State *L, mc_sv_field **out) {
  size_t n, i;
  mc_sv_field *f;
  if (!lua_istable(L, 1)) luaL_error(L, "fields must be a list of {key, value} pairs, got %s", luaL_typename(L, 1));
  n = (size_t)lua_rawlen(L, 1);
  if (n == 0) luaL_error(L, "fields: at least one {key, value} pair is required");
  if (n > MAX_FIELDS) luaL_error(L, "fields: at most %d pairs", MAX_FIELDS);
  luaL_checkstack(L, (int)(4 * n + 8), "fields");
  f = (mc_sv_field *)lua_newuserdata(L, n * sizeof *f);
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, 1, (int)i + 1);
    if (!lua_istable(L, -1)) {
      luaL_error(L, "fields[%d] must be a {key, value} pair, got %s", (int)i + 1, luaL_typename(L, -1));
    }
    read_field(L, (int)i + 1, &f[i]);
  }
  *out = f;
  return n;
}

static int l_sv_sign(lua_State *L) {
  mc_sv_field *f = NULL;
  size_t n, klen = 0, tlen = 0;
  const char *key;
  char *token = NULL, err[256];
  if (lua_type(L, 2) != LUA_TSTRING) luaL_error(L, "private_key must be a non-empty string, got %s", luaL_typename(L, 2));
  key = lua_tolstring(L, 2, &klen);
  if (klen == 0) luaL_error(L, "private_key must be a non-empty string");
  n = read_fields(L, &f);
  if (mc_sv_sign(f, n, key, klen, &token, &tlen, err, sizeof err) != 0) {
    lua_pushstring(L, err);
    return lua_error(L);
  }
  lua_pushlstring(L, token, tlen);
  free(token);
  return 1;
}

static int l_sv_payload(lua_State *L) {
  mc_sv_field *f = NULL;
  size_t n, jlen = 0;
  char *json = NULL, err[256];
  n = read_fields(L, &f);
  if (mc_sv_payload(f, n, &json, &jlen, err, sizeof err) != 0) {
    lua_pushstring(L, err);
    return lua_error(L);
  }
  lua_pushlstring(L, json, jlen);
  free(json);
  return 1;
}

void mc_lua_register_sparevideos(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"sv_sign", l_sv_sign},
    {"sv_payload", l_sv_payload},
    {NULL, NULL}
  };
  luaL_setfuncs(L, fns, 0);
}
