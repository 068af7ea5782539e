/*
** mc_lua_url.c — binding of mc_url: core.url_escape(s) percent-encodes a
** query value (RFC 3986: unreserved A-Z a-z 0-9 - . _ ~ kept, all else %XX).
*/
#include "mc_lua.h"
#include "mc_url.h"

static int lurl_escape(lua_State *L) {
  size_t len, need;
  const char *s = luaL_checklstring(L, 1, &len);
  /* scratch owned by a userdata on the stack: a raise cannot leak it */
  char *out = (char *)lua_newuserdata(L, len * 3 + 1);
  need = mc_url_escape(s, len, out, len * 3 + 1);
  lua_pushlstring(L, out, need);
  return 1;
}

void mc_lua_register_url(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"url_escape", lurl_escape},
    {NULL, NULL}
  };
  luaL_setfuncs(L, fns, 0);
}
