/*
** mc_fingerprint.h — content digests for resumable uploads.
**
** Contract: no I/O here. Reading files is csrc/file/mc_file_digest (the layer
** above the core): mc_file_digest_range() hashes a byte range of a regular file
** read with pread() in 64 KiB pieces (bounded memory, never the whole file):
**   - the tus checksum extension: the state machine (mc_tus) asks for the
**     digest of the chunk it is about to send (MC_TUS_STEP_CHECKSUM); the
**     header must precede the body, so the range is hashed before the PATCH
**     streams it (the second read of a <= chunk-sized range comes from the
**     page cache);
**   - the journal key: mc_fp_compose() (from the edges mc_file_fingerprint()
**     read) = SHA-256 over
**     "mediacdn-tus-1\n<size>\n<hex sha256 of the first 64 KiB>\n<hex sha256 of the
**     last 64 KiB>\n<destination>".
** mc_fp_hasher is an incremental SHA-1/SHA-256 for callers that see bytes
** pass by (downloads, tests).
*/
#ifndef MC_FINGERPRINT_H
#define MC_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

#define MC_FP_MAX_DIGEST 32
#define MC_FP_EDGE (64 * 1024)

typedef enum mc_fp_algo {
  MC_FP_SHA1 = 1,
  MC_FP_SHA256 = 2
} mc_fp_algo;

/* Why a file could not be hashed (maps to error kinds in the binding). */
typedef enum mc_fp_status {
  MC_FP_OK = 0,
  MC_FP_MISSING,      /* no such file */
  MC_FP_NOT_REGULAR,  /* a directory, a device, ... */
  MC_FP_CHANGED,      /* the file is shorter than the range asked for */
  MC_FP_IO            /* cannot open / read (permissions, I/O error) */
} mc_fp_status;

typedef struct mc_fp_hasher {
  void *ctx;          /* EVP_MD_CTX */
  mc_fp_algo algo;
} mc_fp_hasher;

/* "sha1" / "sha256" -> algo, 0 when unknown. */
mc_fp_algo mc_fp_algo_from_name(const char *name);
const char *mc_fp_algo_name(mc_fp_algo algo);
size_t mc_fp_digest_len(mc_fp_algo algo);

int mc_fp_hasher_init(mc_fp_hasher *h, mc_fp_algo algo);          /* 0 / -1 */
int mc_fp_hasher_update(mc_fp_hasher *h, const void *p, size_t n); /* 0 / -1 */
/* Writes the digest to out (mc_fp_digest_len bytes) and frees the context. */
int mc_fp_hasher_final(mc_fp_hasher *h, unsigned char *out);
void mc_fp_hasher_free(mc_fp_hasher *h);                           /* idempotent */

/*
** The journal key from a file's size and the SHA-256 of its first and last
** MC_FP_EDGE bytes: 64 hex chars in out_hex (65 bytes). 0, or -1 when the digest
** fails. csrc/file/mc_file_fingerprint reads the edges.
*/
int mc_fp_compose(int64_t size, const unsigned char first[32], const unsigned char last[32],
                  const char *destination, char out_hex[2 * 32 + 1]);

#endif
