/*
** mc_http.c — request/response model and header parsing (no I/O).
*/
#include "mc_http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The arena: blocks of at least MC_HTTP_BLOCK bytes, newest first. */
struct mc_headers_block {
  mc_headers_block *prev;
  size_t cap;            /* bytes of data */
  char data[];
};

#define MC_HTTP_BLOCK 1024

void mc_headers_init(mc_headers *h) {
  h->items = NULL;
  h->count = 0;
  h->cap = 0;
  h->blk = NULL;
  h->used = 0;
}

/* Free the arena blocks from b down the chain. */
static void mc_http_free_blocks(mc_headers_block *b) {
  while (b) {
    mc_headers_block *prev = b->prev;
    free(b);
    b = prev;
  }
}

void mc_headers_free(mc_headers *h) {
  mc_http_free_blocks(h->blk);
  free(h->items);
  mc_headers_init(h);
}

void mc_headers_clear(mc_headers *h) {
  if (h->blk && h->blk->cap > MC_HTTP_BLOCK) { /* an unusually large head: let it go */
    mc_http_free_blocks(h->blk);
    h->blk = NULL;
  } else if (h->blk) {
    mc_http_free_blocks(h->blk->prev);
    h->blk->prev = NULL;
  }
  h->used = 0;
  h->count = 0;
}

/* n bytes of the arena, or NULL when out of memory. */
static char *mc_http_alloc(mc_headers *h, size_t n) {
  mc_headers_block *b = h->blk;
  char *p;
  if (!b || b->cap - h->used < n) {
    size_t cap = n > MC_HTTP_BLOCK ? n : MC_HTTP_BLOCK;
    b = malloc(sizeof *b + cap);
    if (!b) return NULL;
    b->prev = h->blk;
    b->cap = cap;
    h->blk = b;
    h->used = 0;
  }
  p = b->data + h->used;
  h->used += n;
  return p;
}

int64_t mc_body_parts_length(const mc_body *b) {
  int64_t n = 0;
  size_t i;
  for (i = 0; i < b->nparts; i++) {
    n += b->parts[i].data ? (int64_t)b->parts[i].len : b->parts[i].length;
  }
  return n;
}

int mc_headers_add(mc_headers *h, const char *name, size_t name_len,
                   const char *value, size_t value_len) {
  char *block;
  if (h->count == h->cap) {
    size_t ncap = h->cap ? h->cap * 2 : 16;
    mc_header *ni = realloc(h->items, ncap * sizeof *ni);
    if (!ni) return -1;
    h->items = ni;
    h->cap = ncap;
  }
  /* "name\0value\0" in the arena */
  block = mc_http_alloc(h, name_len + value_len + 2);
  if (!block) return -1;
  memcpy(block, name, name_len);
  block[name_len] = '\0';
  memcpy(block + name_len + 1, value, value_len);
  block[name_len + 1 + value_len] = '\0';
  h->items[h->count].name = block;
  h->items[h->count].value = block + name_len + 1;
  h->count++;
  return 0;
}

