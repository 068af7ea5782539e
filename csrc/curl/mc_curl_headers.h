/*
** mc_curl_headers.h — the request header list libcurl sends (CURLOPT_HTTPHEADER).
**
** mc_curl_headers_build() turns a request's headers (validated once, by the
** binding, with the mc_http1 rules) into a curl_slist: "Name: value" lines
** ("Name;" for an empty value), in the request's order, without
** Content-Length and Transfer-Encoding (the body decides those), then blank
** overrides that stop libcurl inventing headers: "Expect:" and "Accept:"
** unless the request has its own, and "Content-Type:" for a request with a
** body that has none. mc_curl_headers_match() says whether a list built
** earlier is exactly the one build would make now, so a handle kept
** configured between requests (mc_curl_easy) sends the same list again
** instead of building and freeing one per request.
**
** No Lua and no global state.
*/
#ifndef MC_CURL_HEADERS_H
#define MC_CURL_HEADERS_H

#include <curl/curl.h>

#include "mc_http.h"

/* Build the list into *out (NULL: libcurl's defaults only). Returns 0, or -1
** when out of memory (*out is then NULL and nothing leaks). */
int mc_curl_headers_build(const mc_headers *h, int has_body, struct curl_slist **out);

/* 1 when `list` is what mc_curl_headers_build(h, has_body) would build, else 0. */
int mc_curl_headers_match(const struct curl_slist *list, const mc_headers *h, int has_body);

#endif
