-- mediacdn.transport.resty: HTTP/1.1 over nginx cosockets (ngx.socket.tcp).
--
-- The transport for OpenResty/nginx handlers: every wait (connect, TLS
-- handshake, send, receive, sleep) yields to nginx's event loop, so a call
-- never blocks the worker. It speaks the transport contract of
-- docs/internals.md: `t:request(req) -> res | nil, terr`.
--
-- What it does:
--   * timeouts: req.connect_timeout for connect and the TLS handshake,
--     req.stall_timeout as the per-operation inactivity limit of send and
--     receive, req.timeout as the deadline of the whole request (each
--     operation gets min(stall, time left));
--   * TLS with verification always on (sslhandshake(..., host, true)): the
--     chain, and the host name (also sent as SNI). For an IP-literal https
--     URL only the chain is checked: nginx matches names, not IP SANs.
--     Cosockets cannot take a CA bundle per call: nginx verifies against
--     `lua_ssl_trusted_certificate` (and `lua_ssl_verify_depth`, whose
--     default of 1 is too small for public chains; use 3 or more). req.cainfo
--     is therefore ignored here; put that bundle in nginx.conf instead;
--   * connection reuse via the cosocket pool (one pool per scheme/host/port).
--     A connection is kept only after a complete, well-framed response on
--     HTTP/1.1 without "Connection: close"; after any error it is closed. A
--     request that fails on a *reused* connection before any response byte
--     arrived (the server closed the idle connection) is sent again once on
--     a fresh connection, as curl does;
--   * request body from req.body, or streamed from req.body_file
--     {path, offset, length} in 64 KiB chunks, always with Content-Length;
--   * response framing by Content-Length, chunked transfer-coding, or until
--     the server closes; no body for HEAD, 1xx, 204 and 304;
--   * req.sink streams a 2xx body to a file; other bodies stay in memory
--     under the req.max_body cap (kind "protocol" when exceeded).
--
-- Errors are terr tables {kind, message, code}. `code` is the equivalent
-- libcurl error number (7 connect, 28 timeout, 56 receive, ...) so that both
-- transports report alike. Messages name the host:port and the failure, never
-- the request headers (bearer token) or the URL's query (signed tokens).

local phase = require "mediacdn.transport.phase"

local rawget = rawget
local setmetatable = setmetatable
local tostring = tostring
local tonumber = tonumber
local type = type
local pairs = pairs
local error = error
local io_open = io.open
local math_min = math.min
local math_floor = math.floor
local concat = table.concat
local byte = string.byte
local find = string.find
local format = string.format
local lower = string.lower
local match = string.match
local sub = string.sub
local upper = string.upper

local ngx = rawget(_G, "ngx")          -- nil outside nginx; new() then raises

local M = { _VERSION = "0.1.0" }
local T = {}
T.__index = T

local CHUNK = 65536                    -- body I/O granularity
local NO_LIMIT_MS = 86400 * 1000       -- "no timeout": a day
local MAX_HEADERS = 200                -- header lines per response (incl. trailers)
local MAX_HEAD_BYTES = 256 * 1024      -- total size of a response head

local DEFAULTS = {
  timeout = 30, connect_timeout = 10, stall_timeout = 30,
  max_body = 256 * 1024 * 1024,
}

-- libcurl error numbers used as terr.code
local C = {
  UNSUPPORTED_PROTOCOL = 1, URL_MALFORMAT = 3, COULDNT_RESOLVE_HOST = 6,
  COULDNT_CONNECT = 7, WEIRD_SERVER_REPLY = 8, PARTIAL_FILE = 18,
  WRITE_ERROR = 23, READ_ERROR = 26, OPERATION_TIMEDOUT = 28,
  SSL_CONNECT_ERROR = 35, BAD_FUNCTION_ARGUMENT = 43, SEND_ERROR = 55,
  RECV_ERROR = 56, PEER_FAILED_VERIFICATION = 60, FILESIZE_EXCEEDED = 63,
}

-- request header names the transport owns (it writes them itself)
local OWNED = { ["content-length"] = true, ["transfer-encoding"] = true }

local function terr(kind, message, code)
  return { kind = kind, message = message, code = code or 0 }
end

-- seconds (number or nil) -> milliseconds for settimeouts; 0 means no limit
local function to_ms(s, default)
  if s == nil then s = default end
  if s <= 0 then return NO_LIMIT_MS end
  return math_floor(s * 1000 + 0.5)
