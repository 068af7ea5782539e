/*
** mc_lua_request.c — request descriptors and responses between Lua tables
** and the core's mc_request / mc_response (docs/internals.md: `req`, `res`,
** `terr`). Every transport reads its `req` through mc_lua_read_request, so a
** request is validated once, with the mc_http1 rules, whichever transport
** carries it: misuse raises naming the field (`req.headers["X"] must be ...`).
** Defaults of unset fields come from mc_defaults.h.
*/
#include "mc_lua.h"
#include "mc_defaults.h"
#include "mc_http.h"
#include "mc_http1.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Raise "bad argument #n to 'f' (req.<field> must be <what>)". */
static int lreq_field_error(lua_State *L, int arg, const char *field, const char *what) {
  const char *msg = lua_pushfstring(L, "req.%s must be %s", field, what);
  return luaL_argerror(L, arg, msg);
}

/* The top-level req fields read for every request, as Lua strings cached
** per Lua state (registry, under the address of lreq_keys_key): reading them
** with rawgeti + gettable hashes no C string per request. */
static const char *const lreq_key_names[] = {
  "method", "url", "headers", "body", "body_file", "body_parts", "sink", "cainfo",
  "timeout", "connect_timeout", "stall_timeout", "max_body", NULL
};
enum { K_METHOD = 1, K_URL, K_HEADERS, K_BODY, K_BODY_FILE, K_BODY_PARTS, K_SINK, K_CAINFO,
       K_TIMEOUT, K_CONNECT_TIMEOUT, K_STALL_TIMEOUT, K_MAX_BODY, K_COUNT = K_MAX_BODY };
static const char lreq_keys_key = 0;

/* Push the key list (made on first use); returns its stack index. */
static int lreq_push_keys(lua_State *L) {
  int i;
  lua_pushlightuserdata(L, (void *)&lreq_keys_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_createtable(L, K_COUNT, 0);
    for (i = 0; lreq_key_names[i]; i++) {
      lua_pushstring(L, lreq_key_names[i]);
      lua_rawseti(L, -2, i + 1);
    }
    lua_pushlightuserdata(L, (void *)&lreq_keys_key);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
  }
  return lua_gettop(L);
}

/* Push t[key k] (as lua_getfield would, metamethods included). */
static void lreq_get(lua_State *L, int t, int keys, int k) {
  lua_rawgeti(L, keys, k);
  lua_gettable(L, t);
}

/* Push t[name] and return it as a string (NULL when nil). The value stays
** on the stack, which keeps it alive while the request uses it. */
static const char *lreq_opt_string(lua_State *L, int arg, int t, const char *name,
                                   const char *label, size_t *len_out, int keys, int k) {
  size_t len;
  const char *s;
  if (keys) lreq_get(L, t, keys, k);
  else lua_getfield(L, t, name);
  if (lua_isnil(L, -1)) return NULL;
  if (!label) label = name;
  if (lua_type(L, -1) != LUA_TSTRING) lreq_field_error(L, arg, label, "a string");
  s = lua_tolstring(L, -1, &len);
  if (!len_out && strlen(s) != len)
    lreq_field_error(L, arg, label, "a string without NUL bytes");
  if (len_out) *len_out = len;
  return s;
}

/* t[name] as seconds (default when nil) -> a non-negative finite number. */
static double lreq_opt_seconds(lua_State *L, int arg, int t, const char *name, double def,
                               int keys, int k) {
  double v;
  lreq_get(L, t, keys, k);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return def;
  }
  if (lua_type(L, -1) != LUA_TNUMBER) lreq_field_error(L, arg, name, "a number");
  v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(v >= 0) || v > MC_MAX_SECONDS)
    lreq_field_error(L, arg, name, "a non-negative number of seconds");
  return v;
}

/* An integral, non-negative number at the top of the stack (popped). */
static double lreq_pop_count(lua_State *L, int arg, const char *name) {
  double v;
  if (lua_type(L, -1) != LUA_TNUMBER) lreq_field_error(L, arg, name, "a number");
  v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(v >= 0) || v != floor(v) || v > 9007199254740992.0)
    lreq_field_error(L, arg, name, "a non-negative integer");
  return v;
}

