/*
** test_sparevideos.c — unit tests of the SpareVideos signer: every vector of
** sparevideos-api.md §2.6/§2.7 (computed with PHP 8.2) and the json_encode rules
** of §2.2, plus the refusals (invalid UTF-8, NUL, bad types, bad expires).
** Called from test_core.c's main through test_sparevideos().
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_phpjson.h"
#include "mc_svsign.h"
#include "mc_url.h"

#include "mc_tests.h"


#define PUB "demo_public_key_1"
#define PRIV "demo_private_key_0123456789abcdef"
#define CODE "1488633857-11PYNC"

static mc_sv_field S(const char *k, const char *v) {
  mc_sv_field f;
  memset(&f, 0, sizeof f);
  f.key = k;
  f.keylen = strlen(k);
  f.kind = MC_SV_STRING;
  f.str.s = v;
  f.str.n = strlen(v);
  return f;
}

static mc_sv_field I(const char *k, long long v) {
  mc_sv_field f;
  memset(&f, 0, sizeof f);
  f.key = k;
  f.keylen = strlen(k);
  f.kind = MC_SV_INT;
  f.i = v;
  return f;
}

static mc_sv_field B(const char *k, int v) {
  mc_sv_field f;
  memset(&f, 0, sizeof f);
  f.key = k;
  f.keylen = strlen(k);
  f.kind = MC_SV_BOOL;
  f.b = v;
  return f;
}

static mc_sv_field L(const char *k, const mc_sv_str *items, size_t n) {
  mc_sv_field f;
  memset(&f, 0, sizeof f);
  f.key = k;
  f.keylen = strlen(k);
  f.kind = MC_SV_LIST;
  f.items = items;
  f.nitems = n;
  return f;
}

/* payload JSON and token of fields must equal the PHP values */
static void vector(const mc_sv_field *f, size_t n, const char *want_json, const char *want_token) {
  char *json = NULL, *tok = NULL, err[200] = "";
  size_t jl = 0, tl = 0;
  CHECK(mc_sv_payload(f, n, &json, &jl, err, sizeof err) == 0);
  CHECK(json && jl == strlen(want_json) && strcmp(json, want_json) == 0);
  if (json && strcmp(json, want_json) != 0) fprintf(stderr, "  got  %s\n  want %s\n", json, want_json);
  CHECK(mc_sv_sign(f, n, PRIV, strlen(PRIV), &tok, &tl, err, sizeof err) == 0);
  CHECK(tok && tl == strlen(want_token) && strcmp(tok, want_token) == 0);
  if (tok && strcmp(tok, want_token) != 0) fprintf(stderr, "  got  %s\n  want %s\n", tok, want_token);
  free(json);
  free(tok);
}

