/*
** mc_imgurl.c — Sirv dynamic-imaging URLs: the option table, value checks and
** formatting, deterministic order, escaping, and the protected-URL token. See
** mc_imgurl.h for the contract; every choice that the research left open is
** listed in README.md ("Image URLs").
*/
#include "mc_imgurl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "mc_jwt.h"
#include "mc_url.h"

/* ---- the option table ------------------------------------------------------ */

typedef enum opt_type {
  T_SIZE,    /* pixels >= 0 (number) or "N", "N.N", "N%" */
  T_OFFSET,  /* pixels (any sign), "N%", "-N", "center" */
  T_RANGE,   /* a number in [lo, hi] (number or numeric string) */
  T_COLOR,   /* hex RGB / RGBA: "ff0000", "#FF000080", "f00" */
  T_ENUM,    /* one of words (strict mode) */
  T_RATIO,   /* "W:H", e.g. "16:9" */
  T_FLAG,    /* true (sent as "true"), false (left out), or a value */
  T_TEXT,    /* any UTF-8 text or a number */
  T_PATH     /* an absolute path in the account: "/logos/mark.png" */
} opt_type;

typedef struct opt_def {
  const char *name;           /* as accepted (short or long) */
  unsigned char len;          /* strlen(name) */
  const char *wire;           /* the name sent, when not name ("scale.width" -> "w") */
  opt_type type;
  double lo, hi;              /* T_RANGE */
  const char *const *words;   /* T_ENUM, NULL-terminated */
} opt_def;

static const char *const SCALE_OPTIONS[] = {"fit", "fill", "ignore", "noup", NULL};
static const char *const WM_SCALE_OPTIONS[] = {"noup", "fit", "fill", "ignore", NULL};
static const char *const CROP_TYPES[] = {"face", "poi", "trim", NULL};
static const char *const POSITIONS[] = {"center", "north", "northeast", "east", "southeast",
                                        "south", "southwest", "west", "northwest", NULL};
static const char *const WM_POSITIONS[] = {"center", "tile", "north", "northeast", "east", "southeast",
                                           "south", "southwest", "west", "northwest", NULL};
static const char *const FORMATS[] = {"optimal", "original", "jpg", "png", "webp", "avif", "gif", NULL};
static const char *const SUBSAMPLINGS[] = {"4:2:0", "4:2:2", "4:4:4", NULL};
static const char *const HISTOGRAMS[] = {"rgb", "r", "g", "b", NULL};
static const char *const TONE_MODES[] = {"solid", "highlights", "shadows", NULL};
static const char *const ALIGNS[] = {"left", "center", "right", NULL};
static const char *const FONT_STYLES[] = {"normal", "italic", NULL};

