/*
** json_reference.h — cJSON's own parser as the reference for mc_json (used by
** tests/c/test_json.c and fuzz/fuzz_json.c; header-only, test code only).
**
** json_reference_parse(): cJSON 1.7's parse of text, and for a refusal the
** message mc_json_parse gives (its offset rule). json_same_tree(): two trees
** equal node for node (types, keys, strings, the bits of every number, order,
** and the head's prev link to the last child).
*/
#ifndef MC_JSON_REFERENCE_H
#define MC_JSON_REFERENCE_H

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

static cJSON *json_reference_parse(const char *text, size_t len, char *err, size_t errlen) {
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
  if (!root) {
    size_t at = (end && end >= text) ? (size_t)(end - text) : 0;
    if (at >= len) snprintf(err, errlen, "truncated JSON (ended after %zu bytes)", len);
    else snprintf(err, errlen, "invalid JSON at byte %zu", at);
  }
  return root;
}

static int json_same_tree(const cJSON *a, const cJSON *b) {
  const cJSON *ha = a, *hb = b, *la = NULL, *lb = NULL;
  for (; a && b; la = a, lb = b, a = a->next, b = b->next) {
    if (a->type != b->type || a->valueint != b->valueint ||
        memcmp(&a->valuedouble, &b->valuedouble, sizeof a->valuedouble) != 0)
      return 0;
    if (!a->string != !b->string || (a->string && strcmp(a->string, b->string) != 0)) return 0;
    if (!a->valuestring != !b->valuestring ||
        (a->valuestring && strcmp(a->valuestring, b->valuestring) != 0))
      return 0;
    if (!json_same_tree(a->child, b->child)) return 0;
  }
  if (a || b) return 0;
  /* cJSON links a list's head back to its last node (prev) */
  return !ha || (ha->next == NULL && hb->next == NULL && ha->prev == NULL && hb->prev == NULL) ||
         (ha->prev == la && hb->prev == lb);
}

#endif
