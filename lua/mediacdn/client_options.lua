--- The options every service client takes alike (mediacdn.sirv, mediacdn.sparevideos):
-- the transfer limits (defaults from core.defaults), the transport, and the
-- limits table handed to the engine. A client names itself in `who` (e.g.
-- "mediacdn.sirv.new") so a misuse raises "who: option 'x' must be ...".
--
--   local copts = require "mediacdn.client_options"
--   local n = copts.number(opts, "timeout", 30, "mediacdn.sirv.new", 0)
--   local lim = copts.transfer(opts, "mediacdn.sirv.new")  -- timeout, connect_timeout, ...
--   local t = copts.transport(opts, "mediacdn.sirv.new")
--   engine.new{ ..., limits = copts.limits(lim, "wait") }
--   copts.known(opts, "mediacdn.sirv.new", copts.names{ "client_id", ... })  -- a misspelt key raises
local D = require("mediacdn.core").defaults
local args = require "mediacdn.args"
local type, error, tostring, ipairs = type, error, tostring, ipairs
-- the largest timeout or wait the binding accepts (csrc/core/mc_defaults.h MC_MAX_SECONDS)
local MAX_SECONDS = 1e9

local M = {}

-- raise at the caller of the client's new() (who -> new -> this module's function -> check)
local function check(cond, who, msg)
  if not cond then error(("%s: %s"):format(who, msg), 4) end
end

--- A numeric option: default when nil, else a finite number within [lo, hi]
-- (either may be nil; hi defaults to MAX_SECONDS, the binding's largest timeout).
function M.number(opts, k, default, who, lo, hi)
  local v = opts[k]
  if v == nil then return default end
  check(type(v) == "number" and v == v, who, ("option '%s' must be a number"):format(k))
  local top = hi or MAX_SECONDS
  check((not lo or v >= lo) and v <= top, who,
    hi and ("option '%s' must be between %s and %s"):format(k, tostring(lo), tostring(hi))
      or ("option '%s' must be a number >= %s (at most 1e9)"):format(k, tostring(lo)))
  return v
end

--- The transfer limits of a client: timeout, connect_timeout, stall_timeout,
-- transfer_timeout, max_wait (seconds, >= 0), cainfo.
function M.transfer(opts, who)
  return {
    timeout = M.number(opts, "timeout", D.timeout, who, 0),
    connect_timeout = M.number(opts, "connect_timeout", D.connect_timeout, who, 0),
    stall_timeout = M.number(opts, "stall_timeout", D.stall_timeout, who, 0),
    transfer_timeout = M.number(opts, "transfer_timeout", D.transfer_timeout, who, 0),
    max_wait = M.number(opts, "max_wait", D.max_wait, who, 0),
    cainfo = opts.cainfo ~= nil and args.local_path(who, "option 'cainfo'", opts.cainfo, 4) or nil,
  }
end

--- The retry table of a client ({attempts, base, cap, deadline}; {} when nil),
-- checked here so that a NaN, an infinity or an absurd count names the option
-- (the policy core refuses some of them too, without saying whose option it was).
function M.retry(opts, who)
  local r = opts.retry
  if r == nil then return {} end
  check(type(r) == "table", who, "option 'retry' must be a table")
  args.number(who, "option 'retry.attempts'", r.attempts, 1, 1000, true, 0, 4)
  for _, k in ipairs{ "base", "cap", "deadline" } do
    args.number(who, "option 'retry." .. k .. "'", r[k], 0, MAX_SECONDS, false, 0, 4)
  end
  return r
end

--- The pacing option of a client: nil, false or {threshold = 0..1, max_delay = seconds}.
function M.pacing(opts, who)
  local p = opts.pacing
  check(p == nil or p == false or type(p) == "table", who, "option 'pacing' must be a table or false")
  if type(p) == "table" then
    args.number(who, "option 'pacing.threshold'", p.threshold, 0, 1, false, 0, 4)
    args.number(who, "option 'pacing.max_delay'", p.max_delay, 0, MAX_SECONDS, false, 0, 4)
  end
  return p
end

--- The transport of a client: opts.transport as an object or a name (curl, resty),
-- else the default for where the code runs (resty in nginx phases, curl elsewhere).
function M.transport(opts, who)
  local tr = opts.transport
  if tr == nil then return require("mediacdn.transport").default(opts) end
  if type(tr) == "string" then return require("mediacdn.transport." .. tr).new(opts) end
  check(type(tr) == "table" and type(tr.request) == "function", who,
    "option 'transport' must be a transport object or a name (curl, resty)")
  return tr
end

-- The options every client takes (this module's, and the transport's own when
-- a client makes its transport: mediacdn.transport.options, resty's pool).
local COMMON = { "timeout", "connect_timeout", "stall_timeout", "transfer_timeout", "max_wait",
  "cainfo", "retry", "transport", "on_event", "max_body", "keepalive_timeout", "pool_size" }

--- The options a client takes: the common ones and `own` (a list), as the
-- `known` table of mediacdn.args.options (the types are checked by the client).
function M.names(own)
  local known = {}
  for _, k in ipairs(COMMON) do known[k] = "any" end
  for _, k in ipairs(own) do known[k] = "any" end
  return known
end

--- Raise on a key of opts that is no option of the client (`known`, from
-- M.names): a misspelt option (`bse_url`) would otherwise be ignored without a
-- word. The message lists the options there are.
function M.known(opts, who, known)
  args.options(who, 1, opts, known, 4)
end

--- The engine's limits table from a client's transfer limits and rate-limit mode.
function M.limits(c, rate_limit)
  return { timeout = c.timeout, connect_timeout = c.connect_timeout, stall_timeout = c.stall_timeout,
    transfer_timeout = c.transfer_timeout, max_wait = c.max_wait, rate_limit = rate_limit,
    cainfo = c.cainfo }
end

return M
