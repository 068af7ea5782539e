/*
** mc_lua_tus.c — binding of the tus state machine (mediacdn.TusUpload), the
** content fingerprint / file-range digests and an advisory file lock
** (mediacdn.FileLock, for the upload journal). The protocol logic lives in
** csrc/core/mc_tus.c; this file converts values.
**
**   local u = core.tus_upload{ endpoint=, upload_url=, path=, offset=0, length=,
**     chunk_size=, checksum="sha256"|"sha1"|nil, discover=true, with_upload=true,
**     concat="partial"|"final"|nil, parts={url,...}, metadata={k=v}, headers={k=v},
**     caps=<u:caps()>, allow_foreign_location=false, max_failures=5,
**     max_recreate=2, retry={base=, cap=}, seed= }
**   u:next(now) -> "request", req | "done" | "failed"
**       req = { op=, method=, url=, headers={}, body_file={path,offset,length}?,
**               idempotent=, delay= }   (checksum steps are handled inside:
**       the chunk's digest is read from the file here, with mc_file_digest_range)
**   u:feed(status, headers, now)   u:feed_failure(kind, message)
**   u:terminate()  u:rebase(endpoint) -> moved(bool)  u:fail(kind, message)
**   u:state() -> { url, offset, length, chunk_size, expires, checksum, terminated, note, stats }
**   u:caps() -> { known, extensions = {name=true}, sha1, sha256, max_size }
**   u:error() -> kind, status, message | nil
**   u:close()   (also __gc, __close; idempotent: the shared mc_lua_class helper)
**   core.tus_fingerprint(path, destination) -> hex, size | nil, reason, message
**   core.file_digest(path, offset, length, "sha1"|"sha256") -> hex, size | nil, reason, message
**   core.file_size(path) -> size | nil, reason, message   (regular files only)
**   core.file_lock(path) -> FileLock | nil, "busy"|message   (flock, never waits)
**   core.mkdirs(path [, mode=0700]) -> true | nil, message   (mkdir -p)
**     lock:close()  (also __gc, __close; idempotent)
** reason: "missing" | "not_regular" | "changed" | "io".
*/
#include "mc_lua.h"
#include "mc_crypto.h"
#include "mc_fingerprint.h"
#include "mc_file_digest.h"
#include "mc_tus.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct ltus {
  mc_lua_handle h;  /* first: open once the machine exists */
  mc_tus *t;
} ltus;

typedef struct llock {
  mc_lua_handle h;  /* first: open while the descriptor holds the lock */
  int fd;
} llock;

static const mc_lua_class ltus_class;   /* defined with the methods, below */
static const mc_lua_class llock_class;

static const char *fp_reason(mc_fp_status s) {
  switch (s) {
  case MC_FP_MISSING: return "missing";
  case MC_FP_NOT_REGULAR: return "not_regular";
  case MC_FP_CHANGED: return "changed";
  default: return "io";
  }
}

static int push_fp_error(lua_State *L, mc_fp_status s, const char *msg) {
  lua_pushnil(L);
  lua_pushstring(L, fp_reason(s));
  lua_pushstring(L, msg);
  return 3;
}

/* ---- config ------------------------------------------------------------ */

static const char *opt_str(lua_State *L, const char *k) {
  const char *v;
  lua_getfield(L, 1, k);
  if (lua_isnil(L, -1)) { lua_pop(L, 1); return NULL; }
  if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "tus_upload: '%s' must be a string", k);
  v = lua_tostring(L, -1);
  lua_pop(L, 1); /* still referenced by the config table at index 1 */
  return v;
}

#define MC_TUS_MAX_BYTES 9007199254740992.0 /* 2^53: every integer a double holds */

/* An integer option of the config table in [lo, hi] (raises otherwise). */
static double opt_int(lua_State *L, const char *k, double def, double lo, double hi) {
  return mc_lua_opt_number(L, 1, "tus_upload", k, def, lo, hi, 1);
}

