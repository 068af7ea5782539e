--- mediacdn.cli.format: how the command line shows numbers, times and tables.
-- Pure functions, no I/O:
--   format.size(n) -> "1.2 MiB"        format.rate(bytes_per_s) -> "3.4 MiB/s"
--   format.parse_size("64M") -> 67108864 (nil when not a size)
--   format.duration(s) -> "1h02m", "3m07s", "4s"
--   format.clock(epoch [, now]) -> "14:05:12" (local time; with the date when not today)
--   format.date(epoch) -> "2024-05-01 14:05"
--   format.iso_epoch("2024-05-01T12:00:00.250Z") -> 1714564800.25 (nil when not ISO 8601)
--   format.table(rows, {align = {"l", "r"}}) -> lines with aligned columns
--   format.fit(s, width [, keep_start]) -> s cut to width columns (the middle elided)
--   format.json(value) -> one line of JSON (mediacdn's encoder; never a second writer)
local mediacdn = require "mediacdn"

local floor, abs, max = math.floor, math.abs, math.max
local format, rep, concat = string.format, string.rep, table.concat
local os_date, os_time = os.date, os.time
local type, tostring, tonumber, ipairs = type, tostring, tonumber, ipairs

local M = {}

local UNITS = { "B", "KiB", "MiB", "GiB", "TiB" }

--- Bytes as a short human size (binary units).
function M.size(n)
  n = tonumber(n) or 0
  if n < 1024 then return format("%d B", floor(n)) end
  local i = 1
  while n >= 1024 and i < #UNITS do
    n = n / 1024
    i = i + 1
  end
  return format(n < 10 and "%.1f %s" or "%.0f %s", n, UNITS[i])
end

--- "64M", "1.5G", "300k", "1024" -> bytes (binary units), or nil.
function M.parse_size(s)
  local n, unit = tostring(s):match("^(%d+%.?%d*)%s*([kKmMgGtT]?)[iI]?[bB]?$")
  n = tonumber(n)
  if not n then return nil end
  local mult = ({ [""] = 1, k = 1024, m = 1024 ^ 2, g = 1024 ^ 3, t = 1024 ^ 4 })[unit:lower()]
  return floor(n * mult)
end

--- Bytes per second as a rate.
function M.rate(bps)
  return M.size(bps) .. "/s"
end

--- Seconds as a short duration.
function M.duration(s)
  s = max(0, floor((tonumber(s) or 0) + 0.5))
  if s < 60 then return s .. "s" end
  if s < 3600 then return format("%dm%02ds", floor(s / 60), s % 60) end
  if s < 86400 then return format("%dh%02dm", floor(s / 3600), floor(s % 3600 / 60)) end
  return format("%dd%02dh", floor(s / 86400), floor(s % 86400 / 3600))
end

--- A moment as local wall-clock time, with the date when it is not today.
function M.clock(t, now)
  t = floor(tonumber(t) or 0)
  now = now or os_time()
  if os_date("%Y-%m-%d", t) == os_date("%Y-%m-%d", floor(now)) then
    return os_date("%H:%M:%S", t)
  end
  return os_date("%Y-%m-%d %H:%M:%S", t)
end

--- A moment as a local date and minute (ls -l).
function M.date(t)
  if not t then return "-" end
  return os_date("%Y-%m-%d %H:%M", floor(t))
end

-- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- An ISO 8601 timestamp (as Sirv sends them) as epoch seconds, or nil.
function M.iso_epoch(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[T ](%d%d):(%d%d):(%d%d%.?%d*)(.*)$")
  if not y then return nil end
  local t = days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400
    + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
  if rest == "" or rest == "Z" then return t end
  local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
  if not sign then return nil end
  local off = tonumber(oh) * 3600 + tonumber(om) * 60
  return sign == "+" and t - off or t + off
end

-- Display width of s: UTF-8 continuation bytes take no column.
local function width(s)
  local _, cont = s:gsub("[\128-\191]", "")
  return #s - cont
end
M.width = width

-- The first n columns of s (never cutting a UTF-8 sequence).
local function head(s, n)
  local cols, i = 0, 1
  while i <= #s do
    local c = s:byte(i)
    if c < 128 or c >= 192 then
      if cols == n then break end
      cols = cols + 1
    end
    i = i + 1
  end
  return s:sub(1, i - 1)
end

-- The last n columns of s.
local function tail(s, n)
  local cols, i = 0, #s
  while i >= 1 do
    local c = s:byte(i)
    if c < 128 or c >= 192 then
      if cols == n then break end
      cols = cols + 1
    end
    i = i - 1
  end
  return s:sub(i + 1)
end

--- s cut to at most w columns, eliding the middle ("photos/…/a.jpg" style), or
-- keeping the start when keep_start is true.
function M.fit(s, w, keep_start)
  s = tostring(s)
  if width(s) <= w then return s end
  if w <= 3 or keep_start then return head(s, w) end
  local left = floor((w - 3) / 3)
  return head(s, left) .. "..." .. tail(s, w - 3 - left)
end

--- s padded with spaces to w columns (left- or right-aligned).
function M.pad(s, w, right)
  s = tostring(s)
  local n = w - width(s)
  if n <= 0 then return s end
  if right then return rep(" ", n) .. s end
  return s .. rep(" ", n)
end

--- Rows (lists of strings) as lines with aligned columns; opts.align is a list of
-- "l"/"r" per column; the last column is not padded.
function M.table(rows, opts)
  local align = opts and opts.align or {}
  local widths = {}
  for _, row in ipairs(rows) do
    for i, cell in ipairs(row) do
      widths[i] = max(widths[i] or 0, width(tostring(cell)))
    end
  end
  local lines = {}
  for r, row in ipairs(rows) do
    local cells = {}
    for i, cell in ipairs(row) do
      if i == #row and align[i] ~= "r" then cells[i] = tostring(cell)
      else cells[i] = M.pad(cell, widths[i], align[i] == "r") end
    end
    lines[r] = concat(cells, "  ")
  end
  return lines
end

--- One line of JSON for a Lua value.
function M.json(v)
  local s, err = mediacdn.json_encode(v)
  if not s then error("cannot encode output as JSON: " .. tostring(err), 2) end
  return s
end

--- A plain number when whole, else with decimals (JSON-friendly seconds).
function M.num(n)
  if n == floor(n) and abs(n) < 2 ^ 53 then return floor(n) end
  return n
end

return M
