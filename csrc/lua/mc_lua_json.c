/*
** mc_lua_json.c — the JSON bridge: JSON text to Lua values (straight from the
** core parser's events, mc_json_sax), Lua values to JSON (through a cJSON tree).
**
** null   <-> core.null (a light userdata NULL, like lua-cjson's null)
** arrays <-> tables whose metatable is core.array_mt (empty arrays stay [])
** objects<-> plain tables
** Encoding never raises for bad data: it returns nil, message.
**
** When encoding, the cJSON tree (and printed text) lives in a
** mediacdn.JsonTree userdata made before the tree: a raise in the middle
** (out of memory) leaves the tree to that userdata's __gc instead of leaking
** it. Decoding owns no C memory at all (see "decoding" below).
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

/* ---- decoding: Lua values straight from the parser's events ------------- */

/*
** json_decode builds its value in one pass over the text (mc_json_sax), with
** no tree in between. A container's members wait on the Lua stack above a
** placeholder slot until it ends; then its table is made at its final size,
** replaces the placeholder, and takes them in document order (so a repeated
** key keeps its last value, and the table is laid out as one made at its
** size and filled in order). A container with LJD_PENDING slots waiting is
** made early and takes the rest as they come, and when a nested container
** starts while more than LJD_SOFT slots wait in all, its parent is made:
** the stack stays under LJD_SOFT + LJD_PENDING + 2 * depth + LJD_CHUNK + 8
** slots. LuaJIT lets a C function use 8,000 (LUAI_MAXCSTACK), so there the
** limits are low: an array of over 2,048 elements or an object of over 1,024
** members is made early and grows as Lua tables do (pairs() may then visit
** its keys in another order than before; Lua 5.4, which allows a million
** slots, does that only past 65,536 elements or 32,768 members).
**
** Nothing here owns C memory: the parser allocates nothing, the state is on
** the C stack and long unescaped strings go to a userdata; a raise (stack,
** memory) half way leaves only garbage to the collector.
*/
#if LUA_VERSION_NUM >= 503
#define LJD_PENDING 65536
#define LJD_SOFT 65536
#else
#define LJD_PENDING 2048
#define LJD_SOFT 2048
#endif
#define LJD_CHUNK 64

/* An array index as lua_rawseti takes it (an int in LuaJIT). */
#if LUA_VERSION_NUM >= 503
typedef lua_Integer ljd_index;
#else
typedef int ljd_index;
#endif

/* One open container. */
typedef struct ljd_frame {
  int base;       /* its stack slot: the placeholder, then its table */
  int made;       /* the table exists: members go straight in */
  int is_array;
  ljd_index n;    /* array: elements already in the table */
} ljd_frame;

typedef struct ljd_state {
  lua_State *L;
  int top;        /* the stack top, kept here */
  int room;       /* free slots known above top */
  int bottom;     /* the slot below the first value */
  int mt;         /* the array metatable's slot */
  int scratch;    /* the scratch userdata's slot */
  size_t scratch_len;
  char *scratch_buf;
  int depth;
  ljd_frame f[MC_JSON_MAX_DEPTH + 1];
} ljd_state;

/* Make sure n slots are free above the top (raises when the stack is full). */
static void ljd_room(ljd_state *st, int n) {
  if (st->room < n) {
    luaL_checkstack(st->L, LJD_CHUNK, "JSON nesting too deep");
    st->room = LJD_CHUNK;
  }
}

/* Make f's table from the members waiting above its slot (f is innermost or
** about to get a child: its members are the top of the stack; a key without
** its value yet stays on top). Needs 2 free slots. */
static void ljd_make(ljd_state *st, ljd_frame *f) {
  lua_State *L = st->L;
  int waiting = st->top - f->base, i;
  if (f->is_array) {
    lua_createtable(L, waiting, 0);
    lua_replace(L, f->base);
    for (i = waiting; i >= 1; i--) lua_rawseti(L, f->base, i);
    f->n = waiting;
    st->top = f->base;
  } else {
    lua_createtable(L, 0, waiting / 2);
    lua_replace(L, f->base);
    for (i = f->base + 1; i < st->top; i += 2) {
      lua_pushvalue(L, i);
      lua_pushvalue(L, i + 1);
      lua_rawset(L, f->base);
    }
    if (waiting & 1) {
      lua_pushvalue(L, st->top); /* the key of a member still to come */
      lua_replace(L, f->base + 1);
    }
    st->top = f->base + (waiting & 1);
    lua_settop(L, st->top);
  }
  f->made = 1;
}

/* A value was pushed: it belongs to the innermost open container. */
static int ljd_done(ljd_state *st) {
  ljd_frame *f;
  if (st->depth == 0) return 0; /* the document itself */
  f = &st->f[st->depth - 1];
  if (f->made) {
    if (f->is_array) {
      lua_rawseti(st->L, f->base, ++f->n);
      st->top--;
    } else {
      lua_rawset(st->L, f->base);
      st->top -= 2;
    }
  } else if (st->top - f->base >= LJD_PENDING) {
    ljd_room(st, 2);
    ljd_make(st, f);
  }
  return 0;
}

