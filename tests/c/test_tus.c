/*
** test_tus.c — unit tests of the tus state machine (mc_tus), its wire helpers
** (mc_tuswire) and the file digests (mc_fingerprint), driven with recorded
** responses: no network. mc_test_tus() is called by test_core.c's main and
** adds to its pass/fail counters.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "mc_crypto.h"
#include "mc_fingerprint.h"
#include "mc_file_digest.h"
#include "mc_http.h"
#include "mc_tus.h"
#include "mc_tuswire.h"

#include "mc_tests.h"


static const char *EP = "http://127.0.0.1:1080/files";

/* Response headers from "name: value" lines (NULL-terminated). */
static mc_headers *hdrs(mc_headers *h, const char *const *lines) {
  mc_headers_init(h);
  for (; *lines; lines++) {
    const char *colon = strchr(*lines, ':'), *v;
    const char *end = *lines + strlen(*lines);
    if (!colon) continue;
    v = colon + 1;
    while (*v == ' ') v++;
    while (end > v && end[-1] == ' ') end--;
    mc_headers_add(h, *lines, (size_t)(colon - *lines), v, (size_t)(end - v));
  }
  return h;
}

/* Feed status + header lines to the machine. */
static void reply(mc_tus *t, long status, const char *const *lines, double now) {
  mc_headers h;
  hdrs(&h, lines);
  mc_tus_feed(t, status, &h, now);
  mc_headers_free(&h);
}

static const char *req_header(const mc_tus *t, const char *name) {
  return mc_headers_get(&mc_tus_request_get(t)->headers, name);
}

static mc_tus *machine(int64_t length, int64_t chunk, int discover) {
  mc_tus_config c;
  char err[128];
  memset(&c, 0, sizeof c);
  c.endpoint = EP;
  c.path = "/tmp/f.bin";
  c.length = length;
  c.chunk_size = chunk;
  c.discover = discover;
  c.with_upload = 1;
  c.seed = 42;
  c.max_recreate = -1;
  return mc_tus_new(&c, err, sizeof err);
}

static const char *const LOC[] = {"Location: /files/abc", NULL};
static const char *const NONE[] = {NULL};

static void test_happy_path(void) {
  mc_tus *t = machine(250, 100, 1);
  const mc_tus_request *r;
  const char *opts[] = {"Tus-Resumable: 1.0.0", "Tus-Version: 1.0.0",
                        "Tus-Extension: creation,termination,expiration", "Tus-Max-Size: 1000", NULL};
  const char *o100[] = {"Upload-Offset: 100", NULL};
  const char *o200[] = {"Upload-Offset: 200", "Upload-Expires: Wed, 25 Jun 2014 16:00:00 GMT", NULL};
  const char *o250[] = {"Upload-Offset: 250", NULL};
  CHECK(t != NULL);
  mc_tus_add_metadata(t, "filename", "/a b.jpg", 8);
  mc_tus_add_metadata(t, "filetype", "image/jpeg", 10);
  CHECK(mc_tus_add_metadata(t, "bad key", "x", 1) == -1);
  mc_tus_add_header(t, "Authorization", "Bearer x");
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST);
  r = mc_tus_request_get(t);
  CHECK(r->op == MC_TUS_OP_OPTIONS && strcmp(r->method, "OPTIONS") == 0 && r->idempotent);
  reply(t, 204, opts, 0);
  CHECK(mc_tus_get_caps(t)->max_size == 1000);
  CHECK(mc_tus_get_caps(t)->ext & MC_TUS_EXT_TERMINATION);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST);
  r = mc_tus_request_get(t);
  CHECK(r->op == MC_TUS_OP_CREATE && strcmp(r->method, "POST") == 0 && !r->idempotent);
  CHECK(strcmp(req_header(t, "Upload-Length"), "250") == 0);
  CHECK(strcmp(req_header(t, "Tus-Resumable"), "1.0.0") == 0);
  CHECK(strcmp(req_header(t, "Authorization"), "Bearer x") == 0);
  CHECK(strcmp(req_header(t, "Upload-Metadata"), "filename L2EgYi5qcGc=,filetype aW1hZ2UvanBlZw==") == 0);
  CHECK(r->body_path == NULL);
  reply(t, 201, LOC, 0);
  CHECK(strcmp(mc_tus_url(t), "http://127.0.0.1:1080/files/abc") == 0);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST);
  r = mc_tus_request_get(t);
  CHECK(r->op == MC_TUS_OP_PATCH && r->body_offset == 0 && r->body_length == 100);
  CHECK(strcmp(req_header(t, "Upload-Offset"), "0") == 0);
  CHECK(strcmp(req_header(t, "Content-Type"), "application/offset+octet-stream") == 0);
  CHECK(req_header(t, "Upload-Checksum") == NULL);
  reply(t, 204, o100, 0);
  CHECK(mc_tus_offset(t) == 100);
  mc_tus_next(t, 0);
  reply(t, 204, o200, 0);
  CHECK(mc_tus_expires(t) == 1403712000.0);
  mc_tus_next(t, 0);
  r = mc_tus_request_get(t);
  CHECK(r->body_offset == 200 && r->body_length == 50);
  reply(t, 204, o250, 0);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_DONE);
  CHECK(mc_tus_offset(t) == 250);
  /* termination afterwards */
  mc_tus_terminate(t);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST);
  CHECK(strcmp(mc_tus_request_get(t)->method, "DELETE") == 0);
  reply(t, 204, NONE, 0);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_DONE && mc_tus_terminated(t));
  mc_tus_free(t);
}

