/*
** mc_redis.h — a pollable Redis connection over hiredis (no Lua here).
**
** One connection, driven like the curl multi: mc_redis_connect starts a
** non-blocking connect, mc_redis_append queues commands (pipelining is
** allowed), and mc_redis_step waits at most `wait_ms` on the socket, moves
** bytes, and parses every complete reply into a FIFO the caller drains with
** mc_redis_take. Nothing here ever blocks longer than the wait it is given,
** so the caller owns every deadline (the Lua side bounds each command by its
** timeout, and inside mediacdn.loop yields between short waits).
**
** Any I/O or protocol failure closes the connection (replies that were in
** flight are lost: the caller treats the command as failed, never as done)
** and leaves a message in the error buffer; mc_redis_connect may be called
** again to reconnect. Host names are resolved by hiredis with getaddrinfo,
** which blocks: configure an address (127.0.0.1) where that matters.
*/
#ifndef MC_REDIS_H
#define MC_REDIS_H

#include <stddef.h>
#include <hiredis.h>

#define MC_REDIS_ERRLEN 160
/* The most elements an array reply may announce ("*N"; 2^24, as the error says): hiredis allocates
** the element vector up front, so a larger N (up to 2^31-1: 16 GB for 14
** bytes) fails the connection ("protocol error: Out of memory") instead. */
#define MC_REDIS_MAX_ELEMENTS (1 << 24)

typedef enum mc_redis_state {
  MC_REDIS_CLOSED = 0,
  MC_REDIS_CONNECTING,
  MC_REDIS_READY
} mc_redis_state;

typedef struct mc_redis {
  redisContext *ctx;        /* NULL when closed */
  mc_redis_state state;
  int want_write;           /* hiredis' output buffer holds unsent bytes */
  int inflight;             /* commands sent whose replies were not parsed yet */
  redisReply **queue;       /* parsed replies, FIFO */
  size_t qhead, qcount, qcap;
  char err[MC_REDIS_ERRLEN];
} mc_redis;

void mc_redis_init(mc_redis *r);
/* Start connecting (closes any previous connection). path != NULL: a unix
** socket, host/port are ignored. Returns 0, or -1 with r->err set. */
int mc_redis_connect(mc_redis *r, const char *host, int port, const char *path);
/* Queue one command (argv/lens as for redisAppendCommandArgv). 0 | -1. */
int mc_redis_append(mc_redis *r, int argc, const char **argv, const size_t *lens);
/* Wait up to wait_ms (0: poll) for the socket, then make progress. Returns
** the number of parsed replies ready for mc_redis_take, or -1 on failure
** (the connection is closed, r->err says why). */
int mc_redis_step(mc_redis *r, int wait_ms);
/* Bound what an array reply may make reader allocate (MC_REDIS_MAX_ELEMENTS);
** mc_redis_connect does it for the connection's reader. */
void mc_redis_reader_bound(redisReader *reader);
/* Move every complete reply out of `reader` into r's FIFO (mc_redis_step
** does this with the connection's reader after a read; the fuzz target
** fuzz/fuzz_redis.c with a reader it feeds itself, no socket involved).
** Returns 0, or -1 on a protocol error or out of memory: the connection (if
** any) is closed, queued replies are dropped, r->err says why (when reader is
** the connection's own, it is freed with it). */
int mc_redis_collect(mc_redis *r, redisReader *reader);
/* The oldest parsed reply (owned by the caller: freeReplyObject), or NULL. */
redisReply *mc_redis_take(mc_redis *r);
/* Is the connection usable? An idle connection the server has closed (a
** restart, an idle timeout) is closed here (0), so the next command starts
** on a fresh one instead of failing on a dead socket. */
int mc_redis_alive(mc_redis *r);
/* Commands whose replies have not been taken yet. */
int mc_redis_pending(const mc_redis *r);
int mc_redis_fd(const mc_redis *r);
/* Close the socket and drop queued replies; r may be connected again. */
void mc_redis_close(mc_redis *r);
/* mc_redis_close plus the queue's storage. */
void mc_redis_free(mc_redis *r);
/* SHA1 of data as 40 lower-case hex digits + NUL (the script cache key of
** EVALSHA). Returns 0, -1 when OpenSSL fails. */
int mc_redis_sha1_hex(const char *data, size_t len, char out[41]);

#endif
