/*
** mc_http1_res.c — the response side of HTTP/1.1 framing (see mc_http1.h):
** the head line rule shared with libcurl's header callback, body placement,
** and the byte-level parser (head, Content-Length / chunked / close bodies).
** No I/O: bytes come in, decisions and body bytes go out.
*/
#include "mc_http1.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Set err: kind, libcurl's code and a formatted message. */
static void mc_http1_res_fail(mc_http1_error *err, mc_transport_kind kind, int code,
                              const char *fmt, ...) {
  va_list ap;
  err->kind = kind;
  err->code = code;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
}

/* ---- the head line rule ------------------------------------------------- */

void mc_http1_head_init(mc_http1_head *h, mc_headers *headers, int http1_only) {
  h->headers = headers;
  h->status = -1;
  h->major = h->minor = 0;
  h->phase = MC_HTTP1_STATUS;
  h->http1_only = http1_only;
  h->last = -1;
  h->bytes = 0;
  h->lines = 0;
}

/* "HTTP/" DIGIT ["." DIGIT] SP 3DIGIT [SP reason]: the status, or -1. */
static long mc_http1_res_status_line(const char *s, size_t len, int *major, int *minor) {
  size_t i = 5;
  long status = 0;
  int d;
  if (len < 10 || memcmp(s, "HTTP/", 5) != 0) return -1;
  if (s[i] < '0' || s[i] > '9') return -1;
  *major = s[i++] - '0';
  *minor = 0;
  if (s[i] == '.') {
    if (i + 1 >= len || s[i + 1] < '0' || s[i + 1] > '9') return -1;
    *minor = s[i + 1] - '0';
    i += 2;
  }
  if (i >= len || s[i] != ' ') return -1;
  i++;
  for (d = 0; d < 3; d++, i++) {
    if (i >= len || s[i] < '0' || s[i] > '9') return -1;
    status = status * 10 + (s[i] - '0');
  }
  if (i < len && s[i] != ' ') return -1;
  return status < 100 ? -1 : status;
}

/* Trim SP/HTAB on both sides of s[0..*len). */
static const char *mc_http1_res_trim(const char *s, size_t *len) {
  size_t n = *len;
  while (n > 0 && (*s == ' ' || *s == '\t')) { s++; n--; }
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  *len = n;
  return s;
}

/* Index of the header named lname (lower case, nlen bytes) in a list this
** file filled (lower-case names, "name\0value\0" layout), or -1. */
static long mc_http1_res_find(const mc_headers *hs, const char *lname, size_t nlen) {
  size_t i;
  for (i = 0; i < hs->count; i++) {
    const mc_header *it = &hs->items[i];
    if ((size_t)(it->value - it->name) == nlen + 1 && it->name[0] == lname[0] &&
        memcmp(it->name, lname, nlen) == 0)
      return (long)i;
  }
  return -1;
}

#define MC_HTTP1_RES_NAME 128 /* names up to this long are folded on the stack */

/* A "Name: value" line: add it (keep=1) or only check it (trailers). The
** name is checked (tchar) and folded to lower case in one pass. */
static int mc_http1_res_field(mc_http1_head *h, const char *line, size_t len, int keep,
                              mc_http1_error *err) {
  const char *colon = memchr(line, ':', len), *v;
  char lname[MC_HTTP1_RES_NAME];
  size_t nlen, vlen, i;
  long at;
  int bad = 0;
  nlen = colon ? (size_t)(colon - line) : 0;
  if (nlen > sizeof lname) {
    bad = !mc_http1_is_token(line, nlen);
  } else {
    for (i = 0; i < nlen; i++) {
      unsigned char c = mc_http1_tchar_lower[(unsigned char)line[i]];
      if (c == 0) {
        bad = 1;
        break;
      }
      lname[i] = (char)c;
    }
  }
  if (nlen == 0 || bad) {
    mc_http1_res_fail(err, MC_TERR_PROTOCOL, MC_CODE_WEIRD_SERVER_REPLY,
                      "malformed response header line");
    return -1;
  }
  vlen = len - nlen - 1;
  v = mc_http1_res_trim(colon + 1, &vlen);
  if (!mc_http1_is_field_value(v, vlen)) {
    mc_http1_res_fail(err, MC_TERR_PROTOCOL, MC_CODE_WEIRD_SERVER_REPLY,
                      "invalid characters in a response header value");
    return -1;
  }
  if (!keep) return 0;
  if (nlen > sizeof lname) { /* a long name: folded in place */
    at = mc_headers_find(h->headers, line, nlen);
    if (at < 0) {
      if (mc_headers_add(h->headers, line, nlen, v, vlen) != 0) goto oom;
      at = (long)h->headers->count - 1;
      for (i = 0; i < nlen; i++)
        h->headers->items[at].name[i] = (char)mc_http1_tchar_lower[(unsigned char)line[i]];
    } else if (mc_headers_append(h->headers, (size_t)at, 1, v, vlen) != 0) {
      goto oom;
    }
  } else {
    at = mc_http1_res_find(h->headers, lname, nlen);
    if (at < 0) {
      if (mc_headers_add(h->headers, lname, nlen, v, vlen) != 0) goto oom;
      at = (long)h->headers->count - 1;
    } else if (mc_headers_append(h->headers, (size_t)at, 1, v, vlen) != 0) {
      goto oom;
    }
  }
  h->last = at;
  return 0;
oom:
  mc_http1_res_fail(err, MC_TERR_LOCAL, 0, "out of memory");
  return -1;
}

