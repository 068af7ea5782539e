--- mediacdn.shared.budget_store: Sirv's hourly budgets mirrored in Redis, so a
-- fleet paces as one client.
--
--   local bs = require("mediacdn.shared.budget_store").new{
--     redis = <mediacdn.redis client>, account = "sirv:<hash>",
--     fleet_size = 1,     -- processes sharing the account: the local share while Redis is down
--     safety = 0.01,      -- share of each limit never spent (other users of the account)
--     burst = 0.9,        -- share of each limit that may go back to back; pacing spreads
--                         -- the rest over what is left of the window (as the C policy
--                         -- paces the last 10 % by default)
--     slack = 1,          -- seconds a window may outlive its (whole-second) reset
--     on_event = fn,      -- {type = "shared", component = "budget", action = "fallback"|"resume", reason}
--   }
--   bs:reserve(bucket [, n]) -> wait, status, blocked_type, reset_at
--   bs:observe(rate, status, bucket)   -- after each response (rate = policy:observe(headers))
--   bs:snapshot(bucket) -> { limit, used, reset, blocked, tat, probe } (the mirror, for diagnostics)
--
-- reserve books n requests (default 1) against `bucket` and rest:global at once.
-- status "go": booked, send now; "paced": booked, send after `wait` seconds;
-- "probe": another caller is learning an unknown/new window, ask again after
-- `wait` (nothing booked); "blocked": blocked_type is spent (or a 429 anywhere
-- stopped the fleet) until reset_at (nothing booked).
-- The decision is mediacdn.shared.budget_algo, run atomically in Redis by a
-- script (EVALSHA, EVAL after NOSCRIPT) with Redis TIME as the fleet's clock.
-- observe hands Sirv's X-RateLimit-* values (and a 429) to Redis, which
-- corrects the mirror: Sirv's headers stay the source of truth.
--
-- Keys: <prefix>{<account>}:budget:<type>, a hash (limit, used, reset, blocked,
-- tat, probe) that expires 2 h after its last write; one hash tag per account
-- so both buckets of a reservation live in one cluster slot.
--
-- Failure policy: when a Redis call fails (timeout, down, breaker open) the
-- same algorithm runs on this process's own mirror — kept up to date from the
-- headers all along — with what is left of each budget divided by fleet_size,
-- so the fleet as a whole still stays inside the limit; a 429 blocks this
-- process until the reset. Events report the switch and the return.
local mredis = require "mediacdn.redis"
local margs = require "mediacdn.args"
local algo_mod = require "mediacdn.shared.budget_algo"

local setmetatable, type, tonumber, error, pairs, ipairs, next =
  setmetatable, type, tonumber, error, pairs, ipairs, next

local A = algo_mod.algo
local FIELDS = { "limit", "used", "seen", "reset", "blocked", "tat", "probe" }
local GLOBAL = "rest:global"

local M = {}

