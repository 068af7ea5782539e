--- sandbox.query.dates: dates as epoch milliseconds (proleptic Gregorian,
-- UTC): ISO 8601 and epoch-millis parsing with Elasticsearch's round-up rules,
-- and date math (`now-30d`, `2020-01-01||+1M/M`).
-- Part of sandbox.query (see the notes at the head of sandbox/query.lua).
-- Runs under Lua 5.1 (LuaJIT), 5.2, 5.3 and 5.4. Pure Lua, no dependencies.
local util = require "sandbox.query.util"

local tonumber, floor, min, sub, find = tonumber, math.floor, math.min, string.sub, string.find
local match = string.match
local memo = util.memo

local DAY_MS = 86400000
local UNIT_MS = { w = 7 * DAY_MS, d = DAY_MS, h = 3600000, H = 3600000, m = 60000, s = 1000 }

-- Days since 1970-01-01 for a civil date (H. Hinnant's algorithm).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local doy = floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

-- Civil date for days since 1970-01-01.
local function civil_from_days(z)
  z = z + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m, d
end

local function days_in_month(y, m)
  if m == 2 then return (y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)) and 29 or 28 end
  return (m == 4 or m == 6 or m == 9 or m == 11) and 30 or 31
end

-- Parse ISO 8601 (yyyy[-MM[-dd[THH[:mm[:ss[.fff]]]]]][Z|±HH[:mm]]) or epoch millis.
-- With up=true, missing parts are filled with their maximum (ES "round up" parsing).
local function parse_anchor(s, up)
  local p = 1
  local function take(pat)
    local v, np = match(s, pat, p)
    if v then p = np end
    return v
  end
  local y = take("^(%d%d%d%d)()")
  if not y then
    if find(s, "^%-?%d+$") then return tonumber(s) end
    return nil
  end
  local mo = take("^%-(%d%d)()")
  local d = mo and take("^%-(%d%d)()")
  local h = d and take("^[T ](%d%d)()")
  local mi = h and take("^:(%d%d)()")
  local sec = mi and take("^:(%d%d)()")
  local frac = sec and take("^[.,](%d+)()")
  local off = 0
  if p <= #s then
    if sub(s, p) == "Z" then
      p = p + 1
    else
      local sg, oh, om, np = match(s, "^([+-])(%d%d):?(%d%d)()$", p)
      if not sg then sg, oh, np = match(s, "^([+-])(%d%d)()$", p); om = "0" end
      if not sg then return find(s, "^%-?%d+$") and tonumber(s) or nil end
      off = (tonumber(oh) * 60 + tonumber(om)) * 60000
      if sg == "-" then off = -off end
      p = np
    end
  end
  y = tonumber(y)
  mo = mo and tonumber(mo) or (up and 12 or 1)
  if mo < 1 or mo > 12 then return nil end
  local dim = days_in_month(y, mo)
  d = d and tonumber(d) or (up and dim or 1)
  h = h and tonumber(h) or (up and 23 or 0)
  mi = mi and tonumber(mi) or (up and 59 or 0)
  sec = sec and tonumber(sec) or (up and 59 or 0)
  local ms = frac and tonumber(sub(frac .. "00", 1, 3)) or (up and 999 or 0)
  if d < 1 or d > dim or h > 23 or mi > 59 or sec > 59 then return nil end
  return ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + sec * 1000 + ms - off
end

-- Add n calendar months, clamping the day to the target month's length.
local function add_months(t, n)
  local days = floor(t / DAY_MS)
  local y, m, d = civil_from_days(days)
  local mm = m - 1 + n
  y, m = y + floor(mm / 12), mm % 12 + 1
  return days_from_civil(y, m, min(d, days_in_month(y, m))) * DAY_MS + (t - days * DAY_MS)
end

-- Round t down to the start of a unit (weeks start on Monday).
local function round_down(t, unit)
  local days = floor(t / DAY_MS)
  if unit == "y" or unit == "M" then
    local y, m = civil_from_days(days)
    return days_from_civil(y, unit == "y" and 1 or m, 1) * DAY_MS
  elseif unit == "w" then
    return (days - (days + 3) % 7) * DAY_MS     -- 1970-01-01 was a Thursday
  end
  local u = UNIT_MS[unit]
  return floor(t / u) * u
end

-- Date math: `now[ops]` or `<date>[||ops]`, ops = (+N|-N)unit or /unit. Returns ms or nil.
local function parse_date(s, up, now)
  local t, ops
  if sub(s, 1, 3) == "now" then
    t, ops = now, sub(s, 4)
  else
    local a = find(s, "||", 1, true)
    if not a then return parse_anchor(s, up) end
    t, ops = parse_anchor(sub(s, 1, a - 1), false), sub(s, a + 2)
    if not t then return nil end
  end
  local p, n = 1, #ops
  while p <= n do
    local op = sub(ops, p, p)
    if op == "/" then
      local u = sub(ops, p + 1, p + 1)
      if not (u == "y" or u == "M" or UNIT_MS[u]) then return nil end
      local start = round_down(t, u)
      if up then
        if u == "y" then t = add_months(start, 12) - 1
        elseif u == "M" then t = add_months(start, 1) - 1
        else t = start + UNIT_MS[u] - 1 end
      else
        t = start
      end
      p = p + 2
    elseif op == "+" or op == "-" then
      local num, u, np = match(ops, "^(%d*)([yMwdhHms])()", p + 1)
      if not u then return nil end
      num = num == "" and 1 or tonumber(num)
      if op == "-" then num = -num end
      if u == "y" then t = add_months(t, 12 * num)
      elseif u == "M" then t = add_months(t, num)
      else t = t + num * UNIT_MS[u] end
      p = np
    else
      return nil
    end
  end
  return t
end

local date_of = memo(function(s) return parse_anchor(s, false) end)

local function looks_like_date(v)
  return find(v, "^%d%d%d%d%-%d%d%-%d%d") ~= nil
end

---------------------------------------------------------------------------

return {
  date_of = date_of,
  looks_like_date = looks_like_date,
  parse_date = parse_date,
}
