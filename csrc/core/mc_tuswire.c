/*
** mc_tuswire.c — wire-format helpers of the tus client: integer and list
** header values, IMF-fixdate (Upload-Expires), absolute/relative Location
** resolution and origin comparison. Pure functions, no I/O.
*/
#include "mc_tuswire.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parse a non-negative decimal integer header; -1 when absent or invalid. */
int64_t mc_tuswire_header_int(const mc_headers *h, const char *name) {
  const char *v = h ? mc_headers_get(h, name) : NULL;
  char *end;
  long long n;
  if (!v) return -1;
  while (*v == ' ') v++;
  if (!isdigit((unsigned char)*v)) return -1;
  errno = 0;
  n = strtoll(v, &end, 10);
  while (*end == ' ') end++;
  if (errno || *end) return -1;
  return (int64_t)n;
}

/* Does the comma-separated list contain item (case-insensitive)? */
int mc_tuswire_list_has(const char *list, const char *item) {
  size_t n = strlen(item);
  const char *p = list;
  while (p && *p) {
    const char *e;
    size_t len;
    while (*p == ' ' || *p == ',') p++;
    e = p;
    while (*e && *e != ',') e++;
    len = (size_t)(e - p);
    while (len > 0 && p[len - 1] == ' ') len--;
    if (len == n && strncasecmp(p, item, n) == 0) return 1;
    p = e;
  }
  return 0;
}

/* ---- URLs --------------------------------------------------------------- */

/* Split an absolute http(s) URL: scheme length, host start/length, port. */
int mc_tuswire_split_origin(const char *url, size_t *scheme_len, const char **host,
                        size_t *host_len, int *port, size_t *origin_len) {
  const char *p, *a, *e, *colon = NULL;
  if (strncasecmp(url, "http://", 7) == 0) *scheme_len = 4;
  else if (strncasecmp(url, "https://", 8) == 0) *scheme_len = 5;
  else return -1;
  a = url + *scheme_len + 3;
  e = a;
  while (*e && *e != '/' && *e != '?' && *e != '#') e++;
  if (e == a) return -1;
  p = a;
  if (*p == '[') { /* IPv6 literal */
    while (p < e && *p != ']') p++;
    if (p == e) return -1;
    p++;
  } else {
    while (p < e && *p != ':') p++;
  }
  if (p < e && *p == ':') colon = p;
  *host = a;
  *host_len = (size_t)((colon ? colon : e) - a);
  if (*host_len == 0) return -1;
  if (colon) {
    char *end;
    long v = strtol(colon + 1, &end, 10);
    if (end != e || v <= 0 || v > 65535) return -1;
    *port = (int)v;
  } else {
    *port = *scheme_len == 5 ? 443 : 80;
  }
  *origin_len = (size_t)(e - url);
  return 0;
}

int mc_tuswire_same_origin(const char *a, const char *b) {
  size_t sa, sb, ha, hb, oa, ob;
  const char *pa, *pb;
  int qa, qb;
  if (mc_tuswire_split_origin(a, &sa, &pa, &ha, &qa, &oa) != 0) return 0;
  if (mc_tuswire_split_origin(b, &sb, &pb, &hb, &qb, &ob) != 0) return 0;
  return sa == sb && ha == hb && qa == qb && strncasecmp(pa, pb, ha) == 0;
}

int mc_tuswire_resolve(const char *base, const char *loc, char *out, size_t outlen) {
  size_t sl, hl, ol;
  const char *host;
  int port, n;
  while (*loc == ' ') loc++;
  if (*loc == '\0') return -1;
  if (strncasecmp(loc, "http://", 7) == 0 || strncasecmp(loc, "https://", 8) == 0) {
    n = snprintf(out, outlen, "%s", loc);
  } else {
    if (mc_tuswire_split_origin(base, &sl, &host, &hl, &port, &ol) != 0) return -1;
    if (loc[0] == '/' && loc[1] == '/') {
      n = snprintf(out, outlen, "%.*s:%s", (int)sl, base, loc);
    } else if (loc[0] == '/') {
      n = snprintf(out, outlen, "%.*s%s", (int)ol, base, loc);
    } else { /* relative to the base's directory */
      const char *q = base + ol, *slash = NULL;
      while (*q && *q != '?' && *q != '#') {
        if (*q == '/') slash = q;
        q++;
      }
      if (slash) n = snprintf(out, outlen, "%.*s%s", (int)(slash - base + 1), base, loc);
      else n = snprintf(out, outlen, "%.*s/%s", (int)ol, base, loc);
    }
  }
  if (n < 0 || (size_t)n >= outlen) return -1;
  return 0;
}

/* ---- dates -------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  int64_t era;
  unsigned yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned)(y - era * 400);
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

double mc_tuswire_http_date(const char *s) {
  static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char wd[8], mon[8], zone[8];
  int d, y, hh, mm, ss, m = -1, i;
  if (!s) return -1;
  if (sscanf(s, "%7[A-Za-z], %d %7s %d %d:%d:%d %7s", wd, &d, mon, &y, &hh, &mm, &ss, zone) != 8)
    return -1;
  for (i = 0; i < 12; i++)
    if (strcmp(mon, months[i]) == 0) m = i + 1;
  if (m < 0 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60 || strcmp(zone, "GMT") != 0)
    return -1;
  return (double)(days_from_civil(y, (unsigned)m, (unsigned)d) * 86400 + hh * 3600 + mm * 60 + ss);
}

