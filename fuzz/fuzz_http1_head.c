/*
** fuzz_http1_head.c — libFuzzer target for mc_http1_head_line, the one
** response-head line rule (libcurl's header callback and the byte parser
** both use it): status lines, "Name: value" lines, obs-fold, 1xx heads,
** trailers, size limits; and mc_http1_content_length on what it stored.
** Input: response-head bytes split at '\n'; byte 0 picks http1_only.
** Invariants: a result is -1 (with a message and a transport kind), 0 or 1;
** after 1, the status is 101 or 200..999; every stored name is a non-empty
** lower-case token and every value a valid field value (no CR, LF, NUL),
** trimmed; Content-Length is -2, -1 or a length below 10^15.
*/
#include "fuzz_util.h"
#include "mc_http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct ctx {
  mc_http1_head head;
  int failed, completed;
} ctx;

/* One line, until the head fails. */
static void one_line(const char *line, size_t len, void *p) {
  ctx *c = p;
  mc_http1_error err;
  int r;
  if (c->failed) return;
  memset(&err, 0, sizeof err);
  r = mc_http1_head_line(&c->head, line, len, &err);
  FUZZ_REQUIRE(r == -1 || r == 0 || r == 1);
  if (r == -1) {
    FUZZ_REQUIRE(err.message[0] != '\0' && err.kind != MC_TERR_NONE);
    c->failed = 1;
  } else if (r == 1) {
    FUZZ_REQUIRE(c->head.status == 101 || (c->head.status >= 200 && c->head.status <= 999));
    c->completed = 1;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ctx c;
  mc_headers hs;
  size_t i, j;
  int64_t cl;
  if (size == 0) return 0;
  mc_headers_init(&hs);
  memset(&c, 0, sizeof c);
  mc_http1_head_init(&c.head, &hs, data[0] & 1);
  fuzz_lines(data + 1, size - 1, one_line, &c);
  for (i = 0; i < hs.count; i++) {
    const char *n = hs.items[i].name, *v = hs.items[i].value;
    size_t nl = strlen(n), vl = strlen(v);
    FUZZ_REQUIRE(nl > 0 && mc_http1_is_token(n, nl));
    for (j = 0; j < nl; j++) FUZZ_REQUIRE(!(n[j] >= 'A' && n[j] <= 'Z'));
    FUZZ_REQUIRE(mc_http1_is_field_value(v, vl));
    FUZZ_REQUIRE(vl == 0 || (v[0] != ' ' && v[0] != '\t'));
  }
  cl = mc_http1_content_length(mc_headers_get(&hs, "content-length"));
  FUZZ_REQUIRE(cl >= -2 && cl < 1000000000000000LL);
  mc_headers_free(&hs);
  return 0;
}
