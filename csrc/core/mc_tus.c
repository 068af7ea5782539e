/*
** mc_tus.c — the tus 1.0 client state machine (see mc_tus.h for the
** contract and the protocol decisions). No I/O: requests go out as
** descriptors, responses come back through mc_tus_feed*.
*/
#include "mc_tus.h"
#include "mc_crypto.h"
#include "mc_tuswire.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum phase {
  PH_DISCOVER = 0, PH_CREATE, PH_HEAD, PH_PATCH, PH_DELETE, PH_DONE, PH_FAILED
} phase;

struct mc_tus {
  char *endpoint, *upload_url, *path;
  int64_t base, length, chunk;
  mc_fp_algo ck_req, ck;           /* requested / in use */
  int discover, with_upload, allow_foreign, max_failures, max_recreate;
  mc_tus_concat concat;
  mc_tus_caps caps;
  mc_retry_policy policy;
  uint64_t rng;

  char *metadata;                  /* "k b64,k b64" or NULL */
  size_t metadata_len;
  mc_headers extra;
  char **parts;
  size_t nparts;

  phase ph;
  mc_tus_op pending;               /* op of the request in flight */
  int64_t sent_offset, sent_len;   /* body of the request in flight */
  int64_t offset;                  /* confirmed by the server */
  int64_t high_water;              /* most the server can hold from this session; -1 unknown */
  int failures, recreated;
  int64_t ck_offset, ck_len;
  int ck_ready;
  char ck_b64[64];
  double expires;
  int terminated;

  mc_tus_request req;
  char *req_url;
  mc_tus_stats stats;
  char kind[24];
  long status;
  char message[300];
  char note[120];
};

/* ---- small helpers ----------------------------------------------------- */

static char *dupstr(const char *s) {
  size_t n;
  char *p;
  if (!s) return NULL;
  n = strlen(s);
  p = (char *)malloc(n + 1);
  if (p) memcpy(p, s, n + 1);
  return p;
}

static void set_note(mc_tus *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t->note, sizeof t->note, fmt, ap);
  va_end(ap);
}

static void fail(mc_tus *t, const char *kind, long status, const char *fmt, ...) {
  va_list ap;
  t->ph = PH_FAILED;
  snprintf(t->kind, sizeof t->kind, "%s", kind);
  t->status = status;
  va_start(ap, fmt);
  vsnprintf(t->message, sizeof t->message, fmt, ap);
  va_end(ap);
  set_note(t, "failed: %s", t->kind);
}

static void note_expires(mc_tus *t, const mc_headers *h) {
  const char *v = h ? mc_headers_get(h, "upload-expires") : NULL;
  double e = v ? mc_tuswire_http_date(v) : -1;
  if (e > 0) t->expires = e;
}

/* ---- construction ------------------------------------------------------- */

