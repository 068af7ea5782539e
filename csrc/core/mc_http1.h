/*
** mc_http1.h — HTTP/1.1 framing, sans-I/O: the one set of rules both
** transports follow.
**
** Request side (mc_http1_req.c):
**   - validation of a request descriptor's method, URL, header names and
**     values (the binding checks each field once, when it reads `req`);
**   - the absolute-URL split (host, port, request-target, Host authority);
**   - when a body is sent (Content-Length: 0 for POST/PUT/PATCH without one)
**     and which file ranges are valid;
**   - the request head (request line, caller headers, Host, Content-Length)
**     for transports that write it themselves (resty). libcurl writes its
**     own head from the same validated headers.
**
** Response side (mc_http1_res.c):
**   - mc_http1_head_line: one response head line at a time — status line,
**     "Name: value" (names lower-cased, repeats joined with ", "), obsolete
**     line folding unfolded by replacing the fold with one SP (RFC 9112 5.2),
**     1xx interim heads skipped, trailers checked and dropped, size limits.
**     libcurl's header callback and the byte parser below both use it;
**   - mc_http1_content_length, and where a body goes (sink or memory, under
**     max_body): mc_http1_body_begin;
**   - mc_http1_parser: a byte-level response parser for transports that read
**     raw bytes (resty): head, then the body framed by Content-Length,
**     chunked transfer-coding (a decoder state machine) or connection close;
**     it reports whether the connection may be reused.
**
** Errors carry a transport kind, libcurl's number for the same failure
** (docs/internals.md: both transports report libcurl's codes) and a message
** that never holds a header value or the URL.
*/
#ifndef MC_HTTP1_H
#define MC_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#include "mc_defaults.h"
#include "mc_http.h"

/* libcurl's numbers for the framing failures reported here */
#define MC_CODE_UNSUPPORTED_PROTOCOL 1
#define MC_CODE_WEIRD_SERVER_REPLY 8
#define MC_CODE_PARTIAL_FILE 18
#define MC_CODE_RECV_ERROR 56
#define MC_CODE_FILESIZE_EXCEEDED 63

typedef struct mc_http1_error {
  mc_transport_kind kind;   /* MC_TERR_PROTOCOL, MC_TERR_TRANSIENT or MC_TERR_LOCAL */
  int code;                 /* libcurl's number */
  char message[160];
} mc_http1_error;

/* ---- request side ---------------------------------------------------------- */

/* A byte that is a tchar (RFC 9110 5.6.2) -> that byte in lower case;
** any other byte -> 0. */
extern const unsigned char mc_http1_tchar_lower[256];
/* s[0..len) is a token (RFC 9110 5.6.2): a method or a header name. */
int mc_http1_is_token(const char *s, size_t len);
/* s[0..len) may be sent as a header value: no CR, LF or NUL. */
int mc_http1_is_field_value(const char *s, size_t len);
/* name is Content-Length or Transfer-Encoding (any case): the body decides
** these, so a caller's own are never sent (both transports). */
int mc_http1_is_framing_header(const char *name);

/* An absolute http(s) URL, split. Strings are NUL-terminated. */
typedef struct mc_http1_url {
  int https;
  int port;
  int is_ip;                 /* IPv4 or IPv6 literal: no SNI / name check */
  char host[256];            /* lower case; IPv6 without brackets */
  char connect_host[258];    /* what to connect to: IPv6 in brackets */
  char authority[266];       /* the Host header: host, ":port" unless default */
  const char *target;        /* into the URL: path and query, fragment cut */
  size_t target_len;
  int target_slash;          /* "/" goes before target (empty path) */
} mc_http1_url;

/*
** Split url. Returns 0, or -1 with *what saying what it must be ("an http://
** or https:// URL", ...) — the message never repeats the URL, whose query may
** hold a signed token.
*/
int mc_http1_parse_url(const char *url, mc_http1_url *u, const char **what);

/* Whether a method sends "Content-Length: 0" when it has no body. */
int mc_http1_empty_body_counts(const char *method);

/*
** The bytes of a file body: [offset, offset+length) of a file of `size`
** bytes (length -1: to the end). Returns 0 with *len, or -1 with err (kind
** local) when the range is not inside the file.
*/
int mc_http1_body_range(const char *path, int64_t offset, int64_t length, int64_t size,
                        int64_t *len, mc_http1_error *err);

/*
** Write the request head of r (validated) for URL u into out (capacity cap)
** and return its length; when the return value is >= cap nothing complete
** was written: call again with that much + 1. The caller's Content-Length and
** Transfer-Encoding are dropped (the body decides them); a caller's Host
** replaces the URL's authority. body_len < 0: no Content-Length line.
*/
size_t mc_http1_write_head(const mc_request *r, const mc_http1_url *u, int64_t body_len,
                           char *out, size_t cap);

/* Whether a comma-separated header value lists token (case-insensitive). */
int mc_http1_has_token(const char *value, const char *token);

/* ---- response head ------------------------------------------------------- */

