/*
** multi_conc.c — benchmark baseline for concurrency: M GETs of URL through one
** curl_multi handle with at most C in flight (each with a bearer token header,
** the body collected and parsed with cJSON), connections reused. Prints
** "seconds=... calls_per_s=... maxrss_kb=..." on one line.
**
**   multi_conc URL M C
*/
#include <cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct bench_xfer {
  CURL *easy;
  char *data;
  size_t len, cap;
} bench_xfer;

/* libcurl write callback: append to the transfer's buffer. */
static size_t bench_write(char *p, size_t size, size_t n, void *ud) {
  bench_xfer *x = ud;
  size_t add = size * n;
  if (x->len + add + 1 > x->cap) {
    size_t ncap = x->cap ? x->cap * 2 : 4096;
    char *nd;
    while (ncap < x->len + add + 1) ncap *= 2;
    nd = realloc(x->data, ncap);
    if (!nd) return 0;
    x->data = nd;
    x->cap = ncap;
  }
  memcpy(x->data + x->len, p, add);
  x->len += add;
  x->data[x->len] = '\0';
  return add;
}

static double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* (Re)start a transfer on x. */
static void bench_start(CURLM *m, bench_xfer *x) {
  x->len = 0;
  curl_multi_add_handle(m, x->easy);
}

int main(int argc, char **argv) {
  CURLM *m;
  struct curl_slist *h = NULL;
  bench_xfer *xs;
  struct rusage ru;
  long total, conc, started = 0, finished = 0, i;
  int running = 0;
  double t0, t;
  if (argc != 4) {
    fprintf(stderr, "usage: multi_conc URL M C\n");
    return 2;
  }
  total = atol(argv[2]);
  conc = atol(argv[3]);
  if (conc > total) conc = total;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  m = curl_multi_init();
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, conc);
  h = curl_slist_append(h, "Authorization: Bearer bench-token");
  xs = calloc((size_t)conc, sizeof *xs);
  for (i = 0; i < conc; i++) {
    xs[i].easy = curl_easy_init();
    curl_easy_setopt(xs[i].easy, CURLOPT_URL, argv[1]);
    curl_easy_setopt(xs[i].easy, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(xs[i].easy, CURLOPT_WRITEFUNCTION, bench_write);
    curl_easy_setopt(xs[i].easy, CURLOPT_WRITEDATA, &xs[i]);
    curl_easy_setopt(xs[i].easy, CURLOPT_PRIVATE, &xs[i]);
    curl_easy_setopt(xs[i].easy, CURLOPT_TIMEOUT_MS, 60000L);
  }
  t0 = bench_now();
  for (i = 0; i < conc; i++, started++) bench_start(m, &xs[i]);
  while (finished < total) {
    CURLMsg *msg;
    int left;
    curl_multi_perform(m, &running);
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
      bench_xfer *x;
      cJSON *doc;
      if (msg->msg != CURLMSG_DONE) continue;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
      if (msg->data.result != CURLE_OK) {
        fprintf(stderr, "multi_conc: a transfer failed: %s\n", curl_easy_strerror(msg->data.result));
        return 1;
      }
      doc = cJSON_ParseWithLength(x->data, x->len);
      if (!doc) {
        fprintf(stderr, "multi_conc: bad response body\n");
        return 1;
      }
      cJSON_Delete(doc);
      curl_multi_remove_handle(m, x->easy);
      finished++;
      if (started < total) {
        bench_start(m, x);
        started++;
      }
    }
    if (finished < total) curl_multi_poll(m, NULL, 0, 1000, NULL);
  }
  t = bench_now() - t0;
  getrusage(RUSAGE_SELF, &ru);
  printf("seconds=%.4f calls_per_s=%.1f maxrss_kb=%ld\n", t, (double)total / t, ru.ru_maxrss);
  for (i = 0; i < conc; i++) {
    curl_easy_cleanup(xs[i].easy);
    free(xs[i].data);
  }
  free(xs);
  curl_slist_free_all(h);
  curl_multi_cleanup(m);
  curl_global_cleanup();
  return 0;
}
