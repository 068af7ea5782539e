/*
** fuzz_redis.c — libFuzzer target for the Redis reply path: hiredis's RESP
** reader fed what a (hostile) server sent, our collection of its replies
** (mc_redis_collect, the same call mc_redis_step makes after a socket read)
** and the reply trees the binding converts (csrc/lua/mc_lua_redis.c:
** lredis_push_reply). No socket: the reader is fed directly.
** Input: byte 0 picks the feed slicing (1..256 bytes per "read"); the rest is
** the byte stream from the server.
** Invariants: collect returns 0, or -1 with a message and nothing queued;
** every reply taken is a tree the binding converts without a surprise: a
** RESP2 type (string, status, error, integer, nil, array), a string has its
** bytes (str non-NULL, NUL-terminated, len within the input), an array's
** elements exist (at most MC_REDIS_MAX_ELEMENTS: a larger count fails the
** reader before hiredis allocates its vector; element[i] non-NULL), nesting depth
** stays under the binding's bound (16), and no reply tree holds more string
** bytes or nodes than the input could describe; re-encoding a tree to RESP
** and reading that back (round trip) gives an equal tree.
*/
#include "fuzz_util.h"
#include "mc_redis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BINDING_MAX_DEPTH 16 /* MC_REDIS_MAX_DEPTH of csrc/lua/mc_lua_redis.c */

typedef struct buf {
  char *p;
  size_t len, cap;
} buf;

static void buf_add(buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = (b->len + n + 1) * 2;
    char *p = realloc(b->p, cap);
    FUZZ_REQUIRE(p != NULL);
    b->p = p;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

/* Check the tree the way the binding walks it; count its nodes and string
** bytes; append its canonical RESP encoding to out. */
static void walk(const redisReply *r, int depth, size_t *nodes, size_t *bytes, buf *out) {
  char head[48];
  size_t i;
  FUZZ_REQUIRE(r != NULL);
  FUZZ_REQUIRE(depth < BINDING_MAX_DEPTH);
  (*nodes)++;
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      FUZZ_REQUIRE(r->str != NULL && r->str[r->len] == '\0');
      *bytes += r->len;
      if (r->type == REDIS_REPLY_STRING) {
        snprintf(head, sizeof head, "$%zu\r\n", r->len);
        buf_add(out, head, strlen(head));
        buf_add(out, r->str, r->len);
        buf_add(out, "\r\n", 2);
      } else {
        /* a status or error line ends at the first CRLF (a lone CR or LF stays) */
        buf_add(out, r->type == REDIS_REPLY_STATUS ? "+" : "-", 1);
        buf_add(out, r->str, r->len);
        buf_add(out, "\r\n", 2);
      }
      break;
    case REDIS_REPLY_INTEGER:
      snprintf(head, sizeof head, ":%lld\r\n", r->integer);
      buf_add(out, head, strlen(head));
      break;
    case REDIS_REPLY_NIL:
      buf_add(out, "$-1\r\n", 5);
      break;
    case REDIS_REPLY_ARRAY:
      FUZZ_REQUIRE(r->elements <= (size_t)MC_REDIS_MAX_ELEMENTS);
      FUZZ_REQUIRE(r->elements == 0 || r->element != NULL);
      snprintf(head, sizeof head, "*%zu\r\n", r->elements);
      buf_add(out, head, strlen(head));
      for (i = 0; i < r->elements; i++) walk(r->element[i], depth + 1, nodes, bytes, out);
      break;
    default:
      FUZZ_REQUIRE(!"a reply type the binding does not convert");
  }
}

/* Structural equality of two reply trees. */
static int same(const redisReply *a, const redisReply *b) {
  size_t i;
  if (a->type != b->type) return 0;
  switch (a->type) {
    case REDIS_REPLY_INTEGER: return a->integer == b->integer;
    case REDIS_REPLY_NIL: return 1;
    case REDIS_REPLY_ARRAY:
      if (a->elements != b->elements) return 0;
      for (i = 0; i < a->elements; i++)
        if (!same(a->element[i], b->element[i])) return 0;
      return 1;
    default:
      return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
  }
}

/* Read the canonical encoding back: exactly one reply, equal to r. */
static void round_trip(const redisReply *r, const buf *enc) {
  redisReader *rd = redisReaderCreate();
  mc_redis m;
  redisReply *back;
  FUZZ_REQUIRE(rd != NULL);
  mc_redis_reader_bound(rd);
  mc_redis_init(&m);
  FUZZ_REQUIRE(redisReaderFeed(rd, enc->p, enc->len) == REDIS_OK);
  FUZZ_REQUIRE(mc_redis_collect(&m, rd) == 0);
  back = mc_redis_take(&m);
  FUZZ_REQUIRE(back != NULL && mc_redis_take(&m) == NULL);
  FUZZ_REQUIRE(same(r, back));
  freeReplyObject(back);
  mc_redis_free(&m);
  redisReaderFree(rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  redisReader *rd;
  mc_redis m;
  size_t slice, off = 0, taken = 0, nodes = 0, bytes = 0;
  char *in;
  int failed = 0;
  if (size == 0) return 0;
  slice = (size_t)data[0] + 1;
  in = fuzz_copy(data + 1, size - 1, 0);
  size--;
  rd = redisReaderCreate();
  FUZZ_REQUIRE(rd != NULL);
  mc_redis_reader_bound(rd); /* as mc_redis_connect bounds a connection's reader */
  mc_redis_init(&m);
  while (off < size && !failed) {
    size_t n = size - off < slice ? size - off : slice;
    redisReply *r;
    FUZZ_REQUIRE(redisReaderFeed(rd, in + off, n) == REDIS_OK);
    off += n;
    m.inflight = 1000; /* as if commands were in flight: collect counts them down */
    if (mc_redis_collect(&m, rd) != 0) {
      FUZZ_REQUIRE(m.err[0] != '\0' && m.qcount == 0 && mc_redis_take(&m) == NULL);
      failed = 1;
      break;
    }
    FUZZ_REQUIRE(m.inflight == 1000 - (int)m.qcount);
    while ((r = mc_redis_take(&m)) != NULL) {
      buf enc = { NULL, 0, 0 };
      size_t tree_nodes = 0;
      walk(r, 0, &tree_nodes, &bytes, &enc);
      nodes += tree_nodes;
      round_trip(r, &enc);
      free(enc.p);
      freeReplyObject(r);
      taken++;
    }
  }
  /* each node took at least 3 bytes ("+\r\n", ":\r\n"... an empty array's
  ** element none); string bytes came from the input */
  FUZZ_REQUIRE(nodes * 3 <= size && bytes <= size);
  FUZZ_REQUIRE(taken <= size / 3);
  mc_redis_free(&m);
  redisReaderFree(rd);
  free(in);
  return 0;
}
