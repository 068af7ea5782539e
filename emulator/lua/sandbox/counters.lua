-- sandbox.counters: request counters for GET /_sandbox/stats (what tests assert on)
-- and per-day transfer totals behind Sirv's getStatsHttp.

local util = require "sandbox.util"

local pairs = pairs

local counters = {}

local requests, total, token_requests = {}, 0, 0
local transfer = {}   -- day start (epoch s) -> { count = n, size = bytes }

function counters.hit(method, key)
  local k = method .. " " .. key
  requests[k] = (requests[k] or 0) + 1
  total = total + 1
  if method == "POST" and key == "/v2/token" then
    token_requests = token_requests + 1
  end
end

function counters.snapshot()
  local r = {}
  for k, v in pairs(requests) do r[k] = v end
  return { requests = r, token_requests = token_requests, total = total }
end

function counters.reset()
  requests, total, token_requests = {}, 0, 0
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
