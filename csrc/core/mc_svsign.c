/*
** mc_svsign.c — SpareVideos token signing: PHP JSON (mc_phpjson), standard
** base64 without padding and HMAC-SHA256 hex (mc_crypto). See mc_svsign.h.
*/
#include "mc_svsign.h"

#include "mc_crypto.h"
#include "mc_phpjson.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_err(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  if (err && errlen) {
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* A printable label for field i: its key when the key is plain ASCII, else nothing. */
static void label(const mc_sv_field *f, char *out, size_t outlen) {
  size_t k;
  int plain = f->keylen > 0 && f->keylen < 40;
  for (k = 0; plain && k < f->keylen; k++) {
    unsigned char c = (unsigned char)f->key[k];
    if (c < 0x20 || c >= 0x7F || c == '\'') plain = 0;
  }
  if (plain) snprintf(out, outlen, " ('%.*s')", (int)f->keylen, f->key);
  else out[0] = '\0';
}

static int same_key(const mc_sv_field *a, const mc_sv_field *b) {
  return a->keylen == b->keylen && memcmp(a->key, b->key, a->keylen) == 0;
}

/* Check one field (position i, 0-based) against the rules of mc_svsign.h. */
static int check_field(const mc_sv_field *f, size_t i, const mc_sv_field *all, char *err, size_t errlen) {
  char name[64];
  const char *why = NULL;
  long bad;
  size_t j;
  label(f, name, sizeof name);
  if (!f->key || f->keylen == 0) return set_err(err, errlen, "fields[%zu]: the key must be a non-empty string", i + 1);
  bad = mc_phpjson_check_utf8(f->key, f->keylen, &why);
  if (bad >= 0) return set_err(err, errlen, "fields[%zu]: the key has %s at byte %ld", i + 1, why, bad + 1);
  for (j = 0; j < i; j++) {
    if (same_key(&all[j], f)) return set_err(err, errlen, "fields[%zu]%s: duplicate key (also fields[%zu])", i + 1, name, j + 1);
  }
  switch (f->kind) {
    case MC_SV_STRING:
      bad = mc_phpjson_check_utf8(f->str.s, f->str.n, &why);
      if (bad >= 0) return set_err(err, errlen, "fields[%zu]%s: the value has %s at byte %ld", i + 1, name, why, bad + 1);
      if (f->keylen == 4 && memcmp(f->key, "algo", 4) == 0 && !(f->str.n == 6 && memcmp(f->str.s, "sha256", 6) == 0)) {
        return set_err(err, errlen, "fields[%zu]%s: only algo \"sha256\" is supported", i + 1, name);
      }
      break;
    case MC_SV_INT:
      if (f->keylen == 7 && memcmp(f->key, "expires", 7) == 0 && f->i < 0) {
        return set_err(err, errlen, "fields[%zu]%s: expires must be a non-negative integer (UNIX seconds)", i + 1, name);
      }
      break;
    case MC_SV_BOOL:
      break;
    case MC_SV_LIST:
      if (f->nitems == 0) return set_err(err, errlen, "fields[%zu]%s: a list must not be empty", i + 1, name);
      for (j = 0; j < f->nitems; j++) {
        bad = mc_phpjson_check_utf8(f->items[j].s, f->items[j].n, &why);
        if (bad >= 0) {
          return set_err(err, errlen, "fields[%zu]%s: item %zu has %s at byte %ld", i + 1, name, j + 1, why, bad + 1);
        }
      }
      break;
    default:
      return set_err(err, errlen, "fields[%zu]%s: unsupported value type", i + 1, name);
  }
  if (f->keylen == 7 && memcmp(f->key, "expires", 7) == 0 && f->kind != MC_SV_INT) {
    return set_err(err, errlen, "fields[%zu]%s: expires must be a non-negative integer (UNIX seconds)", i + 1, name);
  }
  return 0;
}

int mc_sv_payload(const mc_sv_field *f, size_t n, char **json, size_t *len, char *err, size_t errlen) {
  mc_phpjson w;
  size_t i, j;
  *json = NULL;
  *len = 0;
  if (n == 0) return set_err(err, errlen, "fields: at least one field is required");
  for (i = 0; i < n; i++) {
    if (check_field(&f[i], i, f, err, errlen) != 0) return -1;
  }
  mc_phpjson_init(&w);
  mc_phpjson_begin_object(&w);
  for (i = 0; i < n; i++) {
    mc_phpjson_key(&w, f[i].key, f[i].keylen);
    switch (f[i].kind) {
      case MC_SV_STRING: mc_phpjson_string(&w, f[i].str.s, f[i].str.n); break;
      case MC_SV_INT: mc_phpjson_int(&w, f[i].i); break;
      case MC_SV_BOOL: mc_phpjson_bool(&w, f[i].b); break;
      case MC_SV_LIST:
        mc_phpjson_begin_array(&w);
        for (j = 0; j < f[i].nitems; j++) mc_phpjson_string(&w, f[i].items[j].s, f[i].items[j].n);
        mc_phpjson_end_array(&w);
        break;
    }
  }
  mc_phpjson_end_object(&w);
  if (w.failed) {
    set_err(err, errlen, "fields: %s", w.err);
    mc_phpjson_free(&w);
    return -1;
  }
  *json = w.buf; /* ownership passes to the caller */
  *len = w.len;
  return 0;
}

int mc_sv_sign_json(const char *json, size_t jlen, const char *key, size_t keylen,
                    char **token, size_t *len, char *err, size_t errlen) {
  unsigned char mac[MC_SHA256_LEN];
  size_t plen;
  char *out;
  *token = NULL;
  *len = 0;
  if (!key || keylen == 0) return set_err(err, errlen, "private_key must be a non-empty string");
  /* P + '.' + 64 hex + NUL */
  out = (char *)malloc(mc_base64_encoded_size(jlen) + 1 + 2 * MC_SHA256_LEN + 1);
  if (!out) return set_err(err, errlen, "out of memory");
  plen = mc_base64_encode((const unsigned char *)json, jlen, out, 0);
  while (plen > 0 && out[plen - 1] == '=') plen--; /* PHP trim($b64, '=') */
  out[plen] = '\0';
  if (mc_hmac_sha256(key, keylen, out, plen, mac) != 0) {
    free(out);
    return set_err(err, errlen, "HMAC-SHA256 failed");
  }
  out[plen] = '.';
  mc_hex(mac, sizeof mac, out + plen + 1);
  *token = out;
  *len = plen + 1 + 2 * MC_SHA256_LEN;
  return 0;
}

int mc_sv_sign(const mc_sv_field *f, size_t n, const char *key, size_t keylen,
               char **token, size_t *len, char *err, size_t errlen) {
  char *json = NULL;
  size_t jlen = 0;
  int rc;
  *token = NULL;
  *len = 0;
  if (!key || keylen == 0) return set_err(err, errlen, "private_key must be a non-empty string");
  if (mc_sv_payload(f, n, &json, &jlen, err, errlen) != 0) return -1;
  rc = mc_sv_sign_json(json, jlen, key, keylen, token, len, err, errlen);
  free(json);
  return rc;
}
