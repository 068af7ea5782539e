/*
** mc_lua_curl.c — the libcurl transport (csrc/curl) as Lua userdata.
**
**   core.easy()  -> mediacdn.Easy   (blocking; perform, close)
**   core.multi() -> mediacdn.Multi  (pollable; add, fd, timeout, step, done,
**                                    cancel, count, progress, close)
** req.on_progress(sent, received) is called during a blocking perform (under
** lua_pcall from libcurl's progress callback; see lcurl_progress_hook); a
** Multi reports the counts through multi:progress(id) instead.
**
** Requests arrive as `req` tables (docs/internals.md), read and validated once
** by mc_lua_read_request into an mc_request whose strings point into the
** table's values; those values stay on the Lua stack while the request is
** read and performed, so they cannot be collected. A Multi keeps each
** borrowed body string in its uservalue table until the transfer is done or
** cancelled. The only Lua that runs inside a libcurl callback is
** req.on_progress, under lua_pcall; everything else may raise safely, and
** native memory that a raise could strand is owned by the userdata (scratch
** request/response) instead.
*/
#include "mc_lua.h"
#include "mc_http.h"
#include "mc_curl_easy.h"
#include "mc_curl_multi.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#if LUA_VERSION_NUM >= 504
#define lcurl_getuv(L, i) lua_getiuservalue(L, (i), 1)
#define lcurl_setuv(L, i) lua_setiuservalue(L, (i), 1)
#elif LUA_VERSION_NUM >= 502
#define lcurl_getuv(L, i) lua_getuservalue(L, (i))
#define lcurl_setuv(L, i) lua_setuservalue(L, (i))
#else
#define lcurl_getuv(L, i) lua_getfenv(L, (i))
#define lcurl_setuv(L, i) lua_setfenv(L, (i))
#endif

typedef struct lcurl_easy {
  mc_lua_handle h;   /* first: open once the CURL handle exists */
  mc_curl_easy easy;
  mc_request req;    /* scratch: owned header copies survive a raise */
  mc_response res;
} lcurl_easy;

typedef struct lcurl_multi {
  mc_lua_handle h;   /* first: open once the multi set exists */
  mc_multi *multi;
  mc_request req;
} lcurl_multi;

static const mc_lua_class lcurl_easy_class;   /* defined with the methods, below */
static const mc_lua_class lcurl_multi_class;

/* ---- mediacdn.Easy ----------------------------------------------------- */

/* core.easy(): the userdata exists (closed) before the CURL handle does. */
static int lcurl_easy_new(lua_State *L) {
  lcurl_easy *u = (lcurl_easy *)mc_lua_handle_new(L, &lcurl_easy_class, sizeof *u);
  mc_request_init(&u->req);
  mc_response_init(&u->res);
  if (mc_curl_easy_open(&u->easy) != 0) return luaL_error(L, "cannot create a curl handle");
  u->h.open = 1;
  return 1;
}

/* req.on_progress during a blocking perform: libcurl calls the hook often; the
** Lua function runs under lua_pcall (never a raise through libcurl) at most
** every 50 ms and only when a count moved. Its error aborts the transfer and
** is raised again once libcurl has returned. */
typedef struct lcurl_progress {
  lua_State *L;
  int fn;                 /* stack index of the function */
  int err;                /* stack index of the error it raised, 0 when none */
  double last;
  int64_t up, down;
} lcurl_progress;

static double lcurl_monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int lcurl_progress_hook(void *ud, int64_t up, int64_t down) {
  lcurl_progress *p = (lcurl_progress *)ud;
  double now;
  if (up == p->up && down == p->down) return 0;
  now = lcurl_monotonic();
  if (now - p->last < 0.05) return 0;
  p->last = now;
  p->up = up;
  p->down = down;
  lua_pushvalue(p->L, p->fn);
  mc_pushint(p->L, up);
  mc_pushint(p->L, down);
  if (lua_pcall(p->L, 2, 0, 0) != 0) {
    p->err = lua_gettop(p->L); /* the error stays on the stack until perform raises it */
    return 1;
  }
  return 0;
}

