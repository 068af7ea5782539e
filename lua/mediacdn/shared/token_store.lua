--- mediacdn.shared.token_store: the Sirv token store in Redis — one bearer token
-- per account for a whole fleet (processes, machines, nginx workers).
--
-- Implements the token store contract of docs/internals.md:
--   store:get(key)              -> token, expires_at | nil
--   store:set(key, token, expires_at)
--   store:lock(key, timeout_s)  -> true | false | nil, "timeout"
--   store:unlock(key)
--   store:delete(key [, token]) -- with token: only if it is still the stored one
--
--   local store = require("mediacdn.shared.token_store").new{
--     redis = require("mediacdn.redis").new{ ... },   -- a mediacdn.redis client
--     lock_ttl = 30,        -- seconds; an abandoned refresh lock frees itself
--     refresh_ahead = 0.25, -- refresh when this share of the lifetime is left
--     cache = 1,            -- seconds a process reuses what it read (0: always ask Redis)
--     on_event = fn,        -- {type = "shared", component = "token", action = "fallback"|"resume", reason}
--   }
--
-- Redis keys (hash-tagged, so a cluster keeps them in one slot):
--   <prefix>{<key>}:token  "expires_at|refresh_at|token", PX = the time left
--   <prefix>{<key>}:lock   the refresh lock: a random owner value, SET NX PX,
--                          released by compare-and-delete
--
-- Refresh ahead: once refresh_at has passed, get() elects ONE caller of the
-- fleet (atomically, in a script: it takes the lock) and tells only that
-- caller the token is stale; everyone else keeps using the still valid token,
-- so nobody waits. The elected caller's lock() succeeds at once, it fetches,
-- set()s and unlocks. With no valid token at all (cold start, after a 401),
-- callers race for the lock; the losers poll it and re-read the token.
-- After a 401, delete(key, token) removes the token only if it is still the
-- one that failed (a script compares), so a fresh token another process has
-- just stored survives.
--
-- Failure policy: every Redis call is bounded by the client's timeout and its
-- circuit breaker. When Redis fails, the store falls back to a per-process
-- store (the same one a client without Redis uses) that already holds the last
-- token read from Redis, so an outage costs at most one token fetch per
-- process and lifetime; an event reports the fallback, and the next
-- successful Redis call resumes sharing (another event).
local auth = require "mediacdn.sirv.auth"
local mredis = require "mediacdn.redis"
local args = require "mediacdn.args"

local setmetatable, tostring, tonumber, type, error = setmetatable, tostring, tonumber, type, error
local format, match = string.format, string.match
local min, max, ceil, floor = math.min, math.max, math.ceil, math.floor
local co_running = coroutine.running

local M = {}

local Store = {}
Store.__index = Store
Store.__name = "mediacdn.shared.TokenStore"

