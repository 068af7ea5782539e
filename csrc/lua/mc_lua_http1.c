/*
** mc_lua_http1.c — binding of mc_http1 (HTTP/1.1 framing, sans-I/O) for
** transports that move the bytes themselves (lua/mediacdn/transport/resty.lua).
**
**   core.http1.request(req [, file_size])
**       -> head, origin, body, length, offset, close | nil, terr
**       Validates req exactly as core.easy/multi do (the same reader: misuse
**       raises naming the field) and frames it: head = "GET / HTTP/1.1\r\n...";
**       origin = { https, host, port, connect_host, authority, is_ip }, one
**       table per scheme/host/port shared by every request to it (read only);
**       body = "none"|"string"|"file"|"parts"; length: the Content-Length
**       (nil: none); offset: the body_file offset (nil otherwise); close: the
**       caller sent Connection: close. The limits (timeout, connect_timeout,
**       stall_timeout, max_body) are checked here and read by the caller
**       from req, unset ones from core.defaults.
**       file_size: the size of req.body_file.path, required for a file body;
**       a range outside the file gives nil, terr (kind "local").
**   core.http1.response(method [, has_sink [, max_body]]) -> mediacdn.Http1Response
**       p:feed(data [, take]) -> state, sink_bytes, want [, result...] | nil, terr
**                         state "head" | "body" | "done"; sink_bytes: body bytes
**                         the caller writes to its sink (2xx with a sink), else
**                         nil; want: as p:want() after this feed. With take,
**                         a feed that completes the response also returns
**                         p:result()'s six values (and so hands it over)
**       p:eof()        -> true | nil, terr   (the server closed the connection)
**       p:head()       -> status, headers, to_sink | nil (head not complete)
**       p:body()       -> the in-memory body ("" when none; nil when sunk)
**       p:bytes()      -> body bytes received
**       p:want()       -> bytes the current frame still expects, or nil
**       p:keep_alive() -> whether the connection may be reused (once done)
**       p:result()     -> status, headers, body, bytes, keep_alive, to_sink
**                         | nil (head not complete): all of the above in one
**                         call (body nil when sunk); the response is then
**                         handed over: the parser frees it and starts again
**                         as core.http1.response("GET") would make it
**       p:reset(method [, has_sink [, max_body]]) -> p
**                         ready for the next response (the buffers are freed
**                         and the parser starts again), so a transport can
**                         keep a parser per connection instead of one per call
**       p:close()      -- idempotent; also __gc, __close
*/
#include "mc_lua.h"
#include "mc_defaults.h"
#include "mc_http.h"
#include "mc_http1.h"

#include <string.h>

/* Scratch request owned by a userdata: a raise while reading leaks nothing.
** One per Lua state is kept (an upvalue of core.http1.request) and reused
** (lh1_scratch_get). */
typedef struct lh1_scratch {
  mc_lua_handle h;
  mc_request req;
  int busy;          /* a call is using it (see lh1_scratch_get) */
} lh1_scratch;

typedef struct lh1_parser {
  mc_lua_handle h;
  mc_http1_parser p;
} lh1_parser;

static void lh1_scratch_release(lua_State *L, void *ud) {
  (void)L;
  mc_request_free(&((lh1_scratch *)ud)->req);
}

static void lh1_parser_release(lua_State *L, void *ud) {
  (void)L;
  mc_http1_parser_free(&((lh1_parser *)ud)->p);
}

static const mc_lua_class lh1_scratch_class = {"mediacdn.Http1Request", NULL,
                                               lh1_scratch_release};
static const mc_lua_class lh1_parser_class; /* defined with its methods, below */

/* Push {kind, message, code} of a framing error. */
static void lh1_push_error(lua_State *L, const mc_http1_error *e) {
  mc_transport_error te;
  mc_transport_error_set(&te, e->kind, e->code, "%s", e->message);
  mc_lua_push_terr(L, &te);
}

/* Strings the request function returns, made once per Lua state (upvalue 1)
** so a call interns none: the body kinds, then the origin field names. */
static const char *const lh1_strings[] = {
  "none", "string", "file", "parts",
  "https", "host", "port", "connect_host", "authority", "is_ip", NULL
};
enum { LH1_NONE = 1, LH1_STRING, LH1_FILE, LH1_PARTS, LH1_HTTPS, LH1_HOST, LH1_PORT,
       LH1_CONNECT_HOST, LH1_AUTHORITY, LH1_IS_IP, LH1_NSTRINGS = LH1_IS_IP };

