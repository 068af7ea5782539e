/*
** mc_lua.h — shared declarations of the mediacdn.core binding.
**
** Each mc_lua_<what>.c binds one part of the C layers and registers its
** functions into the module table at the top of the stack; luaopen_mediacdn_core
** (mc_lua.c) calls them in turn. Every userdata type is made with
** mc_lua_class_register / mc_lua_handle_new: a namespaced metatable
** ("mediacdn.<Type>") with __index, __name, __tostring and one idempotent
** close that is also __gc and __close.
*/
#ifndef MC_LUA_H
#define MC_LUA_H

#include <lua.h>
#include <lauxlib.h>
#include "mc_lua_compat.h"

struct mc_headers;
struct mc_request;
struct mc_response;
struct mc_transport_error;
struct mc_http1_url;

/* ---- registration (one per binding file) -------------------------------- */
void mc_lua_register_json(lua_State *L);    /* mc_lua_json.c: json_decode, json_encode, null, array_mt */
void mc_lua_register_curl(lua_State *L);    /* mc_lua_curl.c: easy(), multi() (libcurl transport) */
void mc_lua_register_http1(lua_State *L);   /* mc_lua_http1.c: http1 (HTTP/1.1 framing) */
void mc_lua_register_clock(lua_State *L);   /* mc_lua_clock.c: now, monotonic, sleep */
void mc_lua_register_crypto(lua_State *L);  /* mc_lua_crypto.c: sha256_hex, hmac_sha256, base64 */
void mc_lua_register_url(lua_State *L);     /* mc_lua_url.c: url_escape */
void mc_lua_register_policy(lua_State *L);  /* mc_lua_policy.c: policy() (budgets + retry decisions) */
void mc_lua_register_imgurl(lua_State *L);  /* mc_lua_imgurl.c: sirv_url, sirv_signed_url (image URLs, JWT) */
void mc_lua_register_sparevideos(lua_State *L); /* mc_lua_sparevideos.c: sv_sign, sv_payload (SpareVideos tokens) */
void mc_lua_register_tus(lua_State *L);     /* mc_lua_tus.c: tus_upload (TusUpload), fingerprints, digests, file_lock */
void mc_lua_register_redis(lua_State *L);   /* mc_lua_redis.c: redis() (hiredis, when built), sha1_hex */
void mc_lua_register_signal(lua_State *L);  /* mc_lua_signal.c: signal_watch (SIGINT etc. as data, for the CLI) */

/* ---- userdata types (mc_lua.c) ----------------------------------------- */

/* The first member of every userdata struct: open is 1 once the native
** resource exists and 0 again after close. */
typedef struct mc_lua_handle {
  int open;
} mc_lua_handle;

/* A userdata type. release frees the native resources of an open handle
** (the userdata is at stack index 1); it runs at most once per handle. */
typedef struct mc_lua_class {
  const char *name;                 /* "mediacdn.Easy": metatable and __name */
  const luaL_Reg *methods;          /* besides close; may be NULL */
  void (*release)(lua_State *L, void *ud);
} mc_lua_class;

/* Create the metatable of cls (idempotent per Lua state). */
void mc_lua_class_register(lua_State *L, const mc_lua_class *cls);
/* Push a new zeroed userdata of `size` bytes (starting with mc_lua_handle,
** open = 0) with the metatable of cls. */
void *mc_lua_handle_new(lua_State *L, const mc_lua_class *cls, size_t size);
/* The open handle of type cls at idx; raises for a closed one. */
void *mc_lua_handle_check(lua_State *L, int idx, const mc_lua_class *cls);

/* ---- option tables (mc_lua.c) ------------------------------------------- */

/* t[k] as a number in [lo, hi] (def when nil), an integer when integral is
** set. Anything else raises "<who>: option 'k' must be ..." before the value
** is converted (a double out of an integer type's range converted as is would
** be undefined behaviour). */
double mc_lua_opt_number(lua_State *L, int t, const char *who, const char *k, double def,
                         double lo, double hi, int integral);

/* ---- request descriptors (mc_lua_request.c) ----------------------------- */

/*
** Fill r (initialised) from the req table at arg, validating it once with
** the framing rules of mc_http1 (method, URL, header names and values);
** url (may be NULL) receives the split URL. Strings r points to stay on the
** stack above the table. Unset fields take the defaults of mc_defaults.h.
** Returns the stack index of a memory body string (0 when none). Raises,
** naming the field.
*/
int mc_lua_read_request(lua_State *L, int arg, struct mc_request *r, struct mc_http1_url *url);
/* Push a header list as a table {lower-case name = value}. */
void mc_lua_push_headers(lua_State *L, const struct mc_headers *h);
/* Push res as {status, headers, body (absent when sunk), bytes, elapsed}. */
void mc_lua_push_response(lua_State *L, const struct mc_response *res);
/* Push a transport error as {kind, message, code}. */
void mc_lua_push_terr(lua_State *L, const struct mc_transport_error *e);

#endif
