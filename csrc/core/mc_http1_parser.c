/*
** mc_http1_parser.c — a byte-level HTTP/1.1 response parser (see mc_http1.h)
** for transports that read raw bytes from a socket (the resty transport).
**
** States: HEAD (lines through mc_http1_head_line) -> the body framed by
** RFC 9112 6.3: none (HEAD request, 1xx, 204, 304), Content-Length, chunked
** (CHUNK_SIZE -> CHUNK_DATA -> CHUNK_END ... -> TRAILERS) or until the
** server closes (CLOSE) -> DONE. Lines end with LF, an optional CR before it
** is dropped. In-memory body bytes go into p->res under max_body; sink body
** bytes are handed back to the caller. No I/O.
*/
#include "mc_http1.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mc_http1_parser_init(mc_http1_parser *p, const char *method, int has_sink, size_t max_body) {
  /* all but the error's message buffer (err is the last member; its text is
  ** only read after a failure wrote it): this runs for every response */
  memset(p, 0, offsetof(mc_http1_parser, err));
  p->err.kind = MC_TERR_NONE;
  p->err.code = 0;
  p->err.message[0] = '\0';
  mc_response_init(&p->res);
  mc_http1_head_init(&p->head, &p->res.headers, 1);
  p->state = MC_HTTP1_S_HEAD;
  p->head_request = method && strcmp(method, "HEAD") == 0;
  p->has_sink = has_sink;
  p->max_body = max_body ? max_body : MC_DEFAULT_MAX_BODY;
  p->length = -1;
}

void mc_http1_parser_free(mc_http1_parser *p) {
  mc_response_free(&p->res);
  free(p->line);
  p->line = NULL;
  p->line_len = p->line_cap = 0;
}

void mc_http1_parser_reuse(mc_http1_parser *p, const char *method, int has_sink,
                           size_t max_body) {
  mc_headers headers = p->res.headers;
  char *body = p->res.body, *line = p->line;
  size_t body_cap = p->res.body_cap, line_cap = p->line_cap;
  mc_headers_clear(&headers);
  if (body_cap > MC_HTTP1_KEEP_BODY) {
    free(body);
    body = NULL;
    body_cap = 0;
  }
  if (line_cap > MC_HTTP1_KEEP_LINE) {
    free(line);
    line = NULL;
    line_cap = 0;
  }
  mc_http1_parser_init(p, method, has_sink, max_body);
  p->res.headers = headers;
  p->res.body = body;
  p->res.body_cap = body_cap;
  if (body) body[0] = '\0';
  p->line = line;
  p->line_cap = line_cap;
}

/* Fail the parse: p->err holds the reason. */
static long mc_http1_parser_fail(mc_http1_parser *p, mc_transport_kind kind, int code,
                                 const char *fmt, ...) {
  va_list ap;
  if (fmt) {
    p->err.kind = kind;
    p->err.code = code;
    va_start(ap, fmt);
    vsnprintf(p->err.message, sizeof p->err.message, fmt, ap);
    va_end(ap);
  }
  p->state = MC_HTTP1_S_FAILED;
  p->keep_alive = 0;
  return -1;
}

