--- sandbox.query.lexer: a query string as tokens {t = kind, pos = byte
-- offset, raw = source text, ...}; kinds TERM PHRASE RANGE REGEX LPAREN RPAREN
-- COLON AND OR NOT PLUS MINUS FUZZY BOOST EOF.
-- Part of sandbox.query (see the notes at the head of sandbox/query.lua).
-- Runs under Lua 5.1 (LuaJIT), 5.2, 5.3 and 5.4. Pure Lua, no dependencies.
local util = require "sandbox.query.util"

local tonumber = tonumber
local byte, sub, find, match, gmatch, rep_str = string.byte, string.sub, string.find, string.match,
  string.gmatch, string.rep
local concat = table.concat
local fail, unescape, utf8_encode, UTF8_CHAR = util.fail, util.unescape, util.utf8_encode, util.UTF8_CHAR

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

return {
  lex = lex,
}
