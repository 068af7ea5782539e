/*
** fuzz_jwt.c — libFuzzer target for the JWT writer (mc_jwt): HS256 tokens
** over any payload and key, and Sirv's claims. Input: byte 0 = key length,
** then the key, then the payload bytes (also used as the claims' aud and as
** the value of one secure arg). Invariants: the token has the announced
** length, three base64url parts, the header {"alg":"HS256","typ":"JWT"}, the
** payload part decodes to the payload bytes and the signature to the HMAC;
** nothing is written into a buffer too small; the claims are JSON that reads
** back with the same aud, iat and exp.
*/
#include "fuzz_util.h"
#include "mc_crypto.h"
#include "mc_json.h"
#include "mc_jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t klen, plen, want;
  const uint8_t *key, *payload;
  char *tok, small[4], *claims, err[160], *aud;
  unsigned char *back, mac[MC_SHA256_LEN];
  const char *d1, *d2;
  long n;
  if (size == 0) return 0;
  klen = data[0] % 65;
  if (klen > size - 1) klen = size - 1;
  key = data + 1;
  payload = data + 1 + klen;
  plen = size - 1 - klen;
  want = mc_jwt_hs256_len(plen);
  memset(small, 'x', sizeof small);
  n = mc_jwt_hs256(key, klen, (const char *)payload, plen, small, sizeof small);
  FUZZ_REQUIRE(n == (long)want && memcmp(small, "xxxx", 4) == 0);
  tok = malloc(want + 1);
  FUZZ_REQUIRE(tok != NULL);
  n = mc_jwt_hs256(key, klen, (const char *)payload, plen, tok, want + 1);
  FUZZ_REQUIRE(n == (long)want && tok[want] == '\0');
  d1 = strchr(tok, '.');
  FUZZ_REQUIRE(d1 != NULL && (d2 = strchr(d1 + 1, '.')) != NULL && strchr(d2 + 1, '.') == NULL);
  back = malloc(want);
  FUZZ_REQUIRE(back != NULL);
  n = mc_base64_decode(tok, (size_t)(d1 - tok), back);
  FUZZ_REQUIRE(n == 27 && memcmp(back, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 27) == 0);
  n = mc_base64_decode(d1 + 1, (size_t)(d2 - d1 - 1), back);
  FUZZ_REQUIRE(n == (long)plen && (plen == 0 || memcmp(back, payload, plen) == 0));
  FUZZ_REQUIRE(mc_hmac_sha256(key, klen, tok, (size_t)(d2 - tok), mac) == 0);
  n = mc_base64_decode(d2 + 1, strlen(d2 + 1), back);
  FUZZ_REQUIRE(n == MC_SHA256_LEN && memcmp(back, mac, MC_SHA256_LEN) == 0);
  free(back);
  free(tok);
  /* claims: the payload bytes as aud and as one secure arg (cJSON copies them) */
  aud = fuzz_copy(payload, plen, 1);
  if (strlen(aud) == plen) {
    cJSON *args = cJSON_CreateObject(), *doc;
    FUZZ_REQUIRE(args != NULL);
    cJSON_AddStringToObject(args, "text", aud);
    claims = mc_jwt_sirv_claims(args, aud, 1000, 2000);
    FUZZ_REQUIRE(claims != NULL);
    doc = mc_json_parse(claims, strlen(claims), 0, err, sizeof err);
    /* cJSON prints what it was given; text that is not UTF-8 reads back only
    ** as far as cJSON's parser accepts it */
    if (doc) {
      const cJSON *a = cJSON_GetObjectItem(doc, "aud");
      FUZZ_REQUIRE(cJSON_IsString(a) && strcmp(a->valuestring, aud) == 0);
      FUZZ_REQUIRE(cJSON_GetObjectItem(doc, "iat")->valuedouble == 1000);
      FUZZ_REQUIRE(cJSON_GetObjectItem(doc, "exp")->valuedouble == 2000);
      cJSON_Delete(doc);
    }
    cJSON_free(claims);
  }
  free(aud);
  return 0;
}
