/*
** mc_lua_http.c — the libcurl transport as Lua userdata, plus clocks.
**
**   core.easy()  -> mediacdn.Easy   (blocking; perform, close)
**   core.multi() -> mediacdn.Multi  (pollable; add, fd, timeout, step, done,
**                                    cancel, count, close)
**   core.sleep(s), core.now(), core.monotonic()
**
** Requests arrive as `req` tables (docs/internals.md) and are converted to an
** mc_request whose strings point into the table's values; those values stay
** on the Lua stack while the request is read and performed, so they cannot be
** collected. A Multi keeps each borrowed body string in its uservalue table
** until the transfer is done or cancelled. Nothing here runs inside a libcurl
** callback, so raising is always safe; native memory that a raise could
** strand is owned by the userdata (scratch request/response) instead.
*/
#include "mc_lua.h"
#include "mc_http.h"
#include "mc_curl_easy.h"
#include "mc_curl_multi.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MC_EASY_MT "mediacdn.Easy"
#define MC_MULTI_MT "mediacdn.Multi"

#define MC_DEFAULT_TIMEOUT 30.0
#define MC_DEFAULT_CONNECT_TIMEOUT 10.0
#define MC_DEFAULT_STALL_TIMEOUT 30.0
#define MC_MAX_SECONDS 1e9

#if LUA_VERSION_NUM >= 504
#define lhttp_getuv(L, i) lua_getiuservalue(L, (i), 1)
#define lhttp_setuv(L, i) lua_setiuservalue(L, (i), 1)
#elif LUA_VERSION_NUM >= 502
#define lhttp_getuv(L, i) lua_getuservalue(L, (i))
#define lhttp_setuv(L, i) lua_setuservalue(L, (i))
#else
#define lhttp_getuv(L, i) lua_getfenv(L, (i))
#define lhttp_setuv(L, i) lua_setfenv(L, (i))
#endif

typedef struct mc_lua_easy {
  int open;
  mc_curl_easy easy;
  mc_request req;    /* scratch: owned header copies survive a raise */
  mc_response res;
} mc_lua_easy;

typedef struct mc_lua_multi {
  mc_multi *multi;   /* NULL when closed */
  mc_request req;
} mc_lua_multi;

/* ---- reading a req table ----------------------------------------------- */

static int lhttp_is_token(const char *s) {
  if (!s || !*s) return 0;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          strchr("!#$%&'*+-.^_`|~", c)))
      return 0;
  }
  return 1;
}

/* Raise "bad argument #n to 'f' (req.<field> must be <what>)". */
static int lhttp_field_error(lua_State *L, int arg, const char *field, const char *what) {
  const char *msg = lua_pushfstring(L, "req.%s must be %s", field, what);
  return luaL_argerror(L, arg, msg);
}

/* Push t[name] and return it as a string (NULL when nil). The value stays
** on the stack, which keeps it alive while the request uses it. */
static const char *lhttp_opt_string(lua_State *L, int arg, int t, const char *name,
                                      const char *label, size_t *len_out) {
  size_t len;
  const char *s;
  lua_getfield(L, t, name);
  if (lua_isnil(L, -1)) return NULL;
  if (!label) label = name;
  if (lua_type(L, -1) != LUA_TSTRING) lhttp_field_error(L, arg, label, "a string");
  s = lua_tolstring(L, -1, &len);
  if (!len_out && strlen(s) != len)
    lhttp_field_error(L, arg, label, "a string without NUL bytes");
  if (len_out) *len_out = len;
  return s;
}

/* t[name] as seconds (default when nil) -> a non-negative finite number. */
static double lhttp_opt_seconds(lua_State *L, int arg, int t, const char *name, double def) {
  double v;
  lua_getfield(L, t, name);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return def;
  }
  if (lua_type(L, -1) != LUA_TNUMBER) lhttp_field_error(L, arg, name, "a number");
  v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(v >= 0) || v > MC_MAX_SECONDS)
    lhttp_field_error(L, arg, name, "a non-negative number of seconds");
  return v;
}

/* An integral, non-negative number at the top of the stack (popped). */
static double lhttp_pop_count(lua_State *L, int arg, const char *name) {
  double v;
  if (lua_type(L, -1) != LUA_TNUMBER) lhttp_field_error(L, arg, name, "a number");
  v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(v >= 0) || v != floor(v) || v > 9007199254740992.0)
    lhttp_field_error(L, arg, name, "a non-negative integer");
  return v;
}

