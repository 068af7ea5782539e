/*
** mc_json.h — the project's one JSON parser (no I/O, no Lua): an event
** (SAX-style) parser, and a cJSON tree built from its events.
**
** mc_json_sax reports a document as calls to a handler (value, key, start
** and end of each array and object, in document order); the Lua binding
** builds its tables from those events in one pass, and mc_json_parse builds
** a cJSON tree from them. Both accept and refuse exactly the same texts, with
** the same messages (cJSON 1.7's grammar and quirks: see mc_json.c).
*/
#ifndef MC_JSON_H
#define MC_JSON_H

#include <stddef.h>
#include <cJSON.h>

#include "mc_defaults.h" /* MC_JSON_MAX_DEPTH, MC_JSON_DEFAULT_MAX_BYTES */

/*
** The events. Each callback returns 0 to go on, or non-zero to stop the
** parse (mc_json_sax then returns MC_JSON_STOPPED and writes no message).
** A string (value or key) is s[0..n): a pointer into the text itself when
** it holds no escape, else into a buffer valid until the callback returns;
** it never holds a NUL byte. end_array / end_object get the number of
** elements / members. scratch(ud, n) must return a buffer of n bytes that
** stays valid until the next scratch call (the parser unescapes long
** strings into it; short ones go to a buffer of its own), or NULL to stop
** (out of memory); the handler owns what it returns (the parser allocates
** nothing: a handler that longjmps out of a callback leaks nothing of the
** parser's).
*/
typedef struct mc_json_handler {
  int (*null_value)(void *ud);
  int (*boolean)(void *ud, int value);
  int (*number)(void *ud, double value);
  int (*string)(void *ud, const char *s, size_t n);
  int (*key)(void *ud, const char *s, size_t n);
  int (*start_array)(void *ud);
  int (*end_array)(void *ud, size_t n);
  int (*start_object)(void *ud);
  int (*end_object)(void *ud, size_t n);
  char *(*scratch)(void *ud, size_t n);
} mc_json_handler;

#define MC_JSON_OK 0
#define MC_JSON_INVALID 1 /* refused: a message is in err */
#define MC_JSON_STOPPED 2 /* a callback (or scratch) stopped the parse */

/*
** Parse len bytes of text (which must be NUL-terminated at text[len]) and
** report it to h. Rejects input over max_bytes (0 = default), embedded NUL
** bytes and escaped ones ("\u0000" in a string, or a "\u" escape with
** bad hex digits, which cJSON read as a NUL), nesting deeper than
** MC_JSON_MAX_DEPTH, trailing garbage, and truncated or invalid JSON: then
** returns MC_JSON_INVALID with a message in err (errlen bytes) giving the
** offset. Events already reported before a refusal stand: the handler
** discards what it built.
*/
int mc_json_sax(const char *text, size_t len, size_t max_bytes,
                const mc_json_handler *h, void *ud, char *err, size_t errlen);

/*
** The same, as a cJSON tree (free it with cJSON_Delete). On error returns
** NULL and writes a message into err ("out of memory" when a node could not
** be allocated).
*/
cJSON *mc_json_parse(const char *text, size_t len, size_t max_bytes,
                     char *err, size_t errlen);

#endif