static int opt_bool(lua_State *L, const char *k, int def) {
  int v;
  lua_getfield(L, 1, k);
  v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

static void read_caps(lua_State *L, mc_tus_caps *caps) {
  static const struct { const char *name; unsigned flag; } exts[] = {
    {"creation", MC_TUS_EXT_CREATION}, {"creation-with-upload", MC_TUS_EXT_WITH_UPLOAD},
    {"termination", MC_TUS_EXT_TERMINATION}, {"checksum", MC_TUS_EXT_CHECKSUM},
    {"expiration", MC_TUS_EXT_EXPIRATION}, {"concatenation", MC_TUS_EXT_CONCATENATION},
    {"creation-defer-length", MC_TUS_EXT_DEFER_LENGTH}};
  int c = lua_gettop(L);
  size_t i;
  memset(caps, 0, sizeof *caps);
  caps->max_size = -1;
  lua_getfield(L, c, "known");
  caps->known = lua_toboolean(L, -1);
  lua_getfield(L, c, "sha1");
  caps->sha1 = lua_toboolean(L, -1);
  lua_getfield(L, c, "sha256");
  caps->sha256 = lua_toboolean(L, -1);
  lua_getfield(L, c, "max_size");
  if (lua_type(L, -1) == LUA_TNUMBER) { /* a server's Tus-Max-Size: unknown unless in range */
    double v = lua_tonumber(L, -1);
    if (v >= 0 && v <= MC_TUS_MAX_BYTES) caps->max_size = (int64_t)v;
  }
  lua_getfield(L, c, "extensions");
  if (lua_istable(L, -1)) {
    for (i = 0; i < sizeof exts / sizeof exts[0]; i++) {
      lua_getfield(L, -1, exts[i].name);
      if (lua_toboolean(L, -1)) caps->ext |= exts[i].flag;
      lua_pop(L, 1);
    }
  }
  lua_settop(L, c);
}

/* Apply a table of string pairs with fn (metadata or headers). */
static void each_pair(lua_State *L, ltus *u, const char *field, int metadata) {
  lua_getfield(L, 1, field);
  if (lua_isnil(L, -1)) { lua_pop(L, 1); return; }
  if (!lua_istable(L, -1)) luaL_error(L, "tus_upload: '%s' must be a table", field);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    size_t len;
    const char *k, *v;
    if (lua_type(L, -2) != LUA_TSTRING || (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER))
      luaL_error(L, "tus_upload: '%s' must map strings to strings", field);
    k = lua_tostring(L, -2);
    v = lua_tolstring(L, -1, &len);
    if (metadata ? mc_tus_add_metadata(u->t, k, v, len) != 0 : mc_tus_add_header(u->t, k, v) != 0)
      luaL_error(L, "tus_upload: invalid %s key '%s'", metadata ? "metadata" : "header", k);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

static int l_tus_upload(lua_State *L) {
  mc_tus_config c;
  mc_tus_caps caps;
  mc_retry_policy pol;
  const char *ck, *concat;
  char err[200];
  ltus *u;
  luaL_checktype(L, 1, LUA_TTABLE);
  u = (ltus *)mc_lua_handle_new(L, &ltus_class, sizeof *u); /* the userdata before the resource */
  memset(&c, 0, sizeof c);
  c.endpoint = opt_str(L, "endpoint");
  c.upload_url = opt_str(L, "upload_url");
  c.path = opt_str(L, "path");
  c.offset = (int64_t)opt_int(L, "offset", 0, 0, MC_TUS_MAX_BYTES);
  c.length = (int64_t)opt_int(L, "length", -1, -1, MC_TUS_MAX_BYTES);
  c.chunk_size = (int64_t)opt_int(L, "chunk_size", 8 * 1024 * 1024, 1, MC_TUS_MAX_BYTES);
  ck = opt_str(L, "checksum");
  if (ck) {
    c.checksum = mc_fp_algo_from_name(ck);
    if (!c.checksum) return luaL_error(L, "tus_upload: checksum must be \"sha1\" or \"sha256\"");
  }
  c.discover = opt_bool(L, "discover", 1);
  c.with_upload = opt_bool(L, "with_upload", 1);
  c.allow_foreign_location = opt_bool(L, "allow_foreign_location", 0);
  c.max_failures = (int)opt_int(L, "max_failures", 0, 0, 1e9);
  c.max_recreate = (int)opt_int(L, "max_recreate", -1, -1, 1e9);
  c.seed = (uint64_t)opt_int(L, "seed", 0, 0, MC_TUS_MAX_BYTES);
  concat = opt_str(L, "concat");
  if (concat) {
    if (strcmp(concat, "partial") == 0) c.concat = MC_TUS_PARTIAL;
    else if (strcmp(concat, "final") == 0) c.concat = MC_TUS_FINAL;
    else return luaL_error(L, "tus_upload: concat must be \"partial\" or \"final\"");
  }
  lua_getfield(L, 1, "caps");
  if (lua_istable(L, -1)) {
    read_caps(L, &caps);
    c.caps = &caps;
  }
  lua_pop(L, 1);
  lua_getfield(L, 1, "retry");
  if (lua_istable(L, -1)) {
    int r = lua_gettop(L);
    memset(&pol, 0, sizeof pol);
    pol.base = mc_lua_opt_number(L, r, "tus_upload retry", "base", 0.25, 0, 1e6, 0);
    pol.cap = mc_lua_opt_number(L, r, "tus_upload retry", "cap", 30, 0, 1e6, 0);
    pol.attempts = 5;
    c.policy = &pol;
  }
  lua_pop(L, 1);
  u->t = mc_tus_new(&c, err, sizeof err);
  if (!u->t) return luaL_error(L, "tus_upload: %s", err);
  u->h.open = 1;
  each_pair(L, u, "metadata", 1);
  each_pair(L, u, "headers", 0);
  lua_getfield(L, 1, "parts");
  if (lua_istable(L, -1)) {
    int i, n = (int)lua_rawlen(L, -1);
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "tus_upload: parts must be URLs");
      if (mc_tus_add_part(u->t, lua_tostring(L, -1)) != 0) return luaL_error(L, "out of memory");
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  return 1;
}

/* ---- methods ------------------------------------------------------------- */

static ltus *check_tus(lua_State *L) {
  return (ltus *)mc_lua_handle_check(L, 1, &ltus_class);
}

static void push_request(lua_State *L, const mc_tus_request *r) {
  static const char *ops[] = {"none", "options", "create", "head", "patch", "delete", "final"};
  size_t i;
  lua_createtable(L, 0, 8);
  lua_pushstring(L, ops[r->op]);
  lua_setfield(L, -2, "op");
  lua_pushstring(L, r->method);
  lua_setfield(L, -2, "method");
  lua_pushstring(L, r->url);
  lua_setfield(L, -2, "url");
  lua_createtable(L, 0, (int)r->headers.count);
  for (i = 0; i < r->headers.count; i++) {
    lua_pushstring(L, r->headers.items[i].value);
    lua_setfield(L, -2, r->headers.items[i].name);
  }
  lua_setfield(L, -2, "headers");
  if (r->body_path) {
    lua_createtable(L, 0, 3);
    lua_pushstring(L, r->body_path);
    lua_setfield(L, -2, "path");
    mc_pushint(L, r->body_offset);
    lua_setfield(L, -2, "offset");
    mc_pushint(L, r->body_length);
    lua_setfield(L, -2, "length");
    lua_setfield(L, -2, "body_file");
  }
  lua_pushboolean(L, r->idempotent);
  lua_setfield(L, -2, "idempotent");
  lua_pushnumber(L, r->delay);
  lua_setfield(L, -2, "delay");
}

/* u:next(now) — a checksum step is served here: the chunk is hashed from the file. */
static int l_tus_next(lua_State *L) {
  ltus *u = check_tus(L);
  double now = luaL_optnumber(L, 2, 0);
  for (;;) {
    mc_tus_step s = mc_tus_next(u->t, now);
    if (s == MC_TUS_STEP_CHECKSUM) {
      int64_t off, len, size;
      mc_fp_algo algo;
      unsigned char d[MC_FP_MAX_DIGEST];
      char err[300];
      mc_fp_status st;
      mc_tus_checksum_range(u->t, &off, &len, &algo);
      st = mc_file_digest_range(mc_tus_path(u->t), off, len, algo, d, &size, err, sizeof err);
      if (st != MC_FP_OK) {
        /* the file went away or changed under the upload: no retry helps */
        mc_tus_fail(u->t, "local", err);
        continue;
      }
      mc_tus_set_checksum(u->t, d, mc_fp_digest_len(algo));
      continue;
    }
    if (s == MC_TUS_STEP_REQUEST) {
      lua_pushliteral(L, "request");
      push_request(L, mc_tus_request_get(u->t));
      return 2;
    }
    lua_pushstring(L, s == MC_TUS_STEP_DONE ? "done" : "failed");
    return 1;
  }
}

/* Lua table {lower-case name = value} -> mc_headers */
static void to_headers(lua_State *L, int idx, mc_headers *h) {
  mc_headers_init(h);
  if (!lua_istable(L, idx)) return;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) == LUA_TSTRING && (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER)) {
      size_t kl, vl;
      const char *k = lua_tolstring(L, -2, &kl);
      const char *v = lua_tolstring(L, -1, &vl);
      char name[128];
      size_t i;
      if (kl < sizeof name) {
        for (i = 0; i < kl; i++) name[i] = (char)((k[i] >= 'A' && k[i] <= 'Z') ? k[i] + 32 : k[i]);
        mc_headers_add(h, name, kl, v, vl);
      }
    }
    lua_pop(L, 1);
  }
}

