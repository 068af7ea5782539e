--- sandbox.query: the sandbox's search language, Elasticsearch/Lucene
--- `query_string` syntax evaluated over Sirv search docs.
--
--   local q = require "sandbox.query"
--   local match, err = q.compile('extension:.jpg AND -dirname:\\/.Trash', { now = os.time() })
--   if match(doc) then ... end
--   q.sort(docs, { mtime = "desc", ["filename.raw"] = "asc" })
--   hit.sort = q.sort_values(doc, sort)
--
-- Runs under Lua 5.1 (LuaJIT), 5.2, 5.3 and 5.4. Pure Lua, no dependencies.
-- (cjson is used only for q.null if it loads.)
--
-- SEMANTICS (the sandbox README takes these notes from here)
--
-- Syntax is Lucene's classic QueryParser, as used by Elasticsearch `query_string`:
--  * `field:value`, `field:"a phrase"`, `field:(a OR b)` (the field applies to
--    the whole group), bare terms, and `_exists_:field`.
--  * A backslash escapes the next character (`\/`, `\ `, `\:`, `\*`, ...), and
--    `\uXXXX` is a code point. An unescaped `/` starts a regular expression
--    `/.../`, exactly as in Elasticsearch, so slashes in paths must be
--    written `\/`.
--  * Wildcards `*` (any run) and `?` (one character) work in terms. `field:*`
--    means the field exists and is not empty. `*` alone and `*:*` match all.
--  * `AND` `&&`, `OR` `||`, `NOT` `!`, prefix `+` (must) and `-` (must not),
--    parentheses. Adjacent clauses default to OR. Operators are combined the
--    way Lucene does it, not by precedence: `a AND b OR c` means `+a +b c`,
--    i.e. a and b are required and c is optional. Use parentheses. A group
--    made only of negative clauses matches everything except them, so
--    `-dirname:\/.Trash` works on its own.
--  * Ranges: `[a TO b]` (inclusive), `{a TO b}` (exclusive), mixed
--    `[a TO b}`, open ends with `*`, and `field:>x`, `>=x`, `<x`, `<=x`.
--  * Regular expressions `/.../` match the whole value or token. Supported:
--    `. * + ? {n,m} | ( ) [..] [^..] \d \w \s "literal" @ # <n-m>`. The
--    complement `~` and intersection `&` operators are rejected. Matching
--    backtracks; a pathological pattern gives up after 100,000 steps per
--    value and counts as no match.
--  * Fuzzy `term~` (AUTO edit distance: 0/1/2 for lengths <3/<6/more) and
--    `term~N` (N <= 2), counted as optimal-string-alignment distance.
--    Phrase slop `"a b"~N` is approximated: all words within #words+N
--    tokens, in any order. Boosts `^N` are parsed and ignored.
--  * Errors (unbalanced parentheses, quotes, brackets, a dangling operator,
--    a bad value for a typed field) return nil plus a message that ends
--    "at position N". N is a 1-based byte offset.
--
-- How values match, by field (`a.b.c` walks nested tables; if any element of
-- an array matches, the array matches; JSON null/absent never matches):
--  * keyword fields `filename dirname basename extension contentType
--    meta.tags`: a case-insensitive match on the WHOLE value (`dirname:\/a`
--    matches only docs directly in /a). Wildcards and regexes also match the
--    whole value, case-insensitively. Ranges compare the lower-cased strings.
--  * `<field>.raw` / `<field>.keyword`: the same, but case-sensitive.
--  * text fields `meta.title meta.description`: tokenised into lower-case
--    words (runs of letters, digits, `_` and non-ASCII bytes). A term matches
--    a word, a phrase or a multi-word term matches consecutive words, and a
--    wildcard, regex or fuzzy term matches any single word.
--  * number fields `size meta.width meta.height meta.duration`: numeric
--    equality and numeric ranges. A non-numeric value, a wildcard or a regex
--    is an error (as in Elasticsearch).
--  * date fields `ctime mtime`: ISO 8601 (UTC unless an offset is given) or
--    epoch millis, with date math `now`, `now-30d`, `now+1h`, `now/d`,
--    `2020-01-01||+1M/M` (units y M w d h H m s). Rounding follows ES: a
--    partial date such as `2020-12-31` covers the whole day, so
--    `mtime:2021-05-12` matches that day and `[2020-01-01 TO 2020-12-31]`
--    covers the whole of 2020. `now` is opts.now (epoch seconds) or os.time().
--  * boolean fields `isDirectory meta.approval.approved`: `true` / `false`;
--    anything else is an error. A missing field matches neither value.
--  * every other field (`meta.product.*`, `meta.EXIF.*`, `meta.format`, ...)
--    is typed by the doc's value: numbers and booleans as above, strings
--    that start with yyyy-mm-dd as dates (when the query value is a date),
--    other strings by word (as for text fields) OR by whole value (as for
--    keyword fields). A field name may contain `*` (`meta.EXIF.\*:canon`).
--  * bare terms (no field) look in filename, basename, meta.title,
--    meta.description and meta.tags, by word or by whole value, ignoring
--    case. `aurora`, `aurora.jpg`, `img_*` and `"REST API"` all find
--    `/REST API Examples/aurora.jpg`-style files.
--
-- Sorting, q.sort(docs, sort):
--  * sort is nil or {} (default: filename ascending), a map
--    {field = "asc"|"desc"|{order=, missing="_first"|"_last"}}, or an
--    ES-style array {{mtime="desc"}, "filename.raw"} whose order is kept.
--    A map has no key order, so its keys are taken alphabetically, but
--    unique keys (filename*, id, _id) go last: {mtime="desc",
--    ["filename.raw"]="asc"} sorts by mtime first, then filename.
--  * Dates sort as epoch millis, booleans as 0/1, strings byte-wise (`.raw`
--    or not: text fields are sortable here, unlike ES). Arrays use their
--    min (asc) or max (desc). Missing values go last unless
--    missing="_first". Ties are broken by filename, then input position,
--    so the result is deterministic.
--  * q.sort returns docs, or nil plus a message for an invalid order value.
--  * q.sort_values(doc, sort [, null]) returns the per-key values for a
--    hit's "sort" array (dates as epoch millis). A missing value is `null`
--    (default q.null: cjson.null when cjson loads, otherwise a sentinel).

local M = {}

