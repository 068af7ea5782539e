/* mc_lua_http.c — placeholder until the libcurl transport lands. */
#include "mc_lua.h"

void mc_lua_register_http(lua_State *L) {
  (void)L;
}
