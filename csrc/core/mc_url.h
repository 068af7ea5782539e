/* mc_url.h — RFC 3986 percent-encoding of query values (no I/O). */
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

#endif
