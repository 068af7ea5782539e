/* mc_crypto.c — hashing and base64. */
#include "mc_crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

int mc_sha256(const void *data, size_t len, unsigned char out[MC_SHA256_LEN]) {
  unsigned int n = 0;
  return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == MC_SHA256_LEN ? 0 : -1;
}

int mc_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
                   unsigned char out[MC_SHA256_LEN]) {
  unsigned int n = 0;
  if (!HMAC(EVP_sha256(), key, (int)keylen, msg, len, out, &n)) return -1;
  return n == MC_SHA256_LEN ? 0 : -1;
}

size_t mc_base64_encoded_size(size_t n) {
  return ((n + 2) / 3) * 4 + 1;
}

size_t mc_base64_encode(const unsigned char *in, size_t n, char *out, int url) {
  static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const char *a = url ? safe : std;
  size_t i, o = 0;
  for (i = 0; i + 2 < n; i += 3) {
    unsigned v = ((unsigned)in[i] << 16) | ((unsigned)in[i + 1] << 8) | in[i + 2];
    out[o++] = a[(v >> 18) & 63];
    out[o++] = a[(v >> 12) & 63];
    out[o++] = a[(v >> 6) & 63];
    out[o++] = a[v & 63];
  }
  if (i < n) {
    unsigned v = (unsigned)in[i] << 16;
    if (i + 1 < n) v |= (unsigned)in[i + 1] << 8;
    out[o++] = a[(v >> 18) & 63];
    out[o++] = a[(v >> 12) & 63];
    if (i + 1 < n) out[o++] = a[(v >> 6) & 63];
    else if (!url) out[o++] = '=';
    if (!url) out[o++] = '=';
  }
  out[o] = '\0';
  return o;
}

static int b64val(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

long mc_base64_decode(const char *in, size_t n, unsigned char *out) {
  size_t i, o = 0;
  unsigned v = 0;
  int bits = 0;
  while (n > 0 && in[n - 1] == '=') n--;
  for (i = 0; i < n; i++) {
    int d = b64val(in[i]);
    if (d < 0) return -1;
    v = (v << 6) | (unsigned)d;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)((v >> bits) & 0xFF);
    }
  }
  if (bits >= 6) return -1; /* a lone trailing character */
  return (long)o;
}

void mc_hex(const unsigned char *in, size_t n, char *out) {
  static const char hx[] = "0123456789abcdef";
  size_t i;
  for (i = 0; i < n; i++) {
    out[2 * i] = hx[in[i] >> 4];
    out[2 * i + 1] = hx[in[i] & 15];
  }
  out[2 * n] = '\0';
}
