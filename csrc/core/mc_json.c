/*
** mc_json.c — bounded JSON parsing. cJSON enforces CJSON_NESTING_LIMIT (1000)
** itself; we add the size cap, NUL and trailing-garbage checks and a message
** that says where the input broke.
*/
#include "mc_json.h"

#include <stdio.h>
#include <string.h>

cJSON *mc_json_parse(const char *text, size_t len, size_t max_bytes,
                     char *err, size_t errlen) {
  const char *end = NULL;
  cJSON *root;
  if (max_bytes == 0) max_bytes = MC_JSON_DEFAULT_MAX_BYTES;
  if (len > max_bytes) {
    snprintf(err, errlen, "JSON document too large (%zu bytes, limit %zu)", len, max_bytes);
    return NULL;
  }
  if (memchr(text, '\0', len) != NULL) {
    snprintf(err, errlen, "JSON document contains a NUL byte");
    return NULL;
  }
  root = cJSON_ParseWithOpts(text, &end, 1);
  if (!root) {
    size_t at = (end && end >= text) ? (size_t)(end - text) : 0;
    if (at >= len)
      snprintf(err, errlen, "truncated JSON (ended after %zu bytes)", len);
    else
      snprintf(err, errlen, "invalid JSON at byte %zu", at);
    return NULL;
  }
  return root;
}
