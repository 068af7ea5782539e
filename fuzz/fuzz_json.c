/*
** fuzz_json.c — libFuzzer target for mc_json_parse: bounded JSON input (size
** cap, NUL bytes, depth, trailing garbage) over cJSON. Input: a JSON text.
** Invariants: a failure always writes a message; a success prints back to
** text that parses again to an equal document (round trip).
*/
#include "fuzz_util.h"
#include "mc_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[160];
  char *text = fuzz_copy(data, size, 1);
  cJSON *doc;
  err[0] = '\0';
  doc = mc_json_parse(text, size, 1 << 20, err, sizeof err);
  if (!doc) {
    FUZZ_REQUIRE(err[0] != '\0');
  } else {
    char *out = cJSON_PrintUnformatted(doc);
    if (out) {
      cJSON *again = mc_json_parse(out, strlen(out), 0, err, sizeof err);
      FUZZ_REQUIRE(again != NULL);
      FUZZ_REQUIRE(cJSON_Compare(doc, again, 1));
      cJSON_Delete(again);
      free(out);
    }
    cJSON_Delete(doc);
  }
  free(text);
  return 0;
}
