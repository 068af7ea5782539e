/*
** mc_svsign.h — SpareVideos request tokens (no I/O, no Lua).
**
** A token signs an ordered list of fields (sparevideos-api.md §2.1):
**   J = PHP json_encode of the fields as an object, in the given order (mc_phpjson)
**   P = standard base64 of J with the '=' padding removed
**   H = lower-case hex HMAC-SHA256(key = private key, message = P)
**   token = P "." H
** Values are strings, integers, booleans or non-empty lists of strings. The fields
** are checked before anything is signed: keys non-empty, unique, valid UTF-8;
** strings valid UTF-8 without NUL; "expires" (when present) an integer >= 0;
** "algo" (when present) "sha256", the only algorithm this signer computes.
** On a bad field the functions return -1 and write a message that names the field
** by its 1-based position and key — never its value, which may be secret.
*/
#ifndef MC_SVSIGN_H
#define MC_SVSIGN_H

#include <stddef.h>

typedef enum mc_sv_kind {
  MC_SV_STRING = 1,
  MC_SV_INT,
  MC_SV_BOOL,
  MC_SV_LIST      /* list of strings */
} mc_sv_kind;

typedef struct mc_sv_str {
  const char *s;
  size_t n;
} mc_sv_str;

typedef struct mc_sv_field {
  const char *key;
  size_t keylen;
  mc_sv_kind kind;
  mc_sv_str str;          /* MC_SV_STRING */
  long long i;            /* MC_SV_INT */
  int b;                  /* MC_SV_BOOL */
  const mc_sv_str *items; /* MC_SV_LIST */
  size_t nitems;
} mc_sv_field;

/* The PHP-exact JSON of the fields: *json (malloc'd, NUL-terminated; free()),
** *len. Returns 0, or -1 with a message in err. */
int mc_sv_payload(const mc_sv_field *f, size_t n, char **json, size_t *len,
                  char *err, size_t errlen);

/* The token for the fields signed with key: *token (malloc'd; free()), *len.
** Returns 0, or -1 with a message in err (an empty key is refused). */
int mc_sv_sign(const mc_sv_field *f, size_t n, const char *key, size_t keylen,
               char **token, size_t *len, char *err, size_t errlen);

/* The token for an already serialised payload (J bytes): used by mc_sv_sign and by
** tests that sign PHP output verbatim (e.g. the quoted-expires pitfall). */
int mc_sv_sign_json(const char *json, size_t jlen, const char *key, size_t keylen,
                    char **token, size_t *len, char *err, size_t errlen);

#endif
