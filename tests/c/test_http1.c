/*
** test_http1.c — unit tests of the HTTP/1.1 framing of the core (mc_http1_*):
** the head line rule both transports use, URL split, request head, bodies,
** and the byte-level response parser fed in every possible split.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_http.h"
#include "mc_http1.h"
#include "mc_tests.h"


static int line(mc_http1_head *h, const char *s) {
  mc_http1_error e;
  return mc_http1_head_line(h, s, strlen(s), &e);
}

static int streq(const char *a, const char *b) {
  return a && b && strcmp(a, b) == 0;
}

/* The head line rule, as libcurl's header callback feeds it (CRLF kept). */
static void test_head_lines(void) {
  mc_headers hs;
  mc_http1_head h;
  mc_http1_error e;
  mc_headers_init(&hs);
  mc_http1_head_init(&h, &hs, 0);
  CHECK(line(&h, "HTTP/1.1 100 Continue\r\n") == 0);
  CHECK(line(&h, "X-Old: gone\r\n") == 0);
  CHECK(line(&h, "\r\n") == 0);                   /* interim: not the final head */
  CHECK(line(&h, "HTTP/1.1 204 \r\n") == 0);      /* empty reason phrase */
  CHECK(line(&h, "Content-Type:  application/json  \r\n") == 0);
  CHECK(line(&h, "Set-Cookie: a=1\r\n") == 0);
  CHECK(line(&h, "set-cookie: b=2\r\n") == 0);
  CHECK(line(&h, "X-Folded: first\r\n") == 0);
  CHECK(line(&h, "   second  \r\n") == 0);         /* obs-fold: one SP */
  CHECK(line(&h, "\tthird\r\n") == 0);
  CHECK(line(&h, "\r\n") == 1);                   /* final head complete */
  CHECK(h.status == 204 && h.major == 1 && h.minor == 1);
  CHECK(mc_headers_get(&hs, "x-old") == NULL);
  CHECK(streq(mc_headers_get(&hs, "CONTENT-TYPE"), "application/json"));
  CHECK(streq(mc_headers_get(&hs, "set-cookie"), "a=1, b=2"));
  CHECK(streq(mc_headers_get(&hs, "x-folded"), "first second third"));
  CHECK(streq(hs.items[0].name, "content-type"));
  /* trailers: checked, dropped */
  CHECK(line(&h, "X-Trailer: t\r\n") == 0);
  CHECK(mc_headers_get(&hs, "x-trailer") == NULL);
  CHECK(line(&h, "\r\n") == 0);
  /* HTTP/2 status lines (libcurl over h2) are fine outside http1_only */
  CHECK(line(&h, "HTTP/2 200 \r\n") == 0 && h.status == 200 && h.major == 2);
  CHECK(hs.count == 0);
  /* malformed lines are errors, never skipped */
  CHECK(mc_http1_head_line(&h, "no colon here\r\n", 15, &e) == -1);
  CHECK(e.kind == MC_TERR_PROTOCOL && e.code == MC_CODE_WEIRD_SERVER_REPLY);
  CHECK(line(&h, "Bad Name: v\r\n") == -1);
  CHECK(line(&h, "X-Nul: a\rb\r\n") == -1);
  mc_http1_head_init(&h, &hs, 0);
  CHECK(line(&h, " fold without header\r\n") == -1);
  CHECK(line(&h, "SSH-2.0-OpenSSH_9.0\r\n") == -1);
  CHECK(line(&h, "HTTP/1.1 20\r\n") == -1);
  CHECK(line(&h, "HTTP/1.1 2000 x\r\n") == -1);
  mc_http1_head_init(&h, &hs, 1);
  CHECK(mc_http1_head_line(&h, "HTTP/2 200", 10, &e) == -1 && e.code == MC_CODE_UNSUPPORTED_PROTOCOL);
  mc_headers_free(&hs);
}

