/*
** test_imgurl.c — unit tests of the Sirv image-URL builder (mc_imgurl) and the
** HS256 JWT writer (mc_jwt). Run from test_core.c's main through
** mc_test_imgurl(); no Lua, no network.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mc_crypto.h"
#include "mc_imgurl.h"
#include "mc_jwt.h"
#include "mc_url.h"

#include "mc_tests.h"


#define STRICT MC_IMGURL_STRICT

static mc_imgopt opt_s(const char *name, const char *v) {
  mc_imgopt o;
  memset(&o, 0, sizeof o);
  snprintf(o.given, sizeof o.given, "%s", name);
  o.givenlen = strlen(o.given);
  o.kind = MC_IMGV_STRING;
  o.str = v;
  o.len = strlen(v);
  return o;
}

static mc_imgopt opt_n(const char *name, double v) {
  mc_imgopt o = opt_s(name, "");
  o.kind = MC_IMGV_NUMBER;
  o.str = NULL;
  o.len = 0;
  o.num = v;
  return o;
}

static mc_imgopt opt_b(const char *name, int v) {
  mc_imgopt o = opt_n(name, 0);
  o.kind = MC_IMGV_BOOL;
  o.boolean = v;
  return o;
}

static char err[256];
static char url[1024];

/* The URL for base/path/options, or NULL with the message in err. */
static const char *build(const char *path, mc_imgopt *o, size_t n, unsigned flags) {
  const char *base = "https://demo.sirv.com";
  err[0] = '\0';
  if (mc_imgurl_check(base, strlen(base), path, strlen(path), flags, err, sizeof err)) return NULL;
  if (mc_imgurl_normalize(o, &n, flags, err, sizeof err)) return NULL;
  if (mc_imgurl_write(url, sizeof url, base, strlen(base), path, strlen(path), flags, NULL, o, n) >= sizeof url)
    return NULL;
  return url;
}

static int eq(const char *got, const char *want) {
  if (got && strcmp(got, want) == 0) return 1;
  fprintf(stderr, "  got  %s\n  want %s\n  (err %s)\n", got ? got : "(null)", want, err);
  return 0;
}

static void test_table(void) {
  size_t i, n = mc_imgurl_option_count();
  CHECK(n >= 100);
  for (i = 1; i < n; i++) CHECK(strcmp(mc_imgurl_option_name(i - 1), mc_imgurl_option_name(i)) < 0);
  CHECK(mc_imgurl_option_name(n) == NULL);
}

