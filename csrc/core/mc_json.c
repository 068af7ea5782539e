/*
** mc_json.c — the JSON parser: events to a handler (mc_json_sax), and the
** cJSON tree built from them (mc_json_parse).
**
** The grammar, the values and the refusal offsets are cJSON 1.7's (the parser
** the project used before; tests/c and fuzz/fuzz_json.c compare the two on
** every input): whitespace is any byte 1..32; a UTF-8 BOM at the start is
** skipped; a number is what strtod reads of the run of characters of
** [0-9+-eE.] (so "-.5", "01" and "1." are numbers), correctly rounded (short
** ones are computed here, exactly as strtod would: Clinger's fast path);
** strings may hold raw control bytes and any bytes >= 0x80 as they are
** (invalid UTF-8 passes through); a lone low surrogate or an unpaired high
** one is refused; duplicate
** keys are reported as they come (the Lua bridge keeps the last).
**
** On top of cJSON's checks: the size cap, NUL bytes, "\u0000" inside a
** string and a "\u" escape whose hex digits are not (cJSON decoded both to a
** NUL and cut the string short there without a word) are refused with a
** message of their own.
**
** The parser allocates nothing and keeps no state outside its stack frame:
** a string with escapes is unescaped into a 256-byte buffer of its own or,
** longer, into the handler's scratch buffer.
*/
#include "mc_json.h"

#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MJ_SMALL 256

typedef struct mj_parser {
  const unsigned char *s; /* the text; s[len] == '\0' */
  size_t len;
  size_t pos;             /* the offset being read */
  size_t fail;            /* where a refusal happened (cJSON's offset) */
  int bad_escape;         /* the refusal is a "\u" escape with bad hex digits */
  int depth;
  const mc_json_handler *h;
  void *ud;
  char small[MJ_SMALL];   /* short unescaped strings */
} mj_parser;

/* internal results: 0 ok, MJ_BAD refused at p->fail, MJ_STOP stopped */
#define MJ_BAD (-1)
#define MJ_STOP (-2)

static int mj_value(mj_parser *p);

/* Offset of the first "\u0000" escape inside a string, or -1. */
static long escaped_nul_at(const char *text, size_t len) {
  size_t i;
  int in_string = 0;
  for (i = 0; i < len; i++) {
    char c = text[i];
    if (!in_string) {
      if (c == '"') in_string = 1;
    } else if (c == '"') {
      in_string = 0;
    } else if (c == '\\' && i + 1 < len) {
      if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0) return (long)i;
      i++; /* the escaped character */
    }
  }
  return -1;
}

/* Skip whitespace (cJSON: every byte 1..32; the final NUL stops it). */
static void mj_ws(mj_parser *p) {
  const unsigned char *s = p->s;
  size_t i = p->pos;
  while (s[i] <= 32 && i < p->len) i++;
  p->pos = i;
}

static int mj_bad(mj_parser *p, size_t at) {
  p->fail = at;
  return MJ_BAD;
}

/* Whether c may be part of a number as cJSON copies one for strtod. */
static int mj_numchar(unsigned char c) {
  return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'e' || c == 'E' || c == '.';
}

