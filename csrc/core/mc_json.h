/*
** mc_json.h — bounded JSON parsing over cJSON (no I/O, no Lua).
*/
#ifndef MC_JSON_H
#define MC_JSON_H

#include <stddef.h>
#include <cJSON.h>

#include "mc_defaults.h" /* MC_JSON_MAX_DEPTH, MC_JSON_DEFAULT_MAX_BYTES */

/*
** Parse len bytes of text (which must be NUL-terminated at text[len]). Rejects
** input over max_bytes (0 = default), embedded NUL bytes and escaped ones
** ("\u0000" in a string, which cJSON would cut short), nesting deeper than
** MC_JSON_MAX_DEPTH, trailing garbage, and truncated or invalid JSON. On error
** returns NULL and writes a message into err (errlen bytes) with the offset.
*/
cJSON *mc_json_parse(const char *text, size_t len, size_t max_bytes,
                     char *err, size_t errlen);

#endif