/* Advance a fresh non-discovering machine through creation. */
static mc_tus *created(int64_t length, int64_t chunk) {
  mc_tus *t = machine(length, chunk, 0);
  mc_tus_next(t, 0);
  reply(t, 201, LOC, 0);
  return t;
}

static void test_conflict_and_lost(void) {
  mc_tus *t = created(300, 100);
  const char *h150[] = {"Upload-Offset: 150", "Upload-Length: 300", NULL};
  const char *o250[] = {"Upload-Offset: 250", NULL};
  mc_tus_next(t, 0);
  reply(t, 409, NONE, 0);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST);
  CHECK(mc_tus_request_get(t)->op == MC_TUS_OP_HEAD);
  CHECK(mc_tus_request_get(t)->delay >= 0 && mc_tus_request_get(t)->delay <= 0.25);
  /* the server holds 150 bytes, but this session sent only 100: a lie */
  reply(t, 200, h150, 0);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_FAILED);
  mc_tus_free(t);

  t = created(300, 100);
  mc_tus_next(t, 0);
  mc_tus_feed_failure(t, "transient", "Connection reset by peer");
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST && mc_tus_request_get(t)->op == MC_TUS_OP_HEAD);
  {
    const char *h60[] = {"Upload-Offset: 60", "Upload-Length: 300", NULL};
    reply(t, 200, h60, 0);
  }
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST);
  CHECK(mc_tus_request_get(t)->body_offset == 60 && mc_tus_request_get(t)->body_length == 100);
  CHECK(mc_tus_get_stats(t)->recoveries == 1);
  /* 404: create again, from zero */
  reply(t, 404, NONE, 0);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST && mc_tus_request_get(t)->op == MC_TUS_OP_CREATE);
  CHECK(mc_tus_url(t) == NULL && mc_tus_offset(t) == 0);
  reply(t, 201, LOC, 0);
  mc_tus_next(t, 0);
  CHECK(mc_tus_request_get(t)->body_offset == 0);
  reply(t, 410, NONE, 0);
  mc_tus_next(t, 0);
  reply(t, 201, LOC, 0);
  mc_tus_next(t, 0);
  reply(t, 404, NONE, 0); /* third loss: bounded */
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_FAILED);
  {
    long st;
    const char *msg;
    CHECK(strcmp(mc_tus_error(t, &st, &msg), "not_found") == 0);
  }
  mc_tus_free(t);

  /* HEAD answers; the server lost it in between and the expired one is recreated */
  t = created(300, 100);
  mc_tus_next(t, 0);
  reply(t, 409, NONE, 0);
  mc_tus_next(t, 0);
  {
    const char *hx[] = {"Upload-Offset: 0", "Upload-Expires: Wed, 25 Jun 2014 16:00:00 GMT", NULL};
    reply(t, 200, hx, 1403712001.0);
  }
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST && mc_tus_request_get(t)->op == MC_TUS_OP_CREATE);
  reply(t, 201, LOC, 0);
  mc_tus_next(t, 0);
  reply(t, 204, o250 + 1, 0); /* no Upload-Offset at all */
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_FAILED);
  mc_tus_free(t);
}

