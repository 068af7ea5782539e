--- sandbox.query.util: the small pieces the search language is built from:
-- field types, query errors, bounded memo caches, UTF-8, words, wildcard
-- patterns, phrases, edit distance, ranges and walking nested doc values.
-- Part of sandbox.query (see the notes at the head of sandbox/query.lua).
-- Runs under Lua 5.1 (LuaJIT), 5.2, 5.3 and 5.4. Pure Lua, no dependencies.

local type, pairs, tonumber, error = type, pairs, tonumber, error
local floor, huge, min = math.floor, math.huge, math.min
local byte, char, sub, find, gmatch, lower, format = string.byte, string.char, string.sub, string.find,
  string.gmatch, string.lower, string.format
local concat = table.concat

local CACHE_MAX = 50000                       -- entries per memo cache before it is reset
local UTF8_CHAR = "[^\128-\191][\128-\191]*"  -- one UTF-8 character, as a Lua pattern

local KNOWN = {
  filename = "keyword", dirname = "keyword", basename = "keyword",
  extension = "keyword", contentType = "keyword", ["meta.tags"] = "keyword",
  ["meta.title"] = "text", ["meta.description"] = "text",
  size = "number", ["meta.width"] = "number", ["meta.height"] = "number",
  ["meta.duration"] = "number",
  ctime = "date", mtime = "date",
  isDirectory = "bool", ["meta.approval.approved"] = "bool",
}

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

return {
  UTF8_CHAR = UTF8_CHAR,
  KNOWN = KNOWN,
  any_leaf = any_leaf,
  any_value = any_value,
  codepoints = codepoints,
  fail = fail,
  glob_pattern = glob_pattern,
  has_phrase = has_phrase,
  in_range = in_range,
  lower_c = lower_c,
  memo = memo,
  next_cp = next_cp,
  osa = osa,
  present = present,
  split_path = split_path,
  to_num = to_num,
  tokens_of = tokens_of,
  unescape = unescape,
  utf8_encode = utf8_encode,
}