/* Sorted bytewise by name (find_option is a binary search; a C test checks the order).
** Sources per family: ../shared/reference/sirv-imaging.md §2. */
static const opt_def OPTIONS[] = {
  {"blur", 4, NULL, T_RANGE, 0, 100, NULL},
  {"brightness", 10, NULL, T_RANGE, -100, 100, NULL},
  {"canvas.aspectratio", 18, NULL, T_RATIO, 0, 0, NULL},
  {"canvas.border.color", 19, NULL, T_COLOR, 0, 0, NULL},
  {"canvas.border.height", 20, NULL, T_SIZE, 0, 0, NULL},
  {"canvas.border.opacity", 21, NULL, T_RANGE, 0, 100, NULL},
  {"canvas.border.width", 19, NULL, T_SIZE, 0, 0, NULL},
  {"canvas.color", 12, NULL, T_COLOR, 0, 0, NULL},
  {"canvas.height", 13, NULL, T_SIZE, 0, 0, NULL},
  {"canvas.opacity", 14, NULL, T_RANGE, 0, 100, NULL},
  {"canvas.position", 15, NULL, T_ENUM, 0, 0, POSITIONS},
  {"canvas.width", 12, NULL, T_SIZE, 0, 0, NULL},
  {"ch", 2, NULL, T_SIZE, 0, 0, NULL},
  {"clippath", 8, NULL, T_TEXT, 0, 0, NULL},
  {"colorize.color", 14, NULL, T_COLOR, 0, 0, NULL},
  {"colorize.opacity", 16, NULL, T_RANGE, 0, 100, NULL},
  {"colorlevel.black", 16, NULL, T_RANGE, 0, 254, NULL},
  {"colorlevel.white", 16, NULL, T_RANGE, 1, 255, NULL},
  {"colortone", 9, NULL, T_TEXT, 0, 0, NULL},
  {"colortone.color", 15, NULL, T_COLOR, 0, 0, NULL},
  {"colortone.level", 15, NULL, T_RANGE, 0, 100, NULL},
  {"colortone.mode", 14, NULL, T_ENUM, 0, 0, TONE_MODES},
  {"contrast", 8, NULL, T_RANGE, -100, 100, NULL},
  {"crop.aspectratio", 16, NULL, T_RATIO, 0, 0, NULL},
  {"crop.confidence", 15, NULL, T_RANGE, 0, 1, NULL},
  {"crop.dev", 8, NULL, T_FLAG, 0, 0, NULL},
  {"crop.height", 11, "ch", T_SIZE, 0, 0, NULL},
  {"crop.pad.height", 15, NULL, T_SIZE, 0, 0, NULL},
  {"crop.pad.width", 14, NULL, T_SIZE, 0, 0, NULL},
  {"crop.pad.x", 10, NULL, T_SIZE, 0, 0, NULL},
  {"crop.pad.y", 10, NULL, T_SIZE, 0, 0, NULL},
  {"crop.scale.height", 17, NULL, T_SIZE, 0, 0, NULL},
  {"crop.scale.width", 16, NULL, T_SIZE, 0, 0, NULL},
  {"crop.type", 9, NULL, T_ENUM, 0, 0, CROP_TYPES},
  {"crop.width", 10, "cw", T_SIZE, 0, 0, NULL},
  {"crop.x", 6, "cx", T_OFFSET, 0, 0, NULL},
  {"crop.y", 6, "cy", T_OFFSET, 0, 0, NULL},
  {"cw", 2, NULL, T_SIZE, 0, 0, NULL},
  {"cx", 2, NULL, T_OFFSET, 0, 0, NULL},
  {"cy", 2, NULL, T_OFFSET, 0, 0, NULL},
  {"dl", 2, NULL, T_FLAG, 0, 0, NULL},
  {"exposure", 8, NULL, T_RANGE, -100, 100, NULL},
  {"flip", 4, NULL, T_FLAG, 0, 0, NULL},
  {"flop", 4, NULL, T_FLAG, 0, 0, NULL},
  {"format", 6, NULL, T_ENUM, 0, 0, FORMATS},
  {"frame.color", 11, NULL, T_COLOR, 0, 0, NULL},
  {"frame.rim.color", 15, NULL, T_COLOR, 0, 0, NULL},
  {"frame.rim.width", 15, NULL, T_SIZE, 0, 0, NULL},
  {"frame.style", 11, NULL, T_TEXT, 0, 0, NULL},
  {"frame.width", 11, NULL, T_SIZE, 0, 0, NULL},
  {"gif.lossy", 9, NULL, T_RANGE, 0, 100, NULL},
  {"grayscale", 9, NULL, T_FLAG, 0, 0, NULL},
  {"h", 1, NULL, T_SIZE, 0, 0, NULL},
  {"highlights", 10, NULL, T_RANGE, -100, 100, NULL},
  {"histogram", 9, NULL, T_ENUM, 0, 0, HISTOGRAMS},
  {"hue", 3, NULL, T_RANGE, -100, 100, NULL},
  {"lightness", 9, NULL, T_RANGE, -100, 100, NULL},
  {"opacity", 7, NULL, T_RANGE, 0, 100, NULL},
  {"page", 4, NULL, T_RANGE, 1, 100000, NULL},
  {"png.compression", 15, NULL, T_RANGE, 1, 10, NULL},
  {"png.optimize", 12, NULL, T_FLAG, 0, 0, NULL},
  {"profile", 7, NULL, T_TEXT, 0, 0, NULL},
  {"q", 1, NULL, T_RANGE, 0, 100, NULL},
  {"quality", 7, "q", T_RANGE, 0, 100, NULL},
  {"rotate", 6, NULL, T_RANGE, -180, 180, NULL},
  {"s", 1, NULL, T_SIZE, 0, 0, NULL},
  {"saturation", 10, NULL, T_RANGE, -100, 100, NULL},
  {"scale.height", 12, "h", T_SIZE, 0, 0, NULL},
  {"scale.option", 12, NULL, T_ENUM, 0, 0, SCALE_OPTIONS},
  {"scale.width", 11, "w", T_SIZE, 0, 0, NULL},
  {"shadows", 7, NULL, T_RANGE, -100, 100, NULL},
  {"sharpen", 7, NULL, T_RANGE, 0, 100, NULL},
  {"subsampling", 11, NULL, T_ENUM, 0, 0, SUBSAMPLINGS},
  {"text", 4, NULL, T_TEXT, 0, 0, NULL},
  {"text.align", 10, NULL, T_ENUM, 0, 0, ALIGNS},
  {"text.background.color", 21, NULL, T_COLOR, 0, 0, NULL},
  {"text.background.opacity", 23, NULL, T_RANGE, 0, 100, NULL},
  {"text.color", 10, NULL, T_COLOR, 0, 0, NULL},
  {"text.font.family", 16, NULL, T_TEXT, 0, 0, NULL},
  {"text.font.size", 14, NULL, T_SIZE, 0, 0, NULL},
  {"text.font.style", 15, NULL, T_ENUM, 0, 0, FONT_STYLES},
  {"text.font.weight", 16, NULL, T_RANGE, 100, 900, NULL},
  {"text.opacity", 12, NULL, T_RANGE, 0, 100, NULL},
  {"text.outline.blur", 17, NULL, T_SIZE, 0, 0, NULL},
  {"text.outline.color", 18, NULL, T_COLOR, 0, 0, NULL},
  {"text.outline.opacity", 20, NULL, T_RANGE, 0, 100, NULL},
  {"text.outline.width", 18, NULL, T_SIZE, 0, 0, NULL},
  {"text.position", 13, NULL, T_ENUM, 0, 0, POSITIONS},
  {"text.position.gravity", 21, NULL, T_ENUM, 0, 0, POSITIONS},
  {"text.position.x", 15, NULL, T_OFFSET, 0, 0, NULL},
  {"text.position.y", 15, NULL, T_OFFSET, 0, 0, NULL},
  {"text.size", 9, NULL, T_SIZE, 0, 0, NULL},
  {"text.text64", 11, NULL, T_TEXT, 0, 0, NULL},
  {"thumbnail", 9, NULL, T_SIZE, 0, 0, NULL},
  {"vignette.color", 14, NULL, T_COLOR, 0, 0, NULL},
  {"vignette.value", 14, NULL, T_RANGE, 0, 100, NULL},
  {"w", 1, NULL, T_SIZE, 0, 0, NULL},
  {"watermark", 9, NULL, T_PATH, 0, 0, NULL},
  {"watermark.canvas.color", 22, NULL, T_COLOR, 0, 0, NULL},
  {"watermark.image", 15, NULL, T_PATH, 0, 0, NULL},
  {"watermark.opacity", 17, NULL, T_RANGE, 0, 100, NULL},
  {"watermark.position", 18, NULL, T_ENUM, 0, 0, WM_POSITIONS},
  {"watermark.position.gravity", 26, NULL, T_ENUM, 0, 0, POSITIONS},
  {"watermark.position.x", 20, NULL, T_OFFSET, 0, 0, NULL},
  {"watermark.position.y", 20, NULL, T_OFFSET, 0, 0, NULL},
  {"watermark.scale.height", 22, NULL, T_SIZE, 0, 0, NULL},
  {"watermark.scale.option", 22, NULL, T_ENUM, 0, 0, WM_SCALE_OPTIONS},
  {"watermark.scale.width", 21, NULL, T_SIZE, 0, 0, NULL},
  {"webp-fallback", 13, NULL, T_ENUM, 0, 0, FORMATS},
};

