/*
** fuzz_http1_request.c — libFuzzer target for the request side of mc_http1:
** the absolute-URL split (mc_http1_parse_url), the token and field-value
** checks, and the request head written for the resty transport
** (mc_http1_write_head). Input: "URL\nName: value\n..." (header lines after
** the URL). Invariants: a URL is either refused with a reason or split into
** a lower-case host, a port in 1..65535 and a Host authority; the head is
** written in full when given the size it asked for, starts with the request
** line, ends with an empty line, and holds CR/LF only as line ends (a header
** that could split the head is never written).
*/
#include "fuzz_util.h"
#include "mc_http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct ctx {
  mc_request req;
  char *url;
  int first;
} ctx;

/* The first line is the URL, the others header lines ("Name: value"). */
static void one_line(const char *line, size_t len, void *p) {
  ctx *c = p;
  const char *colon;
  if (c->first) {
    c->url = fuzz_copy((const uint8_t *)line, len, 1);
    c->first = 0;
    return;
  }
  colon = memchr(line, ':', len);
  if (!colon) return;
  /* the binding checks each header once, when it reads req: do the same */
  if (!mc_http1_is_token(line, (size_t)(colon - line))) return;
  if (!mc_http1_is_field_value(colon + 1, len - (size_t)(colon + 1 - line))) return;
  mc_headers_add(&c->req.headers, line, (size_t)(colon - line), colon + 1,
                 len - (size_t)(colon + 1 - line));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ctx c;
  mc_http1_url u;
  const char *what = NULL;
  size_t need, n, i;
  char *head;
  memset(&c, 0, sizeof c);
  mc_request_init(&c.req);
  c.first = 1;
  fuzz_lines(data, size, one_line, &c);
  if (!c.url) c.url = fuzz_copy(data, 0, 1);
  if (mc_http1_parse_url(c.url, &u, &what) != 0) {
    FUZZ_REQUIRE(what != NULL && what[0] != '\0');
  } else {
    FUZZ_REQUIRE(u.port >= 1 && u.port <= 65535);
    for (i = 0; u.host[i]; i++) FUZZ_REQUIRE(!(u.host[i] >= 'A' && u.host[i] <= 'Z'));
    FUZZ_REQUIRE(u.authority[0] != '\0');
    c.req.url = c.url;
    c.req.method = (size & 1) ? "POST" : "GET";
    need = mc_http1_write_head(&c.req, &u, (int64_t)(size % 3) - 1, NULL, 0);
    head = malloc(need + 1);
    FUZZ_REQUIRE(head != NULL);
    n = mc_http1_write_head(&c.req, &u, (int64_t)(size % 3) - 1, head, need + 1);
    FUZZ_REQUIRE(n == need && n >= 4);
    FUZZ_REQUIRE(memcmp(head + n - 4, "\r\n\r\n", 4) == 0);
    FUZZ_REQUIRE(memcmp(head, c.req.method, strlen(c.req.method)) == 0);
    for (i = 0; i < n; i++) {
      if (head[i] == '\r') FUZZ_REQUIRE(i + 1 < n && head[i + 1] == '\n');
      if (head[i] == '\n') FUZZ_REQUIRE(i > 0 && head[i - 1] == '\r');
      FUZZ_REQUIRE(head[i] != '\0');
    }
    free(head);
  }
  c.req.url = NULL;
  mc_request_free(&c.req);
  free(c.url);
  return 0;
}
