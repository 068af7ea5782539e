/*
** mc_jwt.h — JSON Web Tokens signed with HS256, and the claims of a Sirv
** protected (JWT) URL. Pure C over mc_crypto (HMAC-SHA256, base64url) and
** cJSON; no I/O, no clock: the caller passes the times.
**
** Contract:
**  - mc_jwt_hs256 writes base64url(header) "." base64url(payload) "."
**    base64url(HMAC-SHA256(key, first two parts)), header exactly
**    {"alg":"HS256","typ":"JWT"}, no padding (RFC 7515/7519).
**  - mc_jwt_sirv_claims prints Sirv's claims in the order of Sirv's own tokens
**    (reference/sirv-imaging.md §3.1, the decoded postFilesJwt example):
**    {"args":{...secure params...},"iat":N,"exp":N,"aud":"/path"}; "args" is
**    left out when there are no secure params.
*/
#ifndef MC_JWT_H
#define MC_JWT_H

#include <stddef.h>
#include <cJSON.h>

/* Length of the token for a payload of plen bytes (without the NUL). */
size_t mc_jwt_hs256_len(size_t plen);

/*
** Sign payload (plen bytes of JSON) with key. When the token and its NUL fit in
** cap bytes it is written to out; nothing is written otherwise. Returns the
** token length (>= cap: out was too small), or -1 when the HMAC failed.
*/
long mc_jwt_hs256(const void *key, size_t keylen, const char *payload, size_t plen,
                  char *out, size_t cap);

/*
** Sirv's claims as compact JSON text (free it with cJSON_free), or NULL when
** out of memory. args (an object, may be NULL) is owned by the claims from
** here on, also on failure. aud is NUL-terminated.
*/
char *mc_jwt_sirv_claims(cJSON *args, const char *aud, long long iat, long long exp);

#endif
