--- sandbox.query.regex: regular expressions of the Lucene RegExp subset as
-- backtracking matchers with a step budget per value (see sandbox.query).
-- Part of sandbox.query (see the notes at the head of sandbox/query.lua).
-- Runs under Lua 5.1 (LuaJIT), 5.2, 5.3 and 5.4. Pure Lua, no dependencies.
local util = require "sandbox.query.util"

local ipairs, tonumber, error, pcall, byte = ipairs, tonumber, error, pcall, string.byte
local char, sub, match, lower, concat = string.char, string.sub, string.match, string.lower, table.concat
local codepoints, fail, next_cp = util.codepoints, util.fail, util.next_cp

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

return {
  regex_compile = regex_compile,
}
