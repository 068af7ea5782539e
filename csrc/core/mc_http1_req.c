/*
** mc_http1_req.c — the request side of HTTP/1.1 framing (see mc_http1.h):
** field validation, URL split, body rules and the request head. No I/O.
*/
#include "mc_http1.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* tchar (RFC 9110 5.6.2: ALPHA, DIGIT and "!#$%&'*+-.^_`|~") -> itself in
** lower case; any other byte -> 0 (tests/c checks it against that rule) */
const unsigned char mc_http1_tchar_lower[256] = {
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,  33,   0,  35,  36,  37,  38,  39,   0,   0,  42,  43,   0,  45,  46,   0,
   48,  49,  50,  51,  52,  53,  54,  55,  56,  57,   0,   0,   0,   0,   0,   0,
    0,  97,  98,  99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
  112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122,   0,   0,   0,  94,  95,
   96,  97,  98,  99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
  112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122,   0, 124,   0, 126,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
};

int mc_http1_is_token(const char *s, size_t len) {
  size_t i;
  if (!s || len == 0) return 0;
  for (i = 0; i < len; i++)
    if (!mc_http1_tchar_lower[(unsigned char)s[i]]) return 0;
  return 1;
}

/* The bytes a header value may not hold: CR, LF, NUL. */
static const unsigned char mc_http1_req_not_in_value[256] = {['\0'] = 1, ['\n'] = 1, ['\r'] = 1};

int mc_http1_is_field_value(const char *s, size_t len) {
  size_t i;
  for (i = 0; i < len; i++)
    if (mc_http1_req_not_in_value[(unsigned char)s[i]]) return 0;
  return 1;
}

int mc_http1_is_framing_header(const char *name) {
  switch (name[0] | 0x20) { /* (ASCII letters folded: rules most names out) */
    case 'c': return strcasecmp(name, "Content-Length") == 0;
    case 't': return strcasecmp(name, "Transfer-Encoding") == 0;
    default: return 0;
  }
}

/* ---- URL ---------------------------------------------------------------- */

static int mc_http1_req_is_ipv4(const char *h) {
  int parts = 0, digits = 0;
  for (; *h; h++) {
    if (*h >= '0' && *h <= '9') {
      if (++digits > 3) return 0;
    } else if (*h == '.' && digits > 0) {
      parts++;
      digits = 0;
    } else {
      return 0;
    }
  }
  return parts == 3 && digits > 0;
}