/* Copy req.headers into r->headers, each name and value checked once. */
static void lreq_read_headers(lua_State *L, int arg, int t, mc_request *r, int keys) {
  int h;
  lreq_get(L, t, keys, K_HEADERS);
  if (lua_isnil(L, -1)) return;
  if (!lua_istable(L, -1)) lreq_field_error(L, arg, "headers", "a table");
  h = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, h) != 0) {
    const char *name, *value;
    size_t nlen, vlen;
    if (lua_type(L, -2) != LUA_TSTRING)
      lreq_field_error(L, arg, "headers", "a table with string keys");
    name = lua_tolstring(L, -2, &nlen);
    if (!mc_http1_is_token(name, nlen))
      lreq_field_error(L, arg, "headers", "a table keyed by valid header names");
    if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER) {
      const char *what = lua_pushfstring(L, "headers[\"%s\"]", name);
      lreq_field_error(L, arg, what, "a string");
    }
    lua_pushvalue(L, -1); /* convert a copy: never the value lua_next walks */
    value = lua_tolstring(L, -1, &vlen);
    if (!mc_http1_is_field_value(value, vlen)) {
      const char *what = lua_pushfstring(L, "headers[\"%s\"]", name);
      lreq_field_error(L, arg, what, "a string without CR, LF or NUL");
    }
    if (mc_headers_add(&r->headers, name, nlen, value, vlen) != 0)
      luaL_error(L, "out of memory");
    lua_pop(L, 2);
  }
}

/* req.body_parts (the table at bp) into r->body: strings and {path, offset,
** length} file ranges. The parts array lives in a userdata left on the stack;
** the strings stay referenced by the table. */
static void lreq_read_parts(lua_State *L, int arg, int bp, mc_request *r) {
  size_t n = (size_t)lua_rawlen(L, bp), i;
  mc_body_part *parts;
  char name[64];
  if (n == 0) lreq_field_error(L, arg, "body_parts", "a non-empty list of strings and file ranges");
  parts = (mc_body_part *)lua_newuserdata(L, n * sizeof *parts);
  memset(parts, 0, n * sizeof *parts);
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, bp, (int)i + 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      parts[i].data = lua_tolstring(L, -1, &parts[i].len);
      lua_pop(L, 1); /* the body_parts table keeps it */
    } else if (lua_istable(L, -1)) {
      int p = lua_gettop(L);
      snprintf(name, sizeof name, "body_parts[%d].path", (int)i + 1);
      lua_getfield(L, p, "path");
      if (lua_type(L, -1) != LUA_TSTRING) lreq_field_error(L, arg, name, "a string");
      parts[i].path = lua_tostring(L, -1);
      lua_pop(L, 1); /* the part table keeps it */
      snprintf(name, sizeof name, "body_parts[%d].offset", (int)i + 1);
      lua_getfield(L, p, "offset");
      if (!lua_isnil(L, -1)) parts[i].offset = (int64_t)lreq_pop_count(L, arg, name);
      else lua_pop(L, 1);
      snprintf(name, sizeof name, "body_parts[%d].length", (int)i + 1);
      lua_getfield(L, p, "length");
      if (lua_isnil(L, -1))
        lreq_field_error(L, arg, name, "a non-negative integer (a file part needs its exact length)");
      parts[i].length = (int64_t)lreq_pop_count(L, arg, name);
      lua_pop(L, 1); /* the part table (body_parts keeps it) */
    } else {
      snprintf(name, sizeof name, "body_parts[%d]", (int)i + 1);
      lreq_field_error(L, arg, name, "a string or a file range {path=, offset=, length=}");
    }
  }
  r->body.kind = MC_BODY_PARTS;
  r->body.parts = parts;
  r->body.nparts = n;
}

/* req.body / req.body_file into r->body; returns the body string's index. */
static int lreq_read_body(lua_State *L, int arg, int t, mc_request *r, int keys) {
  size_t len;
  int body_idx = 0;
  const char *s = lreq_opt_string(L, arg, t, "body", NULL, &len, keys, K_BODY);
  if (s) {
    r->body.kind = MC_BODY_MEMORY;
    r->body.data = s;
    r->body.len = len;
    body_idx = lua_gettop(L);
  }
  lreq_get(L, t, keys, K_BODY_FILE);
  if (!lua_isnil(L, -1)) {
    int bf = lua_gettop(L);
    if (!lua_istable(L, bf)) lreq_field_error(L, arg, "body_file", "a table");
    if (r->body.kind != MC_BODY_NONE)
      lreq_field_error(L, arg, "body_file", "absent when req.body is given");
    r->body.kind = MC_BODY_FILE;
    r->body.path = lreq_opt_string(L, arg, bf, "path", "body_file.path", NULL, 0, 0);
    if (!r->body.path) lreq_field_error(L, arg, "body_file.path", "a string");
    r->body.offset = 0;
    r->body.length = -1;
    lua_getfield(L, bf, "offset");
    if (!lua_isnil(L, -1)) r->body.offset = (int64_t)lreq_pop_count(L, arg, "body_file.offset");
    else lua_pop(L, 1);
    lua_getfield(L, bf, "length");
    if (!lua_isnil(L, -1)) r->body.length = (int64_t)lreq_pop_count(L, arg, "body_file.length");
    else lua_pop(L, 1);
  }
  lreq_get(L, t, keys, K_BODY_PARTS);
  if (!lua_isnil(L, -1)) {
    int bp = lua_gettop(L);
    if (!lua_istable(L, bp)) lreq_field_error(L, arg, "body_parts", "a list");
    if (r->body.kind != MC_BODY_NONE)
      lreq_field_error(L, arg, "body_parts", "absent when req.body or req.body_file is given");
    lreq_read_parts(L, arg, bp, r);
  }
  return body_idx;
}