#define N_OPTIONS (sizeof OPTIONS / sizeof OPTIONS[0])

size_t mc_imgurl_option_count(void) {
  return N_OPTIONS;
}

const char *mc_imgurl_option_name(size_t i) {
  return i < N_OPTIONS ? OPTIONS[i].name : NULL;
}

/* Bytewise order of a[0..al) and b[0..bl) (names are short: a plain loop). */
static int name_cmp(const char *a, size_t al, const char *b, size_t bl) {
  size_t i, n = al < bl ? al : bl;
  for (i = 0; i < n; i++) {
    if (a[i] != b[i]) return (unsigned char)a[i] < (unsigned char)b[i] ? -1 : 1;
  }
  return al < bl ? -1 : (al > bl ? 1 : 0);
}

/* Binary search of the table for name[0..len). */
static const opt_def *find_option(const char *name, size_t len) {
  size_t lo = 0, hi = N_OPTIONS;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = name_cmp(name, len, OPTIONS[mid].name, OPTIONS[mid].len);
    if (c == 0) return &OPTIONS[mid];
    if (c < 0) hi = mid;
    else lo = mid + 1;
  }
  return NULL;
}

/* ---- small helpers --------------------------------------------------------- */

/* Write a message into err and return -1. */
static int fail(char *err, size_t errcap, const char *fmt, ...) {
  va_list ap;
  if (errcap > 0) {
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* A printable excerpt of a caller's value for an error message (<= 40 bytes). */
static const char *excerpt(const char *s, size_t len, char out[48]) {
  size_t i, n = len > 40 ? 40 : len;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  if (len > n) memcpy(out + n, "...", 4);
  else out[n] = '\0';
  return out;
}

int mc_imgurl_utf8_ok(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *e = p + len;
  while (p < e) {
    unsigned c = *p, cp, min;
    size_t need, i;
    if (c < 0x80) {
      p++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) need = 1, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) need = 2, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) need = 3, cp = c & 0x07, min = 0x10000;
    else return 0;
    if ((size_t)(e - p) <= need) return 0;
    for (i = 1; i <= need; i++) {
      if ((p[i] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    p += need + 1;
  }
  return 1;
}

/* Decimal digits of an integer |v| < 1e15 (the common case: no printf). */
static size_t format_integer(double v, char *buf) {
  char tmp[24];
  size_t n = 0, i = 0;
  unsigned long long u = (unsigned long long)(v < 0 ? -v : v);
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) buf[i++] = '-';
  while (n) buf[i++] = tmp[--n];
  buf[i] = '\0';
  return i;
}

/* The shortest text that reads back as v; integers without a fraction; -0 -> 0. */
static size_t format_number(double v, char *buf, size_t cap) {
  int n;
  if (v == 0) v = 0.0;
  if (fabs(v) < 1e15 && v == floor(v) && cap >= 24) return format_integer(v, buf);
  if (fabs(v) < 1e15 && v == floor(v)) n = snprintf(buf, cap, "%.0f", v);
  else {
    n = snprintf(buf, cap, "%.15g", v);
    if (strtod(buf, NULL) != v) n = snprintf(buf, cap, "%.17g", v);
  }
  return n < 0 ? 0 : (size_t)n;
}

/*
** Parse a decimal "[-]D[.D][%]" from s[0..len) without the C locale's help.
** Returns 1 and sets *v and *pct when it is one; allow_neg / allow_pct gate
** the sign and the trailing "%".
*/
static int parse_decimal(const char *s, size_t len, int allow_neg, int allow_pct, double *v, int *pct) {
  size_t i = 0, digits = 0;
  double x = 0, scale = 1;
  int neg = 0;
  *pct = 0;
  if (len > 0 && s[len - 1] == '%') {
    if (!allow_pct) return 0;
    *pct = 1;
    len--;
  }
  if (i < len && s[i] == '-') {
    if (!allow_neg) return 0;
    neg = 1;
    i++;
  }
  for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) x = x * 10 + (s[i] - '0');
  if (digits == 0) return 0;
  if (i < len && s[i] == '.') {
    size_t frac = 0;
    for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, frac++) {
      scale /= 10;
      x += (s[i] - '0') * scale;
    }
    if (frac == 0) return 0;
  }
  if (i != len) return 0;
  *v = neg ? -x : x;
  return 1;
}

