/*
** mc_curl_headers.h — the request header list libcurl sends (CURLOPT_HTTPHEADER).
**
** mc_curl_headers_build() turns a request's headers (validated once, by the
** binding, with the mc_http1 rules) into a curl_slist: "Name: value" lines
** ("Name;" for an empty value), in the request's order, without
** Content-Length and Transfer-Encoding (the body decides those), then blank
** overrides that stop libcurl inventing headers: "Accept:" unless the
** request has its own, and for a request with a body (the only kind libcurl
** adds them to) "Expect:" and "Content-Type:" unless it has its own. With `ae` (mc_curl_headers_ae: the value libcurl
** makes of CURLOPT_ACCEPT_ENCODING ""), a request without its own
** Accept-Encoding gets "Accept-Encoding: <ae>" in the list: the same line
** libcurl would add, without libcurl formatting it again for every request
** (its decoding follows CURLOPT_ACCEPT_ENCODING either way).
** mc_curl_headers_match() says whether a list built
** earlier is exactly the one build would make now, so a handle kept
** configured between requests (mc_curl_easy) sends the same list again
** instead of building and freeing one per request.
**
** No Lua and no global state.
*/
#ifndef MC_CURL_HEADERS_H
#define MC_CURL_HEADERS_H

#include <stddef.h>
#include <curl/curl.h>

#include "mc_http.h"

/* The Accept-Encoding value libcurl sends for CURLOPT_ACCEPT_ENCODING "":
** every content coding it can decode ("deflate, gzip, br, zstd"), or
** "identity" when none. */
void mc_curl_headers_ae(char *buf, size_t cap);

/* Build the list into *out (NULL: libcurl's defaults only); ae may be NULL.
** Returns 0, or -1 when out of memory (*out is then NULL and nothing leaks). */
int mc_curl_headers_build(const mc_headers *h, int has_body, const char *ae,
                          struct curl_slist **out);

/* 1 when `list` is what mc_curl_headers_build(h, has_body, ae) would build, else 0. */
int mc_curl_headers_match(const struct curl_slist *list, const mc_headers *h, int has_body,
                          const char *ae);

#endif
