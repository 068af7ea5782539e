/* mc_redis.c — a pollable Redis connection over hiredis (see mc_redis.h). */
#include "mc_redis.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/evp.h>

/* hiredis 0.14 allocates an array reply's element vector as soon as it reads
** "*N\r\n": createArray is wrapped to refuse N above MC_REDIS_MAX_ELEMENTS
** (hiredis then fails the reader with "Out of memory"). hiredis >= 1.0 has
** the bound built in (maxelements). The wrapped table is built once. */
#if HIREDIS_MAJOR >= 1
void mc_redis_reader_bound(redisReader *reader) {
  reader->maxelements = MC_REDIS_MAX_ELEMENTS;
}
#else
static redisReplyObjectFunctions mc_redis_fns;
static void *(*mc_redis_create_array0)(const redisReadTask *, int);
static pthread_once_t mc_redis_fns_once = PTHREAD_ONCE_INIT;

static void *mc_redis_create_array(const redisReadTask *task, int elements) {
  if (elements > MC_REDIS_MAX_ELEMENTS) return NULL;
  return mc_redis_create_array0(task, elements);
}

/* Copy hiredis's default table (a throwaway reader's) with createArray wrapped. */
static void mc_redis_fns_init(void) {
  redisReader *tmp = redisReaderCreate();
  if (!tmp) return;
  if (tmp->fn && tmp->fn->createArray) {
    mc_redis_fns = *tmp->fn;
    mc_redis_create_array0 = tmp->fn->createArray;
    mc_redis_fns.createArray = mc_redis_create_array;
  }
  redisReaderFree(tmp);
}

void mc_redis_reader_bound(redisReader *reader) {
  pthread_once(&mc_redis_fns_once, mc_redis_fns_init);
  /* only a reader on hiredis's default table (a connection's) is switched */
  if (mc_redis_create_array0 && reader->fn && reader->fn->createArray == mc_redis_create_array0)
    reader->fn = &mc_redis_fns;
}
#endif

void mc_redis_init(mc_redis *r) {
  memset(r, 0, sizeof *r);
}

static void mc_redis_drop_queue(mc_redis *r) {
  while (r->qcount > 0) {
    freeReplyObject(r->queue[r->qhead]);
    r->queue[r->qhead] = NULL;
    r->qhead = (r->qhead + 1) % r->qcap;
    r->qcount--;
  }
  r->qhead = 0;
}

void mc_redis_close(mc_redis *r) {
  if (r->ctx) {
    redisFree(r->ctx);
    r->ctx = NULL;
  }
  r->state = MC_REDIS_CLOSED;
  r->want_write = 0;
  r->inflight = 0;
  mc_redis_drop_queue(r);
}

void mc_redis_free(mc_redis *r) {
  mc_redis_close(r);
  free(r->queue);
  r->queue = NULL;
  r->qcap = 0;
}