local type, pairs, ipairs, tonumber, tostring, error, pcall, next, setmetatable =
  type, pairs, ipairs, tonumber, tostring, error, pcall, next, setmetatable
local floor, huge, min = math.floor, math.huge, math.min
local byte, char, sub, find, match, gmatch, lower, format, rep_str =
  string.byte, string.char, string.sub, string.find, string.match, string.gmatch,
  string.lower, string.format, string.rep
local concat, tsort = table.concat, table.sort
local os_time = os.time

local CACHE_MAX = 50000                       -- entries per memo cache before it is reset
local UTF8_CHAR = "[^\128-\191][\128-\191]*"  -- one UTF-8 character, as a Lua pattern
local DAY_MS = 86400000
local UNIT_MS = { w = 7 * DAY_MS, d = DAY_MS, h = 3600000, H = 3600000, m = 60000, s = 1000 }

-- Field types for known Sirv search fields; other fields are typed per value.
local KNOWN = {
  filename = "keyword", dirname = "keyword", basename = "keyword",
  extension = "keyword", contentType = "keyword", ["meta.tags"] = "keyword",
  ["meta.title"] = "text", ["meta.description"] = "text",
  size = "number", ["meta.width"] = "number", ["meta.height"] = "number",
  ["meta.duration"] = "number",
  ctime = "date", mtime = "date",
  isDirectory = "bool", ["meta.approval.approved"] = "bool",
}
local TYPE_NAME = { number = "numeric", date = "date", bool = "boolean" }
local TYPE_TEST = { number = "num", date = "date", bool = "bool" }   -- mode -> value_query key
local DEFAULT_FIELDS = { "filename", "basename", "meta.title", "meta.description", "meta.tags" }
local UNIQUE_SORT_KEYS = { filename = true, ["filename.raw"] = true, ["filename.keyword"] = true,
                           id = true, _id = true }

do
  local ok, cjson = pcall(require, "cjson")
  M.null = ok and type(cjson) == "table" and cjson.null
    or setmetatable({}, { __tostring = function() return "null" end })
end

---------------------------------------------------------------------------
-- Small helpers
---------------------------------------------------------------------------

-- Raise a query error; compile() turns it into `nil, message`.
local function fail(msg, pos)
  error({ query_error = pos and format("%s at position %d", msg, pos) or msg }, 0)
end

-- Wrap a string -> value function in a bounded cache (nil results stored as false).
local function memo(fn)
  local cache, n = {}, 0
  return function(s)
    local v = cache[s]
    if v == nil then
      v = fn(s)
      if v == nil then v = false end
      if n >= CACHE_MAX then cache, n = {}, 0 end
      cache[s] = v
      n = n + 1
    end
    return v
  end
end

local lower_c = memo(lower)

-- Lower-case words of a string (letters, digits, '_' and non-ASCII bytes).
local tokens_of = memo(function(s)
  local t, n = {}, 0
  for w in gmatch(lower(s), "[%w_\128-\255]+") do n = n + 1; t[n] = w end
  return t
end)

-- Decode the UTF-8 code point at byte i: returns cp, next index. A bad byte counts as one char.
local function next_cp(s, i)
  local c = byte(s, i)
  if not c then return nil end
  if c < 0xC0 then return c, i + 1 end
  local n, cp
  if c < 0xE0 then n, cp = 1, c - 0xC0 elseif c < 0xF0 then n, cp = 2, c - 0xE0 else n, cp = 3, c - 0xF0 end
  for k = 1, n do
    local b = byte(s, i + k)
    if not b or b < 0x80 or b > 0xBF then return c, i + 1 end
    cp = cp * 64 + b - 0x80
  end
  return cp, i + n + 1
end

local function utf8_encode(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xC0 + floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64,
              0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
end

local codepoints = memo(function(s)
  local t, i, n = {}, 1, 0
  while i <= #s do
    local cp
    cp, i = next_cp(s, i)
    n = n + 1
    t[n] = cp
  end
  return t
end)

-- Strict number parsing: decimal only (no hex, inf, nan).
local function to_num(s)
  if type(s) ~= "string" or not find(s, "^%s*[+-]?%.?%d") or find(s, "[xX]") then return nil end
  local n = tonumber(s)
  if n == nil or n ~= n or n == huge or n == -huge then return nil end
  return n
end

-- Remove Lucene escapes from a range bound (`\x` -> x, `\uXXXX` -> code point).
local function unescape(s)
  return (s:gsub("\\u(%x%x%x%x)", function(h) return utf8_encode(tonumber(h, 16)) end)
           :gsub("\\(.)", "%1"))
end

-- True when the value is present and non-empty (strings, numbers, booleans, tables with such leaves).
local function present(v)
  local t = type(v)
  if t == "string" then return v ~= "" end
  if t == "number" or t == "boolean" then return true end
  if t == "table" then
    for _, x in pairs(v) do if present(x) then return true end end
  end
  return false
end

-- Does pred hold for any value at path segs[i..n] under node? Arrays are flattened at every level.
local function any_value(node, segs, i, n, pred)
  if type(node) == "table" and node[1] ~= nil then
    for j = 1, #node do
      if any_value(node[j], segs, i, n, pred) then return true end
    end
    return false
  end
  if i > n then return node ~= nil and pred(node) end
  if type(node) ~= "table" then return false end
  return any_value(node[segs[i]], segs, i + 1, n, pred)
end

-- Does pred hold for any scalar leaf whose dotted path matches the Lua pattern pat?
local function any_leaf(node, prefix, pat, pred)
  for k, v in pairs(node) do
    local path = prefix
    if type(k) == "string" then path = prefix and (prefix .. "." .. k) or k end
    if type(v) == "table" then
      if any_leaf(v, path, pat, pred) then return true end
    elseif path and find(path, pat) and pred(v) then
      return true
    end
  end
  return false
end

local function split_path(f)
  local segs = {}
  for seg in gmatch(f, "[^.]+") do segs[#segs + 1] = seg end
  return segs
end

-- Anchored Lua pattern for a wildcard term. mask has '*' / '?' where text has unescaped wildcards.
local function glob_pattern(text, mask, fold)
  local out, n, last_star = { "^" }, 1, false
  for i = 1, #text do
    local m, piece = sub(mask, i, i), nil
    if m == "*" then
      if not last_star then piece = ".*" end
      last_star = true
    else
      last_star = false
      if m == "?" then
        piece = UTF8_CHAR
      else
        local c = sub(text, i, i)
        if fold then c = lower(c) end
        piece = find(c, "^%w$") and c or "%" .. c
      end
    end
    if piece then n = n + 1; out[n] = piece end
  end
  out[n + 1] = "$"
  return concat(out)
end

-- Is q (a token array) found in toks? slop 0: consecutive. slop > 0 (an approximation):
-- all of q's tokens are inside some window of #q + slop tokens, in any order.
local function has_phrase(toks, q, slop)
  local n, nq = #toks, #q
  if nq == 0 or n < nq then return false end
  if slop <= 0 then
    for s = 1, n - nq + 1 do
      local j = 1
      while j <= nq and toks[s + j - 1] == q[j] do j = j + 1 end
      if j > nq then return true end
    end
    return false
  end
  local used = {}
  for s = 1, n - nq + 1 do
    local e, ok = min(n, s + nq + slop - 1), true
    for k = s, e do used[k] = false end
    for j = 1, nq do
      local found = false
      for k = s, e do
        if not used[k] and toks[k] == q[j] then used[k] = true; found = true; break end
      end
      if not found then ok = false; break end
    end
    if ok then return true end
  end
  return false
end

-- Optimal-string-alignment distance between code point arrays, or limit + 1 once it is exceeded.
local function osa(a, b, limit)
  local la, lb = #a, #b
  if la - lb > limit or lb - la > limit then return limit + 1 end
  local prev2, prev, cur = {}, {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    cur[0] = i
    local rowmin = i
    for j = 1, lb do
      local v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i] == b[j] and 0 or 1))
      if i > 1 and j > 1 and a[i] == b[j - 1] and a[i - 1] == b[j] and prev2[j - 2] + 1 < v then
        v = prev2[j - 2] + 1
      end
      cur[j] = v
      if v < rowmin then rowmin = v end
    end
    if rowmin > limit then return limit + 1 end
    prev2, prev, cur = prev, cur, prev2
  end
  return prev[lb]
