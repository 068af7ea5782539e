/*
** tus_patch_loop.c — benchmark baseline for the tus row (bench/tus.lua): a
** plain C libcurl loop that sends FILE to a tus server the way mediacdn.tus
** does (a creation POST, then PATCHes of CHUNK bytes streamed from the file by
** a read callback over one reused connection, with the same libcurl buffer
** sizes; no checksum, no journal). Prints
** "seconds=... mib_per_s=... maxrss_kb=... cpu_s=..." on one line (cpu_s:
** user + system CPU time of the whole process).
**
**   tus_patch_loop ENDPOINT FILE CHUNK_BYTES
*/
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>

typedef struct tpl_body {
  FILE *f;
  long long left;
} tpl_body;

static char tpl_location[2048];

/* header callback: remember the creation answer's Location */
static size_t tpl_on_header(char *p, size_t sz, size_t n, void *ud) {
  size_t len = sz * n;
  (void)ud;
  if (len > 10 && strncasecmp(p, "location:", 9) == 0) {
    size_t i = 9, j = len;
    while (i < len && p[i] == ' ') i++;
    while (j > i && (p[j - 1] == '\r' || p[j - 1] == '\n')) j--;
    if (j - i < sizeof tpl_location) {
      memcpy(tpl_location, p + i, j - i);
      tpl_location[j - i] = '\0';
    }
  }
  return len;
}

/* read callback: at most the chunk's remaining bytes from the file */
static size_t tpl_on_read(char *p, size_t sz, size_t n, void *ud) {
  tpl_body *b = ud;
  size_t want = sz * n;
  if ((long long)want > b->left) want = (size_t)b->left;
  want = fread(p, 1, want, b->f);
  b->left -= (long long)want;
  return want;
}

static size_t tpl_on_write(char *p, size_t sz, size_t n, void *ud) {
  (void)p;
  (void)ud;
  return sz * n;
}

static double tpl_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  CURL *c;
  FILE *f;
  long long size, off = 0, chunk;
  char hbuf[128];
  struct curl_slist *h = NULL;
  struct rusage ru;
  long code = 0;
  double t0, t;
  if (argc != 4) {
    fprintf(stderr, "usage: tus_patch_loop ENDPOINT FILE CHUNK_BYTES\n");
    return 2;
  }
  chunk = atoll(argv[3]);
  f = fopen(argv[2], "rb");
  if (!f || chunk <= 0 || fseeko(f, 0, SEEK_END) != 0) {
    fprintf(stderr, "tus_patch_loop: cannot read %s (or a bad chunk size)\n", argv[2]);
    return 2;
  }
  size = (long long)ftello(f);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  c = curl_easy_init();
  t0 = tpl_now();
  snprintf(hbuf, sizeof hbuf, "Upload-Length: %lld", size);
  h = curl_slist_append(h, "Tus-Resumable: 1.0.0");
  h = curl_slist_append(h, hbuf);
  curl_easy_setopt(c, CURLOPT_URL, argv[1]);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, tpl_on_header);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tpl_on_write);
  if (curl_easy_perform(c) != CURLE_OK || !tpl_location[0]) {
    fprintf(stderr, "tus_patch_loop: the creation POST failed\n");
    return 1;
  }
  curl_slist_free_all(h);
  curl_easy_reset(c); /* keeps the connection */
  while (off < size) {
    tpl_body b;
    long long n = size - off < chunk ? size - off : chunk;
    char obuf[64];
    struct curl_slist *ph = NULL;
    if (fseeko(f, (off_t)off, SEEK_SET) != 0) return 1;
    b.f = f;
    b.left = n;
    snprintf(obuf, sizeof obuf, "Upload-Offset: %lld", off);
    ph = curl_slist_append(ph, "Tus-Resumable: 1.0.0");
    ph = curl_slist_append(ph, "Content-Type: application/offset+octet-stream");
    ph = curl_slist_append(ph, obuf);
    ph = curl_slist_append(ph, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, tpl_location);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH");
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)n);
    /* the buffer sizes mediacdn's curl transport sets: a baseline as tuned as it */
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 128L * 1024L);
#if LIBCURL_VERSION_NUM >= 0x073e00
    curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024L);
#endif
    curl_easy_setopt(c, CURLOPT_READFUNCTION, tpl_on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &b);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, ph);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tpl_on_write);
    if (curl_easy_perform(c) != CURLE_OK) {
      fprintf(stderr, "tus_patch_loop: the PATCH at %lld failed\n", off);
      return 1;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(ph);
    if (code != 204) {
      fprintf(stderr, "tus_patch_loop: the PATCH at %lld answered %ld\n", off, code);
      return 1;
    }
    off += n;
  }
  t = tpl_now() - t0;
  getrusage(RUSAGE_SELF, &ru);
  printf("seconds=%.4f mib_per_s=%.1f maxrss_kb=%ld cpu_s=%.3f\n", t, (double)size / 1048576.0 / t,
         ru.ru_maxrss,
         (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
             (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
  curl_easy_cleanup(c);
  curl_global_cleanup();
  fclose(f);
  return 0;
}