/* c folded to lower case (ASCII) */
static int mc_http_lower(int c) {
  return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

const char *mc_headers_get(const mc_headers *h, const char *name) {
  size_t i;
  int first = mc_http_lower((unsigned char)name[0]);
  for (i = 0; i < h->count; i++) {
    const char *n = h->items[i].name;
    /* the first letter rules most out without a call */
    if (mc_http_lower((unsigned char)n[0]) == first && strcasecmp(n, name) == 0)
      return h->items[i].value;
  }
  return NULL;
}

long mc_headers_find(const mc_headers *h, const char *name, size_t nlen) {
  size_t i;
  int first = nlen == 0 ? '\0' : mc_http_lower((unsigned char)name[0]);
  for (i = 0; i < h->count; i++) {
    const char *n = h->items[i].name;
    /* the length (the value follows the name's NUL) and the first letter
    ** rule most out without a call */
    if ((size_t)(h->items[i].value - n) == nlen + 1 && mc_http_lower((unsigned char)n[0]) == first &&
        strncasecmp(n, name, nlen) == 0)
      return (long)i;
  }
  return -1;
}

int mc_headers_append(mc_headers *h, size_t i, int sep, const char *value, size_t len) {
  mc_header *hd = &h->items[i];
  size_t nlen = (size_t)(hd->value - hd->name) - 1;
  size_t olen = strlen(hd->value), add = sep ? 2 : 0;
  char *nb, *nv;
  if (h->blk && hd->value + olen + 1 == h->blk->data + h->used &&
      h->blk->cap - h->used >= add + len) {
    /* the last bytes of the arena (the header just added or grown): in place */
    nv = hd->value;
    h->used += add + len;
    if (sep) memcpy(nv + olen, ", ", 2);
    memcpy(nv + olen + add, value, len);
    nv[olen + add + len] = '\0';
    return 0;
  }
  /* else name and value move together to the end of the arena; the old
  ** bytes stay unused until the list is cleared */
  nb = mc_http_alloc(h, nlen + 1 + olen + add + len + 1);
  if (!nb) return -1;
  nv = nb + nlen + 1;
  memcpy(nb, hd->name, nlen + 1);
  memcpy(nv, hd->value, olen);
  if (sep) memcpy(nv + olen, ", ", 2);
  memcpy(nv + olen + add, value, len);
  nv[olen + add + len] = '\0';
  hd->name = nb;
  hd->value = nv;
  return 0;
}

void mc_request_init(mc_request *r) {
  memset(r, 0, sizeof *r);
  mc_headers_init(&r->headers);
  r->method = "GET";
  r->body.kind = MC_BODY_NONE;
  r->body.length = -1;
}

void mc_request_free(mc_request *r) {
  mc_headers_free(&r->headers);
}

void mc_response_init(mc_response *r) {
  memset(r, 0, sizeof *r);
  mc_headers_init(&r->headers);
}

void mc_response_free(mc_response *r) {
  mc_headers_free(&r->headers);
  free(r->body);
  r->body = NULL;
  r->body_len = 0;
  r->body_cap = 0;
}

/* Growth of an in-memory body is reserved up front to this much at most when
** the length is announced; past it the buffer grows by doubling. */
#define MC_HTTP_RESERVE_CAP ((size_t)64 * 1024 * 1024)

void mc_response_reserve(mc_response *r, size_t n) {
  char *p;
  /* before the first body byte only; a kept buffer that is big enough serves */
  if (r->body_len != 0 || n == 0 || n > MC_HTTP_RESERVE_CAP || n < r->body_cap) return;
  p = realloc(r->body, n + 1);
  if (!p) return;
  p[0] = '\0';
  r->body = p;
  r->body_cap = n + 1;
}

int mc_response_append(mc_response *r, const char *data, size_t n, size_t max) {
  size_t need;
  if (n > max || r->body_len > max - n) return 1;
  need = r->body_len + n + 1;
  if (need > r->body_cap) {
    size_t ncap = r->body_cap ? r->body_cap : 16384;
    char *p;
    while (ncap < need) ncap = ncap > ((size_t)-1) / 2 ? need : ncap * 2;
    p = realloc(r->body, ncap);
    if (!p) return -1;
    r->body = p;
    r->body_cap = ncap;
  }
  memcpy(r->body + r->body_len, data, n);
  r->body_len += n;
  r->body[r->body_len] = '\0';
  return 0;
}

void mc_transport_error_set(mc_transport_error *e, mc_transport_kind kind,
                            int code, const char *fmt, ...) {
  va_list ap;
  e->kind = kind;
  e->code = code;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
}

const char *mc_transport_kind_name(mc_transport_kind kind) {
  switch (kind) {
    case MC_TERR_TIMEOUT: return "timeout";
    case MC_TERR_TRANSIENT: return "transient";
    case MC_TERR_LOCAL: return "local";
    case MC_TERR_PROTOCOL: return "protocol";
    default: return "none";
  }
}
