-- mediacdn.transport.resty: HTTP/1.1 over nginx cosockets (ngx.socket.tcp).
--
-- The transport for OpenResty/nginx handlers: every wait (connect, TLS
-- handshake, send, receive, sleep) yields to nginx's event loop, so a call
-- never blocks the worker. It speaks the transport contract of
-- docs/internals.md: `t:request(req) -> res | nil, terr`.
--
-- This file does the I/O only. The framing is the C core's (core.http1, the
-- same rules the curl transport follows): core.http1.request validates `req`
-- once (misuse raises naming the field, as core.easy does), builds the
-- request head and names its origin; a core.http1.response parser takes the bytes received and
-- decides the status, the headers (lower-case names, repeats joined with
-- ", ", obsolete folding unfolded), the body framing (Content-Length,
-- chunked, until close; none for HEAD, 1xx, 204, 304), where the body goes
-- (a 2xx to req.sink, else memory under req.max_body) and whether the
-- connection may be reused.
--
-- What it does:
--   * timeouts: req.connect_timeout for connect and the TLS handshake,
--     req.timeout as the deadline of the whole request, req.stall_timeout N
--     as the stall limit with the curl transport's meaning: the request fails
--     once it moved (sent and received together) less than 1 byte per second
--     for N seconds — fewer than N bytes in the last N seconds, counted from
--     when the connection is up. Each send or receive is armed with what is
--     left until the nearer of the two (stall_deadline), so a server that
--     drips a byte now and then holds a request neither past its deadline nor
--     past the stall limit;
--   * TLS with verification always on (sslhandshake(..., host, true)): the
--     chain, and the host name (also sent as SNI). For an IP-literal https
--     URL only the chain is checked: nginx matches names, not IP SANs.
--     Cosockets cannot take a CA bundle per call: nginx verifies against
--     `lua_ssl_trusted_certificate` (and `lua_ssl_verify_depth`, whose
--     default of 1 is too small for public chains; use 3 or more). req.cainfo
--     is therefore ignored here; put that bundle in nginx.conf instead;
--   * connection reuse via the cosocket pool (one pool per scheme/host/port),
--     after a complete, well-framed HTTP/1.1 exchange only. A request that
--     fails on a *reused* connection before any response byte arrived (the
--     server closed the idle connection) is sent again on a fresh one, as
--     curl does;
--   * request bodies from req.body, or streamed from req.body_file
--     {path, offset, length} in 64 KiB chunks, or req.body_parts (strings and
--     file ranges in order, e.g. a multipart form around a file), always with
--     Content-Length;
--   * req.on_progress(sent, received) after each body chunk sent from a file
--     (body_file or a file part) and each chunk written to the sink.
--
-- Errors are terr tables {kind, message, code}. `code` is the equivalent
-- libcurl error number (7 connect, 28 timeout, 56 receive, ...) so that both
-- transports report alike. Messages name the host:port and the failure, never
-- the request headers (bearer token) or the URL's query (signed tokens).

local core = require "mediacdn.core"
local options = require "mediacdn.transport.options"
local phase = require "mediacdn.transport.phase"
local args = require "mediacdn.args"

local rawget = rawget
local ipairs = ipairs
local pairs = pairs
local setmetatable = setmetatable
local tostring = tostring
local type = type
local error = error
local pcall = pcall
local io_open = io.open
local math_min = math.min
local math_floor = math.floor
local find = string.find
local format = string.format
local match = string.match

local http1 = core.http1
local ngx = rawget(_G, "ngx")          -- nil outside nginx; new() then raises

local M = {}
local T = {}
T.__index = T

local CHUNK = 65536                    -- body I/O granularity
local NO_LIMIT_MS = 86400 * 1000       -- "no timeout": a day
local KEEPALIVE = 60                   -- default seconds a pooled connection idles
local POOL_SIZE = 32                   -- default connections per host and worker
local MAX_SPARE_PARSERS = 16           -- response parsers a transport keeps for reuse
local D = core.defaults
local DEFAULT_MAX_BODY = D.max_body