/* core.http1.request is a C closure: upvalue 1 is the list of those strings,
** upvalue 2 the cached scratch request (lh1_scratch_get), upvalue 3 the
** origins made so far (lh1_origin). */
#define LH1_KEYS lua_upvalueindex(1)
#define LH1_SCRATCH lua_upvalueindex(2)
#define LH1_ORIGINS lua_upvalueindex(3)
#define LH1_MAX_ORIGINS 64 /* then the cache starts again (few services, few hosts) */

/* Push the list of strings. */
static void lh1_push_keys(lua_State *L) {
  int i;
  lua_createtable(L, LH1_NSTRINGS, 0);
  for (i = 0; lh1_strings[i]; i++) {
    lua_pushstring(L, lh1_strings[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

/* t[strings[k]] = v, v pushed by the caller between lh1_key and lh1_put:
**   lh1_key(L, k); push v; lh1_put(L, t); */
#define lh1_key(L, k) lua_rawgeti((L), LH1_KEYS, (k))
#define lh1_put(L, t) lua_rawset((L), (t))

/* t[strings[k]] = s (a C string) */
static void lh1_set_string(lua_State *L, int t, int k, const char *s) {
  lh1_key(L, k);
  lua_pushstring(L, s);
  lh1_put(L, t);
}

/* t[strings[k]] = v ~= 0 */
static void lh1_set_bool(lua_State *L, int t, int k, int v) {
  lh1_key(L, k);
  lua_pushboolean(L, v);
  lh1_put(L, t);
}

/*
** Push the origin table of u — {https, host, port, connect_host, authority,
** is_ip} — the same table for every request to one scheme/host/port (made
** on first use, kept in upvalue 3 under "http:" or "https:" + authority), so
** a request builds none and a transport may key its per-origin state on it.
*/
static void lh1_origin(lua_State *L, const mc_http1_url *u) {
  char key[sizeof u->authority + 8];
  int origin, n;
  size_t alen = strlen(u->authority);
  memcpy(key, u->https ? "https:" : "http:", u->https ? 6 : 5);
  memcpy(key + (u->https ? 6 : 5), u->authority, alen);
  lua_pushlstring(L, key, alen + (u->https ? 6 : 5));
  lua_pushvalue(L, -1);
  lua_rawget(L, LH1_ORIGINS);
  if (!lua_isnil(L, -1)) {
    lua_replace(L, -2);
    return;
  }
  lua_pop(L, 1);
  n = (int)lua_tointeger(L, lua_upvalueindex(4)) + 1;
  if (n > LH1_MAX_ORIGINS) { /* many hosts: start again rather than grow */
    lua_newtable(L);
    lua_replace(L, LH1_ORIGINS);
    n = 1;
  }
  lua_pushinteger(L, n);
  lua_replace(L, lua_upvalueindex(4));
  lua_createtable(L, 0, 6);
  origin = lua_gettop(L);
  lh1_set_bool(L, origin, LH1_HTTPS, u->https);
  lh1_set_string(L, origin, LH1_HOST, u->host);
  lh1_key(L, LH1_PORT);
  mc_pushint(L, u->port);
  lh1_put(L, origin);
  lh1_set_string(L, origin, LH1_CONNECT_HOST, u->connect_host);
  lh1_set_string(L, origin, LH1_AUTHORITY, u->authority);
  lh1_set_bool(L, origin, LH1_IS_IP, u->is_ip);
  lua_pushvalue(L, -2); /* key */
  lua_pushvalue(L, origin);
  lua_rawset(L, LH1_ORIGINS);
  lua_replace(L, -2); /* the origin where the key was */
}

/*
** The scratch request of this call, left at the top of the stack: the Lua
** state's cached one, or a new one (made the cached one) when that is busy —
** a call that raised while reading its req leaves its scratch busy, to be
** freed by its __gc once nothing refers to it.
*/
static lh1_scratch *lh1_scratch_get(lua_State *L) {
  lh1_scratch *sc;
  lua_pushvalue(L, LH1_SCRATCH);
  sc = (lh1_scratch *)lua_touserdata(L, -1); /* only this file sets the upvalue */
  if (sc && !sc->busy) {
    sc->busy = 1;
    return sc;
  }
  lua_pop(L, 1);
  sc = (lh1_scratch *)mc_lua_handle_new(L, &lh1_scratch_class, sizeof *sc);
  mc_request_init(&sc->req);
  sc->h.open = 1;
  sc->busy = 1;
  lua_pushvalue(L, -1);
  lua_replace(L, LH1_SCRATCH);
  return sc;
}

/* Done with the scratch: ready for the next call, its header list emptied
** but keeping its memory (freed by the scratch's __gc). */
static void lh1_scratch_done(lh1_scratch *sc) {
  mc_headers headers = sc->req.headers;
  mc_headers_clear(&headers);
  mc_request_init(&sc->req);
  sc->req.headers = headers;
  sc->busy = 0;
}

/* The Content-Length to send: -1 none. Returns 0, or -1 with err (range). */
static int lh1_body_length(lua_State *L, const mc_request *r, int64_t *len, mc_http1_error *err) {
  if (r->body.kind == MC_BODY_MEMORY) {
    *len = (int64_t)r->body.len;
  } else if (r->body.kind == MC_BODY_PARTS) {
    *len = mc_body_parts_length(&r->body); /* the caller checks each file part's range */
  } else if (r->body.kind == MC_BODY_FILE) {
    double size;
    if (lua_type(L, 2) != LUA_TNUMBER)
      luaL_argerror(L, 2, "file_size (a number) expected for a body_file request");
    size = lua_tonumber(L, 2);
    if (!(size >= 0)) luaL_argerror(L, 2, "file_size must be non-negative");
    return mc_http1_body_range(r->body.path, r->body.offset, r->body.length, (int64_t)size, len,
                               err);
  } else {
    *len = mc_http1_empty_body_counts(r->method) ? 0 : -1;
  }
  return 0;
}

#define LH1_HEAD_STACK 1024 /* heads up to this size are written on the C stack */

/*
** core.http1.request(req [, file_size]) -> head, origin, body, length, offset, close
**                                         | nil, terr
** (docs/internals.md): several values, no plan table — a request pushes the
** head string and nothing else it must make.
*/
static int lh1_request(lua_State *L) {
  lh1_scratch *sc;
  mc_http1_url u;
  mc_http1_error err;
  int64_t body_len;
  size_t need;
  char small[LH1_HEAD_STACK];
  char *head = small;
  int kind;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  sc = lh1_scratch_get(L); /* index 3 */
  mc_lua_read_request(L, 1, &sc->req, &u);
  if (lh1_body_length(L, &sc->req, &body_len, &err) != 0) {
    lh1_scratch_done(sc);
    lua_pushnil(L);
    lh1_push_error(L, &err);
    return 2;
  }
  need = mc_http1_write_head(&sc->req, &u, body_len, small, sizeof small);
  if (need >= sizeof small) {
    head = (char *)lua_newuserdata(L, need + 1);
    mc_http1_write_head(&sc->req, &u, body_len, head, need + 1);
  }
  lua_pushlstring(L, head, need);
  lh1_origin(L, &u);
  kind = sc->req.body.kind == MC_BODY_MEMORY ? LH1_STRING
       : sc->req.body.kind == MC_BODY_FILE ? LH1_FILE
       : sc->req.body.kind == MC_BODY_PARTS ? LH1_PARTS : LH1_NONE;
  lh1_key(L, kind);
  if (body_len >= 0) mc_pushint(L, body_len);
  else lua_pushnil(L);
  if (sc->req.body.kind == MC_BODY_FILE) mc_pushint(L, sc->req.body.offset);
  else lua_pushnil(L);
  lua_pushboolean(L, mc_http1_has_token(mc_headers_get(&sc->req.headers, "Connection"), "close"));
  lh1_scratch_done(sc);
  return 6;
}

/* ---- mediacdn.Http1Response -------------------------------------------- */

/* The parser options at arg, arg+1, arg+2: method, has_sink, max_body
** (raises on misuse before anything changes). */
static const char *lh1_parser_opts(lua_State *L, int arg, int *has_sink, size_t *max_body) {
  const char *method = luaL_checkstring(L, arg);
  lua_Number max = luaL_optnumber(L, arg + 2, (lua_Number)MC_DEFAULT_MAX_BODY);
  luaL_argcheck(L, max >= 1, arg + 2, "max_body must be a positive number of bytes");
  *has_sink = lua_toboolean(L, arg + 1);
  *max_body = max >= (lua_Number)SIZE_MAX ? SIZE_MAX : (size_t)max;
  return method;
}

/* Start again as response(method, ...) would, keeping the buffers of the
** last response (mc_http1_parser_reuse). */
static void lh1_restart(mc_http1_parser *p, const char *method, int has_sink, size_t max_body) {
  mc_http1_parser_reuse(p, method, has_sink, max_body);
}

/* core.http1.response(method [, has_sink [, max_body]]) */
static int lh1_response(lua_State *L) {
  lh1_parser *u;
  const char *method;
  int has_sink;
  size_t max_body;
  lua_settop(L, 3); /* the userdata goes above the arguments */
  method = lh1_parser_opts(L, 1, &has_sink, &max_body);
  u = (lh1_parser *)mc_lua_handle_new(L, &lh1_parser_class, sizeof *u);
  mc_http1_parser_init(&u->p, method, has_sink, max_body);
  u->h.open = 1;
  return 1;
}

static mc_http1_parser *lh1_check(lua_State *L) {
  return &((lh1_parser *)mc_lua_handle_check(L, 1, &lh1_parser_class))->p;
}

/* p:reset(method [, has_sink [, max_body]]) -> p: free what the last
** response left and start again (checked before anything is freed). */
static int lh1_reset(lua_State *L) {
  mc_http1_parser *p = lh1_check(L);
  int has_sink;
  size_t max_body;
  const char *method = lh1_parser_opts(L, 2, &has_sink, &max_body);
  lh1_restart(p, method, has_sink, max_body);
  lua_settop(L, 1);
  return 1;
}

static const char *lh1_state_name(const mc_http1_parser *p) {
  if (p->state == MC_HTTP1_S_HEAD) return "head";
  if (p->state == MC_HTTP1_S_DONE) return "done";
  return "body";
}

static int lh1_push_result(lua_State *L, mc_http1_parser *p);

/* p:feed(data [, take]) -> state, sink_bytes, want [, result...] | nil, terr
** (take: when this completes the response, p:result()'s values follow) */
static int lh1_feed(lua_State *L) {
  mc_http1_parser *p = lh1_check(L);
  size_t len, off = 0, first_len = 0;
  const char *data = luaL_checklstring(L, 2, &len);
  const char *first = NULL;
  int pieces = 0, take = lua_toboolean(L, 3);
  luaL_Buffer b;
  lua_settop(L, 2);
  while (off < len) {
    const char *seg;
    size_t seglen;
    long n = mc_http1_parser_feed(p, data + off, len - off, &seg, &seglen);
    if (n < 0) {
      lua_settop(L, 2);
      lua_pushnil(L);
      lh1_push_error(L, &p->err);
      return 2;
    }
    if (seglen > 0) {
      if (pieces == 0) {
        first = seg;
        first_len = seglen;
      } else {
        if (pieces == 1) {
          luaL_buffinit(L, &b);
          luaL_addlstring(&b, first, first_len);
        }
        luaL_addlstring(&b, seg, seglen);
      }
      pieces++;
    }
    off += (size_t)n;
  }
  if (pieces > 1) luaL_pushresult(&b);
  lua_pushstring(L, lh1_state_name(p));
  if (pieces > 1) {
    lua_insert(L, -2);
  } else if (pieces == 1 && first == data && first_len == len) {
    lua_pushvalue(L, 2); /* all of it: no copy */
  } else if (pieces == 1) {
    lua_pushlstring(L, first, first_len);
  } else {
    lua_pushnil(L);
  }
  {
    int64_t w = mc_http1_parser_want(p);
    if (w < 0) lua_pushnil(L);
    else mc_pushint(L, w);
  }
  if (take && p->state == MC_HTTP1_S_DONE) return 3 + lh1_push_result(L, p);
  return 3;
}

/* p:eof() -> true | nil, terr */
static int lh1_eof(lua_State *L) {
  mc_http1_parser *p = lh1_check(L);
  if (mc_http1_parser_eof(p) != 0) {
    lua_pushnil(L);
    lh1_push_error(L, &p->err);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* Push the parser's headers as a table: names are lower case and each
** header is "name\0value\0" (mc_headers_add), so no length is counted. */
static void lh1_push_headers(lua_State *L, const mc_headers *h) {
  size_t i;
  lua_createtable(L, 0, (int)h->count);
  for (i = 0; i < h->count; i++) {
    const mc_header *it = &h->items[i];
    size_t nlen = (size_t)(it->value - it->name) - 1;
    lua_pushlstring(L, it->name, nlen);
    lua_pushstring(L, it->value);
    lua_rawset(L, -3);
  }
}

/* p:head() -> status, headers, to_sink | nil */
static int lh1_head(lua_State *L) {
  mc_http1_parser *p = lh1_check(L);
  if (p->state == MC_HTTP1_S_HEAD || p->state == MC_HTTP1_S_FAILED) {
    lua_pushnil(L);
    return 1;
  }
  mc_pushint(L, p->res.status);
  lh1_push_headers(L, &p->res.headers);
  lua_pushboolean(L, p->to_sink);
  return 3;
}

/* p:body() -> the in-memory body, nil when it went to the sink */
static int lh1_body(lua_State *L) {
  mc_http1_parser *p = lh1_check(L);
  if (p->to_sink) lua_pushnil(L);
  else lua_pushlstring(L, p->res.body ? p->res.body : "", p->res.body_len);
  return 1;
}

static int lh1_bytes(lua_State *L) {
  mc_pushint(L, lh1_check(L)->res.bytes_received);
  return 1;
}

static int lh1_want(lua_State *L) {
  int64_t w = mc_http1_parser_want(lh1_check(L));
  if (w < 0) lua_pushnil(L);
  else mc_pushint(L, w);
  return 1;
}

static int lh1_keep_alive(lua_State *L) {
  mc_http1_parser *p = lh1_check(L);
  lua_pushboolean(L, p->state == MC_HTTP1_S_DONE && p->keep_alive);
  return 1;
}

/* Push status, headers, body, bytes, keep_alive, to_sink of a parser past
** its head, and start it again as response("GET") (the Lua values are
** copies). Returns 6. */
static int lh1_push_result(lua_State *L, mc_http1_parser *p) {
  mc_pushint(L, p->res.status);
  lh1_push_headers(L, &p->res.headers);
  if (p->to_sink) lua_pushnil(L);
  else lua_pushlstring(L, p->res.body ? p->res.body : "", p->res.body_len);
  mc_pushint(L, p->res.bytes_received);
  lua_pushboolean(L, p->state == MC_HTTP1_S_DONE && p->keep_alive);
  lua_pushboolean(L, p->to_sink);
  lh1_restart(p, "GET", 0, MC_DEFAULT_MAX_BODY);
  return 6;
}

/* p:result() -> status, headers, body, bytes, keep_alive, to_sink | nil;
** the parser then starts again (see the head of this file). */
static int lh1_result(lua_State *L) {
  mc_http1_parser *p = lh1_check(L);
  if (p->state == MC_HTTP1_S_HEAD || p->state == MC_HTTP1_S_FAILED) {
    lua_pushnil(L);
    return 1;
  }
  return lh1_push_result(L, p);
}

static const luaL_Reg lh1_parser_methods[] = {
  {"feed", lh1_feed},
  {"eof", lh1_eof},
  {"head", lh1_head},
  {"body", lh1_body},
  {"bytes", lh1_bytes},
  {"want", lh1_want},
  {"keep_alive", lh1_keep_alive},
  {"result", lh1_result},
  {"reset", lh1_reset},
  {NULL, NULL}
};

static const mc_lua_class lh1_parser_class = {"mediacdn.Http1Response", lh1_parser_methods,
                                              lh1_parser_release};

void mc_lua_register_http1(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"response", lh1_response},
    {NULL, NULL}
  };
  mc_lua_class_register(L, &lh1_scratch_class);
  mc_lua_class_register(L, &lh1_parser_class);
  lua_createtable(L, 0, 2);
  luaL_setfuncs(L, fns, 0);
  lh1_push_keys(L);
  lua_pushnil(L);     /* no scratch request yet */
  lua_newtable(L);    /* no origin yet */
  lua_pushinteger(L, 0); /* how many */
  lua_pushcclosure(L, lh1_request, 4);
  lua_setfield(L, -2, "request");
  lua_setfield(L, -2, "http1");
}
