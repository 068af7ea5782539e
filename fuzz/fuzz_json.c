/*
** fuzz_json.c — libFuzzer target for the JSON parser (mc_json_parse over the
** events of mc_json_sax): bounded JSON input (size cap, NUL bytes, depth,
** trailing garbage). Input: a JSON text.
** Invariants: a failure always writes a message; the parser accepts and
** refuses exactly what cJSON 1.7's own parser (the reference, called here
** only) does, with the same offset in the message and a node-for-node equal
** tree (every number's bits); a success prints back to text that parses again
** to an equal document (round trip), unless a number overflowed to infinity
** (cJSON prints that as null; lua-cjson decodes such numbers to inf as well)
** or an object repeats a key (cJSON_Compare cannot pair those; the Lua bridge
** keeps the last, as lua-cjson does).
*/
#include "fuzz_util.h"
#include "mc_json.h"
#include "../tests/c/json_reference.h"

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

/* cJSON's parser on text, with the message mc_json_parse gives for a refusal
** (mc_json's own refusals, checked before parsing, are left out). */
static void reference(const char *text, size_t size, cJSON *ours, const char *err) {
  cJSON *ref;
  char msg[160];
  if (memchr(text, '\0', size) || strstr(err, "NUL") || strstr(err, "\\u escape") || strstr(err, "too large")) return;
  ref = json_reference_parse(text, size, msg, sizeof msg);
  if (!ref) {
    FUZZ_REQUIRE(ours == NULL && strcmp(msg, err) == 0);
  } else {
    FUZZ_REQUIRE(ours != NULL && json_same_tree(ref, ours));
    cJSON_Delete(ref);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[160];
  char *text = fuzz_copy(data, size, 1);
  cJSON *doc;
  err[0] = '\0';
  doc = mc_json_parse(text, size, 1 << 20, err, sizeof err);
  if (!doc) FUZZ_REQUIRE(err[0] != '\0');
  reference(text, size, doc, err);
  if (doc) {
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