static void test_vectors(void) {
  mc_sv_str codes[2] = { { "1484846059-40SVCC", 17 }, { "1484906398-ll6ssC", 17 } };
  /* §2.6 upload/initiate */
  mc_sv_field v1[] = { S("algo", "sha256"), S("method", "upload"), S("action", "initiate"),
                       S("public_key", PUB), I("expires", 1700000000) };
  mc_sv_field v2[] = { S("algo", "sha256"), S("method", "file"), S("action", "get"), S("file_code", CODE),
                       S("public_key", PUB), I("expires", 1700000000) };
  mc_sv_field v3[] = { S("algo", "sha256"), S("method", "upload"), S("action", "convert"), S("file_code", CODE),
                       S("public_key", PUB), I("expires", 1700000000) };
  mc_sv_field v4[] = { S("algo", "sha256"), S("method", "upload"), S("action", "convert"), S("file_code", CODE),
                       S("public_key", PUB), I("expires", 1700000000), B("convert_sd_only", 1),
                       B("convert_mp4_only", 0) };
  mc_sv_field v5[] = { S("algo", "sha256"), S("method", "file"), S("action", "update"), S("file_code", CODE),
                       S("public_key", PUB), S("thumbnail", "1488633857-11PYNC_720_02.jpg"),
                       I("expires", 1700000000) };
  mc_sv_field v6a[] = { S("algo", "sha256"), S("method", "files"), S("action", "get"), S("public_key", PUB),
                        I("expires", 1700000000) };
  mc_sv_field v6b[] = { S("algo", "sha256"), S("method", "files"), S("action", "delete"), S("public_key", PUB),
                        I("expires", 1700000000), L("codes", codes, 2) };
  mc_sv_field v7[] = { S("algo", "sha256"), S("method", "file"), S("action", "update"), S("file_code", CODE),
                       S("public_key", PUB), S("thumbnail", "a/b\xc3\xa9>~?"), I("expires", 1700000000) };
  vector(v1, 5,
    "{\"algo\":\"sha256\",\"method\":\"upload\",\"action\":\"initiate\",\"public_key\":\"demo_public_key_1\",\"expires\":1700000000}",
    "eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoidXBsb2FkIiwiYWN0aW9uIjoiaW5pdGlhdGUiLCJwdWJsaWNfa2V5IjoiZGVtb19wdWJsaWNfa2V5XzEiLCJleHBpcmVzIjoxNzAwMDAwMDAwfQ.6be6fe40130c61175aef3343bac3b73480dde90d1d48f1e077b8ba5688e6c75d");
  vector(v2, 6,
    "{\"algo\":\"sha256\",\"method\":\"file\",\"action\":\"get\",\"file_code\":\"1488633857-11PYNC\",\"public_key\":\"demo_public_key_1\",\"expires\":1700000000}",
    "eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoiZmlsZSIsImFjdGlvbiI6ImdldCIsImZpbGVfY29kZSI6IjE0ODg2MzM4NTctMTFQWU5DIiwicHVibGljX2tleSI6ImRlbW9fcHVibGljX2tleV8xIiwiZXhwaXJlcyI6MTcwMDAwMDAwMH0.e78e5d35d7d25d120d203883f371812adec40ff99c2f71396c991ee133381fcf");
  vector(v3, 6,
    "{\"algo\":\"sha256\",\"method\":\"upload\",\"action\":\"convert\",\"file_code\":\"1488633857-11PYNC\",\"public_key\":\"demo_public_key_1\",\"expires\":1700000000}",
    "eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoidXBsb2FkIiwiYWN0aW9uIjoiY29udmVydCIsImZpbGVfY29kZSI6IjE0ODg2MzM4NTctMTFQWU5DIiwicHVibGljX2tleSI6ImRlbW9fcHVibGljX2tleV8xIiwiZXhwaXJlcyI6MTcwMDAwMDAwMH0.88954b5cdf4a91b9191bb6d79a5fe90cb7dcda00af076091cf5026ae50bb612f");
  vector(v4, 8,
    "{\"algo\":\"sha256\",\"method\":\"upload\",\"action\":\"convert\",\"file_code\":\"1488633857-11PYNC\",\"public_key\":\"demo_public_key_1\",\"expires\":1700000000,\"convert_sd_only\":true,\"convert_mp4_only\":false}",
    "eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoidXBsb2FkIiwiYWN0aW9uIjoiY29udmVydCIsImZpbGVfY29kZSI6IjE0ODg2MzM4NTctMTFQWU5DIiwicHVibGljX2tleSI6ImRlbW9fcHVibGljX2tleV8xIiwiZXhwaXJlcyI6MTcwMDAwMDAwMCwiY29udmVydF9zZF9vbmx5Ijp0cnVlLCJjb252ZXJ0X21wNF9vbmx5IjpmYWxzZX0.bdf545937aaa7f0f3001dd72ba692219a7ef22d2e5134f5fdfa38a4fc8fca3ba");
  vector(v5, 7,
    "{\"algo\":\"sha256\",\"method\":\"file\",\"action\":\"update\",\"file_code\":\"1488633857-11PYNC\",\"public_key\":\"demo_public_key_1\",\"thumbnail\":\"1488633857-11PYNC_720_02.jpg\",\"expires\":1700000000}",
    "eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoiZmlsZSIsImFjdGlvbiI6InVwZGF0ZSIsImZpbGVfY29kZSI6IjE0ODg2MzM4NTctMTFQWU5DIiwicHVibGljX2tleSI6ImRlbW9fcHVibGljX2tleV8xIiwidGh1bWJuYWlsIjoiMTQ4ODYzMzg1Ny0xMVBZTkNfNzIwXzAyLmpwZyIsImV4cGlyZXMiOjE3MDAwMDAwMDB9.6b7c5ca0e726bc1a27f7726fde9aa94bfd292cb6191d11ec4223ce12ade89f30");
  vector(v6a, 5,
    "{\"algo\":\"sha256\",\"method\":\"files\",\"action\":\"get\",\"public_key\":\"demo_public_key_1\",\"expires\":1700000000}",
    "eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoiZmlsZXMiLCJhY3Rpb24iOiJnZXQiLCJwdWJsaWNfa2V5IjoiZGVtb19wdWJsaWNfa2V5XzEiLCJleHBpcmVzIjoxNzAwMDAwMDAwfQ.c0abfb22eb45659d36e976b8a6cf1e892ea4155aac33ee691036da7891010f43");
  vector(v6b, 6,
    "{\"algo\":\"sha256\",\"method\":\"files\",\"action\":\"delete\",\"public_key\":\"demo_public_key_1\",\"expires\":1700000000,\"codes\":[\"1484846059-40SVCC\",\"1484906398-ll6ssC\"]}",
    "eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoiZmlsZXMiLCJhY3Rpb24iOiJkZWxldGUiLCJwdWJsaWNfa2V5IjoiZGVtb19wdWJsaWNfa2V5XzEiLCJleHBpcmVzIjoxNzAwMDAwMDAwLCJjb2RlcyI6WyIxNDg0ODQ2MDU5LTQwU1ZDQyIsIjE0ODQ5MDYzOTgtbGw2c3NDIl19.a05da10be5b76533a4e3724915ab24b0498a6f252f7f7f11fc83cdecf26eb9bc");
  vector(v7, 7,
    "{\"algo\":\"sha256\",\"method\":\"file\",\"action\":\"update\",\"file_code\":\"1488633857-11PYNC\",\"public_key\":\"demo_public_key_1\",\"thumbnail\":\"a\\/b\\u00e9>~?\",\"expires\":1700000000}",
    "eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoiZmlsZSIsImFjdGlvbiI6InVwZGF0ZSIsImZpbGVfY29kZSI6IjE0ODg2MzM4NTctMTFQWU5DIiwicHVibGljX2tleSI6ImRlbW9fcHVibGljX2tleV8xIiwidGh1bWJuYWlsIjoiYVwvYlx1MDBlOT5+PyIsImV4cGlyZXMiOjE3MDAwMDAwMDB9"
    ".8394bf37b8321e3c59a722265138d7fe954ab7ee8d971de476d386b2e80d592d");
  {
    /* V7 on the wire: the '+' of the base64 is percent-encoded; '.' and hex are not.
    ** (The excerpt in §2.7 reads "YlwvYlx1..." where its own P line has "YVwvYlx1...":
    ** a typo in the excerpt; P and H are the PHP values.) */
    char *tok = NULL, err[200], esc[1024];
    size_t tl = 0, el;
    CHECK(mc_sv_sign(v7, 7, PRIV, strlen(PRIV), &tok, &tl, err, sizeof err) == 0);
    el = tok ? mc_url_escape(tok, tl, esc, sizeof esc) : 0;
    CHECK(el < sizeof esc && strstr(esc, "YVwvYlx1MDBlOT5%2BPyIsImV4cGlyZXMiOjE3MDAwMDAwMDB9.8394bf37") != NULL);
    CHECK(el > 4 && strcmp(esc + el - 4, "592d") == 0);
    free(tok);
  }
  {
    /* V8, the pitfall: expires quoted gives a different token; the signer refuses
    ** a string expires, and mc_sv_sign_json reproduces PHP's token for those bytes */
    const char *j8 = "{\"algo\":\"sha256\",\"method\":\"upload\",\"action\":\"initiate\",\"public_key\":\"demo_public_key_1\",\"expires\":\"1700000000\"}";
    mc_sv_field v8[] = { S("algo", "sha256"), S("method", "upload"), S("action", "initiate"),
                         S("public_key", PUB), S("expires", "1700000000") };
    char *tok = NULL, *json = NULL, err[200] = "";
    size_t tl = 0, jl = 0;
    CHECK(mc_sv_sign_json(j8, strlen(j8), PRIV, strlen(PRIV), &tok, &tl, err, sizeof err) == 0);
    CHECK(tok && strcmp(tok, "eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoidXBsb2FkIiwiYWN0aW9uIjoiaW5pdGlhdGUiLCJwdWJsaWNfa2V5IjoiZGVtb19wdWJsaWNfa2V5XzEiLCJleHBpcmVzIjoiMTcwMDAwMDAwMCJ9.9ab9c3040ee45e758492d68ccd8f15849302aec04ed146f5a06ba2ab2f879f23") == 0);
    free(tok);
    CHECK(mc_sv_payload(v8, 5, &json, &jl, err, sizeof err) == -1 && json == NULL);
    CHECK(strstr(err, "fields[5] ('expires')") != NULL && strstr(err, "integer") != NULL);
    /* the integer form is emitted unquoted */
    CHECK(mc_sv_payload(v1, 5, &json, &jl, err, sizeof err) == 0 && strstr(json, "\"expires\":1700000000}") != NULL);
    free(json);
  }
}