/* easy:perform(req) -> res | nil, terr */
static int lcurl_easy_perform(lua_State *L) {
  lcurl_easy *u = (lcurl_easy *)mc_lua_handle_check(L, 1, &lcurl_easy_class);
  mc_transport_error err;
  lcurl_progress prog;
  int rc;
  lua_settop(L, 2);
  mc_request_free(&u->req);
  mc_request_init(&u->req);
  mc_response_free(&u->res);
  mc_response_init(&u->res);
  mc_lua_read_request(L, 2, &u->req, NULL);
  memset(&prog, 0, sizeof prog);
  lua_getfield(L, 2, "on_progress");
  if (lua_isfunction(L, -1)) {
    prog.L = L;
    prog.fn = lua_gettop(L);
    prog.up = prog.down = -1;
    u->easy.progress = lcurl_progress_hook;
    u->easy.progress_ud = &prog;
  } else if (!lua_isnil(L, -1)) {
    return luaL_error(L, "bad argument #1 to 'perform' (req.on_progress must be a function)");
  }
  rc = mc_curl_easy_perform(&u->easy, &u->req, &u->res, &err);
  u->easy.progress = NULL;
  u->easy.progress_ud = NULL;
  mc_request_free(&u->req); /* drop pointers into Lua strings */
  mc_request_init(&u->req);
  if (prog.err) { /* the callback raised: so does perform, now that libcurl returned */
    mc_response_free(&u->res);
    lua_pushvalue(L, prog.err);
    return lua_error(L);
  }
  if (rc != 0) {
    mc_response_free(&u->res);
    lua_pushnil(L);
    mc_lua_push_terr(L, &err);
    return 2;
  }
  mc_lua_push_response(L, &u->res);
  mc_response_free(&u->res);
  return 1;
}

/* close / __gc / __close (through mc_lua_class): free the handle and scratch. */
static void lcurl_easy_release(lua_State *L, void *ud) {
  lcurl_easy *u = (lcurl_easy *)ud;
  (void)L;
  mc_curl_easy_close(&u->easy);
  mc_request_free(&u->req);
  mc_request_init(&u->req);
  mc_response_free(&u->res);
}

/* ---- mediacdn.Multi ---------------------------------------------------- */

/* A transfer id as a Lua value (exact up to 2^53 on LuaJIT). */
static int64_t lcurl_check_id(lua_State *L, int arg) {
  double v = luaL_checknumber(L, arg);
  if (!(v >= 1) || v != floor(v) || v > 9007199254740992.0)
    luaL_argerror(L, arg, "transfer id expected");
  return (int64_t)v;
}

/* refs[id] = value at top (popped); refs is the uservalue table. */
static void lcurl_set_ref(lua_State *L, int ud, int64_t id) {
  lcurl_getuv(L, ud);
  lua_insert(L, -2);
  lua_rawseti(L, -2, (int)id);
  lua_pop(L, 1);
}

static void lcurl_clear_ref(lua_State *L, int ud, int64_t id) {
  lua_pushnil(L);
  lcurl_set_ref(L, ud, id);
}

/* core.multi(): userdata and its ref table first, then the native set. */
static int lcurl_multi_new(lua_State *L) {
  lcurl_multi *u = (lcurl_multi *)mc_lua_handle_new(L, &lcurl_multi_class, sizeof *u);
  mc_request_init(&u->req);
  lua_newtable(L); /* refs: transfer id -> borrowed body string */
  lcurl_setuv(L, -2);
  u->multi = mc_multi_new();
  if (!u->multi) return luaL_error(L, "cannot create a curl multi handle");
  u->h.open = 1;
  return 1;
}

static lcurl_multi *lcurl_check_multi(lua_State *L) {
  return (lcurl_multi *)mc_lua_handle_check(L, 1, &lcurl_multi_class);
}

/* multi:add(req) -> id | nil, terr */
static int lcurl_multi_add(lua_State *L) {
  lcurl_multi *u = lcurl_check_multi(L);
  mc_transport_error err;
  int64_t id = 0;
  int body_idx;
  lua_settop(L, 2);
  mc_request_free(&u->req);
  mc_request_init(&u->req);
  body_idx = mc_lua_read_request(L, 2, &u->req, NULL);
  if (body_idx) {
    /* the transfer borrows the body: anchor it under the id it will get,
    ** before starting it (the only step here that could raise) */
    lua_pushvalue(L, body_idx);
    lcurl_set_ref(L, 1, mc_multi_next_id(u->multi));
  }
  if (mc_multi_add(u->multi, &u->req, 0, &id, &err) != 0) {
    if (body_idx) lcurl_clear_ref(L, 1, mc_multi_next_id(u->multi));
    mc_request_free(&u->req);
    mc_request_init(&u->req);
    lua_pushnil(L);
    mc_lua_push_terr(L, &err);
    return 2;
  }
  mc_request_free(&u->req); /* the transfer owns its copy */
  mc_request_init(&u->req);
  mc_pushint(L, id);
  return 1;
}

static int lcurl_multi_fd(lua_State *L) {
  lcurl_multi *u = lcurl_check_multi(L);
  mc_pushint(L, mc_multi_fd(u->multi));
  return 1;
}

