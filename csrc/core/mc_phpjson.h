/*
** mc_phpjson.h — a byte-exact writer of PHP json_encode() output (default flags),
** for SpareVideos signature payloads only (no I/O, no Lua).
**
** The bytes of a signed payload decide the token, so this writer reproduces what
** PHP 8 json_encode($array) emits for the value types a payload uses:
**   - compact: no whitespace; object keys in the order they are written;
**   - strings: `"` `\` `/` escaped as \" \\ \/ ; \b \f \n \r \t short escapes;
**     other bytes below 0x20 as \u00XX; every non-ASCII code point as \uXXXX with
**     lower-case hex (astral ones as a UTF-16 surrogate pair); DEL and < > & '
**     written raw;
**   - integers as bare digits; true / false; lists as [..].
** Input must be valid UTF-8 (no overlong forms, no surrogates, <= U+10FFFF) and
** must not contain NUL: json_encode would fail (and PHP then signs ""), so the
** writer refuses such input with a message instead. It is not a general JSON
** encoder: responses are parsed with cJSON (mc_json), Lua values are encoded by
** mc_lua_json; this writer exists only so that signatures match PHP's.
**
** Usage: mc_phpjson w; mc_phpjson_init(&w); mc_phpjson_begin_object(&w);
** mc_phpjson_key(&w, "algo", 4); mc_phpjson_string(&w, "sha256", 6); ...
** mc_phpjson_end_object(&w); then w.buf / w.len (NUL-terminated) unless w.failed;
** mc_phpjson_free(&w) always.
*/
#ifndef MC_PHPJSON_H
#define MC_PHPJSON_H

#include <stddef.h>

#define MC_PHPJSON_MAX_DEPTH 8

typedef struct mc_phpjson {
  char *buf;          /* NUL-terminated output (malloc'd), NULL until something is written */
  size_t len;
  size_t cap;
  int depth;
  int count[MC_PHPJSON_MAX_DEPTH]; /* members written at each open level (for commas) */
  char kind[MC_PHPJSON_MAX_DEPTH];  /* '{' or '[' per open level */
  int after_key;      /* a key was written: the next value takes no comma */
  int failed;         /* sticky: once set, every call is a no-op returning -1 */
  char err[160];      /* why it failed */
} mc_phpjson;

void mc_phpjson_init(mc_phpjson *w);
void mc_phpjson_free(mc_phpjson *w);

/* Each returns 0, or -1 (w->failed set, w->err says why: invalid UTF-8 at byte
** N, NUL at byte N, nesting too deep, out of memory, a key outside an object). */
int mc_phpjson_begin_object(mc_phpjson *w);
int mc_phpjson_end_object(mc_phpjson *w);
int mc_phpjson_begin_array(mc_phpjson *w);
int mc_phpjson_end_array(mc_phpjson *w);
int mc_phpjson_key(mc_phpjson *w, const char *s, size_t n);
int mc_phpjson_string(mc_phpjson *w, const char *s, size_t n);
int mc_phpjson_int(mc_phpjson *w, long long v);
int mc_phpjson_bool(mc_phpjson *w, int v);

/* Check that n bytes are valid UTF-8 without NUL. Returns -1 when they are, or the
** offset of the first bad byte, and sets *why ("invalid UTF-8" / "NUL byte"). */
long mc_phpjson_check_utf8(const char *s, size_t n, const char **why);

#endif