static int is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* An option name: [A-Za-z0-9_-] segments joined by single dots. */
static int name_ok(const char *s, size_t len) {
  size_t i;
  int seg = 0;
  if (len == 0) return 0;
  for (i = 0; i < len; i++) {
    char c = s[i];
    if (c == '.') {
      if (seg == 0) return 0;
      seg = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-') {
      seg++;
    } else {
      return 0;
    }
  }
  return seg > 0;
}

/* ---- values ------------------------------------------------------------------ */

/* What a value must look like, for messages. */
static const char *expects(const opt_def *d) {
  switch (d->type) {
    case T_SIZE: return "a size: pixels >= 0 or a percentage like '50%'";
    case T_OFFSET: return "a position: pixels, a percentage like '-10%', or 'center'";
    case T_RANGE: return "a number";
    case T_COLOR: return "a hex colour: RGB or RGBA like 'ff0000' or '#ff000080'";
    case T_ENUM: return "a word";
    case T_RATIO: return "an aspect ratio like '16:9'";
    case T_FLAG: return "true, false or a value";
    case T_TEXT: return "text or a number";
    case T_PATH: return "an absolute path like '/logos/mark.png'";
  }
  return "a value";
}

/* A string value: no NUL, valid UTF-8, not empty. */
static int check_string(const mc_imgopt *o, char *err, size_t errcap) {
  if (o->len == 0) return fail(err, errcap, "option '%s' must not be empty", o->given);
  if (memchr(o->str, '\0', o->len)) return fail(err, errcap, "option '%s' contains a NUL byte", o->given);
  if (!mc_imgurl_utf8_ok(o->str, o->len))
    return fail(err, errcap, "option '%s' is not valid UTF-8 (Sirv reads text as UTF-8; convert Latin-1 first)",
                o->given);
  return 0;
}