/*
** Collect bytes up to and including LF into p->line (at most `limit` bytes
** per line). Returns the bytes consumed; *complete is 1 when p->line holds
** a whole line (its LF and a CR before it removed), -1 on a limit or OOM.
*/
static long mc_http1_parser_take_line(mc_http1_parser *p, const char *data, size_t len,
                                      size_t limit, int *complete) {
  const char *lf = memchr(data, '\n', len);
  size_t n = lf ? (size_t)(lf - data) + 1 : len;
  *complete = 0;
  if (p->line_len + n > limit + 2) {
    if (p->state == MC_HTTP1_S_HEAD || p->state == MC_HTTP1_S_TRAILERS)
      return mc_http1_parser_fail(p, MC_TERR_PROTOCOL, MC_CODE_WEIRD_SERVER_REPLY,
                                  "response head exceeds %zu bytes",
                                  (size_t)MC_HTTP1_MAX_HEAD_BYTES);
    return mc_http1_parser_fail(p, MC_TERR_PROTOCOL, MC_CODE_WEIRD_SERVER_REPLY,
                                "malformed chunk size line (too long)");
  }
  if (p->line_len + n + 1 > p->line_cap) {
    size_t ncap = p->line_cap ? p->line_cap : 256;
    char *nl;
    while (ncap < p->line_len + n + 1) ncap *= 2;
    nl = realloc(p->line, ncap);
    if (!nl) return mc_http1_parser_fail(p, MC_TERR_LOCAL, 0, "out of memory");
    p->line = nl;
    p->line_cap = ncap;
  }
  memcpy(p->line + p->line_len, data, n);
  p->line_len += n;
  if (lf) {
    p->line_len--; /* LF */
    if (p->line_len > 0 && p->line[p->line_len - 1] == '\r') p->line_len--;
    p->line[p->line_len] = '\0';
    *complete = 1;
  }
  return (long)n;
}

/* The head is complete: pick the body framing and where the body goes. */
/* The values of the headers that frame the body (NULL when absent), in one
** pass: the parser's names are lower case in "name\0value\0" blocks. */
static void mc_http1_parser_framing_headers(const mc_headers *h, const char **te,
                                            const char **cl, const char **conn) {
  size_t i;
  *te = *cl = *conn = NULL;
  for (i = 0; i < h->count; i++) {
    const char *n = h->items[i].name;
    size_t nlen = (size_t)(h->items[i].value - n) - 1;
    if (nlen == 17 && memcmp(n, "transfer-encoding", 17) == 0) *te = h->items[i].value;
    else if (nlen == 14 && memcmp(n, "content-length", 14) == 0) *cl = h->items[i].value;
    else if (nlen == 10 && memcmp(n, "connection", 10) == 0) *conn = h->items[i].value;
  }
}

static long mc_http1_parser_framing(mc_http1_parser *p) {
  const mc_headers *h = &p->res.headers;
  const char *te, *cl_s, *conn;
  long st = p->head.status;
  int64_t cl;
  int close_framed = 0;
  mc_http1_parser_framing_headers(h, &te, &cl_s, &conn);
  p->res.status = st;
  if (mc_http1_body_begin(&p->head, p->has_sink, p->max_body, &p->to_sink, &p->err) != 0)
    return mc_http1_parser_fail(p, p->err.kind, p->err.code, NULL);
  p->keep_alive = p->head.minor >= 1 && st != 101 && !mc_http1_has_token(conn, "close");
  if (p->head_request || st < 200 || st == 204 || st == 304) {
    p->state = MC_HTTP1_S_DONE;
    return 0;
  }
  if (te && !mc_http1_has_token(te, "identity")) {
    /* RFC 9112 6.3: chunked must be the final coding, else read to close */
    size_t n = strlen(te);
    while (n > 0 && (te[n - 1] == ' ' || te[n - 1] == '\t')) n--;
    if (n >= 7 && strncasecmp(te + n - 7, "chunked", 7) == 0 &&
        (n == 7 || te[n - 8] == ' ' || te[n - 8] == ',' || te[n - 8] == '\t')) {
      p->state = MC_HTTP1_S_CHUNK_SIZE;
    } else {
      close_framed = 1;
    }
    if (cl_s) p->keep_alive = 0; /* both: suspicious, never reuse */
  } else {
    cl = mc_http1_content_length(cl_s);
    if (cl == -2)
      return mc_http1_parser_fail(p, MC_TERR_PROTOCOL, MC_CODE_WEIRD_SERVER_REPLY,
                                  "invalid Content-Length");
    if (cl >= 0) {
      p->length = p->left = cl;
      p->state = cl > 0 ? MC_HTTP1_S_LENGTH : MC_HTTP1_S_DONE;
      if (!p->to_sink) mc_response_reserve(&p->res, (size_t)cl);
    } else {
      close_framed = 1;
    }
  }
  if (close_framed) {
    p->state = MC_HTTP1_S_CLOSE;
    p->keep_alive = 0;
  }
  return 0;
}

