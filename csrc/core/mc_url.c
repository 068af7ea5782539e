/* mc_url.c — percent-encoding and decoding. */
#include "mc_url.h"

#include <stdint.h>
#include <string.h>

/* A-Z a-z 0-9 - . _ ~ as a 256-bit set (bit c of word c / 32). */
static const uint32_t UNRESERVED[8] = {0, 0x03FF6000u, 0x87FFFFFEu, 0x47FFFFFEu, 0, 0, 0, 0};

static int is_unreserved(unsigned char c) {
  return (UNRESERVED[c >> 5] >> (c & 31)) & 1u;
}

size_t mc_url_escape(const char *s, size_t len, char *out, size_t outcap) {
  return mc_url_escape_keep(s, len, NULL, out, outcap);
}

size_t mc_url_escape_keep(const char *s, size_t len, const char *keep, char *out, size_t outcap) {
  static const char hex[] = "0123456789ABCDEF";
  size_t i, n = 0;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (is_unreserved(c) || (keep && c != 0 && strchr(keep, c))) {
      if (n + 1 < outcap) out[n] = (char)c;
      n += 1;
    } else {
      if (n + 3 < outcap) {
        out[n] = '%';
        out[n + 1] = hex[c >> 4];
        out[n + 2] = hex[c & 15];
      }
      n += 3;
    }
  }
  if (n < outcap) out[n] = '\0';
  else if (outcap > 0) out[outcap - 1] = '\0';
  return n;
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

long mc_url_unescape(const char *s, size_t len, char *out) {
  size_t i, n = 0;
  for (i = 0; i < len; i++) {
    if (s[i] == '%') {
      int hi, lo;
      if (i + 2 >= len) return -1;
      hi = hexval((unsigned char)s[i + 1]);
      lo = hexval((unsigned char)s[i + 2]);
      if (hi < 0 || lo < 0) return -1;
      out[n++] = (char)(hi * 16 + lo);
      i += 2;
    } else {
      out[n++] = s[i];
    }
  }
  return (long)n;
}