end

-- Lower bound <= x <= upper bound, honouring inclusivity; nil bound = open.
local function in_range(x, lo, hi, lo_inc, hi_inc)
  if lo ~= nil then
    if lo_inc then if x < lo then return false end elseif x <= lo then return false end
  end
  if hi ~= nil then
    if hi_inc then if x > hi then return false end elseif x >= hi then return false end
  end
  return true
end

---------------------------------------------------------------------------
-- Dates (epoch milliseconds, proleptic Gregorian, UTC)
---------------------------------------------------------------------------

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
-- Regular expressions (Lucene RegExp subset) as backtracking matchers.
-- A matcher is m(s, i, k): try to match at byte i and call k(next_i) on success.
---------------------------------------------------------------------------

local RE_MAX_STEPS = 100000   -- backtracking budget per value; beyond it the value does not match
local RE_ABORT = {}           -- error value thrown when the budget runs out
local re_steps = 0

local function re_empty(_, i, k) return k(i) end
local function re_never() return false end
local function any_cp() return true end

-- Matcher for one character satisfying test(cp); it also spends the backtracking budget.
local function re_char(test)
  return function(s, i, k)
    re_steps = re_steps + 1
    if re_steps > RE_MAX_STEPS then error(RE_ABORT, 0) end
    local cp, j = next_cp(s, i)
    if cp and test(cp) then return k(j) end
    return false
  end
end