static void test_escaping(void) {
  mc_imgopt o[4];
  char out[64];
  long n;
  o[0] = opt_s("text", "50% off \xc2\xa9 + #1 & more");
  CHECK(eq(build("/a b/\xc3\xbc#?%+.jpg", o, 1, STRICT),
           "https://demo.sirv.com/a%20b/%C3%BC%23%3F%25%2B.jpg?text=50%25%20off%20%C2%A9%20%2B%20%231%20%26%20more"));
  /* a literal "%20" in a name is a percent sign: encoded once, never decoded */
  CHECK(eq(build("/100%20.jpg", NULL, 0, STRICT), "https://demo.sirv.com/100%2520.jpg"));
  CHECK(eq(build("/100%20.jpg", NULL, 0, STRICT | MC_IMGURL_PATH_ENCODED), "https://demo.sirv.com/100%20.jpg"));
  CHECK(build("/bad%zz.jpg", NULL, 0, MC_IMGURL_PATH_ENCODED) == NULL && strstr(err, "hex digits"));
  CHECK(build("/a b.jpg", NULL, 0, MC_IMGURL_PATH_ENCODED) == NULL && strstr(err, "percent-encoded"));
  CHECK(build("/%F8.jpg", NULL, 0, MC_IMGURL_PATH_ENCODED) == NULL && strstr(err, "UTF-8"));
  CHECK(eq(build("no-slash.jpg", NULL, 0, STRICT), "https://demo.sirv.com/no-slash.jpg"));
  /* Latin-1 bytes are refused, not escaped as %F8 */
  CHECK(build("/\xf8.jpg", NULL, 0, STRICT) == NULL && strstr(err, "UTF-8"));
  o[0] = opt_s("text", "caf\xe9");
  CHECK(build("/a.jpg", o, 1, STRICT) == NULL && strstr(err, "'text'") && strstr(err, "UTF-8"));
  CHECK(mc_imgurl_check("https://x", 9, "/a\0b", 4, 0, err, sizeof err) == -1 && strstr(err, "NUL"));
  CHECK(mc_imgurl_check("https://x", 9, "", 0, 0, err, sizeof err) == -1 && strstr(err, "empty"));
  CHECK(mc_imgurl_check("ftp://x", 7, "/a", 2, 0, err, sizeof err) == -1 && strstr(err, "base"));
  CHECK(mc_imgurl_check("https://x/?a", 12, "/a", 2, 0, err, sizeof err) == -1 && strstr(err, "query"));
  CHECK(mc_imgurl_check("https://", 8, "/a", 2, 0, err, sizeof err) == -1);
  /* the path escaper keeps "/" only when asked */
  CHECK(mc_url_escape_keep("/a b/", 5, "/", out, sizeof out) == 7 && strcmp(out, "/a%20b/") == 0);
  n = mc_url_unescape("a%2Fb%20c+", 10, out);
  CHECK(n == 6 && memcmp(out, "a/b c+", 6) == 0);
  CHECK(mc_url_unescape("a%2", 3, out) == -1);
  CHECK(mc_url_unescape("%g0", 3, out) == -1);
}

