-- sandbox.http: response values and how they are written to the client.
--
-- A response is a table:
--   { status = 200, headers = { ["name"] = "value" }, body = "..." }
-- or, for file bytes, `source = { length = n, read = function(offset, n) -> string }`
-- instead of `body`. Handlers return responses; the router sends them, and the
-- fault layer may alter how (truncate, reset, invalid_json).

local json = require "sandbox.json"

local ngx = ngx
local floor, min, tostring, pairs = math.floor, math.min, tostring, pairs
local io_open = io.open

local http = {}

local BOOM_ORDER = { "statusCode", "error", "message", "attributes" }

http.reasons = {
  [200] = "OK", [201] = "Created", [204] = "No Content", [206] = "Partial Content",
  [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
  [405] = "Method Not Allowed", [409] = "Conflict", [410] = "Gone", [412] = "Precondition Failed",
  [413] = "Request Entity Too Large", [415] = "Unsupported Media Type", [416] = "Range Not Satisfiable",
  [417] = "Expectation Failed", [422] = "Unprocessable Entity", [429] = "Too Many Requests",
  [460] = "Checksum Mismatch",
  [500] = "Internal Server Error", [502] = "Bad Gateway", [503] = "Service Unavailable",
  [504] = "Gateway Timeout",
}

function http.reason(status)
  return http.reasons[status] or (status >= 500 and "Internal Server Error" or "Error")
end

function http.json(status, value, headers)
  local h = headers or {}
  h["content-type"] = "application/json; charset=utf-8"
  return { status = status, headers = h, body = json.encode(value) }
end

function http.empty(status, headers)
  return { status = status or 200, headers = headers or {}, body = "" }
end

-- Boom error body: {statusCode, error, message [, attributes]} plus `extra` keys
function http.boom(status, message, extra, headers)
  local body = json.ordered({ statusCode = status, error = http.reason(status), message = message or http.reason(status) },
    BOOM_ORDER)
  if extra then
    for k, v in pairs(extra) do body[k] = v end
  end
  return http.json(status, body, headers)
end

function http.bad_request(message)
  return http.boom(400, message)
end

function http.not_found_file(path)
  return http.boom(404, "No such file: " .. tostring(path))
end

-- read a whole (small) request body: string | nil, response
function http.read_body(max)
  ngx.req.read_body()
  local data = ngx.req.get_body_data()
  if data then
    if max and #data > max then return nil, http.boom(413, "Payload content length greater than maximum allowed: " .. max) end
    return data
  end
  local file = ngx.req.get_body_file()
  if not file then return "" end
  local f = io_open(file, "rb")
  if not f then return nil, http.boom(500, "Cannot read request body") end
  local s = f:read("*a")
  f:close()
  if max and #s > max then return nil, http.boom(413, "Payload content length greater than maximum allowed: " .. max) end
  return s
end

-- parse a JSON request body; an empty body gives nil (no error)
function http.read_json(max)
  local data, res = http.read_body(max)
  if not data then return nil, res end
  if data:match("^%s*$") then return nil end
  local v, err = json.decode(data)
  if v == nil then
    return nil, http.boom(400, "Invalid request payload JSON format", { attributes = { detail = err } })
  end
  return v
end

local CHUNK = 65536

local function body_length(res)
  if res.source then return res.source.length end
  return #(res.body or "")
end

local function write_range(res, first, count, pace)
  if count <= 0 then return true end
  if res.source then
    local off, last = first, first + count
    while off < last do
      local n = min(CHUNK, last - off)
      local chunk = res.source.read(off, n)
      if not chunk or #chunk == 0 then return nil end
      local ok = ngx.print(chunk)
      if not ok then return nil end
      off = off + #chunk
      if pace then ngx.sleep(#chunk / pace) end
      if off < last then
        local fok = ngx.flush(true)
        if not fok then return nil end
      end
    end
    return true
  end
  return ngx.print(res.body:sub(first + 1, first + count))
end

local function set_headers(res, length)
  ngx.status = res.status
  for k, v in pairs(res.headers or {}) do
    ngx.header[k] = v
  end
  if res.headers == nil or res.headers["content-type"] == nil then
    ngx.header["content-type"] = nil
  end
  ngx.header["content-length"] = length
end

-- send a response. mode: nil | "truncate" | "reset" | "invalid_json" | "throttle"
-- (rule: the fault rule, for the throttle's rate)
local function close_source(res)
  if res.source and res.source.close then res.source.close() end
end

function http.send(res, mode, rule)
  if mode == "invalid_json" then
    res = { status = res.status, headers = res.headers or {}, body = '{"statusCode":' .. tostring(res.status) .. ',"oops": <html>not json' }
    res.headers["content-type"] = "application/json; charset=utf-8"
  end
  local len = body_length(res)
  if mode == "truncate" then
    local half = floor(len / 2)
    set_headers(res, half)
    write_range(res, 0, half)
    close_source(res)
    return ngx.exit(res.status)
  elseif mode == "reset" then
    -- promise the whole body, send part of it, then drop the connection
    local promised = len > 0 and len or 64
    set_headers(res, promised)
    ngx.send_headers()
    write_range(res, 0, floor(len / 2))
    close_source(res)
    ngx.flush(true)
    return ngx.exit(444)
  end
  set_headers(res, len)
  if ngx.req.get_method() == "HEAD" then
    ngx.send_headers()
    return ngx.exit(res.status)
  end
  -- throttle: a file body at `rate` bytes per second (a slow link)
  write_range(res, 0, len, mode == "throttle" and rule and rule.rate or nil)
  close_source(res)
  return ngx.exit(res.status)
end

return http
