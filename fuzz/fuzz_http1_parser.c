/*
** fuzz_http1_parser.c — libFuzzer target for mc_http1_parser, the byte-level
** HTTP/1.1 response parser of the resty transport (head, Content-Length,
** chunked with its decoder, close-delimited bodies, trailers, keep-alive).
** Input: byte 0 picks the request method (HEAD or GET), a sink, a small
** max_body and the feed slicing; the rest is what the server sent, fed in
** slices as a socket would deliver it, then end of stream.
** Invariants: a feed consumes 1..len bytes or fails with a message; a sink
** segment lies inside the slice fed; an in-memory body stays under max_body
** and body bytes in memory plus sink bytes never exceed the bytes fed; after
** DONE the status is a final one; once failed, the state stays FAILED.
*/
#include "fuzz_util.h"
#include "mc_http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mc_http1_parser p;
  uint8_t mode;
  size_t off = 0, slice, sunk = 0, max_body;
  int failed = 0;
  char *buf;
  if (size == 0) return 0;
  mode = data[0];
  data++;
  size--;
  slice = (size_t)(mode >> 4) * 7 + 1;          /* 1..106 bytes per read */
  max_body = (mode & 4) ? 64 : 0;              /* 0: the default cap */
  buf = fuzz_copy(data, size, 0);
  mc_http1_parser_init(&p, (mode & 1) ? "HEAD" : "GET", (mode & 2) != 0, max_body);
  while (off < size && !failed && p.state != MC_HTTP1_S_DONE) {
    size_t n = size - off < slice ? size - off : slice;
    size_t used = 0;
    /* one socket read: feed until the parser took all of it */
    while (used < n) {
      const char *seg = NULL;
      size_t seglen = 0;
      long r = mc_http1_parser_feed(&p, buf + off + used, n - used, &seg, &seglen);
      if (r < 0) {
        FUZZ_REQUIRE(p.state == MC_HTTP1_S_FAILED && p.err.message[0] != '\0');
        failed = 1;
        break;
      }
      FUZZ_REQUIRE(r > 0 && (size_t)r <= n - used);
      if (seg) {
        FUZZ_REQUIRE(seg >= buf + off + used && seg + seglen <= buf + off + used + (size_t)r);
        sunk += seglen;
      }
      used += (size_t)r;
      if (p.state == MC_HTTP1_S_DONE) break;
    }
    off += used ? used : n;
  }
  if (!failed && p.state != MC_HTTP1_S_DONE) {
    if (mc_http1_parser_eof(&p) < 0) {
      FUZZ_REQUIRE(p.err.message[0] != '\0');
      failed = 1;
    }
  }
  if (p.state == MC_HTTP1_S_DONE) {
    FUZZ_REQUIRE(p.res.status == 101 || (p.res.status >= 200 && p.res.status <= 999));
    FUZZ_REQUIRE(p.res.body_len <= (max_body ? max_body : (size_t)MC_DEFAULT_MAX_BODY));
  }
  FUZZ_REQUIRE(p.res.body_len + sunk <= size);
  (void)mc_http1_parser_want(&p);
  mc_http1_parser_free(&p);
  free(buf);
  return 0;
}
