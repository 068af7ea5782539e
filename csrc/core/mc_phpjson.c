/*
** mc_phpjson.c — PHP json_encode()-compatible writer for signature payloads
** (see mc_phpjson.h for the exact rules).
*/
#include "mc_phpjson.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mc_phpjson_init(mc_phpjson *w) {
  memset(w, 0, sizeof *w);
}

void mc_phpjson_free(mc_phpjson *w) {
  free(w->buf);
  w->buf = NULL;
  w->len = w->cap = 0;
}

static int fail(mc_phpjson *w, const char *fmt, ...) {
  va_list ap;
  if (!w->failed) {
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
    w->failed = 1;
  }
  return -1;
}

/* Make room for n more bytes plus the NUL. */
static int reserve(mc_phpjson *w, size_t n) {
  size_t need = w->len + n + 1, cap;
  char *p;
  if (need <= w->cap) return 0;
  cap = w->cap ? w->cap : 256;
  while (cap < need) cap *= 2;
  p = (char *)realloc(w->buf, cap);
  if (!p) return fail(w, "out of memory");
  w->buf = p;
  w->cap = cap;
  return 0;
}

static int put(mc_phpjson *w, const char *s, size_t n) {
  if (reserve(w, n) != 0) return -1;
  memcpy(w->buf + w->len, s, n);
  w->len += n;
  w->buf[w->len] = '\0';
  return 0;
}

/* Comma before a value or key, as its container needs. */
static int separate(mc_phpjson *w) {
  if (w->depth > 0 && w->kind[w->depth - 1] == '{' && !w->after_key) {
    return fail(w, "a value without a key inside an object");
  }
  if (w->after_key) {
    w->after_key = 0;
    return 0;
  }
  if (w->depth > 0 && w->count[w->depth - 1]++ > 0) return put(w, ",", 1);
  return 0;
}

long mc_phpjson_check_utf8(const char *str, size_t n, const char **why) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i], cp, min;
    size_t k, extra;
    if (c == 0) {
      *why = "NUL byte";
      return (long)i;
    }
    if (c < 0x80) { i++; continue; }
    if (c >= 0xC2 && c <= 0xDF) { extra = 1; cp = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { extra = 2; cp = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { extra = 3; cp = c & 0x07; min = 0x10000; }
    else { *why = "invalid UTF-8"; return (long)i; }
    for (k = 1; k <= extra; k++) {
      if (i + k >= n || (s[i + k] & 0xC0) != 0x80) { *why = "invalid UTF-8"; return (long)i; }
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      *why = "invalid UTF-8";
      return (long)i;
    }
    i += extra + 1;
  }
  return -1;
}

/* Decode one valid UTF-8 sequence at s (already checked); returns its length. */
static size_t decode_one(const unsigned char *s, unsigned *cp) {
  if (s[0] < 0xE0) { *cp = ((unsigned)(s[0] & 0x1F) << 6) | (s[1] & 0x3F); return 2; }
  if (s[0] < 0xF0) {
    *cp = ((unsigned)(s[0] & 0x0F) << 12) | ((unsigned)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    return 3;
  }
  *cp = ((unsigned)(s[0] & 0x07) << 18) | ((unsigned)(s[1] & 0x3F) << 12) |
        ((unsigned)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
  return 4;
}

static int put_u(mc_phpjson *w, unsigned unit) {
  char esc[7];
  snprintf(esc, sizeof esc, "\\u%04x", unit & 0xFFFFu);
  return put(w, esc, 6);
}

/* A quoted, escaped string (shared by keys and values). */
static int quoted(mc_phpjson *w, const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  const char *why = NULL;
  long bad = mc_phpjson_check_utf8(str, n, &why);
  size_t i = 0, run;
  if (bad >= 0) return fail(w, "%s at byte %ld", why, bad + 1);
  if (put(w, "\"", 1) != 0) return -1;
  while (i < n) {
    unsigned c = s[i];
    const char *esc = NULL;
    /* copy the longest run of bytes written as they are */
    for (run = i; run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' &&
                  s[run] != '\\' && s[run] != '/'; run++) {
    }
    if (run > i) {
      if (put(w, str + i, run - i) != 0) return -1;
      i = run;
      continue;
    }
    switch (c) {
      case '"': esc = "\\\""; break;
      case '\\': esc = "\\\\"; break;
      case '/': esc = "\\/"; break;
      case '\b': esc = "\\b"; break;
      case '\f': esc = "\\f"; break;
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      case '\t': esc = "\\t"; break;
      default: break;
    }
    if (esc) {
      if (put(w, esc, 2) != 0) return -1;
      i++;
    } else if (c < 0x20) {
      if (put_u(w, c) != 0) return -1;
      i++;
    } else {
      unsigned cp;
      i += decode_one(s + i, &cp);
      if (cp >= 0x10000) {
        cp -= 0x10000;
        if (put_u(w, 0xD800 + (cp >> 10)) != 0 || put_u(w, 0xDC00 + (cp & 0x3FF)) != 0) return -1;
      } else if (put_u(w, cp) != 0) {
        return -1;
      }
    }
  }
  return put(w, "\"", 1);
}

static int open_level(mc_phpjson *w, char ch) {
  if (w->failed) return -1;
  if (w->depth >= MC_PHPJSON_MAX_DEPTH) return fail(w, "nesting deeper than %d", MC_PHPJSON_MAX_DEPTH);
  if (separate(w) != 0 || put(w, &ch, 1) != 0) return -1;
  w->kind[w->depth] = ch;
  w->count[w->depth++] = 0;
  return 0;
}

static int close_level(mc_phpjson *w, char ch) {
  if (w->failed) return -1;
  if (w->depth == 0 || w->after_key || w->kind[w->depth - 1] != (ch == '}' ? '{' : '[')) {
    return fail(w, "unbalanced close");
  }
  w->depth--;
  return put(w, &ch, 1);
}

int mc_phpjson_begin_object(mc_phpjson *w) { return open_level(w, '{'); }
int mc_phpjson_end_object(mc_phpjson *w) { return close_level(w, '}'); }
int mc_phpjson_begin_array(mc_phpjson *w) { return open_level(w, '['); }
int mc_phpjson_end_array(mc_phpjson *w) { return close_level(w, ']'); }

int mc_phpjson_key(mc_phpjson *w, const char *s, size_t n) {
  if (w->failed) return -1;
  if (w->depth == 0 || w->kind[w->depth - 1] != '{' || w->after_key) {
    return fail(w, "a key outside an object");
  }
  if (w->count[w->depth - 1]++ > 0 && put(w, ",", 1) != 0) return -1;
  if (quoted(w, s, n) != 0 || put(w, ":", 1) != 0) return -1;
  w->after_key = 1;
  return 0;
}

int mc_phpjson_string(mc_phpjson *w, const char *s, size_t n) {
  if (w->failed) return -1;
  if (separate(w) != 0) return -1;
  return quoted(w, s, n);
}

int mc_phpjson_int(mc_phpjson *w, long long v) {
  char num[24];
  int n;
  if (w->failed) return -1;
  if (separate(w) != 0) return -1;
  n = snprintf(num, sizeof num, "%lld", v);
  return put(w, num, (size_t)n);
}

int mc_phpjson_bool(mc_phpjson *w, int v) {
  if (w->failed) return -1;
  if (separate(w) != 0) return -1;
  return v ? put(w, "true", 4) : put(w, "false", 5);
}
