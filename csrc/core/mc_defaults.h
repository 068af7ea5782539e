/*
** mc_defaults.h — every default and limit of mediacdn, defined once.
**
** The policy core (mc_retry, mc_ratelimit), the HTTP/1.1 framing (mc_http1),
** the JSON bridge, the libcurl transport and the binding read their defaults
** from here; the binding exposes the user-facing ones to Lua once, as
** `core.defaults` (mc_defaults_list below), and the Lua modules read them
** there. Nothing else may repeat one of these numbers.
**
** Times are seconds, sizes bytes.
*/
#ifndef MC_DEFAULTS_H
#define MC_DEFAULTS_H

#include <stddef.h>

#define MC_VERSION "0.1.0"

/* --- transfers (request descriptor fields, docs/internals.md) ---------- */
#define MC_DEFAULT_TIMEOUT 30             /* total per request; 0 = none */
#define MC_DEFAULT_CONNECT_TIMEOUT 10
/* The stall limit N, one meaning for both transports: the request fails
** (kind timeout) once it moved less than 1 byte per second for N seconds —
** sent and received bytes together, counted from when the connection is
** up. curl: CURLOPT_LOW_SPEED_LIMIT 1 with LOW_SPEED_TIME N (whole seconds,
** rounded up; libcurl averages its rate over up to the last 5 s, so after a
** burst a silence trips up to 5 s later). resty: fewer than N bytes in the
** last N seconds (lua/mediacdn/transport/resty.lua, stall_deadline). A drip
** of a byte every 2 s trips both; a silence after data trips both. */
#define MC_DEFAULT_STALL_TIMEOUT 30       /* under 1 byte/s this long: abort */
#define MC_DEFAULT_TRANSFER_TIMEOUT 0     /* total for streamed up/downloads: none */
#define MC_DEFAULT_MAX_BODY ((size_t)256 * 1024 * 1024)  /* in-memory response body */

/* --- retries (mc_retry_policy) ------------------------------------------ */
#define MC_DEFAULT_RETRY_ATTEMPTS 5
#define MC_DEFAULT_RETRY_BASE 0.25        /* first backoff ceiling */
#define MC_DEFAULT_RETRY_CAP 30           /* largest backoff ceiling */
#define MC_DEFAULT_RETRY_DEADLINE 600     /* total across the attempts of a call */

/* --- rate limits (mc_budgets, mc_retry_policy) -------------------------- */
#define MC_DEFAULT_MAX_WAIT 3600          /* longest wait for a rate-limit reset */
#define MC_DEFAULT_PACE_THRESHOLD 0.1     /* pace when remaining <= 10 % of limit */
#define MC_DEFAULT_PACE_MAX_DELAY 10      /* longest pacing delay per request */
#define MC_DEFAULT_MAX_RATE_WAITS 10      /* 429s without a known reset before giving up */

/* --- tokens -------------------------------------------------------------- */
#define MC_DEFAULT_TOKEN_TTL 1200         /* Sirv bearer token lifetime asked for */
#define MC_DEFAULT_TOKEN_LOCK_SLACK 5     /* refresh lock wait = retry deadline + this */

/* --- limits of the parsers (not options) --------------------------------- */
#define MC_JSON_MAX_DEPTH 1000                         /* nesting of a JSON document */
#define MC_JSON_DEFAULT_MAX_BYTES ((size_t)64 * 1024 * 1024)
/* The response head limits, one rule for both transports (mc_http1_head_line:
** libcurl's header callback and the resty transport's byte parser): at most
** 200 header lines and 64 KiB of head (status line, header lines and their
** CRLFs; trailers count again from 0), else kind protocol ("more than 200
** response header lines" / "response head exceeds 65536 bytes"). The byte
** limit stays below libcurl's own 100 KiB buffer for one header line, so a
** longer line, which libcurl refuses before our callback sees it, is over
** our limit too and reported alike (mc_curl_common.c, server_fault). */
#define MC_HTTP1_MAX_HEAD_BYTES ((size_t)64 * 1024)     /* response head + trailers */
#define MC_HTTP1_MAX_HEADER_LINES 200                   /* response head + trailers */
#define MC_HTTP1_MAX_CHUNK_LINE 4096                    /* chunk-size line with extensions */
#define MC_MAX_SECONDS 1e9                              /* largest timeout or sleep accepted */

/* One user-facing default, for the binding's core.defaults table. */
typedef struct mc_default {
  const char *name;   /* key in core.defaults */
  double value;
} mc_default;

/* The user-facing defaults (every key of core.defaults but `version`),
** terminated by { NULL, 0 }. */
extern const mc_default mc_defaults_list[];

#endif
