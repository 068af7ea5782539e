/*
** mc_file_digest.h — digests read from files (the layer between the sans-I/O
** core and the binding; see mc_fingerprint.h for the hasher and the journal key).
**
** mc_file_digest_range(): digest of [offset, offset+length) of the regular file at
** path, read with pread() in 64 KiB pieces. *size receives the file's current size
** (also on MC_FP_CHANGED); err gets a one-line message on failure. Used for the tus
** checksum extension (the chunk is hashed before the PATCH streams it: the header
** precedes the body) and for core.file_digest.
** mc_file_fingerprint(): the journal key of (file, destination), 64 hex chars in
** out_hex; reads at most 2 x 64 KiB.
*/
#ifndef MC_FILE_DIGEST_H
#define MC_FILE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "mc_fingerprint.h"

mc_fp_status mc_file_digest_range(const char *path, int64_t offset, int64_t length,
                                  mc_fp_algo algo, unsigned char *out, int64_t *size,
                                  char *err, size_t errlen);
mc_fp_status mc_file_fingerprint(const char *path, const char *destination,
                                 char out_hex[2 * 32 + 1], int64_t *size,
                                 char *err, size_t errlen);

#endif
