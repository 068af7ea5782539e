/*
** mc_curl_multi.c — concurrent transfers on curl_multi_socket_action and an
** internal epoll set (see mc_curl_multi.h).
*/
#include "mc_curl_multi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "mc_curl_common.h"

#define MC_MULTI_MAX_EVENTS 64

typedef struct mc_multi_xfer {
  struct mc_multi_xfer *prev, *next;  /* running list */
  struct mc_multi_xfer *qnext;        /* done queue */
  CURL *curl;                         /* NULL once finished */
  mc_request req;                     /* strings below are owned copies */
  char *method, *url, *sink, *cainfo, *path, *body;
  mc_curl_xfer x;
  mc_multi_result result;
} mc_multi_xfer;

struct mc_multi {
  CURLM *cm;
  int epfd;
  int64_t deadline_ms;                /* libcurl's timer, monotonic ms; -1 none */
  int64_t next_id;
  mc_multi_xfer *running;
  size_t nrunning;
  mc_multi_xfer *done_head, *done_tail;
  size_t ndone;
};

static int64_t mc_multi_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- libcurl callbacks: only touch the epoll set and the deadline ------ */

/* CURLMOPT_SOCKETFUNCTION: mirror what libcurl wants to watch into epoll. */
static int mc_multi_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
                              void *socketp) {
  mc_multi *m = userp;
  struct epoll_event ev;
  (void)easy;
  (void)socketp;
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(m->epfd, EPOLL_CTL_DEL, s, NULL); /* ENOENT/EBADF: already gone */
    return 0;
  }
  memset(&ev, 0, sizeof ev);
  if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
  if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
  ev.data.fd = s;
  /* a descriptor number can be reused by a new socket: MOD, else ADD */
  if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT)
    epoll_ctl(m->epfd, EPOLL_CTL_ADD, s, &ev);
  return 0;
}

/* CURLMOPT_TIMERFUNCTION: remember when libcurl wants to be called. */
static int mc_multi_timer_cb(CURLM *cm, long timeout_ms, void *userp) {
  mc_multi *m = userp;
  (void)cm;
  m->deadline_ms = timeout_ms < 0 ? -1 : mc_multi_now_ms() + timeout_ms;
  return 0;
}

/* ---- lifecycle --------------------------------------------------------- */

mc_multi *mc_multi_new(void) {
  mc_multi *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->deadline_ms = -1;
  m->epfd = epoll_create1(EPOLL_CLOEXEC);
  m->cm = curl_multi_init();
  if (m->epfd < 0 || !m->cm) goto fail;
  if (curl_multi_setopt(m->cm, CURLMOPT_SOCKETFUNCTION, mc_multi_socket_cb) != CURLM_OK ||
      curl_multi_setopt(m->cm, CURLMOPT_SOCKETDATA, (void *)m) != CURLM_OK ||
      curl_multi_setopt(m->cm, CURLMOPT_TIMERFUNCTION, mc_multi_timer_cb) != CURLM_OK ||
      curl_multi_setopt(m->cm, CURLMOPT_TIMERDATA, (void *)m) != CURLM_OK)
    goto fail;
  return m;
fail:
  if (m->cm) curl_multi_cleanup(m->cm);
  if (m->epfd >= 0) close(m->epfd);
  free(m);
  return NULL;
}

/* Free a transfer: detach it from libcurl if it still runs. */
static void mc_multi_xfer_free(mc_multi *m, mc_multi_xfer *t) {
  /* detach the handle from the multi first: curl may still touch the body fd
  ** or the header list until it is removed */
  if (t->curl) curl_multi_remove_handle(m->cm, t->curl);
  mc_curl_release(&t->x);
  if (t->curl) {
    curl_easy_cleanup(t->curl);
    t->curl = NULL;
  }
  mc_request_free(&t->req);
  mc_response_free(&t->result.res);
  free(t->method);
  free(t->url);
  free(t->sink);
  free(t->cainfo);
  free(t->path);
  free(t->body);
  free(t);
}

static void mc_multi_unlink(mc_multi *m, mc_multi_xfer *t) {
  if (t->prev) t->prev->next = t->next;
  else m->running = t->next;
  if (t->next) t->next->prev = t->prev;
  t->prev = t->next = NULL;
  m->nrunning--;
}