static void test_lies(void) {
  long st;
  const char *msg;
  mc_tus *t = created(300, 100);
  const char *o150[] = {"Upload-Offset: 150", NULL};
  const char *o100[] = {"Upload-Offset: 100", NULL};
  const char *o50[] = {"Upload-Offset: 50", NULL};
  mc_tus_next(t, 0);
  reply(t, 204, o150, 0); /* 100 sent, 150 claimed */
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_FAILED);
  CHECK(strcmp(mc_tus_error(t, &st, &msg), "protocol") == 0 && strstr(msg, "beyond") != NULL);
  mc_tus_free(t);
  t = created(300, 100);
  mc_tus_next(t, 0);
  reply(t, 204, o100, 0);
  mc_tus_next(t, 0);
  reply(t, 204, o50, 0); /* backwards */
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_FAILED);
  CHECK(strstr((mc_tus_error(t, &st, &msg), msg), "backwards") != NULL);
  mc_tus_free(t);
  /* a HEAD that goes backwards below the confirmed offset */
  t = created(300, 100);
  mc_tus_next(t, 0);
  reply(t, 204, o100, 0);
  mc_tus_next(t, 0);
  reply(t, 409, NONE, 0);
  mc_tus_next(t, 0);
  reply(t, 200, o50, 0);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_FAILED);
  mc_tus_free(t);
  /* Location on another host */
  t = machine(10, 10, 0);
  mc_tus_next(t, 0);
  {
    const char *evil[] = {"Location: http://evil.example/files/x", NULL};
    reply(t, 201, evil, 0);
  }
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_FAILED);
  CHECK(strstr((mc_tus_error(t, &st, &msg), msg), "another host") != NULL);
  mc_tus_free(t);
  /* no progress forever: bounded */
  t = created(300, 100);
  {
    int i;
    mc_tus_step s = MC_TUS_STEP_REQUEST;
    for (i = 0; i < 20 && s == MC_TUS_STEP_REQUEST; i++) {
      s = mc_tus_next(t, 0);
      if (s == MC_TUS_STEP_REQUEST) mc_tus_feed_failure(t, "timeout", "stalled");
    }
    CHECK(s == MC_TUS_STEP_FAILED);
    CHECK(strcmp(mc_tus_error(t, &st, &msg), "timeout") == 0 && strstr(msg, "gave up") != NULL);
  }
  mc_tus_free(t);
  /* a local read error is final */
  t = created(300, 100);
  mc_tus_next(t, 0);
  mc_tus_feed_failure(t, "local", "cannot read /x");
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_FAILED);
  mc_tus_free(t);
}

