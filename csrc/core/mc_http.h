/*
** mc_http.h — the sans-I/O request/response model shared by every transport.
**
** A request descriptor says what to send: method, URL, headers, and a body
** that is either bytes in memory or a range of a file on disk (streamed, never
** read whole). A response is what came back: status, headers (names folded to
** lower case, repeated ones joined with ", "), and a body kept in memory or
** streamed to a file. Nothing here performs I/O; the HTTP/1.1 rules that fill
** and check these (header lines, framing, validation) are in mc_http1.h.
*/
#ifndef MC_HTTP_H
#define MC_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* One header: name and value, both NUL-terminated; in a list made by
** mc_headers_add the value follows the name's NUL ("name\0value\0"). */
typedef struct mc_header {
  char *name;
  char *value;
} mc_header;

/* A block of the list's string arena (blocks are chained, newest first). */
typedef struct mc_headers_block mc_headers_block;

/*
** A header list. The strings live in an arena of chained blocks owned by the
** list (no allocation per header; a response head is read for every
** request); mc_headers_clear empties the list and keeps its memory for the
** next head. A list can also borrow its items (items/count/cap set by hand,
** blk NULL) for lookups only: it is then never added to, cleared or freed.
*/
typedef struct mc_headers {
  mc_header *items;
  size_t count;
  size_t cap;
  mc_headers_block *blk; /* newest arena block, NULL when none */
  size_t used;           /* bytes used in blk */
} mc_headers;

typedef enum mc_body_kind {
  MC_BODY_NONE = 0,
  MC_BODY_MEMORY,   /* data/len */
  MC_BODY_FILE,     /* path + offset + length: streamed from disk */
  MC_BODY_PARTS     /* parts/nparts: bytes and file ranges sent in order (multipart) */
} mc_body_kind;

/* One piece of an MC_BODY_PARTS body: bytes (data != NULL) or a file range
** [offset, offset + length) of path, streamed from disk. length is exact. */
typedef struct mc_body_part {
  const char *data;      /* borrowed */
  size_t len;
  const char *path;      /* borrowed */
  int64_t offset;
  int64_t length;
} mc_body_part;

typedef struct mc_body {
  mc_body_kind kind;
  const char *data;      /* MC_BODY_MEMORY: borrowed, must outlive the transfer */
  size_t len;
  const char *path;      /* MC_BODY_FILE: borrowed */
  int64_t offset;
  int64_t length;        /* -1: to the end of the file */
  const mc_body_part *parts; /* MC_BODY_PARTS: borrowed */
  size_t nparts;
} mc_body;

/* The byte count of an MC_BODY_PARTS body (the sum of its parts). */
int64_t mc_body_parts_length(const mc_body *b);

typedef struct mc_request {
  const char *method;    /* "GET", "POST", "DELETE", "HEAD", "PATCH", ... */
  const char *url;
  mc_headers headers;    /* owned */
  mc_body body;
  const char *sink_path; /* when set, a 2xx response body is streamed to this file */
  long timeout_ms;       /* total; 0 = none */
  long connect_timeout_ms;
  long low_speed_time_s; /* stall detection: abort when below low_speed_limit */
  long low_speed_limit;  /* bytes per second */
  const char *cainfo;    /* optional CA bundle; verification is always on */
  size_t max_body;       /* in-memory response body cap; 0 = MC_DEFAULT_MAX_BODY */
} mc_request;

typedef struct mc_response {
  long status;
  mc_headers headers;    /* lower-case names, repeats joined by ", " */
  char *body;            /* NUL-terminated in-memory body, or NULL when sunk */
  size_t body_len;
  size_t body_cap;       /* allocated bytes of body */
  int64_t bytes_received;
  double elapsed;        /* seconds, whole transfer */
} mc_response;

/* Transport failure classes, mapped to the Lua error kinds. */
typedef enum mc_transport_kind {
  MC_TERR_NONE = 0,
  MC_TERR_TIMEOUT,    /* connect/total/stall timeout           -> "timeout"   */
  MC_TERR_TRANSIENT,  /* connection refused/reset, DNS, TLS IO -> "transient" */
  MC_TERR_LOCAL,      /* cannot read body file / write sink    -> "local"     */
  MC_TERR_PROTOCOL    /* malformed response, body too large    -> "protocol"  */
} mc_transport_kind;

typedef struct mc_transport_error {
  mc_transport_kind kind;
  int code;           /* transport-specific code (CURLcode), 0 if none */
  char message[256];
} mc_transport_error;

void mc_headers_init(mc_headers *h);
void mc_headers_free(mc_headers *h);
/* Append a header (copies both strings). Returns 0, or -1 on allocation failure. */
int mc_headers_add(mc_headers *h, const char *name, size_t name_len,
                   const char *value, size_t value_len);
/* Remove every header, keeping the items array and the newest arena block
** for the next ones (what a parser does between responses). */
void mc_headers_clear(mc_headers *h);
/* Case-insensitive lookup; NULL when absent. */
const char *mc_headers_get(const mc_headers *h, const char *name);
/* Index of a header by case-insensitive name (length nlen), or -1. For lists
** made by mc_headers_add (it reads a name's length from its layout). */
long mc_headers_find(const mc_headers *h, const char *name, size_t nlen);
/* Append ", " + value (or just value when sep is 0) to header i. 0 or -1 (OOM). */
int mc_headers_append(mc_headers *h, size_t i, int sep, const char *value, size_t len);

void mc_request_init(mc_request *r);
void mc_request_free(mc_request *r);
void mc_response_init(mc_response *r);
void mc_response_free(mc_response *r);
/*
** Append n bytes to the in-memory body (kept NUL-terminated, grown by
** doubling). Returns 0; 1 when the body would pass max bytes (nothing is
** appended); -1 when out of memory.
*/
int mc_response_append(mc_response *r, const char *data, size_t n, size_t max);
/* Allocate room for an announced body of n bytes up front, before its first
** byte (at most 64 MiB; past that the body grows as it arrives); a buffer
** already that big is kept. A failed allocation is ignored. */
void mc_response_reserve(mc_response *r, size_t n);

void mc_transport_error_set(mc_transport_error *e, mc_transport_kind kind,
                            int code, const char *fmt, ...);
const char *mc_transport_kind_name(mc_transport_kind kind);

#endif