/* n body bytes at data: into memory, or handed back as the sink segment. */
static long mc_http1_parser_body(mc_http1_parser *p, const char *data, size_t n,
                                 const char **seg, size_t *seglen) {
  p->res.bytes_received += (int64_t)n;
  if (p->to_sink) {
    *seg = data;
    *seglen = n;
    return (long)n;
  }
  switch (mc_response_append(&p->res, data, n, p->max_body)) {
    case 0: return (long)n;
    case 1:
      mc_http1_body_too_large(p->max_body, &p->err);
      return mc_http1_parser_fail(p, p->err.kind, p->err.code, NULL);
    default: return mc_http1_parser_fail(p, MC_TERR_LOCAL, 0, "out of memory");
  }
}

/* A chunk-size line: hex digits, optional OWS, optional ";extensions". */
static long mc_http1_parser_chunk_size(mc_http1_parser *p) {
  const char *s = p->line;
  int64_t size = 0;
  int digits = 0;
  while (*s == ' ' || *s == '\t') s++;
  for (;; s++) {
    int d;
    if (*s >= '0' && *s <= '9') d = *s - '0';
    else if (*s >= 'a' && *s <= 'f') d = *s - 'a' + 10;
    else if (*s >= 'A' && *s <= 'F') d = *s - 'A' + 10;
    else break;
    if (++digits > 15) break;
    size = size * 16 + d;
  }
  while (*s == ' ' || *s == '\t') s++;
  if (digits == 0 || digits > 15 || (*s != '\0' && *s != ';'))
    return mc_http1_parser_fail(p, MC_TERR_PROTOCOL, MC_CODE_WEIRD_SERVER_REPLY,
                                "malformed chunk size");
  if (size == 0) {
    p->state = MC_HTTP1_S_TRAILERS;
  } else {
    p->left = size;
    p->state = MC_HTTP1_S_CHUNK_DATA;
  }
  return 0;
}

/* One complete line (ll bytes without its LF, and a CR before it, at line),
** in state HEAD, CHUNK_SIZE, CHUNK_END or TRAILERS; in the chunk states it
** is p->line (NUL-terminated). */
static long mc_http1_parser_line(mc_http1_parser *p, const char *line, size_t ll) {
  int r;
  switch (p->state) {
    case MC_HTTP1_S_HEAD:
    case MC_HTTP1_S_TRAILERS:
      r = mc_http1_head_line(&p->head, line, ll, &p->err);
      if (r < 0) return mc_http1_parser_fail(p, p->err.kind, p->err.code, NULL);
      if (p->state == MC_HTTP1_S_TRAILERS) {
        if (ll == 0) p->state = MC_HTTP1_S_DONE;
        return 0;
      }
      return r == 1 ? mc_http1_parser_framing(p) : 0;
    case MC_HTTP1_S_CHUNK_SIZE:
      return mc_http1_parser_chunk_size(p);
    default: /* MC_HTTP1_S_CHUNK_END */
      if (ll != 0)
        return mc_http1_parser_fail(p, MC_TERR_PROTOCOL, MC_CODE_WEIRD_SERVER_REPLY,
                                    "malformed chunk terminator");
      p->state = MC_HTTP1_S_CHUNK_SIZE;
      return 0;
  }
}

/*
** The head's lines read where they are in data (no copy), while whole lines
** are there and the head is not complete. Returns the bytes consumed (0 when
** data holds no whole line: the caller assembles it in p->line), or -1.
** The same rules and limits as the p->line path (take_line).
*/
static long mc_http1_parser_head_lines(mc_http1_parser *p, const char *data, size_t len) {
  size_t off = 0;
  while (p->state == MC_HTTP1_S_HEAD && off < len) {
    const char *lf = memchr(data + off, '\n', len - off);
    size_t n, ll;
    if (!lf) break;
    n = (size_t)(lf - (data + off)) + 1;
    if (n > (size_t)MC_HTTP1_MAX_HEAD_BYTES + 2)
      return mc_http1_parser_fail(p, MC_TERR_PROTOCOL, MC_CODE_WEIRD_SERVER_REPLY,
                                  "response head exceeds %zu bytes",
                                  (size_t)MC_HTTP1_MAX_HEAD_BYTES);
    ll = n - 1;
    if (ll > 0 && data[off + ll - 1] == '\r') ll--;
    if (mc_http1_parser_line(p, data + off, ll) < 0) return -1;
    off += n;
  }
  return (long)off;
}