mc_tus *mc_tus_new(const mc_tus_config *c, char *err, size_t errlen) {
  mc_tus *t;
  const char *probe = c->upload_url ? c->upload_url : c->endpoint;
  size_t sl, hl, ol;
  const char *host;
  int port;
  if (!probe || mc_tuswire_split_origin(probe, &sl, &host, &hl, &port, &ol) != 0) {
    snprintf(err, errlen, "the endpoint must be an absolute http(s) URL");
    return NULL;
  }
  if (c->endpoint && mc_tuswire_split_origin(c->endpoint, &sl, &host, &hl, &port, &ol) != 0) {
    snprintf(err, errlen, "the endpoint must be an absolute http(s) URL");
    return NULL;
  }
  if (c->chunk_size <= 0) {
    snprintf(err, errlen, "chunk_size must be a positive number of bytes");
    return NULL;
  }
  if (c->length < 0 || c->offset < 0) {
    snprintf(err, errlen, "offset and length must not be negative");
    return NULL;
  }
  if (c->concat != MC_TUS_FINAL && !c->path) {
    snprintf(err, errlen, "a file path is required");
    return NULL;
  }
  if (!c->endpoint && c->concat == MC_TUS_FINAL) {
    snprintf(err, errlen, "a final concatenation needs the creation endpoint");
    return NULL;
  }
  t = (mc_tus *)calloc(1, sizeof *t);
  if (!t) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  t->endpoint = dupstr(c->endpoint);
  t->upload_url = dupstr(c->upload_url);
  t->path = dupstr(c->path);
  t->base = c->offset;
  t->length = c->length;
  t->chunk = c->chunk_size;
  t->ck_req = t->ck = c->checksum;
  t->discover = c->discover;
  t->with_upload = c->with_upload;
  t->allow_foreign = c->allow_foreign_location;
  t->concat = c->concat;
  t->max_failures = c->max_failures > 0 ? c->max_failures : 5;
  t->max_recreate = c->max_recreate >= 0 ? c->max_recreate : 2;
  if (c->policy) t->policy = *c->policy;
  else {
    t->policy.attempts = 5;
    t->policy.base = 0.25;
    t->policy.cap = 30;
  }
  t->rng = c->seed ? c->seed : 0x9E3779B97F4A7C15ull;
  t->caps.max_size = -1;
  if (c->caps && c->caps->known) {
    t->caps = *c->caps;
    t->discover = 0;
  }
  mc_headers_init(&t->extra);
  mc_headers_init(&t->req.headers);
  t->high_water = t->upload_url ? -1 : 0;
  t->ph = t->discover ? PH_DISCOVER : (t->upload_url ? PH_HEAD : PH_CREATE);
  if (t->caps.known) {
    /* apply the known caps as if OPTIONS had just answered */
    if (!(t->caps.ext & MC_TUS_EXT_CHECKSUM)) t->ck = (mc_fp_algo)0;
    else if (t->ck == MC_FP_SHA256 && !t->caps.sha256) t->ck = t->caps.sha1 ? MC_FP_SHA1 : (mc_fp_algo)0;
    else if (t->ck == MC_FP_SHA1 && !t->caps.sha1) t->ck = t->caps.sha256 ? MC_FP_SHA256 : (mc_fp_algo)0;
  }
  if (!t->endpoint && !t->upload_url) t->ph = PH_FAILED;
  if ((c->endpoint && !t->endpoint) || (c->upload_url && !t->upload_url) || (c->path && !t->path)) {
    mc_tus_free(t);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  set_note(t, "new");
  return t;
}

void mc_tus_free(mc_tus *t) {
  size_t i;
  if (!t) return;
  free(t->endpoint);
  free(t->upload_url);
  free(t->path);
  free(t->metadata);
  free(t->req_url);
  mc_headers_free(&t->extra);
  mc_headers_free(&t->req.headers);
  for (i = 0; i < t->nparts; i++) free(t->parts[i]);
  free(t->parts);
  free(t);
}

int mc_tus_add_metadata(mc_tus *t, const char *key, const char *value, size_t len) {
  size_t kl = strlen(key), need, i;
  char *p;
  if (kl == 0) return -1;
  for (i = 0; i < kl; i++) {
    unsigned char ch = (unsigned char)key[i];
    if (ch <= ' ' || ch == ',' || ch >= 0x7f) return -1;
  }
  need = t->metadata_len + 1 + kl + 1 + mc_base64_encoded_size(len);
  p = (char *)realloc(t->metadata, need);
  if (!p) return -1;
  t->metadata = p;
  if (t->metadata_len) p[t->metadata_len++] = ',';
  memcpy(p + t->metadata_len, key, kl);
  t->metadata_len += kl;
  if (len > 0) {
    p[t->metadata_len++] = ' ';
    t->metadata_len += mc_base64_encode((const unsigned char *)value, len, p + t->metadata_len, 0);
  }
  p[t->metadata_len] = '\0';
  return 0;
}

int mc_tus_add_header(mc_tus *t, const char *name, const char *value) {
  return mc_headers_add(&t->extra, name, strlen(name), value, strlen(value));
}

int mc_tus_add_part(mc_tus *t, const char *url) {
  char **p = (char **)realloc(t->parts, (t->nparts + 1) * sizeof *p);
  if (!p) return -1;
  t->parts = p;
  p[t->nparts] = dupstr(url);
  if (!p[t->nparts]) return -1;
  t->nparts++;
  return 0;
}

/* ---- building requests -------------------------------------------------- */

static int add(mc_headers *h, const char *name, const char *value) {
  return mc_headers_add(h, name, strlen(name), value, strlen(value));
}

static int begin_request(mc_tus *t, mc_tus_op op, const char *method, const char *url) {
  size_t i;
  mc_headers_free(&t->req.headers);
  mc_headers_init(&t->req.headers);
  free(t->req_url);
  t->req_url = dupstr(url);
  if (!t->req_url) return -1;
  t->req.op = op;
  t->req.method = method;
  t->req.url = t->req_url;
  t->req.body_path = NULL;
  t->req.body_offset = 0;
  t->req.body_length = 0;
  t->req.idempotent = op == MC_TUS_OP_OPTIONS || op == MC_TUS_OP_HEAD || op == MC_TUS_OP_DELETE;
  t->req.delay = t->failures > 0 ? mc_backoff(&t->policy, t->failures, &t->rng) : 0;
  t->pending = op;
  t->sent_len = 0;
  t->sent_offset = t->offset;
  t->stats.requests++;
  for (i = 0; i < t->extra.count; i++)
    if (add(&t->req.headers, t->extra.items[i].name, t->extra.items[i].value) != 0) return -1;
  if (op != MC_TUS_OP_OPTIONS && add(&t->req.headers, "Tus-Resumable", "1.0.0") != 0) return -1;
  return 0;
}

/* The next chunk: bytes [offset, offset+n) of this upload. */
static int64_t chunk_len(const mc_tus *t) {
  int64_t left = t->length - t->offset;
  return left < t->chunk ? left : t->chunk;
}

static void set_body(mc_tus *t, int64_t n) {
  /* whatever happens to this request, the server may hold these bytes (a
  ** transport may even replay it on a fresh connection before answering) */
  if (t->high_water >= 0 && t->offset + n > t->high_water) t->high_water = t->offset + n;
  t->req.body_path = t->path;
  t->req.body_offset = t->base + t->offset;
  t->req.body_length = n;
  t->sent_len = n;
  add(&t->req.headers, "Content-Type", "application/offset+octet-stream");
}

static int build_create(mc_tus *t) {
  char num[32];
  if (begin_request(t, t->concat == MC_TUS_FINAL ? MC_TUS_OP_FINAL : MC_TUS_OP_CREATE, "POST",
                    t->endpoint) != 0)
    return -1;
  if (t->concat == MC_TUS_FINAL) {
    size_t i, n = 16;
    char *v, *p;
    for (i = 0; i < t->nparts; i++) n += strlen(t->parts[i]) + 1;
    v = (char *)malloc(n);
    if (!v) return -1;
    p = v + sprintf(v, "final;");
    for (i = 0; i < t->nparts; i++) p += sprintf(p, "%s%s", i ? " " : "", t->parts[i]);
    if (add(&t->req.headers, "Upload-Concat", v) != 0) { free(v); return -1; }
    free(v);
  } else {
    snprintf(num, sizeof num, "%lld", (long long)t->length);
    add(&t->req.headers, "Upload-Length", num);
    if (t->concat == MC_TUS_PARTIAL) add(&t->req.headers, "Upload-Concat", "partial");
  }
  if (t->metadata) add(&t->req.headers, "Upload-Metadata", t->metadata);
  /* creation-with-upload: the first chunk rides on the POST (not with checksums:
  ** the extension defines Upload-Checksum for PATCH only) */
  if (t->concat != MC_TUS_FINAL && t->with_upload && !t->ck && t->length > 0 &&
      (t->caps.ext & MC_TUS_EXT_WITH_UPLOAD))
    set_body(t, chunk_len(t));
  set_note(t, "create");
  return 0;
}

static int build_patch(mc_tus *t) {
  char num[32], ck[96];
  int64_t n = chunk_len(t);
  if (begin_request(t, MC_TUS_OP_PATCH, "PATCH", t->upload_url) != 0) return -1;
  snprintf(num, sizeof num, "%lld", (long long)t->offset);
  add(&t->req.headers, "Upload-Offset", num);
  set_body(t, n);
  if (t->ck) {
    snprintf(ck, sizeof ck, "%s %s", mc_fp_algo_name(t->ck), t->ck_b64);
    add(&t->req.headers, "Upload-Checksum", ck);
  }
  set_note(t, "patch %lld+%lld", (long long)t->offset, (long long)n);
  return 0;
}

mc_tus_step mc_tus_next(mc_tus *t, double now) {
  int rc = 0;
  (void)now;
  if (t->failures > t->max_failures && t->ph != PH_FAILED && t->ph != PH_DONE) {
    char kind[sizeof t->kind], last[sizeof t->message];
    snprintf(kind, sizeof kind, "%s", t->kind[0] ? t->kind : "transient");
    snprintf(last, sizeof last, "%s", t->message[0] ? t->message : "no progress");
    fail(t, kind, t->status, "gave up after %d attempts without progress: %s", t->failures, last);
  }
  switch (t->ph) {
  case PH_DISCOVER:
    rc = begin_request(t, MC_TUS_OP_OPTIONS, "OPTIONS", t->endpoint);
    set_note(t, "discover");
    break;
  case PH_CREATE:
    if (!t->endpoint) {
      fail(t, "not_found", 0, "the upload is gone and there is no endpoint to create it again");
      return MC_TUS_STEP_FAILED;
    }
    rc = build_create(t);
    break;
  case PH_HEAD:
    rc = begin_request(t, MC_TUS_OP_HEAD, "HEAD", t->upload_url);
    set_note(t, "head");
    break;
  case PH_PATCH:
    if (t->ck) {
      int64_t n = chunk_len(t);
      if (!t->ck_ready || t->ck_offset != t->offset || t->ck_len != n) {
        t->ck_offset = t->offset;
        t->ck_len = n;
        t->ck_ready = 0;
        return MC_TUS_STEP_CHECKSUM;
      }
    }
    rc = build_patch(t);
    break;
  case PH_DELETE:
    rc = begin_request(t, MC_TUS_OP_DELETE, "DELETE", t->upload_url);
    set_note(t, "terminate");
    break;
  case PH_DONE:
    return MC_TUS_STEP_DONE;
  case PH_FAILED:
    return MC_TUS_STEP_FAILED;
  }
  if (rc != 0) {
    fail(t, "local", 0, "out of memory");
    return MC_TUS_STEP_FAILED;
  }
  return MC_TUS_STEP_REQUEST;
}

const mc_tus_request *mc_tus_request_get(const mc_tus *t) {
  return &t->req;
}

void mc_tus_checksum_range(const mc_tus *t, int64_t *offset, int64_t *length, mc_fp_algo *algo) {
  *offset = t->base + t->ck_offset;
  *length = t->ck_len;
  *algo = t->ck;
}

int mc_tus_set_checksum(mc_tus *t, const unsigned char *digest, size_t len) {
  if (len != mc_fp_digest_len(t->ck)) return -1;
  mc_base64_encode(digest, len, t->ck_b64, 0);
  t->ck_ready = 1;
  return 0;
}

/* ---- consuming responses ------------------------------------------------ */

static void recreate(mc_tus *t, const char *why) {
  if (t->concat == MC_TUS_FINAL || t->recreated >= t->max_recreate || !t->endpoint) {
    fail(t, "not_found", 404, "%s (created again %d times already)", why, t->recreated);
    return;
  }
  t->recreated++;
  t->stats.recreated++;
  free(t->upload_url);
  t->upload_url = NULL;
  t->offset = 0;
  t->high_water = 0;
  t->failures = 0;
  t->ph = PH_CREATE;
  set_note(t, "%s: create again", why);
}

/* A failure that made no progress: count it, remember why, go on with next. */
static void setback(mc_tus *t, phase next, const char *kind, long status, const char *msg) {
  t->failures++;
  snprintf(t->kind, sizeof t->kind, "%s", kind);
  t->status = status;
  snprintf(t->message, sizeof t->message, "%s", msg);
  t->ph = next;
}

/* Status outside the protocol's own codes: fail with the generic kind. */
static void fail_status(mc_tus *t, long status, const char *what) {
  int retryable = 0;
  const char *kind = mc_status_kind(status, &retryable);
  if (!kind || !*kind) kind = "protocol";
  fail(t, kind, status, "%s answered HTTP %ld", what, status);
}

static void on_options(mc_tus *t, long status, const mc_headers *h) {
  const char *v;
  t->caps.known = 1;
  if (status >= 200 && status < 300) {
    v = h ? mc_headers_get(h, "tus-version") : NULL;
    if (v && !mc_tuswire_list_has(v, "1.0.0")) {
      fail(t, "client", status, "the server speaks tus %s, not 1.0.0", v);
      return;
    }
    v = h ? mc_headers_get(h, "tus-extension") : NULL;
    if (v) {
      if (mc_tuswire_list_has(v, "creation")) t->caps.ext |= MC_TUS_EXT_CREATION;
      if (mc_tuswire_list_has(v, "creation-with-upload")) t->caps.ext |= MC_TUS_EXT_WITH_UPLOAD;
      if (mc_tuswire_list_has(v, "termination")) t->caps.ext |= MC_TUS_EXT_TERMINATION;
      if (mc_tuswire_list_has(v, "checksum")) t->caps.ext |= MC_TUS_EXT_CHECKSUM;
      if (mc_tuswire_list_has(v, "expiration")) t->caps.ext |= MC_TUS_EXT_EXPIRATION;
      if (mc_tuswire_list_has(v, "concatenation")) t->caps.ext |= MC_TUS_EXT_CONCATENATION;
      if (mc_tuswire_list_has(v, "creation-defer-length")) t->caps.ext |= MC_TUS_EXT_DEFER_LENGTH;
    }
    v = h ? mc_headers_get(h, "tus-checksum-algorithm") : NULL;
    if (v) {
      t->caps.sha1 = mc_tuswire_list_has(v, "sha1");
      t->caps.sha256 = mc_tuswire_list_has(v, "sha256");
    }
    t->caps.max_size = mc_tuswire_header_int(h, "tus-max-size");
  } else {
    t->caps.ext = MC_TUS_EXT_CREATION; /* no discovery: the core protocol only */
  }
  if (!(t->caps.ext & MC_TUS_EXT_CHECKSUM)) t->ck = (mc_fp_algo)0;
  else if (t->ck == MC_FP_SHA256 && !t->caps.sha256) t->ck = t->caps.sha1 ? MC_FP_SHA1 : (mc_fp_algo)0;
  else if (t->ck == MC_FP_SHA1 && !t->caps.sha1) t->ck = t->caps.sha256 ? MC_FP_SHA256 : (mc_fp_algo)0;
  if (t->concat != MC_TUS_SINGLE && !(t->caps.ext & MC_TUS_EXT_CONCATENATION)) {
    fail(t, "client", 0, "the server does not support the concatenation extension");
    return;
  }
  if (t->caps.max_size >= 0 && t->length > t->caps.max_size) {
    fail(t, "client", 413, "the upload (%lld bytes) exceeds the server's Tus-Max-Size (%lld)",
         (long long)t->length, (long long)t->caps.max_size);
    return;
  }
  t->ph = t->upload_url ? PH_HEAD : PH_CREATE;
  set_note(t, "discovered");
}

static void on_create(mc_tus *t, long status, const mc_headers *h) {
  const char *loc;
  char url[2048];
  int64_t off;
  if (status == 201 || (status >= 200 && status < 300)) {
    loc = h ? mc_headers_get(h, "location") : NULL;
    if (!loc || mc_tuswire_resolve(t->endpoint, loc, url, sizeof url) != 0) {
      fail(t, "protocol", status, "the creation response has no usable Location header");
      return;
    }
    if (!t->allow_foreign && !mc_tuswire_same_origin(t->endpoint, url)) {
      fail(t, "protocol", status, "the server sent a Location on another host; refusing to send the file there");
      return;
    }
    free(t->upload_url);
    t->upload_url = dupstr(url);
    if (!t->upload_url) { fail(t, "local", 0, "out of memory"); return; }
    note_expires(t, h);
    t->offset = 0;
    t->high_water = t->sent_len;
    t->failures = 0;
    if (t->concat == MC_TUS_FINAL) {
      t->offset = t->length;
      t->ph = PH_DONE;
      set_note(t, "concatenated");
      return;
    }
    if (t->sent_len > 0) {
      off = mc_tuswire_header_int(h, "upload-offset");
      if (off < 0) { t->ph = PH_HEAD; set_note(t, "created; offset unknown"); return; }
      if (off > t->sent_len) {
        fail(t, "protocol", status, "the server claims offset %lld after creation with %lld bytes",
             (long long)off, (long long)t->sent_len);
        return;
      }
      t->offset = off;
    }
    t->ph = t->offset >= t->length ? PH_DONE : PH_PATCH;
    set_note(t, "created");
    return;
  }
  if (status == 413 && t->sent_len > 0) { /* the data on the POST was too much */
    t->with_upload = 0;
    setback(t, PH_CREATE, "client", status, "the creation with data was refused (413)");
    return;
  }
  if (status == 413) {
    fail(t, "client", status, "the server refuses an upload of %lld bytes (413)", (long long)t->length);
    return;
  }
  if (status == 412) {
    fail(t, "client", status, "the server does not support tus 1.0.0 (412)");
    return;
  }
  if (status >= 500 || status == 429 || status == 423) {
    setback(t, PH_CREATE, "transient", status, "creation failed with a server error");
    return;
  }
  fail_status(t, status, t->concat == MC_TUS_FINAL ? "the final concatenation" : "the upload creation");
}

static void on_patch(mc_tus *t, long status, const mc_headers *h, double now) {
  int64_t off;
  char msg[160];
  (void)now;
  if (status >= 200 && status < 300) {
    off = mc_tuswire_header_int(h, "upload-offset");
    if (off < 0) {
      fail(t, "protocol", status, "the PATCH response has no valid Upload-Offset");
      return;
    }
    if (off > t->sent_offset + t->sent_len) {
      fail(t, "protocol", status, "the server claims offset %lld, beyond the %lld bytes sent",
           (long long)off, (long long)(t->sent_offset + t->sent_len));
      return;
    }
    if (off < t->sent_offset) {
      fail(t, "protocol", status, "the server's offset went backwards (%lld after %lld)",
           (long long)off, (long long)t->sent_offset);
      return;
    }
    note_expires(t, h);
    if (t->sent_offset + t->sent_len > t->high_water) t->high_water = t->sent_offset + t->sent_len;
    if (off == t->sent_offset) {
      setback(t, PH_PATCH, "protocol", status, "the server accepted no bytes");
      return;
    }
    t->offset = off;
    t->failures = 0;
    t->ph = off >= t->length ? PH_DONE : PH_PATCH;
    set_note(t, "offset %lld", (long long)off);
    return;
  }
  switch (status) {
  case 409:
    t->stats.conflicts++;
    setback(t, PH_HEAD, "conflict", status, "offset conflict (409)");
    set_note(t, "conflict: head");
    return;
  case 404: case 410:
    recreate(t, status == 404 ? "the server lost the upload (404)" : "the upload is gone (410)");
    return;
  case 413:
    if (t->sent_len <= 1) {
      fail(t, "client", status, "the server refuses even 1-byte chunks (413)");
      return;
    }
    t->chunk = t->sent_len / 2;
    t->stats.halved++;
    t->ph = PH_PATCH;
    set_note(t, "chunk halved to %lld", (long long)t->chunk);
    return;
  case 460:
    t->stats.checksum_mismatch++;
    t->ck_ready = 0;
    setback(t, PH_PATCH, "protocol", status, "checksum mismatch (460)");
    set_note(t, "checksum mismatch: resend");
    return;
  case 412:
    fail(t, "client", status, "the server does not support tus 1.0.0 (412)");
    return;
  default:
    if (status >= 500 || status == 429 || status == 423) {
      snprintf(msg, sizeof msg, "PATCH answered HTTP %ld", status);
      setback(t, PH_HEAD, "transient", status, msg);
      t->stats.recoveries++;
      return;
    }
    fail_status(t, status, "the PATCH");
  }
}

static void on_head(mc_tus *t, long status, const mc_headers *h, double now) {
  int64_t off, len;
  if (status >= 200 && status < 300) {
    off = mc_tuswire_header_int(h, "upload-offset");
    len = mc_tuswire_header_int(h, "upload-length");
    if (off < 0) {
      fail(t, "protocol", status, "the HEAD response has no valid Upload-Offset");
      return;
    }
    note_expires(t, h);
    if (t->expires > 0 && now >= t->expires) {
      recreate(t, "the upload expired");
      return;
    }
    if (len >= 0 && len != t->length && t->concat != MC_TUS_FINAL) {
      recreate(t, "the upload at that URL has another length");
      return;
    }
    if (off > t->length) {
      fail(t, "protocol", status, "the server claims offset %lld beyond the upload's length %lld",
           (long long)off, (long long)t->length);
      return;
    }
    if (t->high_water >= 0 && off > t->high_water) {
      fail(t, "protocol", status, "the server claims offset %lld, beyond the %lld bytes sent",
           (long long)off, (long long)t->high_water);
      return;
    }
    if (off < t->offset) {
      fail(t, "protocol", status, "the server's offset went backwards (%lld after %lld)",
           (long long)off, (long long)t->offset);
      return;
    }
    if (off > t->offset) t->failures = 0;
    t->offset = off;
    t->ph = off >= t->length ? PH_DONE : PH_PATCH;
    set_note(t, "resume at %lld", (long long)off);
    return;
  }
  if (status == 404 || status == 410) {
    recreate(t, status == 404 ? "the server lost the upload (404)" : "the upload is gone (410)");
    return;
  }
  if (status >= 500 || status == 429 || status == 423) {
    setback(t, PH_HEAD, "transient", status, "HEAD failed with a server error");
    return;
  }
  fail_status(t, status, "the HEAD");
}

void mc_tus_feed(mc_tus *t, long status, const mc_headers *h, double now) {
  mc_tus_op op = t->pending;
  t->pending = MC_TUS_OP_NONE;
  if (t->ph == PH_FAILED || t->ph == PH_DONE) return;
  switch (op) {
  case MC_TUS_OP_OPTIONS: on_options(t, status, h); break;
  case MC_TUS_OP_CREATE:
  case MC_TUS_OP_FINAL: on_create(t, status, h); break;
  case MC_TUS_OP_PATCH: on_patch(t, status, h, now); break;
  case MC_TUS_OP_HEAD: on_head(t, status, h, now); break;
  case MC_TUS_OP_DELETE:
    if ((status >= 200 && status < 300) || status == 404 || status == 410) {
      t->terminated = 1;
      t->ph = PH_DONE;
      set_note(t, "terminated");
    } else {
      fail_status(t, status, "the termination");
    }
    break;
  case MC_TUS_OP_NONE:
    break;
  }
}

void mc_tus_feed_failure(mc_tus *t, const char *kind, const char *message) {
  mc_tus_op op = t->pending;
  t->pending = MC_TUS_OP_NONE;
  if (t->ph == PH_FAILED || t->ph == PH_DONE) return;
  if (!kind) kind = "transient";
  if (strcmp(kind, "local") == 0) { /* the file could not be read: no retry helps */
    fail(t, "local", 0, "%s", message ? message : "cannot read the file");
    return;
  }
  if (strcmp(kind, "transient") != 0 && strcmp(kind, "timeout") != 0 &&
      strcmp(kind, "protocol") != 0) {
    fail(t, kind, 0, "%s", message ? message : kind);
    return;
  }
  t->stats.recoveries++;
  switch (op) {
  case MC_TUS_OP_OPTIONS:
    /* a server that cannot answer OPTIONS: go on with the core protocol */
    on_options(t, 0, NULL);
    t->failures++;
    break;
  case MC_TUS_OP_CREATE:
  case MC_TUS_OP_FINAL:
    setback(t, PH_CREATE, kind, 0, message ? message : kind);
    break;
  case MC_TUS_OP_PATCH:
    if (t->sent_offset + t->sent_len > t->high_water) t->high_water = t->sent_offset + t->sent_len;
    setback(t, PH_HEAD, kind, 0, message ? message : kind);
    set_note(t, "interrupted: head");
    break;
  case MC_TUS_OP_HEAD:
    setback(t, PH_HEAD, kind, 0, message ? message : kind);
    break;
  case MC_TUS_OP_DELETE:
    setback(t, PH_DELETE, kind, 0, message ? message : kind);
    break;
  case MC_TUS_OP_NONE:
    break;
  }
}

void mc_tus_terminate(mc_tus *t) {
  t->failures = 0;
  if (t->upload_url) t->ph = PH_DELETE;
  else { t->terminated = 1; t->ph = PH_DONE; }
}

int mc_tus_rebase(mc_tus *t, const char *endpoint) {
  char *ep = dupstr(endpoint);
  int rc = 0;
  if (!ep) return -1;
  if (t->upload_url && t->endpoint) {
    size_t n = strlen(t->endpoint);
    if (strncmp(t->upload_url, t->endpoint, n) == 0 && t->upload_url[n] == '/') {
      size_t m = strlen(ep) + strlen(t->upload_url + n) + 1;
      char *u = (char *)malloc(m);
      if (!u) { free(ep); return -1; }
      snprintf(u, m, "%s%s", ep, t->upload_url + n);
      free(t->upload_url);
      t->upload_url = u;
    } else {
      rc = 1; /* not under the old endpoint: left as is */
    }
  }
  free(t->endpoint);
  t->endpoint = ep;
  t->failures = 0;
  t->kind[0] = '\0';
  t->message[0] = '\0';
  t->status = 0;
  if (t->ph != PH_DONE) t->ph = t->upload_url ? PH_HEAD : (t->caps.known || !t->discover ? PH_CREATE : PH_DISCOVER);
  set_note(t, "rebased");
  return rc;
}

void mc_tus_fail(mc_tus *t, const char *kind, const char *message) {
  fail(t, kind, 0, "%s", message);
}

/* ---- state -------------------------------------------------------------- */

const char *mc_tus_url(const mc_tus *t) { return t->upload_url; }
const char *mc_tus_path(const mc_tus *t) { return t->path; }
int64_t mc_tus_offset(const mc_tus *t) { return t->offset; }
int64_t mc_tus_length(const mc_tus *t) { return t->length; }
int64_t mc_tus_chunk_size(const mc_tus *t) { return t->chunk; }
double mc_tus_expires(const mc_tus *t) { return t->expires; }
const mc_tus_caps *mc_tus_get_caps(const mc_tus *t) { return &t->caps; }
mc_fp_algo mc_tus_checksum_algo(const mc_tus *t) { return t->ck; }
int mc_tus_terminated(const mc_tus *t) { return t->terminated; }
const mc_tus_stats *mc_tus_get_stats(const mc_tus *t) { return &t->stats; }
const char *mc_tus_note(const mc_tus *t) { return t->note; }

const char *mc_tus_error(const mc_tus *t, long *status, const char **message) {
  if (status) *status = t->status;
  if (message) *message = t->message;
  return t->ph == PH_FAILED ? t->kind : NULL;
}