static void test_halve_and_checksum(void) {
  mc_tus_config c;
  mc_tus_caps caps;
  char err[128];
  int64_t off, len;
  mc_fp_algo algo;
  unsigned char d[32];
  mc_tus *t = created(300, 128);
  const char *o64[] = {"Upload-Offset: 64", NULL};
  mc_tus_next(t, 0);
  reply(t, 413, NONE, 0);
  CHECK(mc_tus_chunk_size(t) == 64 && mc_tus_get_stats(t)->halved == 1);
  mc_tus_next(t, 0);
  CHECK(mc_tus_request_get(t)->body_length == 64);
  reply(t, 204, o64, 0);
  mc_tus_free(t);
  CHECK(mc_tus_new(&(mc_tus_config){.endpoint = EP, .path = "/x", .length = 1, .chunk_size = 0}, err, sizeof err) == NULL);
  CHECK(strstr(err, "chunk_size") != NULL);
  CHECK(mc_tus_new(&(mc_tus_config){.endpoint = "ftp://x/", .path = "/x", .length = 1, .chunk_size = 1}, err, sizeof err) == NULL);

  memset(&caps, 0, sizeof caps);
  caps.known = 1;
  caps.ext = MC_TUS_EXT_CREATION | MC_TUS_EXT_CHECKSUM;
  caps.sha1 = 1;
  caps.max_size = -1;
  memset(&c, 0, sizeof c);
  c.endpoint = EP;
  c.path = "/tmp/f.bin";
  c.offset = 1000; /* a part of the file */
  c.length = 100;
  c.chunk_size = 60;
  c.checksum = MC_FP_SHA256; /* not advertised: falls back to sha1 */
  c.caps = &caps;
  c.concat = MC_TUS_PARTIAL;
  c.max_recreate = -1;
  t = mc_tus_new(&c, err, sizeof err);
  CHECK(t && mc_tus_checksum_algo(t) == MC_FP_SHA1);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST && mc_tus_request_get(t)->op == MC_TUS_OP_CREATE);
  CHECK(strcmp(req_header(t, "Upload-Concat"), "partial") == 0);
  reply(t, 201, LOC, 0);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_CHECKSUM);
  mc_tus_checksum_range(t, &off, &len, &algo);
  CHECK(off == 1000 && len == 60 && algo == MC_FP_SHA1);
  memset(d, 0xAB, sizeof d);
  CHECK(mc_tus_set_checksum(t, d, 32) == -1); /* wrong length for sha1 */
  CHECK(mc_tus_set_checksum(t, d, 20) == 0);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST);
  CHECK(strcmp(req_header(t, "Upload-Checksum"), "sha1 q6urq6urq6urq6urq6urq6urq6s=") == 0);
  CHECK(mc_tus_request_get(t)->body_offset == 1000);
  reply(t, 460, NONE, 0); /* corrupted on the way: digest again, resend */
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_CHECKSUM);
  mc_tus_set_checksum(t, d, 20);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST && mc_tus_request_get(t)->body_offset == 1000);
  CHECK(mc_tus_get_stats(t)->checksum_mismatch == 1);
  mc_tus_free(t);
}

