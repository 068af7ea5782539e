/*
** test_json.c — the JSON parser (mc_json_sax and the cJSON tree of
** mc_json_parse): the events and their order, a handler that stops, the
** scratch buffer, the limits, and compatibility with cJSON 1.7's own parser
** (what mc_json_parse used before it had a parser of its own): the same
** documents accepted with equal trees, the same refused at the same offset.
** cJSON_ParseWithOpts is called only through json_reference.h, as the reference.
*/
#include "mc_tests.h"
#include "mc_json.h"
#include "json_reference.h"

#include <stdlib.h>
#include <string.h>

/* ---- a handler that writes the events as text --------------------------- */

typedef struct rec {
  char out[2048];
  size_t n;
  int stop_after; /* stop at this event (0: never) */
  int events;
  int scratch_calls;
  int scratch_fail;
  char *scratch;
} rec;

static int rec_put(rec *r, const char *s, size_t n) {
  if (r->n + n < sizeof r->out) {
    memcpy(r->out + r->n, s, n);
    r->n += n;
    r->out[r->n] = '\0';
  }
  return r->stop_after && ++r->events >= r->stop_after;
}

static int rec_null(void *ud) { return rec_put((rec *)ud, "z ", 2); }
static int rec_bool(void *ud, int v) { return rec_put((rec *)ud, v ? "t " : "f ", 2); }
static int rec_number(void *ud, double v) {
  char b[40];
  int n = snprintf(b, sizeof b, "n:%g ", v);
  return rec_put((rec *)ud, b, (size_t)n);
}
static int rec_string(void *ud, const char *s, size_t n) {
  rec_put((rec *)ud, "s:", 2);
  rec_put((rec *)ud, s, n);
  return rec_put((rec *)ud, " ", 1);
}
static int rec_key(void *ud, const char *s, size_t n) {
  rec_put((rec *)ud, "k:", 2);
  rec_put((rec *)ud, s, n);
  return rec_put((rec *)ud, " ", 1);
}
static int rec_sa(void *ud) { return rec_put((rec *)ud, "[ ", 2); }
static int rec_so(void *ud) { return rec_put((rec *)ud, "{ ", 2); }
static int rec_end(rec *r, char c, size_t n) {
  char b[24];
  int len = snprintf(b, sizeof b, "%c%zu ", c, n);
  return rec_put(r, b, (size_t)len);
}
static int rec_ea(void *ud, size_t n) { return rec_end((rec *)ud, ']', n); }
static int rec_eo(void *ud, size_t n) { return rec_end((rec *)ud, '}', n); }
static char *rec_scratch(void *ud, size_t n) {
  rec *r = (rec *)ud;
  r->scratch_calls++;
  if (r->scratch_fail) return NULL;
  free(r->scratch);
  return r->scratch = (char *)malloc(n);
}

static const mc_json_handler rec_handler = {
  rec_null, rec_bool, rec_number, rec_string, rec_key, rec_sa, rec_ea, rec_so, rec_eo, rec_scratch
};

static int sax(rec *r, const char *text, char *err) {
  int rc;
  r->n = 0;
  r->out[0] = '\0';
  r->events = 0;
  rc = mc_json_sax(text, strlen(text), 0, &rec_handler, r, err, 160);
  free(r->scratch);
  r->scratch = NULL;
  return rc;
}