static void test_options(void) {
  mc_imgopt o[8];
  o[0] = opt_n("w", 300);
  o[1] = opt_s("format", "webp");
  o[2] = opt_n("h", 200.0);
  o[3] = opt_s("crop.type", "face");
  o[4] = opt_s("canvas.color", "#FFFFFF");
  CHECK(eq(build("/p/red shoe.jpg", o, 5, STRICT),
           "https://demo.sirv.com/p/red%20shoe.jpg?canvas.color=ffffff&crop.type=face&format=webp&h=200&w=300"));
  /* same options, another order: the same bytes */
  o[0] = opt_s("canvas.color", "#FFFFFF");
  o[1] = opt_s("crop.type", "face");
  o[2] = opt_n("w", 300);
  o[3] = opt_n("h", 200.0);
  o[4] = opt_s("format", "webp");
  CHECK(eq(build("/p/red shoe.jpg", o, 5, STRICT),
           "https://demo.sirv.com/p/red%20shoe.jpg?canvas.color=ffffff&crop.type=face&format=webp&h=200&w=300"));
  /* long names go out as the short ones; both at once is an error */
  o[0] = opt_n("scale.width", 640);
  o[1] = opt_n("crop.x", 10);
  o[2] = opt_n("quality", 75);
  CHECK(eq(build("/a.jpg", o, 3, STRICT), "https://demo.sirv.com/a.jpg?cx=10&q=75&w=640"));
  o[0] = opt_n("w", 1);
  o[1] = opt_n("scale.width", 2);
  CHECK(build("/a.jpg", o, 2, STRICT) == NULL && strstr(err, "'w'") && strstr(err, "'scale.width'"));
  /* sizes: pixels, percentages (the % escaped), fractions */
  o[0] = opt_s("w", "40%");
  o[1] = opt_n("h", 12.5);
  o[2] = opt_s("cx", "center");
  o[3] = opt_n("cy", -20);
  CHECK(eq(build("/a.jpg", o, 4, STRICT), "https://demo.sirv.com/a.jpg?cx=center&cy=-20&h=12.5&w=40%25"));
  o[0] = opt_n("w", -3);
  CHECK(build("/a.jpg", o, 1, STRICT) == NULL && strstr(err, "'w'") && strstr(err, "size"));
  o[0] = opt_n("h", NAN);
  CHECK(build("/a.jpg", o, 1, STRICT) == NULL && strstr(err, "'h'") && strstr(err, "finite"));
  o[0] = opt_n("w", INFINITY);
  CHECK(build("/a.jpg", o, 1, 0) == NULL && strstr(err, "finite"));
  o[0] = opt_s("w", "-5%");
  CHECK(build("/a.jpg", o, 1, STRICT) == NULL && strstr(err, "'w'"));
  o[0] = opt_s("w", "12px");
  CHECK(build("/a.jpg", o, 1, STRICT) == NULL && strstr(err, "'w'"));
  /* ranges */
  o[0] = opt_n("q", 101);
  CHECK(build("/a.jpg", o, 1, STRICT) == NULL && strstr(err, "'q'") && strstr(err, "between 0 and 100"));
  o[0] = opt_s("rotate", "-181");
  CHECK(build("/a.jpg", o, 1, STRICT) == NULL && strstr(err, "'rotate'"));
  o[0] = opt_s("rotate", "-90");
  o[1] = opt_n("crop.confidence", 0.75);
  CHECK(eq(build("/a.jpg", o, 2, STRICT), "https://demo.sirv.com/a.jpg?crop.confidence=0.75&rotate=-90"));
  /* colours */
  o[0] = opt_s("text.color", "red");
  CHECK(build("/a.jpg", o, 1, STRICT) == NULL && strstr(err, "'text.color'") && strstr(err, "hex"));
  o[0] = opt_s("text.color", "#12345G");
  CHECK(build("/a.jpg", o, 1, 0) == NULL && strstr(err, "hex"));
  o[0] = opt_n("canvas.color", 255);
  CHECK(build("/a.jpg", o, 1, 0) == NULL && strstr(err, "'canvas.color'"));
  o[0] = opt_s("text.color", "#FF000080");
  o[1] = opt_s("frame.color", "abc");
  CHECK(eq(build("/a.jpg", o, 2, STRICT), "https://demo.sirv.com/a.jpg?frame.color=abc&text.color=ff000080"));
  /* words: strict checks them, non-strict passes new ones through */
  o[0] = opt_s("format", "bmp");
  CHECK(build("/a.jpg", o, 1, STRICT) == NULL && strstr(err, "'format'") && strstr(err, "webp"));
  o[0] = opt_s("format", "jxl");
  CHECK(eq(build("/a.jpg", o, 1, 0), "https://demo.sirv.com/a.jpg?format=jxl"));
  o[0] = opt_s("crop.aspectratio", "16:9");
  o[1] = opt_s("subsampling", "4:2:0");
  CHECK(eq(build("/a.jpg", o, 2, STRICT), "https://demo.sirv.com/a.jpg?crop.aspectratio=16%3A9&subsampling=4%3A2%3A0"));
  o[0] = opt_s("canvas.aspectratio", "16x9");
  CHECK(build("/a.jpg", o, 1, STRICT) == NULL && strstr(err, "ratio"));
  /* flags: true is "true", false leaves the option out */
  o[0] = opt_b("grayscale", 1);
  o[1] = opt_b("flip", 0);
  o[2] = opt_n("w", 10);
  CHECK(eq(build("/a.jpg", o, 3, STRICT), "https://demo.sirv.com/a.jpg?grayscale=true&w=10"));
  o[0] = opt_b("text", 1);
  CHECK(build("/a.jpg", o, 1, STRICT) == NULL && strstr(err, "'text'"));
  /* watermark paths */
  o[0] = opt_s("watermark", "logos/mark.png");
  CHECK(build("/a.jpg", o, 1, STRICT) == NULL && strstr(err, "'watermark'") && strstr(err, "absolute"));
  o[0] = opt_s("watermark", "/logos/mark 1.png");
  o[1] = opt_s("watermark.position", "southeast");
  CHECK(eq(build("/a.jpg", o, 2, STRICT),
           "https://demo.sirv.com/a.jpg?watermark=%2Flogos%2Fmark%201.png&watermark.position=southeast"));
  /* unknown names: strict errors, non-strict passthrough; names are checked either way */
  o[0] = opt_n("wdith", 300);
  CHECK(build("/a.jpg", o, 1, STRICT) == NULL && strstr(err, "unknown option 'wdith'"));
  o[0] = opt_n("future.opt", 1.5);
  o[1] = opt_b("newflag", 0);
  CHECK(eq(build("/a.jpg", o, 2, 0), "https://demo.sirv.com/a.jpg?future.opt=1.5&newflag=false"));
  o[0] = opt_n("a..b", 1);
  CHECK(build("/a.jpg", o, 1, 0) == NULL && strstr(err, "not valid"));
  o[0] = opt_n("a=b", 1);
  CHECK(build("/a.jpg", o, 1, 0) == NULL && strstr(err, "not valid"));
  o[0] = opt_s("profile", "");
  CHECK(build("/a.jpg", o, 1, STRICT) == NULL && strstr(err, "empty"));
  o[0] = opt_s("profile", "Product card");
  CHECK(eq(build("/a.jpg", o, 1, STRICT), "https://demo.sirv.com/a.jpg?profile=Product%20card"));
}