/* Record the value text: borrowed from the caller, or NULL when it is in o->buf. */
static void set_text(mc_imgopt *o, const char *s, size_t len, mc_imgval wire) {
  o->text = s == o->buf ? NULL : s;
  o->textlen = len;
  o->wire = wire;
}

/* A number value, formatted into o->buf; non-finite numbers are errors. */
static int take_number(mc_imgopt *o, char *err, size_t errcap) {
  if (!isfinite(o->num))
    return fail(err, errcap, "option '%s' must be a finite number (got %s)", o->given,
                isnan(o->num) ? "nan" : (o->num > 0 ? "inf" : "-inf"));
  set_text(o, o->buf, format_number(o->num, o->buf, sizeof o->buf), MC_IMGV_NUMBER);
  return 0;
}

/* Any scalar as it is: options outside the table and words outside a known set. */
static int take_any(mc_imgopt *o, char *err, size_t errcap) {
  switch (o->kind) {
    case MC_IMGV_NUMBER: return take_number(o, err, errcap);
    case MC_IMGV_BOOL:
      strcpy(o->buf, o->boolean ? "true" : "false");
      set_text(o, o->buf, strlen(o->buf), MC_IMGV_BOOL);
      return 0;
    case MC_IMGV_STRING:
      if (check_string(o, err, errcap)) return -1;
      set_text(o, o->str, o->len, MC_IMGV_STRING);
      return 0;
  }
  return -1;
}

static int bad_value(const mc_imgopt *o, const opt_def *d, char *err, size_t errcap) {
  char ex[48];
  if (o->kind == MC_IMGV_STRING)
    return fail(err, errcap, "option '%s' must be %s (got '%s')", o->given, expects(d), excerpt(o->str, o->len, ex));
  if (o->kind == MC_IMGV_NUMBER) return fail(err, errcap, "option '%s' must be %s (got %g)", o->given, expects(d), o->num);
  return fail(err, errcap, "option '%s' must be %s (got %s)", o->given, expects(d), o->boolean ? "true" : "false");
}

/* A size, position or ranged number (numbers, or strings in decimal form). */
static int take_numeric(mc_imgopt *o, const opt_def *d, char *err, size_t errcap) {
  int neg = d->type != T_SIZE, pct = d->type != T_RANGE, is_pct = 0;
  double v;
  if (o->kind == MC_IMGV_NUMBER) {
    if (!isfinite(o->num)) return take_number(o, err, errcap);
    v = o->num;
  } else if (o->kind == MC_IMGV_STRING) {
    if (d->type == T_OFFSET && o->len == 6 && memcmp(o->str, "center", 6) == 0) {
      set_text(o, o->str, o->len, MC_IMGV_STRING);
      return 0;
    }
    if (!parse_decimal(o->str, o->len, neg, pct, &v, &is_pct)) return bad_value(o, d, err, errcap);
  } else {
    return bad_value(o, d, err, errcap);
  }
  if (d->type == T_SIZE && v < 0) return bad_value(o, d, err, errcap);
  if (d->type == T_RANGE && (v < d->lo || v > d->hi)) {
    char a[40], b[40];
    format_number(d->lo, a, sizeof a);
    format_number(d->hi, b, sizeof b);
    if (o->kind == MC_IMGV_NUMBER)
      return fail(err, errcap, "option '%s' must be between %s and %s (got %g)", o->given, a, b, o->num);
    return fail(err, errcap, "option '%s' must be between %s and %s (got '%.*s')", o->given, a, b, (int)o->len, o->str);
  }
  if (o->kind == MC_IMGV_NUMBER) return take_number(o, err, errcap);
  set_text(o, o->str, o->len, MC_IMGV_STRING);
  return 0;
}

