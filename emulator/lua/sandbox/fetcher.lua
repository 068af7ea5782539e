-- sandbox.fetcher: the HTTP client behind postFilesFetch. Cosockets only (never
-- blocks the worker, so it may fetch from this very sandbox). Loopback hosts only:
-- the sandbox has no internet, other hosts fail like an unresolvable name.

local util = require "sandbox.util"

local ngx = ngx
local tonumber, lower, find, sub, match = tonumber, string.lower, string.find, string.sub, string.match
local min, tostring = math.min, tostring

local fetcher = {}

local loopback = { ["127.0.0.1"] = true, ["localhost"] = true, ["[::1]"] = true, ["::1"] = true }

function fetcher.parse_url(url)
  local scheme, rest = match(url, "^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil, "Invalid URI " .. url end
  scheme = lower(scheme)
  if scheme ~= "http" and scheme ~= "https" then return nil, "Unsupported protocol " .. scheme .. ":" end
  local authority, path = match(rest, "^([^/?#]*)(.*)$")
  if path == "" then path = "/" end
  path = path:gsub("#.*$", "")
  if sub(path, 1, 1) == "?" then path = "/" .. path end
  authority = authority:gsub("^.*@", "")
  local host, port = match(authority, "^(%[[^%]]+%]):?(%d*)$")
  if not host then host, port = match(authority, "^([^:]+):?(%d*)$") end
  if not host then return nil, "Invalid URI " .. url end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  return { scheme = scheme, host = lower(host), port = port, path = path }
end

local function read_headers(sock)
  local status_line, err = sock:receive("*l")
  if not status_line then return nil, err end
  local version, code, reason = match(status_line, "^HTTP/(%d%.%d)%s+(%d%d%d)%s*(.*)$")
  if not version then return nil, "bad status line" end
  local headers, order = {}, {}
  while true do
    local line, lerr = sock:receive("*l")
    if not line then return nil, lerr end
    if line == "" then break end
    local k, v = match(line, "^([^:]+):%s*(.-)%s*$")
    if k then
      headers[lower(k)] = v
      order[#order + 1] = { k, v }
    end
  end
  return { version = "HTTP/" .. version, code = tonumber(code), reason = reason, headers = headers, order = order }
end

local function pump_body(sock, res, sink)
  local h = res.headers
  local total = 0
  if h["transfer-encoding"] and find(lower(h["transfer-encoding"]), "chunked", 1, true) then
    while true do
      local line, err = sock:receive("*l")
      if not line then return nil, err end
      local size = tonumber(match(line, "^%s*(%x+)"), 16)
      if not size then return nil, "bad chunk size" end
      if size == 0 then
        repeat line = sock:receive("*l") until not line or line == ""
        break
      end
      local left = size
      while left > 0 do
        local data, rerr = sock:receive(min(65536, left))
        if not data then return nil, rerr end
        if sink then sink(data) end
        left = left - #data
        total = total + #data
      end
      sock:receive("*l")
    end
    return total
  end
  local len = tonumber(h["content-length"] or "")
  if len then
    local left = len
    while left > 0 do
      local data, err, partial = sock:receive(min(65536, left))
      data = data or partial
      if data and #data > 0 then
        if sink then sink(data) end
        left = left - #data
        total = total + #data
      end
      if err then
        if left > 0 then return nil, err end
      end
    end
    return total
  end
  while true do
    local data, err, partial = sock:receive(65536)
    data = data or partial
    if data and #data > 0 then
      if sink then sink(data) end
      total = total + #data
    end
    if err == "closed" then break end
    if err then return nil, err end
  end
  return total
end

-- get(url, opts) -> result
-- opts: auth = {username, password}, sink = function(chunk) (only for a 200 body),
--       on_headers = function(res) (each response's status and headers, before its body),
--       max_redirects (3)
-- result: { url, code?, reason?, version?, headers?, error?, timing = {...} }
function fetcher.get(url, opts)
  opts = opts or {}
  local t0 = util.now()
  local timing = { ns = 0, connect = 0, start = 0, total = 0 }
  local redirects = opts.max_redirects or 3
  local current = url
  while true do
    local u, perr = fetcher.parse_url(current)
    if not u then return { url = url, error = perr, timing = timing } end
    if not loopback[u.host] then
      return { url = url, error = "getaddrinfo ENOTFOUND " .. u.host .. " (the sandbox cannot reach the internet)", timing = timing }
    end
    local sock = ngx.socket.tcp()
    sock:settimeouts(5000, 30000, 30000)
    local host = u.host == "localhost" and "127.0.0.1" or (u.host:gsub("^%[(.*)%]$", "%1"))
    local ok, cerr = sock:connect(host, u.port)
    local t1 = util.now()
    timing.ns = 0.0001
    timing.connect = t1 - t0
    if not ok then
      return { url = url, error = "connect " .. tostring(cerr) .. " " .. host .. ":" .. u.port, timing = timing }
    end
    if u.scheme == "https" then
      local sok, serr = sock:sslhandshake(nil, u.host, false)
      if not sok then
        sock:close()
        return { url = url, error = "TLS handshake failed: " .. tostring(serr), timing = timing }
      end
    end
    local hostport = u.host .. ((u.port == 80 or u.port == 443) and "" or (":" .. u.port))
    local lines = {
      "GET " .. u.path .. " HTTP/1.1",
      "Host: " .. hostport,
      "User-Agent: Sirv (sandbox fetcher)",
      "Accept: */*",
      "Connection: close",
    }
    if opts.auth and (opts.auth.username or opts.auth.password) then
      lines[#lines + 1] = "Authorization: Basic " .. ngx.encode_base64((opts.auth.username or "") .. ":" .. (opts.auth.password or ""))
    end
    local sent, serr = sock:send(table.concat(lines, "\r\n") .. "\r\n\r\n")
    if not sent then
      sock:close()
      return { url = url, error = "send failed: " .. tostring(serr), timing = timing }
    end
    local res, rerr = read_headers(sock)
    if res and opts.on_headers then opts.on_headers(res) end
    timing.start = util.now() - t0
    if not res then
      sock:close()
      timing.total = util.now() - t0
      return { url = url, error = "socket hang up: " .. tostring(rerr), timing = timing }
    end
    local loc = res.headers["location"]
    if res.code >= 300 and res.code < 400 and loc and redirects > 0 then
      sock:close()
      redirects = redirects - 1
      if sub(loc, 1, 1) == "/" then
        loc = u.scheme .. "://" .. hostport .. loc
      end
      current = loc
    else
      local n, berr = pump_body(sock, res, res.code == 200 and opts.sink or nil)
      sock:close()
      timing.total = util.now() - t0
      res.url = url
      res.timing = timing
      res.size = n
      if not n then res.error = "socket hang up: " .. tostring(berr) end
      return res
    end
  end
end

return fetcher