end

local function now()
  ngx.update_time()
  return ngx.now()
end

--[[
Split an absolute http(s) URL. Returns
  { scheme, host (bracket-free for IPv6), connect_host, port, target, authority }
or nil, message. The message never repeats the URL (its query may hold a
signed token).
]]
local function parse_url(url)
  if type(url) ~= "string" then return nil, "request URL is not a string" end
  local scheme, authority, rest = match(url, "^(%a[%w+.-]*)://([^/?#]*)(.*)$")
  if not scheme then return nil, "malformed request URL" end
  scheme = lower(scheme)
  if scheme ~= "http" and scheme ~= "https" then
    return nil, "unsupported URL scheme '" .. scheme .. "'"
  end
  if find(authority, "@", 1, true) then
    return nil, "credentials in the URL are not supported"
  end
  local host, port
  if sub(authority, 1, 1) == "[" then                     -- [IPv6]:port
    host, port = match(authority, "^%[([%x:.]+)%]:?(%d*)$")
  else
    host, port = match(authority, "^([^:]+):?(%d*)$")
  end
  if not host or host == "" then return nil, "malformed host in request URL" end
  local default_port = scheme == "https" and 443 or 80
  port = tonumber(port) or default_port
  if port < 1 or port > 65535 then return nil, "bad port in request URL" end
  local target = match(rest, "^[^#]*")                    -- drop a fragment
  if target == "" then
    target = "/"
  elseif sub(target, 1, 1) == "?" then
    target = "/" .. target
  end
  local is_v6 = find(host, ":", 1, true) ~= nil
  local hostport = is_v6 and ("[" .. host .. "]") or host
  return {
    scheme = scheme, host = lower(host), port = port, target = target,
    connect_host = hostport,
    authority = port == default_port and hostport or (hostport .. ":" .. port),
    is_ip = is_v6 or match(host, "^%d+%.%d+%.%d+%.%d+$") ~= nil,
  }
end

--[[
Per-request state shared by the helpers below:
  st.sock, st.where ("host:port"), st.deadline (epoch s or nil),
  st.stall_ms, st.timeout (s), st.stall (s), st.reused (bool)
]]

-- Arm the socket's send/read timeouts for the next operation: the stall
-- limit, shortened to what is left of the total deadline.
local function arm(st)
  local ms = st.stall_ms
  if st.deadline then
    local left = st.deadline - now()
    if left <= 0 then
      return nil, terr("timeout", format("request to %s timed out after %gs",
        st.where, st.timeout), C.OPERATION_TIMEDOUT)
    end
    ms = math_min(ms, math_floor(left * 1000) + 1)
  end
  st.sock:settimeouts(st.connect_ms, ms, ms)
  return true
end

-- Map a cosocket send/receive error string to a terr.
local function io_error(st, op, err)
  if err == "timeout" then
    if st.deadline and now() >= st.deadline - 0.001 then
      return terr("timeout", format("request to %s timed out after %gs",
        st.where, st.timeout), C.OPERATION_TIMEDOUT)
    end
    return terr("timeout", format("no data %s %s for %gs (stall_timeout)",
      op == "send" and "accepted by" or "from", st.where, st.stall),
      C.OPERATION_TIMEDOUT)
  end
  if op == "send" then
    return terr("transient", format("sending to %s failed: %s", st.where,
      tostring(err)), C.SEND_ERROR)
  end
  if err == "closed" then
    return terr("transient", format("%s closed the connection %s", st.where,
      op), C.RECV_ERROR)
  end
  return terr("transient", format("receiving from %s failed: %s", st.where,
    tostring(err)), C.RECV_ERROR)
end

-- Is this failure the signature of a dead keep-alive connection (the server
-- dropped it while it idled in our pool)?
local function stale_failure(err)
  return err == "closed" or err == "connection reset by peer"
    or err == "broken pipe"
end