/* obs-fold: replace the fold with one SP and append the rest (RFC 9112 5.2). */
static int mc_http1_res_fold(mc_http1_head *h, const char *line, size_t len, int keep,
                             mc_http1_error *err) {
  const char *v;
  if (h->last < 0) {
    mc_http1_res_fail(err, MC_TERR_PROTOCOL, MC_CODE_WEIRD_SERVER_REPLY,
                      "malformed response header (continuation line without a header)");
    return -1;
  }
  v = mc_http1_res_trim(line, &len);
  if (!mc_http1_is_field_value(v, len)) {
    mc_http1_res_fail(err, MC_TERR_PROTOCOL, MC_CODE_WEIRD_SERVER_REPLY,
                      "invalid characters in a response header value");
    return -1;
  }
  if (!keep || len == 0) return 0;
  /* the fold's SP separates: a value still empty takes none (it stays trimmed) */
  if ((h->headers->items[h->last].value[0] != '\0' &&
       mc_headers_append(h->headers, (size_t)h->last, 0, " ", 1) != 0) ||
      mc_headers_append(h->headers, (size_t)h->last, 0, v, len) != 0) {
    mc_http1_res_fail(err, MC_TERR_LOCAL, 0, "out of memory");
    return -1;
  }
  return 0;
}

/* A status line: a new response starts (after 1xx, or a new head). */
static int mc_http1_res_start(mc_http1_head *h, const char *line, size_t len,
                              mc_http1_error *err) {
  long st = mc_http1_res_status_line(line, len, &h->major, &h->minor);
  if (st < 0) {
    mc_http1_res_fail(err, MC_TERR_PROTOCOL, MC_CODE_WEIRD_SERVER_REPLY, "malformed status line");
    return -1;
  }
  if (h->http1_only && h->major != 1) {
    mc_http1_res_fail(err, MC_TERR_PROTOCOL, MC_CODE_UNSUPPORTED_PROTOCOL,
                      "unsupported HTTP version %d", h->major);
    return -1;
  }
  mc_headers_clear(h->headers);
  h->status = st;
  h->phase = MC_HTTP1_FIELDS;
  h->last = -1;
  h->lines = 0;
  return 0;
}

int mc_http1_head_line(mc_http1_head *h, const char *line, size_t len, mc_http1_error *err) {
  int status_like;
  if (len > 0 && line[len - 1] == '\n') len--;
  if (len > 0 && line[len - 1] == '\r') len--;
  h->bytes += len + 2;
  if (h->bytes > MC_HTTP1_MAX_HEAD_BYTES) {
    mc_http1_res_fail(err, MC_TERR_PROTOCOL, MC_CODE_WEIRD_SERVER_REPLY,
                      "response head exceeds %zu bytes", (size_t)MC_HTTP1_MAX_HEAD_BYTES);
    return -1;
  }
  /* '/' is no tchar: a line starting "HTTP/" is never a header line */
  status_like = len >= 5 && line[0] == 'H' && line[1] == 'T' && line[2] == 'T' && line[3] == 'P' &&
                line[4] == '/';
  if (h->phase == MC_HTTP1_STATUS || status_like) {
    if (h->phase == MC_HTTP1_COMPLETE && h->http1_only) {
      mc_http1_res_fail(err, MC_TERR_PROTOCOL, MC_CODE_WEIRD_SERVER_REPLY,
                        "malformed response header line");
      return -1;
    }
    return mc_http1_res_start(h, line, len, err);
  }
  if (len == 0) {
    if (h->phase == MC_HTTP1_COMPLETE) return 0; /* end of the trailers */
    if (h->status < 200 && h->status != 101) { /* interim: the real head follows */
      h->phase = MC_HTTP1_STATUS;
      return 0;
    }
    h->phase = MC_HTTP1_COMPLETE;
    h->lines = 0;
    return 1;
  }
  if (++h->lines > MC_HTTP1_MAX_HEADER_LINES) {
    mc_http1_res_fail(err, MC_TERR_PROTOCOL, MC_CODE_WEIRD_SERVER_REPLY,
                      "more than %d response header lines", MC_HTTP1_MAX_HEADER_LINES);
    return -1;
  }
  if (line[0] == ' ' || line[0] == '\t')
    return mc_http1_res_fold(h, line, len, h->phase == MC_HTTP1_FIELDS, err) < 0 ? -1 : 0;
  return mc_http1_res_field(h, line, len, h->phase == MC_HTTP1_FIELDS, err) < 0 ? -1 : 0;
}

/* ---- bodies ------------------------------------------------------------- */

int64_t mc_http1_content_length(const char *value) {
  int64_t n = -1;
  const char *p = value;
  if (!value) return -1;
  for (;;) {
    int64_t v = 0;
    int digits = 0;
    while (*p == ' ' || *p == '\t') p++;
    while (*p >= '0' && *p <= '9') {
      if (++digits > 15) return -2;
      v = v * 10 + (*p++ - '0');
    }
    while (*p == ' ' || *p == '\t') p++;
    if (digits == 0 || (*p != ',' && *p != '\0')) return -2;
    if (n >= 0 && v != n) return -2;
    n = v;
    if (*p == '\0') return n;
    p++;
  }
}

void mc_http1_body_too_large(size_t max_body, mc_http1_error *err) {
  mc_http1_res_fail(err, MC_TERR_PROTOCOL, MC_CODE_FILESIZE_EXCEEDED,
                    "response body is larger than max_body (%zu bytes)", max_body);
}

int mc_http1_body_begin(const mc_http1_head *h, int has_sink, size_t max_body, int *to_sink,
                        mc_http1_error *err) {
  int64_t cl;
  *to_sink = has_sink && h->status >= 200 && h->status < 300;
  if (*to_sink) return 0;
  cl = mc_http1_content_length(mc_headers_get(h->headers, "content-length"));
  if (cl >= 0 && (uint64_t)cl > (uint64_t)max_body) {
    mc_http1_body_too_large(max_body, err);
    return -1;
  }
  return 0;
}
