/*
** mc_tus.h — the tus 1.0 client protocol as a sans-I/O state machine.
**
** The machine never touches a socket or a clock: mc_tus_next(t, now) says
** what to do (send a request, compute a checksum of a file range, done,
** failed) and mc_tus_feed*() hands it what came back. One machine carries one
** upload: a whole file, a part of one (concatenation "partial"), or the
** concatenation "final" of partial uploads.
**
**   step = mc_tus_next(t, now)
**   MC_TUS_STEP_CHECKSUM: digest [ck_offset, ck_offset+ck_length) of the file
**                         (mc_file_digest_range), mc_tus_set_checksum(t, b64)
**   MC_TUS_STEP_REQUEST:  wait req.delay seconds, send req (method, url,
**                         headers, optional file-range body), then
**                         mc_tus_feed(t, status, headers, now) or
**                         mc_tus_feed_failure(t, kind, message)
**   MC_TUS_STEP_DONE / MC_TUS_STEP_FAILED: see offset/url or the failure
**
** Protocol decisions (tus 1.0.0 + creation, creation-with-upload, termination,
** checksum, expiration, concatenation):
**   OPTIONS -> Tus-Version must list 1.0.0; Tus-Extension, Tus-Max-Size,
**              Tus-Checksum-Algorithm are remembered (mc_tus_caps). A failed
**              OPTIONS means "core + creation only".
**   POST    -> 201 + Location (resolved against the endpoint; another origin
**              is a protocol error unless allowed); creation-with-upload sends
**              the first chunk and reads Upload-Offset.
**   PATCH   -> 204 + Upload-Offset in (offset, offset+sent]: progress. Beyond
**              what was sent or backwards: protocol error (a lying server).
**              409 -> HEAD, continue from its offset. 404/410 -> create again
**              (bounded). 413 -> halve the chunk. 460 -> resend the chunk.
**              412 -> the server does not speak 1.0.0. Transport failures and
**              5xx -> HEAD and continue (the unknown outcome is resolved by
**              the server's offset).
**   HEAD    -> Upload-Offset (must not exceed the length or what this session
**              sent); Upload-Length must match, else the upload is another
**              one: create again. 404/410/403-less-lost -> create again.
**   DELETE  -> termination (204/404/410 end it).
** Every failure that makes no progress counts; more than max_failures in a
** row fail the upload. Delays between recovery attempts come from the retry
** policy core (mc_backoff, full jitter): nothing is retried forever and there
** is no retry loop here, only the protocol's own resumption.
*/
#ifndef MC_TUS_H
#define MC_TUS_H

#include <stddef.h>
#include <stdint.h>
#include "mc_http.h"
#include "mc_retry.h"
#include "mc_fingerprint.h"

typedef enum mc_tus_concat {
  MC_TUS_SINGLE = 0,
  MC_TUS_PARTIAL,
  MC_TUS_FINAL
} mc_tus_concat;

/* Tus-Extension flags */
#define MC_TUS_EXT_CREATION        0x01u
#define MC_TUS_EXT_WITH_UPLOAD     0x02u
#define MC_TUS_EXT_TERMINATION     0x04u
#define MC_TUS_EXT_CHECKSUM        0x08u
#define MC_TUS_EXT_EXPIRATION      0x10u
#define MC_TUS_EXT_CONCATENATION   0x20u
#define MC_TUS_EXT_DEFER_LENGTH    0x40u

/* What the server advertised (OPTIONS). */
typedef struct mc_tus_caps {
  int known;            /* 1 once OPTIONS answered (or caps were given) */
  unsigned ext;         /* MC_TUS_EXT_* */
  int sha1, sha256;     /* Tus-Checksum-Algorithm lists them */
  int64_t max_size;     /* Tus-Max-Size, -1 when absent */
} mc_tus_caps;

typedef struct mc_tus_config {
  const char *endpoint;      /* creation URL (POST); required unless upload_url */
  const char *upload_url;    /* an existing upload to resume (HEAD first), or NULL */
  const char *path;          /* the file (not used by a FINAL upload) */
  int64_t offset;            /* first byte of the file this upload carries */
  int64_t length;            /* bytes this upload carries (FINAL: total) */
  int64_t chunk_size;        /* > 0 */
  mc_fp_algo checksum;       /* 0: none */
  int discover;              /* 1: OPTIONS before anything else */
  int with_upload;           /* 1: creation-with-upload when advertised */
  mc_tus_concat concat;
  int allow_foreign_location;
  int max_failures;          /* consecutive failures without progress (default 5) */
  int max_recreate;          /* uploads created again after 404/410 (default 2) */
  const mc_tus_caps *caps;   /* known server caps: skip OPTIONS */
  const mc_retry_policy *policy; /* backoff between recoveries (NULL: defaults) */
  uint64_t seed;             /* jitter RNG seed (non-zero) */
} mc_tus_config;