static void test_write_size(void) {
  mc_imgopt o[1];
  size_t n = 1, need;
  char small[16];
  o[0] = opt_n("w", 300);
  CHECK(mc_imgurl_normalize(o, &n, STRICT, err, sizeof err) == 0);
  need = mc_imgurl_write(small, sizeof small, "https://x.sirv.com/", 19, "/a.jpg", 6, 0, "jwt=t", o, n);
  CHECK(need == strlen("https://x.sirv.com/a.jpg?jwt=t&w=300"));
  CHECK(strlen(small) < sizeof small);
  need = mc_imgurl_write(url, sizeof url, "https://x.sirv.com/", 19, "/a.jpg", 6, 0, "jwt=t", o, n);
  CHECK(strcmp(url, "https://x.sirv.com/a.jpg?jwt=t&w=300") == 0 && need == strlen(url));
}

static void test_utf8(void) {
  CHECK(mc_imgurl_utf8_ok("\xe2\x82\xac \xf0\x9f\x98\x80", 8));
  CHECK(!mc_imgurl_utf8_ok("\xc0\x80", 2));         /* overlong */
  CHECK(!mc_imgurl_utf8_ok("\xed\xa0\x80", 3));     /* surrogate */
  CHECK(!mc_imgurl_utf8_ok("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
  CHECK(!mc_imgurl_utf8_ok("\xe2\x82", 2));         /* truncated */
}

/* The token of the documented postFilesJwt example, byte for byte (sirv-api.md). */
static void test_jwt_vector(void) {
  const char *payload = "{\"args\":{\"w\":300,\"h\":300},\"iat\":1687860619,\"exp\":1687860919,"
                        "\"aud\":\"/REST API Examples/aurora.jpg\"}";
  const char *key = "cIxWUYfCjRHAy1BpcoIVNI5TivXszVPq";
  const char *want = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhcmdzIjp7InciOjMwMCwiaCI6MzAwfSwiaWF0IjoxNjg3ODYw"
                     "NjE5LCJleHAiOjE2ODc4NjA5MTksImF1ZCI6Ii9SRVNUIEFQSSBFeGFtcGxlcy9hdXJvcmEuanBnIn0.-6wTZUlW-8kp43"
                     "lU8_MxSuSlx8MHf8XYtS8lSXRjtU0";
  char tok[512], small[8];
  long n = mc_jwt_hs256(key, strlen(key), payload, strlen(payload), tok, sizeof tok);
  CHECK(n == (long)strlen(want) && strcmp(tok, want) == 0);
  CHECK((size_t)n == mc_jwt_hs256_len(strlen(payload)));
  small[0] = 'x';
  CHECK(mc_jwt_hs256(key, strlen(key), payload, strlen(payload), small, sizeof small) == n && small[0] == 'x');
}

/* Decode part i (0-based) of a token into out (NUL-terminated). */
static long part(const char *tok, int i, char *out) {
  const char *s = tok, *e;
  long n;
  while (i-- > 0) s = strchr(s, '.') + 1;
  e = strchr(s, '.');
  if (!e) e = s + strlen(s);
  n = mc_base64_decode(s, (size_t)(e - s), (unsigned char *)out);
  if (n >= 0) out[n] = '\0';
  return n;
}

static void test_sirv_token(void) {
  mc_imgopt o[3];
  size_t n = 3;
  char tok[1024], buf[1024], sig[64];
  unsigned char mac[32];
  const char *key = "folder-secret";
  const char *dot2;
  long len;
  o[0] = opt_n("w", 300);
  o[1] = opt_s("crop.type", "face");
  o[2] = opt_n("scale.height", 200);
  CHECK(mc_imgurl_normalize(o, &n, STRICT, err, sizeof err) == 0);
  len = mc_imgurl_token(tok, sizeof tok, key, strlen(key), "/private/a b.jpg", 16, 1700000000, 1700000300, o, n,
                        err, sizeof err);
  CHECK(len > 0 && (size_t)len == strlen(tok));
  CHECK(part(tok, 0, buf) > 0 && strcmp(buf, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}") == 0);
  CHECK(part(tok, 1, buf) > 0);
  CHECK(strcmp(buf, "{\"args\":{\"crop.type\":\"face\",\"h\":200,\"w\":300},\"iat\":1700000000,"
                    "\"exp\":1700000300,\"aud\":\"/private/a b.jpg\"}") == 0);
  /* recompute the signature over the first two parts */
  dot2 = strrchr(tok, '.');
  CHECK(mc_hmac_sha256(key, strlen(key), tok, (size_t)(dot2 - tok), mac) == 0);
  mc_base64_encode(mac, sizeof mac, sig, 1);
  CHECK(strcmp(dot2 + 1, sig) == 0);
  /* no secure options: no args claim */
  len = mc_imgurl_token(tok, sizeof tok, key, strlen(key), "/", 1, 10, 20, NULL, 0, err, sizeof err);
  CHECK(len > 0 && part(tok, 1, buf) > 0 && strcmp(buf, "{\"iat\":10,\"exp\":20,\"aud\":\"/\"}") == 0);
  /* too small: the length needed, then it fits */
  CHECK(mc_imgurl_token(buf, 10, key, strlen(key), "/", 1, 10, 20, NULL, 0, err, sizeof err) == len);
  /* misuse, and the key never shows in a message */
  CHECK(mc_imgurl_token(tok, sizeof tok, "", 0, "/a", 2, 10, 20, NULL, 0, err, sizeof err) == -1 &&
        strstr(err, "key"));
  CHECK(mc_imgurl_token(tok, sizeof tok, key, strlen(key), "/a", 2, 20, 20, NULL, 0, err, sizeof err) == -1 &&
        strstr(err, "expires_in") && !strstr(err, key));
  CHECK(mc_imgurl_token(tok, sizeof tok, key, strlen(key), "a", 1, 10, 20, NULL, 0, err, sizeof err) == -1 &&
        strstr(err, "aud"));
  /* aud of an encoded path is the decoded name */
  CHECK(mc_imgurl_plain_path("a%20b.jpg", 9, MC_IMGURL_PATH_ENCODED, buf) == 8 && strcmp(buf, "/a b.jpg") == 0);
  CHECK(mc_imgurl_plain_path("/a%20b.jpg", 10, 0, buf) == 10 && strcmp(buf, "/a%20b.jpg") == 0);
}

void mc_test_imgurl(void) {
  int p0 = mc_tests_passed, f0 = mc_tests_failed;
  test_table();
  test_escaping();
  test_options();
  test_write_size();
  test_utf8();
  test_jwt_vector();
  test_sirv_token();
  printf("imgurl: %d passed, %d failed\n", mc_tests_passed - p0, mc_tests_failed - f0);
}