/* "#RRGGBB[AA]" / "RGB": the hex digits, lower-cased, without "#". */
static int take_color(mc_imgopt *o, const opt_def *d, char *err, size_t errcap) {
  const char *s = o->str;
  size_t len = o->len, i;
  if (o->kind != MC_IMGV_STRING) return bad_value(o, d, err, errcap);
  if (len > 0 && s[0] == '#') s++, len--;
  if (len != 3 && len != 6 && len != 8) return bad_value(o, d, err, errcap);
  for (i = 0; i < len; i++) {
    if (!is_hex(s[i])) return bad_value(o, d, err, errcap);
    o->buf[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
  }
  o->buf[len] = '\0';
  set_text(o, o->buf, len, MC_IMGV_STRING);
  return 0;
}

static int take_enum(mc_imgopt *o, const opt_def *d, unsigned flags, char *err, size_t errcap) {
  const char *const *w;
  char list[256], ex[48];
  size_t n = 0;
  if (!(flags & MC_IMGURL_STRICT)) return take_any(o, err, errcap);
  if (o->kind == MC_IMGV_STRING) {
    for (w = d->words; *w; w++) {
      if (strlen(*w) == o->len && memcmp(*w, o->str, o->len) == 0) {
        set_text(o, o->str, o->len, MC_IMGV_STRING);
        return 0;
      }
    }
  }
  list[0] = '\0';
  for (w = d->words; *w && n + strlen(*w) + 3 < sizeof list; w++) {
    n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", *w);
  }
  if (o->kind == MC_IMGV_STRING)
    return fail(err, errcap, "option '%s' must be one of %s (got '%s'; strict = false passes other words through)",
                o->given, list, excerpt(o->str, o->len, ex));
  return fail(err, errcap, "option '%s' must be one of %s", o->given, list);
}

static int take_ratio(mc_imgopt *o, const opt_def *d, char *err, size_t errcap) {
  const char *colon;
  double a, b;
  int pct;
  if (o->kind != MC_IMGV_STRING) return bad_value(o, d, err, errcap);
  colon = memchr(o->str, ':', o->len);
  if (!colon || !parse_decimal(o->str, (size_t)(colon - o->str), 0, 0, &a, &pct) ||
      !parse_decimal(colon + 1, o->len - (size_t)(colon - o->str) - 1, 0, 0, &b, &pct) || a <= 0 || b <= 0)
    return bad_value(o, d, err, errcap);
  set_text(o, o->str, o->len, MC_IMGV_STRING);
  return 0;
}

/* Check and format one option against its table entry. Returns 0, 1 (drop it) or -1. */
static int take_value(mc_imgopt *o, const opt_def *d, unsigned flags, char *err, size_t errcap) {
  switch (d->type) {
    case T_SIZE:
    case T_OFFSET:
    case T_RANGE: return take_numeric(o, d, err, errcap);
    case T_COLOR: return take_color(o, d, err, errcap);
    case T_ENUM: return take_enum(o, d, flags, err, errcap);
    case T_RATIO: return take_ratio(o, d, err, errcap);
    case T_FLAG:
      if (o->kind == MC_IMGV_BOOL && !o->boolean) return 1;
      return take_any(o, err, errcap);
    case T_TEXT:
      if (o->kind == MC_IMGV_BOOL) return bad_value(o, d, err, errcap);
      return take_any(o, err, errcap);
    case T_PATH:
      if (o->kind != MC_IMGV_STRING || o->len == 0 || o->str[0] != '/') return bad_value(o, d, err, errcap);
      return take_any(o, err, errcap);
  }
  return -1;
}

/* ---- options ----------------------------------------------------------------- */

/* Order of two options: wire names, bytewise. */
static int by_name(const mc_imgopt *a, const mc_imgopt *b) {
  return name_cmp(a->name ? a->name : a->given, a->namelen, b->name ? b->name : b->given, b->namelen);
}

/* Insertion sort by wire name: n is small (a URL's options), and stable. */
static void sort_options(mc_imgopt *opts, size_t n) {
  size_t i, j;
  for (i = 1; i < n; i++) {
    if (by_name(&opts[i - 1], &opts[i]) <= 0) continue;
    {
      mc_imgopt t = opts[i];
      for (j = i; j > 0 && by_name(&opts[j - 1], &t) > 0; j--) opts[j] = opts[j - 1];
      opts[j] = t;
    }
  }
}

const char *mc_imgurl_opt_name(const mc_imgopt *o, size_t *len) {
  *len = o->namelen;
  return o->name ? o->name : o->given;
}

const char *mc_imgurl_opt_text(const mc_imgopt *o, size_t *len) {
  *len = o->textlen;
  return o->text ? o->text : o->buf;
}

int mc_imgurl_normalize(mc_imgopt *opts, size_t *n, unsigned flags, char *err, size_t errcap) {
  size_t i, kept = 0;
  for (i = 0; i < *n; i++) {
    mc_imgopt *o = &opts[i];
    const opt_def *d;
    int r;
    char ex[48];
    if (!name_ok(o->given, o->givenlen))
      return fail(err, errcap, "option name '%s' is not valid (letters, digits, '_', '-' and single dots)",
                  excerpt(o->given, o->givenlen, ex));
    d = find_option(o->given, o->givenlen);
    if (d) {
      o->name = d->wire ? d->wire : d->name;
      o->namelen = d->wire ? strlen(d->wire) : d->len;
      r = take_value(o, d, flags, err, errcap);
    } else if (flags & MC_IMGURL_STRICT) {
      return fail(err, errcap, "unknown option '%s' (strict = false passes options Sirv added later through)",
                  o->given);
    } else {
      o->name = NULL; /* the given name */
      o->namelen = o->givenlen;
      r = take_any(o, err, errcap);
    }
    if (r < 0) return -1;
    if (r == 0) {
      if (kept != i) opts[kept] = opts[i];
      kept++;
    }
  }
  *n = kept;
  sort_options(opts, kept);
  for (i = 1; i < kept; i++) {
    if (by_name(&opts[i - 1], &opts[i]) == 0) {
      size_t len;
      const char *name = mc_imgurl_opt_name(&opts[i], &len);
      return fail(err, errcap, "options '%s' and '%s' both set '%.*s'", opts[i - 1].given, opts[i].given,
                  (int)len, name);
    }
  }
  return 0;
}

/* ---- base, path, writing ----------------------------------------------------- */

/* A character allowed as it is in an already-encoded path (RFC 3986 pchar or "/"). */
static int path_char_ok(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         (c && strchr("-._~!$&'()*+,;=:@/", c) != NULL);
}

static int check_base(const char *base, size_t len, char *err, size_t errcap) {
  size_t i, host;
  char ex[48];
  if (len >= 8 && strncmp(base, "https://", 8) == 0) host = 8;
  else if (len >= 7 && strncmp(base, "http://", 7) == 0) host = 7;
  else host = 0;
  if (host == 0 || len == host || base[host] == '/')
    return fail(err, errcap, "base must be an http(s) URL like 'https://ALIAS.sirv.com' (got '%s')",
                excerpt(base, len, ex));
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)base[i];
    if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#')
      return fail(err, errcap, "base must be a URL without spaces, query or fragment (got '%s')",
                  excerpt(base, len, ex));
  }
  return 0;
}

