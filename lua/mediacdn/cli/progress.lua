--- mediacdn.cli.progress: what a command shows while it works.
--
-- One reporter per run, in one of four modes:
--   "tty"   stdout is a terminal: result lines scroll as usual, and under them a
--           live block (one line per active transfer + a total: files, bytes,
--           rate, ETA) is redrawn in place by tick(); a final summary.
--   "log"   stdout is not a terminal: the same result lines, no live block.
--   "json"  one JSON object per result on stdout (for scripts); notices on stderr.
--   "quiet" errors only.
--
--   local r = progress.new{ mode =, out = io.stdout, err = io.stderr, width = 80,
--                           redact = fn(s) -> s, clock = fn() -> seconds (monotonic) }
--   r:phase("Listing /photos")      -- what the total line says before any transfer
--   r:expect(files, bytes)          -- add to the run's totals
--   local t = r:start{ verb = "upload", label = "a/b.jpg", size = n }
--   r:update(t, bytes_done [, total [, rate]])   -- from on_progress
--   r:finish(t, ok)                 -- true: done, false: failed, nil: neither (left
--                                   -- for the next run); the line comes from r:result
--   r:result(text, obj [, is_error]) -- a result: text (tty/log; stderr when is_error),
--                                    -- obj (json mode)
--   r:notice(text)  r:warn(text)    -- stderr lines (not in json/quiet: warn only)
--   r:tick([force])                 -- redraw the live block (at most 5 times a second)
--   r:summary(lines, obj)           -- erase the block, print the summary
--   r:close()                       -- erase the block
local core = require "mediacdn.core"
local format = require "mediacdn.cli.format"

local floor, max, min = math.floor, math.max, math.min
local concat, remove = table.concat, table.remove
local ipairs, tostring, setmetatable = ipairs, tostring, setmetatable

local M = {}

local Reporter = {}
Reporter.__index = Reporter

local REDRAW_EVERY = 0.2  -- seconds
local RATE_WINDOW = 5     -- seconds of samples behind the total rate
local MAX_LINES = 10      -- active transfers shown one per line

local function identity(s) return s end

--- A new reporter (see the header).
function M.new(opts)
  local r = setmetatable({
    mode = opts.mode or "log",
    out = opts.out or io.stdout,
    err = opts.err or io.stderr,
    width = opts.width or 80,
    redact = opts.redact or identity,
    clock = opts.clock or core.monotonic,
    files_total = 0, bytes_total = 0,
    files_done = 0, bytes_done = 0, failed = 0,
    active = {},        -- in start order
    drawn = 0,          -- lines of the live block on screen
    last_draw = -1,
    samples = {},
  }, Reporter)
  r.started = r.clock()
  return r
end

function Reporter:phase(text)
  self.phase_text = text
end

function Reporter:expect(files, bytes)
  self.files_total = self.files_total + (files or 0)
  self.bytes_total = self.bytes_total + (bytes or 0)
end

