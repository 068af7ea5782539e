/*
** mc_curl_common.c — configure one libcurl transfer from an mc_request and
** collect its mc_response (see mc_curl_common.h).
*/
#include "mc_curl_common.h"
#include "mc_curl_headers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* One segment of a multi-part body: bytes or a file range, at body offset `at`. */
typedef struct mc_curl_seg {
  int64_t at;
  int64_t len;
  const char *mem;   /* bytes (inside x->seg_mem), or NULL */
  int fd;            /* a file range: its fd (-1 for bytes) */
  int64_t start;     /* file offset of the range */
} mc_curl_seg;

void mc_curl_xfer_init(mc_curl_xfer *x) {
  memset(x, 0, sizeof *x);
  x->body_fd = -1;
}

/* Record a failure seen inside a callback ("msg" or "msg: detail"); the
** first one wins. libcurl itself only learns that the callback aborted. */
static void cb_fail(mc_curl_xfer *x, mc_transport_kind kind, const char *msg,
                    const char *detail) {
  if (x->cb_kind != MC_TERR_NONE) return;
  x->cb_kind = kind;
  if (detail)
    snprintf(x->cb_msg, sizeof x->cb_msg, "%s: %s", msg, detail);
  else
    snprintf(x->cb_msg, sizeof x->cb_msg, "%s", msg);
}

/* Record a framing failure of mc_http1 with its kind and libcurl code. */
static void cb_fail_http1(mc_curl_xfer *x, const mc_http1_error *e) {
  if (x->cb_kind != MC_TERR_NONE) return;
  cb_fail(x, e->kind, e->message, NULL);
  x->cb_code = e->code;
}

/* ---- callbacks (never call Lua, never longjmp) ------------------------- */

/* A response header by its lower-case name (mc_http1 stores names folded to
** lower case, so no case-insensitive compare is needed), or NULL. */
static const char *res_header(const mc_curl_xfer *x, const char *name) {
  const mc_headers *h = &x->res->headers;
  size_t i;
  for (i = 0; i < h->count; i++) {
    const char *n = h->items[i].name;
    if (n[0] == name[0] && strcmp(n, name) == 0) return h->items[i].value;
  }
  return NULL;
}

/* A final head arrived: refuse an invalid Content-Length where it frames
** the body, as the byte parser does (mc_http1_parser.c; libcurl itself
** takes the last of conflicting repeats and reads past an overflowing one
** until close). No body: HEAD, 1xx, 204, 304; a transfer coding wins. */
static int check_framing(mc_curl_xfer *x, mc_http1_error *e) {
  long st = x->head.status;
  const char *te, *method = x->req->method ? x->req->method : "GET";
  if (strcmp(method, "HEAD") == 0 || st < 200 || st == 204 || st == 304) return 0;
  te = res_header(x, "transfer-encoding");
  if (te && !mc_http1_has_token(te, "identity")) return 0;
  if (mc_http1_content_length(res_header(x, "content-length")) != -2) return 0;
  e->kind = MC_TERR_PROTOCOL;
  e->code = MC_CODE_WEIRD_SERVER_REPLY;
  snprintf(e->message, sizeof e->message, "invalid Content-Length");
  return -1;
}

/* Response header lines (trailers too): the mc_http1 head line rule. */
static size_t header_cb(char *buf, size_t size, size_t nitems, void *ud) {
  mc_curl_xfer *x = ud;
  size_t len = size * nitems;
  mc_http1_error e;
  int r = mc_http1_head_line(&x->head, buf, len, &e);
  if (r < 0 || (r == 1 && check_framing(x, &e) != 0)) {
    cb_fail_http1(x, &e);
    return 0; /* != len: curl aborts the transfer */
  }
  return len;
}

