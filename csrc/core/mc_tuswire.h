/* mc_tuswire.h — tus wire-format helpers (header values, dates, URLs); no I/O. */
#ifndef MC_TUSWIRE_H
#define MC_TUSWIRE_H

#include <stddef.h>
#include <stdint.h>
#include "mc_http.h"

/* A non-negative decimal header value; -1 when absent or invalid. */
int64_t mc_tuswire_header_int(const mc_headers *h, const char *name);
/* 1 when the comma-separated list holds item (case-insensitive). */
int mc_tuswire_list_has(const char *list, const char *item);
/* An IMF-fixdate ("Wed, 25 Jun 2014 16:00:00 GMT") as epoch seconds; -1 invalid. */
double mc_tuswire_http_date(const char *s);
/* Split an absolute http(s) URL: scheme length (4/5), host, port, origin length. */
int mc_tuswire_split_origin(const char *url, size_t *scheme_len, const char **host,
                            size_t *host_len, int *port, size_t *origin_len);
/* Resolve a Location against base into out: 0, or -1 (invalid / too long). */
int mc_tuswire_resolve(const char *base, const char *loc, char *out, size_t outlen);
/* 1 when both absolute URLs have the same scheme, host and port. */
int mc_tuswire_same_origin(const char *a, const char *b);

#endif