static int l_tus_feed(lua_State *L) {
  ltus *u = check_tus(L);
  long status = (long)luaL_checkinteger(L, 2);
  double now = luaL_optnumber(L, 4, 0);
  mc_headers h;
  to_headers(L, 3, &h);
  mc_tus_feed(u->t, status, &h, now);
  mc_headers_free(&h);
  return 0;
}

static int l_tus_feed_failure(lua_State *L) {
  ltus *u = check_tus(L);
  mc_tus_feed_failure(u->t, luaL_checkstring(L, 2), luaL_optstring(L, 3, NULL));
  return 0;
}

static int l_tus_terminate(lua_State *L) {
  mc_tus_terminate(check_tus(L)->t);
  return 0;
}

static int l_tus_rebase(lua_State *L) {
  ltus *u = check_tus(L);
  int rc = mc_tus_rebase(u->t, luaL_checkstring(L, 2));
  if (rc < 0) return luaL_error(L, "out of memory");
  lua_pushboolean(L, rc == 0);
  return 1;
}

static int l_tus_fail(lua_State *L) {
  ltus *u = check_tus(L);
  mc_tus_fail(u->t, luaL_checkstring(L, 2), luaL_checkstring(L, 3));
  return 0;
}

static int l_tus_state(lua_State *L) {
  ltus *u = check_tus(L);
  const mc_tus_stats *st = mc_tus_get_stats(u->t);
  mc_fp_algo ck = mc_tus_checksum_algo(u->t);
  lua_createtable(L, 0, 9);
  if (mc_tus_url(u->t)) {
    lua_pushstring(L, mc_tus_url(u->t));
    lua_setfield(L, -2, "url");
  }
  mc_pushint(L, mc_tus_offset(u->t));
  lua_setfield(L, -2, "offset");
  mc_pushint(L, mc_tus_length(u->t));
  lua_setfield(L, -2, "length");
  mc_pushint(L, mc_tus_chunk_size(u->t));
  lua_setfield(L, -2, "chunk_size");
  if (mc_tus_expires(u->t) > 0) {
    lua_pushnumber(L, mc_tus_expires(u->t));
    lua_setfield(L, -2, "expires");
  }
  if (ck) {
    lua_pushstring(L, mc_fp_algo_name(ck));
    lua_setfield(L, -2, "checksum");
  }
  lua_pushboolean(L, mc_tus_terminated(u->t));
  lua_setfield(L, -2, "terminated");
  lua_pushstring(L, mc_tus_note(u->t));
  lua_setfield(L, -2, "note");
  lua_createtable(L, 0, 6);
  mc_pushint(L, st->recreated);
  lua_setfield(L, -2, "recreated");
  mc_pushint(L, st->halved);
  lua_setfield(L, -2, "halved");
  mc_pushint(L, st->checksum_mismatch);
  lua_setfield(L, -2, "checksum_mismatch");
  mc_pushint(L, st->conflicts);
  lua_setfield(L, -2, "conflicts");
  mc_pushint(L, st->recoveries);
  lua_setfield(L, -2, "recoveries");
  mc_pushint(L, st->requests);
  lua_setfield(L, -2, "requests");
  lua_setfield(L, -2, "stats");
  return 1;
}

