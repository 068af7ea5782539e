/* mc_crypto.h — SHA-256, HMAC-SHA256 and base64 over OpenSSL (no I/O). */
#ifndef MC_CRYPTO_H
#define MC_CRYPTO_H

#include <stddef.h>

#define MC_SHA256_LEN 32

/* out receives 32 bytes. Return 0 on success, -1 on failure. */
int mc_sha256(const void *data, size_t len, unsigned char out[MC_SHA256_LEN]);
int mc_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
                   unsigned char out[MC_SHA256_LEN]);
/* Size needed for base64 of n bytes, with the NUL. */
size_t mc_base64_encoded_size(size_t n);
/* Standard alphabet with padding (url=0), or URL-safe without padding (url=1). Returns length. */
size_t mc_base64_encode(const unsigned char *in, size_t n, char *out, int url);
/* Decodes either alphabet, padding optional. out needs n*3/4+3 bytes. Returns length or -1. */
long mc_base64_decode(const char *in, size_t n, unsigned char *out);
void mc_hex(const unsigned char *in, size_t n, char *out); /* out: 2n+1 */

#endif