/* Decide on the first body byte where the body goes: the sink file for a
** 2xx status when a sink was asked for, memory otherwise (mc_http1). */
static int decide_sink(mc_curl_xfer *x) {
  mc_http1_error e;
  int to_sink;
  if (mc_http1_body_begin(&x->head, x->req->sink_path != NULL, x->max_body, &to_sink, &e) != 0) {
    cb_fail_http1(x, &e);
    return -1;
  }
  if (to_sink) {
    x->sink = fopen(x->req->sink_path, "wbe");
    if (!x->sink) {
      cb_fail(x, MC_TERR_LOCAL, "cannot open sink file", strerror(errno));
      return -1;
    }
    x->sink_state = 1;
    return 0;
  }
  x->sink_state = 2;
  {
    int64_t cl = mc_http1_content_length(res_header(x, "content-length"));
    if (cl > 0) mc_response_reserve(x->res, (size_t)cl);
  }
  return 0;
}

/* Append to the in-memory body under max_body. */
static int append_body(mc_curl_xfer *x, const char *data, size_t len) {
  mc_http1_error e;
  switch (mc_response_append(x->res, data, len, x->max_body)) {
    case 0: return 0;
    case 1:
      mc_http1_body_too_large(x->max_body, &e);
      cb_fail_http1(x, &e);
      return -1;
    default:
      cb_fail(x, MC_TERR_LOCAL, "out of memory", NULL);
      return -1;
  }
}

/* Response body bytes (already content-decoded by libcurl). */
static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud) {
  mc_curl_xfer *x = ud;
  size_t len = size * nmemb;
  if (x->sink_state == 0 && decide_sink(x) != 0) return 0;
  x->res->bytes_received += (int64_t)len;
  if (x->sink_state == 1) {
    if (fwrite(data, 1, len, x->sink) != len) {
      cb_fail(x, MC_TERR_LOCAL, "cannot write sink file", strerror(errno));
      return 0;
    }
    return len;
  }
  if (append_body(x, data, len) != 0) return 0;
  return len;
}

/* Request body bytes of a multi-part body: from the segment holding body_pos
** (bytes copied, or pread from its file). */
static size_t read_parts(mc_curl_xfer *x, char *buf, size_t want) {
  size_t i;
  for (i = 0; i < x->nsegs; i++) {
    mc_curl_seg *s = &x->segs[i];
    int64_t in = x->body_pos - s->at, left = s->len - in;
    ssize_t n;
    if (in < 0 || left <= 0) continue;
    if ((int64_t)want > left) want = (size_t)left;
    if (s->mem) {
      memcpy(buf, s->mem + in, want);
      x->body_pos += (int64_t)want;
      return want;
    }
    do {
      n = pread(s->fd, buf, want, (off_t)(s->start + in));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      cb_fail(x, MC_TERR_LOCAL, "cannot read body file", strerror(errno));
      return CURL_READFUNC_ABORT;
    }
    if (n == 0) {
      cb_fail(x, MC_TERR_LOCAL, "body file ended before the announced length", NULL);
      return CURL_READFUNC_ABORT;
    }
    x->body_pos += n;
    return (size_t)n;
  }
  return 0;
}

/* Request body bytes from the file range, read with pread (no file position,
** so a rewind is just a new body_pos). */
static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud) {
  mc_curl_xfer *x = ud;
  size_t want = size * nitems;
  int64_t left = x->body_len - x->body_pos;
  ssize_t n;
  if (left <= 0) return 0;
  if (x->segs) return read_parts(x, buf, want);
  if ((int64_t)want > left) want = (size_t)left;
  do {
    n = pread(x->body_fd, buf, want, (off_t)(x->body_start + x->body_pos));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    cb_fail(x, MC_TERR_LOCAL, "cannot read body file", strerror(errno));
    return CURL_READFUNC_ABORT;
  }
  if (n == 0) {
    cb_fail(x, MC_TERR_LOCAL, "body file ended before the announced length", NULL);
    return CURL_READFUNC_ABORT;
  }
  x->body_pos += n;
  return (size_t)n;
}

