/*
** fuzz_base64.c — libFuzzer target for mc_crypto's base64 (standard with
** padding, URL-safe without). Input: any bytes. Invariants: encoding fits
** mc_base64_encoded_size, uses only its alphabet, and decodes back to the
** input under both alphabets; decoding arbitrary text stays inside the
** documented n*3/4+3 output bytes and returns -1 or a length within it.
*/
#include "fuzz_util.h"
#include "mc_crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int url;
  size_t cap = mc_base64_encoded_size(size);
  char *enc = malloc(cap);
  unsigned char *dec;
  char *text;
  long n;
  FUZZ_REQUIRE(enc != NULL);
  for (url = 0; url <= 1; url++) {
    size_t len = mc_base64_encode(data, size, enc, url), i;
    FUZZ_REQUIRE(len < cap && enc[len] == '\0');
    for (i = 0; i < len; i++)
      FUZZ_REQUIRE(strchr(url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                              : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
                          enc[i]) != NULL);
    dec = malloc(len * 3 / 4 + 3);
    FUZZ_REQUIRE(dec != NULL);
    n = mc_base64_decode(enc, len, dec);
    FUZZ_REQUIRE(n == (long)size && (size == 0 || memcmp(dec, data, size) == 0));
    free(dec);
  }
  free(enc);
  /* arbitrary text: never written past the documented bound */
  text = fuzz_copy(data, size, 0);
  dec = malloc(size * 3 / 4 + 3);
  FUZZ_REQUIRE(dec != NULL);
  n = mc_base64_decode(text, size, dec);
  FUZZ_REQUIRE(n == -1 || (n >= 0 && (size_t)n <= size * 3 / 4 + 3));
  free(dec);
  free(text);
  return 0;
}
