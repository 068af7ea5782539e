/*
** mc_lua_json.c — the JSON bridge: cJSON trees to and from Lua values.
**
** null   <-> core.null (a light userdata NULL, like lua-cjson's null)
** arrays <-> tables whose metatable is core.array_mt (empty arrays stay [])
** objects<-> plain tables
** Encoding never raises for bad data: it returns nil, message.
*/
#include "mc_lua.h"
#include "mc_http.h"
#include "mc_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_MT_KEY "mediacdn.array_mt"

/* Push the array metatable (kept in the registry). */
static void push_array_mt(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, ARRAY_MT_KEY);
}

static void push_number(lua_State *L, double d) {
#if LUA_VERSION_NUM >= 503
  if (d == floor(d) && fabs(d) < 9007199254740992.0) {
    lua_pushinteger(L, (lua_Integer)d);
    return;
  }
#endif
  lua_pushnumber(L, d);
}

void mc_lua_push_json(lua_State *L, const cJSON *item) {
  const cJSON *child;
  int i;
  luaL_checkstack(L, 4, "JSON nesting too deep");
  if (cJSON_IsNull(item)) {
    lua_pushlightuserdata(L, NULL);
  } else if (cJSON_IsFalse(item)) {
    lua_pushboolean(L, 0);
  } else if (cJSON_IsTrue(item)) {
    lua_pushboolean(L, 1);
  } else if (cJSON_IsNumber(item)) {
    push_number(L, item->valuedouble);
  } else if (cJSON_IsString(item)) {
    lua_pushstring(L, item->valuestring);
  } else if (cJSON_IsArray(item)) {
    lua_newtable(L);
    for (child = item->child, i = 1; child; child = child->next, i++) {
      mc_lua_push_json(L, child);
      lua_rawseti(L, -2, i);
    }
    push_array_mt(L);
    lua_setmetatable(L, -2);
  } else if (cJSON_IsObject(item)) {
    lua_newtable(L);
    for (child = item->child; child; child = child->next) {
      mc_lua_push_json(L, child);
      lua_setfield(L, -2, child->string ? child->string : "");
    }
  } else {
    lua_pushnil(L);
  }
}

void mc_lua_push_headers(lua_State *L, const struct mc_headers *h) {
  size_t i;
  lua_createtable(L, 0, (int)h->count);
  for (i = 0; i < h->count; i++) {
    lua_pushstring(L, h->items[i].value);
    lua_setfield(L, -2, h->items[i].name);
  }
}

/* json_decode(s [, max_bytes]) -> value | nil, message */
static int l_json_decode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_Number maxn = luaL_optnumber(L, 2, 0);
  size_t max;
  luaL_argcheck(L, maxn >= 0 && maxn == maxn, 2, "max_bytes must be a non-negative number");
  max = (size_t)maxn;
  char err[160];
  cJSON *root = mc_json_parse(s, len, max, err, sizeof err);
  if (!root) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  /* a raise inside push (out of memory / stack) would leak the tree: check first */
  if (!lua_checkstack(L, 8)) {
    cJSON_Delete(root);
    lua_pushnil(L);
    lua_pushliteral(L, "out of stack space");
    return 2;
  }
  mc_lua_push_json(L, root);
  cJSON_Delete(root);
  return 1;
}

/* ---- encoding ---------------------------------------------------------- */

typedef struct encode_state {
  char err[160];
} encode_state;

static cJSON *to_json(lua_State *L, int idx, int depth, encode_state *st);

/* Classify a table: 1 = array (array_mt, or keys exactly 1..n with n > 0),
** 0 = object (string keys, or empty without array_mt), -1 = mixed/invalid. */
static int table_kind(lua_State *L, int idx, size_t *n_out) {
  size_t n = 0, count = 0;
  int has_string = 0, has_number = 0;
  if (lua_getmetatable(L, idx)) {
    int is_array;
    push_array_mt(L);
    is_array = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (is_array) {
      *n_out = lua_rawlen(L, idx);
      return 1;
    }
  }
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      has_string = 1;
    } else if (lua_type(L, -1) == LUA_TNUMBER) {
      lua_Number k = lua_tonumber(L, -1);
      if (k < 1 || k != floor(k)) {
        lua_pop(L, 1);
        return -1;
      }
      has_number = 1;
      if ((size_t)k > n) n = (size_t)k;
    } else {
      lua_pop(L, 1);
      return -1;
    }
    count++;
  }
  if (has_string && has_number) return -1;
  if (has_number) {
    if (n != count) return -1; /* sparse */
    *n_out = n;
    return 1;
  }
  return 0;
}

