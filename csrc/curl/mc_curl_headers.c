/*
** mc_curl_headers.c — the request header list for libcurl (see mc_curl_headers.h).
*/
#include "mc_curl_headers.h"
#include "mc_http1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The blank overrides a request needs (bits), and the lines that send them. */
enum { MC_CURL_OV_EXPECT = 1, MC_CURL_OV_ACCEPT = 2, MC_CURL_OV_CTYPE = 4, MC_CURL_OV_AE = 8 };
static const struct {
  unsigned bit;
  const char *line;
} mc_curl_blank[] = {
  {MC_CURL_OV_EXPECT, "Expect:"}, {MC_CURL_OV_ACCEPT, "Accept:"}, {MC_CURL_OV_CTYPE, "Content-Type:"}
};
#define MC_CURL_NBLANK (sizeof mc_curl_blank / sizeof mc_curl_blank[0])

/* Which overrides h needs: one pass over the names (the first letter rules
** most of them out without a call). */
static unsigned mc_curl_hdr_overrides(const mc_headers *h, int has_body, const char *ae) {
  /* libcurl adds Expect and Content-Type only to a request that sends a body */
  unsigned need = MC_CURL_OV_ACCEPT | (has_body ? MC_CURL_OV_EXPECT | MC_CURL_OV_CTYPE : 0u) |
                  (ae ? MC_CURL_OV_AE : 0u);
  size_t i;
  for (i = 0; i < h->count; i++) {
    const char *n = h->items[i].name;
    switch (n[0] | 0x20) {
      case 'e': if (strcasecmp(n, "Expect") == 0) need &= ~(unsigned)MC_CURL_OV_EXPECT; break;
      case 'a':
        if (strcasecmp(n, "Accept") == 0) need &= ~(unsigned)MC_CURL_OV_ACCEPT;
        else if (strcasecmp(n, "Accept-Encoding") == 0) need &= ~(unsigned)MC_CURL_OV_AE;
        break;
      case 'c': if (strcasecmp(n, "Content-Type") == 0) need &= ~(unsigned)MC_CURL_OV_CTYPE; break;
      default: break;
    }
  }
  return need;
}

/* Append a copy of `line` to *list. */
static int mc_curl_hdr_append(struct curl_slist **list, const char *line) {
  struct curl_slist *l = curl_slist_append(*list, line);
  if (!l) return -1;
  *list = l;
  return 0;
}

/* Append "Name: value" (or "Name;" for an empty value): composed on the stack
** when short, as nearly every header is. */
static int mc_curl_hdr_add(struct curl_slist **list, const char *name, const char *value) {
  char small[256];
  size_t nl = strlen(name), vl = strlen(value);
  char *line = nl + vl + 3 <= sizeof small ? small : malloc(nl + vl + 3);
  int rc;
  if (!line) return -1;
  memcpy(line, name, nl);
  if (vl == 0) {
    line[nl] = ';';
    line[nl + 1] = '\0';
  } else {
    line[nl] = ':';
    line[nl + 1] = ' ';
    memcpy(line + nl + 2, value, vl + 1);
  }
  rc = mc_curl_hdr_append(list, line);
  if (line != small) free(line);
  return rc;
}

void mc_curl_headers_ae(char *buf, size_t cap) {
  /* libcurl's own order: deflate, gzip (zlib), br, zstd */
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  int f = v ? v->features : 0;
  buf[0] = '\0';
  if (f & CURL_VERSION_LIBZ) snprintf(buf, cap, "deflate, gzip");
#ifdef CURL_VERSION_BROTLI
  if (f & CURL_VERSION_BROTLI) snprintf(buf + strlen(buf), cap - strlen(buf), "%sbr", buf[0] ? ", " : "");
#endif
#ifdef CURL_VERSION_ZSTD
  if (f & CURL_VERSION_ZSTD) snprintf(buf + strlen(buf), cap - strlen(buf), "%szstd", buf[0] ? ", " : "");
#endif
  if (!buf[0]) snprintf(buf, cap, "identity");
}

int mc_curl_headers_build(const mc_headers *h, int has_body, const char *ae,
                          struct curl_slist **out) {
  struct curl_slist *list = NULL;
  unsigned need = mc_curl_hdr_overrides(h, has_body, ae);
  size_t i;
  for (i = 0; i < h->count; i++) {
    if (mc_http1_is_framing_header(h->items[i].name)) continue;
    if (mc_curl_hdr_add(&list, h->items[i].name, h->items[i].value) != 0) goto oom;
  }
  for (i = 0; i < MC_CURL_NBLANK; i++)
    if ((need & mc_curl_blank[i].bit) && mc_curl_hdr_append(&list, mc_curl_blank[i].line) != 0)
      goto oom;
  if ((need & MC_CURL_OV_AE) && mc_curl_hdr_add(&list, "Accept-Encoding", ae) != 0) goto oom;
  *out = list;
  return 0;
oom:
  curl_slist_free_all(list);
  *out = NULL;
  return -1;
}

/* Whether `line` is the one mc_curl_hdr_add makes for name and value (names
** are sent with the caller's case, so the comparison is exact). */
static int mc_curl_hdr_line_is(const char *line, const char *name, const char *value) {
  size_t nl = strlen(name);
  if (strncmp(line, name, nl) != 0) return 0;
  line += nl;
  if (value[0] == '\0') return line[0] == ';' && line[1] == '\0';
  return line[0] == ':' && line[1] == ' ' && strcmp(line + 2, value) == 0;
}

int mc_curl_headers_match(const struct curl_slist *list, const mc_headers *h, int has_body,
                          const char *ae) {
  unsigned need = mc_curl_hdr_overrides(h, has_body, ae);
  size_t i;
  for (i = 0; i < h->count; i++) {
    if (mc_http1_is_framing_header(h->items[i].name)) continue;
    if (!list || !mc_curl_hdr_line_is(list->data, h->items[i].name, h->items[i].value)) return 0;
    list = list->next;
  }
  for (i = 0; i < MC_CURL_NBLANK; i++) {
    if (!(need & mc_curl_blank[i].bit)) continue;
    if (!list || strcmp(list->data, mc_curl_blank[i].line) != 0) return 0;
    list = list->next;
  }
  if (need & MC_CURL_OV_AE) {
    if (!list || !mc_curl_hdr_line_is(list->data, "Accept-Encoding", ae)) return 0;
    list = list->next;
  }
  return list == NULL;
}
