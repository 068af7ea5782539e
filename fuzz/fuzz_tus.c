/*
** fuzz_tus.c — libFuzzer target for the tus client state machine (mc_tus)
** driven by a hostile server, and its wire helpers (mc_tuswire: header
** integers, IMF dates, Location resolution, origins). Input: byte 0 picks the
** configuration (discovery, creation-with-upload, checksum, partial upload,
** resume of an existing URL, chunk size); then one response per line:
** "STATUS Name: value|Name: value..." ("!" alone: a transport failure), fed
** to whatever request the machine asks for next.
** Invariants: the machine ends (done or failed) or asks for another request
** within the responses given plus a bound; a PATCH body lies inside the
** upload's bytes; the confirmed offset never exceeds the length; DONE means
** every byte was confirmed; a failure has a kind; the wire helpers never read
** or write out of bounds and resolve only into the given buffer; a metadata
** key with a space, comma, control or non-ASCII byte is refused, and the
** creation request's Upload-Metadata reads back (split at ',' and ' ',
** base64-decoded) to exactly the accepted pairs, in order.
*/
#include <math.h>

#include "fuzz_util.h"
#include "mc_crypto.h"
#include "mc_tus.h"
#include "mc_tuswire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RESP 64
#define MAX_META 8

typedef struct resp {
  int failure;
  long status;
  mc_headers h;
} resp;

typedef struct meta {
  char *key, *value;   /* value: vlen bytes (may hold NUL) */
  size_t vlen;
  int accepted;
} meta;

typedef struct ctx {
  resp r[MAX_RESP];
  size_t n;
  meta m[MAX_META];
  size_t nm;
} ctx;

/* One response line: "STATUS Name: value|Name: value" or "!". */
static void one_line(const char *line, size_t len, void *p) {
  ctx *c = p;
  resp *r;
  char *l, *s, *bar;
  if (len >= 6 && memcmp(line, "@meta ", 6) == 0) {
    const char *k = line + 6, *sp;
    size_t kl;
    if (c->nm == MAX_META) return;
    sp = memchr(k, ' ', len - 6);
    kl = sp ? (size_t)(sp - k) : len - 6;
    c->m[c->nm].key = fuzz_copy((const uint8_t *)k, kl, 1);
    c->m[c->nm].vlen = sp ? len - 6 - kl - 1 : 0;
    c->m[c->nm].value = fuzz_copy(sp ? (const uint8_t *)sp + 1 : (const uint8_t *)k, c->m[c->nm].vlen, 0);
    c->nm++;
    return;
  }
  if (c->n == MAX_RESP || len == 0) return;
  r = &c->r[c->n++];
  mc_headers_init(&r->h);
  if (line[0] == '!') {
    r->failure = 1;
    return;
  }
  l = fuzz_copy((const uint8_t *)line, len, 1);
  r->status = strtol(l, &s, 10);
  if (r->status < 0 || r->status > 999) r->status = 500;
  while (*s == ' ') s++;
  while (*s) {
    char *colon, *v;
    bar = strchr(s, '|');
    if (bar) *bar = '\0';
    colon = strchr(s, ':');
    if (colon && colon > s) {
      v = colon + 1;
      while (*v == ' ') v++;
      mc_headers_add(&r->h, s, (size_t)(colon - s), v, strlen(v));
    }
    if (!bar) break;
    s = bar + 1;
  }
  free(l);
}

/* The wire helpers on the response values. */
static void wire(const resp *r) {
  size_t i;
  char out[512];
  for (i = 0; i < r->h.count; i++) {
    const char *v = r->h.items[i].value;
    size_t sl, hl, ol;
    const char *host;
    int port;
    double d = mc_tuswire_http_date(v);
    FUZZ_REQUIRE(d == -1 || isfinite(d));
    (void)mc_tuswire_list_has(v, "creation");
    if (mc_tuswire_split_origin(v, &sl, &host, &hl, &port, &ol) == 0) {
      FUZZ_REQUIRE(ol <= strlen(v) && host >= v && host + hl <= v + strlen(v));
    }
    memset(out, 'x', sizeof out);
    if (mc_tuswire_resolve("https://tus.example/files/", v, out, sizeof out) == 0) {
      FUZZ_REQUIRE(memchr(out, '\0', sizeof out) != NULL);
      (void)mc_tuswire_same_origin(out, "https://tus.example/files/");
    }
  }
  {
    int64_t n = mc_tuswire_header_int(&r->h, "upload-offset");
    FUZZ_REQUIRE(n >= -1);
  }
}

/* Whether the key may be sent (no space, comma, control or non-ASCII byte, not empty). */
static int key_ok(const char *k) {
  size_t i;
  if (k[0] == '\0') return 0;
  for (i = 0; k[i]; i++)
    if ((unsigned char)k[i] <= ' ' || k[i] == ',' || (unsigned char)k[i] >= 0x7f) return 0;
  return 1;
}

