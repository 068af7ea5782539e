/*
** mc_defaults.c — the user-facing defaults of mc_defaults.h as a list, so the
** binding builds core.defaults without naming a single value itself.
*/
#include "mc_defaults.h"

const mc_default mc_defaults_list[] = {
  {"timeout", MC_DEFAULT_TIMEOUT},
  {"connect_timeout", MC_DEFAULT_CONNECT_TIMEOUT},
  {"stall_timeout", MC_DEFAULT_STALL_TIMEOUT},
  {"transfer_timeout", MC_DEFAULT_TRANSFER_TIMEOUT},
  {"max_body", (double)MC_DEFAULT_MAX_BODY},
  {"max_wait", MC_DEFAULT_MAX_WAIT},
  {"token_ttl", MC_DEFAULT_TOKEN_TTL},
  {"retry_attempts", MC_DEFAULT_RETRY_ATTEMPTS},
  {"retry_base", MC_DEFAULT_RETRY_BASE},
  {"retry_cap", MC_DEFAULT_RETRY_CAP},
  {"retry_deadline", MC_DEFAULT_RETRY_DEADLINE},
  {"pace_threshold", MC_DEFAULT_PACE_THRESHOLD},
  {"pace_max_delay", MC_DEFAULT_PACE_MAX_DELAY},
  {"max_rate_waits", MC_DEFAULT_MAX_RATE_WAITS},
  {"token_lock_slack", MC_DEFAULT_TOKEN_LOCK_SLACK},
  {NULL, 0}
};
