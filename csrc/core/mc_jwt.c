/*
** mc_jwt.c — HS256 JWT writer and Sirv's protected-URL claims (see mc_jwt.h).
** One HMAC and one base64url implementation: mc_crypto's.
*/
#include "mc_jwt.h"

#include <string.h>

#include "mc_crypto.h"

static const char JWT_HEADER[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* Length of base64url (no padding) of n bytes. */
static size_t b64url_len(size_t n) {
  return (n / 3) * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t mc_jwt_hs256_len(size_t plen) {
  return b64url_len(sizeof JWT_HEADER - 1) + 1 + b64url_len(plen) + 1 + b64url_len(MC_SHA256_LEN);
}

long mc_jwt_hs256(const void *key, size_t keylen, const char *payload, size_t plen,
                  char *out, size_t cap) {
  unsigned char mac[MC_SHA256_LEN];
  size_t need = mc_jwt_hs256_len(plen), n;
  if (need >= cap) return (long)need;
  n = mc_base64_encode((const unsigned char *)JWT_HEADER, sizeof JWT_HEADER - 1, out, 1);
  out[n++] = '.';
  n += mc_base64_encode((const unsigned char *)payload, plen, out + n, 1);
  if (mc_hmac_sha256(key, keylen, out, n, mac) != 0) {
    out[0] = '\0';
    return -1;
  }
  out[n++] = '.';
  n += mc_base64_encode(mac, sizeof mac, out + n, 1);
  memset(mac, 0, sizeof mac);
  return (long)n;
}

char *mc_jwt_sirv_claims(cJSON *args, const char *aud, long long iat, long long exp) {
  char *text;
  cJSON *o = cJSON_CreateObject();
  if (!o) {
    cJSON_Delete(args);
    return NULL;
  }
  if (args && !cJSON_AddItemToObject(o, "args", args)) {
    cJSON_Delete(args);
    cJSON_Delete(o);
    return NULL;
  }
  if (!cJSON_AddNumberToObject(o, "iat", (double)iat) || !cJSON_AddNumberToObject(o, "exp", (double)exp) ||
      !cJSON_AddStringToObject(o, "aud", aud)) {
    cJSON_Delete(o);
    return NULL;
  }
  text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return text;
}