-- libcurl error numbers of the I/O failures reported here (the framing
-- errors come from core.http1 with theirs)
local C = {
  COULDNT_RESOLVE_HOST = 6, COULDNT_CONNECT = 7, WRITE_ERROR = 23,
  READ_ERROR = 26, OPERATION_TIMEDOUT = 28, SSL_CONNECT_ERROR = 35,
  SEND_ERROR = 55, RECV_ERROR = 56, PEER_FAILED_VERIFICATION = 60,
}

local function terr(kind, message, code)
  return { kind = kind, message = message, code = code or 0 }
end

-- seconds -> milliseconds for settimeouts; 0 means no limit
local function to_ms(s)
  if s <= 0 then return NO_LIMIT_MS end
  return math_floor(s * 1000 + 0.5)
end

local function now()
  ngx.update_time()
  return ngx.now()
end

--[[
Per-request state shared by the helpers below:
  what core.http1.request made of req: st.head, st.origin, st.body ("none",
  "string", "file", "parts"), st.length (Content-Length or nil), st.offset
  (body_file), st.close (the caller asked for Connection: close);
  st.sock, st.where ("host:port"), st.deadline (epoch s or false), st.timeout,
  st.stall, st.connect (s), st.connect_ms, st.reused (bool),
  st.got (response bytes received on this connection), st.sent_body (body
  bytes sent), st.armed (the send/read timeout in ms the socket has now);
  the stall window (stall_deadline): st.win_sock, st.win_start,
  st.win_moved, st.qt/st.qn/st.qh/st.qe/st.qsum
]]

local function timed_out(st)
  return terr("timeout", format("request to %s timed out after %gs", st.where,
    st.timeout), C.OPERATION_TIMEDOUT)
end

local function stalled(st)
  return terr("timeout", format("less than 1 byte/s moved to or from %s for %gs "
    .. "(stall_timeout)", st.where, st.stall), C.OPERATION_TIMEDOUT)
end

