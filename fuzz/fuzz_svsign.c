/*
** fuzz_svsign.c — libFuzzer target for the SpareVideos signer: the
** PHP-compatible JSON writer (mc_phpjson, through mc_sv_payload) and the
** token (mc_sv_sign). Input: one field a line, "key\tvalue" (a string),
** "key\t#123" (an integer), "key\t?" / "key\t!" (true / false),
** "key\t[a\tb\t..." (a list of strings); keys and values are raw bytes.
** Invariants (round trip): a payload is either refused with a message or is
** printable ASCII (PHP escapes every non-ASCII code point and control byte)
** that cJSON reads back as an object holding exactly the fields, in order,
** with the same bytes and numbers; fields with invalid UTF-8 or NUL are
** refused; the token is base64(payload) without padding "." 64 hex digits.
*/
#include <stdint.h>

#include "fuzz_util.h"
#include "mc_crypto.h"
#include "mc_json.h"
#include "mc_phpjson.h"
#include "mc_svsign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXF 16
#define MAXI 8

typedef struct ctx {
  mc_sv_field f[MAXF];
  mc_sv_str items[MAXF][MAXI];
  char *lines[MAXF];
  size_t n;
  int utf8_bad;   /* some key or string is not valid UTF-8 or holds NUL */
} ctx;

static void check_text(ctx *c, const char *s, size_t n) {
  const char *why;
  if (mc_phpjson_check_utf8(s, n, &why) >= 0) c->utf8_bad = 1;
}

/* One field per line (see the head comment); the line is kept (fields point into it). */
static void one_line(const char *line, size_t len, void *p) {
  ctx *c = p;
  char *l, *tab, *v;
  mc_sv_field *f;
  size_t vlen;
  if (c->n == MAXF) return;
  tab = memchr(line, '\t', len);
  if (!tab) return;
  l = fuzz_copy((const uint8_t *)line, len, 1);
  c->lines[c->n] = l;
  tab = l + (tab - line);
  f = &c->f[c->n];
  memset(f, 0, sizeof *f);
  f->key = l;
  f->keylen = (size_t)(tab - l);
  check_text(c, f->key, f->keylen);
  v = tab + 1;
  vlen = len - f->keylen - 1;
  if (vlen > 0 && v[0] == '#') {
    f->kind = MC_SV_INT;
    f->i = strtoll(v + 1, NULL, 10);
  } else if (vlen == 1 && (v[0] == '?' || v[0] == '!')) {
    f->kind = MC_SV_BOOL;
    f->b = v[0] == '?';
  } else if (vlen > 0 && v[0] == '[') {
    char *s = v + 1, *end = v + vlen;
    f->kind = MC_SV_LIST;
    f->items = c->items[c->n];
    while (f->nitems < MAXI) {
      char *t = memchr(s, '\t', (size_t)(end - s));
      c->items[c->n][f->nitems].s = s;
      c->items[c->n][f->nitems].n = t ? (size_t)(t - s) : (size_t)(end - s);
      check_text(c, s, c->items[c->n][f->nitems].n);
      f->nitems++;
      if (!t) break;
      s = t + 1;
    }
  } else {
    f->kind = MC_SV_STRING;
    f->str.s = v;
    f->str.n = vlen;
    check_text(c, v, vlen);
  }
  c->n++;
}

/* The parsed item for field f matches it. */
static int same_value(const mc_sv_field *f, const cJSON *j) {
  size_t i;
  const cJSON *it;
  switch (f->kind) {
    case MC_SV_STRING:
      return cJSON_IsString(j) && strlen(j->valuestring) == f->str.n &&
             memcmp(j->valuestring, f->str.s, f->str.n) == 0;
    case MC_SV_INT:
      /* cJSON keeps numbers as doubles: compare where that is exact */
      if (!cJSON_IsNumber(j)) return 0;
      return (f->i > 9007199254740992LL || f->i < -9007199254740992LL) || j->valuedouble == (double)f->i;
    case MC_SV_BOOL:
      return f->b ? cJSON_IsTrue(j) : cJSON_IsFalse(j);
    case MC_SV_LIST:
      if (!cJSON_IsArray(j) || (size_t)cJSON_GetArraySize(j) != f->nitems) return 0;
      for (i = 0, it = j->child; it; it = it->next, i++)
        if (!cJSON_IsString(it) || strlen(it->valuestring) != f->items[i].n ||
            memcmp(it->valuestring, f->items[i].s, f->items[i].n) != 0) return 0;
      return 1;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ctx c;
  char err[200], perr[160];
  char *json = NULL, *token = NULL;
  size_t len = 0, tlen = 0, i;
  memset(&c, 0, sizeof c);
  fuzz_lines(data, size, one_line, &c);
  if (mc_sv_payload(c.f, c.n, &json, &len, err, sizeof err) != 0) {
    FUZZ_REQUIRE(err[0] != '\0');
  } else {
    cJSON *doc, *it;
    FUZZ_REQUIRE(!c.utf8_bad);
    for (i = 0; i < len; i++)
      FUZZ_REQUIRE((unsigned char)json[i] >= 0x20 && (unsigned char)json[i] < 0x80);
    doc = mc_json_parse(json, len, 0, perr, sizeof perr);
    FUZZ_REQUIRE(doc != NULL && (cJSON_IsObject(doc) || (c.n == 0 && cJSON_IsArray(doc))));
    for (i = 0, it = doc->child; it; it = it->next, i++) {
      FUZZ_REQUIRE(i < c.n);
      FUZZ_REQUIRE(strlen(it->string) == c.f[i].keylen && memcmp(it->string, c.f[i].key, c.f[i].keylen) == 0);
      FUZZ_REQUIRE(same_value(&c.f[i], it));
    }
    FUZZ_REQUIRE(i == c.n);
    cJSON_Delete(doc);
    if (mc_sv_sign(c.f, c.n, "private-key", 11, &token, &tlen, err, sizeof err) == 0) {
      char *b64 = malloc(mc_base64_encoded_size(len));
      size_t blen;
      FUZZ_REQUIRE(b64 != NULL);
      blen = mc_base64_encode((const unsigned char *)json, len, b64, 0);
      while (blen > 0 && b64[blen - 1] == '=') blen--;
      FUZZ_REQUIRE(tlen == blen + 1 + 64 && memcmp(token, b64, blen) == 0 && token[blen] == '.');
      for (i = blen + 1; i < tlen; i++) FUZZ_REQUIRE(strchr("0123456789abcdef", token[i]) != NULL);
      free(b64);
      free(token);
    }
    free(json);
  }
  for (i = 0; i < c.n; i++) free(c.lines[i]);
  return 0;
}
