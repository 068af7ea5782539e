/*
** mc_http.c — request/response model and header parsing (no I/O).
*/
#include "mc_http.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void mc_headers_init(mc_headers *h) {
  h->items = NULL;
  h->count = 0;
  h->cap = 0;
}

void mc_headers_free(mc_headers *h) {
  size_t i;
  for (i = 0; i < h->count; i++) {
    free(h->items[i].name);
    free(h->items[i].value);
  }
  free(h->items);
  mc_headers_init(h);
}

static char *dup_n(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

int mc_headers_add(mc_headers *h, const char *name, size_t name_len,
                   const char *value, size_t value_len) {
  char *n, *v;
  if (h->count == h->cap) {
    size_t ncap = h->cap ? h->cap * 2 : 16;
    mc_header *ni = realloc(h->items, ncap * sizeof *ni);
    if (!ni) return -1;
    h->items = ni;
    h->cap = ncap;
  }
  n = dup_n(name, name_len);
  v = dup_n(value, value_len);
  if (!n || !v) {
    free(n);
    free(v);
    return -1;
  }
  h->items[h->count].name = n;
  h->items[h->count].value = v;
  h->count++;
  return 0;
}

const char *mc_headers_get(const mc_headers *h, const char *name) {
  size_t i;
  for (i = 0; i < h->count; i++)
    if (strcasecmp(h->items[i].name, name) == 0) return h->items[i].value;
  return NULL;
}

long mc_parse_status_line(const char *line, size_t len) {
  size_t i = 0;
  long status = 0;
  int digits = 0;
  if (len < 8 || strncmp(line, "HTTP/", 5) != 0) return -1;
  while (i < len && line[i] != ' ') i++;
  while (i < len && line[i] == ' ') i++;
  while (i < len && isdigit((unsigned char)line[i]) && digits < 3) {
    status = status * 10 + (line[i] - '0');
    i++;
    digits++;
  }
  if (digits != 3 || status < 100) return -1; /* 000-099: no HTTP status (RFC 9110 15) */
  if (i < len && line[i] != ' ' && line[i] != '\r' && line[i] != '\n') return -1;
  return status;
}

/* Join a repeated header: "old, new". */
static int join_value(mc_header *hd, const char *v, size_t vlen) {
  size_t olen = strlen(hd->value);
  char *nv = realloc(hd->value, olen + 2 + vlen + 1);
  if (!nv) return -1;
  memcpy(nv + olen, ", ", 2);
  memcpy(nv + olen + 2, v, vlen);
  nv[olen + 2 + vlen] = '\0';
  hd->value = nv;
  return 0;
}

/* An RFC 9110 token character (what a field name is made of). */
static int is_tchar(unsigned char c) {
  return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

int mc_headers_feed_line(mc_headers *h, const char *line, size_t len) {
  const char *colon;
  size_t nlen, i, start, vlen;
  char lname[128];
  char *v;
  int rc;

  while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n')) len--;
  if (len == 0) return 0;
  if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) { /* a new response starts */
    mc_headers_free(h);
    return 0;
  }
  colon = memchr(line, ':', len);
  if (!colon) return 0; /* obs-fold or garbage: ignored */
  nlen = (size_t)(colon - line);
  while (nlen > 0 && (line[nlen - 1] == ' ' || line[nlen - 1] == '\t')) nlen--;
  if (nlen == 0 || nlen >= sizeof lname) return 0;
  for (i = 0; i < nlen; i++) {
    if (!is_tchar((unsigned char)line[i])) return 0; /* not a field name: ignored */
    lname[i] = (char)tolower((unsigned char)line[i]);
  }
  lname[nlen] = '\0';
  /* NUL, CR and LF inside a value become SP (RFC 9110 5.5), then SP/HTAB
  ** are trimmed from both ends */
  vlen = len - (size_t)(colon + 1 - line);
  v = malloc(vlen + 1);
  if (!v) return -1;
  for (i = 0; i < vlen; i++) {
    char c = colon[1 + i];
    v[i] = (c == '\0' || c == '\r' || c == '\n') ? ' ' : c;
  }
  start = 0;
  while (start < vlen && (v[start] == ' ' || v[start] == '\t')) start++;
  while (vlen > start && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) vlen--;
  rc = 2;
  for (i = 0; i < h->count && rc == 2; i++)
    if (strcmp(h->items[i].name, lname) == 0) rc = join_value(&h->items[i], v + start, vlen - start);
  if (rc == 2) rc = mc_headers_add(h, lname, nlen, v + start, vlen - start);
  free(v);
  return rc;
}

void mc_request_init(mc_request *r) {
  memset(r, 0, sizeof *r);
  mc_headers_init(&r->headers);
  r->method = "GET";
  r->body.kind = MC_BODY_NONE;
  r->body.length = -1;
}

void mc_request_free(mc_request *r) {
  mc_headers_free(&r->headers);
}

void mc_response_init(mc_response *r) {
  memset(r, 0, sizeof *r);
  mc_headers_init(&r->headers);
}

void mc_response_free(mc_response *r) {
  mc_headers_free(&r->headers);
  free(r->body);
  r->body = NULL;
  r->body_len = 0;
}

void mc_transport_error_set(mc_transport_error *e, mc_transport_kind kind,
                            int code, const char *fmt, ...) {
  va_list ap;
  e->kind = kind;
  e->code = code;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
}

const char *mc_transport_kind_name(mc_transport_kind kind) {
  switch (kind) {
    case MC_TERR_TIMEOUT: return "timeout";
    case MC_TERR_TRANSIENT: return "transient";
    case MC_TERR_LOCAL: return "local";
    case MC_TERR_PROTOCOL: return "protocol";
    default: return "none";
  }
}