--[[
When the stall limit N fires if nothing more moves: the first moment at least
N s after the connection came up at which fewer than N bytes moved in the last
N s. The bytes moved since the last call are one event at `t` in a queue
(qt times, qn bytes, qh..qe) kept to its shortest tail holding >= N bytes:
older events expire before that tail's first, so they never matter. The
limit fires when that first event leaves the window (or, with fewer than N
bytes queued, N s after the window began). Events closer than N/64 s merge
(later time: never early), which bounds the queue to about 64 entries.
]]
local function stall_deadline(st, t)
  local n = st.stall
  local moved = st.got + (st.sent_body or 0)
  if st.win_sock ~= st.sock then            -- a new connection: a new window
    st.win_sock, st.win_start, st.win_moved = st.sock, t, moved
    st.qh, st.qe, st.qsum = 1, 0, 0          -- (the queue's tables: when first used)
  end
  local d = moved - st.win_moved
  if d > 0 then
    st.win_moved = moved
    local qt, qn, qe = st.qt, st.qn, st.qe
    if not qt then
      qt, qn = {}, {}
      st.qt, st.qn = qt, qn
    end
    if d >= n then                           -- alone enough: the tail is this
      qt[1], qn[1], st.qh, st.qe, st.qsum = t, d, 1, 1, d
    elseif qe >= st.qh and t - qt[qe] < n / 64 then
      qt[qe], qn[qe], st.qsum = t, qn[qe] + d, st.qsum + d
    else
      if qe >= 64 and st.qh > qe / 2 then    -- compact the drained front
        local k = 0
        for i = st.qh, qe do k = k + 1 qt[k], qn[k] = qt[i], qn[i] end
        st.qh, qe = 1, k
      end
      qe = qe + 1
      qt[qe], qn[qe], st.qe, st.qsum = t, d, qe, st.qsum + d
    end
    local qh = st.qh
    while qh < st.qe and st.qsum - qn[qh] >= n do
      st.qsum, qh = st.qsum - qn[qh], qh + 1
    end
    st.qh = qh
  end
  if st.qsum >= n then return st.qt[st.qh] + n end
  return st.win_start + n
end

-- The send/read timeout in ms for an operation starting at t that must end by
-- until_t (false: no limit); nil when that moment has passed.
local function ms_until(until_t, t)
  if not until_t then return NO_LIMIT_MS end
  local left = until_t - t
  if left <= 0 then return nil end
  return math_min(NO_LIMIT_MS, math_floor(left * 1000) + 1)
end

-- Arm the socket's send/read timeouts for the next operation: what is left
-- until the nearer of the stall limit and the total deadline. (Timeouts are
-- durations from each operation's start and the clock moves in whole ms, so
-- the same value as the socket has is not set again.)
local function arm(st)
  local t = now()
  local until_t = st.deadline
  if st.stall > 0 then
    local sd = stall_deadline(st, t)
    if sd <= t and not (until_t and until_t <= t) then return nil, stalled(st) end
    if not until_t or sd < until_t then until_t = sd end
  end
  local ms = ms_until(until_t, t)
  if not ms then return nil, timed_out(st) end
  if ms ~= st.armed then
    st.sock:settimeouts(st.connect_ms, ms, ms)
    st.armed = ms
  end
  return true
end

-- Map a cosocket send/receive error string to a terr.
local function io_error(st, op, err)
  if err == "timeout" then
    if st.deadline and now() >= st.deadline - 0.001 then return timed_out(st) end
    return stalled(st)
  end
  if op == "send" then
    return terr("transient", format("sending to %s failed: %s", st.where,
      tostring(err)), C.SEND_ERROR)
  end
  return terr("transient", format("receiving from %s failed: %s", st.where,
    tostring(err)), C.RECV_ERROR)
end

-- A framing error of core.http1, told where it came from.
local function framing_error(st, e)
  return terr(e.kind, e.message .. " (from " .. st.where .. ")", e.code)
end

-- Is this failure the signature of a dead keep-alive connection (the server
-- dropped it while it idled in our pool)?
local function stale_failure(err)
  return err == "closed" or err == "connection reset by peer"
    or err == "broken pipe"
end

-- The TLS handshake on a new connection. Returns true | nil, terr.
function T:_handshake(st, origin, pool)
  local sock = st.sock
  -- verify the chain always; the host name is checked against the
  -- certificate (and sent as SNI) unless the URL names an IP address
  local server_name = not origin.is_ip and origin.host or nil
  -- lua-resty-core 0.1.25 (Debian 12) raises "assertion failed!" instead of
  -- returning an error when a handshake fails without having to wait (a
  -- fast peer rejecting us, or our verification rejecting it); the reason
  -- is lost there, so report both possibilities
  local hok, session, herr = pcall(sock.sslhandshake, sock, self.sessions[pool],
    server_name, true)
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
      if st.deadline and now() >= st.deadline - 0.001 then return nil, timed_out(st) end
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
  return true
end

-- The connect options of an origin (one cosocket pool per
-- scheme/host/port), made once per origin and transport. (core.http1.request
-- gives the same origin table to every request to a scheme/host/port.)
function T:_pool(origin)
  local popts = self.pools[origin]
  if popts then return popts end
  if self.npools >= 64 then -- many origins: start again rather than grow
    self.pools, self.npools = {}, 0
  end
  popts = { pool = "mediacdn:" .. (origin.https and "https" or "http") .. ":" .. origin.host
    .. ":" .. origin.port, pool_size = self.pool_size }
  self.pools[origin] = popts
  self.npools = self.npools + 1
  return popts
end

-- Connect (or take a pooled connection) and do the TLS handshake on new
-- connections. Returns true | nil, terr.
function T:_connect(st)
  local ms = st.connect_ms
  local t = now()
  if st.deadline then               -- a retry gets only what is left
    local left = st.deadline - t
    if left <= 0 then return nil, timed_out(st) end
    ms = math_min(ms, math_floor(left * 1000) + 1)
  end
  local sock = ngx.socket.tcp()
  st.sock = sock
  -- the send/read timeouts arm() will want if the connection is up at once
  -- (a pooled one): a stall window starting now. Set with the connect
  -- timeout in one call; arm() then sets them again only if they differ.
  local until_t = st.deadline
  if st.stall > 0 and (not until_t or t + st.stall < until_t) then until_t = t + st.stall end
  local io_ms = ms_until(until_t, t) or 1
  sock:settimeouts(ms, io_ms, io_ms)
  st.armed = io_ms
  local origin = st.origin
  local popts = self:_pool(origin)
  local pool = popts.pool
  local ok, err = sock:connect(origin.connect_host, origin.port, popts)
  if not ok then
    err = tostring(err)
    if err == "timeout" then
      if st.deadline and now() >= st.deadline - 0.001 then return nil, timed_out(st) end
      return nil, terr("timeout", format("connect to %s timed out after %gs",
        st.where, st.connect), C.OPERATION_TIMEDOUT)
    end
    if find(err, "no resolver defined", 1, true) then
      return nil, terr("local", format("cannot resolve %s: nginx needs a "
        .. "'resolver' directive (e.g. resolver 127.0.0.53 ipv6=off;) to look "
        .. "up host names from Lua", origin.host), C.COULDNT_RESOLVE_HOST)
    end
    if find(err, "could not be resolved", 1, true) then
      return nil, terr("transient", format("cannot resolve %s: %s", origin.host,
        (match(err, "%((.*)%)$") or "lookup failed")), C.COULDNT_RESOLVE_HOST)
    end
    return nil, terr("transient", format("connect to %s failed: %s", st.where,
      err), C.COULDNT_CONNECT)
  end
  st.reused = (sock:getreusedtimes() or 0) > 0
  if origin.https and not st.reused then return self:_handshake(st, origin, pool) end
  return true
end

-- Stream `length` bytes of an open file from `offset` in CHUNK pieces. A short
-- file is a local error (Content-Length is already on the wire, so the caller
-- closes the connection). `what` names the field for the message.
local function send_file(st, file, offset, length, what)
  local sock = st.sock
  if not file:seek("set", offset) then
    return nil, terr("local", "cannot seek in body file", C.READ_ERROR)
  end
  local left = length
  while left > 0 do
    local data = file:read(math_min(CHUNK, left))
    if not data or #data == 0 then
      return nil, terr("local", format("body file ended %d bytes before %s", left, what), C.READ_ERROR)
    end
    local ok, terr_ = arm(st)
    if not ok then return nil, terr_ end
    local sent, err = sock:send(data)
    if not sent then return nil, io_error(st, "send", err) end
    left = left - #data
    st.sent_body = st.sent_body + #data
    if st.on_progress then st.on_progress(st.sent_body, 0) end
  end
  return true
end

-- The parts of req.body_parts after the head: strings as they are, file
-- ranges streamed from their open files (files[i]).
local function send_parts(st, req, files)
  for i, p in ipairs(req.body_parts) do
    if type(p) == "string" then
      if #p > 0 then
        local ok, terr_ = arm(st)
        if not ok then return nil, terr_ end
        local sent, err = st.sock:send(p)
        if not sent then return nil, io_error(st, "send", err) end
        st.sent_body = st.sent_body + #p
      end
    else
      local ok, terr_ = send_file(st, files[i], p.offset or 0, p.length, ("body_parts[%d].length"):format(i))
      if not ok then return nil, terr_ end
    end
  end
  return true
end

--[[
Send the head and the body (a string in the same send; a file slice or the
parts streamed in CHUNK pieces). Returns true | nil, terr, stale where `stale`
says the failure looks like a dead pooled connection (retry on a fresh one).
]]
local function send_request(st, req, file)
  local sock = st.sock
  st.sent_body, st.on_progress = 0, req.on_progress
  local ok, terr_ = arm(st)
  if not ok then return nil, terr_ end
  local sent, err
  local body = st.body
  if body == "string" and st.length > 0 then
    sent, err = sock:send({ st.head, req.body })
  else
    sent, err = sock:send(st.head)
  end
  if not sent then
    return nil, io_error(st, "send", err), st.reused and stale_failure(err)
  end
  if body == "parts" then return send_parts(st, req, file) end
  if body ~= "file" or st.length == 0 then return true end
  return send_file(st, file, st.offset, st.length, "body_file.length")
end

-- The sink file of a 2xx body: opened (created/truncated) when the head says
-- the body goes there. Returns f | nil, terr.
local function open_sink(path)
  local f, err = io_open(path, "wb")
  if not f then
    return nil, terr("local", "cannot open sink file: " .. tostring(err), C.WRITE_ERROR)
  end
  return f
end

--[[
Receive the response into parser p, writing sink bytes to req.sink.
Returns p:result()'s status, headers, body, bytes, keep_alive, to_sink (the
parser handed it over) | nil, terr, stale.
]]
local function read_response(st, req, p)
  local sock, sink = st.sock, nil
  local received = 0
  local want_sink = req.sink ~= nil
  local take = not want_sink   -- the feed that completes it returns the result
  local ok, e, stale, want
  while true do
    ok, e = arm(st)
    if not ok then break end
    local data, err = sock:receiveany(want and math_min(want, CHUNK) or CHUNK)
    local state, piece, status, headers, body, bytes, keep_alive
    if data then
      st.got = st.got + #data
      state, piece, want, status, headers, body, bytes, keep_alive = p:feed(data, take)
      if not state then e = framing_error(st, piece) break end
      if status then return status, headers, body, bytes, keep_alive, false end
    elseif err == "closed" then
      local fine, perr = p:eof()
      if not fine then
        e, stale = framing_error(st, perr), st.reused and st.got == 0
        break
      end
      state = "done"
    else
      e, stale = io_error(st, "receive", err), st.reused and st.got == 0 and stale_failure(err)
      break
    end
    -- (a response without a sink never goes to one: no need to ask)
    if want_sink and not sink and state ~= "head" then
      local _, _, to_sink = p:head()
      if to_sink then
        sink, e = open_sink(req.sink)
        if not sink then break end
      end
    end
    if piece and sink then
      local wok, werr = sink:write(piece)
      if not wok then
        e = terr("local", "cannot write sink file: " .. tostring(werr), C.WRITE_ERROR)
        break
      end
      if req.on_progress then
        received = received + #piece
        req.on_progress(st.sent_body or 0, received)
      end
    end
    if state == "done" then
      if sink then
        local cok, cerr = sink:close()
        if not cok then
          return nil, terr("local", "cannot write sink file: " .. tostring(cerr), C.WRITE_ERROR)
        end
      end
      return p:result()
    end
  end
  if sink then sink:close() end
  return nil, e, stale
