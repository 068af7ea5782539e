/*
** mc_defaults.h — every default limit of mediacdn, defined once. The core
** initialises its policies from these, the binding exposes them to Lua as
** `core.defaults`, and the Lua modules read them from there (no copies).
** Times are seconds.
*/
#ifndef MC_DEFAULTS_H
#define MC_DEFAULTS_H

#define MC_VERSION "0.1.0"

/* transfers */
#define MC_DEFAULT_TIMEOUT 30.0            /* whole request */
#define MC_DEFAULT_CONNECT_TIMEOUT 10.0
#define MC_DEFAULT_STALL_TIMEOUT 30.0      /* below 1 byte/s this long: abort */
#define MC_DEFAULT_TRANSFER_TIMEOUT 0.0    /* streamed bodies: none (the stall limit guards them) */
#define MC_DEFAULT_MAX_BODY (256.0 * 1024 * 1024) /* in-memory response body cap, bytes */

/* tokens */
#define MC_DEFAULT_TOKEN_TTL 1200.0
#define MC_DEFAULT_TOKEN_LOCK_SLACK 5.0    /* token lock timeout = retry deadline + this */

/* retries */
#define MC_DEFAULT_RETRY_ATTEMPTS 5
#define MC_DEFAULT_RETRY_BASE 0.25
#define MC_DEFAULT_RETRY_CAP 30.0
#define MC_DEFAULT_RETRY_DEADLINE 600.0

/* rate limits */
#define MC_DEFAULT_MAX_WAIT 3600.0         /* never wait longer for a reset */
#define MC_DEFAULT_MAX_RATE_WAITS 10       /* 429 waits per call before giving up */
#define MC_DEFAULT_PACE_THRESHOLD 0.1      /* pace when <= 10 % of a budget is left */
#define MC_DEFAULT_PACE_MAX_DELAY 10.0     /* longest pacing delay per request */

#endif
