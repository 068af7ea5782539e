/*
** mc_lua_json.c — the JSON bridge: cJSON trees to and from Lua values.
**
** null   <-> core.null (a light userdata NULL, like lua-cjson's null)
** arrays <-> tables whose metatable is core.array_mt (empty arrays stay [])
** objects<-> plain tables
** Encoding never raises for bad data: it returns nil, message.
**
** A cJSON tree (and printed text) lives in a mediacdn.JsonTree userdata made
** before the tree, for as long as Lua values are made from it: a raise in the
** middle (stack overflow on deep nesting, out of memory) leaves the tree to
** that userdata's __gc instead of leaking it.
*/
#include "mc_lua.h"
#include "mc_json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_MT_KEY "mediacdn.array_mt"

/* Owner of a cJSON tree and of printed text while Lua values are made. */
typedef struct ljson_tree {
  mc_lua_handle h;
  cJSON *root;
  char *text;
} ljson_tree;

/* close / __gc (through mc_lua_class): free what the holder still owns. */
static void ljson_tree_release(lua_State *L, void *ud) {
  ljson_tree *t = (ljson_tree *)ud;
  (void)L;
  cJSON_Delete(t->root);
  t->root = NULL;
  if (t->text) cJSON_free(t->text);
  t->text = NULL;
}

static const mc_lua_class ljson_tree_class = {"mediacdn.JsonTree", NULL, ljson_tree_release};

/* Push a new, open, empty holder. */
static ljson_tree *ljson_tree_new(lua_State *L) {
  ljson_tree *t = (ljson_tree *)mc_lua_handle_new(L, &ljson_tree_class, sizeof *t);
  t->h.open = 1;
  return t;
}

/* Free the holder's contents now (idempotent with its __gc). */
static void ljson_tree_free(lua_State *L, ljson_tree *t) {
  t->h.open = 0;
  ljson_tree_release(L, t);
}

/* Push the array metatable (kept in the registry). */
static void ljson_push_array_mt(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, ARRAY_MT_KEY);
}

static void ljson_push_number(lua_State *L, double d) {
#if LUA_VERSION_NUM >= 503
  if (d == floor(d) && fabs(d) < 9007199254740992.0) {
    lua_pushinteger(L, (lua_Integer)d);
    return;
  }
#endif
  lua_pushnumber(L, d);
}

/* The number of children of a container (to size its table once). */
static int ljson_count(const cJSON *item) {
  const cJSON *c;
  int n = 0;
  for (c = item->child; c && n < 1 << 24; c = c->next) n++;
  return n;
}

/*
** Push item as Lua values, recursively; may raise (stack, memory): the
** caller's holder owns the tree. mt is the stack index of the array
** metatable. The type is read from the node (cJSON's public `type` field)
** instead of six cJSON_Is* calls into the shared library, tables are created
** at their final size, and strings are pushed with their length (see
** bench/json_decode.lua for the cost against lua-cjson).
*/
static void ljson_push(lua_State *L, const cJSON *item, int mt) {
  const cJSON *child;
  int i;
  switch (item->type & 0xFF) {
    case cJSON_NULL:
      lua_pushlightuserdata(L, NULL);
      return;
    case cJSON_False:
      lua_pushboolean(L, 0);
      return;
    case cJSON_True:
      lua_pushboolean(L, 1);
      return;
    case cJSON_Number:
      ljson_push_number(L, item->valuedouble);
      return;
    case cJSON_String:
      /* with its length: lua_pushstring runs Lua 5.4's API string cache (a strcmp) */
      lua_pushlstring(L, item->valuestring, strlen(item->valuestring));
      return;
    case cJSON_Array:
      luaL_checkstack(L, 3, "JSON nesting too deep");
      lua_createtable(L, ljson_count(item), 0);
      for (child = item->child, i = 1; child; child = child->next, i++) {
        ljson_push(L, child, mt);
        lua_rawseti(L, -2, i);
      }
      lua_pushvalue(L, mt);
      lua_setmetatable(L, -2);
      return;
    case cJSON_Object:
      luaL_checkstack(L, 3, "JSON nesting too deep");
      lua_createtable(L, 0, ljson_count(item));
      for (child = item->child; child; child = child->next) {
        lua_pushlstring(L, child->string ? child->string : "", child->string ? strlen(child->string) : 0);
        ljson_push(L, child, mt);
        lua_rawset(L, -3);
      }
      return;
    default:
      lua_pushnil(L);
  }
}