static int l_tus_caps(lua_State *L) {
  static const struct { const char *name; unsigned flag; } exts[] = {
    {"creation", MC_TUS_EXT_CREATION}, {"creation-with-upload", MC_TUS_EXT_WITH_UPLOAD},
    {"termination", MC_TUS_EXT_TERMINATION}, {"checksum", MC_TUS_EXT_CHECKSUM},
    {"expiration", MC_TUS_EXT_EXPIRATION}, {"concatenation", MC_TUS_EXT_CONCATENATION},
    {"creation-defer-length", MC_TUS_EXT_DEFER_LENGTH}};
  const mc_tus_caps *c = mc_tus_get_caps(check_tus(L)->t);
  size_t i;
  lua_createtable(L, 0, 5);
  lua_pushboolean(L, c->known);
  lua_setfield(L, -2, "known");
  lua_pushboolean(L, c->sha1);
  lua_setfield(L, -2, "sha1");
  lua_pushboolean(L, c->sha256);
  lua_setfield(L, -2, "sha256");
  if (c->max_size >= 0) {
    mc_pushint(L, c->max_size);
    lua_setfield(L, -2, "max_size");
  }
  lua_newtable(L);
  for (i = 0; i < sizeof exts / sizeof exts[0]; i++) {
    if (c->ext & exts[i].flag) {
      lua_pushboolean(L, 1);
      lua_setfield(L, -2, exts[i].name);
    }
  }
  lua_setfield(L, -2, "extensions");
  return 1;
}