static const double mj_pow10[] = {
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/*
** A number at p->pos (a '-' or a digit). The fast path reads plain JSON
** numbers whose digits fit 2^53 and whose decimal exponent is within +-22:
** one exact double times or divided by an exact power of ten is correctly
** rounded, which is strtod's result. Anything else (longer, odder, or
** followed by another number character) goes the way cJSON goes: copy the
** run of number characters (into the handler's scratch when over 63), the
** locale's decimal point for '.', strtod.
*/
static int mj_number(mj_parser *p) {
  const unsigned char *s = p->s + p->pos;
  size_t i = 0;
  uint64_t m = 0;
  int nd = 0, exp10 = 0, neg = 0;
  double d;
  if (s[i] == '-') { neg = 1; i++; }
  if (s[i] < '0' || s[i] > '9') goto slow;
  while (s[i] >= '0' && s[i] <= '9') {
    if (++nd > 15) goto slow;
    m = m * 10 + (uint64_t)(s[i++] - '0');
  }
  if (s[i] == '.') {
    i++;
    if (s[i] < '0' || s[i] > '9') goto slow;
    while (s[i] >= '0' && s[i] <= '9') {
      if (++nd > 15) goto slow;
      m = m * 10 + (uint64_t)(s[i++] - '0');
      exp10--;
    }
  }
  if (s[i] == 'e' || s[i] == 'E') {
    int e = 0, eneg = 0;
    i++;
    if (s[i] == '+' || s[i] == '-') eneg = s[i++] == '-';
    if (s[i] < '0' || s[i] > '9') goto slow;
    while (s[i] >= '0' && s[i] <= '9') {
      if (e < 1000) e = e * 10 + (s[i] - '0');
      i++;
    }
    exp10 += eneg ? -e : e;
  }
  if (mj_numchar(s[i]) || exp10 < -22 || exp10 > 22) goto slow;
  d = (double)m; /* m < 10^15 < 2^53: exact */
  d = exp10 < 0 ? d / mj_pow10[-exp10] : d * mj_pow10[exp10];
  p->pos += i;
  return p->h->number(p->ud, neg ? -d : d) ? MJ_STOP : 0;
slow: {
    char small[64], *buf = small, *end = NULL;
    char dp = localeconv()->decimal_point[0];
    size_t k = 0;
    while (mj_numchar(s[k])) k++;
    if (k >= sizeof small && !(buf = p->h->scratch(p->ud, k + 1))) return MJ_STOP;
    for (i = 0; i < k; i++) buf[i] = s[i] == '.' ? dp : (char)s[i];
    buf[k] = '\0';
    d = strtod(buf, &end);
    if (end == buf) return mj_bad(p, p->pos);
    p->pos += (size_t)(end - buf);
    return p->h->number(p->ud, d) ? MJ_STOP : 0;
  }
}

/* The bytes that end a run of plain string bytes: quote, backslash, NUL. */
static const unsigned char mj_special[256] = {['"'] = 1, ['\\'] = 1, [0] = 1};

/* Four hex digits, or 0 if one is not (cJSON's parse_hex4). */
static unsigned mj_hex4(const unsigned char *x) {
  unsigned h = 0;
  int i;
  for (i = 0; i < 4; i++) {
    unsigned c = x[i];
    if (c >= '0' && c <= '9') h = (h << 4) + (c - '0');
    else if (c >= 'A' && c <= 'F') h = (h << 4) + (c - 'A' + 10);
    else if (c >= 'a' && c <= 'f') h = (h << 4) + (c - 'a' + 10);
    else return 0;
  }
  return h;
}

/*
** Unescape s[from, to) (to: the closing quote) into out; returns the
** length, or -1 with p->fail at the offending backslash (p->bad_escape set
** when it is an escape with bad hex digits).
*/
static long mj_unescape(mj_parser *p, size_t from, size_t to, char *out) {
  const unsigned char *s = p->s;
  size_t i = from, o = 0, bad = (size_t)-1;
  while (i < to) {
    unsigned long cp;
    unsigned first;
    if (s[i] != '\\') {
      out[o++] = (char)s[i++];
      continue;
    }
    switch (s[i + 1]) {
      case 'b': out[o++] = '\b'; i += 2; continue;
      case 'f': out[o++] = '\f'; i += 2; continue;
      case 'n': out[o++] = '\n'; i += 2; continue;
      case 'r': out[o++] = '\r'; i += 2; continue;
      case 't': out[o++] = '\t'; i += 2; continue;
      case '"': case '\\': case '/': out[o++] = (char)s[i + 1]; i += 2; continue;
      case 'u': break;
      default: p->fail = i; return -1;
    }
    if (to - i < 6) { p->fail = i; return -1; }
    first = mj_hex4(s + i + 2);
    if (first >= 0xDC00 && first <= 0xDFFF) { p->fail = i; return -1; }
    if (first >= 0xD800 && first <= 0xDBFF) {
      unsigned second;
      if (to - (i + 6) < 6 || s[i + 6] != '\\' || s[i + 7] != 'u') { p->fail = i; return -1; }
      second = mj_hex4(s + i + 8);
      if (second < 0xDC00 || second > 0xDFFF) { p->fail = i; return -1; }
      cp = 0x10000 + (((unsigned long)(first & 0x3FF) << 10) | (second & 0x3FF));
      i += 12;
    } else {
      cp = first;
      i += 6;
    }
    if (cp == 0) { /* bad hex digits ("\u0000" was refused up front) */
      if (bad == (size_t)-1) bad = i - 6;
    } else if (cp < 0x80) {
      out[o++] = (char)cp;
    } else if (cp < 0x800) {
      out[o++] = (char)(0xC0 | (cp >> 6));
      out[o++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out[o++] = (char)(0xE0 | (cp >> 12));
      out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
      out[o++] = (char)(0x80 | (cp & 0x3F));
    } else {
      out[o++] = (char)(0xF0 | (cp >> 18));
      out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
      out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
      out[o++] = (char)(0x80 | (cp & 0x3F));
    }
  }
  if (bad != (size_t)-1) { /* refused once the rest of the string was read, as cJSON would */
    p->fail = bad;
    p->bad_escape = 1;
    return -1;
  }
  return (long)o;
}

/*
** A string at p->pos, reported as a key or a value. Refused at p->pos + 1
** when it does not start with a quote or has no closing one (cJSON's offset),
** at the backslash of a bad escape.
*/
static int mj_string(mj_parser *p, int is_key) {
  const unsigned char *s = p->s;
  size_t start = p->pos + 1, e = start;
  int escaped = 0, r;
  if (s[p->pos] != '"') return mj_bad(p, start);
  for (;;) {
    unsigned char c;
    while (!mj_special[s[e]] && !mj_special[s[e + 1]]) e += 2; /* s[e + 1]: s[len] stops first */
    if (!mj_special[s[e]]) e++;
    c = s[e];
    if (c == '"') break;
    if (c == '\\') {
      escaped = 1;
      e += 2;
      if (e > p->len) return mj_bad(p, start);
      continue;
    }
    return mj_bad(p, start); /* the NUL at the end of the text */
  }
  if (!escaped) {
    r = is_key ? p->h->key(p->ud, (const char *)s + start, e - start)
               : p->h->string(p->ud, (const char *)s + start, e - start);
  } else {
    char *out = p->small;
    long n;
    if (e - start > MJ_SMALL && !(out = p->h->scratch(p->ud, e - start))) return MJ_STOP;
    n = mj_unescape(p, start, e, out);
    if (n < 0) return MJ_BAD;
    r = is_key ? p->h->key(p->ud, out, (size_t)n) : p->h->string(p->ud, out, (size_t)n);
  }
  p->pos = e + 1;
  return r ? MJ_STOP : 0;
}

/* An array (obj = 0, at '[') or an object (obj = 1, at '{') at p->pos: the
** members, each a value or a "key": value pair, separated by commas. */
static int mj_container(mj_parser *p, int obj) {
  const unsigned char close = obj ? '}' : ']';
  size_t n = 0;
  int r;
  if (p->depth >= MC_JSON_MAX_DEPTH) return mj_bad(p, p->pos);
  p->depth++;
  if (obj ? p->h->start_object(p->ud) : p->h->start_array(p->ud)) return MJ_STOP;
  p->pos++;
  mj_ws(p);
  if (p->s[p->pos] != close) {
    for (;;) {
      if (obj) {
        if ((r = mj_string(p, 1)) != 0) return r;
        mj_ws(p);
        if (p->s[p->pos] != ':') return mj_bad(p, p->pos);
        p->pos++;
        mj_ws(p);
      }
      if ((r = mj_value(p)) != 0) return r;
      n++;
      mj_ws(p);
      if (p->s[p->pos] != ',') break;
      p->pos++;
      mj_ws(p);
    }
    if (p->s[p->pos] != close) return mj_bad(p, p->pos);
  }
  p->depth--;
  p->pos++;
  return (obj ? p->h->end_object(p->ud, n) : p->h->end_array(p->ud, n)) ? MJ_STOP : 0;
}

/* A value at p->pos (whitespace skipped). */
static int mj_value(mj_parser *p) {
  const unsigned char *s = p->s + p->pos;
  size_t left = p->len - p->pos;
  switch (*s) {
    case '"': return mj_string(p, 0);
    case '[': return mj_container(p, 0);
    case '{': return mj_container(p, 1);
    case 'n':
      if (left < 4 || memcmp(s, "null", 4) != 0) break;
      p->pos += 4;
      return p->h->null_value(p->ud) ? MJ_STOP : 0;
    case 't':
      if (left < 4 || memcmp(s, "true", 4) != 0) break;
      p->pos += 4;
      return p->h->boolean(p->ud, 1) ? MJ_STOP : 0;
    case 'f':
      if (left < 5 || memcmp(s, "false", 5) != 0) break;
      p->pos += 5;
      return p->h->boolean(p->ud, 0) ? MJ_STOP : 0;
    default:
      if (*s == '-' || (*s >= '0' && *s <= '9')) return mj_number(p);
      break;
  }
  return mj_bad(p, p->pos);
}

int mc_json_sax(const char *text, size_t len, size_t max_bytes,
                const mc_json_handler *h, void *ud, char *err, size_t errlen) {
  mj_parser p;
  long nul;
  int r;
  if (max_bytes == 0) max_bytes = MC_JSON_DEFAULT_MAX_BYTES;
  if (len > max_bytes) {
    snprintf(err, errlen, "JSON document too large (%zu bytes, limit %zu)", len, max_bytes);
    return MC_JSON_INVALID;
  }
  if (memchr(text, '\0', len) != NULL) {
    snprintf(err, errlen, "JSON document contains a NUL byte");
    return MC_JSON_INVALID;
  }
  /* (most documents hold no escape at all: one memchr instead of the scan) */
  if (memchr(text, '\\', len) != NULL && (nul = escaped_nul_at(text, len)) >= 0) {
    snprintf(err, errlen, "JSON string holds an escaped NUL (\\u0000) at byte %ld", nul);
    return MC_JSON_INVALID;
  }
  p.s = (const unsigned char *)text;
  p.len = len;
  p.pos = 0;
  p.fail = 0;
  p.bad_escape = 0;
  p.depth = 0;
  p.h = h;
  p.ud = ud;
  if (len >= 4 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) p.pos = 3; /* a UTF-8 BOM */
  mj_ws(&p);
  r = mj_value(&p);
  if (r == 0) {
    mj_ws(&p);
    if (p.pos < len) r = mj_bad(&p, p.pos); /* trailing garbage */
  }
  if (r == MJ_STOP) return MC_JSON_STOPPED;
  if (r == MJ_BAD) {
    if (p.bad_escape)
      snprintf(err, errlen, "JSON string holds an invalid \\u escape at byte %zu", p.fail);
    else if (p.fail >= len)
      snprintf(err, errlen, "truncated JSON (ended after %zu bytes)", len);
    else
      snprintf(err, errlen, "invalid JSON at byte %zu", p.fail);
    return MC_JSON_INVALID;
  }
  return MC_JSON_OK;
}

/* ---- the cJSON tree, built from the events ------------------------------ */

typedef struct mj_tree {
  cJSON *open[MC_JSON_MAX_DEPTH + 1]; /* the open containers, outermost first */
  cJSON *tail[MC_JSON_MAX_DEPTH + 1]; /* the last child of each */
  int depth;
  cJSON *root;
  char *key;     /* the key of the next member (cJSON_malloc'd) */
  char *scratch; /* for long unescaped strings */
  size_t scratch_len;
} mj_tree;

static char *mj_tree_copy(const char *s, size_t n) {
  char *c = (char *)cJSON_malloc(n + 1);
  if (!c) return NULL;
  memcpy(c, s, n);
  c[n] = '\0';
  return c;
}

/* Attach a new node to the open container (or make it the root). */
static int mj_tree_add(mj_tree *t, cJSON *item) {
  cJSON *parent;
  if (!item) return 1;
  if (t->depth == 0) {
    t->root = item;
    return 0;
  }
  parent = t->open[t->depth - 1];
  if (parent->type == cJSON_Object) {
    item->string = t->key;
    t->key = NULL;
  }
  if (!parent->child) {
    parent->child = item;
  } else {
    t->tail[t->depth - 1]->next = item;
    item->prev = t->tail[t->depth - 1];
  }
  t->tail[t->depth - 1] = item;
  parent->child->prev = item; /* cJSON: the head's prev is the last child */
  return 0;
}

static int mj_tree_null(void *ud) { return mj_tree_add((mj_tree *)ud, cJSON_CreateNull()); }
static int mj_tree_bool(void *ud, int v) {
  cJSON *item = cJSON_CreateBool(v);
  if (item) item->valueint = v; /* as cJSON's parser sets it */
  return mj_tree_add((mj_tree *)ud, item);
}
static int mj_tree_number(void *ud, double v) { return mj_tree_add((mj_tree *)ud, cJSON_CreateNumber(v)); }

static int mj_tree_string(void *ud, const char *s, size_t n) {
  cJSON *item = cJSON_CreateNull();
  if (!item) return 1;
  if (!(item->valuestring = mj_tree_copy(s, n))) {
    cJSON_Delete(item);
    return 1;
  }
  item->type = cJSON_String;
  return mj_tree_add((mj_tree *)ud, item);
}

static int mj_tree_key(void *ud, const char *s, size_t n) {
  mj_tree *t = (mj_tree *)ud;
  return (t->key = mj_tree_copy(s, n)) == NULL;
}

static int mj_tree_open(mj_tree *t, cJSON *item) {
  if (mj_tree_add(t, item)) return 1;
  t->open[t->depth] = item;
  t->tail[t->depth] = NULL;
  t->depth++;
  return 0;
}

static int mj_tree_start_array(void *ud) { return mj_tree_open((mj_tree *)ud, cJSON_CreateArray()); }
static int mj_tree_start_object(void *ud) { return mj_tree_open((mj_tree *)ud, cJSON_CreateObject()); }

static int mj_tree_end(void *ud, size_t n) {
  (void)n;
  ((mj_tree *)ud)->depth--;
  return 0;
}

static char *mj_tree_scratch(void *ud, size_t n) {
  mj_tree *t = (mj_tree *)ud;
  if (n > t->scratch_len) {
    char *b = (char *)realloc(t->scratch, n);
    if (!b) return NULL;
    t->scratch = b;
    t->scratch_len = n;
  }
  return t->scratch;
}

static const mc_json_handler mj_tree_handler = {
  mj_tree_null, mj_tree_bool, mj_tree_number, mj_tree_string, mj_tree_key,
  mj_tree_start_array, mj_tree_end, mj_tree_start_object, mj_tree_end, mj_tree_scratch
};

cJSON *mc_json_parse(const char *text, size_t len, size_t max_bytes,
                     char *err, size_t errlen) {
  mj_tree *t = (mj_tree *)calloc(1, sizeof *t);
  cJSON *root;
  int r;
  if (!t) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  r = mc_json_sax(text, len, max_bytes, &mj_tree_handler, t, err, errlen);
  if (r == MC_JSON_STOPPED) snprintf(err, errlen, "out of memory");
  root = t->root;
  if (r != MC_JSON_OK) {
    cJSON_Delete(root);
    root = NULL;
  }
  if (t->key) cJSON_free(t->key);
  free(t->scratch);
  free(t);
  return root;
}