-- the algorithm, then loading/saving buckets around it (KEYS = bucket hashes)
local GLUE = [==[
local A = (function() ]==] .. algo_mod.source .. [==[ end)()
local FIELDS = { 'limit', 'used', 'seen', 'reset', 'blocked', 'tat', 'probe' }
local function load_b(key)
  local h, b = redis.call('HGETALL', key), {}
  for i = 1, #h, 2 do b[h[i]] = tonumber(h[i + 1]) end
  return b
end
local function save_b(key, b)
  local args = {}
  for _, f in ipairs(FIELDS) do
    if b[f] then args[#args + 1] = f; args[#args + 1] = string.format('%.6f', b[f]) end
  end
  redis.call('DEL', key)
  if #args > 0 then
    redis.call('HSET', key, unpack(args))
    redis.call('PEXPIRE', key, 7200000)
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
]==]

-- ARGV: n, safety, burst, slack, own type, global type (KEYS[2] absent: one bucket)
local RESERVE = mredis.script(GLUE .. [==[
local own = load_b(KEYS[1]); own.type = ARGV[5]
local glob
if KEYS[2] then glob = load_b(KEYS[2]); glob.type = ARGV[6] end
local o = { safety = tonumber(ARGV[2]), burst = tonumber(ARGV[3]), slack = tonumber(ARGV[4]), share = 1 }
local wait, status, btype, reset_at = A.reserve(own, glob, now, tonumber(ARGV[1]), o)
save_b(KEYS[1], own)
if glob then save_b(KEYS[2], glob) end
return { string.format('%.6f', wait), status, btype, reset_at and string.format('%.3f', reset_at) or '' }
]==])

-- per key i, ARGV[5i-4 .. 5i]: kind ("seen" | "absent"), limit, remaining, reset, is429; ARGV[#]: slack
local OBSERVE = mredis.script(GLUE .. [==[
local slack = tonumber(ARGV[#ARGV])
for i = 1, #KEYS do
  local j = (i - 1) * 5
  local b = load_b(KEYS[i])
  if ARGV[j + 1] == 'absent' then
    A.absent(b, now)
  else
    A.observe(b, tonumber(ARGV[j + 2]), tonumber(ARGV[j + 3]), tonumber(ARGV[j + 4]), now,
      ARGV[j + 5] == '1', slack)
  end
  save_b(KEYS[i], b)
end
return #KEYS
]==])

local Store = {}
Store.__index = Store
Store.__name = "mediacdn.shared.BudgetStore"

function M.new(opts)
  if type(opts) ~= "table" or type(opts.redis) ~= "table" or type(opts.redis.eval) ~= "function" then
    error("mediacdn.shared.budget_store.new: opts.redis must be a mediacdn.redis client", 2)
  end
  if type(opts.account) ~= "string" or opts.account == "" then
    error("mediacdn.shared.budget_store.new: opts.account must be a non-empty string", 2)
  end
  local fn = "mediacdn.shared.budget_store.new"
  local fleet = margs.number(fn, "opts.fleet_size", opts.fleet_size, 1, 1e6, true, 1)
  margs.number(fn, "opts.safety", opts.safety, 0, 0.99, false, 0)
  margs.number(fn, "opts.burst", opts.burst, 0.01, 1, false, 0)
  margs.number(fn, "opts.slack", opts.slack, 0, 1e6, false, 0)
  if opts.on_event ~= nil and type(opts.on_event) ~= "function" then
    margs.raise(fn, "opts.on_event", "a function", opts.on_event, 2)
  end
  return setmetatable({
    redis = opts.redis, account = opts.account,
    opts = { safety = opts.safety or 0.01, burst = opts.burst or 0.9, slack = opts.slack or 1, share = fleet },
    on_event = opts.on_event,
    mirror = {},        -- type -> bucket: this process's own mirror (the fallback)
    degraded = false,
  }, Store)
end

function Store:_key(bucket)
  return self.redis:key("{" .. self.account .. "}", "budget", bucket)
end

function Store:_bucket(t)
  local b = self.mirror[t]
  if not b then
    b = { type = t }
    self.mirror[t] = b
  end
  return b
end

require("mediacdn.shared.degrade").install(Store, "budget") -- _emit, _down, _up

--- Book n requests against bucket (and rest:global): wait, status, blocked_type, reset_at.
function Store:reserve(bucket, n)
  bucket = bucket or GLOBAL
  n = n or 1
  local o = self.opts
  local keys = { self:_key(bucket) }
  if bucket ~= GLOBAL then keys[2] = self:_key(GLOBAL) end
  local res, err = self.redis:eval(RESERVE, keys,
    { n, o.safety, o.burst, o.slack, bucket, GLOBAL })
  if type(res) == "table" then
    self:_up()
    return tonumber(res[1]) or 0, res[2], res[3] or "", tonumber(res[4])
  end
  self:_down(err)
  local own = self:_bucket(bucket)
  local glob = bucket ~= GLOBAL and self:_bucket(GLOBAL) or nil
  return A.reserve(own, glob, self.redis:now(), n, o)
end

-- observe args for one family of a rate table
local function family(args, r, is429)
  args[#args + 1] = "seen"
  args[#args + 1] = r.limit
  args[#args + 1] = r.remaining
  args[#args + 1] = r.reset
  args[#args + 1] = is429 and "1" or "0"
end

--- After a response: rate = policy:observe(headers) ({type, limit, remaining,
-- reset, global = {...}} or nil), status = the HTTP status, bucket = the bucket
-- reserved for the call (marked absent when Sirv named another one).
function Store:observe(rate, status, bucket)
  local fams = {}
  if type(rate) == "table" then
    if rate.type and rate.limit and rate.limit >= 0 then fams[rate.type] = rate end
    if type(rate.global) == "table" and rate.global.limit and rate.global.limit >= 0 then
      fams[GLOBAL] = rate.global
    end
  end
  local limited = status == 429
  -- which family the 429 was for: the one that reads empty (both when unclear)
  local empty = {}
  for t, r in pairs(fams) do if (r.remaining or 1) <= 0 then empty[t] = true end end
  local any_empty = next(empty) ~= nil
  local keys, args = {}, {}
  local now = self.redis:now()
  for t, r in pairs(fams) do
    local is429 = limited and (empty[t] or not any_empty)
    keys[#keys + 1] = self:_key(t)
    family(args, r, is429)
    A.observe(self:_bucket(t), r.limit, r.remaining, r.reset, now, is429, self.opts.slack)
  end
  if bucket and not fams[bucket] and next(fams) ~= nil and status ~= 429 then
    keys[#keys + 1] = self:_key(bucket)
    for _, v in ipairs{ "absent", 0, 0, 0, "0" } do args[#args + 1] = v end
    A.absent(self:_bucket(bucket), now)
  end
  if #keys == 0 then return end
  args[#args + 1] = self.opts.slack
  local res, err = self.redis:eval(OBSERVE, keys, args)
  if res == nil then self:_down(err) else self:_up() end
end

--- The shared mirror of a bucket (Redis), or this process's own while Redis is down.
function Store:snapshot(bucket)
  local h = self.redis:call("HGETALL", self:_key(bucket))
  if type(h) ~= "table" then
    local b, out = self.mirror[bucket] or {}, {}
    for _, f in ipairs(FIELDS) do out[f] = b[f] end
    return out, "local"
  end
  local out = {}
  for i = 1, #h, 2 do out[h[i]] = tonumber(h[i + 1]) end
  return out, "redis"
end

M.GLOBAL = GLOBAL
return M