function Reporter:start(t)
  t.done, t.started = 0, self.clock()
  self.active[#self.active + 1] = t
  return t
end

function Reporter:update(t, bytes, total, rate)
  t.progressive = true
  t.done = bytes or t.done
  if total and total > 0 then t.size = total end
  t.rate = rate
end

function Reporter:finish(t, ok)
  for i, a in ipairs(self.active) do
    if a == t then remove(self.active, i); break end
  end
  if ok == true then
    self.files_done = self.files_done + 1
    self.bytes_done = self.bytes_done + (t.size or t.done or 0)
  elseif ok == false then
    self.failed = self.failed + 1
  end
end

-- Bytes moved so far: finished files and what the active ones have sent.
function Reporter:moved()
  local n = self.bytes_done
  for _, a in ipairs(self.active) do n = n + (a.done or 0) end
  return n
end

-- The live block erased (the cursor back where it began).
function Reporter:erase()
  if self.drawn == 0 then return end
  local parts = { "\r\27[2K" }
  for _ = 2, self.drawn do parts[#parts + 1] = "\27[1A\27[2K" end
  self.out:write(concat(parts))
  self.out:flush() -- before anything goes to stderr, which is not buffered
  self.drawn = 0
end

function Reporter:close()
  if self.mode == "tty" then
    self:erase()
    self.out:flush()
  end
end

-- Write a line to a stream, keeping the live block intact.
function Reporter:emit_line(stream, text)
  text = self.redact(text)
  if self.mode == "tty" then self:erase() end
  stream:write(text, "\n")
  stream:flush() -- a line at a time, also into a pipe (tee, a script reading results)
  if self.mode == "tty" then self.last_draw = -1 end -- redraw at the next tick
end

function Reporter:result(text, obj, is_error)
  if self.mode == "json" then
    if obj then self:emit_line(self.out, format.json(obj)) end
    if is_error and text then self:emit_line(self.err, text) end
  elseif self.mode == "quiet" then
    if is_error and text then self:emit_line(self.err, text) end
  elseif text then
    self:emit_line(is_error and self.err or self.out, text)
  end
end

function Reporter:notice(text)
  if self.mode ~= "quiet" then self:emit_line(self.err, text) end
end

function Reporter:warn(text)
  self:emit_line(self.err, "warning: " .. text)
end

-- The rate of the whole run over the last few seconds (bytes/s), or nil.
function Reporter:rate(now, moved)
  local s = self.samples
  s[#s + 1] = { now, moved }
  while #s > 2 and now - s[1][1] > RATE_WINDOW do remove(s, 1) end
  local dt = now - s[1][1]
  if dt < 0.5 then return nil end
  return (moved - s[1][2]) / dt
end

-- One line for an active transfer.
function Reporter:transfer_line(t, now)
  local parts = { t.verb or "", "" }
  local size = t.size
  if not t.progressive then
    -- no byte counts for this transfer (a plain upload): its size and how long it runs
    parts[#parts + 1] = size and format.size(size) or ""
    parts[#parts + 1] = format.duration(now - t.started)
  elseif size and size > 0 then
    parts[#parts + 1] = ("%s / %s %3d%%"):format(format.size(t.done or 0), format.size(size),
      floor(min(1, (t.done or 0) / size) * 100))
  else
    parts[#parts + 1] = format.size(t.done or 0)
  end
  local rate = t.rate
  if not t.progressive then rate = nil
  elseif not rate and (t.done or 0) > 0 then rate = t.done / max(now - t.started, 0.001) end
  if rate then parts[#parts + 1] = format.rate(rate) end
  local tail = " " .. concat(parts, " ", 3)
  local room = self.width - 1 - #(t.verb or "") - 2 - format.width(tail)
  return ("%s  %s%s"):format(t.verb or "", format.pad(format.fit(t.label or "", max(room, 8)), max(room, 8)), tail)
end

-- The total line: files, bytes, rate, ETA.
function Reporter:total_line(now)
  if self.files_total == 0 and #self.active == 0 and self.phase_text then
    return ("%s ... %s"):format(self.phase_text, format.duration(now - self.started))
  end
  local moved = self:moved()
  local rate = self:rate(now, moved)
  local s = ("Transferred %d/%d files, %s / %s"):format(self.files_done, self.files_total,
    format.size(moved), format.size(self.bytes_total))
  if self.bytes_total > 0 then
    s = s .. (" (%d%%)"):format(floor(min(1, moved / self.bytes_total) * 100))
  end
  if rate then
    s = s .. ", " .. format.rate(rate)
    if rate > 0 and self.bytes_total > moved then
      s = s .. ", ETA " .. format.duration((self.bytes_total - moved) / rate)
    end
  end
  if self.failed > 0 then s = s .. (", %d failed"):format(self.failed) end
  s = s .. ", " .. format.duration(now - self.started)
  return s
end

--- Redraw the live block (tty mode only; throttled unless force).
function Reporter:tick(force)
  if self.mode ~= "tty" then return end
  local now = self.clock()
  if not force and self.last_draw >= 0 and now - self.last_draw < REDRAW_EVERY then return end
  self.last_draw = now
  local lines = {}
  for i, t in ipairs(self.active) do
    if i > MAX_LINES then
      lines[#lines + 1] = ("... and %d more"):format(#self.active - MAX_LINES)
      break
    end
    lines[#lines + 1] = self.redact(self:transfer_line(t, now))
  end
  lines[#lines + 1] = self:total_line(now)
  for i, l in ipairs(lines) do lines[i] = format.fit(l, self.width - 1, true) end
  self:erase()
  self.out:write(concat(lines, "\n"))
  self.out:flush()
  self.drawn = #lines
end

--- The final summary: lines for people, obj for --output json.
function Reporter:summary(lines, obj)
  self:close()
  if self.mode == "json" then
    if obj then self.out:write(self.redact(format.json(obj)), "\n") end
  elseif self.mode ~= "quiet" then
    for _, l in ipairs(lines or {}) do self.out:write(self.redact(tostring(l)), "\n") end
  end
  self.out:flush()
end

return M
