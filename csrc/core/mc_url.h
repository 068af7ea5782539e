/* mc_url.h — RFC 3986 percent-encoding of query values and paths (no I/O). */
#ifndef MC_URL_H
#define MC_URL_H

#include <stddef.h>

/*
** Percent-encode len bytes of s into out (capacity outcap, including the NUL).
** Unreserved characters (A-Z a-z 0-9 - . _ ~) are kept; every other byte,
** "/" and space included, becomes %XX (upper-case hex). Returns the encoded
** length, or the length needed (>= outcap) when out is too small.
*/
size_t mc_url_escape(const char *s, size_t len, char *out, size_t outcap);

/*
** The same, but the bytes listed in keep (a NUL-terminated set, e.g. "/" for a
** path whose segments are encoded one by one) are copied as they are.
** keep may be NULL or "".
*/
size_t mc_url_escape_keep(const char *s, size_t len, const char *keep, char *out, size_t outcap);

/*
** Decode %XX sequences of len bytes of s into out (at least len bytes; no NUL
** is added); "+" stays "+". Returns the decoded length, or -1 when a "%" is
** not followed by two hex digits.
*/
long mc_url_unescape(const char *s, size_t len, char *out);

#endif
