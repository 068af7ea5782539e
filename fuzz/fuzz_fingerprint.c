/*
** fuzz_fingerprint.c — libFuzzer target for mc_fingerprint: the tus journal
** key (mc_fp_compose) and the incremental hasher the binding feeds as bytes
** pass by (mc_fp_hasher_*, SHA-1 and SHA-256). Input: bytes 0-7 the file size
** (any int64, negative too), byte 8 the slicing, then 64 bytes of edge
** digests, then the destination (may hold newlines; a NUL ends it, as a C
** string would). Invariants: the key is 64 lower-case hex digits, equals the
** SHA-256 of the documented preimage "mediacdn-tus-1\n<size>\n<hex first>\n
** <hex last>\n<destination>" built here independently, and changes when the
** size, an edge or the destination changes; hashing the input in slices gives
** the one-shot digest (mc_sha256 for SHA-256), and a hasher is reusable after
** final and free.
*/
#include <inttypes.h>

#include "fuzz_util.h"
#include "mc_crypto.h"
#include "mc_fingerprint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The documented key, built by hand. */
static void reference_key(int64_t fsize, const unsigned char *first, const unsigned char *last,
                          const char *dest, char out[65]) {
  char fh[65], lh[65], *pre;
  size_t dl = strlen(dest), n;
  unsigned char d[32];
  mc_hex(first, 32, fh);
  mc_hex(last, 32, lh);
  pre = malloc(64 + 2 * 64 + 3 + dl);
  FUZZ_REQUIRE(pre != NULL);
  n = (size_t)sprintf(pre, "mediacdn-tus-1\n%" PRId64 "\n%s\n%s\n", fsize, fh, lh);
  memcpy(pre + n, dest, dl);
  FUZZ_REQUIRE(mc_sha256(pre, n + dl, d) == 0);
  mc_hex(d, 32, out);
  free(pre);
}

/* The input hashed with algo in slices of `slice` bytes equals the one-shot digest. */
static void sliced(mc_fp_algo algo, const uint8_t *p, size_t n, size_t slice) {
  mc_fp_hasher h;
  unsigned char a[MC_FP_MAX_DIGEST], b[MC_FP_MAX_DIGEST];
  size_t off, len = mc_fp_digest_len(algo);
  FUZZ_REQUIRE(len == (algo == MC_FP_SHA1 ? 20u : 32u));
  FUZZ_REQUIRE(mc_fp_hasher_init(&h, algo) == 0);
  for (off = 0; off < n; off += slice)
    FUZZ_REQUIRE(mc_fp_hasher_update(&h, p + off, n - off < slice ? n - off : slice) == 0);
  FUZZ_REQUIRE(mc_fp_hasher_final(&h, a) == 0);
  FUZZ_REQUIRE(h.ctx == NULL && mc_fp_hasher_update(&h, p, n) == -1); /* final freed it */
  mc_fp_hasher_free(&h);                                              /* idempotent */
  FUZZ_REQUIRE(mc_fp_hasher_init(&h, algo) == 0);
  FUZZ_REQUIRE(mc_fp_hasher_update(&h, p, n) == 0 && mc_fp_hasher_final(&h, b) == 0);
  FUZZ_REQUIRE(memcmp(a, b, len) == 0);
  if (algo == MC_FP_SHA256) {
    FUZZ_REQUIRE(mc_sha256(p, n, b) == 0 && memcmp(a, b, 32) == 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int64_t fsize;
  uint64_t u = 0;
  size_t i, slice;
  unsigned char first[32], last[32];
  char key[65], ref[65], other[65], *dest;
  if (size < 8 + 1 + 64) return 0;
  for (i = 0; i < 8; i++) u = (u << 8) | data[i];
  memcpy(&fsize, &u, sizeof fsize);
  slice = (size_t)data[8] + 1;
  memcpy(first, data + 9, 32);
  memcpy(last, data + 41, 32);
  dest = fuzz_copy(data + 73, size - 73, 1);
  memset(key, 'x', sizeof key);
  FUZZ_REQUIRE(mc_fp_compose(fsize, first, last, dest, key) == 0);
  FUZZ_REQUIRE(key[64] == '\0' && strlen(key) == 64);
  for (i = 0; i < 64; i++) FUZZ_REQUIRE(strchr("0123456789abcdef", key[i]) != NULL);
  reference_key(fsize, first, last, dest, ref);
  FUZZ_REQUIRE(strcmp(key, ref) == 0);
  /* a NULL destination is the empty one */
  FUZZ_REQUIRE(mc_fp_compose(fsize, first, last, NULL, other) == 0);
  FUZZ_REQUIRE((strcmp(other, key) == 0) == (dest[0] == '\0'));
  /* every field is in the key */
  FUZZ_REQUIRE(mc_fp_compose(fsize ^ 1, first, last, dest, other) == 0 && strcmp(other, key) != 0);
  first[slice % 32] ^= 0x80;
  FUZZ_REQUIRE(mc_fp_compose(fsize, first, last, dest, other) == 0 && strcmp(other, key) != 0);
  first[slice % 32] ^= 0x80;
  last[slice % 32] ^= 1;
  FUZZ_REQUIRE(mc_fp_compose(fsize, first, last, dest, other) == 0 && strcmp(other, key) != 0);
  last[slice % 32] ^= 1;
  sliced(MC_FP_SHA256, data, size, slice);
  sliced(MC_FP_SHA1, data, size, slice);
  FUZZ_REQUIRE(mc_fp_algo_from_name(mc_fp_algo_name(MC_FP_SHA1)) == MC_FP_SHA1);
  FUZZ_REQUIRE(mc_fp_algo_from_name(mc_fp_algo_name(MC_FP_SHA256)) == MC_FP_SHA256);
  FUZZ_REQUIRE(mc_fp_algo_from_name(dest) == 0 || strcmp(dest, "sha1") == 0 || strcmp(dest, "sha256") == 0);
  free(dest);
  return 0;
}
