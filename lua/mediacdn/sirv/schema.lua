--- Client-side check of JSON bodies against the documented schema subset
-- (type, required, properties, additionalProperties, items, enum, lengths,
-- pattern, ranges). A mismatch is caller misuse: the caller raises.
local core = require "mediacdn.core"

local M = {}

local array_mt = core.array_mt

local function is_array(v)
  if getmetatable(v) == array_mt then return true end
  local n = 0
  for k in pairs(v) do
    if type(k) ~= "number" then return false end
    n = n + 1
  end
  return n == #v
end

local function type_ok(v, t)
  if t == "string" then return type(v) == "string" end
  if t == "number" then return type(v) == "number" end
  if t == "integer" then return type(v) == "number" and v == math.floor(v) end
  if t == "boolean" then return type(v) == "boolean" end
  if t == "object" then return type(v) == "table" and (next(v) == nil or not is_array(v)) end
  if t == "array" then return type(v) == "table" and is_array(v) end
  return true
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
  return ks
end

--- Check v against schema s; returns a normalised copy (arrays marked with
-- array_mt so an empty one encodes as []), or nil and a message naming the field.
function M.check(v, s, where)
  if not s then return v end
  if s.type and not type_ok(v, s.type) then
    return nil, ("%s must be %s %s (got %s)"):format(where, s.type == "array" and "an" or "a", s.type, type(v))
  end
  if s.enum then
    local ok = false
    for _, e in ipairs(s.enum) do if e == v then ok = true end end
    if not ok then
      local names = {}
      for _, e in ipairs(s.enum) do names[#names + 1] = tostring(e) end
      return nil, ("%s must be one of %s"):format(where, table.concat(names, ", "))
    end
  end
  if type(v) == "string" then
    if s.maxLength and #v > s.maxLength then
      return nil, ("%s is longer than %d bytes"):format(where, s.maxLength)
    end
    if s.minLength and #v < s.minLength then
      return nil, ("%s is shorter than %d bytes"):format(where, s.minLength)
    end
    if s.pattern == "^\\/" and v:sub(1, 1) ~= "/" then
      return nil, ("%s must be an absolute path starting with '/'"):format(where)
    end
    if s.pattern == "^\\/" and v:find("\0", 1, true) then
      return nil, ("%s must not hold a NUL byte"):format(where)
    end
  elseif type(v) == "number" then
    if s.minimum and v < s.minimum then return nil, ("%s must be >= %s"):format(where, s.minimum) end
    if s.maximum and v > s.maximum then return nil, ("%s must be <= %s"):format(where, s.maximum) end
  elseif type(v) == "table" then
    if s.type == "array" then
      if s.maxItems and #v > s.maxItems then
        return nil, ("%s has more than %d items"):format(where, s.maxItems)
      end
      local out = setmetatable({}, array_mt)
      for i = 1, #v do
        local item, err = M.check(v[i], s.items, ("%s[%d]"):format(where, i))
        if err then return nil, err end
        out[i] = item
      end
      return out
    end
    local out = {}
    for _, k in ipairs(sorted_keys(v)) do
      local ps = s.properties and s.properties[k]
      if not ps and s.additionalProperties == false then
        return nil, ("%s has an unknown field '%s'"):format(where, tostring(k))
      end
      local item, err = M.check(v[k], ps or (type(s.additionalProperties) == "table" and s.additionalProperties) or nil,
        where .. "." .. tostring(k))
      if err then return nil, err end
      out[k] = item
    end
    for _, r in ipairs(s.required or {}) do
      if v[r] == nil then return nil, ("%s.%s is required"):format(where, r) end
    end
    return out
  end
  return v
end

return M
