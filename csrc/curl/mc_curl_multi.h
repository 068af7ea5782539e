/*
** mc_curl_multi.h — a pollable set of concurrent libcurl transfers.
**
** libcurl's sockets are kept in an epoll set inside the handle (through
** CURLMOPT_SOCKETFUNCTION) and its timer in a deadline (TIMERFUNCTION), so
** the whole set is one file descriptor plus one timeout: any event loop can
** wait on mc_multi_fd() for at most mc_multi_timeout() ms, then call
** mc_multi_step(). Finished transfers queue up until mc_multi_pop().
**
** Every transfer owns a copy of its request (method, URL, headers, paths);
** a memory body is copied too with MC_MULTI_COPY_BODY, else it is borrowed
** and must stay alive until the transfer is popped or cancelled.
** No callback ever calls back into the caller; there is no global state.
*/
#ifndef MC_CURL_MULTI_H
#define MC_CURL_MULTI_H

#include <stddef.h>
#include <stdint.h>

#include "mc_http.h"

typedef struct mc_multi mc_multi;

/* One finished transfer: err.kind is MC_TERR_NONE on success. */
typedef struct mc_multi_result {
  int64_t id;
  mc_response res;
  mc_transport_error err;
} mc_multi_result;

#define MC_MULTI_COPY_BODY 1

/* A new empty set, or NULL (out of memory, no epoll, curl failure). */
mc_multi *mc_multi_new(void);

/* Abort every transfer and free everything; NULL is allowed. */
void mc_multi_free(mc_multi *m);

/* The epoll descriptor: readable when mc_multi_step() has socket work. */
int mc_multi_fd(const mc_multi *m);

/* Milliseconds until mc_multi_step() must run for libcurl's timers, 0 when
** overdue, -1 when libcurl has no timer. */
long mc_multi_timeout(const mc_multi *m);

/*
** Start a transfer. Returns 0 and its id (> 0), or -1 with `err` set when it
** cannot start (bad body file, out of memory); nothing is queued then.
*/
int mc_multi_add(mc_multi *m, const mc_request *req, int flags, int64_t *id,
                 mc_transport_error *err);

/* The id the next successful mc_multi_add() will return (lets a caller
** anchor borrowed memory under that id before starting the transfer). */
int64_t mc_multi_next_id(const mc_multi *m);

/*
** Wait up to wait_ms (never past libcurl's next timer) for socket activity,
** let libcurl act on ready sockets and expired timers, and queue finished
** transfers. Returns the number of results queued for mc_multi_pop().
*/
int mc_multi_step(mc_multi *m, int wait_ms);

/* The oldest finished transfer (still owned by the set), or NULL. */
const mc_multi_result *mc_multi_peek(const mc_multi *m);

/* Free the oldest finished transfer. */
void mc_multi_pop(mc_multi *m);

/* Abort a running transfer or drop a queued result. Returns 1 if found. */
int mc_multi_cancel(mc_multi *m, int64_t id);
/* Body bytes sent and received so far by a running transfer: 1, or 0 when
** the id is not running. */
int mc_multi_progress(mc_multi *m, int64_t id, int64_t *up, int64_t *down);

/* Transfers still running (not yet finished). */
size_t mc_multi_running(const mc_multi *m);

#endif