/* Copy req.headers into r->headers (names and values are copied). */
static void lhttp_read_headers(lua_State *L, int arg, int t, mc_request *r) {
  int h;
  lua_getfield(L, t, "headers");
  if (lua_isnil(L, -1)) return;
  if (!lua_istable(L, -1)) lhttp_field_error(L, arg, "headers", "a table");
  h = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, h) != 0) {
    const char *name, *value;
    size_t nlen, vlen;
    if (lua_type(L, -2) != LUA_TSTRING)
      lhttp_field_error(L, arg, "headers", "a table with string keys");
    name = lua_tolstring(L, -2, &nlen);
    if (!lhttp_is_token(name) || strlen(name) != nlen)
      lhttp_field_error(L, arg, "headers", "a table keyed by valid header names");
    if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER) {
      const char *what = lua_pushfstring(L, "headers[\"%s\"]", name);
      lhttp_field_error(L, arg, what, "a string");
    }
    lua_pushvalue(L, -1); /* convert a copy: never the value lua_next walks */
    value = lua_tolstring(L, -1, &vlen);
    if (strlen(value) != vlen || strpbrk(value, "\r\n")) {
      const char *what = lua_pushfstring(L, "headers[\"%s\"]", name);
      lhttp_field_error(L, arg, what, "a string without CR, LF or NUL");
    }
    if (mc_headers_add(&r->headers, name, nlen, value, vlen) != 0)
      luaL_error(L, "out of memory");
    lua_pop(L, 2);
  }
}

/*
** Fill `r` from the req table at `arg`. Every value `r` points to stays on
** the stack above the table. Returns the stack index of a memory body string
** (0 when there is none). Raises, naming the field, on a wrong type.
*/
static int lhttp_read_request(lua_State *L, int arg, mc_request *r) {
  int t = arg, body_idx = 0;
  size_t len;
  const char *s;
  double v;
  luaL_checktype(L, arg, LUA_TTABLE);
  luaL_checkstack(L, 32, "req");

  s = lhttp_opt_string(L, arg, t, "method", NULL, NULL);
  r->method = s ? s : "GET";
  if (!lhttp_is_token(r->method)) lhttp_field_error(L, arg, "method", "an HTTP method name");
  r->url = lhttp_opt_string(L, arg, t, "url", NULL, NULL);
  if (!r->url) lhttp_field_error(L, arg, "url", "a string");
  if (strncasecmp(r->url, "http://", 7) != 0 && strncasecmp(r->url, "https://", 8) != 0)
    lhttp_field_error(L, arg, "url", "an http:// or https:// URL");
  if (strpbrk(r->url, " \r\n\t"))
    lhttp_field_error(L, arg, "url", "a URL without spaces or line breaks");

  lhttp_read_headers(L, arg, t, r);

  s = lhttp_opt_string(L, arg, t, "body", NULL, &len);
  if (s) {
    r->body.kind = MC_BODY_MEMORY;
    r->body.data = s;
    r->body.len = len;
    body_idx = lua_gettop(L);
  }
  lua_getfield(L, t, "body_file");
  if (!lua_isnil(L, -1)) {
    int bf = lua_gettop(L);
    if (!lua_istable(L, bf)) lhttp_field_error(L, arg, "body_file", "a table");
    if (r->body.kind != MC_BODY_NONE)
      lhttp_field_error(L, arg, "body_file", "absent when req.body is given");
    r->body.kind = MC_BODY_FILE;
    r->body.path = lhttp_opt_string(L, arg, bf, "path", "body_file.path", NULL);
    if (!r->body.path) lhttp_field_error(L, arg, "body_file.path", "a string");
    r->body.offset = 0;
    r->body.length = -1;
    lua_getfield(L, bf, "offset");
    if (!lua_isnil(L, -1)) r->body.offset = (int64_t)lhttp_pop_count(L, arg, "body_file.offset");
    else lua_pop(L, 1);
    lua_getfield(L, bf, "length");
    if (!lua_isnil(L, -1)) r->body.length = (int64_t)lhttp_pop_count(L, arg, "body_file.length");
    else lua_pop(L, 1);
  }

  r->sink_path = lhttp_opt_string(L, arg, t, "sink", NULL, NULL);
  r->cainfo = lhttp_opt_string(L, arg, t, "cainfo", NULL, NULL);

  v = lhttp_opt_seconds(L, arg, t, "timeout", MC_DEFAULT_TIMEOUT);
  r->timeout_ms = v > 0 ? (long)ceil(v * 1000.0) : 0;
  v = lhttp_opt_seconds(L, arg, t, "connect_timeout", MC_DEFAULT_CONNECT_TIMEOUT);
  r->connect_timeout_ms = v > 0 ? (long)ceil(v * 1000.0) : 0;
  v = lhttp_opt_seconds(L, arg, t, "stall_timeout", MC_DEFAULT_STALL_TIMEOUT);
  r->low_speed_time_s = v > 0 ? (long)ceil(v) : 0;
  r->low_speed_limit = 1;

  lua_getfield(L, t, "max_body");
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TNUMBER) lhttp_field_error(L, arg, "max_body", "a number");
    v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (!(v >= 1)) lhttp_field_error(L, arg, "max_body", "a positive number of bytes");
    r->max_body = v >= (double)SIZE_MAX ? SIZE_MAX : (size_t)v; /* huge: no cap */
  } else {
    lua_pop(L, 1);
  }
  return body_idx;
}