/* An already-encoded path: pchars and well-formed %XX that decode to UTF-8. */
static int check_encoded_path(const char *path, size_t len, char *err, size_t errcap) {
  size_t i;
  long n;
  char *plain;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)path[i];
    if (c == '%') {
      if (i + 2 >= len || !is_hex(path[i + 1]) || !is_hex(path[i + 2]))
        return fail(err, errcap, "path has a '%%' that is not followed by two hex digits (byte %zu)", i + 1);
      i += 2;
    } else if (!path_char_ok(c)) {
      return fail(err, errcap, "path is marked encoded but byte %zu must be percent-encoded", i + 1);
    }
  }
  plain = (char *)malloc(len ? len : 1);
  if (!plain) return fail(err, errcap, "out of memory");
  n = mc_url_unescape(path, len, plain);
  i = n >= 0 && !memchr(plain, '\0', (size_t)n) && mc_imgurl_utf8_ok(plain, (size_t)n);
  free(plain);
  if (!i) return fail(err, errcap, "path decodes to bytes that are not UTF-8 text");
  return 0;
}

int mc_imgurl_check(const char *base, size_t baselen, const char *path, size_t pathlen,
                    unsigned flags, char *err, size_t errcap) {
  if (check_base(base, baselen, err, errcap)) return -1;
  if (pathlen == 0) return fail(err, errcap, "path must not be empty");
  if (memchr(path, '\0', pathlen)) return fail(err, errcap, "path must not contain NUL bytes");
  if (flags & MC_IMGURL_PATH_ENCODED) return check_encoded_path(path, pathlen, err, errcap);
  if (!mc_imgurl_utf8_ok(path, pathlen))
    return fail(err, errcap, "path is not valid UTF-8 (Sirv file names are UTF-8; convert Latin-1 first)");
  return 0;
}

/* An output buffer that counts what it would need (snprintf-style). */
typedef struct wbuf {
  char *out;
  size_t cap, n;
} wbuf;

static void put(wbuf *w, const char *s, size_t len) {
  if (w->n + len < w->cap) memcpy(w->out + w->n, s, len);
  w->n += len;
}