static void test_with_upload_and_final(void) {
  const char *opts[] = {"Tus-Version: 1.0.0,0.2.2", "Tus-Extension: creation,creation-with-upload,concatenation", NULL};
  const char *made[] = {"Location: http://127.0.0.1:1080/files/w", "Upload-Offset: 40", NULL};
  const char *tooclaim[] = {"Location: /files/w", "Upload-Offset: 41", NULL};
  mc_tus_config c;
  char err[128];
  mc_tus *t = machine(100, 40, 1);
  mc_tus_next(t, 0);
  reply(t, 200, opts, 0);
  mc_tus_next(t, 0);
  CHECK(mc_tus_request_get(t)->body_length == 40 && mc_tus_request_get(t)->body_offset == 0);
  reply(t, 201, made, 0);
  CHECK(mc_tus_offset(t) == 40);
  mc_tus_next(t, 0);
  CHECK(mc_tus_request_get(t)->op == MC_TUS_OP_PATCH && mc_tus_request_get(t)->body_offset == 40);
  mc_tus_free(t);
  t = machine(100, 40, 1);
  mc_tus_next(t, 0);
  reply(t, 200, opts, 0);
  mc_tus_next(t, 0);
  reply(t, 201, tooclaim, 0);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_FAILED);
  mc_tus_free(t);
  /* a server without tus 1.0.0 */
  t = machine(100, 40, 1);
  mc_tus_next(t, 0);
  {
    const char *old[] = {"Tus-Version: 0.2.2", NULL};
    reply(t, 204, old, 0);
  }
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_FAILED);
  mc_tus_free(t);

  memset(&c, 0, sizeof c);
  c.endpoint = EP;
  c.length = 300;
  c.chunk_size = 1;
  c.concat = MC_TUS_FINAL;
  c.max_recreate = -1;
  t = mc_tus_new(&c, err, sizeof err);
  CHECK(t != NULL);
  mc_tus_add_part(t, "http://127.0.0.1:1080/files/p1");
  mc_tus_add_part(t, "http://127.0.0.1:1080/files/p2");
  mc_tus_add_metadata(t, "filename", "x", 1);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST && mc_tus_request_get(t)->op == MC_TUS_OP_FINAL);
  CHECK(strcmp(req_header(t, "Upload-Concat"), "final;http://127.0.0.1:1080/files/p1 http://127.0.0.1:1080/files/p2") == 0);
  CHECK(req_header(t, "Upload-Length") == NULL && mc_tus_request_get(t)->body_path == NULL);
  reply(t, 201, LOC, 0);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_DONE && mc_tus_offset(t) == 300);
  mc_tus_free(t);
}

static void test_resume_and_rebase(void) {
  mc_tus_config c;
  char err[128];
  mc_tus *t;
  const char *h[] = {"Upload-Offset: 5000", "Upload-Length: 9000", NULL};
  memset(&c, 0, sizeof c);
  c.endpoint = "https://up.example/upload/tok1";
  c.upload_url = "https://up.example/upload/tok1/id9";
  c.path = "/tmp/f";
  c.length = 9000;
  c.chunk_size = 4096;
  c.max_recreate = -1;
  t = mc_tus_new(&c, err, sizeof err);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST && mc_tus_request_get(t)->op == MC_TUS_OP_HEAD);
  reply(t, 200, h, 0); /* resumed: what an earlier process sent is unknown, 5000 is fine */
  CHECK(mc_tus_offset(t) == 5000);
  mc_tus_next(t, 0);
  reply(t, 401, NONE, 0); /* the pre-authorised URL expired */
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_FAILED);
  CHECK(strcmp(mc_tus_error(t, NULL, NULL), "auth") == 0);
  CHECK(mc_tus_rebase(t, "https://up.example/upload/tok2") == 0);
  CHECK(strcmp(mc_tus_url(t), "https://up.example/upload/tok2/id9") == 0);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST && mc_tus_request_get(t)->op == MC_TUS_OP_HEAD);
  mc_tus_free(t);
}