/* ---- pushing results --------------------------------------------------- */

static void lhttp_push_response(lua_State *L, const mc_response *res) {
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

static void lhttp_push_terr(lua_State *L, const mc_transport_error *e) {
  lua_createtable(L, 0, 3);
  lua_pushstring(L, mc_transport_kind_name(e->kind));
  lua_setfield(L, -2, "kind");
  lua_pushstring(L, e->message);
  lua_setfield(L, -2, "message");
  mc_pushint(L, e->code);
  lua_setfield(L, -2, "code");
}

/* ---- mediacdn.Easy ----------------------------------------------------- */

static mc_lua_easy *lhttp_check_easy(lua_State *L) {
  mc_lua_easy *u = (mc_lua_easy *)luaL_checkudata(L, 1, MC_EASY_MT);
  if (!u->open) luaL_error(L, "attempt to use a closed " MC_EASY_MT);
  return u;
}

/* core.easy(): the userdata exists (closed) before the CURL handle does. */
static int lhttp_easy_new(lua_State *L) {
  mc_lua_easy *u = (mc_lua_easy *)mc_newuserdata(L, sizeof *u);
  memset(u, 0, sizeof *u);
  mc_request_init(&u->req);
  mc_response_init(&u->res);
  luaL_getmetatable(L, MC_EASY_MT);
  lua_setmetatable(L, -2);
  if (mc_curl_easy_open(&u->easy) != 0) return luaL_error(L, "cannot create a curl handle");
  u->open = 1;
  return 1;
}

/* easy:perform(req) -> res | nil, terr */
static int lhttp_easy_perform(lua_State *L) {
  mc_lua_easy *u = lhttp_check_easy(L);
  mc_transport_error err;
  int rc;
  lua_settop(L, 2);
  mc_request_free(&u->req);
  mc_request_init(&u->req);
  mc_response_free(&u->res);
  mc_response_init(&u->res);
  lhttp_read_request(L, 2, &u->req);
  rc = mc_curl_easy_perform(&u->easy, &u->req, &u->res, &err);
  mc_request_free(&u->req); /* drop pointers into Lua strings */
  mc_request_init(&u->req);
  if (rc != 0) {
    mc_response_free(&u->res);
    lua_pushnil(L);
    lhttp_push_terr(L, &err);
    return 2;
  }
  lhttp_push_response(L, &u->res);
  mc_response_free(&u->res);
  return 1;
}

/* close / __gc / __close: idempotent */
static int lhttp_easy_close(lua_State *L) {
  mc_lua_easy *u = (mc_lua_easy *)luaL_checkudata(L, 1, MC_EASY_MT);
  if (u->open) {
    mc_curl_easy_close(&u->easy);
    u->open = 0;
  }
  mc_request_free(&u->req);
  mc_request_init(&u->req);
  mc_response_free(&u->res);
  return 0;
}

static int lhttp_easy_tostring(lua_State *L) {
  mc_lua_easy *u = (mc_lua_easy *)luaL_checkudata(L, 1, MC_EASY_MT);
  if (u->open) lua_pushfstring(L, MC_EASY_MT " (%p)", (void *)u);
  else lua_pushliteral(L, MC_EASY_MT " (closed)");
  return 1;
}

/* ---- mediacdn.Multi ---------------------------------------------------- */

static mc_lua_multi *lhttp_check_multi(lua_State *L) {
  mc_lua_multi *u = (mc_lua_multi *)luaL_checkudata(L, 1, MC_MULTI_MT);
  if (!u->multi) luaL_error(L, "attempt to use a closed " MC_MULTI_MT);
  return u;
}

/* A transfer id as a Lua value (exact up to 2^53 on LuaJIT). */
static int64_t lhttp_check_id(lua_State *L, int arg) {
  double v = luaL_checknumber(L, arg);
  if (!(v >= 1) || v != floor(v) || v > 9007199254740992.0)
    luaL_argerror(L, arg, "transfer id expected");
  return (int64_t)v;
}

/* refs[id] = value at top (popped); refs is the uservalue table. */
static void lhttp_set_ref(lua_State *L, int ud, int64_t id) {
  lhttp_getuv(L, ud);
  lua_insert(L, -2);
  lua_rawseti(L, -2, (int)id);
  lua_pop(L, 1);
}

static void lhttp_clear_ref(lua_State *L, int ud, int64_t id) {
  lua_pushnil(L);
  lhttp_set_ref(L, ud, id);
}

/* core.multi(): userdata and its ref table first, then the native set. */
static int lhttp_multi_new(lua_State *L) {
  mc_lua_multi *u = (mc_lua_multi *)mc_newuserdata(L, sizeof *u);
  memset(u, 0, sizeof *u);
  mc_request_init(&u->req);
  luaL_getmetatable(L, MC_MULTI_MT);
  lua_setmetatable(L, -2);
  lua_newtable(L); /* refs: transfer id -> borrowed body string */
  lhttp_setuv(L, -2);
  u->multi = mc_multi_new();
  if (!u->multi) return luaL_error(L, "cannot create a curl multi handle");
  return 1;
}

/* multi:add(req) -> id | nil, terr */
static int lhttp_multi_add(lua_State *L) {
  mc_lua_multi *u = lhttp_check_multi(L);
  mc_transport_error err;
  int64_t id = 0;
  int body_idx;
  lua_settop(L, 2);
  mc_request_free(&u->req);
  mc_request_init(&u->req);
  body_idx = lhttp_read_request(L, 2, &u->req);
  if (body_idx) {
    /* the transfer borrows the body: anchor it under the id it will get,
    ** before starting it (the only step here that could raise) */
    lua_pushvalue(L, body_idx);
    lhttp_set_ref(L, 1, mc_multi_next_id(u->multi));
  }
  if (mc_multi_add(u->multi, &u->req, 0, &id, &err) != 0) {
    if (body_idx) lhttp_clear_ref(L, 1, mc_multi_next_id(u->multi));
    mc_request_free(&u->req);
    mc_request_init(&u->req);
    lua_pushnil(L);
    lhttp_push_terr(L, &err);
    return 2;
  }
  mc_request_free(&u->req); /* the transfer owns its copy */
  mc_request_init(&u->req);
  mc_pushint(L, id);
  return 1;
}

static int lhttp_multi_fd(lua_State *L) {
  mc_lua_multi *u = lhttp_check_multi(L);
  mc_pushint(L, mc_multi_fd(u->multi));
  return 1;
}

static int lhttp_multi_timeout(lua_State *L) {
  mc_lua_multi *u = lhttp_check_multi(L);
  mc_pushint(L, mc_multi_timeout(u->multi));
  return 1;
}

/* multi:step([wait_ms]) -> number of finished transfers queued */
static int lhttp_multi_step(lua_State *L) {
  mc_lua_multi *u = lhttp_check_multi(L);
  lua_Number w = luaL_optnumber(L, 2, 0);
  int wait_ms = !(w > 0) ? 0 : w > 0x7fffffff ? 0x7fffffff : (int)ceil(w);
  mc_pushint(L, mc_multi_step(u->multi, wait_ms));
  return 1;
}

/* multi:done() -> id, res, nil | id, nil, terr | nil. The result stays
** queued until it has been pushed, so a raise while pushing loses nothing. */
static int lhttp_multi_done(lua_State *L) {
  mc_lua_multi *u = lhttp_check_multi(L);
  const mc_multi_result *r = mc_multi_peek(u->multi);
  if (!r) {
    lua_pushnil(L);
    return 1;
  }
  lua_settop(L, 1);
  mc_pushint(L, r->id);
  if (r->err.kind == MC_TERR_NONE) {
    lhttp_push_response(L, &r->res);
    lua_pushnil(L);
  } else {
    lua_pushnil(L);
    lhttp_push_terr(L, &r->err);
  }
  lhttp_clear_ref(L, 1, r->id);
  mc_multi_pop(u->multi);
  return 3;
}

/* multi:cancel(id) -> true when the transfer existed */
static int lhttp_multi_cancel(lua_State *L) {
  mc_lua_multi *u = lhttp_check_multi(L);
  int64_t id = lhttp_check_id(L, 2);
  int found = mc_multi_cancel(u->multi, id);
  if (found) lhttp_clear_ref(L, 1, id);
  lua_pushboolean(L, found);
  return 1;
}

static int lhttp_multi_count(lua_State *L) {
  mc_lua_multi *u = lhttp_check_multi(L);
  mc_pushint(L, mc_multi_running(u->multi));
  return 1;
}

/* close / __gc / __close: abort everything, release the body refs. */
static int lhttp_multi_close(lua_State *L) {
  mc_lua_multi *u = (mc_lua_multi *)luaL_checkudata(L, 1, MC_MULTI_MT);
  if (u->multi) {
    mc_multi_free(u->multi);
    u->multi = NULL;
  }
  mc_request_free(&u->req);
  mc_request_init(&u->req);
  lua_settop(L, 1);
  lhttp_getuv(L, 1);
  if (lua_istable(L, 2)) { /* clearing existing keys never allocates */
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
      lua_pop(L, 1);
      lua_pushvalue(L, -1);
      lua_pushnil(L);
      lua_rawset(L, 2);
    }
  }
  return 0;
}

