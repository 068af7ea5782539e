/*
** mc_lua_redis.c — the pollable Redis connection (csrc/redis) as Lua userdata.
**
**   core.redis()           -> mediacdn.Redis (closed; create, then connect)
**   r:connect(host, port)  -> true | nil, message    (starts a non-blocking connect)
**   r:connect_unix(path)   -> true | nil, message
**   r:send(arg, ...)       -> true | nil, message    (queues one command; strings/numbers)
**   r:step([wait_ms])      -> n | nil, message       (waits at most wait_ms, moves bytes;
**                                                    n = replies ready for reply())
**   r:reply()              -> value | nil, message, "redis"  (oldest reply; raises if none)
**   r:alive()              -> boolean  (an idle connection the server closed is closed now)
**   r:pending()            -> commands whose replies were not taken
**   r:fd()                 -> socket fd | -1 ;  r:state() -> "closed"|"connecting"|"ready"
**   r:close()              -- idempotent; also __gc and __close
**   core.sha1_hex(s)       -> 40 hex digits (the EVALSHA key of a script)
**
** Replies: bulk and status strings -> string, integers -> integer, nil ->
** core.null (a light userdata NULL, equal to ngx.null), arrays -> tables
** (an error inside an array -> { err = message }). The userdata is created
** before the hiredis context; no hiredis callback calls back into Lua. Built
** only when CMake found hiredis (MC_HAVE_REDIS); otherwise core.redis is nil.
*/
#include "mc_lua.h"

#ifdef MC_HAVE_REDIS

#include "mc_redis.h"

#include <math.h>
#include <string.h>

#define MC_REDIS_MT "mediacdn.Redis"
#define MC_REDIS_MAX_ARGS 64
#define MC_REDIS_MAX_DEPTH 16

typedef struct mc_lua_redis {
  mc_lua_handle h;     /* open = 0 after close(): further use raises */
  mc_redis conn;
  redisReply *pushing; /* the reply being converted: freed even if that raises */
} mc_lua_redis;

static const mc_lua_class lredis_class; /* defined with the method table below */

static mc_lua_redis *lredis_check(lua_State *L) {
  return (mc_lua_redis *)mc_lua_handle_check(L, 1, &lredis_class);
}

static int lredis_fail(lua_State *L, const mc_redis *r) {
  lua_pushnil(L);
  lua_pushstring(L, r->err[0] ? r->err : "redis connection failed");
  return 2;
}

/* core.redis(): the userdata exists before any native resource (a socket
** comes with connect). */
static int lredis_new(lua_State *L) {
  mc_lua_redis *u = (mc_lua_redis *)mc_lua_handle_new(L, &lredis_class, sizeof *u);
  mc_redis_init(&u->conn);
  u->h.open = 1;
  return 1;
}

static int lredis_connect(lua_State *L) {
  mc_lua_redis *u = lredis_check(L);
  const char *host = luaL_checkstring(L, 2);
  lua_Number port = luaL_checknumber(L, 3);
  if (!(port >= 1 && port <= 65535) || port != floor(port))
    return luaL_argerror(L, 3, "a TCP port (1-65535) expected");
  if (mc_redis_connect(&u->conn, host, (int)port, NULL) != 0) return lredis_fail(L, &u->conn);
  lua_pushboolean(L, 1);
  return 1;
}

static int lredis_connect_unix(lua_State *L) {
  mc_lua_redis *u = lredis_check(L);
  const char *path = luaL_checkstring(L, 2);
  if (mc_redis_connect(&u->conn, NULL, 0, path) != 0) return lredis_fail(L, &u->conn);
  lua_pushboolean(L, 1);
  return 1;
}

/* r:send(arg, ...): every argument a string or a number (sent as its text). */
static int lredis_send(lua_State *L) {
  mc_lua_redis *u = lredis_check(L);
  const char *argv[MC_REDIS_MAX_ARGS];
  size_t lens[MC_REDIS_MAX_ARGS];
  int argc = lua_gettop(L) - 1, i;
  if (argc < 1) return luaL_error(L, "redis:send: a command name is required");
  if (argc > MC_REDIS_MAX_ARGS)
    return luaL_error(L, "redis:send: at most %d arguments", MC_REDIS_MAX_ARGS);
  for (i = 0; i < argc; i++) {
    int t = lua_type(L, i + 2);
    if (t != LUA_TSTRING && t != LUA_TNUMBER)
      return luaL_argerror(L, i + 2, "a string or a number expected");
    argv[i] = lua_tolstring(L, i + 2, &lens[i]); /* converts numbers in place: fine here */
  }
  if (mc_redis_append(&u->conn, argc, argv, lens) != 0) return lredis_fail(L, &u->conn);
  lua_pushboolean(L, 1);
  return 1;
}