end

--[[
One attempt on one connection. Returns res | nil, terr, stale.
]]
function T:_attempt(st, req, file)
  local ok, terr_ = self:_connect(st)
  if not ok then return nil, terr_ end
  local sock = st.sock
  st.got = 0
  local stale
  ok, terr_, stale = send_request(st, req, file)
  if not ok then sock:close() return nil, terr_, stale end

  local p = self:_parser(req.method or "GET", req.sink ~= nil, req.max_body or DEFAULT_MAX_BODY)
  local status, headers, body, bytes, keep_alive, sunk = read_response(st, req, p)
  if not status then
    sock:close()
    p:close()
    return nil, headers, body   -- terr, stale
  end
  self:_release(p)
  -- keep the connection only after a clean HTTP/1.1 exchange
  if keep_alive and not st.close then
    if not sock:setkeepalive(self.keepalive_ms) then sock:close() end
  else
    sock:close()
  end
  -- (elapsed is set by the caller: made here so the table never grows)
  return { status = status, headers = headers, bytes = bytes, body = not sunk and body or nil,
    elapsed = 0 }
end

-- A response parser for method, has_sink, max_body: a spare one of this
-- transport's (p:result() left it as a new GET parser: most requests use it
-- as it is), or a new one.
function T:_parser(method, has_sink, max_body)
  local n = self.nparsers
  if n > 0 then
    local spare = self.parsers
    local p = spare[n]
    spare[n] = nil
    self.nparsers = n - 1
    if method == "GET" and not has_sink and max_body == DEFAULT_MAX_BODY then return p end
    return p:reset(method, has_sink, max_body)
  end
  return http1.response(method, has_sink, max_body)
