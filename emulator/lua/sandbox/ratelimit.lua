-- sandbox.ratelimit: Sirv's hourly buckets. A window opens with a bucket's first
-- request and closes `window_seconds` later (3600 by default); the next request
-- opens a new one. Every counted call takes one from rest:global and one from its
-- own bucket, if it has one. Default limits are the Business plan's.

local config = require "sandbox.config"
local util = require "sandbox.util"
local http = require "sandbox.http"

local floor, min, pairs, tostring, format = math.floor, math.min, pairs, tostring, string.format

local ratelimit = {}

ratelimit.defaults = {
  ["rest:global"] = 7000,
  ["rest:post:files:search"] = 1000,
  ["rest:post:files:search:scroll"] = 2000,
  ["rest:post:files:upload"] = 2000,
  ["rest:post:files:fetch"] = 2000,
  ["rest:post:files:delete"] = 3000,
  ["rest:post:files:batch:delete"] = 25,
  ["rest:post:files:video2spin"] = 200,
  ["rest:post:files:spin2video"] = 200,
  ["rest:post:account"] = 50,
  ["rest:post:account:fetching"] = 50,
  ["rest:get:stats:http"] = 100,
  ["rest:get:stats:storage"] = 100,
  ["rest:post:video:toSpin"] = 400,
  ["rest:post:upload:toSirv"] = 2000,
  ["rest:post:account:new"] = 5,
  ["rest:post:user:accounts"] = 20,
  ["rest:get:rest:credentials"] = 50,
  ["s3:global"] = 7000,
  ["s3:PUT"] = 2000,
  ["s3:GET"] = 3000,
  ["s3:DELETE"] = 3000,
  ["ftp:global"] = 10000,
  ["ftp:STOR"] = 5000,
  ["ftp:RETR"] = 5000,
  ["ftp:DELE"] = 5000,
  ["fetch:file"] = 2000,
}

local GLOBAL = "rest:global"

local overrides = {}   -- bucket -> limit set through /_sandbox/limits
local windows = {}     -- bucket -> { count = n, start = t }
local closed = {}      -- windows that ended: { bucket, start, count, limit } (the last 1000)

function ratelimit.limit(name)
  if overrides[name] then return overrides[name] end
  local d = ratelimit.defaults[name] or ratelimit.defaults[GLOBAL]
  local cap = config.hourly_limit
  if cap then
    if name == GLOBAL then return cap end
    return min(d, cap)
  end
  return d
end

local function window(name, now)
  local w = windows[name]
  if w and w.start and now >= w.start + config.window_seconds then
    closed[#closed + 1] = { bucket = name, start = w.start, count = w.count, limit = ratelimit.limit(name) }
    if #closed > 1000 then table.remove(closed, 1) end
    w = nil
  end
  if not w then
    w = { count = 0, start = nil }
    windows[name] = w
  end
  return w
end

-- {count, limit, remaining, reset} without counting
function ratelimit.peek(name, now)
  now = now or util.now()
  local w = window(name, now)
  local limit = ratelimit.limit(name)
  local reset = floor((w.start or now) + config.window_seconds)
  local remaining = limit - w.count
  if remaining < 0 then remaining = 0 end
  return { count = w.count, limit = limit, remaining = remaining, reset = reset }
end

-- take one request from rest:global and from `bucket` (may be nil).
-- returns ok, info; info.global and info.own are peek() results (own has .type);
-- when not ok, info.exhausted is the bucket that is empty (nothing was counted)
function ratelimit.take(bucket, counted)
  local now = util.now()
  local info = {}
  if counted == false then return true, info end
  local g = ratelimit.peek(GLOBAL, now)
  local o = bucket and ratelimit.peek(bucket, now)
  if g.remaining <= 0 then
    info.global, info.own, info.exhausted = g, o, GLOBAL
    if o then o.type = bucket end
    return false, info
  end
  if o and o.remaining <= 0 then
    o.type = bucket
    info.global, info.own, info.exhausted = g, o, bucket
    return false, info
  end
  for _, name in pairs({ GLOBAL, bucket }) do
    local w = window(name, now)
    if not w.start then w.start = now end
    w.count = w.count + 1
  end
  info.global = ratelimit.peek(GLOBAL, now)
  if bucket then
    info.own = ratelimit.peek(bucket, now)
    info.own.type = bucket
  end
  return true, info
end

-- count one use of a non-REST bucket (fetch:file); ignores exhaustion
function ratelimit.count(name)
  local now = util.now()
  local w = window(name, now)
  if not w.start then w.start = now end
  w.count = w.count + 1
end

-- add the rate-limit headers for info to the header table h
function ratelimit.headers(info, h)
  if info.global then
    h["x-global-ratelimit-limit"] = tostring(info.global.limit)
    h["x-global-ratelimit-remaining"] = tostring(info.global.remaining)
    h["x-global-ratelimit-reset"] = tostring(info.global.reset)
  end
  if info.own then
    h["x-ratelimit-limit"] = tostring(info.own.limit)
    h["x-ratelimit-remaining"] = tostring(info.own.remaining)
    h["x-ratelimit-reset"] = tostring(info.own.reset)
    h["x-ratelimit-type"] = info.own.type
  end
  return h
end

-- the 429 answer for an exhausted bucket
function ratelimit.too_many(info)
  local b = info.exhausted == GLOBAL and info.global or info.own
  local reset = b.reset
  local msg = format("Rate limit exceeded for %s: %d requests per hour. Retry after %s",
    info.exhausted, b.limit, util.iso(reset))
  local res = http.boom(429, msg, {
    attributes = { type = info.exhausted, limit = b.limit, remaining = 0, reset = reset },
  })
  ratelimit.headers(info, res.headers)
  if info.exhausted == GLOBAL and not info.own then
    -- clients reading only the X-RateLimit family still learn which bucket and when
    res.headers["x-ratelimit-limit"] = tostring(b.limit)
    res.headers["x-ratelimit-remaining"] = "0"
    res.headers["x-ratelimit-reset"] = tostring(reset)
    res.headers["x-ratelimit-type"] = GLOBAL
  end
  return res
end

-- getAccountLimits: every bucket
function ratelimit.snapshot()
  local now = util.now()
  local out = {}
  for name in pairs(ratelimit.defaults) do
    out[name] = ratelimit.peek(name, now)
  end
  for name in pairs(overrides) do
    out[name] = ratelimit.peek(name, now)
  end
  return out
end

function ratelimit.set(limits, window_seconds)
  for name, n in pairs(limits or {}) do
    overrides[name] = n
  end
  if window_seconds then config.window_seconds = window_seconds end
end

function ratelimit.clear_overrides()
  overrides = {}
end

-- every window restarts now
function ratelimit.reset_windows()
  windows = {}
  closed = {}
end

-- GET /_sandbox/windows: the windows that ended (oldest first) and the open ones
function ratelimit.history()
  local now = util.now()
  local open = {}
  for name in pairs(windows) do
    local w = window(name, now) -- closes it when it has ended
    if w.start then open[#open + 1] = { bucket = name, start = w.start, count = w.count, limit = ratelimit.limit(name) } end
  end
  local done = {}
  for i = 1, #closed do done[i] = closed[i] end
  return { closed = done, open = open, window_seconds = config.window_seconds }
end

function ratelimit.overrides()
  return overrides
end

return ratelimit