static cJSON *table_to_json(lua_State *L, int idx, int depth, encode_state *st) {
  size_t n = 0, i;
  int kind = table_kind(L, idx, &n);
  cJSON *out;
  if (kind < 0) {
    snprintf(st->err, sizeof st->err, "cannot encode a table with mixed or sparse keys");
    return NULL;
  }
  if (kind == 1) {
    out = cJSON_CreateArray();
    if (!out) goto oom;
    for (i = 1; i <= n; i++) {
      cJSON *el;
      lua_rawgeti(L, idx, (int)i);
      el = to_json(L, lua_gettop(L), depth + 1, st);
      lua_pop(L, 1);
      if (!el) { cJSON_Delete(out); return NULL; }
      cJSON_AddItemToArray(out, el);
    }
    return out;
  }
  out = cJSON_CreateObject();
  if (!out) goto oom;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    cJSON *el = to_json(L, lua_gettop(L), depth + 1, st);
    if (!el) { lua_pop(L, 2); cJSON_Delete(out); return NULL; }
    cJSON_AddItemToObject(out, lua_tostring(L, -2), el);
    lua_pop(L, 1);
  }
  return out;
oom:
  snprintf(st->err, sizeof st->err, "out of memory");
  return NULL;
}

static cJSON *to_json(lua_State *L, int idx, int depth, encode_state *st) {
  if (depth > MC_JSON_MAX_DEPTH) {
    snprintf(st->err, sizeof st->err, "cannot encode: nesting deeper than %d (a cycle?)", MC_JSON_MAX_DEPTH);
    return NULL;
  }
  if (!lua_checkstack(L, 6)) {
    snprintf(st->err, sizeof st->err, "cannot encode: out of stack space");
    return NULL;
  }
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
      return cJSON_CreateNull();
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) return cJSON_CreateNull();
      break;
    case LUA_TBOOLEAN:
      return cJSON_CreateBool(lua_toboolean(L, idx));
    case LUA_TNUMBER: {
      double d = lua_tonumber(L, idx);
      if (isnan(d) || isinf(d)) {
        snprintf(st->err, sizeof st->err, "cannot encode NaN or infinity");
        return NULL;
      }
      return cJSON_CreateNumber(d);
    }
    case LUA_TSTRING:
      return cJSON_CreateString(lua_tostring(L, idx));
    case LUA_TTABLE:
      return table_to_json(L, idx, depth, st);
    default:
      break;
  }
  snprintf(st->err, sizeof st->err, "cannot encode a value of type %s", luaL_typename(L, idx));
  return NULL;
}

/* cJSON prints integral doubles as integers and others with %1.15g/%1.17g. */
static int l_json_encode(lua_State *L) {
  encode_state st;
  cJSON *root;
  char *text;
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  st.err[0] = '\0';
  root = to_json(L, 1, 0, &st);
  if (!root) {
    lua_pushnil(L);
    lua_pushstring(L, st.err[0] ? st.err : "cannot encode value");
    return 2;
  }
  text = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  if (!text) {
    lua_pushnil(L);
    lua_pushliteral(L, "out of memory");
    return 2;
  }
  lua_pushstring(L, text);
  cJSON_free(text);
  return 1;
}

void mc_lua_register_json(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"json_decode", l_json_decode},
    {"json_encode", l_json_encode},
    {NULL, NULL}
  };
  luaL_setfuncs(L, fns, 0);
  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, -2, "null");
  lua_getfield(L, LUA_REGISTRYINDEX, ARRAY_MT_KEY);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushliteral(L, "mediacdn.array");
    lua_setfield(L, -2, "__name");
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, ARRAY_MT_KEY);
  }
  lua_setfield(L, -2, "array_mt");
}
