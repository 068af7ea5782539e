/*
** mc_lua_compat.h — one source for Lua 5.4 and LuaJIT 2.1 (5.1 API).
*/
#ifndef MC_LUA_COMPAT_H
#define MC_LUA_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM < 502
#ifndef luaL_newlib
#define luaL_newlib(L, l) (lua_newtable(L), luaL_register(L, NULL, l))
#endif
#define lua_rawlen(L, i) lua_objlen(L, i)
#define mc_newuserdata(L, sz) lua_newuserdata(L, sz)
#else
#define mc_newuserdata(L, sz) lua_newuserdatauv(L, sz, 1)
#endif

#if LUA_VERSION_NUM >= 503
#define mc_pushint(L, n) lua_pushinteger(L, (lua_Integer)(n))
#else
#define mc_pushint(L, n) lua_pushnumber(L, (lua_Number)(n))
#endif

#endif