static int l_tus_error(lua_State *L) {
  long status;
  const char *msg;
  const char *kind = mc_tus_error(check_tus(L)->t, &status, &msg);
  if (!kind) return 0;
  lua_pushstring(L, kind);
  if (status) mc_pushint(L, status);
  else lua_pushnil(L);
  lua_pushstring(L, msg);
  return 3;
}

/* close / __gc / __close (through mc_lua_class): free the machine. */
static void ltus_release(lua_State *L, void *ud) {
  ltus *u = (ltus *)ud;
  (void)L;
  mc_tus_free(u->t);
  u->t = NULL;
}

/* ---- files ---------------------------------------------------------------- */

static int l_tus_fingerprint(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  const char *dest = luaL_checkstring(L, 2);
  char hex[65], err[300];
  int64_t size = 0;
  mc_fp_status s = mc_file_fingerprint(path, dest, hex, &size, err, sizeof err);
  if (s != MC_FP_OK) return push_fp_error(L, s, err);
  lua_pushstring(L, hex);
  mc_pushint(L, size);
  return 2;
}

static int l_file_digest(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  double offd = luaL_checknumber(L, 2), lend = luaL_checknumber(L, 3);
  int64_t off, len;
  mc_fp_algo algo = mc_fp_algo_from_name(luaL_optstring(L, 4, "sha256"));
  unsigned char d[MC_FP_MAX_DIGEST];
  char hex[2 * MC_FP_MAX_DIGEST + 1], err[300];
  int64_t size = 0;
  mc_fp_status s;
  if (!algo) return luaL_argerror(L, 4, "\"sha1\" or \"sha256\" expected");
  luaL_argcheck(L, offd >= 0 && offd <= MC_TUS_MAX_BYTES && offd == floor(offd), 2, "offset: an integer from 0 to 2^53");
  luaL_argcheck(L, lend >= 0 && lend <= MC_TUS_MAX_BYTES && lend == floor(lend), 3, "length: an integer from 0 to 2^53");
  off = (int64_t)offd;
  len = (int64_t)lend;
  s = mc_file_digest_range(path, off, len, algo, d, &size, err, sizeof err);
  if (s != MC_FP_OK) return push_fp_error(L, s, err);
  mc_hex(d, mc_fp_digest_len(algo), hex);
  lua_pushstring(L, hex);
  mc_pushint(L, size);
  return 2;
}

