-- sandbox.json: a small JSON codec that keeps the difference between [] and {}.
--
-- Debian's lua-cjson 2.1.0 has no empty-array marker, and the sandbox must send
-- `"hits":[]`, `"tags":[]` exactly as Sirv does. Decoded arrays carry
-- `json.array_mt`; JSON null decodes to `json.null`; decoded objects remember
-- their key order (json.keys), which a Sirv sort object needs.

local byte, char, sub, find, format = string.byte, string.char, string.sub, string.find, string.format
local concat, floor, huge = table.concat, math.floor, math.huge
local type, pairs, ipairs, tostring, tonumber = type, pairs, ipairs, tostring, tonumber
local setmetatable, getmetatable, error, pcall = setmetatable, getmetatable, error, pcall
local sort = table.sort

local json = {}

json.array_mt = { __name = "sandbox.json.array" }
json.null = setmetatable({}, { __name = "sandbox.json.null", __tostring = function() return "null" end })

local key_order = setmetatable({}, { __mode = "k" })

-- mark a table as a JSON array (also when empty); returns it
function json.array(t)
  return setmetatable(t or {}, json.array_mt)
end

function json.is_array(t)
  return type(t) == "table" and getmetatable(t) == json.array_mt
end

-- keys of an object: in source order when it was decoded (or set with
-- json.ordered), any others after them sorted
function json.keys(t)
  local ks = key_order[t]
  local out, seen = {}, nil
  if ks then
    seen = {}
    for _, k in ipairs(ks) do
      if t[k] ~= nil and not seen[k] then
        out[#out + 1] = k
        seen[k] = true
      end
    end
  end
  local rest = {}
  for k in pairs(t) do
    if type(k) == "string" and not (seen and seen[k]) then rest[#rest + 1] = k end
  end
  sort(rest)
  for _, k in ipairs(rest) do out[#out + 1] = k end
  return out
end

-- give an object a key order for encoding; returns it
function json.ordered(t, keys)
  key_order[t] = keys
  return t
end

---------------------------------------------------------------------------
-- encoding

local escapes = {
  ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
  ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t',
}

local function escape_char(c)
  return escapes[c] or format("\\u%04x", byte(c))
end

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', escape_char) .. '"'
end

local function encode_number(n)
  if n ~= n or n == huge or n == -huge then
    return "null"
  end
  if floor(n) == n and n > -9007199254740992 and n < 9007199254740992 then
    return format("%d", n)
  end
  local s = format("%.14g", n)
  if tonumber(s) ~= n then s = format("%.17g", n) end
  return s
end

local function is_sequence(t)
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k <= 0 or floor(k) ~= k then return false end
    n = n + 1
  end
  for i = 1, n do
    if t[i] == nil then return false end
  end
  return n > 0
end

local encode_value

local function encode_table(t, buf, depth)
  if depth > 64 then error("json: nesting too deep") end
  if t == json.null then
    buf[#buf + 1] = "null"
    return
  end
  local mt = getmetatable(t)
  if mt == json.array_mt or (mt == nil and is_sequence(t)) then
    buf[#buf + 1] = "["
    for i = 1, #t do
      if i > 1 then buf[#buf + 1] = "," end
      encode_value(t[i], buf, depth + 1)
    end
    buf[#buf + 1] = "]"
    return
  end
  buf[#buf + 1] = "{"
  local first = true
  for _, k in ipairs(json.keys(t)) do
    local v = t[k]
    if type(v) ~= "function" then
      if not first then buf[#buf + 1] = "," end
      first = false
      buf[#buf + 1] = encode_string(k)
      buf[#buf + 1] = ":"
      encode_value(v, buf, depth + 1)
    end
  end
  buf[#buf + 1] = "}"
end

encode_value = function(v, buf, depth)
  local tv = type(v)
  if tv == "string" then
    buf[#buf + 1] = encode_string(v)
  elseif tv == "number" then
    buf[#buf + 1] = encode_number(v)
  elseif tv == "boolean" then
    buf[#buf + 1] = v and "true" or "false"
  elseif tv == "table" then
    encode_table(v, buf, depth)
  elseif v == nil then
    buf[#buf + 1] = "null"
  else
    error("json: cannot encode a " .. tv)
  end
end

function json.encode(v)
  local buf = {}
  encode_value(v, buf, 0)
  return concat(buf)
end

---------------------------------------------------------------------------
-- decoding

local decode_value

local function decode_error(_, pos, what)  -- (text, position, what was expected)
  error({ json_error = format("%s at character %d", what, pos) })
end

local function skip_ws(s, pos)
  local _, e = find(s, "^[ \t\r\n]*", pos)
  return e + 1
end

local function utf8_char(cp)
  if cp < 0x80 then
    return char(cp)
  elseif cp < 0x800 then
    return char(0xC0 + floor(cp / 64), 0x80 + cp % 64)
  elseif cp < 0x10000 then
    return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64,
    0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
end

local simple_escapes = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"', ["\\"] = "\\", ["/"] = "/" }

local function decode_string(s, pos)
  -- pos is at the opening quote
  local parts, i = {}, pos + 1
  while true do
    local a, b = find(s, '^[^"\\%c]+', i)
    if a then
      parts[#parts + 1] = sub(s, a, b)
      i = b + 1
    end
    local c = sub(s, i, i)
    if c == '"' then
      return concat(parts), i + 1
    elseif c == "\\" then
      local e = sub(s, i + 1, i + 1)
      if e == "u" then
        local hex = sub(s, i + 2, i + 5)
        if not find(hex, "^%x%x%x%x$") then decode_error(s, i, "bad unicode escape") end
        local cp = tonumber(hex, 16)
        i = i + 6
        if cp >= 0xD800 and cp <= 0xDBFF and sub(s, i, i + 1) == "\\u" then
          local lo = tonumber(sub(s, i + 2, i + 5), 16)
          if lo and lo >= 0xDC00 and lo <= 0xDFFF then
            cp = 0x10000 + (cp - 0xD800) * 1024 + (lo - 0xDC00)
            i = i + 6
          end
        end
        parts[#parts + 1] = utf8_char(cp)
      elseif simple_escapes[e] then
        parts[#parts + 1] = simple_escapes[e]
        i = i + 2
      else
        decode_error(s, i, "bad escape")
      end
    elseif c == "" then
      decode_error(s, i, "unterminated string")
    else
      decode_error(s, i, "control character in string")
    end
  end
end

local function decode_array(s, pos, depth)
  local arr, n = setmetatable({}, json.array_mt), 0
  pos = skip_ws(s, pos + 1)
  if sub(s, pos, pos) == "]" then return arr, pos + 1 end
  while true do
    local v
    v, pos = decode_value(s, pos, depth + 1)
    n = n + 1
    arr[n] = v
    pos = skip_ws(s, pos)
    local c = sub(s, pos, pos)
    if c == "]" then return arr, pos + 1 end
    if c ~= "," then decode_error(s, pos, "expected ',' or ']'") end
    pos = skip_ws(s, pos + 1)
  end
end

local function decode_object(s, pos, depth)
  local obj, order = {}, {}
  key_order[obj] = order
  pos = skip_ws(s, pos + 1)
  if sub(s, pos, pos) == "}" then return obj, pos + 1 end
  while true do
    if sub(s, pos, pos) ~= '"' then decode_error(s, pos, "expected a key") end
    local k
    k, pos = decode_string(s, pos)
    pos = skip_ws(s, pos)
    if sub(s, pos, pos) ~= ":" then decode_error(s, pos, "expected ':'") end
    local v
    v, pos = decode_value(s, skip_ws(s, pos + 1), depth + 1)
    if obj[k] == nil then order[#order + 1] = k end
    obj[k] = v
    pos = skip_ws(s, pos)
    local c = sub(s, pos, pos)
    if c == "}" then return obj, pos + 1 end
    if c ~= "," then decode_error(s, pos, "expected ',' or '}'") end
    pos = skip_ws(s, pos + 1)
  end
end

decode_value = function(s, pos, depth)
  if depth > 64 then decode_error(s, pos, "nesting too deep") end
  local c = sub(s, pos, pos)
  if c == "{" then
    return decode_object(s, pos, depth)
  elseif c == "[" then
    return decode_array(s, pos, depth)
  elseif c == '"' then
    return decode_string(s, pos)
  elseif c == "t" and sub(s, pos, pos + 3) == "true" then
    return true, pos + 4
  elseif c == "f" and sub(s, pos, pos + 4) == "false" then
    return false, pos + 5
  elseif c == "n" and sub(s, pos, pos + 3) == "null" then
    return json.null, pos + 4
  end
  local a, b = find(s, "^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
  if a then
    local n = tonumber(sub(s, a, b))
    if n then return n, b + 1 end
  end
  decode_error(s, pos, "unexpected character")
end

-- decode(s) -> value | nil, message
function json.decode(s)
  if type(s) ~= "string" then return nil, "not a string" end
  local ok, v, pos = pcall(function()
    local val, p = decode_value(s, skip_ws(s, 1), 0)
    return val, skip_ws(s, p)
  end)
  if not ok then
    if type(v) == "table" and v.json_error then return nil, v.json_error end
    return nil, tostring(v)
  end
  if pos <= #s then return nil, format("trailing garbage at character %d", pos) end
  return v
end

return json