/* the PHP json_encode of one string value, or NULL (err) */
static char *enc(const char *s, size_t n, char *err) {
  mc_phpjson w;
  char *out;
  mc_phpjson_init(&w);
  mc_phpjson_string(&w, s, n);
  if (w.failed) {
    strcpy(err, w.err);
    mc_phpjson_free(&w);
    return NULL;
  }
  out = w.buf;
  return out;
}

static int enc_is(const char *s, size_t n, const char *want) {
  char err[200];
  char *got = enc(s, n, err);
  int ok = got && strcmp(got, want) == 0;
  if (!ok) fprintf(stderr, "  enc: got %s want %s\n", got ? got : err, want);
  free(got);
  return ok;
}

static void test_encoding(void) {
  char err[200];
  mc_phpjson w;
  /* §2.2, string escapes */
  CHECK(enc_is("a/b", 3, "\"a\\/b\""));
  CHECK(enc_is("q\"b\\s", 5, "\"q\\\"b\\\\s\""));
  CHECK(enc_is("\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\""));
  CHECK(enc_is("\x01\x1f", 2, "\"\\u0001\\u001f\""));
  CHECK(enc_is("\x7f<>&'", 5, "\"\x7f<>&'\""));
  CHECK(enc_is("\xc3\xa9", 2, "\"\\u00e9\""));                      /* lower-case hex */
  CHECK(enc_is("\xe2\x82\xac", 3, "\"\\u20ac\""));                  /* € */
  CHECK(enc_is("\xef\xbf\xbf", 3, "\"\\uffff\""));
  CHECK(enc_is("\xf0\x9f\x98\x80", 4, "\"\\ud83d\\ude00\""));       /* 😀: a surrogate pair */
  CHECK(enc_is("\xf4\x8f\xbf\xbf", 4, "\"\\udbff\\udfff\""));       /* U+10FFFF */
  CHECK(enc_is("", 0, "\"\""));
  /* refusals: invalid UTF-8 of every kind, and NUL */
  CHECK(enc("\xc0\x80", 2, err) == NULL && strstr(err, "invalid UTF-8 at byte 1"));     /* overlong */
  CHECK(enc("ab\xe0\x80\xaf", 5, err) == NULL && strstr(err, "invalid UTF-8 at byte 3")); /* overlong / */
  CHECK(enc("\xed\xa0\x80", 3, err) == NULL && strstr(err, "invalid UTF-8"));           /* a surrogate */
  CHECK(enc("\xf4\x90\x80\x80", 4, err) == NULL && strstr(err, "invalid UTF-8"));       /* > U+10FFFF */
  CHECK(enc("x\xe2\x82", 3, err) == NULL && strstr(err, "invalid UTF-8 at byte 2"));    /* truncated */
  CHECK(enc("\x80", 1, err) == NULL && strstr(err, "invalid UTF-8"));                   /* lone continuation */
  CHECK(enc("\xff", 1, err) == NULL && strstr(err, "invalid UTF-8"));
  CHECK(enc("a\0b", 3, err) == NULL && strstr(err, "NUL byte at byte 2"));
  /* integers, booleans, lists, insertion order, compactness */
  mc_phpjson_init(&w);
  mc_phpjson_begin_object(&w);
  mc_phpjson_key(&w, "z", 1);
  mc_phpjson_int(&w, -42);
  mc_phpjson_key(&w, "a", 1);
  mc_phpjson_int(&w, 9007199254740993LL);
  mc_phpjson_key(&w, "t", 1);
  mc_phpjson_bool(&w, 1);
  mc_phpjson_key(&w, "f", 1);
  mc_phpjson_bool(&w, 0);
  mc_phpjson_key(&w, "l", 1);
  mc_phpjson_begin_array(&w);
  mc_phpjson_string(&w, "x/y", 3);
  mc_phpjson_string(&w, "\xc3\xa9", 2);
  mc_phpjson_end_array(&w);
  mc_phpjson_key(&w, "e", 1);
  mc_phpjson_begin_array(&w);
  mc_phpjson_end_array(&w);
  mc_phpjson_end_object(&w);
  CHECK(!w.failed && strcmp(w.buf, "{\"z\":-42,\"a\":9007199254740993,\"t\":true,\"f\":false,"
                                   "\"l\":[\"x\\/y\",\"\\u00e9\"],\"e\":[]}") == 0);
  mc_phpjson_free(&w);
  /* structural misuse is refused, not written */
  mc_phpjson_init(&w);
  mc_phpjson_begin_object(&w);
  CHECK(mc_phpjson_string(&w, "v", 1) == -1 && strstr(w.err, "without a key"));
  mc_phpjson_free(&w);
  mc_phpjson_init(&w);
  mc_phpjson_begin_array(&w);
  CHECK(mc_phpjson_key(&w, "k", 1) == -1 && strstr(w.err, "outside an object"));
  mc_phpjson_free(&w);
  mc_phpjson_init(&w);
  mc_phpjson_begin_array(&w);
  CHECK(mc_phpjson_end_object(&w) == -1 && strstr(w.err, "unbalanced"));
  mc_phpjson_free(&w);
}