/* Protected part of json_decode: build the Lua value of the tree (a light
** userdata at index 1) with the array metatable at index 2 (shared by every
** array of the document); may raise (stack, memory). */
static int ljson_push_tree(lua_State *L) {
  const cJSON *root = (const cJSON *)lua_touserdata(L, 1);
  ljson_push(L, root, 2);
  return 1;
}

/*
** json_decode(s [, max_bytes]) -> value | nil, message
** The tree is freed here whatever happens while its Lua value is built: that
** runs under lua_pcall and its error is raised again after the free. (A holder
** userdata freed by __gc is not enough: Lua 5.4 drops a finalizer that fails,
** e.g. one called by a GC step near the C-call limit, and the tree leaked.)
** Upvalues: 1 ljson_push_tree, 2 the array metatable (made once: a decode
** allocates no closure and looks nothing up by name).
*/
static int ljson_decode(lua_State *L) {
  size_t len, max;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_Number maxn = luaL_optnumber(L, 2, 0);
  char err[160];
  cJSON *root;
  int status;
  luaL_argcheck(L, maxn >= 0 && maxn == maxn, 2, "max_bytes must be a non-negative number");
  /* a huge cap is no cap (converting it as is would be undefined behaviour) */
  max = maxn >= (lua_Number)SIZE_MAX ? SIZE_MAX : (size_t)maxn;
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1)); /* pushed before the tree exists: may raise */
  root = mc_json_parse(s, len, max, err, sizeof err);
  if (!root) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  lua_pushlightuserdata(L, root); /* no allocation: cannot raise */
  lua_pushvalue(L, lua_upvalueindex(2));
  status = lua_pcall(L, 2, 1, 0);
  cJSON_Delete(root);
  if (status != 0) return lua_error(L); /* the same error value, tree freed */
  return 1;
}

/* ---- encoding ---------------------------------------------------------- */

typedef struct ljson_encode_state {
  char err[160];
} ljson_encode_state;

static cJSON *ljson_to(lua_State *L, int idx, int depth, ljson_encode_state *st);

/* Classify a table: 1 = array (array_mt, or keys exactly 1..n with n > 0),
** 0 = object (string keys, or empty without array_mt), -1 = mixed/invalid. */
static int ljson_table_kind(lua_State *L, int idx, size_t *n_out) {
  size_t n = 0, count = 0;
  int has_string = 0, has_number = 0;
  if (lua_getmetatable(L, idx)) {
    int is_array;
    ljson_push_array_mt(L);
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

static cJSON *ljson_table_to(lua_State *L, int idx, int depth, ljson_encode_state *st) {
  size_t n = 0, i;
  int kind = ljson_table_kind(L, idx, &n);
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
      el = ljson_to(L, lua_gettop(L), depth + 1, st);
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
    cJSON *el = ljson_to(L, lua_gettop(L), depth + 1, st);
    if (!el) { lua_pop(L, 2); cJSON_Delete(out); return NULL; }
    cJSON_AddItemToObject(out, lua_tostring(L, -2), el);
    lua_pop(L, 1);
  }
  return out;
oom:
  snprintf(st->err, sizeof st->err, "out of memory");
  return NULL;
}

static cJSON *ljson_to(lua_State *L, int idx, int depth, ljson_encode_state *st) {
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
      return ljson_table_to(L, idx, depth, st);
    default:
      break;
  }
  snprintf(st->err, sizeof st->err, "cannot encode a value of type %s", luaL_typename(L, idx));
  return NULL;
}

/* cJSON prints integral doubles as integers and others with %1.15g/%1.17g. */
static int ljson_encode(lua_State *L) {
  ljson_encode_state st;
  ljson_tree *t;
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  st.err[0] = '\0';
  t = ljson_tree_new(L); /* owns the tree and the text until pushed */
  t->root = ljson_to(L, 1, 0, &st);
  if (!t->root) {
    lua_pushnil(L);
    lua_pushstring(L, st.err[0] ? st.err : "cannot encode value");
    return 2;
  }
  t->text = cJSON_PrintUnformatted(t->root);
  if (!t->text) {
    lua_pushnil(L);
    lua_pushliteral(L, "out of memory");
    return 2;
  }
  lua_pushstring(L, t->text);
  ljson_tree_free(L, t);
  return 1;
}

void mc_lua_register_json(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"json_encode", ljson_encode},
    {NULL, NULL}
  };
  mc_lua_class_register(L, &ljson_tree_class);
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
  /* json_decode with its upvalues (see ljson_decode) */
  lua_pushcfunction(L, ljson_push_tree);
  lua_pushvalue(L, -2);
  lua_pushcclosure(L, ljson_decode, 2);
  lua_setfield(L, -3, "json_decode");
  lua_setfield(L, -2, "array_mt");
}
