--- mediacdn.shared.budget_algo: the fleet budget algorithm, ONE source run in two
-- places: inside Redis (embedded in the reserve/observe scripts of
-- mediacdn.shared.budget_store, atomically, with Redis TIME as the clock) and in
-- the client (the per-process fallback while Redis is down). The text below is
-- plain Lua 5.1 (Redis' interpreter): no goto, no integer division, no library
-- beyond math.
--
-- A bucket is a table { limit, used, seen, reset, blocked, tat, probe } mirroring one
-- Sirv budget (X-RateLimit-Type, or rest:global): limit/reset as Sirv sent them
-- (reset in epoch seconds), used = requests counted in this window (the
-- fleet's reservations, corrected upwards by Sirv's headers), seen = the
-- highest count Sirv reported in this window (used - seen: booked requests
-- Sirv has not counted yet, carried into the next window), blocked = no
-- request before this time (a 429), tat = the GCRA "theoretical arrival time"
-- of the next request, probe = a first request of a new window is in flight.
--
-- reserve(own, glob, now, n, o) -> wait, status, blocked_type, reset_at
--   o = { safety = share of the limit held back (0.01), burst = share of the
--   limit that may go at once (0.9), share = processes splitting what is left
--   (1 with Redis; fleet_size in the fallback), slack = seconds a window may
--   outlive its announced reset (1: Sirv rounds resets down to the second) }.
--   status "go": booked, send now. "paced": booked, send after `wait` seconds
--   (a reservation with a delay). "probe": another caller's probe of an
--   unknown or new window is out; nothing booked, ask again after `wait`.
--   "blocked": blocked_type is spent (or a 429 stopped the fleet) until
--   reset_at; nothing booked.
--   Pacing spreads what is left of the window evenly over what is left of it:
--   T = (reset - now) / left, and GCRA lets `burst` requests go back to back.
--   Unknown or ended windows let ONE request through (the probe that learns the
--   new window from Sirv's headers); the others wait a moment.
-- observe(b, limit, remaining, reset, now, is429, slack)
--   Sirv's headers are the truth: a later reset starts a new window (used =
--   limit - remaining); within a window used only grows (responses arrive out of
--   order). A 429 marks the budget spent and blocks it until its reset.
-- absent(b, now): the response carried no headers for this bucket: it is not
--   a budget of its own (no probes for it until the mark expires).
local M = {}

M.source = [==[
local A = {}
local max, min, abs = math.max, math.min, math.abs
local PROBE_S = 2        -- a probe that never answers frees the window after this long
local PROBE_WAIT = 0.05  -- how long the others wait for the probe's headers

-- one bucket's verdict: wait, blocked, tat_after (nil: nothing to book), probe
function A.check(b, now, n, o)
  if not b or b.limit == nil then
    if b and b.probe and b.probe > now then return PROBE_WAIT, false end
    return 0, false, nil, true
  end
  if b.limit < 0 then return 0, false end
  if b.blocked and b.blocked > now then return b.blocked - now, true end
  -- resets are whole seconds (rounded down): the window may run up to `slack` longer
  local ends = (b.reset or 0) + o.slack
  if ends <= now then
    if b.probe and b.probe > now then return PROBE_WAIT, false end
    return 0, false, nil, true
  end
  local cap = b.limit - math.ceil(b.limit * o.safety)
  local left = (cap - (b.used or 0)) / o.share
  if left < n then return ends - now, true end
  -- spread over what is left until the announced reset; past it (the window may
  -- still run for up to `slack`) what is left of the old budget may go at once
  local window_left = (b.reset > now and b.reset or ends) - now
  local T = window_left / left
  local tat = max(b.tat or now, now)
  local wait = max(0, tat - now - o.burst * b.limit * T)
  -- a schedule that fell behind never costs budget: what is left goes before the reset
  if wait > window_left - T then wait = max(0, window_left - T) end
  return wait, false, tat + n * T
end

function A.reserve(own, glob, now, n, o)
  local w1, bl1, t1, p1 = A.check(own, now, n, o)
  local w2, bl2, t2, p2 = 0, false, nil, nil
  if glob then w2, bl2, t2, p2 = A.check(glob, now, n, o) end
  if bl1 or bl2 then
    if bl1 and (not bl2 or w1 >= w2) then return w1, "blocked", own.type or "", now + w1 end
    return w2, "blocked", glob.type or "", now + w2
  end
  if (w1 > 0 and t1 == nil) or (w2 > 0 and t2 == nil) then
    return max(w1, w2), "probe", "", nil -- another caller's probe is out: nothing booked
  end
  local list = { { own, t1, p1 }, { glob, t2, p2 } }
  for i = 1, 2 do
    local b, tat, probe = list[i][1], list[i][2], list[i][3]
    if b then
      if probe then b.probe = now + PROBE_S end
      if tat then b.tat = tat end
      -- a local share books as if every process did the same (o.share = fleet size)
      if b.limit and b.limit >= 0 then b.used = (b.used or 0) + n * o.share end
    end
  end
  local wait = max(w1, w2)
  return wait, wait > 0 and "paced" or "go", "", nil
end

function A.observe(b, limit, remaining, reset, now, is429, slack)
  if not limit or limit < 0 or not reset then return end
  remaining = max(0, remaining or 0)
  local count = limit - remaining
  if not b.reset or b.limit == nil or b.limit < 0 or reset > b.reset + 2 then
    -- a new window: bookings Sirv had not counted yet are still on their way
    -- and will count in this one
    local pending = max(0, (b.used or 0) - (b.seen or 0))
    if b.limit == nil or b.limit < 0 then pending = 0 end
    b.reset, b.seen, b.used, b.tat, b.blocked = reset, count, count + pending, now, nil
  elseif reset >= b.reset - 2 then
    b.seen = max(b.seen or 0, count)
    b.used = max(b.used or 0, count)
  else
    return -- a late answer from a window that has ended
  end
  b.limit = limit
  b.probe = nil
  if is429 then
    b.used = limit
    if reset + slack > (b.blocked or 0) then b.blocked = reset + slack end
  end
end

function A.absent(b, now)
  if b.limit == nil then
    b.limit = -1
    b.reset = now + 3600
    b.probe = nil
  end
end

return A
]==]

local load = loadstring or load -- luacheck: ignore
M.algo = assert(load(M.source, "=budget_algo"))()

return M
