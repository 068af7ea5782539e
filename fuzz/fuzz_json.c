/*
** fuzz_json.c — libFuzzer target for mc_json_parse: bounded JSON input (size
** cap, NUL bytes, depth, trailing garbage) over cJSON. Input: a JSON text.
** Invariants: a failure always writes a message; a success prints back to
** text that parses again to an equal document (round trip), unless a number
** overflowed to infinity (cJSON prints that as null; lua-cjson decodes such
** numbers to inf as well) or an object repeats a key (cJSON_Compare cannot
** pair those; the Lua bridge keeps the last, as lua-cjson does).
*/
#include "fuzz_util.h"
#include "mc_json.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether the tree holds a number that is not finite or an object that
** repeats a key: documents a cJSON round trip cannot compare. */
static int not_comparable(const cJSON *j) {
  const cJSON *c, *d;
  if (cJSON_IsNumber(j) && !isfinite(j->valuedouble)) return 1;
  for (c = j->child; c; c = c->next) {
    if (cJSON_IsObject(j) && c->string)
      for (d = c->next; d; d = d->next)
        if (d->string && strcmp(c->string, d->string) == 0) return 1;
    if (not_comparable(c)) return 1;
  }
  return 0;
}

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
    if (out && !not_comparable(doc)) {
      cJSON *again = mc_json_parse(out, strlen(out), 0, err, sizeof err);
      FUZZ_REQUIRE(again != NULL);
      FUZZ_REQUIRE(cJSON_Compare(doc, again, 1));
      cJSON_Delete(again);
    }
    free(out);
    cJSON_Delete(doc);
  }
  free(text);
  return 0;
}
