--- Sirv bearer tokens: fetched lazily, cached with an expiry skew, refreshed
-- by one caller at a time (others wait for it), dropped after a 401.
--   local a = auth.new{ store = store, key = key, clock = transport,
--     lock_timeout = seconds, fetch = function() return doc | nil, err end }
--   a:token([now]) -> token | nil, err   a:invalidate(token)
-- (now: the clock's time if the caller has just read it)
-- `fetch` performs POST /v2/token and returns its decoded body ({token=,
-- expiresIn=}); auth knows nothing of the client. The token lives only in the
-- store.
local errors = require "mediacdn.errors"
local D = require("mediacdn.core").defaults

local M = {}

--- The default token store: per client, in this Lua state. Concurrent
-- coroutines (mediacdn.loop) wait on the lock by sleeping through the transport.
local LocalStore = {}
LocalStore.__index = LocalStore

-- lock_ttl: seconds after which a held refresh lock counts as abandoned
function M.local_store(transport, lock_ttl)
  return setmetatable({ entries = {}, locks = {}, transport = transport, lock_ttl = lock_ttl or 60 },
    LocalStore)
end

function LocalStore:get(key)
  local e = self.entries[key]
  if e then return e.token, e.expires_at end
end

function LocalStore:set(key, token, expires_at)
  self.entries[key] = { token = token, expires_at = expires_at }
end

function LocalStore:delete(key)
  self.entries[key] = nil
end

-- A lock whose holder is gone (its coroutine died or was closed, e.g. a cancelled
-- task or an aborted nginx request) or that outlived lock_ttl is free again.
function LocalStore:_stale(l)
  if type(l.owner) == "thread" and coroutine.status(l.owner) == "dead" then return true end
  return self.transport:now() - l.at > self.lock_ttl
end

function LocalStore:lock(key, timeout)
  local t = self.transport
  local l = self.locks[key]
  if not l or self:_stale(l) then
    self.locks[key] = { owner = coroutine.running() or true, at = t:now() }
    return true
  end
  local deadline = t:now() + timeout
  while self.locks[key] do
    if self:_stale(self.locks[key]) then self.locks[key] = nil; break end
    if t:now() > deadline then return nil, "timeout" end
    t:sleep(0.005)
  end
  return false
end

function LocalStore:unlock(key)
  self.locks[key] = nil
end

local Auth = {}
Auth.__index = Auth

--- opts: store (see local_store), key (the store key), clock (now/sleep: the
-- transport), lock_timeout (seconds to wait for another caller's refresh),
-- fetch (function() -> {token=, expiresIn=} | nil, err: the token request).
function M.new(opts)
  if type(opts) ~= "table" or type(opts.fetch) ~= "function" or type(opts.key) ~= "string"
      or type(opts.store) ~= "table" or type(opts.clock) ~= "table" then
    error("mediacdn.sirv.auth.new: argument #1 must be {store=, key=, clock=, fetch=, lock_timeout=}", 2)
  end
  return setmetatable({ store = opts.store, key = opts.key, clock = opts.clock, fetch = opts.fetch,
    lock_timeout = opts.lock_timeout or (D.retry_deadline + D.token_lock_slack) }, Auth)
end

-- Refresh this long before expiry: 60 s as Sirv's own SDKs do, less for short tokens.
local function skew_for(ttl)
  return math.min(60, ttl * 0.25)
end

local function fresh(token, expires_at, now)
  return token and expires_at and expires_at > now
end

--- A valid bearer token, or nil, err. now: the clock's time if the caller has
-- just read it (a cached token is then checked without reading it again).
function Auth:token(now)
  local store, t = self.store, self.clock
  for _ = 1, 5 do
    local token, usable_until = store:get(self.key)
    if token and usable_until and usable_until > (now or t:now()) then return token end -- fresh
    now = nil -- (a later round reads the clock)
    local got, lerr = store:lock(self.key, self.lock_timeout)
    if got == nil then
      return nil, errors.new{ kind = "timeout", service = "sirv", operation = "postToken",
        message = "timed out waiting for another caller's token refresh (" .. tostring(lerr) .. ")" }
    end
    if got then
      -- someone may have refreshed between our get and the lock
      token, usable_until = store:get(self.key)
      if fresh(token, usable_until, t:now()) then
        store:unlock(self.key)
        return token
      end
      local ok, res, err = pcall(self.fetch)
      if ok and res then
        local ttl = tonumber(res.expiresIn) or D.token_ttl
        store:set(self.key, res.token, t:now() + ttl - skew_for(ttl))
      end
      store:unlock(self.key)
      if not ok then error(res, 0) end
      if not res then return nil, err end
      return res.token
    end
    -- got == false: another caller finished a refresh; loop and re-read it
  end
  return nil, errors.new{ kind = "auth", service = "sirv", operation = "postToken",
    message = "could not obtain a token: concurrent refreshes kept failing" }
end

--- Forget a token the server rejected (only if it is still the cached one).
function Auth:invalidate(token)
  local current = self.store:get(self.key)
  -- the token too: a shared store deletes only if it is still that token (another
  -- process may have stored a fresh one since)
  if current == token then self.store:delete(self.key, token) end
end

return M
