/*
** mc_fingerprint.c — digests of file ranges (pread, 64 KiB at a time) and the
** content fingerprint used as the tus journal key. See mc_fingerprint.h: the
** only disk access of the core is mc_fp_digest_range().
*/
#include "mc_fingerprint.h"
#include "mc_crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FP_PIECE (64 * 1024)

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

mc_fp_status mc_fp_digest_range(const char *path, int64_t offset, int64_t length,
                                mc_fp_algo algo, unsigned char *out, int64_t *size,
                                char *err, size_t errlen) {
  unsigned char buf[FP_PIECE];
  struct stat st;
  mc_fp_hasher h;
  int fd;
  int64_t done = 0;
  mc_fp_status rc = MC_FP_OK;
  *size = -1;
  if (offset < 0 || length < 0) {
    snprintf(err, errlen, "invalid range %lld+%lld", (long long)offset, (long long)length);
    return MC_FP_IO;
  }
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    snprintf(err, errlen, "%s: %s", path, strerror(e));
    return e == ENOENT || e == ENOTDIR ? MC_FP_MISSING : MC_FP_IO;
  }
  if (fstat(fd, &st) != 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    close(fd);
    return MC_FP_IO;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "%s: %s", path, S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    close(fd);
    return MC_FP_NOT_REGULAR;
  }
  *size = (int64_t)st.st_size;
  if (offset + length > *size) {
    snprintf(err, errlen, "%s: the file is %lld bytes, shorter than expected (%lld)", path,
             (long long)*size, (long long)(offset + length));
    close(fd);
    return MC_FP_CHANGED;
  }
  if (mc_fp_hasher_init(&h, algo) != 0) {
    snprintf(err, errlen, "cannot start a %s digest", mc_fp_algo_name(algo));
    close(fd);
    return MC_FP_IO;
  }
  while (done < length) {
    size_t want = (size_t)(length - done < FP_PIECE ? length - done : FP_PIECE);
    ssize_t n = pread(fd, buf, want, (off_t)(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) {
        snprintf(err, errlen, "%s: the file shrank while it was read", path);
        rc = MC_FP_CHANGED;
      } else {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = MC_FP_IO;
      }
      break;
    }
    mc_fp_hasher_update(&h, buf, (size_t)n);
    done += n;
  }
  close(fd);
  if (rc != MC_FP_OK) {
    mc_fp_hasher_free(&h);
    return rc;
  }
  if (mc_fp_hasher_final(&h, out) != 0) {
    snprintf(err, errlen, "digest failed");
    return MC_FP_IO;
  }
  return MC_FP_OK;
}

mc_fp_status mc_fp_fingerprint(const char *path, const char *destination,
                               char out_hex[2 * 32 + 1], int64_t *size,
                               char *err, size_t errlen) {
  unsigned char first[32], last[32], d[32];
  char fh[65], lh[65], head[64];
  int64_t sz = 0, n, sz2 = 0;
  int hl;
  mc_fp_hasher h;
  mc_fp_status rc;
  /* learn the size with an empty range, then hash both edges */
  rc = mc_fp_digest_range(path, 0, 0, MC_FP_SHA256, first, &sz, err, errlen);
  if (rc != MC_FP_OK) { *size = sz; return rc; }
  n = sz < MC_FP_EDGE ? sz : MC_FP_EDGE;
  rc = mc_fp_digest_range(path, 0, n, MC_FP_SHA256, first, &sz2, err, errlen);
  if (rc == MC_FP_OK) rc = mc_fp_digest_range(path, sz - n, n, MC_FP_SHA256, last, &sz2, err, errlen);
  *size = sz;
  if (rc != MC_FP_OK) return rc;
  if (sz2 != sz) {
    snprintf(err, errlen, "%s: the file changed size while it was fingerprinted", path);
    return MC_FP_CHANGED;
  }
  mc_hex(first, 32, fh);
  mc_hex(last, 32, lh);
  /* fields cannot contain a newline except the destination, which comes last */
  hl = snprintf(head, sizeof head, "mediacdn-tus-1\n%lld\n", (long long)sz);
  if (mc_fp_hasher_init(&h, MC_FP_SHA256) != 0) {
    snprintf(err, errlen, "digest failed");
    return MC_FP_IO;
  }
  mc_fp_hasher_update(&h, head, (size_t)hl);
  mc_fp_hasher_update(&h, fh, 64);
  mc_fp_hasher_update(&h, "\n", 1);
  mc_fp_hasher_update(&h, lh, 64);
  mc_fp_hasher_update(&h, "\n", 1);
  if (destination) mc_fp_hasher_update(&h, destination, strlen(destination));
  if (mc_fp_hasher_final(&h, d) != 0) {
    snprintf(err, errlen, "digest failed");
    return MC_FP_IO;
  }
  mc_hex(d, 32, out_hex);
  return MC_FP_OK;
}
