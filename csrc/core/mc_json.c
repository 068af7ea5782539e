/*
** mc_json.c — bounded JSON parsing. cJSON enforces CJSON_NESTING_LIMIT (1000)
** itself; we add the size cap, NUL and trailing-garbage checks and a message
** that says where the input broke. A string may not hold an escaped NUL
** ("\u0000"): cJSON keeps strings NUL-terminated and would cut it short
** without a word, so the document is refused instead.
*/
#include "mc_json.h"

#include <stdio.h>
#include <string.h>

/* Offset of the first "\u0000" escape inside a string, or -1. */
static long escaped_nul_at(const char *text, size_t len) {
  size_t i;
  int in_string = 0;
  for (i = 0; i < len; i++) {
    char c = text[i];
    if (!in_string) {
      if (c == '"') in_string = 1;
    } else if (c == '"') {
      in_string = 0;
    } else if (c == '\\' && i + 1 < len) {
      if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0) return (long)i;
      i++; /* the escaped character */
    }
  }
  return -1;
}

cJSON *mc_json_parse(const char *text, size_t len, size_t max_bytes,
                     char *err, size_t errlen) {
  const char *end = NULL;
  cJSON *root;
  long nul;
  if (max_bytes == 0) max_bytes = MC_JSON_DEFAULT_MAX_BYTES;
  if (len > max_bytes) {
    snprintf(err, errlen, "JSON document too large (%zu bytes, limit %zu)", len, max_bytes);
    return NULL;
  }
  if (memchr(text, '\0', len) != NULL) {
    snprintf(err, errlen, "JSON document contains a NUL byte");
    return NULL;
  }
  /* (most documents hold no escape at all: one memchr instead of the scan) */
  if (memchr(text, '\\', len) != NULL && (nul = escaped_nul_at(text, len)) >= 0) {
    snprintf(err, errlen, "JSON string holds an escaped NUL (\\u0000) at byte %ld", nul);
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