static int lcurl_multi_timeout(lua_State *L) {
  lcurl_multi *u = lcurl_check_multi(L);
  mc_pushint(L, mc_multi_timeout(u->multi));
  return 1;
}

/* multi:step([wait_ms]) -> number of finished transfers queued */
static int lcurl_multi_step(lua_State *L) {
  lcurl_multi *u = lcurl_check_multi(L);
  lua_Number w = luaL_optnumber(L, 2, 0);
  int wait_ms = !(w > 0) ? 0 : w > 0x7fffffff ? 0x7fffffff : (int)ceil(w);
  mc_pushint(L, mc_multi_step(u->multi, wait_ms));
  return 1;
}

/* multi:done() -> id, res, nil | id, nil, terr | nil. The result stays
** queued until it has been pushed, so a raise while pushing loses nothing. */
static int lcurl_multi_done(lua_State *L) {
  lcurl_multi *u = lcurl_check_multi(L);
  const mc_multi_result *r = mc_multi_peek(u->multi);
  if (!r) {
    lua_pushnil(L);
    return 1;
  }
  lua_settop(L, 1);
  mc_pushint(L, r->id);
  if (r->err.kind == MC_TERR_NONE) {
    mc_lua_push_response(L, &r->res);
    lua_pushnil(L);
  } else {
    lua_pushnil(L);
    mc_lua_push_terr(L, &r->err);
  }
  lcurl_clear_ref(L, 1, r->id);
  mc_multi_pop(u->multi);
  return 3;
}

/* multi:cancel(id) -> true when the transfer existed */
static int lcurl_multi_cancel(lua_State *L) {
  lcurl_multi *u = lcurl_check_multi(L);
  int64_t id = lcurl_check_id(L, 2);
  int found = mc_multi_cancel(u->multi, id);
  if (found) lcurl_clear_ref(L, 1, id);
  lua_pushboolean(L, found);
  return 1;
}

/* multi:progress(id) -> sent, received (body bytes so far) | nil when not running */
static int lcurl_multi_progress(lua_State *L) {
  lcurl_multi *u = (lcurl_multi *)mc_lua_handle_check(L, 1, &lcurl_multi_class);
  int64_t up = 0, down = 0;
  if (!mc_multi_progress(u->multi, lcurl_check_id(L, 2), &up, &down)) return 0;
  mc_pushint(L, up);
  mc_pushint(L, down);
  return 2;
}

static int lcurl_multi_count(lua_State *L) {
  lcurl_multi *u = lcurl_check_multi(L);
  mc_pushint(L, mc_multi_running(u->multi));
  return 1;
}

/* close / __gc / __close (through mc_lua_class): abort everything, release
** the body refs. */
static void lcurl_multi_release(lua_State *L, void *ud) {
  lcurl_multi *u = (lcurl_multi *)ud;
  mc_multi_free(u->multi);
  u->multi = NULL;
  mc_request_free(&u->req);
  mc_request_init(&u->req);
  lcurl_getuv(L, 1);
  if (lua_istable(L, 2)) { /* clearing existing keys never allocates */
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
      lua_pop(L, 1);
      lua_pushvalue(L, -1);
      lua_pushnil(L);
      lua_rawset(L, 2);
    }
  }
  lua_settop(L, 1);
}

/* ---- registration ------------------------------------------------------ */

static const luaL_Reg lcurl_easy_methods[] = {
  {"perform", lcurl_easy_perform},
  {NULL, NULL}
};

static const luaL_Reg lcurl_multi_methods[] = {
  {"add", lcurl_multi_add},
  {"fd", lcurl_multi_fd},
  {"timeout", lcurl_multi_timeout},
  {"step", lcurl_multi_step},
  {"done", lcurl_multi_done},
  {"cancel", lcurl_multi_cancel},
  {"count", lcurl_multi_count},
  {"progress", lcurl_multi_progress},
  {NULL, NULL}
};

static const mc_lua_class lcurl_easy_class = {"mediacdn.Easy", lcurl_easy_methods,
                                              lcurl_easy_release};
static const mc_lua_class lcurl_multi_class = {"mediacdn.Multi", lcurl_multi_methods,
                                               lcurl_multi_release};

void mc_lua_register_curl(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"easy", lcurl_easy_new},
    {"multi", lcurl_multi_new},
    {NULL, NULL}
  };
  mc_lua_class_register(L, &lcurl_easy_class);
  mc_lua_class_register(L, &lcurl_multi_class);
  luaL_setfuncs(L, fns, 0);
}