void mc_multi_free(mc_multi *m) {
  if (!m) return;
  while (m->running) {
    mc_multi_xfer *t = m->running;
    mc_multi_unlink(m, t);
    mc_multi_xfer_free(m, t);
  }
  while (m->done_head) mc_multi_pop(m);
  curl_multi_cleanup(m->cm); /* may still call the socket callback */
  close(m->epfd);
  free(m);
}

int mc_multi_fd(const mc_multi *m) {
  return m->epfd;
}

long mc_multi_timeout(const mc_multi *m) {
  int64_t left;
  if (m->deadline_ms < 0) return -1;
  left = m->deadline_ms - mc_multi_now_ms();
  if (left < 0) return 0;
  return left > 0x7fffffff ? 0x7fffffff : (long)left;
}

int64_t mc_multi_next_id(const mc_multi *m) {
  return m->next_id + 1;
}

size_t mc_multi_running(const mc_multi *m) {
  return m->nrunning;
}

/* ---- adding ------------------------------------------------------------ */

static char *mc_multi_dup(const char *s, size_t n, int *oom) {
  char *p;
  if (!s) return NULL;
  p = malloc(n + 1);
  if (!p) {
    *oom = 1;
    return NULL;
  }
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

#define MC_DUPSTR(s) mc_multi_dup((s), (s) ? strlen(s) : 0, &oom)

/* Give the transfer its own copy of the request. Returns 0 or -1 (OOM). */
static int mc_multi_copy_request(mc_multi_xfer *t, const mc_request *src, int flags) {
  mc_request *r = &t->req;
  int oom = 0;
  size_t i;
  mc_request_init(r);
  t->method = MC_DUPSTR(src->method ? src->method : "GET");
  t->url = MC_DUPSTR(src->url);
  t->sink = MC_DUPSTR(src->sink_path);
  t->cainfo = MC_DUPSTR(src->cainfo);
  r->method = t->method;
  r->url = t->url;
  r->sink_path = t->sink;
  r->cainfo = t->cainfo;
  r->timeout_ms = src->timeout_ms;
  r->connect_timeout_ms = src->connect_timeout_ms;
  r->low_speed_time_s = src->low_speed_time_s;
  r->low_speed_limit = src->low_speed_limit;
  r->max_body = src->max_body;
  r->body = src->body;
  if (src->body.kind == MC_BODY_FILE) {
    t->path = MC_DUPSTR(src->body.path);
    r->body.path = t->path;
  } else if (src->body.kind == MC_BODY_MEMORY && (flags & MC_MULTI_COPY_BODY)) {
    t->body = mc_multi_dup(src->body.data ? src->body.data : "", src->body.len, &oom);
    r->body.data = t->body;
  }
  for (i = 0; i < src->headers.count && !oom; i++) {
    const mc_header *h = &src->headers.items[i];
    if (mc_headers_add(&r->headers, h->name, strlen(h->name), h->value, strlen(h->value)) != 0)
      oom = 1;
  }
  return oom ? -1 : 0;
}

#undef MC_DUPSTR

int mc_multi_add(mc_multi *m, const mc_request *req, int flags, int64_t *id,
                 mc_transport_error *err) {
  mc_multi_xfer *t = calloc(1, sizeof *t);
  if (!t) {
    mc_transport_error_set(err, MC_TERR_LOCAL, 0, "out of memory");
    return -1;
  }
  mc_curl_xfer_init(&t->x);
  mc_response_init(&t->result.res);
  if (mc_multi_copy_request(t, req, flags) != 0) {
    mc_transport_error_set(err, MC_TERR_LOCAL, 0, "out of memory");
    goto fail;
  }
  t->curl = curl_easy_init();
  if (!t->curl) {
    mc_transport_error_set(err, MC_TERR_LOCAL, 0, "cannot create a curl handle");
    goto fail;
  }
  if (mc_curl_prepare(&t->x, t->curl, &t->req, &t->result.res, err) != 0) goto fail;
  curl_easy_setopt(t->curl, CURLOPT_PRIVATE, (void *)t);
  if (curl_multi_add_handle(m->cm, t->curl) != CURLM_OK) {
    mc_transport_error_set(err, MC_TERR_LOCAL, 0, "cannot add the transfer");
    goto fail;
  }
  t->result.id = ++m->next_id;
  t->next = m->running;
  if (m->running) m->running->prev = t;
  m->running = t;
  m->nrunning++;
  *id = t->result.id;
  return 0;
fail:
  if (t->curl) {
    curl_easy_cleanup(t->curl); /* not added: no remove_handle */
    t->curl = NULL;
  }
  mc_multi_xfer_free(m, t);
  return -1;
}

/* ---- stepping ---------------------------------------------------------- */

/* Move every transfer libcurl reports finished to the done queue. */
static void mc_multi_drain(mc_multi *m) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(m->cm, &left)) != NULL) {
    CURL *easy;
    CURLcode rc;
    void *p = NULL;
    mc_multi_xfer *t;
    if (msg->msg != CURLMSG_DONE) continue;
    easy = msg->easy_handle;
    rc = msg->data.result; /* msg is invalid after remove_handle */
    if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&p) != CURLE_OK || !p) continue;
    t = p;
    mc_curl_complete(&t->x, rc, &t->result.err);
    mc_multi_unlink(m, t);
    curl_multi_remove_handle(m->cm, easy);
    curl_easy_cleanup(easy);
    t->curl = NULL;
    mc_request_free(&t->req); /* headers are no longer needed */
    t->qnext = NULL;
    if (m->done_tail) m->done_tail->qnext = t;
    else m->done_head = t;
    m->done_tail = t;
    m->ndone++;
  }
}

