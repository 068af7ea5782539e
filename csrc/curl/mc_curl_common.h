/*
** mc_curl_common.h — one libcurl transfer described by an mc_request.
**
** mc_curl_prepare() configures a CURL easy handle from a request (validated
** by the caller with the mc_http1 rules, as the binding does when it reads a
** `req`): method, headers, a body from memory or streamed from a file range
** (always with a Content-Length, never chunked, no "Expect: 100-continue"),
** TLS verification, timeouts and stall detection. Its callbacks fill an
** mc_response with the framing rules of mc_http1: header lines through
** mc_http1_head_line (the same rule the resty transport's parser uses, with
** its limits of lines and bytes), an invalid Content-Length refused as the
** parser refuses it, the body into memory under max_body or, for a 2xx
** status, into the sink file (mc_http1_body_begin). mc_curl_complete() turns
** the CURLcode into an mc_transport_error whose message never holds the URL
** query or a header, with the kind and code the resty transport reports for
** the same server behaviour (a broken server's reply is `protocol`, never
** `local`; a connection closed inside the head is `transient`).
**
** No Lua and no global state: the easy (blocking) and multi (pollable)
** transports both drive transfers through this file.
*/
#ifndef MC_CURL_COMMON_H
#define MC_CURL_COMMON_H

#include <stdio.h>
#include <curl/curl.h>

#include "mc_http.h"
#include "mc_http1.h"

/* The state of one transfer; lives as long as the CURL handle uses it. */
typedef struct mc_curl_xfer {
  CURL *curl;
  const mc_request *req;         /* borrowed for the duration of the transfer */
  mc_response *res;              /* filled by the callbacks */
  struct curl_slist *header_list;
  /* body streamed from a file range */
  int body_fd;                   /* -1 when none */
  int64_t body_start;            /* file offset of byte 0 of the body */
  int64_t body_len;
  int64_t body_pos;              /* next byte to send, relative to body_start */
  /* an MC_BODY_PARTS body: segments (bytes copied into seg_mem, or file
  ** ranges with their own fds), body_len their total, body_pos as above */
  struct mc_curl_seg *segs;
  size_t nsegs;
  char *seg_mem;
  /* response */
  mc_http1_head head;            /* the head line rule; status of the last status line */
  int sink_state;                /* 0 undecided, 1 to the sink file, 2 in memory */
  FILE *sink;
  size_t max_body;
  /* progress hook (mc_curl_progress): called from libcurl's progress callback */
  int (*progress)(void *ud, int64_t up, int64_t down);
  void *progress_ud;
  /* a failure detected inside a callback (curl only sees "abort") */
  mc_transport_kind cb_kind;
  int cb_code;                   /* libcurl's number for it (0: the CURLcode) */
  char cb_msg[200];
  char errbuf[CURL_ERROR_SIZE];
} mc_curl_xfer;

/* Zero a transfer so that mc_curl_release() is safe on it. */
void mc_curl_xfer_init(mc_curl_xfer *x);

/*
** Configure `curl` (freshly created or curl_easy_reset) for `req`, writing
** into `res` (which must be initialised). Opens the body file. Returns 0, or
** -1 with `err` set (the transfer must not be started; call release).
*/
int mc_curl_prepare(mc_curl_xfer *x, CURL *curl, const mc_request *req,
                    mc_response *res, mc_transport_error *err);

/*
** Finish a transfer that libcurl ended with `rc`: fills status, elapsed and
** bytes, closes the files. Returns 0 on success, or -1 with `err` set.
*/
int mc_curl_complete(mc_curl_xfer *x, CURLcode rc, mc_transport_error *err);

/*
** What a handle kept configured between requests holds (mc_curl_easy): no
** curl_easy_reset and ~25 options per request, only what differs. plain = 1
** says the handle holds the options of a plain request (GET, no body, no
** progress hook) for the same `x`: the fixed options, the CA bundle cainfo,
** the limits, header_list; plain = 0 says it is fresh (new, or reset).
*/
#define MC_CURL_NLIMITS 5
typedef struct mc_curl_kept {
  int plain;
  char *cainfo;                    /* owned copy; NULL: libcurl's default bundle */
  long limits[MC_CURL_NLIMITS];    /* timeout, connect timeout, stall time and bytes/s, buffer */
  struct curl_slist *header_list;  /* CURLOPT_HTTPHEADER, owned (it outlives a reset) */
  char ae[64];                     /* Accept-Encoding sent in the list (mc_curl_headers_ae) */
} mc_curl_kept;

void mc_curl_kept_init(mc_curl_kept *k);
/* Free what k owns: only once the handle is cleaned up or reset. */
void mc_curl_kept_free(mc_curl_kept *k);

/*
** mc_curl_prepare for a kept handle, always with the same `x`: when k->plain,
** sets only the URL, the limits and the header list that changed, and the
** method and body when this request is not plain; otherwise (a fresh handle)
** everything. A CA bundle other than the one kept resets the handle first.
** Sets k->plain for this request. After the transfer the caller must reset
** the handle (curl_easy_reset) unless k->plain: nothing of a request that
** was not plain (its body, method, upload mode, progress hook) may reach the
** next one. On -1 the caller releases `x` and resets the handle (k->plain is 0).
*/
int mc_curl_prepare_kept(mc_curl_xfer *x, CURL *curl, const mc_request *req, mc_response *res,
                         mc_curl_kept *k, mc_transport_error *err);

/*
** After mc_curl_prepare: call fn(ud, bytes sent, bytes received) as libcurl
** reports progress (often: the hook throttles). A non-zero return aborts the
** transfer with kind local. Returns 0, or -1 when libcurl refuses the options.
*/
int mc_curl_progress(mc_curl_xfer *x, int (*fn)(void *ud, int64_t up, int64_t down), void *ud);

/* Close files and free the header list; idempotent. */
void mc_curl_release(mc_curl_xfer *x);

/* The transport error class of a CURLcode by itself (mc_curl_complete also
** weighs where the transfer was: see set_curl_error in mc_curl_common.c). */
mc_transport_kind mc_curl_code_kind(CURLcode rc);

#endif
