/*
** mc_lua_clock.c — clocks and blocking sleep for the Lua side.
**
**   core.now()        wall clock, epoch seconds as a float (CLOCK_REALTIME)
**   core.monotonic()  CLOCK_MONOTONIC seconds as a float
**   core.sleep(s)     blocking nanosleep (plain scripts, outside loops)
*/
#include "mc_lua.h"
#include "mc_defaults.h"

#include <errno.h>
#include <time.h>

static double lclock_read(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int lclock_now(lua_State *L) {
  lua_pushnumber(L, lclock_read(CLOCK_REALTIME));
  return 1;
}

static int lclock_monotonic(lua_State *L) {
  lua_pushnumber(L, lclock_read(CLOCK_MONOTONIC));
  return 1;
}

/* core.sleep(seconds): blocking, resumes after signals until the time is up. */
static int lclock_sleep(lua_State *L) {
  double s = luaL_checknumber(L, 1);
  struct timespec req, rem;
  if (!(s >= 0) || s > MC_MAX_SECONDS)
    return luaL_argerror(L, 1, "non-negative number of seconds expected");
  req.tv_sec = (time_t)s;
  req.tv_nsec = (long)((s - (double)req.tv_sec) * 1e9);
  if (req.tv_nsec >= 1000000000L) req.tv_nsec = 999999999L;
  while (nanosleep(&req, &rem) != 0 && errno == EINTR) req = rem;
  return 0;
}

void mc_lua_register_clock(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"now", lclock_now},
    {"monotonic", lclock_monotonic},
    {"sleep", lclock_sleep},
    {NULL, NULL}
  };
  luaL_setfuncs(L, fns, 0);
}
