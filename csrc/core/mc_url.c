/* mc_url.c — percent-encoding. */
#include "mc_url.h"

static int is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

size_t mc_url_escape(const char *s, size_t len, char *out, size_t outcap) {
  static const char hex[] = "0123456789ABCDEF";
  size_t i, n = 0;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (is_unreserved(c)) {
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
