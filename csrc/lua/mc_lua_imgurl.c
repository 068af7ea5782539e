/*
** mc_lua_imgurl.c — binding of the Sirv image-URL builder (csrc/core/mc_imgurl)
** into mediacdn.core. It walks Lua option tables into mc_imgopt arrays (nested
** tables become dotted names; t[1] in a nested table is the value of the
** table's own name) and hands them to the core; no rule lives here.
**
**   core.sirv_url(base, path, options, strict, path_encoded) -> url | nil, msg
**   core.sirv_signed_url(base, path, secure, insecure, key, iat, exp, aud,
**                        strict, path_encoded)             -> url, token | nil, msg
**   core.sirv_url_params(options, strict)                 -> {name = value} | nil, msg
**   core.sirv_url_path(path, path_encoded)                -> "/encoded/path" | nil, msg
**
** Misuse comes back as nil, msg (the Lua module raises it with its own name);
** the top-level keys "strict" and "path_encoded" of an options table are flags
** the caller already read, and are skipped. No message holds the key or token.
*/
#include "mc_lua.h"
#include "mc_imgurl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define IMG_DEPTH_MAX 8
#define IMG_BUF 2048

typedef struct walk {
  mc_imgopt *opts;
  size_t n;
  char err[320];
} walk;

static int walk_fail(walk *w, const char *msg, const char *name) {
  snprintf(w->err, sizeof w->err, msg, name);
  return -1;
}

/* Append an option named name[0..len) whose value is at the top of the stack. */
static int add_value(lua_State *L, walk *w, const char *name, size_t len) {
  mc_imgopt *o;
  int t = lua_type(L, -1);
  if (t != LUA_TSTRING && t != LUA_TNUMBER && t != LUA_TBOOLEAN) {
    snprintf(w->err, sizeof w->err, "option '%s' must be a string, number, boolean or table (got %s)", name,
             lua_typename(L, t));
    return -1;
  }
  if (w->n >= MC_IMGURL_MAX_OPTS) return walk_fail(w, "too many options (the limit is 128; at '%s')", name);
  o = &w->opts[w->n++];
  memcpy(o->given, name, len + 1);
  o->givenlen = len;
  o->str = NULL;
  o->len = 0;
  o->num = 0;
  o->boolean = 0;
  if (t == LUA_TSTRING) {
    o->kind = MC_IMGV_STRING;
    o->str = lua_tolstring(L, -1, &o->len); /* a string value: lives in the table */
  } else if (t == LUA_TNUMBER) {
    o->kind = MC_IMGV_NUMBER;
    o->num = (double)lua_tonumber(L, -1);
  } else {
    o->kind = MC_IMGV_BOOL;
    o->boolean = lua_toboolean(L, -1);
  }
  return 0;
}

/*
** Walk the table at index idx, whose options are named under prefix (plen
** bytes; 0 at the top level). Raw iteration: no metamethod runs.
*/
static int collect(lua_State *L, int idx, walk *w, const char *prefix, size_t plen, int depth) {
  luaL_checkstack(L, 4, "option tables nested too deeply");
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    char name[MC_IMGURL_NAME_MAX + 1];
    size_t nlen;
    int kt = lua_type(L, -2), r;
    if (kt == LUA_TSTRING) {
      size_t kl;
      const char *k = lua_tolstring(L, -2, &kl);
      if (depth == 0 && ((kl == 6 && memcmp(k, "strict", 6) == 0) || (kl == 12 && memcmp(k, "path_encoded", 12) == 0))) {
        lua_pop(L, 1);
        continue;
      }
      nlen = plen + (plen ? 1 : 0) + kl;
      if (nlen > MC_IMGURL_NAME_MAX || memchr(k, '\0', kl)) {
        snprintf(w->err, sizeof w->err, "option name '%.*s%s%.*s' is too long or contains NUL", (int)plen, prefix,
                 plen ? "." : "", (int)(kl > 40 ? 40 : kl), k);
        lua_pop(L, 2);
        return -1;
      }
      memcpy(name, prefix, plen);
      if (plen) name[plen] = '.';
      memcpy(name + plen + (plen ? 1 : 0), k, kl);
      name[nlen] = '\0';
    } else if (kt == LUA_TNUMBER && depth > 0 && lua_tonumber(L, -2) == 1) {
      memcpy(name, prefix, plen); /* t[1]: the value of the table's own name */
      nlen = plen;
      name[nlen] = '\0';
    } else {
      char where[MC_IMGURL_NAME_MAX + 1];
      memcpy(where, prefix, plen);
      where[plen] = '\0';
      if (depth == 0)
        snprintf(w->err, sizeof w->err, "options must be a table of name = value (found a %s key)",
                 lua_typename(L, kt));
      else
        snprintf(w->err, sizeof w->err,
                 "option '%s' has a %s key: use string keys, or [1] for the value of '%s' itself", where,
                 lua_typename(L, kt), where);
      lua_pop(L, 2);
      return -1;
    }
    if (lua_type(L, -1) == LUA_TTABLE) {
      if (depth + 1 >= IMG_DEPTH_MAX) {
        lua_pop(L, 2);
        return walk_fail(w, "option '%s' is nested too deeply", name);
      }
      r = collect(L, lua_gettop(L), w, name, nlen, depth + 1);
    } else {
      r = add_value(L, w, name, nlen);
    }
    if (r) {
      lua_pop(L, 2);
      return -1;
    }
    lua_pop(L, 1);
  }
  return 0;
}