static int lhttp_multi_tostring(lua_State *L) {
  mc_lua_multi *u = (mc_lua_multi *)luaL_checkudata(L, 1, MC_MULTI_MT);
  if (u->multi) lua_pushfstring(L, MC_MULTI_MT " (%p)", (void *)u);
  else lua_pushliteral(L, MC_MULTI_MT " (closed)");
  return 1;
}

/* ---- clocks ------------------------------------------------------------ */

static double lhttp_clock(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int lhttp_now(lua_State *L) {
  lua_pushnumber(L, lhttp_clock(CLOCK_REALTIME));
  return 1;
}

static int lhttp_monotonic(lua_State *L) {
  lua_pushnumber(L, lhttp_clock(CLOCK_MONOTONIC));
  return 1;
}

/* core.sleep(seconds): blocking, resumes after signals until the time is up. */
static int lhttp_sleep(lua_State *L) {
  double s = luaL_checknumber(L, 1);
  struct timespec req, rem;
  if (!(s >= 0) || s > MC_MAX_SECONDS) return luaL_argerror(L, 1, "non-negative number of seconds expected");
  req.tv_sec = (time_t)s;
  req.tv_nsec = (long)((s - (double)req.tv_sec) * 1e9);
  if (req.tv_nsec >= 1000000000L) req.tv_nsec = 999999999L;
  while (nanosleep(&req, &rem) != 0 && errno == EINTR) req = rem;
  return 0;
}

/* ---- registration ------------------------------------------------------ */

/* Create metatable `name` with __index = methods and the shared finalizer. */
static void lhttp_new_type(lua_State *L, const char *name, const luaL_Reg *methods,
                             lua_CFunction close_fn, lua_CFunction tostring_fn) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_pushcfunction(L, close_fn);
  lua_setfield(L, -2, "close");
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, close_fn);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, close_fn);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, tostring_fn);
  lua_setfield(L, -2, "__tostring");
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}

void mc_lua_register_http(lua_State *L) {
  static const luaL_Reg easy_methods[] = {
    {"perform", lhttp_easy_perform},
    {NULL, NULL}
  };
  static const luaL_Reg multi_methods[] = {
    {"add", lhttp_multi_add},
    {"fd", lhttp_multi_fd},
    {"timeout", lhttp_multi_timeout},
    {"step", lhttp_multi_step},
    {"done", lhttp_multi_done},
    {"cancel", lhttp_multi_cancel},
    {"count", lhttp_multi_count},
    {NULL, NULL}
  };
  static const luaL_Reg fns[] = {
    {"easy", lhttp_easy_new},
    {"multi", lhttp_multi_new},
    {"sleep", lhttp_sleep},
    {"now", lhttp_now},
    {"monotonic", lhttp_monotonic},
    {NULL, NULL}
  };
  lhttp_new_type(L, MC_EASY_MT, easy_methods, lhttp_easy_close, lhttp_easy_tostring);
  lhttp_new_type(L, MC_MULTI_MT, multi_methods, lhttp_multi_close, lhttp_multi_tostring);
  luaL_setfuncs(L, fns, 0);
}