static int lredis_step(lua_State *L) {
  mc_lua_redis *u = lredis_check(L);
  lua_Number w = luaL_optnumber(L, 2, 0);
  int wait_ms = !(w > 0) ? 0 : w > 0x7fffffff ? 0x7fffffff : (int)ceil(w);
  int n = mc_redis_step(&u->conn, wait_ms);
  if (n < 0) return lredis_fail(L, &u->conn);
  mc_pushint(L, n);
  return 1;
}

/* Push a reply as a Lua value (errors inside arrays become {err = msg}). */
static void lredis_push_reply(lua_State *L, const redisReply *r, int depth) {
  size_t i;
  luaL_checkstack(L, 4, "redis reply");
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      lua_pushlstring(L, r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      mc_pushint(L, r->integer);
      break;
    case REDIS_REPLY_ARRAY:
      if (depth >= MC_REDIS_MAX_DEPTH) {
        lua_pushnil(L);
        break;
      }
      lua_createtable(L, (int)r->elements, 0);
      for (i = 0; i < r->elements; i++) {
        lredis_push_reply(L, r->element[i], depth + 1);
        lua_rawseti(L, -2, (int)i + 1);
      }
      break;
    case REDIS_REPLY_ERROR:
      lua_createtable(L, 0, 1);
      lua_pushlstring(L, r->str, r->len);
      lua_setfield(L, -2, "err");
      break;
    default: /* REDIS_REPLY_NIL */
      lua_pushlightuserdata(L, NULL);
      break;
  }
}

/* r:reply(): the reply taken from the queue is parked in u->pushing while it is
** converted, so a raise (out of memory) cannot leak it: the next reply() or
** close frees it. */
static int lredis_reply(lua_State *L) {
  mc_lua_redis *u = lredis_check(L);
  redisReply *r;
  int nret = 1;
  if (u->pushing) {
    freeReplyObject(u->pushing);
    u->pushing = NULL;
  }
  r = mc_redis_take(&u->conn);
  if (!r) return luaL_error(L, "redis:reply: no reply is ready (call step until it returns > 0)");
  u->pushing = r;
  if (r->type == REDIS_REPLY_ERROR) {
    lua_pushnil(L);
    lua_pushlstring(L, r->str, r->len);
    lua_pushliteral(L, "redis");
    nret = 3;
  } else {
    lredis_push_reply(L, r, 0);
  }
  u->pushing = NULL;
  freeReplyObject(r);
  return nret;
}

static int lredis_alive(lua_State *L) {
  mc_lua_redis *u = lredis_check(L);
  lua_pushboolean(L, mc_redis_alive(&u->conn));
  return 1;
}

static int lredis_pending(lua_State *L) {
  mc_lua_redis *u = lredis_check(L);
  mc_pushint(L, mc_redis_pending(&u->conn));
  return 1;
}

static int lredis_fd(lua_State *L) {
  mc_lua_redis *u = lredis_check(L);
  mc_pushint(L, mc_redis_fd(&u->conn));
  return 1;
}

static int lredis_state(lua_State *L) {
  mc_lua_redis *u = lredis_check(L);
  static const char *names[] = { "closed", "connecting", "ready" };
  lua_pushstring(L, names[u->conn.state]);
  return 1;
}

/* r:disconnect(): close the socket, keep the object (connect may follow). */
static int lredis_disconnect(lua_State *L) {
  mc_lua_redis *u = lredis_check(L);
  mc_redis_close(&u->conn);
  return 0;
}

/* close / __gc / __close (through mc_lua_class): the socket and queued replies go. */
static void lredis_release(lua_State *L, void *ud) {
  mc_lua_redis *u = (mc_lua_redis *)ud;
  (void)L;
  if (u->pushing) {
    freeReplyObject(u->pushing);
    u->pushing = NULL;
  }
  mc_redis_free(&u->conn);
}

static int lredis_sha1_hex(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  char out[41];
  if (mc_redis_sha1_hex(s, len, out) != 0) return luaL_error(L, "sha1 failed");
  lua_pushlstring(L, out, 40);
  return 1;
}

static const luaL_Reg lredis_methods[] = {
  {"connect", lredis_connect},
  {"connect_unix", lredis_connect_unix},
  {"send", lredis_send},
  {"step", lredis_step},
  {"reply", lredis_reply},
  {"alive", lredis_alive},
  {"pending", lredis_pending},
  {"fd", lredis_fd},
  {"state", lredis_state},
  {"disconnect", lredis_disconnect},
  {NULL, NULL}
};

static const mc_lua_class lredis_class = { MC_REDIS_MT, lredis_methods, lredis_release };

void mc_lua_register_redis(lua_State *L) {
  mc_lua_class_register(L, &lredis_class);
  lua_pushcfunction(L, lredis_new);
  lua_setfield(L, -2, "redis");
  lua_pushcfunction(L, lredis_sha1_hex);
  lua_setfield(L, -2, "sha1_hex");
}

#else /* no hiredis: core.redis stays nil, the Lua side uses what it can */

void mc_lua_register_redis(lua_State *L) {
  (void)L;
}

#endif
