--- sandbox.query.eval: an AST compiled into a doc predicate (closures):
-- per-field value tests by field type (keyword, .raw, text, number, date,
-- boolean, dynamic) and BooleanQuery semantics for the clauses.
-- Part of sandbox.query (see the notes at the head of sandbox/query.lua).
-- Runs under Lua 5.1 (LuaJIT), 5.2, 5.3 and 5.4. Pure Lua, no dependencies.
local util = require "sandbox.query.util"
local dates = require "sandbox.query.dates"
local regex = require "sandbox.query.regex"

local type, ipairs, find, match, lower = type, ipairs, string.find, string.match, string.lower
local format = string.format
local KNOWN, fail, present, to_num = util.KNOWN, util.fail, util.present, util.to_num
local any_leaf, any_value, split_path = util.any_leaf, util.any_value, util.split_path
local codepoints, lower_c, tokens_of = util.codepoints, util.lower_c, util.tokens_of
local glob_pattern, has_phrase, in_range, osa = util.glob_pattern, util.has_phrase, util.in_range, util.osa
local date_of, looks_like_date, parse_date = dates.date_of, dates.looks_like_date, dates.parse_date
local regex_compile = regex.regex_compile

local TYPE_NAME = { number = "numeric", date = "date", bool = "boolean" }
local TYPE_TEST = { number = "num", date = "date", bool = "bool" }   -- mode -> value_query key
local DEFAULT_FIELDS = { "filename", "basename", "meta.title", "meta.description", "meta.tags" }

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

return {
  compile_node = compile_node,
  match_all = match_all,
}