-- get: the token, and whether this caller is elected to refresh it ahead.
-- KEYS: token, lock. ARGV: owner, lock ttl ms, now (the caller's clock).
local GET = mredis.script([[
local v = redis.call('GET', KEYS[1])
if not v then return false end
local exp, ra = string.match(v, '^([^|]*)|([^|]*)|')
exp, ra = tonumber(exp), tonumber(ra)
local now = tonumber(ARGV[3])
if exp and ra and now >= ra and now < exp then
  local px = math.min(tonumber(ARGV[2]), math.floor((exp - now) * 500))
  if px >= 1 and redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', px) then return {v, 1} end
  if redis.call('GET', KEYS[2]) == ARGV[1] then return {v, 1} end
end
return {v, 0}
]])

-- delete the token only if it is still ARGV[1]
local DEL_IF = mredis.script([[
local v = redis.call('GET', KEYS[1])
if v and string.match(v, '^[^|]*|[^|]*|(.*)$') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
]])

-- take the lock for ARGV[1] (or keep it: get() may have taken it in its name): 1 | 0
local LOCK = mredis.script([[
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
]])

-- release a lock only if ARGV[1] still owns it
local UNLOCK = mredis.script([[
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
]])

local random_id = mredis.random_id

--- A store over a mediacdn.redis client (see the head of this file for opts).
function M.new(opts)
  if type(opts) ~= "table" or type(opts.redis) ~= "table" or type(opts.redis.eval) ~= "function" then
    error("mediacdn.shared.token_store.new: opts.redis must be a mediacdn.redis client", 2)
  end
  local fn = "mediacdn.shared.token_store.new"
  args.number(fn, "opts.lock_ttl", opts.lock_ttl, 0.001, 86400, false, 0)
  args.number(fn, "opts.refresh_ahead", opts.refresh_ahead, 0, 0.99, false, 0)
  args.number(fn, "opts.cache", opts.cache, 0, 86400, false, 0)
  args.number(fn, "opts.poll", opts.poll, 0.001, 60, false, 0)
  args.number(fn, "opts.poll_max", opts.poll_max, 0.001, 60, false, 0)
  if opts.on_event ~= nil and type(opts.on_event) ~= "function" then
    args.raise(fn, "opts.on_event", "a function", opts.on_event, 2)
  end
  local fb = opts.fallback
  if fb ~= nil and (type(fb) ~= "table" or type(fb.get) ~= "function" or type(fb.set) ~= "function") then
    args.raise(fn, "opts.fallback", "a token store {get, set, lock, unlock, delete}", fb, 2)
  end
  local redis = opts.redis
  -- the per-process fallback sleeps and reads the clock through the Redis client
  local clock = { now = function() return redis:now() end, sleep = function(_, s) return redis:sleep(s) end }
  local lock_ttl = opts.lock_ttl or 30
  return setmetatable({
    redis = redis,
    id = random_id(),
    lock_ttl = lock_ttl,
    refresh_ahead = opts.refresh_ahead or 0.25,
    cache_s = opts.cache or 1,
    poll = opts.poll or 0.01, poll_max = opts.poll_max or 0.1,
    on_event = opts.on_event,
    fallback = opts.fallback or auth.local_store(clock, lock_ttl),
    cache = {},        -- key -> { token, expires_at, until }
    held = {},         -- key .. "\0" .. owner -> "redis" | "local" (from lock to unlock)
    degraded = false,
  }, Store)
end

function Store:_keys(key)
  return self.redis:key("{" .. key .. "}", "token"), self.redis:key("{" .. key .. "}", "lock")
end

-- The lock owner of the calling coroutine (each request/task is its own caller).
function Store:_owner()
  return self.id .. ":" .. tostring(co_running() or "main"):gsub("^thread: ", "")
end

require("mediacdn.shared.degrade").install(Store, "token") -- _emit, _down, _up

local function parse(v)
  local exp, ra, token = match(v, "^([^|]*)|([^|]*)|(.*)$")
  return token, tonumber(exp), tonumber(ra)
end

function Store:get(key)
  local now = self.redis:now()
  local c = self.cache[key]
  if c and now < c.until_ then return c.token, c.expires_at end
  local tk, lk = self:_keys(key)
  local owner = self:_owner()
  local res, err = self.redis:eval(GET, { tk, lk }, { owner, floor(self.lock_ttl * 1000), format("%.3f", now) })
  if res == nil then return self:_down(err):get(key) end
  self:_up()
  if res == mredis.null or type(res) ~= "table" then
    self.cache[key] = nil
    return nil
  end
  local token, exp = parse(res[1])
  if not token then return nil end
  self.fallback:set(key, token, exp) -- for an outage: the fleet's token, not a new one
  if res[2] == 1 then
    -- elected (the lock is taken in its name): to this caller alone the token reads
    -- as stale, so it refreshes; its lock() finds the lock already its own
    return token, now - 1
  end
  self.cache[key] = { token = token, expires_at = exp, until_ = min(now + self.cache_s, exp) }
  return token, exp
end

function Store:set(key, token, expires_at)
  if type(token) ~= "string" then error("token_store:set: token must be a string", 2) end
  expires_at = tonumber(expires_at) or 0
  local now = self.redis:now()
  local life = expires_at - now
  self.fallback:set(key, token, expires_at)
  local tk = self:_keys(key)
  if life <= 0 then
    self.cache[key] = nil
    local _, err = self.redis:call("DEL", tk)
    if err then self:_down(err) end
    return true
  end
  local refresh_at = now + life * (1 - self.refresh_ahead)
  local _, err = self.redis:call("SET", tk, format("%.3f|%.3f|%s", expires_at, refresh_at, token),
    "PX", max(1, ceil(life * 1000)))
  if err then self:_down(err) else self:_up() end
  self.cache[key] = { token = token, expires_at = expires_at, until_ = min(now + self.cache_s, refresh_at) }
  return true
end

function Store:lock(key, timeout)
  local owner = self:_owner()
  local hk = key .. "\0" .. owner
  local _, lk = self:_keys(key)
  local redis = self.redis
  local res, err = redis:eval(LOCK, { lk }, { owner, floor(self.lock_ttl * 1000) })
  if res == nil then
    local got, lerr = self:_down(err):lock(key, timeout)
    if got then self.held[hk] = "local" end
    return got, lerr
  end
  self:_up()
  if res == 1 then
    self.held[hk] = "redis"
    return true
  end
  -- another caller refreshes: wait until its lock is gone, then re-read
  local deadline = redis:now() + (timeout or 10)
  local wait = self.poll
  while true do
    local left = deadline - redis:now()
    if left <= 0 then return nil, "timeout" end
    redis:sleep(min(wait, left))
    local n, gerr = redis:call("EXISTS", lk)
    if n == nil then
      self:_down(gerr)
      return false -- re-read: get() now falls back to this process's store
    end
    if n == 0 then return false end
    wait = min(wait * 2, self.poll_max)
  end
end

function Store:unlock(key)
  local owner = self:_owner()
  local hk = key .. "\0" .. owner
  local where = self.held[hk]
  self.held[hk] = nil
  if where == "local" then
    self.fallback:unlock(key)
  elseif where == "redis" then
    local _, lk = self:_keys(key)
    self.redis:eval(UNLOCK, { lk }, { owner }) -- on failure the lock expires by itself
  end
end

function Store:delete(key, token)
  local c = self.cache[key]
  if c and (token == nil or c.token == token) then self.cache[key] = nil end
  if token == nil or self.fallback:get(key) == token then self.fallback:delete(key) end
  local tk = self:_keys(key)
  local _, err
  if token ~= nil then _, err = self.redis:eval(DEL_IF, { tk }, { token })
  else _, err = self.redis:call("DEL", tk) end
  if err then self:_down(err) end
end

return M
