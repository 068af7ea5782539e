--- mediacdn.cli.context: what every command gets: its parsed arguments, the
-- reporter (progress.lua) in the right mode, the Sirv client built from the
-- resolved credentials, secret redaction, and the rate-limit bookkeeping.
--
--   local ctx = context.new(args, { out = io.stdout, err = io.stderr })
--   ctx.mode            -- "tty" | "log" | "json" | "quiet"
--   ctx.reporter        -- progress.new{...}
--   ctx.on_limit        -- "stop" (default) | "wait"
--   ctx:sirv()          -- the client (credentials from env / profile; exit 2 without)
--   ctx:sv(), ctx:sv_keys()  -- the SpareVideos client; its keys and API URL
--   ctx:redact(s)       -- s without any secret
--   ctx:limit_hit(err)  -- a rate_limited error: remember the reset, stop scheduling
--   ctx.stopping, ctx.limit = { reset_at =, type = }, ctx.interrupted
--
-- Output mode: --output json, else --quiet, else "tty" when stdout is a terminal
-- (and --no-progress was not given), else "log".
local errors = require "mediacdn.errors"
local config = require "mediacdn.cli.config"
local exit = require "mediacdn.cli.exit"
local format = require "mediacdn.cli.format"
local progress = require "mediacdn.cli.progress"

local os_execute, os_getenv, io_popen = os.execute, os.getenv, io.popen
local tonumber, tostring, type, ipairs, setmetatable = tonumber, tostring, type, ipairs, setmetatable
local ceil, floor = math.ceil, math.floor

local M = {}

local Context = {}
Context.__index = Context

