/*
** mc_curl_easy.c — blocking transfers (see mc_curl_easy.h).
*/
#include "mc_curl_easy.h"

int mc_curl_easy_open(mc_curl_easy *e) {
  e->progress = NULL;
  e->progress_ud = NULL;
  mc_curl_xfer_init(&e->x);
  mc_curl_kept_init(&e->kept);
  e->curl = curl_easy_init();
  return e->curl ? 0 : -1;
}

void mc_curl_easy_close(mc_curl_easy *e) {
  if (e->curl) {
    curl_easy_cleanup(e->curl);
    e->curl = NULL;
  }
  mc_curl_kept_free(&e->kept); /* after the handle: it pointed at the header list */
}

/* Forget every option (connections stay): the handle is fresh again. */
static void mc_curl_easy_forget(mc_curl_easy *e) {
  curl_easy_reset(e->curl);
  e->kept.plain = 0;
}

int mc_curl_easy_perform(mc_curl_easy *e, const mc_request *req, mc_response *res,
                         mc_transport_error *err) {
  CURLcode rc;
  int ret;
  if (!e->curl) {
    mc_transport_error_set(err, MC_TERR_LOCAL, 0, "the transfer handle is closed");
    return -1;
  }
  if (mc_curl_prepare_kept(&e->x, e->curl, req, res, &e->kept, err) != 0) {
    mc_curl_release(&e->x);
    mc_curl_easy_forget(e);
    return -1;
  }
  if (e->progress) {
    e->kept.plain = 0; /* the hook must not outlive this request */
    if (mc_curl_progress(&e->x, e->progress, e->progress_ud) != 0) {
      mc_transport_error_set(err, MC_TERR_LOCAL, 0, "cannot set the progress callback");
      mc_curl_release(&e->x);
      mc_curl_easy_forget(e);
      return -1;
    }
  }
  rc = curl_easy_perform(e->curl);
  ret = mc_curl_complete(&e->x, rc, err);
  /* a request other than a plain GET leaves nothing behind: its body
  ** pointer, method, upload mode or hook would reach the next request */
  if (!e->kept.plain) mc_curl_easy_forget(e);
  return ret;
}
