/*
** stat_loop.c — benchmark baseline: what sirv:stat does per call, in plain C.
** N sequential GETs of URL over one libcurl easy handle (keep-alive), each
** with a bearer token header, the body collected into a buffer and parsed with
** cJSON. Prints "calls_per_s=... seconds=... maxrss_kb=..." on one line.
**
**   stat_loop URL N
*/
#include <cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct bench_buf {
  char *data;
  size_t len, cap;
} bench_buf;

/* libcurl write callback: append to the buffer. */
static size_t bench_write(char *p, size_t size, size_t n, void *ud) {
  bench_buf *b = ud;
  size_t add = size * n;
  if (b->len + add + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap * 2 : 4096;
    char *nd;
    while (ncap < b->len + add + 1) ncap *= 2;
    nd = realloc(b->data, ncap);
    if (!nd) return 0;
    b->data = nd;
    b->cap = ncap;
  }
  memcpy(b->data + b->len, p, add);
  b->len += add;
  b->data[b->len] = '\0';
  return add;
}

static double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  CURL *c;
  struct curl_slist *h = NULL;
  bench_buf b = {NULL, 0, 0};
  struct rusage ru;
  long i, n, status = 0;
  double t0, t;
  if (argc != 3) {
    fprintf(stderr, "usage: stat_loop URL N\n");
    return 2;
  }
  n = atol(argv[2]);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  c = curl_easy_init();
  h = curl_slist_append(h, "Authorization: Bearer bench-token");
  h = curl_slist_append(h, "Accept: application/json");
  curl_easy_setopt(c, CURLOPT_URL, argv[1]);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, bench_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
  t0 = bench_now();
  for (i = 0; i < n; i++) {
    cJSON *doc;
    b.len = 0;
    if (curl_easy_perform(c) != CURLE_OK) {
      fprintf(stderr, "stat_loop: transfer %ld failed\n", i);
      return 1;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    doc = cJSON_ParseWithLength(b.data, b.len);
    if (status != 200 || !doc) {
      fprintf(stderr, "stat_loop: bad response %ld\n", status);
      return 1;
    }
    cJSON_Delete(doc);
  }
  t = bench_now() - t0;
  getrusage(RUSAGE_SELF, &ru);
  printf("calls_per_s=%.1f seconds=%.4f maxrss_kb=%ld\n", (double)n / t, t, ru.ru_maxrss);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  free(b.data);
  curl_global_cleanup();
  return 0;
}