end

-- Give back a parser whose response p:result() took (and freed): a few are
-- kept for the next requests.
function T:_release(p)
  local n = self.nparsers
  if n >= MAX_SPARE_PARSERS then
    p:close()
    return
  end
  n = n + 1
  self.parsers[n] = p
  self.nparsers = n
end

-- req.body_file opened for reading (when req has one): file, size | nil, nil, terr.
local function open_body_file(req)
  local bf = req.body_file
  if type(bf) ~= "table" or type(bf.path) ~= "string" then return nil end
  local f, err = io_open(bf.path, "rb")
  if not f then
    return nil, nil, terr("local", "cannot open body file: " .. tostring(err), C.READ_ERROR)
  end
  local size = f:seek("end")
  if not size then
    f:close()
    return nil, nil, terr("local", "body file " .. bf.path .. " is not a regular file",
      C.READ_ERROR)
  end
  return f, size
end

-- The file parts of req.body_parts (already validated) opened, each range
-- checked against its file's size before anything is sent: files | nil, terr.
local function open_body_parts(req)
  local files = {}
  local function fail(e)
    for _, f in pairs(files) do f:close() end
    return nil, e
  end
  for i, p in ipairs(req.body_parts) do
    if type(p) == "table" then
      local f, err = io_open(p.path, "rb")
      if not f then return fail(terr("local", "cannot open body file: " .. tostring(err), C.READ_ERROR)) end
      files[i] = f
      local size = f:seek("end")
      if not size then
        return fail(terr("local", "body file " .. p.path .. " is not a regular file", C.READ_ERROR))
      end
      if (p.offset or 0) + p.length > size then
        return fail(terr("local", format("body_parts[%d]: the range ends past the end of %s (%d bytes)",
          i, p.path, size), C.READ_ERROR))
      end
    end
  end
  return files
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
  req = options.apply(self.defaults, req)
  local file, size, ferr = open_body_file(req)
  if ferr then return nil, ferr end
  -- validation and framing: once, in C (raises on misuse, naming the field;
  -- a file opened above is then closed by the collector)
  local head, origin, body, length, offset, close = http1.request(req, size)
  if not head then
    if file then file:close() end
    return nil, origin
  end
  local parts, perr
  if body == "parts" then
    parts, perr = open_body_parts(req)
    if not parts then return nil, perr end
    file = parts
  end
  -- (the limits were checked by core.http1.request; every field the
  -- attempts set is made here: the table never grows)
  local timeout = req.timeout or D.timeout
  local connect = req.connect_timeout or D.connect_timeout
  local st = {
    head = head, origin = origin, body = body, length = length or false,
    offset = offset or false, close = close,
    where = origin.authority, timeout = timeout, stall = req.stall_timeout or D.stall_timeout,
    connect = connect, deadline = timeout > 0 and (started + timeout) or false,
    connect_ms = to_ms(connect), armed = false,
    sock = false, reused = false, got = 0, sent_body = 0, on_progress = false,
    win_sock = false, win_start = 0, win_moved = 0, qh = 1, qe = 0, qsum = 0,
  }
  -- a pooled connection the server already dropped fails before any answer;
  -- try again (on the next pooled or a fresh connection) a few times
  local res, terr_, stale
  for _ = 1, 4 do
    res, terr_, stale = self:_attempt(st, req, file)
    if res or not stale then break end
  end
  if parts then
    for _, f in pairs(parts) do f:close() end
  elseif file then
    file:close()
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
opts.timeout, connect_timeout, stall_timeout, cainfo, max_body: defaults for
                        requests without their own (mediacdn.transport.options)
Raises outside nginx: use the curl transport there.
]]
function M.new(opts)
  local defaults = options.check(opts, "transport.resty.new")
  opts = opts or {}
  if not ngx or not ngx.socket then
    error(phase.unavailable_error(nil), 2)
  end
  args.number("transport.resty.new", "opts.keepalive_timeout", opts.keepalive_timeout, 0, 1e9, false, 0)
  args.number("transport.resty.new", "opts.pool_size", opts.pool_size, 1, 1e6, true, 0)
  return setmetatable({
    name = "resty",
    defaults = defaults,
    keepalive_ms = to_ms(opts.keepalive_timeout or KEEPALIVE),
    pool_size = opts.pool_size or POOL_SIZE,
    sessions = {},              -- TLS sessions per pool, for resumption
    pools = {}, npools = 0,     -- connect options per origin (table)
    parsers = {}, nparsers = 0, -- spare response parsers
  }, T)
end

return M
