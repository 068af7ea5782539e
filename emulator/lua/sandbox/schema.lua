-- sandbox.schema: the JSON-schema subset used by sirv-endpoints.json, with
-- Joi-style messages (Sirv's API is hapi + Joi):
--   type (object array string number integer boolean), properties, required,
--   additionalProperties (false | true | schema), maxLength, minLength,
--   pattern, format "uri", minimum, maximum, maxItems, enum, items.
--
-- schema.validate(schema, value) -> true | nil, message

local json = require "sandbox.json"

local type, ipairs, tostring, concat, floor, find, byte = type, ipairs, tostring, table.concat, math.floor, string.find, string.byte
local format, next = string.format, next
local ngx = ngx

local schema = {}

local function utf8_len(s)
  local n = 0
  for i = 1, #s do
    local b = byte(s, i)
    if b < 0x80 or b >= 0xC0 then n = n + 1 end
  end
  return n
end

local function value_type(v)
  local t = type(v)
  if t == "table" then
    if v == json.null then return "null" end
    if json.is_array(v) then return "array" end
    if next(v) ~= nil and v[1] ~= nil then return "array" end
    return "object"
  end
  return t
end

local function type_ok(want, v)
  local vt = value_type(v)
  if want == "integer" then
    return vt == "number" and floor(v) == v
  end
  return vt == want
end

local type_words = {
  object = "an object", array = "an array", string = "a string", number = "a number",
  integer = "an integer", boolean = "a boolean",
}

local function quote(label)
  return '"' .. label .. '"'
end

local function fmt_num(n)
  if floor(n) == n then return format("%d", n) end
  return tostring(n)
end

local function pattern_ok(pattern, s)
  if pattern == "^\\/" or pattern == "^/" then
    return s:sub(1, 1) == "/", "fails to match the UNIX filename pattern"
  end
  local ok = ngx.re.find(s, pattern, "jo")
  return ok ~= nil, "fails to match the required pattern: /" .. pattern .. "/"
end

local check

local function check_object(sch, v, _)  -- (schema, value, label)
  local props = sch.properties or {}
  local required = {}
  for _, r in ipairs(sch.required or {}) do required[r] = true end
  for _, k in ipairs(json.keys(props)) do
    local sub = props[k]
    local val = v[k]
    if val == nil then
      if required[k] then
        return format('child %s fails because [%s is required]', quote(k), quote(k))
      end
    else
      local err = check(sub, val, k)
      if err then return format("child %s fails because [%s]", quote(k), err) end
    end
  end
  for _, r in ipairs(sch.required or {}) do
    if props[r] == nil and v[r] == nil then
      return format('child %s fails because [%s is required]', quote(r), quote(r))
    end
  end
  local extra = sch.additionalProperties
  for _, k in ipairs(json.keys(v)) do
    if props[k] == nil then
      if extra == false then
        return quote(k) .. " is not allowed"
      elseif type(extra) == "table" then
        local err = check(extra, v[k], k)
        if err then return format("child %s fails because [%s]", quote(k), err) end
      end
    end
  end
  return nil
end

check = function(sch, v, label)
  if type(sch) ~= "table" then return nil end
  local want = sch.type
  if want and not type_ok(want, v) then
    return quote(label) .. " must be " .. (type_words[want] or want)
  end
  if sch.enum then
    local found = false
    for _, e in ipairs(sch.enum) do
      if e == v then found = true break end
    end
    if not found then
      local opts = {}
      for i, e in ipairs(sch.enum) do opts[i] = tostring(e) end
      return quote(label) .. " must be one of [" .. concat(opts, ", ") .. "]"
    end
  end
  local vt = value_type(v)
  if vt == "string" then
    local len = (sch.maxLength or sch.minLength) and utf8_len(v)
    if sch.maxLength and len > sch.maxLength then
      return format("%s length must be less than or equal to %d characters long", quote(label), sch.maxLength)
    end
    if sch.minLength and len < sch.minLength then
      return format("%s length must be at least %d characters long", quote(label), sch.minLength)
    end
    if sch.pattern then
      local ok, why = pattern_ok(sch.pattern, v)
      if not ok then return format("%s with value %s %s", quote(label), quote(v), why) end
    end
    if sch.format == "uri" and not find(v, "^%a[%w+.-]*://[^%s]+$") then
      return quote(label) .. " must be a valid uri"
    end
  elseif vt == "number" then
    if sch.minimum and v < sch.minimum then
      return format("%s must be larger than or equal to %s", quote(label), fmt_num(sch.minimum))
    end
    if sch.maximum and v > sch.maximum then
      return format("%s must be less than or equal to %s", quote(label), fmt_num(sch.maximum))
    end
  elseif vt == "array" or (want == "array" and type(v) == "table") then
    if sch.maxItems and #v > sch.maxItems then
      return format("%s must contain less than or equal to %d items", quote(label), sch.maxItems)
    end
    if sch.items then
      for i = 1, #v do
        local err = check(sch.items, v[i], tostring(i - 1))
        if err then
          return format("%s at position %d fails because [%s]", quote(label), i - 1, err)
        end
      end
    end
  end
  if (want == "object" or (want == nil and sch.properties)) and type(v) == "table" and vt ~= "array" then
    return check_object(sch, v, label)
  end
  return nil
end

function schema.validate(sch, value, label)
  local err = check(sch, value, label or "value")
  if err then return nil, err end
  return true
end

schema.utf8_len = utf8_len

return schema
