--- sandbox.query.parser: tokens -> AST with Lucene's classic QueryParser
-- rules (operators combine as Lucene does, not by precedence). Nodes:
-- {k="bool", clauses={{occur=, node=}}}, {k="all"}, {k="exists"}, {k="term"},
-- {k="phrase"}, {k="range"}, {k="regex"}; leaves carry field and pos.
-- Part of sandbox.query (see the notes at the head of sandbox/query.lua).
-- Runs under Lua 5.1 (LuaJIT), 5.2, 5.3 and 5.4. Pure Lua, no dependencies.
local util = require "sandbox.query.util"
local lexer = require "sandbox.query.lexer"

local floor, min = math.floor, math.min
local sub, find, match, format = string.sub, string.find, string.match, string.format
local codepoints, fail = util.codepoints, util.fail
local lex = lexer.lex

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

--- Parse a query string into its AST ({k = "all"} for an empty query). Raises
-- {query_error = message} (see util.fail) on a syntax error.
local function parse(query)
  local ps = { toks = lex(query), i = 1 }
  if ps.toks[1].t == "EOF" then return { k = "all" } end
  local ast = parse_query(ps, nil)
  local tok = ps.toks[ps.i]
  if tok.t == "RPAREN" then fail("unbalanced ')'", tok.pos) end
  if tok.t ~= "EOF" then fail("unexpected " .. describe(tok), tok.pos) end
  return ast
end

return {
  parse = parse,
}