typedef enum mc_tus_step {
  MC_TUS_STEP_REQUEST = 1,
  MC_TUS_STEP_CHECKSUM,
  MC_TUS_STEP_DONE,
  MC_TUS_STEP_FAILED
} mc_tus_step;

typedef enum mc_tus_op {
  MC_TUS_OP_NONE = 0,
  MC_TUS_OP_OPTIONS,
  MC_TUS_OP_CREATE,
  MC_TUS_OP_HEAD,
  MC_TUS_OP_PATCH,
  MC_TUS_OP_DELETE,
  MC_TUS_OP_FINAL
} mc_tus_op;

/* The request to send: valid until the next mc_tus_next / mc_tus_free. */
typedef struct mc_tus_request {
  mc_tus_op op;
  const char *method;
  const char *url;
  mc_headers headers;
  const char *body_path;   /* NULL: no body */
  int64_t body_offset;     /* file offset of the body */
  int64_t body_length;
  int idempotent;          /* safe to replay as is (OPTIONS, HEAD, DELETE) */
  double delay;            /* seconds to wait before sending (recovery backoff) */
} mc_tus_request;

typedef struct mc_tus mc_tus;

/* A new machine; NULL with a message in err on invalid configuration. */
mc_tus *mc_tus_new(const mc_tus_config *cfg, char *err, size_t errlen);
void mc_tus_free(mc_tus *t);

/* Before the first step. Keys: no space or comma; values any bytes. 0 / -1 */
int mc_tus_add_metadata(mc_tus *t, const char *key, const char *value, size_t len);
/* A header sent with every request (e.g. Authorization). 0 / -1 */
int mc_tus_add_header(mc_tus *t, const char *name, const char *value);
/* FINAL uploads: the partial upload URLs, in order. 0 / -1 */
int mc_tus_add_part(mc_tus *t, const char *url);

mc_tus_step mc_tus_next(mc_tus *t, double now);
const mc_tus_request *mc_tus_request_get(const mc_tus *t);
/* MC_TUS_STEP_CHECKSUM: the range and algorithm to digest. */
void mc_tus_checksum_range(const mc_tus *t, int64_t *offset, int64_t *length, mc_fp_algo *algo);
/* The digest of that range, raw bytes (encoded to base64 here). */
int mc_tus_set_checksum(mc_tus *t, const unsigned char *digest, size_t len);

/* The response to the last request: status and lower-case headers (may be NULL). */
void mc_tus_feed(mc_tus *t, long status, const mc_headers *h, double now);
/* The last request did not complete: kind is an error kind ("transient",
** "timeout", "local", "protocol", ...), message one line. */
void mc_tus_feed_failure(mc_tus *t, const char *kind, const char *message);

/* Ask for termination (DELETE of the upload) as the next step. */
void mc_tus_terminate(mc_tus *t);
/* Replace the endpoint (e.g. a re-minted pre-authorised URL): an upload URL
** under the old endpoint moves under the new one; the next step is HEAD. */
int mc_tus_rebase(mc_tus *t, const char *endpoint);
/* The local file is gone or changed: fail with kind "local". */
void mc_tus_fail(mc_tus *t, const char *kind, const char *message);

/* State */
const char *mc_tus_url(const mc_tus *t);          /* NULL before creation */
const char *mc_tus_path(const mc_tus *t);         /* the file (NULL for FINAL) */
int64_t mc_tus_offset(const mc_tus *t);           /* bytes the server confirmed */
int64_t mc_tus_length(const mc_tus *t);
int64_t mc_tus_chunk_size(const mc_tus *t);
double mc_tus_expires(const mc_tus *t);           /* Upload-Expires (epoch), 0 unknown */
const mc_tus_caps *mc_tus_get_caps(const mc_tus *t);
mc_fp_algo mc_tus_checksum_algo(const mc_tus *t); /* in use after discovery */
int mc_tus_terminated(const mc_tus *t);
/* Counters of protocol events: recreated uploads, halved chunks, checksum
** mismatches, conflicts (409), recoveries after transport failures. */
typedef struct mc_tus_stats {
  int recreated, halved, checksum_mismatch, conflicts, recoveries, requests;
} mc_tus_stats;
const mc_tus_stats *mc_tus_get_stats(const mc_tus *t);
/* MC_TUS_STEP_FAILED: kind (error kind), HTTP status (0: none), message. */
const char *mc_tus_error(const mc_tus *t, long *status, const char **message);
/* A short note about the last decision ("created", "conflict: HEAD", ...). */
const char *mc_tus_note(const mc_tus *t);

#endif