static void put_escaped(wbuf *w, const char *s, size_t len, const char *keep) {
  size_t room = w->n < w->cap ? w->cap - w->n : 0;
  w->n += mc_url_escape_keep(s, len, keep, room ? w->out + w->n : NULL, room);
}

size_t mc_imgurl_write(char *out, size_t cap, const char *base, size_t baselen,
                       const char *path, size_t pathlen, unsigned flags,
                       const char *head, const mc_imgopt *opts, size_t n) {
  wbuf w;
  size_t i;
  char sep = '?';
  w.out = out;
  w.cap = cap;
  w.n = 0;
  while (baselen > 0 && base[baselen - 1] == '/') baselen--;
  put(&w, base, baselen);
  if (pathlen == 0 || path[0] != '/') put(&w, "/", 1);
  if (flags & MC_IMGURL_PATH_ENCODED) put(&w, path, pathlen);
  else put_escaped(&w, path, pathlen, "/");
  if (head && *head) {
    put(&w, "?", 1);
    put(&w, head, strlen(head));
    sep = '&';
  }
  for (i = 0; i < n; i++) {
    size_t nl, tl;
    const char *name = mc_imgurl_opt_name(&opts[i], &nl);
    const char *text = mc_imgurl_opt_text(&opts[i], &tl);
    put(&w, &sep, 1);
    put_escaped(&w, name, nl, NULL);
    put(&w, "=", 1);
    put_escaped(&w, text, tl, NULL);
    sep = '&';
  }
  if (w.n < cap) out[w.n] = '\0';
  else if (cap > 0) out[cap - 1] = '\0';
  return w.n;
}

size_t mc_imgurl_plain_path(const char *path, size_t pathlen, unsigned flags, char *out) {
  size_t n = 0;
  long d;
  if (pathlen == 0 || path[0] != '/') out[n++] = '/';
  if (flags & MC_IMGURL_PATH_ENCODED) {
    d = mc_url_unescape(path, pathlen, out + n);
    n += d > 0 ? (size_t)d : 0;
  } else {
    memcpy(out + n, path, pathlen);
    n += pathlen;
  }
  out[n] = '\0';
  return n;
}

/* ---- protected URLs ------------------------------------------------------------ */

/* The secure options as a JSON object (numbers stay numbers), or NULL (no memory). */
static cJSON *args_json(const mc_imgopt *args, size_t nargs) {
  size_t i;
  cJSON *o = cJSON_CreateObject();
  for (i = 0; o && i < nargs; i++) {
    size_t nl, tl;
    const char *text = mc_imgurl_opt_text(&args[i], &tl);
    char name[MC_IMGURL_NAME_MAX + 1];
    const char *nm = mc_imgurl_opt_name(&args[i], &nl);
    cJSON *v;
    memcpy(name, nm, nl);
    name[nl] = '\0';
    if (args[i].wire == MC_IMGV_NUMBER) v = cJSON_CreateNumber(args[i].num);
    else if (args[i].wire == MC_IMGV_BOOL) v = cJSON_CreateBool(args[i].boolean);
    else v = cJSON_CreateString(text); /* NUL-terminated: the caller's string or o->buf */
    if (!v || !cJSON_AddItemToObject(o, name, v)) {
      cJSON_Delete(v);
      cJSON_Delete(o);
      return NULL;
    }
  }
  return o;
}

long mc_imgurl_token(char *out, size_t cap, const void *key, size_t keylen,
                     const char *aud, size_t audlen, long long iat, long long exp,
                     const mc_imgopt *args, size_t nargs, char *err, size_t errcap) {
  cJSON *a = NULL;
  char *claims;
  long n;
  if (keylen == 0) return fail(err, errcap, "key must not be empty");
  if (exp <= iat) return fail(err, errcap, "expires_in must be at least one second");
  if (audlen == 0 || aud[0] != '/' || memchr(aud, '\0', audlen) || !mc_imgurl_utf8_ok(aud, audlen))
    return fail(err, errcap, "aud must be an absolute UTF-8 path ('/', a folder '/a/' or a file)");
  if (nargs > 0 && !(a = args_json(args, nargs))) return fail(err, errcap, "out of memory");
  claims = mc_jwt_sirv_claims(a, aud, iat, exp);
  if (!claims) return fail(err, errcap, "out of memory");
  n = mc_jwt_hs256(key, keylen, claims, strlen(claims), out, cap);
  cJSON_free(claims);
  if (n < 0) return fail(err, errcap, "HMAC-SHA256 failed");
  return n;
}