-- Concatenate matchers right to left.
local function re_seq(items)
  if #items == 0 then return re_empty end
  local m = items[#items]
  for idx = #items - 1, 1, -1 do
    local a, b = items[idx], m
    m = function(s, i, k) return a(s, i, function(j) return b(s, j, k) end) end
  end
  return m
end

local function re_alt(alts)
  if #alts == 1 then return alts[1] end
  return function(s, i, k)
    for x = 1, #alts do if alts[x](s, i, k) then return true end end
    return false
  end
end

-- Greedy repetition lo..hi (hi nil = unbounded); an empty iteration is only allowed below lo.
local function re_rep(m, lo, hi)
  return function(s, i, k)
    local function step(n, j)
      if hi == nil or n < hi then
        if m(s, j, function(j2) return (j2 > j or n < lo) and step(n + 1, j2) end) then
          return true
        end
      end
      return n >= lo and k(j)
    end
    return step(0, i)
  end
end

local RE_SHORT = { d = { { 48, 57 } }, w = { { 48, 57 }, { 65, 90 }, { 97, 122 }, { 95, 95 } },
                   s = { { 9, 13 }, { 32, 32 } } }

-- Compile regex src into a whole-string predicate. fold: the subject is lower-case and
-- upper-case letters in the regex should match it too.
local function regex_compile(src, fold, pos)
  local cps, p = codepoints(src), 1
  local function bad(msg) fail(msg .. " in regular expression", pos) end

  local function lit_test(c)
    if fold and c >= 65 and c <= 90 then c = c + 32 end
    return function(cp) return cp == c end
  end
  local function ranges_test(ranges, negate)
    local nr = #ranges
    local function member(cp)
      for r = 1, nr do
        local rg = ranges[r]
        if cp >= rg[1] and cp <= rg[2] then return true end
      end
      return false
    end
    return function(cp)
      local m = member(cp) or (fold and cp >= 97 and cp <= 122 and member(cp - 32))
      if negate then return not m end
      return m
    end
  end
  -- Read up to the closing code point `close`, as an ASCII string (for {n,m} and <n-m>).
  local function read_until(close, what)
    local q, buf = p + 1, {}
    while cps[q] and cps[q] ~= close do
      buf[#buf + 1] = cps[q] < 128 and char(cps[q]) or "?"
      q = q + 1
    end
    if not cps[q] then bad("unterminated " .. what) end
    p = q + 1
    return concat(buf)
  end

  local function class()              -- p is just after '['
    local negate, ranges, first = false, {}, true
    if cps[p] == 94 then negate = true; p = p + 1 end
    while true do
      local c = cps[p]
      if c == nil then bad("unterminated character class") end
      if c == 93 and not first then p = p + 1; break end
      first = false
      local lo = c
      p = p + 1
      if c == 92 then
        lo = cps[p]
        if not lo then bad("dangling escape") end
        p = p + 1
        local sh = lo < 128 and RE_SHORT[char(lo)]
        if sh then for _, r in ipairs(sh) do ranges[#ranges + 1] = r end; lo = nil end
      end
      if lo then
        if cps[p] == 45 and cps[p + 1] and cps[p + 1] ~= 93 then
          p = p + 1
          local hi = cps[p]
          if hi == 92 then p = p + 1; hi = cps[p]; if not hi then bad("dangling escape") end end
          p = p + 1
          if hi < lo then bad("invalid character range") end
          ranges[#ranges + 1] = { lo, hi }
        else
          ranges[#ranges + 1] = { lo, lo }
        end
      end
    end
    return re_char(ranges_test(ranges, negate))
  end

  local parse_alt
  local function atom()
    local c = cps[p]
    if c == 40 then                                           -- ( group )
      p = p + 1
      if cps[p] == 41 then p = p + 1; return re_empty end
      local m = parse_alt()
      if cps[p] ~= 41 then bad("missing ')'") end
      p = p + 1
      return m
    elseif c == 91 then p = p + 1; return class()              -- [ class ]
    elseif c == 46 then p = p + 1; return re_char(any_cp)      -- .
    elseif c == 92 then                                        -- \x, \d \w \s (\D \W \S)
      local e = cps[p + 1]
      if not e then bad("dangling escape '\\'") end
      p = p + 2
      local sh = e < 128 and RE_SHORT[lower(char(e))]
      if sh then return re_char(ranges_test(sh, e < 97)) end
      return re_char(lit_test(e))
    elseif c == 34 then                                        -- "literal"
      p = p + 1
      local items = {}
      while cps[p] ~= 34 do
        if cps[p] == nil then bad("unterminated string") end
        items[#items + 1] = re_char(lit_test(cps[p]))
        p = p + 1
      end
      p = p + 1
      return re_seq(items)
    elseif c == 64 then p = p + 1; return re_rep(re_char(any_cp), 0, nil)   -- @ any string
    elseif c == 35 then p = p + 1; return re_never                           -- # empty language
    elseif c == 60 then                                        -- <n-m> numeric interval
      local body = read_until(62, "interval '<'")
      local a, b = match(body, "^(%d+)%-(%d+)$")
      if not a then bad("invalid interval '<" .. body .. ">'") end
      a, b = tonumber(a), tonumber(b)
      if a > b then a, b = b, a end
      return function(s, i, k)
        local j = i
        while true do
          local d = byte(s, j)
          if not d or d < 48 or d > 57 then break end
          j = j + 1
        end
        for e = j, i + 1, -1 do
          local v = tonumber(sub(s, i, e - 1))
          if v >= a and v <= b and k(e) then return true end
        end
        return false
      end
    elseif c == 126 or c == 38 then
      bad("operator '" .. char(c) .. "' is not supported by the sandbox")
    elseif c == 42 or c == 43 or c == 63 or c == 123 then
      bad("nothing to repeat before '" .. char(c) .. "'")
    end
    p = p + 1
    return re_char(lit_test(c))
  end

  local function postfix()
    local m = atom()
    while true do
      local c = cps[p]
      if c == 42 then p = p + 1; m = re_rep(m, 0, nil)
      elseif c == 43 then p = p + 1; m = re_rep(m, 1, nil)
      elseif c == 63 then p = p + 1; m = re_rep(m, 0, 1)
      elseif c == 123 then
        local body = read_until(125, "repetition '{'")
        local a, comma, b = match(body, "^(%d+)(,?)(%d*)$")
        if not a then bad("invalid repetition '{" .. body .. "}'") end
        a = tonumber(a)
        b = comma == "" and a or (b ~= "" and tonumber(b) or nil)
        if b and b < a then bad("invalid repetition '{" .. body .. "}'") end
        m = re_rep(m, a, b)
      else
        return m
      end
    end
  end

  local function seq()
    local items = {}
    while cps[p] and cps[p] ~= 124 and cps[p] ~= 41 do items[#items + 1] = postfix() end
    return re_seq(items)
  end

  parse_alt = function()
    local alts = { seq() }
    while cps[p] == 124 do p = p + 1; alts[#alts + 1] = seq() end
    return re_alt(alts)
  end

  local m = parse_alt()
  if cps[p] ~= nil then bad("unbalanced ')'") end
  local stop
  local function done(j) return j == stop end
  local function run(s) return m(s, 1, done) end
  return function(s)
    stop, re_steps = #s + 1, 0
    local ok, res = pcall(run, s)
    if ok then return res end
    if res == RE_ABORT then return false end
    error(res, 0)
  end
end

---------------------------------------------------------------------------
-- Lexer
---------------------------------------------------------------------------

-- Characters that end a bare term (besides whitespace).
local STOP = {}
for c in gmatch('()[]{}:^"~!/', ".") do STOP[c] = true end
local OPERATORS = { AND = "AND", ["&&"] = "AND", OR = "OR", ["||"] = "OR", NOT = "NOT" }

-- Length of the whitespace at byte i (ASCII or U+3000), else 0.
local function ws_len(s, i)
  local c = byte(s, i)
  if c == 32 or (c and c >= 9 and c <= 13) then return 1 end
  if c == 0xE3 and sub(s, i, i + 2) == "\227\128\128" then return 3 end
  return 0
end

-- Read a backslash escape at i (s[i] == '\'): returns the literal text and the next index.
local function read_escape(s, i)
  local hex = match(s, "^u(%x%x%x%x)", i + 1)
  if hex then return utf8_encode(tonumber(hex, 16)), i + 6 end
  local lit = match(s, "^" .. UTF8_CHAR, i + 1)
  if not lit then fail("dangling escape character '\\'", i) end
  return lit, i + 1 + #lit
end

-- Read a quoted string starting at the '"' at i: returns text (unescaped) and next index.
local function read_quoted(s, i, what)
  local start, buf = i, {}
  i = i + 1
  while true do
    local c = sub(s, i, i)
    if c == "" then fail("unterminated " .. what .. " (missing closing '\"')", start) end
    if c == '"' then return concat(buf), i + 1 end
    if c == "\\" then
      local lit
      lit, i = read_escape(s, i)
      buf[#buf + 1] = lit
    else
      buf[#buf + 1] = c
      i = i + 1
    end
  end
end

-- Split a query into tokens {t = kind, pos = byte offset, raw = source text, ...}.
-- Kinds: TERM PHRASE RANGE REGEX LPAREN RPAREN COLON AND OR NOT PLUS MINUS FUZZY BOOST EOF.
local function lex(s)
  local toks, i, n = {}, 1, #s
  local function push(tok, start, stop)
    tok.pos, tok.raw = start, sub(s, start, stop - 1)
    toks[#toks + 1] = tok
    i = stop
  end
  local function skip_ws()
    while i <= n do
      local w = ws_len(s, i)
      if w == 0 then return end
      i = i + w
    end
  end

  while true do
    skip_ws()
    if i > n then break end
    local c, start = sub(s, i, i), i
    if c == "(" then push({ t = "LPAREN" }, i, i + 1)
    elseif c == ")" then push({ t = "RPAREN" }, i, i + 1)
    elseif c == ":" then push({ t = "COLON" }, i, i + 1)
    elseif c == "+" then push({ t = "PLUS" }, i, i + 1)
    elseif c == "-" then push({ t = "MINUS" }, i, i + 1)
    elseif c == "!" then push({ t = "NOT" }, i, i + 1)
    elseif c == "]" or c == "}" then fail("unbalanced '" .. c .. "'", i)
    elseif c == '"' then
      local text, stop = read_quoted(s, i, "quoted phrase")
      push({ t = "PHRASE", text = text }, start, stop)
    elseif c == "^" then
      local num, stop = match(s, "^%^(%d+%.?%d*)()", i)
      if not num then fail("expected a number after '^'", i) end
      push({ t = "BOOST", value = tonumber(num) }, start, stop)
    elseif c == "~" then
      local num, stop = match(s, "^~(%d*%.?%d*)()", i)
      push({ t = "FUZZY", value = tonumber(num) }, start, stop)
    elseif c == "/" then
      local j = i + 1
      while true do
        local d = sub(s, j, j)
        if d == "" then
          fail("unterminated regular expression (write a literal slash as '\\/')", start)
        end
        if d == "/" then break end
        j = j + (d == "\\" and 2 or 1)
      end
      push({ t = "REGEX", src = sub(s, i + 1, j - 1) }, start, j + 1)
    elseif c == "[" or c == "{" then
      -- Range: [lo TO hi] / {lo TO hi} / mixed. A bound is a quoted string or a run without space ] }.
      i = i + 1
      local function bound(what)
        skip_ws()
        if i > n then fail("unterminated range (missing ']' or '}')", start) end
        local bpos = i
        if sub(s, i, i) == '"' then
          local text, stop = read_quoted(s, i, "quoted range bound")
          i = stop
          return text, true, bpos
        end
        local a, b = find(s, "^[^%s%]}]+", i)
        if not a then fail("expected " .. what .. " in range", i) end
        i = b + 1
        return sub(s, a, b), false, bpos
      end
      local lo, lq = bound("a lower bound")
      local to, tq, tpos = bound("'TO'")
      if to ~= "TO" or tq then fail("expected 'TO' in range", tpos) end
      local hi, hq = bound("an upper bound")
      skip_ws()
      local close = sub(s, i, i)
      if close == "" then fail("unterminated range (missing ']' or '}')", start) end
      if close ~= "]" and close ~= "}" then fail("expected ']' or '}' to close range", i) end
      -- An unquoted `*` is an open end; unquoted bounds are unescaped.
      if not lq then lo = lo ~= "*" and unescape(lo) or nil end
      if not hq then hi = hi ~= "*" and unescape(hi) or nil end
      push({ t = "RANGE", lo = lo, hi = hi, lo_inc = c == "[", hi_inc = close == "]" }, start, i + 1)
    else
      -- Bare term: text is unescaped, mask marks unescaped wildcards.
      local buf, mask, wild = {}, {}, false
      while i <= n do
        local d = sub(s, i, i)
        if d == "\\" then
          local lit
          lit, i = read_escape(s, i)
          buf[#buf + 1] = lit
          mask[#mask + 1] = rep_str(".", #lit)
        elseif STOP[d] or ws_len(s, i) > 0 then
          break
        else
          if d == "*" or d == "?" then wild = true; mask[#mask + 1] = d else mask[#mask + 1] = "." end
          buf[#buf + 1] = d
          i = i + 1
        end
      end
      local raw = sub(s, start, i - 1)
      local op = OPERATORS[raw]
      local stop = i
      if op then
        push({ t = op }, start, stop)
      else
        push({ t = "TERM", text = concat(buf), mask = concat(mask), wild = wild }, start, stop)
      end
    end
  end
  toks[#toks + 1] = { t = "EOF", pos = n + 1, raw = "" }
  return toks
end

---------------------------------------------------------------------------
-- Parser: tokens -> AST. Nodes: {k="bool", clauses={{occur=, node=}}}, {k="all"},
-- {k="exists"}, {k="term"}, {k="phrase"}, {k="range"}, {k="regex"}; leaves carry field and pos.
---------------------------------------------------------------------------

local STARTS_CLAUSE = { TERM = true, PHRASE = true, RANGE = true, REGEX = true, LPAREN = true }

local function describe(tok)
  if tok.t == "EOF" then return "end of query" end
  return "'" .. tok.raw .. "'"
end

-- Lucene's addClause with default operator OR: AND makes the previous clause required
-- (unless prohibited) and this one too; +, -/NOT/! set must / must_not.
local function add_clause(clauses, conj, mods, node)
  local last = clauses[#clauses]
  if last and conj == "AND" and last.occur ~= "must_not" then last.occur = "must" end
  local prohibited = mods == "not"
  local required = mods == "req" or (conj == "AND" and not prohibited)
  clauses[#clauses + 1] = {
    occur = prohibited and "must_not" or required and "must" or "should",
    node = node,
  }
end

-- Consume optional `~N` (if allowed) and `^N` after a value; returns the fuzzy token or nil.
local function suffixes(ps, allow_fuzzy)
  local fuzzy, boosted
  while true do
    local tok = ps.toks[ps.i]
    if tok.t == "BOOST" and not boosted then
      boosted = true
    elseif tok.t == "FUZZY" and allow_fuzzy and not fuzzy then
      fuzzy = tok
    else
      return fuzzy
    end
    ps.i = ps.i + 1
  end
end

local parse_query

-- One clause: [field:] ( group | term | "phrase" | range | /regex/ ).
local function parse_clause(ps, field)
  local tok, nxt = ps.toks[ps.i], ps.toks[ps.i + 1]
  if tok.t == "TERM" and nxt.t == "COLON" then
    field = tok.text
    ps.i = ps.i + 2
    tok = ps.toks[ps.i]
    if field == "_exists_" then
      if tok.t ~= "TERM" and tok.t ~= "PHRASE" then
        fail("expected a field name after '_exists_:' but found " .. describe(tok), tok.pos)
      end
      ps.i = ps.i + 1
      suffixes(ps, false)
      return { k = "exists", field = tok.text, pos = tok.pos }
    end
    if not STARTS_CLAUSE[tok.t] then
      fail(format("expected a value after '%s:' but found %s", field, describe(tok)), tok.pos)
    end
  end
  ps.i = ps.i + 1
  local t = tok.t
  if t == "LPAREN" then
    local node = parse_query(ps, field)
    if ps.toks[ps.i].t ~= "RPAREN" then fail("unbalanced '(' (missing ')')", tok.pos) end
    ps.i = ps.i + 1
    suffixes(ps, false)
    return node
  elseif t == "TERM" then
    local fz = suffixes(ps, true)
    local text, mask = tok.text, tok.mask
    if tok.wild and not find(mask, "[^*]") then
      if field == nil or field == "*" then return { k = "all" } end
      return { k = "exists", field = field, pos = tok.pos }
    end
    local op, rest = match(text, "^([<>]=?)(.*)$")
    if op and not tok.wild then
      if rest == "" then fail("expected a value after '" .. op .. "'", tok.pos) end
      local node = { k = "range", field = field, pos = tok.pos }
      if sub(op, 1, 1) == ">" then node.lo, node.lo_inc = rest, op == ">="
      else node.hi, node.hi_inc = rest, op == "<=" end
      return node
    end
    local fuzzy
    if fz and not tok.wild then
      local v = fz.value
      if v == nil or v < 1 then
        local len = #codepoints(text)
        fuzzy = len < 3 and 0 or len < 6 and 1 or 2
      else
        fuzzy = min(floor(v), 2)
      end
    end
    return { k = "term", field = field, text = text, mask = mask, wild = tok.wild,
             fuzzy = fuzzy, pos = tok.pos }
  elseif t == "PHRASE" then
    local fz = suffixes(ps, true)
    return { k = "phrase", field = field, text = tok.text, pos = tok.pos,
             slop = fz and fz.value and floor(fz.value) or 0 }
  elseif t == "RANGE" then
    suffixes(ps, false)
    return { k = "range", field = field, lo = tok.lo, hi = tok.hi,
             lo_inc = tok.lo_inc, hi_inc = tok.hi_inc, pos = tok.pos }
  elseif t == "REGEX" then
    suffixes(ps, false)
    return { k = "regex", field = field, src = tok.src, pos = tok.pos }
  end
  fail("unexpected " .. describe(tok), tok.pos)
end

-- A sequence of clauses joined by conjunctions, up to ')' or the end.
parse_query = function(ps, field)
  local clauses = {}
  while true do
    local tok = ps.toks[ps.i]
    if #clauses > 0 and (tok.t == "EOF" or tok.t == "RPAREN") then break end
    local after
    local conj, mods
    if #clauses > 0 and (tok.t == "AND" or tok.t == "OR") then
      conj, after = tok.t, tok
      ps.i = ps.i + 1
      tok = ps.toks[ps.i]
    end
    if tok.t == "PLUS" or tok.t == "MINUS" or tok.t == "NOT" then
      mods, after = tok.t == "PLUS" and "req" or "not", tok
      ps.i = ps.i + 1
      tok = ps.toks[ps.i]
    end
    if not STARTS_CLAUSE[tok.t] then
      if after then
        fail(format("expected a search term after %s but found %s", describe(after), describe(tok)),
             tok.pos)
      elseif tok.t == "RPAREN" then
        fail("empty group '()'", tok.pos)
      elseif tok.t == "EOF" then
        fail("empty query", tok.pos)
      end
      fail("unexpected " .. describe(tok), tok.pos)
    end
    add_clause(clauses, conj, mods, parse_clause(ps, field))
  end
  if #clauses == 1 and clauses[1].occur ~= "must_not" then return clauses[1].node end
  return { k = "bool", clauses = clauses }
end

---------------------------------------------------------------------------
-- Compiler: AST -> doc predicate closures
---------------------------------------------------------------------------

local function match_all() return true end

-- Value tests for one leaf: str_ci(lowered whole value), str_cs(whole value), tok(word array),
-- and, when the query value allows it, num(n), date(ms), bool(b); otherwise *_err explains why.
local function value_query(leaf, now)
  local vq, k = {}, leaf.k
  local text = leaf.text
  local function scalar_tests(t)        -- number/date/bool tests for an exact value t
    local nval = to_num(t)
    if nval then vq.num = function(x) return x == nval end
    else vq.num_err = format("'%s' is not a number", t) end
    local lo, hi = parse_date(t, false, now), parse_date(t, true, now)
    if lo and hi then vq.date = function(ms) return ms >= lo and ms <= hi end
    else vq.date_err = format("'%s' is not a date", t) end
    local lt = lower(t)
    if lt == "true" or lt == "false" then
      local b = lt == "true"
      vq.bool = function(x) return x == b end
    else
      vq.bool_err = format("'%s' is not true or false", t)
    end
  end
  local function unsupported(what)
    local msg = what .. " queries are not supported"
    vq.num_err, vq.date_err, vq.bool_err = msg, msg, msg
  end

  if k == "term" and leaf.wild then
    local pat_cs, pat_ci = glob_pattern(text, leaf.mask, false), glob_pattern(text, leaf.mask, true)
    vq.str_ci = function(lv) return find(lv, pat_ci) ~= nil end
    vq.str_cs = function(v) return find(v, pat_cs) ~= nil end
    vq.tok = function(toks)
      for i = 1, #toks do if find(toks[i], pat_ci) then return true end end
      return false
    end
    unsupported("wildcard")
  elseif k == "term" and leaf.fuzzy then
    local e, qci, qcs = leaf.fuzzy, codepoints(lower(text)), codepoints(text)
    vq.str_ci = function(lv) return osa(codepoints(lv), qci, e) <= e end
    vq.str_cs = function(v) return osa(codepoints(v), qcs, e) <= e end
    vq.tok = function(toks)
      for i = 1, #toks do if osa(codepoints(toks[i]), qci, e) <= e then return true end end
      return false
    end
    unsupported("fuzzy")
  elseif k == "term" or k == "phrase" then
    local ltext, qt = lower(text), tokens_of(text)
    local nq, slop = #qt, leaf.slop or 0
    vq.str_ci = function(lv) return lv == ltext end
    vq.str_cs = function(v) return v == text end
    if nq == 1 and slop == 0 then
      local q1 = qt[1]
      vq.tok = function(toks)
        for i = 1, #toks do if toks[i] == q1 then return true end end
        return false
      end
    else
      vq.tok = function(toks) return has_phrase(toks, qt, slop) end
    end
    scalar_tests(text)
  elseif k == "range" then
    local lo, hi, li, hin = leaf.lo, leaf.hi, leaf.lo_inc, leaf.hi_inc
    local llo, lhi = lo and lower(lo), hi and lower(hi)
    vq.str_ci = function(lv) return in_range(lv, llo, lhi, li, hin) end
    vq.str_cs = function(v) return in_range(v, lo, hi, li, hin) end
    vq.tok = function(toks)
      for i = 1, #toks do if in_range(toks[i], llo, lhi, li, hin) then return true end end
      return false
    end
    local nlo, nhi = lo and to_num(lo), hi and to_num(hi)
    if (lo and not nlo) or (hi and not nhi) then
      vq.num_err = format("'%s' is not a number", (lo and not nlo) and lo or hi)
    else
      vq.num = function(x) return in_range(x, nlo, nhi, li, hin) end
    end
    -- ES date ranges: an exclusive lower bound rounds up then +1ms; an inclusive upper rounds up.
    local dlo = lo and parse_date(lo, not li, now)
    local dhi = hi and parse_date(hi, hin, now)
    if (lo and not dlo) or (hi and not dhi) then
      vq.date_err = format("'%s' is not a date", (lo and not dlo) and lo or hi)
    else
      if dlo and not li then dlo = dlo + 1 end
      if dhi and not hin then dhi = dhi - 1 end
      vq.date = function(ms) return in_range(ms, dlo, dhi, true, true) end
    end
    vq.bool_err = "range queries are not supported"
  elseif k == "regex" then
    local re_ci, re_cs = regex_compile(leaf.src, true, leaf.pos), regex_compile(leaf.src, false, leaf.pos)
    vq.str_ci, vq.str_cs = re_ci, re_cs
    vq.tok = function(toks)
      for i = 1, #toks do if re_ci(toks[i]) then return true end end
      return false
    end
    unsupported("regular expression")
  end
  return vq
end

-- Per-value predicate for a field mode (keyword | raw | text | number | date | bool | dynamic).
local function value_pred(vq, mode)
  local ci, cs, tok, num, date, bool = vq.str_ci, vq.str_cs, vq.tok, vq.num, vq.date, vq.bool
  local function other(v)             -- numbers/booleans in string-typed fields: judge by value type
    local t = type(v)
    if t == "number" then return num ~= nil and num(v) end
    if t == "boolean" then return bool ~= nil and bool(v) end
    return false
  end
  if mode == "keyword" then
    return function(v) if type(v) == "string" then return ci(lower_c(v)) end return other(v) end
  elseif mode == "raw" then
    return function(v) if type(v) == "string" then return cs(v) end return other(v) end
  elseif mode == "text" then
    return function(v) if type(v) == "string" then return tok(tokens_of(v)) end return other(v) end
  elseif mode == "number" then
    return function(v)
      if type(v) == "number" then return num(v) end
      local x = type(v) == "string" and to_num(v)
      return x and num(x) or false
    end
  elseif mode == "date" then
    return function(v)
      if type(v) == "string" then
        local ms = date_of(v)
        return ms and date(ms) or false
      end
      return type(v) == "number" and date(v)
    end
  elseif mode == "bool" then
    return function(v)
      if type(v) == "string" then
        local lv = lower_c(v)
        if lv == "true" or lv == "false" then v = lv == "true" end
      end
      return type(v) == "boolean" and bool(v)
    end
  end
  return function(v)                  -- dynamic
    if type(v) == "string" then
      if date and looks_like_date(v) then
        local ms = date_of(v)
        if ms then return date(ms) end
      end
      return tok(tokens_of(v)) or ci(lower_c(v))
    end
    return other(v)
  end
end

-- Doc predicate: does the leaf's value query (vq; nil = existence) hold for field?
local function field_pred(field, vq, pos)
  if field == nil then
    local pred = vq and value_pred(vq, "dynamic") or present
    local paths = {}
    for i, f in ipairs(DEFAULT_FIELDS) do paths[i] = split_path(f) end
    local np = #paths
    return function(doc)
      for i = 1, np do
        local segs = paths[i]
        if any_value(doc, segs, 1, #segs, pred) then return true end
      end
      return false
    end
  end
  if find(field, "*", 1, true) then
    local pat = glob_pattern(field, (field:gsub("[^*]", ".")), false)
    local pred = vq and value_pred(vq, "dynamic") or present
    return function(doc) return type(doc) == "table" and any_leaf(doc, nil, pat, pred) end
  end
  local base = match(field, "^(.+)%.raw$") or match(field, "^(.+)%.keyword$")
  local mode
  if base then mode = "raw" else base, mode = field, KNOWN[field] or "dynamic" end
  local test = TYPE_TEST[mode]
  if vq and test and not vq[test] then
    fail(format("%s for %s field '%s'", vq[test .. "_err"], TYPE_NAME[mode], field), pos)
  end
  local pred = vq and value_pred(vq, mode) or present
  local segs = split_path(base)
  local n = #segs
  if n == 1 then
    local key = segs[1]
    return function(doc) return any_value(doc[key], segs, 2, 1, pred) end
  end
  return function(doc) return any_value(doc, segs, 1, n, pred) end
end

-- Combine clause predicates with Lucene BooleanQuery semantics (pure negation = all minus those).
local function bool_pred(must, should, must_not)
  local nm, ns, nn = #must, #should, #must_not
  return function(doc)
    for i = 1, nm do if not must[i](doc) then return false end end
    for i = 1, nn do if must_not[i](doc) then return false end end
    if nm > 0 or ns == 0 then return true end
    for i = 1, ns do if should[i](doc) then return true end end
    return false
  end
end

local function compile_node(node, now)
  local k = node.k
  if k == "bool" then
    local lists = { must = {}, should = {}, must_not = {} }
    for _, c in ipairs(node.clauses) do
      local l = lists[c.occur]
      l[#l + 1] = compile_node(c.node, now)
    end
    return bool_pred(lists.must, lists.should, lists.must_not)
  elseif k == "all" then
    return match_all
  elseif k == "exists" then
    return field_pred(node.field, nil, node.pos)
  end
  return field_pred(node.field, value_query(node, now), node.pos)
end

--- Compile a query string into match(doc) -> boolean, or return nil, message.
-- opts.now: the epoch seconds that `now` means (default os.time()).
function M.compile(query, opts)
  if query == nil then return match_all end
  if type(query) ~= "string" then return nil, "query must be a string" end
  local now = floor(((opts and opts.now) or os_time()) * 1000)
  local ok, res = pcall(function()
    local ps = { toks = lex(query), i = 1 }
    if ps.toks[1].t == "EOF" then return match_all end
    local ast = parse_query(ps, nil)
    local tok = ps.toks[ps.i]
    if tok.t == "RPAREN" then fail("unbalanced ')'", tok.pos) end
    if tok.t ~= "EOF" then fail("unexpected " .. describe(tok), tok.pos) end
    return compile_node(ast, now)
  end)
  if ok then return res end
  if type(res) == "table" and res.query_error then return nil, res.query_error end
  error(res, 0)
end

---------------------------------------------------------------------------
-- Sorting
---------------------------------------------------------------------------

-- Order mixed sort values: numbers before strings, otherwise natural order.
local function value_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta == "number" end
  return a < b
end

-- Value getter for a sort field: getter(doc, desc) -> number | string | nil.
local function sort_getter(field)
  if field == "_score" or field == "_doc" then return function() return nil end end
  local base = match(field, "^(.+)%.raw$") or match(field, "^(.+)%.keyword$") or field
  local kind = KNOWN[base]
  local segs = split_path(base)
  local n = #segs
  local best, want_desc
  local function norm(v)
    local t = type(v)
    if t == "number" then return v end
    if t == "boolean" then return v and 1 or 0 end
    if t ~= "string" then return nil end
    if kind == "number" then return to_num(v) end
    if kind == "date" or (kind == nil and looks_like_date(v)) then
      local ms = date_of(v)
      if ms then return ms end
      if kind == "date" then return nil end
    end
    return v
  end
  local function visit(v)
    local x = norm(v)
    if x ~= nil and (best == nil or (want_desc and value_less(best, x))
                     or (not want_desc and value_less(x, best))) then
      best = x
    end
    return false
  end
  return function(doc, desc)
    best, want_desc = nil, desc
    any_value(doc, segs, 1, n, visit)
    return best
  end
end

-- Normalise a sort spec into an ordered list of {field, desc, missing_first, get}.
local function sort_keys(spec)
  local keys = {}
  local function add(field, order)
    if type(field) ~= "string" then return nil, "sort field names must be strings" end
    local missing_first = false
    if type(order) == "table" then
      missing_first = order.missing == "_first"
      order = order.order
    end
    if order == nil then order = "asc" end
    local o = type(order) == "string" and lower(order)
    if o ~= "asc" and o ~= "desc" then
      return nil, format("invalid sort order '%s' for field '%s' (use \"asc\" or \"desc\")",
                         tostring(order), field)
    end
    keys[#keys + 1] = { field = field, desc = o == "desc", missing_first = missing_first,
                        get = sort_getter(field) }
    return true
  end
  local ok, err = true, nil
  if spec == nil or (type(spec) == "table" and next(spec) == nil) then
    ok, err = add("filename", "asc")
  elseif type(spec) == "string" then
    ok, err = add(spec, "asc")
  elseif type(spec) ~= "table" then
    return nil, "sort must be an object"
  elseif spec[1] ~= nil then
    for _, item in ipairs(spec) do
      if type(item) == "string" then
        ok, err = add(item, "asc")
      elseif type(item) == "table" then
        local f, o = next(item)
        ok, err = add(f, o)
      else
        ok, err = nil, "sort array items must be strings or objects"
      end
      if not ok then break end
    end
  else
    local names = {}
    for f in pairs(spec) do
      if type(f) ~= "string" then return nil, "sort field names must be strings" end
      names[#names + 1] = f
    end
    tsort(names, function(a, b)
      local ua, ub = UNIQUE_SORT_KEYS[a] or false, UNIQUE_SORT_KEYS[b] or false
      if ua ~= ub then return ub end
      return a < b
    end)
    for _, f in ipairs(names) do
      ok, err = add(f, spec[f])
      if not ok then break end
    end
  end
  if not ok then return nil, err end
  return keys
end

--- Sort docs in place by a Sirv sort object; returns docs, or nil, message.
function M.sort(docs, sort)
  local keys, err = sort_keys(sort)
  if not keys then return nil, err end
  local last = keys[#keys].field
  if last ~= "filename" and last ~= "filename.raw" then
    keys[#keys + 1] = { field = "filename", desc = false, missing_first = false,
                        get = sort_getter("filename") }
  end
  local nk, n = #keys, #docs
  local vals, idx = {}, {}
  for i = 1, n do
    local v = {}
    for j = 1, nk do v[j] = keys[j].get(docs[i], keys[j].desc) end
    vals[i], idx[i] = v, i
  end
  tsort(idx, function(a, b)
    local va, vb = vals[a], vals[b]
    for j = 1, nk do
      local x, y = va[j], vb[j]
      if x ~= y then
        local key = keys[j]
        if x == nil then return key.missing_first end
        if y == nil then return not key.missing_first end
        if value_less(x, y) then return not key.desc end
        if value_less(y, x) then return key.desc end
      end
    end
    return a < b
  end)
  local sorted = {}
  for i = 1, n do sorted[i] = docs[idx[i]] end
  for i = 1, n do docs[i] = sorted[i] end
  return docs
end

--- The values a hit reports in its "sort" array; missing values are `null` (default q.null).
function M.sort_values(doc, sort, null)
  local keys, err = sort_keys(sort)
  if not keys then return nil, err end
  if null == nil then null = M.null end
  local out = {}
  for j = 1, #keys do
    local v = keys[j].get(doc, keys[j].desc)
    if v == nil then v = null end
    out[j] = v
  end
  return out
end

return M