static void test_events(void) {
  rec r;
  char err[160];
  char big[700];
  memset(&r, 0, sizeof r);
  CHECK(sax(&r, "{\"a\":[1,\"x\\ty\",null,true,false],\"b\":{},\"a\":-2.5e1}", err) == MC_JSON_OK);
  CHECK(strcmp(r.out, "{ k:a [ n:1 s:x\ty z t f ]5 k:b { }0 k:a n:-25 }3 ") == 0);
  /* a handler that stops: no message, MC_JSON_STOPPED */
  r.stop_after = 3;
  err[0] = '\0';
  CHECK(sax(&r, "[1,2,3,4]", err) == MC_JSON_STOPPED && err[0] == '\0');
  CHECK(strcmp(r.out, "[ n:1 n:2 ") == 0);
  r.stop_after = 0;
  /* strings without escapes come from the text; long escaped ones from scratch */
  CHECK(sax(&r, "[\"abc\"]", err) == MC_JSON_OK && r.scratch_calls == 0);
  big[0] = '"';
  memset(big + 1, 'x', 600);
  memcpy(big + 601, "\\n\"", 4);
  CHECK(sax(&r, big, err) == MC_JSON_OK && r.scratch_calls == 1 && r.n == 2 + 601 + 1);
  r.scratch_fail = 1;
  CHECK(sax(&r, big, err) == MC_JSON_STOPPED);
  r.scratch_fail = 0;
  /* a "\u" escape with bad hex digits is refused at its backslash (cJSON read
  ** it as a NUL and cut the string there without a word) */
  CHECK(sax(&r, "[\"ab\\uzz12cd\",\"\\u00e9\\ud83d\\ude00\"]", err) == MC_JSON_INVALID);
  CHECK(strcmp(err, "JSON string holds an invalid \\u escape at byte 4") == 0);
  CHECK(sax(&r, "[\"\\u00e9\\ud83d\\ude00\"]", err) == MC_JSON_OK);
  CHECK(strcmp(r.out, "[ s:\xc3\xa9\xf0\x9f\x98\x80 ]1 ") == 0);
  /* (once the rest of its string was read: a worse escape after it is cJSON's
  ** refusal, checked with the cases below) */
  /* a refusal after events: the message, the events so far stand */
  CHECK(sax(&r, "[1,2,x]", err) == MC_JSON_INVALID && strcmp(err, "invalid JSON at byte 5") == 0);
  CHECK(strcmp(r.out, "[ n:1 n:2 ") == 0);
}

/* ---- compatibility with cJSON's parser ---------------------------------- */

static int compatible(const char *text) {
  size_t len = strlen(text);
  char e1[160] = "", e2[160] = "";
  cJSON *a = json_reference_parse(text, len, e1, sizeof e1);
  cJSON *b = mc_json_parse(text, len, 0, e2, sizeof e2);
  int ok = a ? (b != NULL && json_same_tree(a, b)) : (b == NULL && strcmp(e1, e2) == 0);
  if (!ok) fprintf(stderr, "  differs from cJSON: %s (cJSON: %s, ours: %s)\n", text, a ? "ok" : e1, b ? "ok" : e2);
  cJSON_Delete(a);
  cJSON_Delete(b);
  return ok;
}

static const char *const cases[] = {
  /* values, whitespace (any byte 1..32), a BOM, duplicates, nesting */
  "{\"a\":[1,2.5,null,{}],\"b\":[],\"c\":\"x\\u00fc\",\"d\":true,\"e\":false}",
  "\xEF\xBB\xBF[1]", "\xEF\xBB\xBF", "\x01\x1f [ \x02 1 , 2 ] \x7f", " \t\r\n\"s\" ",
  "{\"a\":1,\"a\":2,\"\":{\"x\":[[[]]]}}", "[\"\x80\xff\x01\", \"\xc3\"]",
  /* numbers: strtod's reading of cJSON's copy */
  "[0,-0,1e5,1E+5,1e-5,-.5,01,1.,0.1,1e400,-1e-400,9007199254740993,1e22,1e23]",
  "[0.30000000000000004,123.456e-3,1.7976931348623157e308,4.9e-324,2.2250738585072014e-308]",
  "[123456789012345,1234567890123456,0.1234567890123456789,1e-22,1e-23,999999999999999e22]",
  "1.5.3", "1e5e5", "12-3", "1e", "1e+", "-", "--1", "-e5", "[1,-]", "0x10", ".5", "+1",
  "1234567890123456789012345678901234567890123456789012345678901234567890",
  "[-1234567890123456789012345678901234567890123456789012345678901234567890.5e-3,1]",
  "[1e000000000000000000000000000000000000000000000000000000000000000000000002]",
  /* strings and escapes */
  "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", "[\"\\ud83d\\ude00\"]", "[\"\\uDC00\"]", "[\"\\uD800\"]",
  "[\"\\uD800\\u0041\"]", "[\"\\uD800x\"]", "[\"\\u12\"]", "[\"\\uD800\\u12\"]", "[\"\\x\"]",
  "[\"\\uzzzz\\x\"]", "[\"\\u12zz\\q1234\"]", "\"abc", "\"abc\\", "\"abc\\\"", "[\"a\"", "{\"a", "{\"a\\",
  /* structure */
  "", "   ", "nul", "nulx", "null x", "tru", "falsey", "[1,]", "[,1]", "[1 2]", "{\"a\":1,}",
  "{1:2}", "{\"a\" 1}", "{\"a\":}", "{\"a\":1", "{\"a\":1 \"b\":2}", "[1] x", "[1]   ", "]", "}",
  "[[[[", "{\"a\":[1,2", "{}", "[]", "{ }", "[ ]",
};

