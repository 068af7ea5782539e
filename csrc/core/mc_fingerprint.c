/*
** mc_fingerprint.c — incremental SHA-1/SHA-256 and the content fingerprint used
** as the tus journal key, from bytes the caller read (csrc/file reads them).
*/
#include "mc_fingerprint.h"
#include "mc_crypto.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>


mc_fp_algo mc_fp_algo_from_name(const char *name) {
  if (!name) return (mc_fp_algo)0;
  if (strcmp(name, "sha1") == 0) return MC_FP_SHA1;
  if (strcmp(name, "sha256") == 0) return MC_FP_SHA256;
  return (mc_fp_algo)0;
}

const char *mc_fp_algo_name(mc_fp_algo algo) {
  return algo == MC_FP_SHA1 ? "sha1" : algo == MC_FP_SHA256 ? "sha256" : "none";
}

size_t mc_fp_digest_len(mc_fp_algo algo) {
  return algo == MC_FP_SHA1 ? 20 : algo == MC_FP_SHA256 ? 32 : 0;
}

int mc_fp_hasher_init(mc_fp_hasher *h, mc_fp_algo algo) {
  const EVP_MD *md = algo == MC_FP_SHA1 ? EVP_sha1() : algo == MC_FP_SHA256 ? EVP_sha256() : NULL;
  EVP_MD_CTX *ctx;
  h->ctx = NULL;
  h->algo = algo;
  if (!md) return -1;
  ctx = EVP_MD_CTX_new();
  if (!ctx) return -1;
  if (EVP_DigestInit_ex(ctx, md, NULL) != 1) {
    EVP_MD_CTX_free(ctx);
    return -1;
  }
  h->ctx = ctx;
  return 0;
}

int mc_fp_hasher_update(mc_fp_hasher *h, const void *p, size_t n) {
  if (!h->ctx) return -1;
  return EVP_DigestUpdate((EVP_MD_CTX *)h->ctx, p, n) == 1 ? 0 : -1;
}

int mc_fp_hasher_final(mc_fp_hasher *h, unsigned char *out) {
  unsigned int n = 0;
  int rc;
  if (!h->ctx) return -1;
  rc = EVP_DigestFinal_ex((EVP_MD_CTX *)h->ctx, out, &n) == 1 ? 0 : -1;
  mc_fp_hasher_free(h);
  return rc;
}

void mc_fp_hasher_free(mc_fp_hasher *h) {
  if (h->ctx) EVP_MD_CTX_free((EVP_MD_CTX *)h->ctx);
  h->ctx = NULL;
}

int mc_fp_compose(int64_t size, const unsigned char first[32], const unsigned char last[32],
                  const char *destination, char out_hex[2 * 32 + 1]) {
  unsigned char d[32];
  char fh[65], lh[65], head[64];
  int hl;
  mc_fp_hasher h;
  mc_hex(first, 32, fh);
  mc_hex(last, 32, lh);
  /* fields cannot contain a newline except the destination, which comes last */
  hl = snprintf(head, sizeof head, "mediacdn-tus-1\n%lld\n", (long long)size);
  if (mc_fp_hasher_init(&h, MC_FP_SHA256) != 0) return -1;
  mc_fp_hasher_update(&h, head, (size_t)hl);
  mc_fp_hasher_update(&h, fh, 64);
  mc_fp_hasher_update(&h, "\n", 1);
  mc_fp_hasher_update(&h, lh, 64);
  mc_fp_hasher_update(&h, "\n", 1);
  if (destination) mc_fp_hasher_update(&h, destination, strlen(destination));
  if (mc_fp_hasher_final(&h, d) != 0) return -1;
  mc_hex(d, 32, out_hex);
  return 0;
}