static void test_more_decisions(void) {
  mc_tus *t;
  const char *len_other[] = {"Upload-Offset: 10", "Upload-Length: 999", NULL};
  const char *opts[] = {"Tus-Extension: creation,creation-with-upload", NULL};
  /* HEAD of an upload with another length: it is not ours, create again */
  t = created(300, 100);
  mc_tus_next(t, 0);
  reply(t, 409, NONE, 0);
  mc_tus_next(t, 0);
  reply(t, 200, len_other, 0);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST && mc_tus_request_get(t)->op == MC_TUS_OP_CREATE);
  CHECK(mc_tus_get_stats(t)->recreated == 1);
  mc_tus_free(t);
  /* the creation's data was too much: create again without data */
  t = machine(300, 100, 1);
  mc_tus_next(t, 0);
  reply(t, 204, opts, 0);
  mc_tus_next(t, 0);
  CHECK(mc_tus_request_get(t)->body_length == 100);
  reply(t, 413, NONE, 0);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST && mc_tus_request_get(t)->op == MC_TUS_OP_CREATE);
  CHECK(mc_tus_request_get(t)->body_path == NULL);
  /* a 503 on creation is retried (with a delay), a 400 is not */
  reply(t, 503, NONE, 0);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST && mc_tus_request_get(t)->op == MC_TUS_OP_CREATE);
  reply(t, 400, NONE, 0);
  CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_FAILED);
  CHECK(strcmp(mc_tus_error(t, NULL, NULL), "client") == 0);
  mc_tus_free(t);
  /* OPTIONS unreachable: the core protocol, no checksum */
  {
    mc_tus_config c;
    char err[128];
    memset(&c, 0, sizeof c);
    c.endpoint = EP;
    c.path = "/tmp/f";
    c.length = 10;
    c.chunk_size = 10;
    c.checksum = MC_FP_SHA256;
    c.discover = 1;
    c.max_recreate = -1;
    t = mc_tus_new(&c, err, sizeof err);
    mc_tus_next(t, 0);
    mc_tus_feed_failure(t, "timeout", "no answer");
    CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_REQUEST && mc_tus_request_get(t)->op == MC_TUS_OP_CREATE);
    CHECK(mc_tus_checksum_algo(t) == 0);
    /* an auth failure is not retried */
    mc_tus_feed_failure(t, "auth", "denied");
    CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_FAILED);
    /* an upload URL not under the endpoint is left as it is */
    mc_tus_free(t);
    c.upload_url = "http://127.0.0.1:1080/other/x";
    c.discover = 0;
    t = mc_tus_new(&c, err, sizeof err);
    CHECK(mc_tus_rebase(t, "http://127.0.0.1:1080/new") == 1);
    CHECK(strcmp(mc_tus_url(t), "http://127.0.0.1:1080/other/x") == 0);
    mc_tus_free(t);
    /* terminating before creation needs no request */
    c.upload_url = NULL;
    t = mc_tus_new(&c, err, sizeof err);
    mc_tus_terminate(t);
    CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_DONE && mc_tus_terminated(t));
    mc_tus_free(t);
    /* a Tus-Max-Size below the upload fails before creation */
    c.discover = 1;
    c.length = 5000;
    t = mc_tus_new(&c, err, sizeof err);
    mc_tus_next(t, 0);
    {
      const char *small[] = {"Tus-Max-Size: 100", "Tus-Extension: creation", NULL};
      reply(t, 204, small, 0);
    }
    CHECK(mc_tus_next(t, 0) == MC_TUS_STEP_FAILED);
    CHECK(mc_tus_get_stats(t)->requests == 1);
    mc_tus_free(t);
  }
}

static void test_wire(void) {
  char out[256];
  mc_headers h;
  const char *lines[] = {"Upload-Offset:  42 ", "X-Bad: 4x", NULL};
  CHECK(mc_tuswire_resolve("http://h:8/a/b?q=1", "/files/x", out, sizeof out) == 0 && strcmp(out, "http://h:8/files/x") == 0);
  CHECK(mc_tuswire_resolve("http://h:8/a/b", "c/d", out, sizeof out) == 0 && strcmp(out, "http://h:8/a/c/d") == 0);
  CHECK(mc_tuswire_resolve("https://h/a", "//o.example/z", out, sizeof out) == 0 && strcmp(out, "https://o.example/z") == 0);
  CHECK(mc_tuswire_resolve("http://h/a", "", out, sizeof out) == -1);
  CHECK(mc_tuswire_resolve("http://h/a", "/x", out, 8) == -1);
  CHECK(mc_tuswire_same_origin("http://H:80/a", "http://h/b"));
  CHECK(mc_tuswire_same_origin("https://h/a", "https://h:443/"));
  CHECK(!mc_tuswire_same_origin("http://h/a", "https://h/a"));
  CHECK(!mc_tuswire_same_origin("http://h:81/a", "http://h/a"));
  CHECK(!mc_tuswire_same_origin("http://hx/a", "http://h/a"));
  CHECK(mc_tuswire_same_origin("http://[::1]:9/a", "http://[::1]:9/b"));
  CHECK(mc_tuswire_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777.0);
  CHECK(mc_tuswire_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == -1);
  CHECK(mc_tuswire_list_has("creation, Checksum ,termination", "checksum"));
  CHECK(!mc_tuswire_list_has("creation-with-upload", "creation"));
  hdrs(&h, lines);
  CHECK(mc_tuswire_header_int(&h, "upload-offset") == 42);
  CHECK(mc_tuswire_header_int(&h, "x-bad") == -1);
  CHECK(mc_tuswire_header_int(&h, "absent") == -1);
  mc_headers_free(&h);
}

