/*
** mc_lua_signal.c — terminal signals as data, for the command line tool.
**
**   local w = core.signal_watch{ "INT", "TERM" }   -> mediacdn.SignalWatch | nil, message
**   w:pending()  -> "INT" | "TERM" | "HUP" | "QUIT" | nil   (never blocks)
**   w:fd()       -> integer, readable while a signal is pending
**   w:close()    -- idempotent; also __gc and __close (mc_lua_class); a closed
**                   watch raises "attempt to use a closed mediacdn.SignalWatch"
**
** Plain Lua cannot catch a signal, and a C handler that raises would unwind
** through libcurl. So the watched signals are blocked in the calling thread
** (pthread_sigmask) and queued on a signalfd instead: a signal never interrupts
** anything, and the program polls w:pending() between steps (mediacdn's CLI
** does so from a task of its coroutine loop) and stops cleanly.
** close() drops what is still queued and unblocks the signals this watch
** blocked, so their previous disposition (usually: terminate) is back.
** The state is the watch's own (its fd and the set it blocked); the signal
** mask is per thread. Children started while a watch is open inherit the
** blocked mask: open the watch after running helper commands. Linux only
** (signalfd), like the epoll-based multi transport.
*/
#include "mc_lua.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

typedef struct mc_lua_sigwatch {
  mc_lua_handle h;   /* open while the fd and the blocked set are ours */
  int fd;
  sigset_t unblock;  /* the watched signals that were not blocked before */
} mc_lua_sigwatch;

static const mc_lua_class mc_sig_class; /* defined below its methods */

static const struct {
  const char *name;
  int signo;
} mc_sig_names[] = {
  {"INT", SIGINT}, {"TERM", SIGTERM}, {"HUP", SIGHUP}, {"QUIT", SIGQUIT}, {NULL, 0}
};

static int mc_sig_lookup(const char *name) {
  int i;
  for (i = 0; mc_sig_names[i].name; i++)
    if (strcmp(mc_sig_names[i].name, name) == 0) return mc_sig_names[i].signo;
  return 0;
}

static const char *mc_sig_name(int signo) {
  int i;
  for (i = 0; mc_sig_names[i].name; i++)
    if (mc_sig_names[i].signo == signo) return mc_sig_names[i].name;
  return NULL;
}

/* close / __gc / __close (through mc_lua_class): drop what is queued, give
** the signals back, release the fd. */
static void mc_sig_release(lua_State *L, void *ud) {
  mc_lua_sigwatch *w = (mc_lua_sigwatch *)ud;
  struct signalfd_siginfo si;
  (void)L;
  while (read(w->fd, &si, sizeof si) == (ssize_t)sizeof si) {
  }
  pthread_sigmask(SIG_UNBLOCK, &w->unblock, NULL);
  close(w->fd);
  w->fd = -1;
}

/* core.signal_watch({names}) */
static int mc_sig_new(lua_State *L) {
  sigset_t set, old;
  mc_lua_sigwatch *w;
  int i, n, signo, err;
  luaL_checktype(L, 1, LUA_TTABLE);
  n = (int)lua_rawlen(L, 1);
  if (n == 0) return luaL_argerror(L, 1, "name at least one signal (INT, TERM, HUP, QUIT)");
  sigemptyset(&set);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    if (lua_type(L, -1) != LUA_TSTRING || !(signo = mc_sig_lookup(lua_tostring(L, -1))))
      return luaL_argerror(L, 1, "signals are named INT, TERM, HUP or QUIT");
    lua_pop(L, 1);
    sigaddset(&set, signo);
  }
  /* the userdata exists (closed) before the resources it will own */
  w = (mc_lua_sigwatch *)mc_lua_handle_new(L, &mc_sig_class, sizeof *w);
  w->fd = -1;
  sigemptyset(&w->unblock);
  if ((err = pthread_sigmask(SIG_BLOCK, &set, &old)) != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "cannot block signals: %s", strerror(err));
    return 2;
  }
  for (i = 0; mc_sig_names[i].name; i++) {
    signo = mc_sig_names[i].signo;
    if (sigismember(&set, signo) && !sigismember(&old, signo)) sigaddset(&w->unblock, signo);
  }
  w->fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (w->fd < 0) {
    err = errno;
    pthread_sigmask(SIG_UNBLOCK, &w->unblock, NULL);
    lua_pushnil(L);
    lua_pushfstring(L, "cannot watch signals: %s", strerror(err));
    return 2;
  }
  w->h.open = 1;
  return 1;
}

static int mc_sig_pending(lua_State *L) {
  mc_lua_sigwatch *w = (mc_lua_sigwatch *)mc_lua_handle_check(L, 1, &mc_sig_class);
  struct signalfd_siginfo si;
  const char *name;
  if (read(w->fd, &si, sizeof si) != (ssize_t)sizeof si) {
    lua_pushnil(L);
    return 1;
  }
  name = mc_sig_name((int)si.ssi_signo);
  if (name) lua_pushstring(L, name);
  else lua_pushnil(L);
  return 1;
}

static int mc_sig_fd(lua_State *L) {
  mc_lua_sigwatch *w = (mc_lua_sigwatch *)mc_lua_handle_check(L, 1, &mc_sig_class);
  mc_pushint(L, w->fd);
  return 1;
}

static const luaL_Reg mc_sig_methods[] = {
  {"pending", mc_sig_pending},
  {"fd", mc_sig_fd},
  {NULL, NULL}
};

static const mc_lua_class mc_sig_class = {"mediacdn.SignalWatch", mc_sig_methods, mc_sig_release};

void mc_lua_register_signal(lua_State *L) {
  mc_lua_class_register(L, &mc_sig_class);
  lua_pushcfunction(L, mc_sig_new);
  lua_setfield(L, -2, "signal_watch");
}