typedef enum mc_http1_phase {
  MC_HTTP1_STATUS = 0,   /* a status line comes next */
  MC_HTTP1_FIELDS,       /* header lines until the blank line */
  MC_HTTP1_COMPLETE      /* a final head ended; lines now are trailers */
} mc_http1_phase;

typedef struct mc_http1_head {
  mc_headers *headers;   /* borrowed: filled with lower-case names */
  long status;           /* -1 before a status line */
  int major, minor;
  mc_http1_phase phase;
  int http1_only;        /* reject versions other than HTTP/1.x */
  long last;             /* index of the last header (obs-fold target), -1 none */
  size_t bytes;          /* head and trailer bytes so far, for the limit */
  size_t lines;          /* header lines of this head */
} mc_http1_head;

void mc_http1_head_init(mc_http1_head *h, mc_headers *headers, int http1_only);

/*
** Feed one line of a response head as received, with or without its CRLF.
** Returns 1 when the line completed a final head (the blank line after a
** status >= 200 or 101), 0 when more lines are expected (or a trailer line
** was dropped), -1 with err set for a malformed line or a limit. A status
** line starts a new response (its headers replace the old ones).
*/
int mc_http1_head_line(mc_http1_head *h, const char *line, size_t len, mc_http1_error *err);

/*
** Content-Length: -1 when absent (value NULL), -2 when invalid, else the
** length. Repeats joined by ", " must agree ("5, 5").
*/
int64_t mc_http1_content_length(const char *value);

/*
** Where the body of a complete head goes: *to_sink is 1 for a 2xx when the
** request has a sink, else 0 (memory). Returns 0, or -1 with err (kind
** protocol) when an in-memory body announces more than max_body bytes.
*/
int mc_http1_body_begin(const mc_http1_head *h, int has_sink, size_t max_body, int *to_sink,
                        mc_http1_error *err);

/* The error for an in-memory body that passed max_body. */
void mc_http1_body_too_large(size_t max_body, mc_http1_error *err);

/* ---- response parser ----------------------------------------------------- */

typedef enum mc_http1_state {
  MC_HTTP1_S_HEAD = 0,
  MC_HTTP1_S_LENGTH,       /* Content-Length body */
  MC_HTTP1_S_CHUNK_SIZE,   /* chunk-size line */
  MC_HTTP1_S_CHUNK_DATA,
  MC_HTTP1_S_CHUNK_END,    /* the CRLF after chunk data */
  MC_HTTP1_S_TRAILERS,
  MC_HTTP1_S_CLOSE,        /* body until the server closes */
  MC_HTTP1_S_DONE,
  MC_HTTP1_S_FAILED
} mc_http1_state;

typedef struct mc_http1_parser {
  mc_response res;         /* status, headers, in-memory body, bytes_received */
  mc_http1_head head;
  mc_http1_state state;
  int head_request;        /* the request was HEAD: no body */
  int has_sink;
  size_t max_body;
  int to_sink;             /* body bytes go back to the caller, not into res */
  int keep_alive;          /* the connection may be reused (valid once DONE) */
  int64_t left;            /* bytes left in the length body or current chunk */
  int64_t length;          /* Content-Length, -1 when not length-framed */
  char *line;              /* a line being assembled */
  size_t line_len, line_cap;
  mc_http1_error err;
} mc_http1_parser;

/* method: the request's; has_sink: 2xx bodies go to the caller (a sink);
** max_body: cap of an in-memory body (0: MC_DEFAULT_MAX_BODY). */
void mc_http1_parser_init(mc_http1_parser *p, const char *method, int has_sink, size_t max_body);
void mc_http1_parser_free(mc_http1_parser *p);
/*
** Start again for the next response as mc_http1_parser_init would, keeping
** the buffers of the last one for it (the header arena, an in-memory body
** buffer up to MC_HTTP1_KEEP_BODY bytes, the line buffer up to
** MC_HTTP1_KEEP_LINE): what the response held is gone.
*/
void mc_http1_parser_reuse(mc_http1_parser *p, const char *method, int has_sink,
                           size_t max_body);
#define MC_HTTP1_KEEP_BODY ((size_t)64 * 1024)
#define MC_HTTP1_KEEP_LINE ((size_t)1024)

/*
** Consume bytes from data[0..len). Returns how many were consumed (> 0 when
** len > 0), or -1 with p->err set. Body bytes for the sink come back in
** *seg and *seglen (pointing into data; the call stops after such a segment);
** in-memory body bytes are kept in p->res. Bytes past the end of the
** message are consumed and make the connection not reusable.
*/
long mc_http1_parser_feed(mc_http1_parser *p, const char *data, size_t len,
                          const char **seg, size_t *seglen);

/* The server closed the connection: this completes a body read until close.
** Returns 0, or -1 with p->err set (the message was cut short). */
int mc_http1_parser_eof(mc_http1_parser *p);

/* Bytes the current frame still expects (length body or chunk), or -1 when
** unknown: a hint for how much to read next. */
int64_t mc_http1_parser_want(const mc_http1_parser *p);

#endif