/* The Upload-Metadata header holds exactly the accepted pairs, in order. */
static void check_metadata(const ctx *c, const char *hv) {
  size_t i, expected = 0;
  const char *p = hv;
  for (i = 0; i < c->nm; i++) expected += c->m[i].accepted;
  if (expected == 0) {
    FUZZ_REQUIRE(hv == NULL);
    return;
  }
  FUZZ_REQUIRE(hv != NULL);
  for (i = 0; i < c->nm; i++) {
    const char *end, *sp;
    size_t kl;
    if (!c->m[i].accepted) continue;
    end = strchr(p, ',');
    if (!end) end = p + strlen(p);
    sp = memchr(p, ' ', (size_t)(end - p));
    kl = sp ? (size_t)(sp - p) : (size_t)(end - p);
    FUZZ_REQUIRE(kl == strlen(c->m[i].key) && memcmp(p, c->m[i].key, kl) == 0);
    if (c->m[i].vlen == 0) {
      FUZZ_REQUIRE(sp == NULL);
    } else {
      unsigned char *dec;
      long n;
      FUZZ_REQUIRE(sp != NULL);
      dec = malloc((size_t)(end - sp) * 3 / 4 + 3);
      FUZZ_REQUIRE(dec != NULL);
      n = mc_base64_decode(sp + 1, (size_t)(end - sp - 1), dec);
      FUZZ_REQUIRE(n == (long)c->m[i].vlen && memcmp(dec, c->m[i].value, c->m[i].vlen) == 0);
      free(dec);
    }
    p = *end ? end + 1 : end;
  }
  FUZZ_REQUIRE(*p == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ctx c;
  mc_tus_config cfg;
  mc_tus *t;
  char err[160];
  size_t i, used = 0, steps;
  uint8_t mode;
  double now = 1000;
  if (size == 0) return 0;
  mode = data[0];
  memset(&c, 0, sizeof c);
  fuzz_lines(data + 1, size - 1, one_line, &c);
  for (i = 0; i < c.n; i++) wire(&c.r[i]);
  memset(&cfg, 0, sizeof cfg);
  cfg.endpoint = "https://tus.example/files/";
  cfg.upload_url = (mode & 0x10) ? "https://tus.example/files/abc" : NULL;
  cfg.path = "/nonexistent/fuzz.bin";
  cfg.offset = (mode & 0x08) ? 100 : 0;
  cfg.length = 1000;
  cfg.chunk_size = (mode & 0x40) ? 7 : 300;
  cfg.checksum = (mode & 0x04) ? mc_fp_algo_from_name("sha256") : (mc_fp_algo)0;
  cfg.discover = mode & 1;
  cfg.with_upload = (mode >> 1) & 1;
  cfg.concat = (mode & 0x08) ? MC_TUS_PARTIAL : MC_TUS_SINGLE;
  cfg.seed = 7;
  t = mc_tus_new(&cfg, err, sizeof err);
  if (!t) {
    FUZZ_REQUIRE(err[0] != '\0');
    goto out;
  }
  for (i = 0; i < c.nm; i++) {
    int rc = mc_tus_add_metadata(t, c.m[i].key, c.m[i].value, c.m[i].vlen);
    FUZZ_REQUIRE(rc == (key_ok(c.m[i].key) ? 0 : -1));
    c.m[i].accepted = rc == 0;
  }
  for (steps = 0; steps < 4 * MAX_RESP + 16; steps++) {
    mc_tus_step st = mc_tus_next(t, now);
    int64_t off = mc_tus_offset(t);
    FUZZ_REQUIRE(off >= 0 && off <= cfg.length);
    if (st == MC_TUS_STEP_DONE) {
      FUZZ_REQUIRE(mc_tus_offset(t) == cfg.length);
      break;
    }
    if (st == MC_TUS_STEP_FAILED) {
      long status = 0;
      const char *msg = NULL;
      FUZZ_REQUIRE(mc_tus_error(t, &status, &msg) != NULL);
      break;
    }
    if (st == MC_TUS_STEP_CHECKSUM) {
      unsigned char digest[32];
      memset(digest, 0xab, sizeof digest);
      mc_tus_set_checksum(t, digest, mc_fp_digest_len(mc_tus_checksum_algo(t)));
      continue;
    }
    FUZZ_REQUIRE(st == MC_TUS_STEP_REQUEST);
    {
      const mc_tus_request *q = mc_tus_request_get(t);
      FUZZ_REQUIRE(q != NULL && q->method != NULL && q->url != NULL);
      FUZZ_REQUIRE(q->delay >= 0 && isfinite(q->delay));
      if (strcmp(q->method, "POST") == 0 && cfg.concat != MC_TUS_FINAL)
        check_metadata(&c, mc_headers_get(&q->headers, "upload-metadata"));
      if (q->body_path) {
        FUZZ_REQUIRE(q->body_offset >= cfg.offset && q->body_length >= 0);
        FUZZ_REQUIRE(q->body_offset + q->body_length <= cfg.offset + cfg.length);
      }
      now += q->delay + 0.01;
    }
    if (used == c.n) break; /* the server said all it had to say */
    if (c.r[used].failure) mc_tus_feed_failure(t, "transient", "connection reset");
    else mc_tus_feed(t, c.r[used].status, &c.r[used].h, now);
    used++;
  }
  mc_tus_free(t);
out:
  for (i = 0; i < c.n; i++) mc_headers_free(&c.r[i].h);
  for (i = 0; i < c.nm; i++) {
    free(c.m[i].key);
    free(c.m[i].value);
  }
  return 0;
}