int mc_lua_read_request(lua_State *L, int arg, mc_request *r, mc_http1_url *url) {
  int t = arg, body_idx, keys;
  const char *s, *what;
  double v;
  mc_http1_url scratch;
  mc_http1_url *u = url ? url : &scratch;
  luaL_checktype(L, arg, LUA_TTABLE);
  luaL_checkstack(L, 32, "req");
  keys = lreq_push_keys(L);

  s = lreq_opt_string(L, arg, t, "method", NULL, NULL, keys, K_METHOD);
  r->method = s ? s : "GET";
  if (!mc_http1_is_token(r->method, strlen(r->method)))
    lreq_field_error(L, arg, "method", "an HTTP method name");
  r->url = lreq_opt_string(L, arg, t, "url", NULL, NULL, keys, K_URL);
  if (!r->url) lreq_field_error(L, arg, "url", "a string");
  if (mc_http1_parse_url(r->url, u, &what) != 0) lreq_field_error(L, arg, "url", what);

  lreq_read_headers(L, arg, t, r, keys);
  body_idx = lreq_read_body(L, arg, t, r, keys);

  r->sink_path = lreq_opt_string(L, arg, t, "sink", NULL, NULL, keys, K_SINK);
  r->cainfo = lreq_opt_string(L, arg, t, "cainfo", NULL, NULL, keys, K_CAINFO);

  v = lreq_opt_seconds(L, arg, t, "timeout", MC_DEFAULT_TIMEOUT, keys, K_TIMEOUT);
  r->timeout_ms = v > 0 ? (long)ceil(v * 1000.0) : 0;
  v = lreq_opt_seconds(L, arg, t, "connect_timeout", MC_DEFAULT_CONNECT_TIMEOUT, keys,
                       K_CONNECT_TIMEOUT);
  r->connect_timeout_ms = v > 0 ? (long)ceil(v * 1000.0) : 0;
  v = lreq_opt_seconds(L, arg, t, "stall_timeout", MC_DEFAULT_STALL_TIMEOUT, keys, K_STALL_TIMEOUT);
  r->low_speed_time_s = v > 0 ? (long)ceil(v) : 0;
  r->low_speed_limit = 1;

  lreq_get(L, t, keys, K_MAX_BODY);
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TNUMBER) lreq_field_error(L, arg, "max_body", "a number");
    v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (!(v >= 1)) lreq_field_error(L, arg, "max_body", "a positive number of bytes");
    r->max_body = v >= (double)SIZE_MAX ? SIZE_MAX : (size_t)v; /* huge: no cap */
  } else {
    lua_pop(L, 1);
    r->max_body = MC_DEFAULT_MAX_BODY;
  }
  return body_idx;
}

void mc_lua_push_headers(lua_State *L, const mc_headers *h) {
  size_t i;
  lua_createtable(L, 0, (int)h->count);
  for (i = 0; i < h->count; i++) {
    /* with their lengths and a raw set: no API string cache, no metamethod */
    lua_pushlstring(L, h->items[i].name, strlen(h->items[i].name));
    lua_pushlstring(L, h->items[i].value, strlen(h->items[i].value));
    lua_rawset(L, -3);
  }
}

void mc_lua_push_response(lua_State *L, const mc_response *res) {
  lua_createtable(L, 0, 5);
  mc_pushint(L, res->status);
  lua_setfield(L, -2, "status");
  mc_lua_push_headers(L, &res->headers);
  lua_setfield(L, -2, "headers");
  if (res->body) { /* NULL: the body went to the sink */
    lua_pushlstring(L, res->body, res->body_len);
    lua_setfield(L, -2, "body");
  }
  mc_pushint(L, res->bytes_received);
  lua_setfield(L, -2, "bytes");
  lua_pushnumber(L, res->elapsed);
  lua_setfield(L, -2, "elapsed");
}

void mc_lua_push_terr(lua_State *L, const mc_transport_error *e) {
  lua_createtable(L, 0, 3);
  lua_pushstring(L, mc_transport_kind_name(e->kind));
  lua_setfield(L, -2, "kind");
  lua_pushstring(L, e->message);
  lua_setfield(L, -2, "message");
  mc_pushint(L, e->code);
  lua_setfield(L, -2, "code");
}