static void test_head_limits(void) {
  mc_headers hs;
  mc_http1_head h;
  char big[8192];
  int i, r = 0;
  mc_headers_init(&hs);
  mc_http1_head_init(&h, &hs, 0);
  line(&h, "HTTP/1.1 200 OK");
  for (i = 0; i <= MC_HTTP1_MAX_HEADER_LINES && r == 0; i++) r = line(&h, "X-A: 1");
  CHECK(r == -1 && i == MC_HTTP1_MAX_HEADER_LINES + 1);
  mc_http1_head_init(&h, &hs, 0);
  line(&h, "HTTP/1.1 200 OK");
  memset(big, 'v', sizeof big - 1);
  memcpy(big, "X-Big: ", 7);
  big[sizeof big - 1] = '\0';
  r = 0;
  for (i = 0; i < 400 && r == 0; i++) r = line(&h, big);
  CHECK(r == -1 && (size_t)i * sizeof big >= MC_HTTP1_MAX_HEAD_BYTES && i < 40);
  mc_headers_free(&hs);
}

static void test_values(void) {
  mc_http1_error e;
  int64_t n = 0;
  CHECK(mc_http1_content_length(NULL) == -1);
  CHECK(mc_http1_content_length("42") == 42);
  CHECK(mc_http1_content_length(" 5, 5 ") == 5);
  CHECK(mc_http1_content_length("5, 6") == -2);
  CHECK(mc_http1_content_length("abc") == -2);
  CHECK(mc_http1_content_length("") == -2);
  CHECK(mc_http1_content_length("-1") == -2);
  CHECK(mc_http1_content_length("1234567890123456") == -2);
  CHECK(mc_http1_has_token("keep-alive, Close", "close"));
  CHECK(!mc_http1_has_token("closed", "close"));
  CHECK(!mc_http1_has_token(NULL, "close"));
  CHECK(mc_http1_is_token("X-Custom_1", 10));
  CHECK(!mc_http1_is_token("Bad Name", 8) && !mc_http1_is_token("", 0));
  CHECK(mc_http1_is_field_value("a b\tc", 5) && !mc_http1_is_field_value("a\r\nb", 4));
  CHECK(mc_http1_empty_body_counts("POST") && !mc_http1_empty_body_counts("DELETE"));
  CHECK(mc_http1_body_range("f", 10, -1, 100, &n, &e) == 0 && n == 90);
  CHECK(mc_http1_body_range("f", 0, 100, 100, &n, &e) == 0 && n == 100);
  CHECK(mc_http1_body_range("f", 90, 11, 100, &n, &e) == -1 && e.kind == MC_TERR_LOCAL);
  CHECK(mc_http1_body_range("f", 101, -1, 100, &n, &e) == -1);
  CHECK(strstr(e.message, "beyond the end") != NULL);
}

static void test_url(void) {
  mc_http1_url u;
  const char *what = NULL;
  CHECK(mc_http1_parse_url("https://API.Sirv.com/v2/files?x=1#frag", &u, &what) == 0);
  CHECK(u.https && u.port == 443 && streq(u.host, "api.sirv.com") && !u.is_ip);
  CHECK(streq(u.authority, "api.sirv.com") && u.target_len == 13 && !u.target_slash);
  CHECK(strncmp(u.target, "/v2/files?x=1", u.target_len) == 0);
  CHECK(mc_http1_parse_url("http://127.0.0.1:8080?q", &u, &what) == 0);
  CHECK(u.port == 8080 && u.is_ip && streq(u.authority, "127.0.0.1:8080") && u.target_slash);
  CHECK(mc_http1_parse_url("http://[::1]:81/", &u, &what) == 0);
  CHECK(streq(u.host, "::1") && streq(u.connect_host, "[::1]") && u.is_ip && u.port == 81);
  CHECK(mc_http1_parse_url("ftp://x/", &u, &what) == -1 && strstr(what, "http://"));
  CHECK(mc_http1_parse_url("http://x/ y", &u, &what) == -1 && strstr(what, "spaces"));
  CHECK(mc_http1_parse_url("http://u:secret@x/", &u, &what) == -1 && strstr(what, "credentials"));
  CHECK(mc_http1_parse_url("http://x:0/", &u, &what) == -1);
  CHECK(mc_http1_parse_url("http://x:99999/", &u, &what) == -1);
  CHECK(mc_http1_parse_url("http:///path", &u, &what) == -1);
}

