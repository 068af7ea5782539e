--- sandbox.query.sort: sorting docs by a Sirv sort object and the values a
-- hit reports in its "sort" array.
-- Part of sandbox.query (see the notes at the head of sandbox/query.lua).
-- Runs under Lua 5.1 (LuaJIT), 5.2, 5.3 and 5.4. Pure Lua, no dependencies.
local util = require "sandbox.query.util"
local dates = require "sandbox.query.dates"

local type, pairs, ipairs, tostring, next = type, pairs, ipairs, tostring, next
local match, lower, format, tsort = string.match, string.lower, string.format, table.sort
local KNOWN, any_value, split_path, to_num = util.KNOWN, util.any_value, util.split_path, util.to_num
local date_of, looks_like_date = dates.date_of, dates.looks_like_date

local UNIQUE_SORT_KEYS = { filename = true, ["filename.raw"] = true, ["filename.keyword"] = true,
                           id = true, _id = true }

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
local function sort_docs(docs, sort)
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
local function sort_values(doc, sort, null)
  local keys, err = sort_keys(sort)
  if not keys then return nil, err end
  local out = {}
  for j = 1, #keys do
    local v = keys[j].get(doc, keys[j].desc)
    if v == nil then v = null end
    out[j] = v
  end
  return out
end

return {
  sort_docs = sort_docs,
  sort_values = sort_values,
}
