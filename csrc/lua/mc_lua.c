/*
** mc_lua.c — luaopen_mediacdn_core: the thin binding over the C core.
** No logic lives here: each mc_lua_*.c registers its part of the table.
*/
#include "mc_lua.h"

#include <curl/curl.h>

#define MC_CORE_VERSION "0.1.0"

int luaopen_mediacdn_core(lua_State *L);

int luaopen_mediacdn_core(lua_State *L) {
  /* libcurl's global init is not thread-safe before 7.84; the module is
  ** loaded once per Lua state and curl_global_init is reference-counted. */
  curl_global_init(CURL_GLOBAL_DEFAULT);
  lua_newtable(L);
  lua_pushliteral(L, MC_CORE_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushstring(L, curl_version());
  lua_setfield(L, -2, "curl_version");
  mc_lua_register_json(L);
  mc_lua_register_http(L);
  mc_lua_register_policy(L);
  mc_lua_register_signal(L);
  return 1;
}
