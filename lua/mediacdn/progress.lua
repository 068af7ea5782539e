--- mediacdn.progress: progress reports for transfers (tus, standard uploads,
-- downloads). A reporter is fed byte counts and calls the user's
-- on_progress(p) at most every `interval` seconds and exactly once at the end:
--
--   p = { bytes = n, total = n | nil, rate = bytes/s (smoothed), eta = s | nil,
--         elapsed = s, done = false | true }
--
--   local r = progress.new{ total = size, interval = 0.25, on_progress = fn, clock = t.now_fn }
--   r:set(bytes)  -- absolute count (e.g. the server's offset)   r:add(n)  -- n more
--   r:finish()    -- the last report (done = true), once
-- The rate is an exponential moving average of the rate between reports, so a
-- burst (a chunk confirmed at once) does not swing it; eta = (total-bytes)/rate.
local args = require "mediacdn.args"

local M = {}

local type, error, setmetatable, ipairs = type, error, setmetatable, ipairs

local Reporter = {}
Reporter.__index = Reporter

local ALPHA = 0.3        -- weight of the newest rate sample

--- Check an on_progress / progress_interval pair from a caller's opts (raises on misuse).
function M.check(opts, fname)
  if opts.on_progress ~= nil and type(opts.on_progress) ~= "function" then
    error(("%s: opts.on_progress must be a function"):format(fname), 3)
  end
  local iv = opts.progress_interval
  if iv ~= nil and (type(iv) ~= "number" or not (iv >= 0 and iv <= 1e9)) then
    error(("%s: opts.progress_interval must be a number of seconds from 0 to 1e9"):format(fname), 3)
  end
end

--- A reporter, or nil when there is no callback (callers then skip reporting).
function M.new(opts)
  if type(opts) ~= "table" then error("progress.new: argument #1 must be a table of options", 2) end
  if not opts.on_progress then return nil end
  local clock = opts.clock
  if type(opts.on_progress) ~= "function" or type(clock) ~= "function" then
    error("progress.new: on_progress and clock must be functions", 2)
  end
  for _, k in ipairs{ "total", "start", "interval" } do
    args.number("progress.new", "opts." .. k, opts[k], 0, nil, false, 0)
  end
  local now = clock()
  return setmetatable({
    fn = opts.on_progress, total = opts.total, interval = opts.interval or 0.25,
    clock = clock, started = now, last_t = now, last_bytes = opts.start or 0,
    bytes = opts.start or 0, base = opts.start or 0, rate = nil, finished = false,
  }, Reporter)
end

-- compute rate and eta and call the user
local function report(r, now, done)
  local dt = now - r.last_t
  if dt > 0 then
    local inst = (r.bytes - r.last_bytes) / dt
    if inst < 0 then inst = 0 end -- bytes sent but not kept (a failed chunk) go again
    r.rate = r.rate and (ALPHA * inst + (1 - ALPHA) * r.rate) or inst
  elseif not r.rate then
    local el = now - r.started
    r.rate = el > 0 and (r.bytes - r.base) / el or 0
  end
  r.last_t, r.last_bytes = now, r.bytes
  local eta
  if done then eta = 0
  elseif r.total and r.rate and r.rate > 0 then eta = (r.total - r.bytes) / r.rate end
  r.fn{ bytes = r.bytes, total = r.total, rate = r.rate or 0, eta = eta,
    elapsed = now - r.started, done = done }
end

--- The absolute byte count is now `bytes`; reports when the interval has passed.
function Reporter:set(bytes)
  if self.finished then return end
  self.bytes = bytes
  local now = self.clock()
  if now - self.last_t >= self.interval then report(self, now, false) end
end

--- `n` more bytes moved.
function Reporter:add(n)
  return self:set(self.bytes + n)
end

--- The last report (done = true); later calls do nothing.
function Reporter:finish(bytes)
  if self.finished then return end
  if bytes then self.bytes = bytes end
  self.finished = true
  report(self, self.clock(), true)
end

return M