/* one bad field set: mc_sv_sign refuses it and the message has `want` */
static int refused(const mc_sv_field *f, size_t n, const char *key, const char *want) {
  char *tok = NULL, err[200] = "";
  size_t tl = 0;
  int rc = mc_sv_sign(f, n, key, strlen(key), &tok, &tl, err, sizeof err);
  int ok = rc == -1 && tok == NULL && strstr(err, want) != NULL;
  if (!ok) fprintf(stderr, "  refused: rc=%d err=%s want %s\n", rc, err, want);
  free(tok);
  return ok;
}

static void test_refusals(void) {
  mc_sv_str none[1] = { { "x", 1 } };
  mc_sv_str bad_items[2] = { { "ok", 2 }, { "b\xffz", 3 } };
  mc_sv_field nul[] = { S("algo", "sha256"), { "file_code", 9, MC_SV_STRING, { "ab\0cd", 5 }, 0, 0, NULL, 0 } };
  mc_sv_field utf[] = { S("algo", "sha256"), S("thumbnail", "bad\xc3(") };
  mc_sv_field dup[] = { S("algo", "sha256"), S("method", "file"), S("method", "files") };
  mc_sv_field algo[] = { S("algo", "sha512") };
  mc_sv_field neg[] = { S("algo", "sha256"), I("expires", -1) };
  mc_sv_field empty_list[] = { L("codes", none, 0) };
  mc_sv_field bad_list[] = { L("codes", bad_items, 2) };
  mc_sv_field badkind[] = { S("algo", "sha256"), S("x", "y") };
  mc_sv_field emptykey[] = { S("", "y") };
  mc_sv_field secret[] = { S("public_key", "s3cr3t-value\xff") };
  char *tok = NULL, err[200] = "";
  size_t tl = 0;
  badkind[1].kind = (mc_sv_kind)0;
  CHECK(refused(nul, 2, PRIV, "fields[2] ('file_code'): the value has NUL byte at byte 3"));
  CHECK(refused(utf, 2, PRIV, "fields[2] ('thumbnail'): the value has invalid UTF-8 at byte 4"));
  CHECK(refused(dup, 3, PRIV, "fields[3] ('method'): duplicate key (also fields[2])"));
  CHECK(refused(algo, 1, PRIV, "only algo \"sha256\""));
  CHECK(refused(neg, 2, PRIV, "fields[2] ('expires'): expires must be a non-negative integer"));
  CHECK(refused(empty_list, 1, PRIV, "fields[1] ('codes'): a list must not be empty"));
  CHECK(refused(bad_list, 1, PRIV, "fields[1] ('codes'): item 2 has invalid UTF-8 at byte 2"));
  CHECK(refused(badkind, 2, PRIV, "fields[2] ('x'): unsupported value type"));
  CHECK(refused(emptykey, 1, PRIV, "fields[1]: the key must be a non-empty string"));
  CHECK(refused(badkind, 0, PRIV, "at least one field"));
  CHECK(refused(algo, 1, "", "private_key must be a non-empty string"));
  /* a message never repeats a value (it may be secret) */
  CHECK(mc_sv_sign(secret, 1, PRIV, strlen(PRIV), &tok, &tl, err, sizeof err) == -1);
  CHECK(strstr(err, "s3cr3t") == NULL && strstr(err, "fields[1] ('public_key')") != NULL);
  /* a fresh expires gives a different token (per-attempt signing relies on it) */
  {
    mc_sv_field a[] = { S("algo", "sha256"), I("expires", 1700000000) };
    mc_sv_field b[] = { S("algo", "sha256"), I("expires", 1700000001) };
    char *ta = NULL, *tb = NULL;
    CHECK(mc_sv_sign(a, 2, PRIV, strlen(PRIV), &ta, &tl, err, sizeof err) == 0);
    CHECK(mc_sv_sign(b, 2, PRIV, strlen(PRIV), &tb, &tl, err, sizeof err) == 0);
    CHECK(ta && tb && strcmp(ta, tb) != 0);
    free(ta);
    free(tb);
  }
}

void mc_test_sparevideos(void) {
  test_vectors();
  test_encoding();
  test_refusals();
}