-- Whether stdout is a terminal (the shell's test inherits our descriptor 1).
local function stdout_is_tty()
  local a, _, c = os_execute("test -t 1")
  return (a == true or a == 0) and (c == nil or c == 0)
end

-- Terminal width: $COLUMNS, else stty on the controlling terminal, else 80.
local function term_width()
  local cols = tonumber(os_getenv("COLUMNS") or "")
  if cols and cols > 20 then return cols end
  local p = io_popen("stty size </dev/tty 2>/dev/null")
  if p then
    local out = p:read("*a") or ""
    p:close()
    cols = tonumber(out:match("^%d+%s+(%d+)"))
    if cols and cols > 20 then return cols end
  end
  return 80
end

--- The context of one command run.
function M.new(args, io_)
  io_ = io_ or {}
  local ctx = setmetatable({
    args = args,
    out = io_.out or io.stdout,
    err = io_.err or io.stderr,
    secrets = {},
    on_limit = args.on_limit or "stop",
    verbose = args.verbose,
  }, Context)
  if args.output == "json" then ctx.mode = "json"
  elseif args.quiet then ctx.mode = "quiet"
  elseif not args.no_progress and (io_.tty or (io_.tty == nil and stdout_is_tty())) then ctx.mode = "tty"
  else ctx.mode = "log" end
  ctx.reporter = progress.new{
    mode = ctx.mode, out = ctx.out, err = ctx.err,
    width = ctx.mode == "tty" and term_width() or 80,
    redact = function(s) return ctx:redact(s) end,
  }
  return ctx
end

function Context:redact(s)
  return errors.redact(tostring(s), self.secrets)
end

-- Library events: --verbose lines, and rate-limit waits said out loud.
function Context:on_event(ev)
  local r = self.reporter
  if ev.type == "rate_limit" and ev.reason ~= "pacing" then
    local key = tostring(ev.ratelimit_type) .. ":" .. tostring(ev.reset_at and ceil(ev.reset_at))
    if key ~= self.last_wait then
      self.last_wait = key
      r:notice(("rate limit: the hourly budget %s is used up; waiting %s until it resets at %s"
        .. " (--on-limit stop stops instead)"):format(tostring(ev.ratelimit_type or "rest:global"),
        format.duration(ev.delay or 0), ev.reset_at and format.clock(ev.reset_at) or "?"))
    end
  elseif self.verbose then
    local parts = { ev.type }
    if ev.operation then parts[2] = ev.operation end
    if ev.type == "request" then parts[#parts + 1] = ("%s %s (attempt %d)"):format(tostring(ev.method),
      tostring(ev.path), ev.attempt or 1)
    elseif ev.type == "response" then
      parts[#parts + 1] = ev.status and ("%d"):format(ev.status)
        or ("%s: %s"):format(tostring(ev.error), tostring(ev.message))
      parts[#parts + 1] = ("%.3fs"):format(ev.elapsed or 0)
    elseif ev.type == "retry" then
      parts[#parts + 1] = ("attempt %d failed (%s), retrying in %.2fs"):format(ev.attempt or 0,
        tostring(ev.status or ev.kind), ev.delay or 0)
    elseif ev.type == "rate_limit" then
      parts[#parts + 1] = ("pacing %s: %.2fs"):format(tostring(ev.ratelimit_type), ev.delay or 0)
    elseif ev.type == "token" then
      parts[#parts + 1] = tostring(ev.action)
    elseif ev.action or ev.reason then -- tus, poll, ... events
      parts[#parts + 1] = tostring(ev.action or ev.reason)
    end
    r:notice(table.concat(parts, " "))
  end
end

--- The Sirv client (made once). No credentials: exit 2 with what to do.
function Context:sirv()
  if self._sirv then return self._sirv end
  local v, secrets = config.resolve({ "sirv_client_id", "sirv_client_secret", "sirv_base_url",
    "shared_redis", "fleet_size" },
    { profile = self.args.profile, config = self.args.config })
  for _, s in ipairs(secrets) do self.secrets[#self.secrets + 1] = s end
  if not v.sirv_client_id or not v.sirv_client_secret then
    exit.usage("no Sirv credentials: set SIRV_CLIENT_ID and SIRV_CLIENT_SECRET, or run mediacdn configure")
  end
  local base = v.sirv_base_url
  if base and not base:match("^https?://") then
    exit.usage(("the Sirv API URL must start with http:// or https:// (got %s)"):format(base))
  end
  -- a fleet shares the token, budgets and journals through Redis (README "Fleets")
  local shared
  if v.shared_redis then
    local n = v.fleet_size and tonumber(v.fleet_size)
    if v.fleet_size and not (n and n >= 1 and n == floor(n)) then
      exit.usage(("fleet_size must be a whole number of processes (got %s)"):format(v.fleet_size))
    end
    shared = { redis = v.shared_redis, fleet_size = n }
  end
  self._sirv = require("mediacdn.sirv").new{
    shared = shared,
    client_id = v.sirv_client_id, client_secret = v.sirv_client_secret, base_url = base,
    rate_limit = self.on_limit == "stop" and "fail" or "wait",
    pacing = self.on_limit == "stop" and false or nil,
    on_event = function(ev) self:on_event(ev) end,
  }
  return self._sirv
end

--- The SpareVideos keys and API URL (exit 2 without the keys).
function Context:sv_keys()
  if self._sv_keys then return self._sv_keys end
  local v, secrets = config.resolve({ "sparevideos_public_key", "sparevideos_private_key", "sparevideos_base_url" },
    { profile = self.args.profile, config = self.args.config })
  for _, s in ipairs(secrets) do self.secrets[#self.secrets + 1] = s end
  if not v.sparevideos_public_key or not v.sparevideos_private_key then
    exit.usage("no SpareVideos keys: set SPAREVIDEOS_PUBLIC_KEY and SPAREVIDEOS_PRIVATE_KEY, or run mediacdn configure")
  end
  local base = v.sparevideos_base_url
  if base and not base:match("^https?://[^/]") then
    exit.usage(("the SpareVideos API URL must start with http:// or https:// (got %s)"):format(base))
  end
  self._sv_keys = { public_key = v.sparevideos_public_key, private_key = v.sparevideos_private_key, base_url = base }
  return self._sv_keys
end

--- The SpareVideos client (made once).
function Context:sv()
  if self._sv then return self._sv end
  local k = self:sv_keys()
  self._sv = require("mediacdn.sparevideos").new{ public_key = k.public_key, private_key = k.private_key,
    base_url = k.base_url, on_event = function(ev) self:on_event(ev) end }
  return self._sv
end

--- A rate_limited error: stop scheduling new work, remember the latest reset,
-- and say once when the budget comes back.
function Context:limit_hit(err)
  self.stopping = true
  local reset = type(err) == "table" and tonumber(err.reset_at) or nil
  local lim = self.limit or {}
  self.limit = lim
  if reset and (not lim.reset_at or reset > lim.reset_at) then lim.reset_at = reset end
  lim.type = lim.type or (type(err) == "table" and err.ratelimit_type) or "rest:global"
  if not lim.told then
    lim.told = true
    self.reporter:notice(("rate limit: the hourly budget %s is used up until %s; starting nothing new"):format(
      tostring(lim.type), lim.reset_at and format.clock(lim.reset_at) or "its reset"))
  end
end

--- "the hourly budget X is used up; it resets at 14:05:12 (in 12m03s) ..."
function M.limit_message(lim)
  local when = "later"
  if lim.reset_at then
    when = ("at %s (in %s)"):format(format.clock(lim.reset_at), format.duration(lim.reset_at - os.time()))
  end
  return ("rate limit: the hourly budget %s is used up; it resets %s. Stopping: run the same"
    .. " command again after that (or use --on-limit wait)"):format(tostring(lim.type), when)
end

return M
