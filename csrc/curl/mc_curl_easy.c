/*
** mc_curl_easy.c — blocking transfers (see mc_curl_easy.h).
*/
#include "mc_curl_easy.h"

#include "mc_curl_common.h"

int mc_curl_easy_open(mc_curl_easy *e) {
  e->progress = NULL;
  e->progress_ud = NULL;
  e->curl = curl_easy_init();
  return e->curl ? 0 : -1;
}

void mc_curl_easy_close(mc_curl_easy *e) {
  if (e->curl) {
    curl_easy_cleanup(e->curl);
    e->curl = NULL;
  }
}

int mc_curl_easy_perform(mc_curl_easy *e, const mc_request *req, mc_response *res,
                         mc_transport_error *err) {
  mc_curl_xfer x;
  CURLcode rc;
  int ret;
  if (!e->curl) {
    mc_transport_error_set(err, MC_TERR_LOCAL, 0, "the transfer handle is closed");
    return -1;
  }
  /* forget the previous request's options, keep its connections */
  curl_easy_reset(e->curl);
  if (mc_curl_prepare(&x, e->curl, req, res, err) != 0) {
    mc_curl_release(&x);
    curl_easy_reset(e->curl);
    return -1;
  }
  if (e->progress && mc_curl_progress(&x, e->progress, e->progress_ud) != 0) {
    mc_transport_error_set(err, MC_TERR_LOCAL, 0, "cannot set the progress callback");
    mc_curl_release(&x);
    curl_easy_reset(e->curl);
    return -1;
  }
  rc = curl_easy_perform(e->curl);
  ret = mc_curl_complete(&x, rc, err);
  /* the handle must not keep pointers into `x` (error buffer, callback data) */
  curl_easy_reset(e->curl);
  return ret;
}
