/*
** mc_lua_crypto.c — binding of mc_crypto (OpenSSL): hashing and base64.
**
**   core.sha256_hex(s)                 -> 64 hex digits
**   core.hmac_sha256(key, msg [,"hex"]) -> 32 raw bytes, or hex
**   core.base64_encode(s [, url])      -> standard (padded) or URL-safe (unpadded)
**   core.base64_decode(s)              -> bytes | nil, "invalid base64"
**
** Scratch buffers are userdata on the stack (collected, so a raise cannot
** leak them; LuaJIT lacks luaL_buffinitsize).
*/
#include "mc_lua.h"
#include "mc_crypto.h"

#include <string.h>

/* Push n bytes of the scratch at the top, replacing it. */
static void lcrypto_push_scratch(lua_State *L, const char *p, size_t n) {
  lua_pushlstring(L, p, n);
  lua_remove(L, -2);
}

static int lcrypto_sha256_hex(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  unsigned char d[MC_SHA256_LEN];
  char hex[2 * MC_SHA256_LEN + 1];
  if (mc_sha256(s, len, d) != 0) return luaL_error(L, "sha256 failed");
  mc_hex(d, sizeof d, hex);
  lua_pushstring(L, hex);
  return 1;
}

/* hmac_sha256(key, msg [, "hex"]) -> raw 32 bytes, or hex */
static int lcrypto_hmac_sha256(lua_State *L) {
  size_t klen, mlen;
  const char *k = luaL_checklstring(L, 1, &klen);
  const char *m = luaL_checklstring(L, 2, &mlen);
  const char *fmt = luaL_optstring(L, 3, "raw");
  unsigned char d[MC_SHA256_LEN];
  if (mc_hmac_sha256(k, klen, m, mlen, d) != 0) return luaL_error(L, "hmac-sha256 failed");
  if (strcmp(fmt, "hex") == 0) {
    char hex[2 * MC_SHA256_LEN + 1];
    mc_hex(d, sizeof d, hex);
    lua_pushstring(L, hex);
  } else {
    lua_pushlstring(L, (const char *)d, sizeof d);
  }
  return 1;
}

/* base64_encode(s [, url]) */
static int lcrypto_base64_encode(lua_State *L) {
  size_t len, n;
  const char *s = luaL_checklstring(L, 1, &len);
  int url = lua_toboolean(L, 2);
  char *out = (char *)lua_newuserdata(L, mc_base64_encoded_size(len));
  n = mc_base64_encode((const unsigned char *)s, len, out, url);
  lcrypto_push_scratch(L, out, n);
  return 1;
}

/* base64_decode(s) -> bytes | nil, message */
static int lcrypto_base64_decode(lua_State *L) {
  size_t len;
  long n;
  const char *s = luaL_checklstring(L, 1, &len);
  unsigned char *out = (unsigned char *)lua_newuserdata(L, len * 3 / 4 + 3);
  n = mc_base64_decode(s, len, out);
  if (n < 0) {
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_pushliteral(L, "invalid base64");
    return 2;
  }
  lcrypto_push_scratch(L, (const char *)out, (size_t)n);
  return 1;
}

void mc_lua_register_crypto(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"sha256_hex", lcrypto_sha256_hex},
    {"hmac_sha256", lcrypto_hmac_sha256},
    {"base64_encode", lcrypto_base64_encode},
    {"base64_decode", lcrypto_base64_decode},
    {NULL, NULL}
  };
  luaL_setfuncs(L, fns, 0);
}