#define LJD_PUSHED(st) ((st)->top++, (st)->room--)

static int ljd_null(void *ud) {
  ljd_state *st = (ljd_state *)ud;
  ljd_room(st, 1);
  lua_pushlightuserdata(st->L, NULL);
  LJD_PUSHED(st);
  return ljd_done(st);
}

static int ljd_boolean(void *ud, int v) {
  ljd_state *st = (ljd_state *)ud;
  ljd_room(st, 1);
  lua_pushboolean(st->L, v);
  LJD_PUSHED(st);
  return ljd_done(st);
}

/* An integral number under 2^53 is an integer under Lua 5.3+ (as before). */
static int ljd_number(void *ud, double d) {
  ljd_state *st = (ljd_state *)ud;
  ljd_room(st, 1);
#if LUA_VERSION_NUM >= 503
  if (fabs(d) < 9007199254740992.0 && d == (double)(lua_Integer)d)
    lua_pushinteger(st->L, (lua_Integer)d);
  else
#endif
    lua_pushnumber(st->L, d);
  LJD_PUSHED(st);
  return ljd_done(st);
}

static int ljd_string(void *ud, const char *s, size_t n) {
  ljd_state *st = (ljd_state *)ud;
  ljd_room(st, 1);
  lua_pushlstring(st->L, s, n);
  LJD_PUSHED(st);
  return ljd_done(st);
}

static int ljd_key(void *ud, const char *s, size_t n) {
  ljd_state *st = (ljd_state *)ud;
  ljd_room(st, 1);
  lua_pushlstring(st->L, s, n);
  LJD_PUSHED(st);
  return 0;
}

static int ljd_start(ljd_state *st, int is_array) {
  ljd_frame *f;
  if (st->depth > 0) {
    f = &st->f[st->depth - 1];
    if (!f->made && st->top - st->bottom > LJD_SOFT) {
      ljd_room(st, 2);
      ljd_make(st, f);
    }
  }
  ljd_room(st, 1);
  lua_pushnil(st->L); /* the placeholder */
  LJD_PUSHED(st);
  f = &st->f[st->depth++];
  f->base = st->top;
  f->made = 0;
  f->is_array = is_array;
  f->n = 0;
  return 0;
}

static int ljd_start_array(void *ud) { return ljd_start((ljd_state *)ud, 1); }
static int ljd_start_object(void *ud) { return ljd_start((ljd_state *)ud, 0); }

static int ljd_end(void *ud, size_t n) {
  ljd_state *st = (ljd_state *)ud;
  ljd_frame *f = &st->f[--st->depth];
  (void)n;
  ljd_room(st, 2);
  if (!f->made) ljd_make(st, f);
  if (f->is_array) {
    lua_pushvalue(st->L, st->mt);
    lua_setmetatable(st->L, f->base);
  }
  return ljd_done(st);
}

/* A buffer for a long unescaped string: a userdata in the scratch slot. */
static char *ljd_scratch(void *ud, size_t n) {
  ljd_state *st = (ljd_state *)ud;
  if (n > st->scratch_len) {
    ljd_room(st, 1);
    st->scratch_buf = (char *)mc_newuserdata(st->L, n);
    lua_replace(st->L, st->scratch);
    st->scratch_len = n;
  }
  return st->scratch_buf;
}

static const mc_json_handler ljd_handler = {
  ljd_null, ljd_boolean, ljd_number, ljd_string, ljd_key,
  ljd_start_array, ljd_end, ljd_start_object, ljd_end, ljd_scratch
};

/*
** json_decode(s [, max_bytes]) -> value | nil, message
** Upvalue 1: the array metatable (made once: a decode allocates no closure
** and looks nothing up by name).
*/
static int ljson_decode(lua_State *L) {
  size_t len, max;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_Number maxn = luaL_optnumber(L, 2, 0);
  char err[160];
  ljd_state st;
  luaL_argcheck(L, maxn >= 0 && maxn == maxn, 2, "max_bytes must be a non-negative number");
  /* a huge cap is no cap (converting it as is would be undefined behaviour) */
  max = maxn >= (lua_Number)SIZE_MAX ? SIZE_MAX : (size_t)maxn;
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1)); /* 3: the array metatable */
  lua_pushnil(L);                        /* 4: the scratch userdata, when one is needed */
  st.L = L;
  st.mt = 3;
  st.scratch = 4;
  st.bottom = st.top = 4;
  st.room = 0;
  st.scratch_len = 0;
  st.scratch_buf = NULL;
  st.depth = 0;
  if (mc_json_sax(s, len, max, &ljd_handler, &st, err, sizeof err) != MC_JSON_OK) {
    lua_settop(L, 4);
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
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
  /* json_decode with its upvalue (see ljson_decode) */
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, ljson_decode, 1);
  lua_setfield(L, -3, "json_decode");
  lua_setfield(L, -2, "array_mt");
}
