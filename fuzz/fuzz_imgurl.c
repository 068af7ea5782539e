/*
** fuzz_imgurl.c — libFuzzer target for the Sirv image-URL builder
** (mc_imgurl: option table, value checks and formatting, path encoding, the
** URL writer) and the JWT of a protected URL (mc_imgurl_token over mc_jwt).
** Input: byte 0 = flags (bit 0 strict, bit 1 path already encoded, bit 2 also
** sign); then lines: the base URL, the path, then options "name=value" where
** "#1.5" is a number, "?" / "!" true / false, anything else a string.
** Invariants: each step succeeds or fails with a message; the URL is written
** in full when given the size it asked for, starts with the base (less its
** trailing slashes) and holds
** no space, control byte or non-ASCII byte (everything is escaped); a token
** is three base64url parts whose payload is a JSON object with "aud".
*/
#include <math.h>

#include "fuzz_util.h"
#include "mc_crypto.h"
#include "mc_imgurl.h"
#include "mc_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct ctx {
  char *base, *path;
  size_t baselen, pathlen;
  mc_imgopt opts[MC_IMGURL_MAX_OPTS];
  size_t n;
  char *keep[MC_IMGURL_MAX_OPTS];
  int line;
} ctx;

static void one_line(const char *line, size_t len, void *p) {
  ctx *c = p;
  const char *eq;
  mc_imgopt *o;
  char *v;
  size_t nl;
  if (c->line == 0) {
    c->base = fuzz_copy((const uint8_t *)line, len, 1);
    c->baselen = len;
  } else if (c->line == 1) {
    c->path = fuzz_copy((const uint8_t *)line, len, 1);
    c->pathlen = len;
  } else if (c->n < MC_IMGURL_MAX_OPTS && (eq = memchr(line, '=', len)) != NULL &&
             (nl = (size_t)(eq - line)) <= MC_IMGURL_NAME_MAX) {
    o = &c->opts[c->n];
    memset(o, 0, sizeof *o);
    memcpy(o->given, line, nl);
    o->given[nl] = '\0';
    o->givenlen = nl;
    v = fuzz_copy((const uint8_t *)eq + 1, len - nl - 1, 1);
    c->keep[c->n] = v;
    if (v[0] == '#') {
      o->kind = MC_IMGV_NUMBER;
      o->num = strtod(v + 1, NULL);
    } else if ((v[0] == '?' || v[0] == '!') && v[1] == '\0') {
      o->kind = MC_IMGV_BOOL;
      o->boolean = v[0] == '?';
    } else {
      o->kind = MC_IMGV_STRING;
      o->str = v;
      o->len = len - nl - 1;
    }
    c->n++;
  }
  c->line++;
}

/* A base64url part [s, s+n) decoded (NUL-terminated; free()), or NULL. */
static char *b64url_part(const char *s, size_t n) {
  unsigned char *out = malloc(n * 3 / 4 + 4);
  long m;
  FUZZ_REQUIRE(out != NULL);
  m = mc_base64_decode(s, n, out);
  if (m < 0) {
    free(out);
    return NULL;
  }
  out[m] = '\0';
  return (char *)out;
}

static void check_token(const char *tok, size_t tl) {
  const char *d1 = memchr(tok, '.', tl), *d2;
  char *payload, err[160];
  cJSON *doc;
  FUZZ_REQUIRE(d1 != NULL);
  d2 = memchr(d1 + 1, '.', tl - (size_t)(d1 + 1 - tok));
  FUZZ_REQUIRE(d2 != NULL && memchr(d2 + 1, '.', tl - (size_t)(d2 + 1 - tok)) == NULL);
  payload = b64url_part(d1 + 1, (size_t)(d2 - d1 - 1));
  FUZZ_REQUIRE(payload != NULL);
  doc = mc_json_parse(payload, strlen(payload), 0, err, sizeof err);
  FUZZ_REQUIRE(doc != NULL && cJSON_IsObject(doc) && cJSON_IsString(cJSON_GetObjectItem(doc, "aud")));
  cJSON_Delete(doc);
  free(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ctx c;
  char err[320];
  unsigned flags;
  size_t n, need, got, i;
  char *url;
  if (size == 0) return 0;
  memset(&c, 0, sizeof c);
  flags = data[0] & 3;
  fuzz_lines(data + 1, size - 1, one_line, &c);
  if (!c.base || !c.path) goto done;
  n = c.n;
  err[0] = '\0';
  if (mc_imgurl_normalize(c.opts, &n, flags, err, sizeof err) != 0) {
    FUZZ_REQUIRE(err[0] != '\0');
    goto done;
  }
  FUZZ_REQUIRE(n <= c.n);
  for (i = 0; i < n; i++) {
    size_t tl;
    const char *t = mc_imgurl_opt_text(&c.opts[i], &tl);
    FUZZ_REQUIRE(t != NULL);
    /* a formatted number, flag or colour lives in the option's own buffer */
    if (t >= c.opts[i].buf && t < c.opts[i].buf + sizeof c.opts[i].buf)
      FUZZ_REQUIRE(t + tl < c.opts[i].buf + sizeof c.opts[i].buf && t[tl] == '\0');
  }
  if (mc_imgurl_check(c.base, c.baselen, c.path, c.pathlen, flags, err, sizeof err) != 0) {
    FUZZ_REQUIRE(err[0] != '\0');
    goto done;
  }
  need = mc_imgurl_write(NULL, 0, c.base, c.baselen, c.path, c.pathlen, flags, NULL, c.opts, n);
  url = malloc(need + 1);
  FUZZ_REQUIRE(url != NULL);
  got = mc_imgurl_write(url, need + 1, c.base, c.baselen, c.path, c.pathlen, flags, NULL, c.opts, n);
  FUZZ_REQUIRE(got == need && url[need] == '\0' && strlen(url) == need);
  {
    size_t bl = c.baselen;   /* the writer drops the base's trailing slashes */
    while (bl > 0 && c.base[bl - 1] == '/') bl--;
    FUZZ_REQUIRE(need >= bl && memcmp(url, c.base, bl) == 0);
  }
  for (i = 0; i < need; i++)
    FUZZ_REQUIRE((unsigned char)url[i] > 0x20 && (unsigned char)url[i] < 0x7f);
  free(url);
  if (data[0] & 4) {
    char aud[4096 + 2], small[8];
    long tl;
    size_t al;
    if (c.pathlen > 4096) goto done;
    al = mc_imgurl_plain_path(c.path, c.pathlen, flags, aud);
    tl = mc_imgurl_token(small, sizeof small, "key", 3, aud, al, 1000, 2000, c.opts, n, err, sizeof err);
    if (tl < 0) {
      FUZZ_REQUIRE(err[0] != '\0');
    } else {
      char *tok = malloc((size_t)tl + 1);
      FUZZ_REQUIRE(tok != NULL);
      FUZZ_REQUIRE(mc_imgurl_token(tok, (size_t)tl + 1, "key", 3, aud, al, 1000, 2000, c.opts, n, err,
                                   sizeof err) == tl);
      check_token(tok, (size_t)tl);
      free(tok);
    }
  }
done:
  for (i = 0; i < c.n; i++) free(c.keep[i]);
  free(c.base);
  free(c.path);
  return 0;
}