int mc_multi_step(mc_multi *m, int wait_ms) {
  struct epoll_event evs[MC_MULTI_MAX_EVENTS];
  long t = mc_multi_timeout(m);
  int n, i, running = 0;
  if (wait_ms < 0) wait_ms = 0;
  if (t >= 0 && t < wait_ms) wait_ms = (int)t;
  n = epoll_wait(m->epfd, evs, MC_MULTI_MAX_EVENTS, wait_ms);
  if (n < 0) n = 0; /* EINTR: just a shorter wait */
  for (i = 0; i < n; i++) {
    int mask = 0;
    if (evs[i].events & EPOLLIN) mask |= CURL_CSELECT_IN;
    if (evs[i].events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
    if (evs[i].events & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
    curl_multi_socket_action(m->cm, evs[i].data.fd, mask, &running);
  }
  if (m->deadline_ms >= 0 && mc_multi_now_ms() >= m->deadline_ms) {
    m->deadline_ms = -1; /* libcurl sets a new one from inside the call */
    curl_multi_socket_action(m->cm, CURL_SOCKET_TIMEOUT, 0, &running);
  }
  mc_multi_drain(m);
  return m->ndone > 0x7fffffff ? 0x7fffffff : (int)m->ndone;
}

const mc_multi_result *mc_multi_peek(const mc_multi *m) {
  return m->done_head ? &m->done_head->result : NULL;
}

void mc_multi_pop(mc_multi *m) {
  mc_multi_xfer *t = m->done_head;
  if (!t) return;
  m->done_head = t->qnext;
  if (!m->done_head) m->done_tail = NULL;
  m->ndone--;
  mc_multi_xfer_free(m, t);
}

int mc_multi_progress(mc_multi *m, int64_t id, int64_t *up, int64_t *down) {
  mc_multi_xfer *t;
  for (t = m->running; t; t = t->next) {
    if (t->result.id == id && t->curl) {
      curl_off_t u = 0, d = 0;
      curl_easy_getinfo(t->curl, CURLINFO_SIZE_UPLOAD_T, &u);
      curl_easy_getinfo(t->curl, CURLINFO_SIZE_DOWNLOAD_T, &d);
      *up = (int64_t)u;
      *down = (int64_t)d;
      return 1;
    }
  }
  return 0;
}

int mc_multi_cancel(mc_multi *m, int64_t id) {
  mc_multi_xfer *t, *prev = NULL;
  for (t = m->running; t; t = t->next) {
    if (t->result.id == id) {
      mc_multi_unlink(m, t);
      mc_multi_xfer_free(m, t);
      return 1;
    }
  }
  for (t = m->done_head; t; prev = t, t = t->qnext) {
    if (t->result.id == id) {
      if (prev) prev->qnext = t->qnext;
      else m->done_head = t->qnext;
      if (m->done_tail == t) m->done_tail = prev;
      m->ndone--;
      mc_multi_xfer_free(m, t);
      return 1;
    }
  }
  return 0;
}
