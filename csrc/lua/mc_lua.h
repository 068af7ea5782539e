/*
** mc_lua.h — shared declarations of the mediacdn.core binding.
** Each mc_lua_*.c file registers its functions into the module table at the
** top of the stack; luaopen_mediacdn_core (mc_lua.c) calls them in turn.
*/
#ifndef MC_LUA_H
#define MC_LUA_H

#include <lua.h>
#include <lauxlib.h>
#include "mc_lua_compat.h"

void mc_lua_register_json(lua_State *L);    /* mc_lua_json.c: json_decode, json_encode, null, array_mt */
void mc_lua_register_http(lua_State *L);    /* mc_lua_http.c: easy(), multi() (libcurl transport) */
void mc_lua_register_policy(lua_State *L);  /* mc_lua_policy.c: url_escape, budgets, backoff, classify, crypto */
void mc_lua_register_signal(lua_State *L);  /* mc_lua_signal.c: signal_watch (SIGINT etc. as data, for the CLI) */

/* Push a JSON document (cJSON tree) as Lua values; defined in mc_lua_json.c. */
struct cJSON;
void mc_lua_push_json(lua_State *L, const struct cJSON *item);

/* Push a header list as a table {lower-case name = value}. Defined in mc_lua_json.c. */
struct mc_headers;
void mc_lua_push_headers(lua_State *L, const struct mc_headers *h);

#endif
