--- mediacdn.redis.breaker: a circuit breaker for the Redis client, so a dead or
-- stalled Redis costs one timeout per cool-down, not one per call.
--
--   local b = breaker.new{ failures = 2, cooldown = 2, now = fn, on_change = fn }
--   if b:allow() then ... b:success() | b:failure(reason) end
--   b.state  -- "closed" | "open" | "half_open"
--
-- closed: every call goes through; `failures` consecutive failures open it.
-- open: calls are refused (allow() is false) for `cooldown` seconds, +-20 %
-- jitter so a fleet does not probe in lock-step. Then half_open: exactly one
-- call (the probe) goes through; its success closes the breaker, its failure
-- opens it again. A probe that never reports (its task was cancelled) frees
-- the slot after another cool-down. on_change(state, reason) is called on
-- every transition (the client turns it into an event).
local setmetatable, random = setmetatable, math.random

local M = {}

local Breaker = {}
Breaker.__index = Breaker

function M.new(opts)
  return setmetatable({
    threshold = opts.failures or 2,
    cooldown = opts.cooldown or 2,
    now = opts.now,
    on_change = opts.on_change,
    state = "closed",
    fails = 0,
    open_until = 0,
    probe_until = nil,
  }, Breaker)
end

function Breaker:_set(state, reason)
  if self.state == state then return end
  self.state = state
  if self.on_change then self.on_change(state, reason) end
end

--- May a call go to Redis now?
function Breaker:allow()
  if self.state == "closed" then return true end
  local now = self.now()
  if self.state == "open" then
    if now < self.open_until then return false end
    self:_set("half_open")
  end
  -- half_open: one probe at a time
  if self.probe_until and now < self.probe_until then return false end
  self.probe_until = now + self.cooldown
  return true
end

function Breaker:success()
  self.fails = 0
  self.probe_until = nil
  self:_set("closed")
end

function Breaker:failure(reason)
  self.fails = self.fails + 1
  if self.state == "half_open" or self.fails >= self.threshold then
    self.probe_until = nil
    self.open_until = self.now() + self.cooldown * (0.8 + 0.4 * random())
    if self.state == "open" then return end
    self:_set("open", reason)
  end
end

return M
