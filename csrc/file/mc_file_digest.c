/*
** mc_file_digest.c — the file-reading half of content digests: a byte range of
** a regular file hashed as it is read with pread() in 64 KiB pieces (bounded
** memory), and the tus journal key of a file (its two 64 KiB edges, composed
** by the core's mc_fp_compose). The sans-I/O core never touches the disk.
*/
#include "mc_file_digest.h"
#include "mc_fingerprint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FP_PIECE (64 * 1024)

mc_fp_status mc_file_digest_range(const char *path, int64_t offset, int64_t length,
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

mc_fp_status mc_file_fingerprint(const char *path, const char *destination,
                                 char out_hex[2 * 32 + 1], int64_t *size,
                                 char *err, size_t errlen) {
  unsigned char first[32], last[32];
  int64_t sz = 0, n, sz2 = 0;
  mc_fp_status rc;
  /* learn the size with an empty range, then hash both edges */
  rc = mc_file_digest_range(path, 0, 0, MC_FP_SHA256, first, &sz, err, errlen);
  if (rc != MC_FP_OK) { *size = sz; return rc; }
  n = sz < MC_FP_EDGE ? sz : MC_FP_EDGE;
  rc = mc_file_digest_range(path, 0, n, MC_FP_SHA256, first, &sz2, err, errlen);
  if (rc == MC_FP_OK) rc = mc_file_digest_range(path, sz - n, n, MC_FP_SHA256, last, &sz2, err, errlen);
  *size = sz;
  if (rc != MC_FP_OK) return rc;
  if (sz2 != sz) {
    snprintf(err, errlen, "%s: the file changed size while it was fingerprinted", path);
    return MC_FP_CHANGED;
  }
  if (mc_fp_compose(sz, first, last, destination, out_hex) != 0) {
    snprintf(err, errlen, "digest failed");
    return MC_FP_IO;
  }
  return MC_FP_OK;
}