/* Walk and normalise the options at idx (nil: none) into w. 0, or -1 with w->err. */
static int gather(lua_State *L, int idx, walk *w, unsigned flags) {
  size_t start = w->n, n;
  char err[256];
  if (lua_isnoneornil(L, idx)) return 0;
  if (!lua_istable(L, idx)) {
    snprintf(w->err, sizeof w->err, "options must be a table (got %s)", luaL_typename(L, idx));
    return -1;
  }
  if (collect(L, idx, w, "", 0, 0)) return -1;
  n = w->n - start;
  if (mc_imgurl_normalize(w->opts + start, &n, flags, err, sizeof err)) {
    snprintf(w->err, sizeof w->err, "%s", err);
    return -1;
  }
  w->n = start + n;
  return 0;
}

static int push_fail(lua_State *L, const char *prefix, const char *msg) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s%s", prefix, msg);
  return 2;
}

static unsigned flags_at(lua_State *L, int strict_idx, int encoded_idx) {
  unsigned f = 0;
  if (strict_idx && lua_toboolean(L, strict_idx)) f |= MC_IMGURL_STRICT;
  if (encoded_idx && lua_toboolean(L, encoded_idx)) f |= MC_IMGURL_PATH_ENCODED;
  return f;
}

/* Push the URL (scratch memory from the GC when it outgrows the stack buffer). */
static void push_url(lua_State *L, const char *base, size_t bl, const char *path, size_t pl, unsigned flags,
                     const char *head, const mc_imgopt *opts, size_t n) {
  char buf[IMG_BUF];
  size_t need = mc_imgurl_write(buf, sizeof buf, base, bl, path, pl, flags, head, opts, n);
  if (need < sizeof buf) {
    lua_pushlstring(L, buf, need);
  } else {
    char *big = (char *)lua_newuserdata(L, need + 1);
    mc_imgurl_write(big, need + 1, base, bl, path, pl, flags, head, opts, n);
    lua_pushlstring(L, big, need);
    lua_remove(L, -2);
  }
}

static int l_sirv_url(lua_State *L) {
  size_t bl, pl;
  const char *base = luaL_checklstring(L, 1, &bl);
  const char *path = luaL_checklstring(L, 2, &pl);
  unsigned flags = flags_at(L, 4, 5);
  mc_imgopt opts[MC_IMGURL_MAX_OPTS];
  walk w;
  char err[256];
  w.opts = opts;
  w.n = 0;
  if (mc_imgurl_check(base, bl, path, pl, flags, err, sizeof err)) return push_fail(L, "", err);
  if (gather(L, 3, &w, flags)) return push_fail(L, "", w.err);
  push_url(L, base, bl, path, pl, flags, NULL, opts, w.n);
  return 1;
}

/* Is a wire name in both sorted lists? Returns the first one, or -1. */
static long overlap(const mc_imgopt *a, size_t na, const mc_imgopt *b, size_t nb) {
  size_t i = 0, j = 0;
  while (i < na && j < nb) {
    size_t al, bl;
    const char *x = mc_imgurl_opt_name(&a[i], &al), *y = mc_imgurl_opt_name(&b[j], &bl);
    int c = memcmp(x, y, al < bl ? al : bl);
    if (c == 0) c = al < bl ? -1 : (al > bl ? 1 : 0);
    if (c == 0) return (long)i;
    if (c < 0) i++;
    else j++;
  }
  return -1;
}