static void test_fingerprint(void) {
  char dir[] = "/tmp/mc-tus-test.XXXXXX";
  char path[128], other[128], hex1[65], hex2[65], hex3[65], err[200], hx[65];
  unsigned char d[32];
  int64_t size;
  FILE *f;
  int i;
  CHECK(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/data.bin", dir);
  snprintf(other, sizeof other, "%s/missing.bin", dir);
  f = fopen(path, "wb");
  for (i = 0; i < 200000; i++) fputc(i % 251, f);
  fclose(f);
  CHECK(mc_file_digest_range(path, 0, 3, MC_FP_SHA256, d, &size, err, sizeof err) == MC_FP_OK);
  CHECK(size == 200000);
  {
    unsigned char want[32];
    const unsigned char first3[3] = {0, 1, 2};
    mc_sha256(first3, 3, want);
    CHECK(memcmp(want, d, 32) == 0);
  }
  CHECK(mc_file_digest_range(path, 199999, 2, MC_FP_SHA1, d, &size, err, sizeof err) == MC_FP_CHANGED);
  CHECK(mc_file_digest_range(other, 0, 1, MC_FP_SHA1, d, &size, err, sizeof err) == MC_FP_MISSING);
  CHECK(mc_file_digest_range(dir, 0, 1, MC_FP_SHA1, d, &size, err, sizeof err) == MC_FP_NOT_REGULAR);
  CHECK(strstr(err, "directory") != NULL);
  CHECK(mc_file_fingerprint(path, "/dest/a.bin", hex1, &size, err, sizeof err) == MC_FP_OK);
  CHECK(mc_file_fingerprint(path, "/dest/a.bin", hex2, &size, err, sizeof err) == MC_FP_OK);
  CHECK(mc_file_fingerprint(path, "/dest/b.bin", hex3, &size, err, sizeof err) == MC_FP_OK);
  CHECK(strlen(hex1) == 64 && strcmp(hex1, hex2) == 0 && strcmp(hex1, hex3) != 0);
  f = fopen(path, "ab"); /* one more byte: another fingerprint */
  fputc(7, f);
  fclose(f);
  CHECK(mc_file_fingerprint(path, "/dest/a.bin", hex2, &size, err, sizeof err) == MC_FP_OK && strcmp(hex1, hex2) != 0);
  {
    mc_fp_hasher h;
    CHECK(mc_fp_hasher_init(&h, MC_FP_SHA1) == 0);
    mc_fp_hasher_update(&h, "abc", 3);
    mc_fp_hasher_final(&h, d);
    mc_hex(d, 20, hx);
    CHECK(strcmp(hx, "a9993e364706816aba3e25717850c26c9cd0d89d") == 0);
    mc_fp_hasher_free(&h); /* idempotent */
  }
  CHECK(mc_fp_algo_from_name("sha256") == MC_FP_SHA256 && mc_fp_algo_from_name("md5") == 0);
  unlink(path);
  rmdir(dir);
}

void mc_test_tus(void) {
  test_happy_path();
  test_conflict_and_lost();
  test_lies();
  test_halve_and_checksum();
  test_with_upload_and_final();
  test_resume_and_rebase();
  test_more_decisions();
  test_wire();
  test_fingerprint();
}
