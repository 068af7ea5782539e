/*
** mc_curl_easy.h — blocking transfers over one reusable CURL handle.
**
** One mc_curl_easy per client. The handle stays configured between requests
** (mc_curl_kept): after a plain request (GET without a body or a progress
** hook) the next one sets only what differs (URL, limits, header list, its
** method and body); after any other request the handle is reset with
** curl_easy_reset, so no body, method, upload mode or hook carries over.
** Either way it keeps its connection, DNS and TLS session caches, so
** consecutive requests to one host reuse the connection.
*/
#ifndef MC_CURL_EASY_H
#define MC_CURL_EASY_H

#include <curl/curl.h>

#include "mc_http.h"
#include "mc_curl_common.h"

typedef struct mc_curl_easy {
  CURL *curl;  /* NULL when closed */
  /* optional progress hook for the next perform (see mc_curl_progress) */
  int (*progress)(void *ud, int64_t up, int64_t down);
  void *progress_ud;
  mc_curl_xfer x;     /* every transfer's state: the kept options point at it */
  mc_curl_kept kept;
} mc_curl_easy;

/* Create the CURL handle. Returns 0, or -1 when libcurl cannot allocate one.
** The struct must not move while the handle is open. */
int mc_curl_easy_open(mc_curl_easy *e);

/* Free the handle and its connections; idempotent. */
void mc_curl_easy_close(mc_curl_easy *e);

/*
** Perform `req` and block until it ends. `res` must be initialised; it is
** filled even on failure (status and headers received so far). Returns 0, or
** -1 with `err` set.
*/
int mc_curl_easy_perform(mc_curl_easy *e, const mc_request *req, mc_response *res,
                         mc_transport_error *err);

#endif