int mc_http1_parse_url(const char *url, mc_http1_url *u, const char **what) {
  const char *p, *auth, *auth_end, *host, *host_end, *port_s;
  size_t hlen, i;
  long port = 0;
  int v6 = 0;
  /* (field by field: the strings are written whole on success, and a
  ** memset of the ~800-byte struct showed up on every request's profile) */
  u->https = 0;
  u->port = 0;
  u->is_ip = 0;
  u->host[0] = u->connect_host[0] = u->authority[0] = '\0';
  u->target = NULL;
  u->target_len = 0;
  u->target_slash = 0;
  if (strncasecmp(url, "http://", 7) == 0) {
    p = url + 7;
  } else if (strncasecmp(url, "https://", 8) == 0) {
    p = url + 8;
    u->https = 1;
  } else {
    *what = "an http:// or https:// URL";
    return -1;
  }
  for (i = 0; url[i]; i++) {
    unsigned char c = (unsigned char)url[i];
    if (c <= ' ' || c == 0x7f) {
      *what = "a URL without spaces or line breaks";
      return -1;
    }
  }
  auth = p;
  auth_end = auth + strcspn(auth, "/?#");
  if (memchr(auth, '@', (size_t)(auth_end - auth))) {
    *what = "a URL without credentials (user:password@)";
    return -1;
  }
  if (*auth == '[') { /* [IPv6]:port */
    host = auth + 1;
    host_end = memchr(host, ']', (size_t)(auth_end - host));
    if (!host_end) goto bad_host;
    port_s = host_end + 1;
    v6 = 1;
    for (i = 0; host + i < host_end; i++)
      if (!strchr("0123456789abcdefABCDEF:.", host[i])) goto bad_host;
  } else {
    host = auth;
    host_end = memchr(auth, ':', (size_t)(auth_end - auth));
    if (!host_end) host_end = auth_end;
    port_s = host_end;
  }
  hlen = (size_t)(host_end - host);
  if (hlen == 0 || hlen >= sizeof u->host) goto bad_host;
  if (port_s < auth_end) {
    if (*port_s != ':') goto bad_host;
    for (port_s++; port_s < auth_end; port_s++) {
      if (*port_s < '0' || *port_s > '9' || port > 65535) goto bad_host;
      port = port * 10 + (*port_s - '0');
    }
    if (port < 1 || port > 65535) goto bad_host;
  }
  if (port == 0) port = u->https ? 443 : 80;
  for (i = 0; i < hlen; i++) {
    char c = host[i];
    u->host[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  u->host[hlen] = '\0';
  u->port = (int)port;
  u->is_ip = v6 || mc_http1_req_is_ipv4(u->host);
  /* (built by hand: this runs for every request, and hlen < sizeof u->host
  ** leaves room for the brackets and ":65535") */
  {
    size_t at = 0, k;
    char digits[8];
    size_t nd = 0;
    if (v6) u->connect_host[at++] = '[';
    memcpy(u->connect_host + at, u->host, hlen);
    at += hlen;
    if (v6) u->connect_host[at++] = ']';
    u->connect_host[at] = '\0';
    memcpy(u->authority, u->connect_host, at + 1);
    if (port != (u->https ? 443 : 80)) {
      long rest = port;
      while (rest > 0 && nd < sizeof digits) {
        digits[nd++] = (char)('0' + rest % 10);
        rest /= 10;
      }
      u->authority[at++] = ':';
      for (k = nd; k > 0; k--) u->authority[at++] = digits[k - 1];
      u->authority[at] = '\0';
    }
  }
  u->target = auth_end;
  u->target_len = strcspn(auth_end, "#");
  u->target_slash = *auth_end != '/';
  return 0;
bad_host:
  *what = "a URL with a valid host and port";
  return -1;
}

/* ---- bodies ------------------------------------------------------------- */

int mc_http1_empty_body_counts(const char *method) {
  return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
}

/* A local (kind "local") error with a formatted message. */
static void mc_http1_req_fail(mc_http1_error *err, const char *fmt, ...) {
  va_list ap;
  err->kind = MC_TERR_LOCAL;
  err->code = 0;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
}

int mc_http1_body_range(const char *path, int64_t offset, int64_t length, int64_t size,
                        int64_t *len, mc_http1_error *err) {
  if (offset < 0 || offset > size) {
    mc_http1_req_fail(err, "body file offset %lld is beyond the end of %s (%lld bytes)",
                      (long long)offset, path, (long long)size);
    return -1;
  }
  *len = length < 0 ? size - offset : length;
  if (*len > size - offset) {
    mc_http1_req_fail(err, "body file range %lld+%lld ends beyond the end of %s (%lld bytes)",
                      (long long)offset, (long long)*len, path, (long long)size);
    return -1;
  }
  return 0;
}

/* ---- the request head ---------------------------------------------------- */

/* Append n bytes at out+*at when they fit (the length counts regardless). */
static void mc_http1_req_put(char *out, size_t cap, size_t *at, const char *s, size_t n) {
  if (*at + n < cap) memcpy(out + *at, s, n);
  *at += n;
}

#define MC_PUTS(s) mc_http1_req_put(out, cap, &at, (s), strlen(s))

size_t mc_http1_write_head(const mc_request *r, const mc_http1_url *u, int64_t body_len,
                           char *out, size_t cap) {
  size_t at = 0, i;
  const char *host = u->authority;
  char num[32];
  MC_PUTS(r->method);
  MC_PUTS(" ");
  if (u->target_slash) MC_PUTS("/");
  mc_http1_req_put(out, cap, &at, u->target, u->target_len);
  MC_PUTS(" HTTP/1.1\r\n");
  for (i = 0; i < r->headers.count; i++) {
    const mc_header *h = &r->headers.items[i];
    if ((h->name[0] | 0x20) == 'h' && strcasecmp(h->name, "Host") == 0) {
      host = h->value;
      continue;
    }
    if (mc_http1_is_framing_header(h->name)) continue;
    MC_PUTS(h->name);
    MC_PUTS(": ");
    MC_PUTS(h->value);
    MC_PUTS("\r\n");
  }
  MC_PUTS("Host: ");
  MC_PUTS(host);
  MC_PUTS("\r\n");
  if (body_len >= 0) {
    snprintf(num, sizeof num, "%lld", (long long)body_len);
    MC_PUTS("Content-Length: ");
    MC_PUTS(num);
    MC_PUTS("\r\n");
  }
  MC_PUTS("\r\n");
  if (at < cap) out[at] = '\0';
  return at;
}

#undef MC_PUTS

int mc_http1_has_token(const char *value, const char *token) {
  size_t tlen = strlen(token);
  const char *p = value;
  if (!value) return 0;
  while (*p) {
    const char *end;
    size_t n;
    while (*p == ' ' || *p == '\t' || *p == ',') p++;
    end = p + strcspn(p, ",");
    n = (size_t)(end - p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
    if (n == tlen && strncasecmp(p, token, n) == 0) return 1;
    p = end;
  }
  return 0;
}