long mc_http1_parser_feed(mc_http1_parser *p, const char *data, size_t len,
                          const char **seg, size_t *seglen) {
  size_t n, ll;
  long used;
  int complete;
  *seg = NULL;
  *seglen = 0;
  if (p->state == MC_HTTP1_S_FAILED) return -1;
  if (len == 0) return 0;
  switch (p->state) {
    case MC_HTTP1_S_HEAD:
      if (p->line_len == 0) {
        used = mc_http1_parser_head_lines(p, data, len);
        if (used != 0) return used;
      }
      /* no whole line in data: it is assembled in p->line */
      /* fall through */
    case MC_HTTP1_S_TRAILERS:
    case MC_HTTP1_S_CHUNK_SIZE:
    case MC_HTTP1_S_CHUNK_END:
      used = mc_http1_parser_take_line(p, data, len,
                                       p->state == MC_HTTP1_S_CHUNK_SIZE ||
                                       p->state == MC_HTTP1_S_CHUNK_END
                                         ? MC_HTTP1_MAX_CHUNK_LINE : MC_HTTP1_MAX_HEAD_BYTES,
                                       &complete);
      if (used < 0 || !complete) return used;
      ll = p->line_len;
      p->line_len = 0;
      return mc_http1_parser_line(p, p->line, ll) < 0 ? -1 : used;
    case MC_HTTP1_S_LENGTH:
    case MC_HTTP1_S_CHUNK_DATA:
      n = (int64_t)len < p->left ? len : (size_t)p->left;
      used = mc_http1_parser_body(p, data, n, seg, seglen);
      if (used < 0) return -1;
      p->left -= (int64_t)n;
      if (p->left == 0)
        p->state = p->state == MC_HTTP1_S_LENGTH ? MC_HTTP1_S_DONE : MC_HTTP1_S_CHUNK_END;
      return used;
    case MC_HTTP1_S_CLOSE:
      return mc_http1_parser_body(p, data, len, seg, seglen);
    default: /* DONE: the server sent more than the message */
      p->keep_alive = 0;
      return (long)len;
  }
}

int mc_http1_parser_eof(mc_http1_parser *p) {
  switch (p->state) {
    case MC_HTTP1_S_DONE:
      p->keep_alive = 0;
      return 0;
    case MC_HTTP1_S_CLOSE:
      p->state = MC_HTTP1_S_DONE;
      return 0;
    case MC_HTTP1_S_FAILED:
      return -1;
    case MC_HTTP1_S_HEAD:
      mc_http1_parser_fail(p, MC_TERR_TRANSIENT, MC_CODE_RECV_ERROR,
                           "the server closed the connection before a complete response head");
      return -1;
    case MC_HTTP1_S_LENGTH:
      mc_http1_parser_fail(p, MC_TERR_TRANSIENT, MC_CODE_PARTIAL_FILE,
                           "the server closed the connection with %lld body bytes outstanding",
                           (long long)p->left);
      return -1;
    default:
      mc_http1_parser_fail(p, MC_TERR_TRANSIENT, MC_CODE_PARTIAL_FILE,
                           "the server closed the connection in the middle of a chunked body");
      return -1;
  }
}

int64_t mc_http1_parser_want(const mc_http1_parser *p) {
  if (p->state == MC_HTTP1_S_LENGTH || p->state == MC_HTTP1_S_CHUNK_DATA) return p->left;
  return -1;
}
