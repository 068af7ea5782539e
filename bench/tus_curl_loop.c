/*
** bench/tus_curl_loop.c — the baseline for bench/tus.lua: a plain C libcurl
** loop that sends a file to a tus server the way mediacdn does (POST creation,
** then PATCHes of CHUNK bytes streamed from the file with a read callback on
** one reused connection). Prints "seconds <s>" on success.
**   cc -O2 -o tus_curl_loop bench/tus_curl_loop.c -lcurl
**   ./tus_curl_loop ENDPOINT FILE CHUNK_BYTES
*/
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct body {
  FILE *f;
  long long left;
} body;

static char location[2048];

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
  size_t len = sz * n;
  (void)ud;
  if (len > 10 && strncasecmp(p, "location:", 9) == 0) {
    size_t i = 9, j = len;
    while (i < len && p[i] == ' ') i++;
    while (j > i && (p[j - 1] == '\r' || p[j - 1] == '\n')) j--;
    if (j - i < sizeof location) {
      memcpy(location, p + i, j - i);
      location[j - i] = '\0';
    }
  }
  return len;
}

static size_t on_read(char *p, size_t sz, size_t n, void *ud) {
  body *b = (body *)ud;
  size_t want = sz * n;
  if ((long long)want > b->left) want = (size_t)b->left;
  want = fread(p, 1, want, b->f);
  b->left -= (long long)want;
  return want;
}

static size_t on_write(char *p, size_t sz, size_t n, void *ud) {
  (void)p; (void)ud;
  return sz * n;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  CURL *c;
  FILE *f;
  long long size, off = 0, chunk;
  char hbuf[128];
  struct curl_slist *h = NULL;
  long code = 0;
  double t0;
  if (argc != 4) {
    fprintf(stderr, "usage: %s ENDPOINT FILE CHUNK_BYTES\n", argv[0]);
    return 2;
  }
  chunk = atoll(argv[3]);
  f = fopen(argv[2], "rb");
  if (!f || chunk <= 0) return 2;
  fseek(f, 0, SEEK_END);
  size = ftell(f);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  c = curl_easy_init();
  t0 = now();
  snprintf(hbuf, sizeof hbuf, "Upload-Length: %lld", size);
  h = curl_slist_append(h, "Tus-Resumable: 1.0.0");
  h = curl_slist_append(h, hbuf);
  curl_easy_setopt(c, CURLOPT_URL, argv[1]);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
  if (curl_easy_perform(c) != CURLE_OK || !location[0]) return 1;
  curl_slist_free_all(h);
  curl_easy_reset(c);
  while (off < size) {
    body b;
    long long n = size - off < chunk ? size - off : chunk;
    char obuf[64];
    struct curl_slist *ph = NULL;
    fseek(f, (long)off, SEEK_SET);
    b.f = f;
    b.left = n;
    snprintf(obuf, sizeof obuf, "Upload-Offset: %lld", off);
    ph = curl_slist_append(ph, "Tus-Resumable: 1.0.0");
    ph = curl_slist_append(ph, "Content-Type: application/offset+octet-stream");
    ph = curl_slist_append(ph, obuf);
    ph = curl_slist_append(ph, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, location);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH");
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)n);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &b);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, ph);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    if (curl_easy_perform(c) != CURLE_OK) return 1;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(ph);
    if (code != 204) {
      fprintf(stderr, "PATCH answered %ld\n", code);
      return 1;
    }
    off += n;
  }
  printf("seconds %.3f\n", now() - t0);
  curl_easy_cleanup(c);
  fclose(f);
  return 0;
}