/* Close the connection and keep `what: detail` as the error. Returns -1. */
static int mc_redis_fail(mc_redis *r, const char *what, const char *detail) {
  snprintf(r->err, sizeof r->err, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
  mc_redis_close(r);
  return -1;
}

int mc_redis_connect(mc_redis *r, const char *host, int port, const char *path) {
  redisContext *c;
  mc_redis_close(r);
  r->err[0] = '\0';
  c = path ? redisConnectUnixNonBlock(path) : redisConnectNonBlock(host, port);
  if (!c) return mc_redis_fail(r, "connect", "out of memory");
  if (c->err) {
    snprintf(r->err, sizeof r->err, "connect: %s", c->errstr);
    redisFree(c);
    return -1;
  }
  mc_redis_reader_bound(c->reader);
  r->ctx = c;
  r->state = MC_REDIS_CONNECTING;
  return 0;
}

int mc_redis_append(mc_redis *r, int argc, const char **argv, const size_t *lens) {
  if (!r->ctx) {
    snprintf(r->err, sizeof r->err, "not connected");
    return -1;
  }
  if (redisAppendCommandArgv(r->ctx, argc, argv, lens) != REDIS_OK)
    return mc_redis_fail(r, "out of memory", NULL);
  r->want_write = 1;
  r->inflight++;
  return 0;
}

/* Append a parsed reply to the FIFO. 0 | -1 (OOM). */
static int mc_redis_push(mc_redis *r, redisReply *reply) {
  if (r->qcount == r->qcap) {
    size_t ncap = r->qcap ? r->qcap * 2 : 4, i;
    redisReply **nq = malloc(ncap * sizeof *nq);
    if (!nq) return -1;
    for (i = 0; i < r->qcount; i++) nq[i] = r->queue[(r->qhead + i) % r->qcap];
    free(r->queue);
    r->queue = nq;
    r->qhead = 0;
    r->qcap = ncap;
  }
  r->queue[(r->qhead + r->qcount) % r->qcap] = reply;
  r->qcount++;
  return 0;
}

/* The socket finished connecting (POLLOUT): did it succeed? 0 | -1. */
static int mc_redis_finish_connect(mc_redis *r) {
  int soerr = 0;
  socklen_t len = sizeof soerr;
  if (getsockopt(r->ctx->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) soerr = errno;
  if (soerr) return mc_redis_fail(r, "connect", strerror(soerr));
  r->state = MC_REDIS_READY;
  return 0;
}

int mc_redis_collect(mc_redis *r, redisReader *reader) {
  for (;;) {
    void *reply = NULL;
    if (redisReaderGetReply(reader, &reply) != REDIS_OK)
      /* hiredis reports an array refused by mc_redis_reader_bound as out of memory */
      return mc_redis_fail(r, "protocol error",
                           reader->err == REDIS_ERR_OOM
                               ? "out of memory, or an array reply of more than 2^24 elements"
                               : reader->errstr);
    if (!reply) return 0;
    if (mc_redis_push(r, (redisReply *)reply) != 0) {
      freeReplyObject(reply);
      return mc_redis_fail(r, "out of memory", NULL);
    }
    if (r->inflight > 0) r->inflight--;
  }
}

int mc_redis_step(mc_redis *r, int wait_ms) {
  struct pollfd p;
  int n;
  if (!r->ctx) {
    if (r->qcount > 0) return (int)r->qcount;
    snprintf(r->err, sizeof r->err, "not connected");
    return -1;
  }
  p.fd = r->ctx->fd;
  p.revents = 0;
  p.events = 0;
  if (r->state == MC_REDIS_CONNECTING || r->want_write) p.events |= POLLOUT;
  if (r->state == MC_REDIS_READY && r->inflight > 0) p.events |= POLLIN;
  if (p.events == 0) return (int)r->qcount;
  n = poll(&p, 1, wait_ms < 0 ? 0 : wait_ms);
  if (n < 0) {
    if (errno == EINTR) return (int)r->qcount;
    return mc_redis_fail(r, "poll", strerror(errno));
  }
  if (n == 0) return (int)r->qcount;
  if (r->state == MC_REDIS_CONNECTING) {
    if (mc_redis_finish_connect(r) != 0) return -1;
  }
  if (r->want_write) {
    int done = 0;
    if (redisBufferWrite(r->ctx, &done) != REDIS_OK)
      return mc_redis_fail(r, "write", r->ctx->errstr);
    if (done) r->want_write = 0;
  }
  if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
    if (redisBufferRead(r->ctx) != REDIS_OK)
      return mc_redis_fail(r, "read", r->ctx->errstr);
    if (mc_redis_collect(r, r->ctx->reader) != 0) return -1;
  }
  return (int)r->qcount;
}

redisReply *mc_redis_take(mc_redis *r) {
  redisReply *reply;
  if (r->qcount == 0) return NULL;
  reply = r->queue[r->qhead];
  r->queue[r->qhead] = NULL;
  r->qhead = (r->qhead + 1) % r->qcap;
  r->qcount--;
  return reply;
}

int mc_redis_alive(mc_redis *r) {
  struct pollfd p;
  char byte;
  if (!r->ctx) return 0;
  if (r->state != MC_REDIS_READY || r->inflight > 0 || r->qcount > 0) return 1;
  p.fd = r->ctx->fd;
  p.events = POLLIN;
  p.revents = 0;
  if (poll(&p, 1, 0) <= 0) return 1;
  /* an idle connection is readable only when the server hung up (or broke
  ** the protocol by talking unasked): either way it is no longer usable */
  if (recv(r->ctx->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
    mc_redis_fail(r, "protocol error", "unexpected data from the server");
    return 0;
  }
  mc_redis_fail(r, "read", "Server closed the connection");
  return 0;
}

int mc_redis_pending(const mc_redis *r) {
  return r->inflight + (int)r->qcount;
}

int mc_redis_fd(const mc_redis *r) {
  return r->ctx ? r->ctx->fd : -1;
}

int mc_redis_sha1_hex(const char *data, size_t len, char out[41]) {
  static const char hex[] = "0123456789abcdef";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0, i;
  if (EVP_Digest(data, len, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20) return -1;
  for (i = 0; i < mdlen; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[40] = '\0';
  return 0;
}