static void test_compat(void) {
  size_t i;
  char deep[2100];
  for (i = 0; i < sizeof cases / sizeof *cases; i++) CHECK(compatible(cases[i]));
  { /* the one deliberate difference: cJSON cut "ab\uzzzzcd" to "ab", ours refuses it */
    const char *t = "[\"ab\\uzzzzcd\"]";
    char e1[160] = "", e2[160] = "";
    cJSON *a = json_reference_parse(t, strlen(t), e1, sizeof e1);
    cJSON *b = mc_json_parse(t, strlen(t), 0, e2, sizeof e2);
    CHECK(a != NULL && strcmp(cJSON_GetArrayItem(a, 0)->valuestring, "ab") == 0);
    CHECK(b == NULL && strcmp(e2, "JSON string holds an invalid \\u escape at byte 4") == 0);
    cJSON_Delete(a);
    cJSON_Delete(b);
  }
  /* the nesting limit: 1000 levels are read, 1001 are refused at the last '[' */
  memset(deep, '[', 1000);
  memset(deep + 1000, ']', 1000);
  deep[2000] = '\0';
  CHECK(compatible(deep));
  memset(deep, '[', 1001);
  memset(deep + 1001, ']', 1001);
  deep[2002] = '\0';
  CHECK(compatible(deep));
}

/* The numbers computed without strtod equal strtod's, bit for bit. */
static void test_numbers(void) {
  unsigned long long x = 88172645463325252ULL;
  int i, bad = 0;
  for (i = 0; i < 20000; i++) {
    char text[64], err[160];
    int n = 0, digits, j, dot = 0;
    cJSON *j1;
    double want;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    if (x & 1) text[n++] = '-';
    digits = 1 + (int)((x >> 1) % 16);
    for (j = 0; j < digits; j++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      text[n++] = (char)('0' + x % 10);
      if (!dot && j == (int)((x >> 8) % 20)) dot = 1, text[n++] = '.', text[n++] = (char)('0' + (x >> 12) % 10);
    }
    if ((x >> 20) & 1) n += snprintf(text + n, sizeof text - (size_t)n, "e%d", (int)((x >> 24) % 60) - 30);
    text[n] = '\0';
    want = strtod(text, NULL);
    j1 = mc_json_parse(text, (size_t)n, 0, err, sizeof err);
    if (!j1 || memcmp(&j1->valuedouble, &want, sizeof want) != 0) {
      if (bad++ < 5) fprintf(stderr, "  number %s: ours differs from strtod\n", text);
    }
    cJSON_Delete(j1);
  }
  CHECK(bad == 0);
}

void mc_test_json(void) {
  test_events();
  test_compat();
  test_numbers();
}