-- Connect (or take a pooled connection) and do the TLS handshake on new
-- connections. Returns true | nil, terr.
function T:_connect(st, u)
  local ms = st.connect_ms
  if st.deadline then               -- a retry gets only what is left
    local left = st.deadline - now()
    if left <= 0 then
      return nil, terr("timeout", format("request to %s timed out after %gs",
        st.where, st.timeout), C.OPERATION_TIMEDOUT)
    end
    ms = math_min(ms, math_floor(left * 1000) + 1)
  end
  local sock = ngx.socket.tcp()
  st.sock = sock
  sock:settimeouts(ms, ms, ms)
  local pool = "mediacdn:" .. u.scheme .. ":" .. u.host .. ":" .. u.port
  local ok, err = sock:connect(u.connect_host, u.port,
    { pool = pool, pool_size = self.pool_size })
  if not ok then
    err = tostring(err)
    if err == "timeout" then
      return nil, terr("timeout", format("connect to %s timed out after %gs",
        st.where, st.connect), C.OPERATION_TIMEDOUT)
    end
    if find(err, "no resolver defined", 1, true) then
      return nil, terr("local", format("cannot resolve %s: nginx needs a "
        .. "'resolver' directive (e.g. resolver 127.0.0.53 ipv6=off;) to look "
        .. "up host names from Lua", u.host), C.COULDNT_RESOLVE_HOST)
    end
    if find(err, "could not be resolved", 1, true) then
      return nil, terr("transient", format("cannot resolve %s: %s", u.host,
        (match(err, "%((.*)%)$") or "lookup failed")), C.COULDNT_RESOLVE_HOST)
    end
    return nil, terr("transient", format("connect to %s failed: %s", st.where,
      err), C.COULDNT_CONNECT)
  end
  st.reused = (sock:getreusedtimes() or 0) > 0
  if u.scheme == "https" and not st.reused then
    -- verify the chain always; the host name is checked against the
    -- certificate (and sent as SNI) unless the URL names an IP address
    local server_name = not u.is_ip and u.host or nil
    -- lua-resty-core 0.1.25 (Debian 12) raises "assertion failed!" instead of
    -- returning an error when a handshake fails without having to wait (a
    -- fast peer rejecting us, or our verification rejecting it); the reason
    -- is lost there, so report both possibilities
    local hok, session, herr = pcall(sock.sslhandshake, sock,
      self.sessions[pool], server_name, true)
    if not hok then
      sock:close()
      return nil, terr("local", format("TLS handshake with %s failed "
        .. "(certificate verification or TLS negotiation; this lua-resty-core "
        .. "does not report which); nginx verifies against "
        .. "lua_ssl_trusted_certificate (e.g. /etc/ssl/certs/ca-certificates.crt) "
        .. "with lua_ssl_verify_depth (use 3 or more)", st.where),
        C.SSL_CONNECT_ERROR)
    end
    if not session then
      sock:close()
      herr = tostring(herr)
      if herr == "timeout" then
        return nil, terr("timeout", format("TLS handshake with %s timed out "
          .. "after %gs", st.where, st.connect), C.OPERATION_TIMEDOUT)
      end
      if match(herr, "^%d+: ") or herr == "certificate host mismatch" then
        return nil, terr("local", format("TLS certificate verification failed "
          .. "for %s (%s); nginx verifies against lua_ssl_trusted_certificate "
          .. "(e.g. /etc/ssl/certs/ca-certificates.crt) with "
          .. "lua_ssl_verify_depth (use 3 or more)", st.where, herr),
          C.PEER_FAILED_VERIFICATION)
      end
      return nil, terr("transient", format("TLS handshake with %s failed: %s",
        st.where, herr), C.SSL_CONNECT_ERROR)
    end
    if type(session) ~= "boolean" then self.sessions[pool] = session end
  end
  return true
end

--[[
Build the request head as an array of strings (sock:send takes arrays, so
nothing is concatenated). Returns parts, body_length | nil, terr. Header names
and values are checked for CR/LF (header injection); the error names the
header, never its value.
]]
local function build_head(st, req, u, method, body_len)
  local parts = { method, " ", u.target, " HTTP/1.1\r\n" }
  local n = 4
  local host = u.authority
  local headers = req.headers
  if headers ~= nil and type(headers) ~= "table" then
    return nil, terr("local", "request headers must be a table",
      C.BAD_FUNCTION_ARGUMENT)
  end
  for name, value in pairs(headers or {}) do
    if type(name) ~= "string" or not match(name, "^[%w!#$%%&'*+.^_`|~-]+$") then
      return nil, terr("local", "invalid request header name",
        C.BAD_FUNCTION_ARGUMENT)
    end
    value = tostring(value)
    if find(value, "[\r\n%z]") then
      return nil, terr("local", "invalid characters in the value of request "
        .. "header " .. name, C.BAD_FUNCTION_ARGUMENT)
    end
    local lname = lower(name)
    if lname == "connection" and find(lower(value), "close", 1, true) then
      st.req_close = true                  -- the caller asked for no reuse
    end
    if lname == "host" then
      host = value
    elseif not OWNED[lname] then
      parts[n + 1], parts[n + 2], parts[n + 3], parts[n + 4] =
        name, ": ", value, "\r\n"
      n = n + 4
    end
  end
  parts[n + 1], parts[n + 2], parts[n + 3] = "Host: ", host, "\r\n"
  n = n + 3
  if body_len then
    parts[n + 1], parts[n + 2], parts[n + 3] =
      "Content-Length: ", format("%d", body_len), "\r\n"
    n = n + 3
  end
  parts[n + 1] = "\r\n"
  return parts
