--- mediacdn.shared.policy: the client's C policy with the fleet budget in front.
--
--   local p = require("mediacdn.shared.policy").wrap(core_policy, budget_store,
--     { clock = transport, emit = function(ev) end })
--   engine.new{ ..., policy = p }     -- and bulk.run{ policy = p, ... }
--
-- Every decision stays the C policy's (retries, backoff, what a 429 means,
-- reauth), with one exception that sharing requires: admission before a send
-- books the request in the fleet's budget (mediacdn.shared.budget_store,
-- decided atomically in Redis) instead of the per-process budgets.
--   p:admit(bucket, now [, {rate_limit =, max_wait =}]) -> action, delay, type, reset_at
--     "send" (booked), "pace" (booked: send after delay), "fail" (spent and
--     this call may not wait: rate_limited). A spent budget in "wait" mode,
--     or another caller's probe of a new window, is waited out HERE (through
--     the clock, with a rate_limit event) and booked again, because a request
--     must never leave unbooked.
--   p:observe(headers [, status, bucket]) -- the C policy's observe; with a
--     status (the engine passes it for every response, 2xx included) it also
--     corrects the fleet mirror (a 429 there stops every process).
--   p:peek(bucket, now [, opts]) -- the C policy's own admit, which books
--     nothing: for checks that are not sends (the bulk runner's batch check).
--   p:seed(limits)  -- getAccountLimits' answer: the C policy's budgets and the
--     fleet mirror of every rest:* bucket.
-- Everything else (decide, consume, budget, budgets, backoff, close) is the C
-- policy's.
local setmetatable, type, rawget, pairs, tonumber = setmetatable, type, rawget, pairs, tonumber

local M = {}

local Policy = {}

-- methods the wrapper does not define go to the C policy, bound to it
Policy.__index = function(self, k)
  local own = Policy[k]
  if own ~= nil then return own end
  local c = rawget(self, "c")
  local v = c[k]
  if type(v) ~= "function" then return v end
  local bound = function(_, ...) return v(c, ...) end
  rawget(self, "bound")[k] = bound
  return bound
end

function M.wrap(c, store, opts)
  if (type(c) ~= "table" and type(c) ~= "userdata") or c.observe == nil or c.admit == nil then
    error("mediacdn.shared.policy.wrap: argument #1 must be a core.policy", 2)
  end
  if type(store) ~= "table" or type(store.reserve) ~= "function" or type(store.observe) ~= "function" then
    error("mediacdn.shared.policy.wrap: argument #2 must be a budget store (mediacdn.shared.budget_store)", 2)
  end
  if opts ~= nil and type(opts) ~= "table" then error("mediacdn.shared.policy.wrap: argument #3 must be a table", 2) end
  opts = opts or {}
  if type(opts.clock) ~= "table" or type(opts.clock.sleep) ~= "function" then
    error("mediacdn.shared.policy.wrap: opts.clock must be a transport (now, sleep)", 2)
  end
  local self = setmetatable({ c = c, store = store, clock = opts.clock, emit = opts.emit, bound = {} }, Policy)
  -- bound methods are cached per wrapper
  setmetatable(self.bound, { __mode = "v" })
  return self
end

local MAX_ROUNDS = 1000 -- probes and resets waited out before admit gives up on booking

function Policy:admit(bucket, _now, o) -- (the clock of core.policy's admit: unused here)
  if bucket == nil then return "send", 0 end
  local mode = o and o.rate_limit or "wait"
  local max_wait = o and o.max_wait or math.huge
  for _ = 1, MAX_ROUNDS do
    local wait, status, btype, reset_at = self.store:reserve(bucket)
    if status == "go" then return "send", 0 end
    if status == "paced" then return "pace", wait, bucket end
    if status == "blocked" then
      if mode == "fail" or wait > max_wait then return "fail", 0, btype, reset_at end
      if self.emit then
        self.emit{ type = "rate_limit", reason = "exhausted", ratelimit_type = btype, delay = wait,
          reset_at = reset_at, shared = true }
      end
    end
    self.clock:sleep(wait)
  end
  return "fail", 0, bucket, nil
end

-- The C policy's observe, plus the fleet mirror's correction when the caller
-- gives the response's status (and the request's bucket).
function Policy:observe(headers, status, bucket)
  local rate = self.c:observe(headers)
  -- every response (2xx too: the engine decides nothing on a plain 2xx) corrects
  -- the fleet mirror; a 429 anywhere stops the fleet for its bucket
  if status then self.store:observe(rate or nil, status, bucket) end
  return rate
end

-- getAccountLimits' answer seeds the C policy and corrects the fleet mirror of
-- every REST bucket it lists.
function Policy:seed(limits)
  self.c:seed(limits)
  if type(limits) ~= "table" then return end
  for name, b in pairs(limits) do
    if type(name) == "string" and name:sub(1, 5) == "rest:" and type(b) == "table"
        and tonumber(b.limit) and tonumber(b.remaining) and tonumber(b.reset) then
      self.store:observe({ type = name, limit = tonumber(b.limit), remaining = tonumber(b.remaining),
        reset = tonumber(b.reset) }, 200, nil)
    end
  end
end

function Policy:peek(bucket, now, o)
  return self.c:admit(bucket, now, o)
end

return M