static void test_request_head(void) {
  mc_request r;
  mc_http1_url u;
  const char *what;
  char out[512];
  size_t n;
  mc_request_init(&r);
  r.method = "POST";
  r.url = "http://h.example:8080/p?q=1";
  mc_headers_add(&r.headers, "X-A", 3, "1", 1);
  mc_headers_add(&r.headers, "Content-Length", 14, "999", 3);
  mc_headers_add(&r.headers, "Transfer-Encoding", 17, "chunked", 7);
  mc_headers_add(&r.headers, "X-Empty", 7, "", 0);
  CHECK(mc_http1_parse_url(r.url, &u, &what) == 0);
  n = mc_http1_write_head(&r, &u, 3, NULL, 0);
  CHECK(n == mc_http1_write_head(&r, &u, 3, out, sizeof out));
  CHECK(streq(out, "POST /p?q=1 HTTP/1.1\r\nX-A: 1\r\nX-Empty: \r\n"
                   "Host: h.example:8080\r\nContent-Length: 3\r\n\r\n"));
  CHECK(mc_http1_write_head(&r, &u, 3, out, 10) == n); /* too small: size needed */
  mc_headers_add(&r.headers, "host", 4, "other", 5);
  mc_http1_write_head(&r, &u, -1, out, sizeof out);
  CHECK(strstr(out, "Host: other\r\n\r\n") != NULL && !strstr(out, "Content-Length"));
  mc_request_free(&r);
}

/* Feed text to a fresh parser in pieces of `step` bytes; collect sink bytes. */
static int parse(mc_http1_parser *p, const char *method, int sink, size_t max, const char *text,
                 size_t step, char *sunk, size_t *sunk_len) {
  size_t off = 0, len = strlen(text);
  mc_http1_parser_init(p, method, sink, max);
  *sunk_len = 0;
  while (off < len) {
    size_t k = len - off < step ? len - off : step, used = 0;
    while (used < k) {
      const char *seg;
      size_t seglen;
      long n = mc_http1_parser_feed(p, text + off + used, k - used, &seg, &seglen);
      if (n < 0) return -1;
      if (seglen > 0) memcpy(sunk + *sunk_len, seg, seglen);
      *sunk_len += seglen;
      used += (size_t)n;
    }
    off += k;
  }
  return 0;
}