/* libcurl rewinds the body (e.g. to resend it on a fresh connection). */
static int seek_cb(void *ud, curl_off_t offset, int origin) {
  mc_curl_xfer *x = ud;
  if (origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  if (offset < 0 || (int64_t)offset > x->body_len) return CURL_SEEKFUNC_FAIL;
  x->body_pos = (int64_t)offset;
  return CURL_SEEKFUNC_OK;
}

/* ---- setup ------------------------------------------------------------- */

/* Open the body file and check that [offset, offset+length) lies inside it. */
static int open_body_file(mc_curl_xfer *x, const mc_body *b, mc_transport_error *err) {
  struct stat st;
  int64_t size;
  mc_http1_error e;
  if (!b->path) {
    mc_transport_error_set(err, MC_TERR_LOCAL, 0, "body file has no path");
    return -1;
  }
  x->body_fd = open(b->path, O_RDONLY | O_CLOEXEC);
  if (x->body_fd < 0) {
    mc_transport_error_set(err, MC_TERR_LOCAL, 0, "cannot open body file %s: %s",
                           b->path, strerror(errno));
    return -1;
  }
  if (fstat(x->body_fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    mc_transport_error_set(err, MC_TERR_LOCAL, 0, "body file %s is not a regular file",
                           b->path);
    return -1;
  }
  size = (int64_t)st.st_size;
  if (mc_http1_body_range(b->path, b->offset, b->length, size, &x->body_len, &e) != 0) {
    mc_transport_error_set(err, e.kind, e.code, "%s", e.message);
    return -1;
  }
  x->body_start = b->offset;
  x->body_pos = 0;
  return 0;
}

/* Set up the segments of a multi-part body: the byte parts copied into one
** buffer the transfer owns, each file part opened and its range checked, so
** nothing of the request is borrowed once the transfer starts. */
static int open_body_parts(mc_curl_xfer *x, const mc_body *b, mc_transport_error *err) {
  size_t i, mem = 0, used = 0;
  int64_t at = 0;
  for (i = 0; i < b->nparts; i++) {
    if (b->parts[i].data) mem += b->parts[i].len;
  }
  x->segs = calloc(b->nparts ? b->nparts : 1, sizeof *x->segs);
  x->seg_mem = malloc(mem ? mem : 1);
  if (!x->segs || !x->seg_mem) {
    mc_transport_error_set(err, MC_TERR_LOCAL, 0, "out of memory");
    return -1;
  }
  x->nsegs = b->nparts;
  for (i = 0; i < b->nparts; i++) x->segs[i].fd = -1;
  for (i = 0; i < b->nparts; i++) {
    const mc_body_part *p = &b->parts[i];
    mc_curl_seg *s = &x->segs[i];
    s->at = at;
    if (p->data) {
      memcpy(x->seg_mem + used, p->data, p->len);
      s->mem = x->seg_mem + used;
      s->len = (int64_t)p->len;
      used += p->len;
    } else {
      struct stat st;
      mc_http1_error e;
      s->fd = open(p->path, O_RDONLY | O_CLOEXEC);
      if (s->fd < 0) {
        mc_transport_error_set(err, MC_TERR_LOCAL, 0, "cannot open body file %s: %s", p->path,
                               strerror(errno));
        return -1;
      }
      if (fstat(s->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        mc_transport_error_set(err, MC_TERR_LOCAL, 0, "body file %s is not a regular file", p->path);
        return -1;
      }
      if (mc_http1_body_range(p->path, p->offset, p->length, (int64_t)st.st_size, &s->len, &e) != 0) {
        mc_transport_error_set(err, e.kind, e.code, "%s", e.message);
        return -1;
      }
      s->start = p->offset;
    }
    at += s->len;
  }
  x->body_len = at;
  x->body_pos = 0;
  return 0;
}

#define SETOPT(opt, val)                                  \
  do {                                                    \
    if (curl_easy_setopt(curl, opt, val) != CURLE_OK)     \
      return #opt;                                        \
  } while (0)

/* CURLOPT_XFERINFOFUNCTION: hand the byte counts to the caller's hook; a
** non-zero answer aborts the transfer (kind local, the hook's reason). */
static int xferinfo_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  mc_curl_xfer *x = (mc_curl_xfer *)ud;
  (void)dltotal;
  (void)ultotal;
  if (x->progress && x->progress(x->progress_ud, (int64_t)ulnow, (int64_t)dlnow) != 0) {
    cb_fail(x, MC_TERR_LOCAL, "the progress callback failed", NULL);
    return 1;
  }
  return 0;
}

int mc_curl_progress(mc_curl_xfer *x, int (*fn)(void *ud, int64_t up, int64_t down), void *ud) {
  x->progress = fn;
  x->progress_ud = ud;
  if (curl_easy_setopt(x->curl, CURLOPT_XFERINFOFUNCTION, xferinfo_cb) != CURLE_OK ||
      curl_easy_setopt(x->curl, CURLOPT_XFERINFODATA, (void *)x) != CURLE_OK ||
      curl_easy_setopt(x->curl, CURLOPT_NOPROGRESS, 0L) != CURLE_OK)
    return -1;
  return 0;
}

/* The start of every transfer: reset `x` for `req`, check the URL, open the
** body's files. *has_body: the request sends a body (a POST/PUT/PATCH
** without one still sends "Content-Length: 0"). */
static int prepare_begin(mc_curl_xfer *x, CURL *curl, const mc_request *req, mc_response *res,
                         int *has_body, mc_transport_error *err) {
  const char *method = req->method ? req->method : "GET";
  mc_curl_xfer_init(x);
  x->curl = curl;
  x->req = req;
  x->res = res;
  x->max_body = req->max_body ? req->max_body : MC_DEFAULT_MAX_BODY;
  mc_http1_head_init(&x->head, &res->headers, 0);
  err->kind = MC_TERR_NONE;
  err->code = 0;
  err->message[0] = '\0';
  if (!req->url) {
    mc_transport_error_set(err, MC_TERR_LOCAL, 0, "invalid request: no URL");
    return -1;
  }
  *has_body = req->body.kind != MC_BODY_NONE || mc_http1_empty_body_counts(method);
  if (req->body.kind == MC_BODY_FILE && open_body_file(x, &req->body, err) != 0) return -1;
  if (req->body.kind == MC_BODY_PARTS && open_body_parts(x, &req->body, err) != 0) return -1;
  return 0;
}

/* The options no request changes (the callbacks' data is `x`, so `x` must
** stay where it is while the handle keeps them), and the CA bundle. Returns
** NULL, or the name of the option libcurl refused. */
static const char *set_fixed(mc_curl_xfer *x, CURL *curl, const char *cainfo) {
#if LIBCURL_VERSION_NUM >= 0x075500
  SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
  SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
  SETOPT(CURLOPT_PRIVATE, (void *)x);
  SETOPT(CURLOPT_HEADERFUNCTION, header_cb);
  SETOPT(CURLOPT_HEADERDATA, (void *)x);
  SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
  SETOPT(CURLOPT_WRITEDATA, (void *)x);
  SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
  SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
  if (cainfo) SETOPT(CURLOPT_CAINFO, cainfo);
  SETOPT(CURLOPT_ACCEPT_ENCODING, "");
  SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
  SETOPT(CURLOPT_TCP_KEEPIDLE, 30L);
  SETOPT(CURLOPT_TCP_KEEPINTVL, 15L);
  SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
  return NULL;
}

/* The limits of `req`: total and connect timeouts, the stall rule (below
** low_speed_limit bytes/s for low_speed_time_s seconds; 0: off), and the
** receive buffer: 128 KiB for a download to a sink file, libcurl's 16 KiB
** for a body kept in memory (an API answer; libcurl allocates the buffer
** for every transfer, and a small one costs less). */
static void limits_of(const mc_request *req, long lim[MC_CURL_NLIMITS]) {
  lim[0] = req->timeout_ms > 0 ? req->timeout_ms : 0L;
  lim[1] = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 0L;
  lim[2] = req->low_speed_time_s > 0 ? req->low_speed_time_s : 0L;
  lim[3] = lim[2] > 0 ? (req->low_speed_limit > 0 ? req->low_speed_limit : 1L) : 0L;
  lim[4] = req->sink_path ? 128L * 1024L : (long)CURL_MAX_WRITE_SIZE;
}

/* Set the limits that differ from `had` (all of them when had is NULL). */
static const char *set_limits(CURL *curl, const long lim[MC_CURL_NLIMITS], const long *had) {
  if (!had || had[0] != lim[0]) SETOPT(CURLOPT_TIMEOUT_MS, lim[0]);
  if (!had || had[1] != lim[1]) SETOPT(CURLOPT_CONNECTTIMEOUT_MS, lim[1]);
  if (!had || had[2] != lim[2]) SETOPT(CURLOPT_LOW_SPEED_TIME, lim[2]);
  if (!had || had[3] != lim[3]) SETOPT(CURLOPT_LOW_SPEED_LIMIT, lim[3]);
  /* best effort: libcurl 7.8x refuses a new size while it still holds a
  ** receive buffer (it frees it when a transfer ends); the size only tunes */
  if (!had || had[4] != lim[4]) (void)curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, lim[4]);
  return NULL;
}

/* The method and the body, on a handle in libcurl's default (GET) state. */
static const char *set_method(mc_curl_xfer *x, CURL *curl, const mc_request *req, int has_body) {
  const char *method = req->method ? req->method : "GET";
  if (has_body && (req->body.kind == MC_BODY_FILE || req->body.kind == MC_BODY_PARTS)) {
    SETOPT(CURLOPT_UPLOAD, 1L);
#if LIBCURL_VERSION_NUM >= 0x073e00
    SETOPT(CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024L);
#endif
    SETOPT(CURLOPT_READFUNCTION, read_cb);
    SETOPT(CURLOPT_READDATA, (void *)x);
    SETOPT(CURLOPT_SEEKFUNCTION, seek_cb);
    SETOPT(CURLOPT_SEEKDATA, (void *)x);
    SETOPT(CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->body_len);
    if (strcmp(method, "PUT") != 0) SETOPT(CURLOPT_CUSTOMREQUEST, method);
  } else if (has_body) {
    const char *data = req->body.kind == MC_BODY_MEMORY && req->body.data ? req->body.data : "";
    size_t len = req->body.kind == MC_BODY_MEMORY ? req->body.len : 0;
    SETOPT(CURLOPT_POST, 1L);
    SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    SETOPT(CURLOPT_POSTFIELDS, data);
    if (strcmp(method, "POST") != 0) SETOPT(CURLOPT_CUSTOMREQUEST, method);
  } else if (strcmp(method, "HEAD") == 0) {
    SETOPT(CURLOPT_NOBODY, 1L);
  } else if (strcmp(method, "GET") == 0) {
    SETOPT(CURLOPT_HTTPGET, 1L);
  } else {
    SETOPT(CURLOPT_CUSTOMREQUEST, method);
  }
  return NULL;
}

#undef SETOPT

/* Report an option libcurl refused. */
static int setopt_failed(mc_transport_error *err, const char *opt) {
  mc_transport_error_set(err, MC_TERR_LOCAL, 0, "cannot configure the transfer (%s)", opt);
  return -1;
}

int mc_curl_prepare(mc_curl_xfer *x, CURL *curl, const mc_request *req,
                    mc_response *res, mc_transport_error *err) {
  const char *failed;
  long lim[MC_CURL_NLIMITS];
  int has_body;
  if (prepare_begin(x, curl, req, res, &has_body, err) != 0) return -1;
  if (mc_curl_headers_build(&req->headers, has_body, NULL, &x->header_list) != 0) {
    mc_transport_error_set(err, MC_TERR_LOCAL, 0, "out of memory");
    return -1;
  }
  limits_of(req, lim);
  failed = set_fixed(x, curl, req->cainfo);
  if (!failed && curl_easy_setopt(curl, CURLOPT_URL, req->url) != CURLE_OK) failed = "CURLOPT_URL";
  if (!failed && curl_easy_setopt(curl, CURLOPT_HTTPHEADER, x->header_list) != CURLE_OK)
    failed = "CURLOPT_HTTPHEADER";
  if (!failed) failed = set_limits(curl, lim, NULL);
  if (!failed) failed = set_method(x, curl, req, has_body);
  return failed ? setopt_failed(err, failed) : 0;
}

/* ---- a handle kept configured between requests ------------------------- */

void mc_curl_kept_init(mc_curl_kept *k) {
  memset(k, 0, sizeof *k);
}

void mc_curl_kept_free(mc_curl_kept *k) {
  free(k->cainfo);
  curl_slist_free_all(k->header_list);
  mc_curl_kept_init(k);
}

/* Both NULL, or equal strings. */
static int same_str(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

int mc_curl_prepare_kept(mc_curl_xfer *x, CURL *curl, const mc_request *req, mc_response *res,
                         mc_curl_kept *k, mc_transport_error *err) {
  const char *method = req->method ? req->method : "GET";
  const char *failed = NULL;
  long lim[MC_CURL_NLIMITS];
  int has_body, plain, fresh = !k->plain;
  if (prepare_begin(x, curl, req, res, &has_body, err) != 0) return -1;
  plain = !has_body && strcmp(method, "GET") == 0;
  if (!fresh && !same_str(k->cainfo, req->cainfo)) {
    /* no option gives libcurl's default CA bundle back: start over */
    curl_easy_reset(curl);
    fresh = 1;
  }
  k->plain = 0; /* until every option below is in place */
  if (fresh) {
    free(k->cainfo);
    k->cainfo = NULL;
    if (req->cainfo && !(k->cainfo = strdup(req->cainfo))) goto oom;
    failed = set_fixed(x, curl, req->cainfo);
    if (failed) return setopt_failed(err, failed);
  }
  if (!k->ae[0]) mc_curl_headers_ae(k->ae, sizeof k->ae);
  if (!k->header_list || !mc_curl_headers_match(k->header_list, &req->headers, has_body, k->ae)) {
    struct curl_slist *list;
    if (mc_curl_headers_build(&req->headers, has_body, k->ae, &list) != 0) goto oom;
    if (curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list) != CURLE_OK) {
      curl_slist_free_all(list);
      return setopt_failed(err, "CURLOPT_HTTPHEADER");
    }
    curl_slist_free_all(k->header_list); /* the handle no longer points at it */
    k->header_list = list;
  } else if (fresh && curl_easy_setopt(curl, CURLOPT_HTTPHEADER, k->header_list) != CURLE_OK) {
    return setopt_failed(err, "CURLOPT_HTTPHEADER");
  }
  if (curl_easy_setopt(curl, CURLOPT_URL, req->url) != CURLE_OK)
    return setopt_failed(err, "CURLOPT_URL");
  limits_of(req, lim);
  failed = set_limits(curl, lim, fresh ? NULL : k->limits);
  if (failed) return setopt_failed(err, failed);
  memcpy(k->limits, lim, sizeof lim);
  /* a kept handle is in the GET state already */
  if ((fresh || !plain) && (failed = set_method(x, curl, req, has_body)) != NULL)
    return setopt_failed(err, failed);
  k->plain = plain;
  return 0;
oom:
  mc_transport_error_set(err, MC_TERR_LOCAL, 0, "out of memory");
  return -1;
}

/* ---- completion -------------------------------------------------------- */

/* Does `msg` contain a piece of something secret the request carries: the
** URL query (or one of its values), URL credentials, or a header value? */
static int leaks_secret(const mc_request *req, const char *msg) {
  const char *url = req->url ? req->url : "";
  const char *q = strchr(url, '?');
  const char *scheme = strstr(url, "://");
  size_t i;
  if (q && q[1] && strstr(msg, q + 1)) return 1;
  while (q && *q) { /* each value of the query */
    const char *v = strchr(q, '='), *end;
    if (!v) break;
    v++;
    end = v + strcspn(v, "&#");
    if (end - v >= 4) {
      size_t n = (size_t)(end - v);
      const char *m;
      for (m = msg; (m = strchr(m, *v)) != NULL; m++)
        if (strncmp(m, v, n) == 0) return 1;
    }
    q = *end ? end + 1 : end;
  }
  if (scheme) { /* user:password@ */
    const char *host = scheme + 3;
    const char *at = strchr(host, '@');
    const char *slash = strchr(host, '/');
    if (at && (!slash || at < slash)) {
      const char *colon = memchr(host, ':', (size_t)(at - host));
      if (colon && at - colon > 1) {
        size_t n = (size_t)(at - colon - 1);
        const char *m;
        for (m = msg; (m = strchr(m, colon[1])) != NULL; m++)
          if (strncmp(m, colon + 1, n) == 0) return 1;
      }
    }
  }
  for (i = 0; i < req->headers.count; i++) {
    const char *v = req->headers.items[i].value;
    if (strlen(v) >= 4 && strstr(msg, v)) return 1;
  }
  return 0;
}

mc_transport_kind mc_curl_code_kind(CURLcode rc) {
  switch (rc) {
    case CURLE_OK:
      return MC_TERR_NONE;
    case CURLE_OPERATION_TIMEDOUT:
      return MC_TERR_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_SEND_FAIL_REWIND:
    case CURLE_AGAIN:
#if LIBCURL_VERSION_NUM >= 0x074500
    case CURLE_QUIC_CONNECT_ERROR:
#endif
#if LIBCURL_VERSION_NUM >= 0x074900
    case CURLE_PROXY:
#endif
#if LIBCURL_VERSION_NUM >= 0x075400
    case CURLE_UNRECOVERABLE_POLL:
#endif
      return MC_TERR_TRANSIENT;
    case CURLE_READ_ERROR:
    case CURLE_WRITE_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_FAILED_INIT:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_UNKNOWN_OPTION:
    /* certificate failures: fixed by local trust configuration, not by a retry
    ** (the resty transport classifies them the same way) */
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return MC_TERR_LOCAL;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_RANGE_ERROR:
    case CURLE_HTTP_RETURNED_ERROR:
    case CURLE_BAD_DOWNLOAD_RESUME:
      return MC_TERR_PROTOCOL;
    default:
      return MC_TERR_TRANSIENT;
  }
}

/*
** The server's fault behind a libcurl code that alone reads as local, told
** by where the transfer was (the rule; the resty transport's parser reports
** the same server behaviour with the same kind and code):
**   - the request was sent (CURLINFO_REQUEST_SIZE > 0) and no complete
**     response head came: CURLE_UNSUPPORTED_PROTOCOL is the server's reply
**     not being HTTP/1.x ("HTTP/0.9 not allowed": a garbage status line),
**     and CURLE_OUT_OF_MEMORY (CURLE_TOO_LARGE in libcurl >= 8.6) is a head
**     line over libcurl's 100 KiB header buffer — beyond our own head limit
**     (MC_HTTP1_MAX_HEAD_BYTES), so a head every transport refuses. Before
**     the request went out (a URL scheme libcurl refuses, an allocation
**     failing while connecting) they stay local. A genuine out-of-memory
**     while a head is being received cannot be told apart and reads as the
**     server's oversized head;
**   - the head was complete and libcurl's chunked decoder refused the body
**     (CURLE_RECV_ERROR whose text names the chunked encoding): malformed
**     framing, where a plain receive failure (a reset) stays transient.
** Returns the message prefix for a reclassified failure, or NULL.
*/
static const char *server_fault(mc_curl_xfer *x, CURLcode rc, const char *msg) {
  long sent = 0; /* CURLINFO_REQUEST_SIZE takes a long */
  int head_done = x->head.phase == MC_HTTP1_COMPLETE;
  if (rc == CURLE_RECV_ERROR)
    return head_done && strstr(msg, "chunk") ? "malformed chunked body" : NULL;
  if (head_done || curl_easy_getinfo(x->curl, CURLINFO_REQUEST_SIZE, &sent) != CURLE_OK ||
      sent <= 0)
    return NULL;
  if (rc == CURLE_UNSUPPORTED_PROTOCOL) return "malformed status line";
#if LIBCURL_VERSION_NUM >= 0x080600
  if (rc == CURLE_TOO_LARGE) return "response head too large";
#endif
  if (rc == CURLE_OUT_OF_MEMORY) return "response head too large";
  return NULL;
}

/* The error message for a failed transfer: libcurl's detailed text unless it
** could carry a secret, then the generic text of the code; the kind from the
** code, or protocol where server_fault() says the server broke the rules. */
static void set_curl_error(mc_curl_xfer *x, CURLcode rc, mc_transport_error *err) {
  char msg[CURL_ERROR_SIZE];
  const char *fault;
  size_t n;
  snprintf(msg, sizeof msg, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
  if (leaks_secret(x->req, msg)) snprintf(msg, sizeof msg, "%s", curl_easy_strerror(rc));
  n = strlen(msg);
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
  fault = server_fault(x, rc, msg);
  if (fault)
    mc_transport_error_set(err, MC_TERR_PROTOCOL, MC_CODE_WEIRD_SERVER_REPLY,
                           "%s (libcurl: %s)", fault, msg);
  else
    mc_transport_error_set(err, mc_curl_code_kind(rc), (int)rc, "%s", msg);
}

int mc_curl_complete(mc_curl_xfer *x, CURLcode rc, mc_transport_error *err) {
  mc_response *res = x->res;
  long code = 0;
  double total = 0;
  int failed = 0;

  if (curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code == 0)
    code = x->head.status > 0 ? x->head.status : 0;
  res->status = code;
  if (curl_easy_getinfo(x->curl, CURLINFO_TOTAL_TIME, &total) == CURLE_OK)
    res->elapsed = total;

  if (rc != CURLE_OK) {
    if (x->cb_kind != MC_TERR_NONE)
      mc_transport_error_set(err, x->cb_kind, x->cb_code ? x->cb_code : (int)rc, "%s", x->cb_msg);
    else
      set_curl_error(x, rc, err);
    failed = 1;
  } else if (x->head.phase != MC_HTTP1_COMPLETE) {
    /* libcurl takes a connection closed inside the head as the end of the
    ** head; the byte parser (and HTTP) does not */
    mc_transport_error_set(err, MC_TERR_TRANSIENT, MC_CODE_RECV_ERROR,
                           "the server closed the connection before a complete response head");
    failed = 1;
  } else {
    /* a 2xx with an empty body still creates (truncates) the sink */
    if (x->sink_state == 0 && x->req->sink_path && code >= 200 && code < 300) {
      x->sink = fopen(x->req->sink_path, "wbe");
      if (!x->sink) {
        mc_transport_error_set(err, MC_TERR_LOCAL, 0, "cannot open sink file: %s",
                               strerror(errno));
        failed = 1;
      } else {
        x->sink_state = 1;
      }
    }
    if (!failed && x->sink_state != 1 && !res->body) {
      res->body = calloc(1, 1);
      if (!res->body) {
        mc_transport_error_set(err, MC_TERR_LOCAL, 0, "out of memory");
        failed = 1;
      }
    }
  }
  if (x->sink) {
    int close_failed = fclose(x->sink) != 0;
    x->sink = NULL;
    if (close_failed && !failed) {
      mc_transport_error_set(err, MC_TERR_LOCAL, 0, "cannot write sink file: %s",
                             strerror(errno));
      failed = 1;
    }
  }
  mc_curl_release(x);
  if (!failed) {
    err->kind = MC_TERR_NONE;
    err->code = 0;
    err->message[0] = '\0';
  }
  return failed ? -1 : 0;
}

void mc_curl_release(mc_curl_xfer *x) {
  size_t i;
  if (x->body_fd >= 0) {
    close(x->body_fd);
    x->body_fd = -1;
  }
  for (i = 0; i < x->nsegs; i++) {
    if (x->segs[i].fd >= 0) close(x->segs[i].fd);
  }
  free(x->segs);
  free(x->seg_mem);
  x->segs = NULL;
  x->seg_mem = NULL;
  x->nsegs = 0;
  if (x->sink) {
    fclose(x->sink);
    x->sink = NULL;
  }
  if (x->header_list) {
    curl_slist_free_all(x->header_list);
    x->header_list = NULL;
  }
}