end

-- Work out the request body: string, file slice, or none. Returns
-- kind ("none"|"string"|"file"), length | nil, terr.
local function body_source(req, method)
  if req.body_file ~= nil then
    local bf = req.body_file
    if type(bf) ~= "table" or type(bf.path) ~= "string" then
      return nil, terr("local", "body_file must be {path=, offset=, length=}",
        C.BAD_FUNCTION_ARGUMENT)
    end
    local offset = bf.offset or 0
    local length = bf.length
    if length == nil then
      local f, ferr = io_open(bf.path, "rb")
      if not f then
        return nil, terr("local", "cannot open body file: " .. tostring(ferr),
          C.READ_ERROR)
      end
      local size = f:seek("end")
      f:close()
      length = (size or 0) - offset
      if length < 0 then length = 0 end
    end
    return "file", length
  end
  if req.body ~= nil then
    if type(req.body) ~= "string" then
      return nil, terr("local", "request body must be a string",
        C.BAD_FUNCTION_ARGUMENT)
    end
    return "string", #req.body
  end
  if method == "POST" or method == "PUT" or method == "PATCH" then
    return "none", 0                                      -- Content-Length: 0
  end
  return "none", nil
end

--[[
Send head and body. Returns true | nil, terr, stale where `stale` says the
failure looks like a dead pooled connection (retry on a fresh one).
]]
local function send_request(st, req, parts, kind, length)
  local sock = st.sock
  if kind == "string" and length > 0 then
    parts[#parts + 1] = req.body
  end
  local ok, terr_ = arm(st)
  if not ok then return nil, terr_ end
  local sent, err = sock:send(parts)
  if not sent then
    return nil, io_error(st, "send", err), st.reused and stale_failure(err)
  end
  if kind ~= "file" or length == 0 then return true end

  -- stream the file slice; a short file is a local error (Content-Length is
  -- already on the wire, so the connection is closed by the caller)
  local bf = req.body_file
  local f, ferr = io_open(bf.path, "rb")
  if not f then
    return nil, terr("local", "cannot open body file: " .. tostring(ferr),
      C.READ_ERROR)
  end
  if (bf.offset or 0) > 0 and not f:seek("set", bf.offset) then
    f:close()
    return nil, terr("local", "cannot seek in body file", C.READ_ERROR)
  end
  local left = length
  while left > 0 do
    local data = f:read(math_min(CHUNK, left))
    if not data or #data == 0 then
      f:close()
      return nil, terr("local", format("body file ended %d bytes before "
        .. "body_file.length", left), C.READ_ERROR)
    end
    ok, terr_ = arm(st)
    if not ok then f:close() return nil, terr_ end
    sent, err = sock:send(data)
    if not sent then
      f:close()
      return nil, io_error(st, "send", err)
    end
    left = left - #data
  end
  f:close()
  return true
end

-- Read one line (CR stripped by the cosocket). Returns line | nil, terr, err
local function read_line(st)
  local ok, terr_ = arm(st)
  if not ok then return nil, terr_ end
  local line, err = st.sock:receive("*l")
  if not line then return nil, io_error(st, "receive", err), err end
  st.head_bytes = st.head_bytes + #line + 2
  if st.head_bytes > MAX_HEAD_BYTES then
    return nil, terr("protocol", format("response head from %s exceeds %d bytes",
      st.where, MAX_HEAD_BYTES), C.WEIRD_SERVER_REPLY)
  end
  return line
end

--[[
Read header lines up to the empty line into `headers` (lower-case names,
repeats joined with ", ", obsolete line folding unfolded). Used for the head
and for chunked trailers (`headers` nil: discard). Returns true | nil, terr.
]]
local function read_headers(st, headers)
  local last
  for _ = 1, MAX_HEADERS do
    local line, terr_ = read_line(st)
    if not line then return nil, terr_ end
    if line == "" then return true end
    local first = byte(line, 1)
    if first == 32 or first == 9 then                    -- obs-fold
      if not last then
        return nil, terr("protocol", "malformed response header (continuation "
          .. "line without a header) from " .. st.where, C.WEIRD_SERVER_REPLY)
      end
      if headers then
        headers[last] = headers[last] .. " " .. match(line, "^%s*(.-)%s*$")
      end
    else
      local name, value = match(line, "^([^:%s]+):%s*(.-)%s*$")
      if not name then
        return nil, terr("protocol", "malformed response header line from "
          .. st.where, C.WEIRD_SERVER_REPLY)
      end
      if headers then
        name = lower(name)
        local prev = headers[name]
        headers[name] = prev and (prev .. ", " .. value) or value
        last = name
      else
        last = name
      end
    end
  end
  return nil, terr("protocol", format("more than %d response header lines from %s",
    MAX_HEADERS, st.where), C.WEIRD_SERVER_REPLY)
end

--[[
Read the status line (skipping interim 1xx responses) and the headers.
Returns status, headers, minor_version | nil, terr, stale.
An empty reason phrase ("HTTP/1.1 204 ") is accepted.
]]
local function read_head(st)
  while true do
    local line, terr_, err = read_line(st)
    if not line then
      return nil, terr_, st.reused and st.got == 0 and stale_failure(err)
    end
    st.got = st.got + 1
    local major, minor, status = match(line, "^HTTP/(%d)%.(%d) (%d%d%d)")
    if not major then
      return nil, terr("protocol", "malformed status line from " .. st.where,
        C.WEIRD_SERVER_REPLY)
    end
    if major ~= "1" then
      return nil, terr("protocol", "unsupported HTTP version from " .. st.where,
        C.UNSUPPORTED_PROTOCOL)
    end
    status = tonumber(status)
    local headers = {}
    local ok
    ok, terr_ = read_headers(st, headers)
    if not ok then return nil, terr_ end
    if status >= 200 or status == 101 then
      return status, headers, tonumber(minor)
    end
    -- 100 Continue / 103 Early Hints: the real response follows
  end
end

-- Does a comma-separated header value contain `token` (case-insensitive)?
local function has_token(value, token)
  if not value then return false end
  value = lower(value)
  for item in value:gmatch("[^,]+") do
    if match(item, "^%s*(.-)%s*$") == token then return true end
  end
  return false
end

--[[
Body writers: where body bytes go. `mem` keeps the body under max_body;
`file` streams a 2xx body to req.sink. Both have write(data) -> true | nil,
terr and finish() -> body | nil (nil when sunk).
]]
local Mem = {}
Mem.__index = Mem

function Mem:write(data)
  local size = self.size + #data
  if size > self.max then
    return nil, terr("protocol", format("response body exceeds max_body (%d bytes)",
      self.max), C.FILESIZE_EXCEEDED)
  end
  self.size = size
  self.n = self.n + 1
  self.parts[self.n] = data
  return true
end

function Mem:finish() return concat(self.parts) end
function Mem:abort() end

local File = {}
File.__index = File

function File:write(data)
  local ok, err = self.f:write(data)
  if not ok then
    return nil, terr("local", "cannot write to sink file: " .. tostring(err),
      C.WRITE_ERROR)
  end
  return true
end

function File:finish()
  local ok, err = self.f:close()
  if not ok then
    return nil, terr("local", "cannot write to sink file: " .. tostring(err),
      C.WRITE_ERROR)
  end
  return nil
end

function File:abort() self.f:close() end

local function new_writer(req, status, max_body)
  if req.sink ~= nil and status >= 200 and status < 300 then
    local f, err = io_open(req.sink, "wb")
    if not f then
      return nil, terr("local", "cannot open sink file: " .. tostring(err),
        C.WRITE_ERROR)
    end
    return setmetatable({ f = f }, File)
  end
  return setmetatable({ parts = {}, n = 0, size = 0, max = max_body }, Mem)
end

-- Read exactly `len` body bytes into writer w. Returns true | nil, terr.
local function read_sized(st, w, len)
  local sock = st.sock
  while len > 0 do
    local ok, terr_ = arm(st)
    if not ok then return nil, terr_ end
    local data, err, partial = sock:receive(math_min(CHUNK, len))
    if not data then
      if partial and #partial > 0 then
        st.bytes = st.bytes + #partial
        w:write(partial)
      end
      if err == "closed" then
        return nil, terr("transient", format("%s closed the connection with "
          .. "%d body bytes outstanding", st.where, len - #(partial or "")),
          C.PARTIAL_FILE)
      end
      return nil, io_error(st, "receive", err)
    end
    st.bytes = st.bytes + #data
    ok, terr_ = w:write(data)
    if not ok then return nil, terr_ end
    len = len - #data
  end
  return true
end

-- Read a chunked body into w, then discard the trailers.
local function read_chunked(st, w)
  while true do
    local line, terr_ = read_line(st)
    if not line then return nil, terr_ end
    local hex = match(line, "^%s*(%x+)%s*[;]?")
    if not hex or #hex > 12 then
      return nil, terr("protocol", "malformed chunk size from " .. st.where,
        C.WEIRD_SERVER_REPLY)
    end
    local size = tonumber(hex, 16)
    if size == 0 then
      return read_headers(st, nil)                         -- trailers
    end
    local ok
    ok, terr_ = read_sized(st, w, size)
    if not ok then return nil, terr_ end
    line, terr_ = read_line(st)                            -- CRLF after data
    if not line then return nil, terr_ end
    if line ~= "" then
      return nil, terr("protocol", "malformed chunk terminator from " .. st.where,
        C.WEIRD_SERVER_REPLY)
    end
  end
end

-- Read until the server closes the connection.
local function read_to_close(st, w)
  local sock = st.sock
  while true do
    local ok, terr_ = arm(st)
    if not ok then return nil, terr_ end
    local data, err = sock:receiveany(CHUNK)
    if not data then
      if err == "closed" then return true end
      return nil, io_error(st, "receive", err)
    end
    st.bytes = st.bytes + #data
    ok, terr_ = w:write(data)
    if not ok then return nil, terr_ end
  end
end

--[[
Parse Content-Length. Repeats joined by ", " must agree ("5, 5").
Returns n | nil (absent) | false (invalid).
]]
local function content_length(value)
  if value == nil then return nil end
  local n
  for item in value:gmatch("[^,]+") do
    local digits = match(item, "^%s*(%d+)%s*$")
    if not digits or #digits > 15 then return false end
    local v = tonumber(digits)
    if n and v ~= n then return false end
    n = v
  end
  return n or false
end

--[[
Read the response body according to its framing. Returns true, body (nil
when sunk), reusable | nil, terr.
]]
local function read_body(st, req, method, status, headers, max_body)
  if method == "HEAD" or status < 200 or status == 204 or status == 304 then
    if req.sink ~= nil and status >= 200 and status < 300 then
      local w, terr_ = new_writer(req, status, max_body)   -- create/truncate
      if not w then return nil, terr_ end
      local _, ferr = w:finish()
      if ferr then return nil, ferr end
      return true, nil, true
    end
    return true, "", true
  end
  local te = headers["transfer-encoding"]
  local cl = content_length(headers["content-length"])
  local w, terr_ = new_writer(req, status, max_body)
  if not w then return nil, terr_ end
  local ok, reusable
  if te and not has_token(te, "identity") then
    -- RFC 9112 6.3: chunked must be the final coding, else read to close
    if match(lower(te), "chunked%s*$") then
      ok, terr_ = read_chunked(st, w)
      reusable = true
    else
      ok, terr_ = read_to_close(st, w)
      reusable = false
    end
    if cl ~= nil then reusable = false end                 -- both: suspicious
  elseif cl == false then
    w:abort()
    return nil, terr("protocol", "invalid Content-Length from " .. st.where,
      C.WEIRD_SERVER_REPLY)
  elseif cl then
    if w.max and cl > w.max then
      w:abort()
      return nil, terr("protocol", format("response body of %d bytes exceeds "
        .. "max_body (%d bytes)", cl, w.max), C.FILESIZE_EXCEEDED)
    end
    ok, terr_ = read_sized(st, w, cl)
    reusable = true
  else
    ok, terr_ = read_to_close(st, w)
    reusable = false
  end
  if not ok then
    w:abort()
    return nil, terr_
  end
  local body, ferr = w:finish()
  if ferr then return nil, ferr end
  return true, body, reusable
end

--[[
One attempt on one connection. Returns res | nil, terr, stale.
]]
function T:_attempt(st, req, u, method, kind, length, max_body)
  local ok, terr_ = self:_connect(st, u)
  if not ok then return nil, terr_ end
  local sock = st.sock
  st.got, st.bytes, st.head_bytes = 0, 0, 0

  local parts
  parts, terr_ = build_head(st, req, u, method, length)
  if not parts then sock:close() return nil, terr_ end
  local stale
  ok, terr_, stale = send_request(st, req, parts, kind, length)
  if not ok then sock:close() return nil, terr_, stale end

  local status, headers, minor = read_head(st)
  if not status then
    sock:close()
    return nil, headers, minor                 -- (nil, terr, stale)
  end
  local body, reusable
  ok, body, reusable = read_body(st, req, method, status, headers, max_body)
  if not ok then
    sock:close()
    return nil, body
  end

  -- keep the connection only when the exchange was clean HTTP/1.1
  if reusable and minor >= 1 and status ~= 101 and not st.req_close
      and not has_token(headers["connection"], "close") then
    local kept = sock:setkeepalive(self.keepalive_ms)
    if not kept then sock:close() end
  else
    sock:close()
  end
  return {
    status = status, headers = headers, body = body, bytes = st.bytes,
  }
end

--- t:request(req) -> res | nil, terr
function T:request(req)
  if type(req) ~= "table" then
    error("mediacdn.transport.resty: request(req) expects a table", 2)
  end
  local allowed, ph = phase.cosockets_allowed()
  if not allowed then
    return nil, terr("local", phase.unavailable_error(ph), 0)
  end
  local started = now()
  local u, uerr = parse_url(req.url)
  if not u then
    return nil, terr("local", uerr, find(uerr, "scheme", 1, true)
      and C.UNSUPPORTED_PROTOCOL or C.URL_MALFORMAT)
  end
  local method = upper(req.method or "GET")
  if not match(method, "^[A-Z]+$") then
    return nil, terr("local", "invalid request method", C.BAD_FUNCTION_ARGUMENT)
  end
  local kind, length = body_source(req, method)
  if not kind then return nil, length end

  local timeout = req.timeout or DEFAULTS.timeout
  local stall = req.stall_timeout or DEFAULTS.stall_timeout
  local connect = req.connect_timeout or DEFAULTS.connect_timeout
  local st = {
    where = u.authority, timeout = timeout, stall = stall, connect = connect,
    deadline = timeout > 0 and (started + timeout) or nil,
    stall_ms = to_ms(stall, DEFAULTS.stall_timeout),
    connect_ms = to_ms(connect, DEFAULTS.connect_timeout),
  }
  local max_body = req.max_body or DEFAULTS.max_body

  -- a pooled connection the server already dropped fails before any answer;
  -- try again (on the next pooled or a fresh connection) a few times
  local res, terr_, stale
  for _ = 1, 4 do
    res, terr_, stale = self:_attempt(st, req, u, method, kind, length, max_body)
    if res or not stale then break end
  end
  if not res then return nil, terr_ end
  res.elapsed = now() - started
  return res
end

--- t:sleep(seconds): yields to nginx (ngx.sleep)
function T:sleep(seconds)
  ngx.sleep(seconds or 0)
end

--- t:now() -> epoch seconds (float, millisecond resolution)
function T:now()
  return now()
end

--[[
new([opts]) -> transport
opts.keepalive_timeout  seconds a pooled connection may idle (default 60)
opts.pool_size          connections kept per host:port and worker (default 32)
Raises outside nginx: use the curl transport there.
]]
function M.new(opts)
  opts = opts or {}
  if not ngx or not ngx.socket then
    error(phase.unavailable_error(nil), 2)
  end
  return setmetatable({
    name = "resty",
    keepalive_ms = to_ms(opts.keepalive_timeout, 60),
    pool_size = opts.pool_size or 32,
    sessions = {},              -- TLS sessions per pool, for resumption
  }, T)
end

M._parse_url = parse_url        -- for unit specs
M._content_length = content_length

return M