static int l_sirv_signed_url(lua_State *L) {
  size_t bl, pl, kl, al = 0, ns;
  const char *base = luaL_checklstring(L, 1, &bl);
  const char *path = luaL_checklstring(L, 2, &pl);
  const char *key = luaL_checklstring(L, 5, &kl);
  lua_Number niat = luaL_checknumber(L, 6), nexp = luaL_checknumber(L, 7);
  long long iat, exp;
  const char *aud = luaL_optlstring(L, 8, NULL, &al);
  unsigned flags = flags_at(L, 9, 10);
  mc_imgopt opts[MC_IMGURL_MAX_OPTS];
  char tokbuf[1024], err[256], *tok = tokbuf, *head;
  /* times outside +-2^53 s cannot be cast exactly (and are no real expiry) */
  if (!(fabs(niat) < 9007199254740992.0) || !(fabs(nexp) < 9007199254740992.0))
    return push_fail(L, "", "iat and exp must be epoch seconds (expires_in is too large)");
  iat = (long long)niat;
  exp = (long long)nexp;
  long tl, dup;
  walk w;
  w.opts = opts;
  w.n = 0;
  if (mc_imgurl_check(base, bl, path, pl, flags, err, sizeof err)) return push_fail(L, "", err);
  if (gather(L, 3, &w, flags)) return push_fail(L, "secure_params: ", w.err);
  ns = w.n;
  if (gather(L, 4, &w, flags)) return push_fail(L, "insecure_params: ", w.err);
  dup = overlap(opts, ns, opts + ns, w.n - ns);
  if (dup >= 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "option '%s' is in both secure_params and insecure_params", opts[dup].given);
    return 2;
  }
  if (!aud) {
    char *plain = (char *)lua_newuserdata(L, pl + 2);
    al = mc_imgurl_plain_path(path, pl, flags, plain);
    aud = plain; /* kept alive by the stack until the function returns */
  }
  tl = mc_imgurl_token(tokbuf, sizeof tokbuf, key, kl, aud, al, iat, exp, opts, ns, err, sizeof err);
  if (tl < 0) return push_fail(L, "", err);
  if ((size_t)tl >= sizeof tokbuf) {
    tok = (char *)lua_newuserdata(L, (size_t)tl + 1);
    tl = mc_imgurl_token(tok, (size_t)tl + 1, key, kl, aud, al, iat, exp, opts, ns, err, sizeof err);
    if (tl < 0) return push_fail(L, "", err);
  }
  head = (char *)lua_newuserdata(L, (size_t)tl + 5);
  memcpy(head, "jwt=", 4);
  memcpy(head + 4, tok, (size_t)tl + 1);
  push_url(L, base, bl, path, pl, flags, head, opts + ns, w.n - ns);
  lua_pushlstring(L, tok, (size_t)tl);
  return 2;
}

/* A number, as an integer when it is a whole one (Lua 5.4 prints 640, not 640.0). */
static void push_number(lua_State *L, double v) {
#if LUA_VERSION_NUM >= 503
  if (v == floor(v) && fabs(v) < 9007199254740992.0) {
    lua_pushinteger(L, (lua_Integer)v);
    return;
  }
#endif
  lua_pushnumber(L, (lua_Number)v);
}

static int l_sirv_url_params(lua_State *L) {
  mc_imgopt opts[MC_IMGURL_MAX_OPTS];
  unsigned flags = flags_at(L, 2, 0);
  size_t i;
  walk w;
  w.opts = opts;
  w.n = 0;
  if (gather(L, 1, &w, flags)) return push_fail(L, "", w.err);
  lua_createtable(L, 0, (int)w.n);
  for (i = 0; i < w.n; i++) {
    size_t nl, tl;
    const char *name = mc_imgurl_opt_name(&opts[i], &nl);
    const char *text = mc_imgurl_opt_text(&opts[i], &tl);
    lua_pushlstring(L, name, nl);
    if (opts[i].wire == MC_IMGV_NUMBER) push_number(L, opts[i].num);
    else if (opts[i].wire == MC_IMGV_BOOL) lua_pushboolean(L, opts[i].boolean);
    else lua_pushlstring(L, text, tl);
    lua_rawset(L, -3);
  }
  return 1;
}

static int l_sirv_url_path(lua_State *L) {
  size_t pl;
  const char *path = luaL_checklstring(L, 1, &pl);
  unsigned flags = flags_at(L, 0, 2);
  char err[256];
  if (mc_imgurl_check("http://x", 8, path, pl, flags, err, sizeof err)) return push_fail(L, "", err);
  push_url(L, "", 0, path, pl, flags, NULL, NULL, 0);
  return 1;
}

void mc_lua_register_imgurl(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"sirv_url", l_sirv_url},
    {"sirv_signed_url", l_sirv_signed_url},
    {"sirv_url_params", l_sirv_url_params},
    {"sirv_url_path", l_sirv_url_path},
    {NULL, NULL}
  };
  luaL_setfuncs(L, fns, 0);
}
