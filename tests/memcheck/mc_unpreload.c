/*
** mc_unpreload.c — keeps the sanitizer runtime inside the interpreter that
** scripts/check-asan.sh starts, and out of every process that interpreter
** spawns (the sandbox's nginx, the curl CLI, openssl, sh ...).
**
** The ASan build of mediacdn/core.so needs libasan loaded first, so the
** interpreter runs with LD_PRELOAD="libasan.so.N <this library>". The dynamic
** loader has read LD_PRELOAD by the time any constructor runs; this library's
** constructor then removes LD_PRELOAD and the sanitizer option variables from
** the process environment, so io.popen / os.execute children start clean
** (an uninstrumented nginx or curl under a preloaded ASan runtime hangs or
** reports its own leaks).
**
** The library is linked with -fsanitize=address, so it depends on libasan and
** its constructor runs after the runtime's own initialisation (which has read
** ASAN_OPTIONS / UBSAN_OPTIONS / LSAN_OPTIONS by then).
**
** It also makes dlclose() a no-op: Lua unloads C modules (mediacdn/core.so,
** luasystem, lfs, ...) in lua_close, before LeakSanitizer runs at exit, and a
** leak in an unloaded module cannot be symbolised ("<unknown module>").
**
** scripts/check-valgrind.sh builds the same file without a sanitizer and
** preloads it for the dlclose part (the environment clean-up is harmless
** there: valgrind does not trace children).
**
** A child that is itself a Lua interpreter goes through the lua5.4 / luajit
** wrappers check-asan.sh puts first on PATH: they run it on the plain build,
** or (MC_ASAN_CHILDREN=1) give it the runtime back from the saved copies in
** MC_ASAN_PRELOAD / MC_ASAN_OPTIONS / MC_UBSAN_OPTIONS / MC_LSAN_OPTIONS,
** which this library leaves in place.
*/
#include <stdlib.h>

int dlclose(void *handle);

void mc_unpreload_strip(void) __attribute__((constructor));

/* Drop the variables that would carry the sanitizer runtime into children. */
void mc_unpreload_strip(void) {
  unsetenv("LD_PRELOAD");
  unsetenv("ASAN_OPTIONS");
  unsetenv("UBSAN_OPTIONS");
  unsetenv("LSAN_OPTIONS");
}

/* Keep every module mapped until exit, so leak reports name their frames. */
int dlclose(void *handle) {
  (void)handle;
  return 0;
}
