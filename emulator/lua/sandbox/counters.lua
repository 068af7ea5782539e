-- sandbox.counters: request counters for GET /_sandbox/stats (what tests assert on)
-- and per-day transfer totals behind Sirv's getStatsHttp.

local util = require "sandbox.util"

local pairs = pairs

local counters = {}

local requests, total, token_requests = {}, 0, 0
local limited, limited_total = {}, 0   -- 429s for an exhausted bucket, per bucket
local writes = {}                      -- "METHOD /path" -> { filename -> n } (successful writes)
local transfer = {}   -- day start (epoch s) -> { count = n, size = bytes }

function counters.hit(method, key)
  local k = method .. " " .. key
  requests[k] = (requests[k] or 0) + 1
  total = total + 1
  if method == "POST" and key == "/v2/token" then
    token_requests = token_requests + 1
  end
end

-- a 429 answered because `bucket` was exhausted
function counters.limited(bucket)
  limited[bucket] = (limited[bucket] or 0) + 1
  limited_total = limited_total + 1
end

-- a successful write call naming a file (GET /_sandbox/writes)
function counters.write(key, filename)
  local w = writes[key]
  if not w then
    w = {}
    writes[key] = w
  end
  w[filename] = (w[filename] or 0) + 1
end

function counters.writes()
  return writes
end

function counters.snapshot()
  local r, l = {}, {}
  for k, v in pairs(requests) do r[k] = v end
  for k, v in pairs(limited) do l[k] = v end
  return { requests = r, token_requests = token_requests, total = total,
    rate_limited = l, rate_limited_total = limited_total }
end

function counters.reset()
  requests, total, token_requests = {}, 0, 0
  limited, limited_total, writes = {}, 0, {}
end

-- a CDN-like transfer (download) of `bytes`
function counters.transfer(bytes)
  local day = util.day_start(util.now())
  local t = transfer[day]
  if not t then
    t = { count = 0, size = 0 }
    transfer[day] = t
  end
  t.count = t.count + 1
  t.size = t.size + (bytes or 0)
end

function counters.transfer_day(day)
  return transfer[day]
end

function counters.reset_transfer()
  transfer = {}
end

return counters