static int l_file_size(lua_State *L) {
  unsigned char d[MC_FP_MAX_DIGEST];
  char err[300];
  int64_t size = 0;
  mc_fp_status s = mc_file_digest_range(luaL_checkstring(L, 1), 0, 0, MC_FP_SHA1, d, &size, err, sizeof err);
  if (s != MC_FP_OK) return push_fp_error(L, s, err);
  mc_pushint(L, size);
  return 1;
}

static int l_file_lock(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  llock *k = (llock *)mc_lua_handle_new(L, &llock_class, sizeof *k); /* before the descriptor */
  k->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (k->fd < 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, strerror(errno));
    return 2;
  }
  if (flock(k->fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(k->fd);
    k->fd = -1;
    lua_pushnil(L);
    if (e == EWOULDBLOCK) lua_pushliteral(L, "busy");
    else lua_pushfstring(L, "%s: %s", path, strerror(e));
    return 2;
  }
  k->h.open = 1;
  return 1;
}

/* mkdir -p path: every missing component is created with mode. */
static int l_mkdirs(lua_State *L) {
  size_t len, i;
  const char *path = luaL_checklstring(L, 1, &len);
  mode_t mode = (mode_t)luaL_optinteger(L, 2, 0700);
  char *p = (char *)lua_newuserdata(L, len + 1); /* scratch, collected */
  memcpy(p, path, len + 1);
  for (i = 1; i <= len; i++) {
    if (p[i] == '/' || p[i] == '\0') {
      char c = p[i];
      p[i] = '\0';
      if (mkdir(p, mode) != 0 && errno != EEXIST) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", p, strerror(errno));
        return 2;
      }
      p[i] = c;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* close / __gc / __close of a FileLock: closing the descriptor releases the flock. */
static void llock_release(lua_State *L, void *ud) {
  llock *k = (llock *)ud;
  (void)L;
  if (k->fd >= 0) close(k->fd);
  k->fd = -1;
}

static const luaL_Reg ltus_methods[] = {
  {"next", l_tus_next},
  {"feed", l_tus_feed},
  {"feed_failure", l_tus_feed_failure},
  {"terminate", l_tus_terminate},
  {"rebase", l_tus_rebase},
  {"fail", l_tus_fail},
  {"state", l_tus_state},
  {"caps", l_tus_caps},
  {"error", l_tus_error},
  {NULL, NULL}
};

static const mc_lua_class ltus_class = {"mediacdn.TusUpload", ltus_methods, ltus_release};
static const mc_lua_class llock_class = {"mediacdn.FileLock", NULL, llock_release};

void mc_lua_register_tus(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"tus_upload", l_tus_upload},
    {"tus_fingerprint", l_tus_fingerprint},
    {"file_digest", l_file_digest},
    {"file_size", l_file_size},
    {"file_lock", l_file_lock},
    {"mkdirs", l_mkdirs},
    {NULL, NULL}
  };
  mc_lua_class_register(L, &ltus_class);
  mc_lua_class_register(L, &llock_class);
  luaL_setfuncs(L, fns, 0);
}