static void test_parser(void) {
  static const char chunked[] =
    "HTTP/1.1 100 Continue\r\n\r\n"
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nX-Multi: a\r\nx-multi: b\r\n"
    "X-Folded: first\r\n  second\r\n\r\n"
    "5;ext=1\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n";
  mc_http1_parser p;
  char sunk[4096];
  size_t sl, step;
  for (step = 1; step <= sizeof chunked; step += (step < 8 ? 1 : 37)) {
    CHECK(parse(&p, "GET", 0, 0, chunked, step, sunk, &sl) == 0);
    CHECK(p.state == MC_HTTP1_S_DONE && p.keep_alive && p.res.status == 200);
    CHECK(streq(p.res.body, "hello world!") && p.res.bytes_received == 12);
    CHECK(streq(mc_headers_get(&p.res.headers, "x-multi"), "a, b"));
    CHECK(streq(mc_headers_get(&p.res.headers, "x-folded"), "first second"));
    CHECK(mc_headers_get(&p.res.headers, "x-trailer") == NULL);
    mc_http1_parser_free(&p);
  }
  /* Content-Length to the sink: the body comes back, nothing kept */
  CHECK(parse(&p, "GET", 1, 4, "HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\n0123456789",
              7, sunk, &sl) == 0);
  CHECK(p.to_sink && sl == 10 && memcmp(sunk, "0123456789", 10) == 0 && p.res.body == NULL);
  CHECK(p.state == MC_HTTP1_S_DONE && p.keep_alive);
  mc_http1_parser_free(&p);
  /* a non-2xx stays in memory, under max_body */
  CHECK(parse(&p, "GET", 1, 4, "HTTP/1.1 404 NF\r\nContent-Length: 10\r\n\r\n0123456789",
              100, sunk, &sl) == -1);
  CHECK(p.err.code == MC_CODE_FILESIZE_EXCEEDED && strstr(p.err.message, "max_body"));
  mc_http1_parser_free(&p);
  CHECK(parse(&p, "GET", 0, 4, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n", 5, sunk, &sl) == -1);
  mc_http1_parser_free(&p);
  /* HEAD, 204, 304: no body; HTTP/1.0 or Connection: close: no reuse */
  CHECK(parse(&p, "HEAD", 0, 0, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n", 9, sunk, &sl) == 0);
  CHECK(p.state == MC_HTTP1_S_DONE && p.keep_alive && p.res.body_len == 0);
  mc_http1_parser_free(&p);
  CHECK(parse(&p, "GET", 0, 0, "HTTP/1.1 304 NM\r\nContent-Length: 50\r\n\r\n", 64, sunk, &sl) == 0);
  CHECK(p.state == MC_HTTP1_S_DONE);
  mc_http1_parser_free(&p);
  CHECK(parse(&p, "GET", 0, 0, "HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\nold!", 3, sunk, &sl) == 0);
  CHECK(p.state == MC_HTTP1_S_DONE && !p.keep_alive && streq(p.res.body, "old!"));
  mc_http1_parser_free(&p);
  CHECK(parse(&p, "GET", 0, 0, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
              64, sunk, &sl) == 0);
  CHECK(p.state == MC_HTTP1_S_DONE && !p.keep_alive);
  mc_http1_parser_free(&p);
  /* until close: done only at eof; bytes past a message end reuse */
  CHECK(parse(&p, "GET", 0, 0, "HTTP/1.1 200 OK\r\n\r\nbody until close", 4, sunk, &sl) == 0);
  CHECK(p.state == MC_HTTP1_S_CLOSE && mc_http1_parser_eof(&p) == 0);
  CHECK(p.state == MC_HTTP1_S_DONE && !p.keep_alive && streq(p.res.body, "body until close"));
  mc_http1_parser_free(&p);
  CHECK(parse(&p, "GET", 0, 0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", 64, sunk, &sl) == 0);
  CHECK(p.state == MC_HTTP1_S_DONE && !p.keep_alive && streq(p.res.body, "ok"));
  mc_http1_parser_free(&p);
  /* cut short: transient, with libcurl's codes */
  CHECK(parse(&p, "GET", 0, 0, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234", 64, sunk, &sl) == 0);
  CHECK(mc_http1_parser_want(&p) == 5);
  CHECK(mc_http1_parser_eof(&p) == -1 && p.err.kind == MC_TERR_TRANSIENT && p.err.code == MC_CODE_PARTIAL_FILE);
  mc_http1_parser_free(&p);
  CHECK(parse(&p, "GET", 0, 0, "HTTP/1.1 200", 64, sunk, &sl) == 0);
  CHECK(mc_http1_parser_eof(&p) == -1 && p.err.code == MC_CODE_RECV_ERROR);
  mc_http1_parser_free(&p);
  /* malformed: protocol errors */
  CHECK(parse(&p, "GET", 0, 0, "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", 64, sunk, &sl) == -1);
  CHECK(p.err.kind == MC_TERR_PROTOCOL && strstr(p.err.message, "Content-Length"));
  mc_http1_parser_free(&p);
  CHECK(parse(&p, "GET", 0, 0, "SSH-2.0-OpenSSH_9.0\r\n\r\n", 64, sunk, &sl) == -1);
  mc_http1_parser_free(&p);
  CHECK(parse(&p, "GET", 0, 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 64, sunk, &sl) == -1);
  CHECK(strstr(p.err.message, "chunk size") != NULL);
  mc_http1_parser_free(&p);
  CHECK(parse(&p, "GET", 0, 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", 64, sunk, &sl) == -1);
  CHECK(strstr(p.err.message, "terminator") != NULL);
  mc_http1_parser_free(&p);
  /* Transfer-Encoding without chunked last: read to close; with CL too: no reuse */
  CHECK(parse(&p, "GET", 0, 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", 64, sunk, &sl) == 0);
  CHECK(p.state == MC_HTTP1_S_CLOSE);
  mc_http1_parser_free(&p);
  CHECK(parse(&p, "GET", 0, 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
              "0\r\n\r\n", 64, sunk, &sl) == 0);
  CHECK(p.state == MC_HTTP1_S_DONE && !p.keep_alive);
  mc_http1_parser_free(&p);
}

/* Feed all of text to p as it is (no init); 0 or -1. */
static int feed_all(mc_http1_parser *p, const char *text, size_t len) {
  size_t used = 0;
  while (used < len) {
    const char *seg;
    size_t seglen;
    long n = mc_http1_parser_feed(p, text + used, len - used, &seg, &seglen);
    if (n < 0) return -1;
    used += (size_t)n;
  }
  return 0;
}

/* The tchar table against RFC 9110's definition; the header arena: blocks,
** clear, appends in place and moved. */
static void test_tchar_and_arena(void) {
  mc_headers hs;
  char name[32], value[64], big[3000];
  int c, i, ok = 1;
  for (c = 0; c < 256; c++) {
    int t = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
    int want = !t ? 0 : (c >= 'A' && c <= 'Z') ? c + 32 : c;
    if (mc_http1_tchar_lower[c] != want) ok = 0;
  }
  CHECK(ok);
  mc_headers_init(&hs);
  for (i = 0; i < 100; i++) { /* several arena blocks */
    snprintf(name, sizeof name, "X-H%d", i);
    snprintf(value, sizeof value, "value %d", i);
    CHECK(mc_headers_add(&hs, name, strlen(name), value, strlen(value)) == 0);
  }
  CHECK(hs.count == 100 && streq(mc_headers_get(&hs, "x-h0"), "value 0") &&
        streq(mc_headers_get(&hs, "X-H99"), "value 99"));
  CHECK(mc_headers_find(&hs, "x-h5", 4) == 5 && mc_headers_find(&hs, "x-h", 3) == -1);
  mc_headers_clear(&hs);
  CHECK(hs.count == 0 && mc_headers_get(&hs, "x-h0") == NULL);
  /* appends: to the last header (in place), then to an earlier one (moved) */
  CHECK(mc_headers_add(&hs, "a", 1, "1", 1) == 0 && mc_headers_add(&hs, "b", 1, "2", 1) == 0);
  CHECK(mc_headers_append(&hs, 1, 1, "3", 1) == 0 && mc_headers_append(&hs, 1, 0, "4", 1) == 0);
  CHECK(mc_headers_append(&hs, 0, 1, "5", 1) == 0 && mc_headers_append(&hs, 0, 1, "6", 1) == 0);
  CHECK(streq(mc_headers_get(&hs, "a"), "1, 5, 6") && streq(mc_headers_get(&hs, "b"), "2, 34"));
  CHECK(streq(hs.items[0].name, "a") && mc_headers_find(&hs, "A", 1) == 0);
  memset(big, 'v', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  CHECK(mc_headers_add(&hs, "big", 3, big, strlen(big)) == 0); /* a block of its own */
  CHECK(mc_headers_append(&hs, 2, 1, "w", 1) == 0);
  CHECK(strlen(mc_headers_get(&hs, "big")) == sizeof big + 2);
  CHECK(streq(mc_headers_get(&hs, "a"), "1, 5, 6"));
  mc_headers_clear(&hs); /* the large block goes */
  CHECK(mc_headers_add(&hs, "c", 1, "7", 1) == 0 && streq(mc_headers_get(&hs, "c"), "7"));
  mc_headers_free(&hs);
  mc_headers_free(&hs); /* idempotent */
}

/* A parser reused response after response keeps nothing of the last one
** but its buffers; long header names; a head cut inside a line. */
static void test_parser_reuse(void) {
  static const char one[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello";
  static const char two[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nX-B: b\r\n\r\nno";
  char longname[300], text[1200], body[70000 + 1];
  mc_http1_parser p;
  size_t n;
  int i;
  mc_http1_parser_init(&p, "GET", 0, 0);
  for (i = 0; i < 3; i++) {
    CHECK(feed_all(&p, one, strlen(one)) == 0 && p.state == MC_HTTP1_S_DONE);
    CHECK(p.res.status == 200 && streq(p.res.body, "hello") && p.res.body_len == 5);
    CHECK(streq(mc_headers_get(&p.res.headers, "x-a"), "1, 2") && p.res.headers.count == 2);
    mc_http1_parser_reuse(&p, "GET", 0, 0);
    CHECK(p.state == MC_HTTP1_S_HEAD && p.res.headers.count == 0 && p.res.body_len == 0);
    /* the second head arrives cut inside its status line, then inside a header line */
    CHECK(feed_all(&p, two, 10) == 0 && feed_all(&p, two + 10, 20) == 0);
    CHECK(feed_all(&p, two + 30, strlen(two) - 30) == 0);
    CHECK(p.res.status == 404 && streq(p.res.body, "no") && p.keep_alive);
    CHECK(mc_headers_get(&p.res.headers, "x-a") == NULL && streq(mc_headers_get(&p.res.headers, "x-b"), "b"));
    mc_http1_parser_reuse(&p, i == 2 ? "HEAD" : "GET", 0, 0);
  }
  /* after reuse("HEAD"): no body */
  CHECK(feed_all(&p, one, strlen(one) - 5) == 0 && p.state == MC_HTTP1_S_DONE && p.res.body_len == 0);
  mc_http1_parser_reuse(&p, "GET", 0, 0);
  /* a body larger than what is kept, then a small one */
  memset(body, 'b', sizeof body - 1);
  body[sizeof body - 1] = '\0';
  n = (size_t)snprintf(text, sizeof text, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", sizeof body - 1);
  CHECK(feed_all(&p, text, n) == 0 && feed_all(&p, body, sizeof body - 1) == 0);
  CHECK(p.state == MC_HTTP1_S_DONE && p.res.body_len == sizeof body - 1);
  mc_http1_parser_reuse(&p, "GET", 0, 0);
  CHECK(p.res.body == NULL && p.res.body_cap == 0);
  /* a header name longer than the stack buffer, repeated, in mixed case */
  memset(longname, 'N', 200);
  longname[200] = '\0';
  n = (size_t)snprintf(text, sizeof text, "HTTP/1.1 200 OK\r\n%s: 1\r\n%s: 2\r\nContent-Length: 0\r\n\r\n",
                       longname, longname);
  CHECK(feed_all(&p, text, n) == 0 && p.state == MC_HTTP1_S_DONE);
  memset(longname, 'n', 200);
  CHECK(streq(p.res.headers.items[0].name, longname) && streq(p.res.headers.items[0].value, "1, 2"));
  mc_http1_parser_reuse(&p, "GET", 0, 0);
  n = (size_t)snprintf(text, sizeof text, "HTTP/1.1 200 OK\r\nBad%s Name: 1\r\n\r\n", longname);
  CHECK(feed_all(&p, text, n) == -1 && strstr(p.err.message, "malformed response header line"));
  mc_http1_parser_free(&p);
}

void mc_test_http1(void) {
  test_head_lines();
  test_head_limits();
  test_values();
  test_url();
  test_request_head();
  test_parser();
  test_tchar_and_arena();
  test_parser_reuse();
}
