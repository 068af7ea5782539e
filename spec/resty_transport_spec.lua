-- The resty transport inside real nginx handlers (spec/helpers/rig.lua).
-- busted runs this file under lua5.4 and luajit; the library code itself runs
-- in the rig's nginx workers (LuaJIT), against the rig's test upstream
-- (spec/fixtures/rig/rig_upstream.lua) over HTTP and TLS.
package.path = "spec/?.lua;" .. package.path

local rig = require "helpers.rig"
local util = require "helpers.util"

local MiB = 1024 * 1024

-- the pattern the upstream serves (rig_upstream.pattern)
local function pattern(n)
  local unit = "0123456789abcdefghijklmnopqrstuvwxyz"
  return string.rep(unit, math.floor(n / #unit) + 1):sub(1, n)
end

-- write n pattern bytes to path, 1 MiB at a time
local function write_pattern(path, n)
  local f = assert(io.open(path, "wb"))
  local block = pattern(MiB + 36)
  local done = 0
  while done < n do
    -- keep the pattern continuous across blocks: MiB is not a multiple of 36
    local off = done % 36
    local k = math.min(MiB, n - done)
    f:write(block:sub(off + 1, off + k))
    done = done + k
  end
  f:close()
end

-- compare path with bytes [offset, offset+len) of `ref`, chunk by chunk
local function same_bytes(path, ref, offset, len)
  local a, b = assert(io.open(path, "rb")), assert(io.open(ref, "rb"))
  b:seek("set", offset or 0)
  local left = len or math.huge
  while true do
    local x = a:read(MiB)
    local y = left > 0 and b:read(math.min(MiB, left)) or nil
    if x ~= y then a:close() b:close() return false end
    if not x then break end
    left = left - #x
  end
  a:close() b:close()
  return true
end

local file_size = util.file_size

describe("resty transport in nginx", function()
  local r

  setup(function()
    r = rig.start{ workers = 2 }
  end)

  teardown(function()
    if r then r:stop() end
    rig.stop_all()
  end)

  local function up(path) return r.upstream_url .. path end

  -- run one request descriptor inside a handler; returns the summary
  local function run(req)
    local status, v, raw = r:json{ path = "/t/transport_cases/request", json = { req = req } }
    assert.are.equal(200, status, raw)
    return v
  end

  local function sequence(reqs)
    local status, v, raw = r:json{ path = "/t/transport_cases/sequence", json = { reqs = reqs } }
    assert.are.equal(200, status, raw)
    return v.results
  end

  local function decode(s) return (rig.json.decode(s)) end

  -- POST {reqs}: run them at once in one handler; results and the order
  -- (indexes) in which they ended
  local function race(reqs)
    local status, v, raw = r:json{ path = "/t/transport_cases/race", json = { reqs = reqs } }
    assert.are.equal(200, status, raw)
    return v.results, v.order
  end

  describe("requests and responses", function()
    it("GETs with lower-case response headers and a body", function()
      local v = run{ method = "GET", url = up("/u/echo?a=1&b=two") }
      assert.is_nil(v.err)
      assert.are.equal(200, v.status)
      assert.are.equal("application/json", v.headers["content-type"])
      assert.is_number(v.elapsed)
      local echo = decode(v.body)
      assert.are.equal("GET", echo.method)
      assert.are.equal("/u/echo?a=1&b=two", echo.uri)
      assert.are.equal(v.body_len, v.bytes)
    end)

    it("POSTs a string body with Content-Length and the caller's headers", function()
      local v = run{ method = "POST", url = up("/u/echo"), body_bytes = 300000,
        headers = { ["X-Custom"] = "yes", ["Content-Type"] = "application/octet-stream" } }
      assert.are.equal(200, v.status)
      local echo = decode(v.body)
      assert.are.equal(300000, echo.body_len)
      assert.are.equal("300000", echo.headers["content-length"])
      assert.is_nil(echo.headers["transfer-encoding"])
      assert.are.equal("yes", echo.headers["x-custom"])
      assert.are.equal("127.0.0.1:" .. r.upstream_port, echo.headers["host"])
    end)

    it("sends Content-Length: 0 for a POST without a body", function()
      local echo = decode(run{ method = "POST", url = up("/u/echo") }.body)
      assert.are.equal("0", echo.headers["content-length"])
      assert.are.equal(0, echo.body_len)
    end)

    it("accepts an empty reason phrase", function()
      local v = run{ url = up("/u/raw?case=empty_reason") }
      assert.is_nil(v.err)
      assert.are.equal(204, v.status)
      assert.are.equal("1", v.headers["x-a"])
      assert.are.equal(0, v.body_len)
    end)

    it("joins repeated headers with ', ' and unfolds folded ones", function()
      local v = run{ url = up("/u/raw?case=headers") }
      assert.are.equal("a, b", v.headers["x-multi"])
      assert.are.equal("first second", v.headers["x-folded"])
      assert.are.equal("text/plain", v.headers["content-type"])
      assert.are.equal("ok", v.body)
      v = run{ url = up("/u/status?code=200&bytes=3") }
      assert.are.equal("one, two", v.headers["x-repeat"])
    end)

    it("reads chunked bodies, with chunk extensions and trailers", function()
      local v = run{ url = up("/u/raw?case=chunked") }
      assert.are.equal("hello world!", v.body)
      v = run{ url = up("/u/chunked?n=40&size=25000") }
      assert.are.equal("chunked", v.headers["transfer-encoding"])
      assert.are.equal(1000000, v.body_len)
    end)

    it("reads a body that ends when the server closes", function()
      local v = run{ url = up("/u/raw?case=until_close") }
      assert.are.equal("body until the connection closes", v.body)
    end)

    it("skips 1xx interim responses and reads HTTP/1.0", function()
      local v = run{ url = up("/u/raw?case=continue") }
      assert.are.equal(201, v.status)
      assert.are.equal("new", v.body)
      v = run{ url = up("/u/raw?case=http10") }
      assert.are.equal("old!", v.body)
    end)

    it("expects no body after HEAD, 204 and 304", function()
      -- had it waited for the 5 MB the head announces, the HEAD would fail with
      -- the stall limit and its connection would not be reused
      local res = sequence{
        { url = up("/u/echo") },
        { method = "HEAD", url = up("/u/bytes?bytes=5000000"), stall_timeout = 5 },
        { url = up("/u/echo") },
      }
      local v = res[2]
      assert.is_nil(v.err)
      assert.are.equal(200, v.status)
      assert.are.equal("5000000", v.headers["content-length"])
      assert.are.equal(0, v.body_len)
      local a, c = decode(res[1].body), decode(res[3].body)
      assert.are.equal(a.connection, c.connection)    -- the HEAD's connection, reused
      assert.are.equal(a.connection_requests + 2, c.connection_requests)
      for _, code in ipairs{ 204, 304 } do
        v = run{ url = up("/u/status?code=" .. code) }
        assert.are.equal(code, v.status)
        assert.are.equal(0, v.body_len)
      end
    end)

    it("keeps an in-memory body under max_body", function()
      local v = run{ url = up("/u/bytes?bytes=100000"), max_body = 1000 }
      assert.are.equal("protocol", v.err.kind)
      assert.matches("max_body", v.err.message)
      v = run{ url = up("/u/chunked?n=10&size=500"), max_body = 1000 }
      assert.are.equal("protocol", v.err.kind)
      v = run{ url = up("/u/bytes?bytes=1000"), max_body = 1000 }
      assert.are.equal(1000, v.body_len)
      assert.is_true(v.pattern_ok)
    end)

    it("reports malformed responses as protocol errors", function()
      for _, case in ipairs{ "bad_status", "bad_length" } do
        local v = run{ url = up("/u/raw?case=" .. case) }
        assert.are.equal("protocol", v.err.kind, case)
      end
    end)

    it("yields in sleep and reads the clock", function()
      local status, v = r:json{ path = "/t/transport_cases/sleep?s=0.2" }
      assert.are.equal(200, status)
      assert.are.equal("resty", v.name)
      local a, b = v.spans[1], v.spans[2]
      -- the clock moves on across a sleep, and two sleeps overlap (each
      -- began before the other woke): sleep yields instead of blocking
      assert.is_true(a.to > a.from and b.to > b.from)
      assert.is_true(a.from < b.to and b.from < a.to)
    end)
  end)

  describe("streaming", function()
    it("streams a 50 MB body_file slice with Content-Length, never chunked", function()
      local src = r.prefix .. "/work/src.bin"
      local offset, length = 12345, 50 * MiB
      write_pattern(src, offset + length + 999)
      local v = run{ method = "PUT", url = up("/u/store?name=big.bin"),
        body_file = { path = src, offset = offset, length = length }, timeout = 60 }
      assert.is_nil(v.err)
      assert.are.equal(200, v.status)
      local got = decode(v.body)
      assert.are.equal(length, got.bytes)
      assert.is_nil(got.chunked)
      assert.is_true(same_bytes(r.prefix .. "/recv/big.bin", src, offset, length))
      print(("\n    50 MiB body_file upload inside nginx: %.3f s"):format(v.took))
    end)

    it("fails locally when body_file is shorter than its length", function()
      local src = r.prefix .. "/work/short.bin"
      write_pattern(src, 1000)
      local v = run{ method = "PUT", url = up("/u/store?name=short.bin"),
        body_file = { path = src, offset = 0, length = 5000 } }
      assert.are.equal("local", v.err.kind)
      v = run{ method = "PUT", url = up("/u/store?name=none.bin"),
        body_file = { path = r.prefix .. "/work/missing.bin", length = 10 } }
      assert.are.equal("local", v.err.kind)
    end)

    it("sinks a 2xx body to a file (Content-Length and chunked)", function()
      local static = r.prefix .. "/static/big.bin"
      write_pattern(static, 20 * MiB + 7)
      local out = r.prefix .. "/work/sink1.bin"
      local v = run{ url = up("/static/big.bin"), sink = out }
      assert.is_nil(v.err)
      assert.is_true(v.sunk)
      assert.are.equal(20 * MiB + 7, v.bytes)
      assert.is_true(same_bytes(out, static))

      out = r.prefix .. "/work/sink2.bin"
      v = run{ url = up("/u/chunked?n=100&size=65536"), sink = out, max_body = 1000 }
      assert.is_nil(v.err)                      -- max_body caps memory, not sinks
      assert.are.equal(100 * 65536, v.bytes)
      assert.are.equal(100 * 65536, file_size(out))
    end)

    it("keeps a non-2xx body in memory even with a sink", function()
      local out = r.prefix .. "/work/sink404.bin"
      local v = run{ url = up("/u/status?code=404&bytes=100"), sink = out }
      assert.are.equal(404, v.status)
      assert.is_false(v.sunk)
      assert.are.equal(100, v.body_len)
      assert.is_nil(file_size(out))
    end)
  end)

  describe("connections", function()
    it("reuses keep-alive connections", function()
      local res = sequence{
        { url = up("/u/echo") }, { url = up("/u/echo") }, { url = up("/u/echo") },
      }
      local a, b, c = decode(res[1].body), decode(res[2].body), decode(res[3].body)
      assert.are.equal(a.connection, b.connection)
      assert.are.equal(a.connection, c.connection)
      assert.are.equal(b.connection_requests, a.connection_requests + 1)
    end)

    it("does not reuse a connection after Connection: close or an error", function()
      local res = sequence{
        { url = up("/u/echo") }, { url = up("/u/close") }, { url = up("/u/echo") },
      }
      local a, b, c = decode(res[1].body), decode(res[2].body), decode(res[3].body)
      assert.are.equal(a.connection, b.connection)          -- pooled one used...
      assert.are_not.equal(b.connection, c.connection)      -- ...then dropped
      res = sequence{
        { url = up("/u/echo") },
        { url = up("/u/stall?bytes=1000&s=2"), stall_timeout = 0.3 },
        { url = up("/u/echo") },
      }
      assert.are.equal("timeout", res[2].err.kind)
      assert.are_not.equal(decode(res[1].body).connection, decode(res[3].body).connection)
    end)

    -- (nginx drops pooled connections the peer closes while they idle; the
    -- transport's retry-on-a-dead-pooled-connection covers the race when the
    -- close arrives just as a connection is reused, which is not provoked here)
    it("does not reuse a pooled connection the server closed meanwhile", function()
      local res = sequence{
        { url = up("/short/echo") },
        { url = up("/short/echo"), pause = 1.5 },     -- the server closed it meanwhile
        { method = "POST", url = up("/short/echo"), body = "again" },
      }
      assert.is_nil(res[2].err)
      assert.are.equal(200, res[2].status)
      assert.are_not.equal(decode(res[1].body).connection, decode(res[2].body).connection)
      assert.are.equal(decode(res[2].body).connection, decode(res[3].body).connection)
      assert.are.equal("again", decode(res[3].body).body)
    end)

    it("runs concurrent requests without blocking the worker", function()
      local status, v = r:json{ path = "/t/transport_cases/concurrent",
        json = { n = 20, req = { url = up("/u/sleep?s=0.5") } } }
      assert.are.equal(200, status)
      print(("\n    20 x 0.5 s upstream calls from one handler: %.3f s"):format(v.elapsed))
      -- all 20 were in flight together: the last began before the first ended
      local last_start, first_end = -math.huge, math.huge
      for _, res in ipairs(v.results) do
        assert.are.equal(200, res.status)
        last_start = math.max(last_start, res.started)
        first_end = math.min(first_end, res.finished)
      end
      assert.is_true(last_start < first_end)
    end)
  end)

  describe("failures", function()
    it("maps a total timeout to kind timeout", function()
      local res, order = race{ { url = up("/u/sleep?s=3"), timeout = 0.5 },
                               { url = up("/u/sleep?s=1.5") } }
      assert.are.equal("timeout", res[1].err.kind)
      assert.are.equal(28, res[1].err.code)
      assert.are.equal(200, res[2].status)
      assert.are.same({ 1, 2 }, order) -- the limit fired, before a 1.5 s answer came
    end)

    it("maps a stalled body to kind timeout (stall_timeout)", function()
      local res, order = race{ { url = up("/u/stall?bytes=2000&s=3"), stall_timeout = 0.4 },
                               { url = up("/u/sleep?s=1.5") } }
      assert.are.equal("timeout", res[1].err.kind)
      assert.matches("stall_timeout", res[1].err.message)
      assert.are.same({ 1, 2 }, order) -- the stall limit fired, not the end of the stall
    end)

    it("maps a reset mid-body and a refused connection to transient", function()
      local v = run{ url = up("/u/raw?case=reset") }
      assert.are.equal("transient", v.err.kind)
      local port = rig.pick_ports(1)[1]
      v = run{ url = "http://127.0.0.1:" .. port .. "/x" }
      assert.are.equal("transient", v.err.kind)
      assert.are.equal(7, v.err.code)
    end)

    it("times out a connect that gets no answer (connect_timeout)", function()
      -- a listener that never accepts, its accept queue filled: further SYNs
      -- are dropped, so the connect hangs (needs luasocket in the spec's VM)
      local ok, socket = pcall(require, "socket")
      if not ok then return pending("luasocket not installed") end
      local server = assert(socket.tcp())
      assert(server:bind("127.0.0.1", 0))
      assert(server:listen(0))
      local _, port = server:getsockname()
      local fillers = {}
      for i = 1, 4 do
        fillers[i] = socket.tcp()
        fillers[i]:settimeout(0.2)
        fillers[i]:connect("127.0.0.1", port)
      end
      local res, order = race{ { url = "http://127.0.0.1:" .. port .. "/", connect_timeout = 0.3 },
                               { url = up("/u/sleep?s=2") } }
      for _, c in ipairs(fillers) do c:close() end
      server:close()
      local v = res[1]
      assert.are.equal("timeout", v.err and v.err.kind)
      assert.matches("connect", v.err.message)
      assert.are.same({ 1, 2 }, order) -- the connect limit fired, not a later one
    end)

    it("never puts request headers or the URL query in an error message", function()
      local port = rig.pick_ports(1)[1]
      local secret = "SeCrEt-9f8e7d"
      local cases = {
        { url = "http://127.0.0.1:" .. port .. "/v2/x?token=" .. secret },
        { url = up("/u/sleep?s=3&sig=" .. secret), timeout = 0.3 },
        { url = up("/u/raw?case=reset&sig=" .. secret) },
        { url = up("/u/raw?case=bad_status&sig=" .. secret) },
        { url = r.untrusted_url .. "/?sig=" .. secret },
      }
      for _, req in ipairs(cases) do
        req.headers = { Authorization = "Bearer " .. secret }
        local v = run(req)
        assert.is_table(v.err)
        assert.is_nil(v.err.message:find(secret, 1, true), v.err.message)
      end
    end)
  end)

  describe("TLS", function()
    it("verifies the server certificate against lua_ssl_trusted_certificate", function()
      local v = run{ url = r.tls_url .. "/u/echo" }
      assert.is_nil(v.err)
      assert.are.equal(200, v.status)
      -- a second request rides the pooled TLS connection
      local res = sequence{ { url = r.tls_url .. "/u/echo" }, { url = r.tls_url .. "/u/echo" } }
      assert.are.equal(decode(res[1].body).connection, decode(res[2].body).connection)
    end)

    it("refuses a certificate nginx does not trust, saying how to fix it", function()
      -- several times: the handshake may fail synchronously or not, and the
      -- two paths report differently (see the note in resty.lua)
      for _ = 1, 5 do
        local v = run{ url = r.untrusted_url .. "/" }
        assert.are.equal("local", v.err.kind)
        assert.is_truthy(v.err.code == 60 or v.err.code == 35, v.err.code)
        assert.matches("lua_ssl_trusted_certificate", v.err.message)
      end
    end)
  end)

  describe("shared-dict token store", function()
    it("stores tokens, locks across callers, expires abandoned locks", function()
      local status, v, raw = r:json{ path = "/t/token_store_cases/basics" }
      assert.are.equal(200, status, raw)
      assert.is_true(v.missing)
      assert.is_true(v.roundtrip)
      assert.is_true(v.past_kept)
      assert.is_true(v.ancient_gone)
      assert.is_true(v.deleted)
      assert.is_true(v.first_lock)
      assert.is_false(v.waiter_result)          -- holder finished: re-check get
      assert.are.same({ "holder unlocks", "waiter returned" }, v.wait_order)
      assert.is_true(v.relock)
      assert.are.same({ rig.json.null, "timeout" }, v.timeout_result)
      assert.is_true(v.still_held)
      assert.is_true(v.short_lock)
      assert.is_false(v.after_ttl)              -- freed by lock_ttl, not timed out (nil)
      assert.is_false(v.bad_dict_ok)
      assert.matches("lua_shared_dict 'no_such_dict'", v.bad_dict_err, 1, true)
      assert.is_false(v.bad_key_ok)
      assert.matches("token_store.new: argument #1 has an unknown option 'lock_tll'", v.bad_key_err, 1, true)
      assert.is_false(v.bad_poll_ok)
      assert.matches("token_store.new: option 'poll' must be a number between", v.bad_poll_err, 1, true)
    end)
  end)

  describe("phases without cosockets", function()
    local results

    setup(function()
      for _, p in ipairs{ "set", "log", "header_filter", "body_filter" } do
        assert.are.equal(200, (r:request{ path = "/phase/" .. p }))
      end
      -- log handlers run after the response: give them a moment
      for _ = 1, 50 do
        local _, v = r:json{ path = "/t/rig_phases/results" }
        results = v
        if v.log and v.body_filter and v.timer then break end
        rig.sleep(0.05)
      end
    end)

    for _, p in ipairs{ "init_worker", "set", "header_filter", "body_filter", "log" } do
      it("explains the '" .. p .. "' phase and points to ngx.timer.at", function()
        local v = results[p]
        assert.is_table(v, "no record for phase " .. p)
        assert.are.equal(p, v.phase)
        assert.is_false(v.allowed)
        assert.are.equal("local", v.request_err.kind)
        local msg = v.request_err.message
        assert.truthy(msg:find("'" .. p .. "' phase", 1, true), msg)
        assert.truthy(msg:find("ngx.timer.at(0", 1, true), msg)
        if p ~= "init_worker" then
          -- mediacdn.transport.default() (what the clients call) raises it
          assert.is_false(v.default_ok)
          assert.truthy(v.default_err:find("'" .. p .. "' phase", 1, true), v.default_err)
        end
      end)
    end

    it("works from a timer started in init_worker", function()
      local v = results.timer
      assert.is_table(v)
      assert.is_true(v.allowed)
      assert.are.equal(200, v.request_status)
      assert.are.equal("resty", v.default_name)
    end)
  end)
end)

-- The sandbox (spec/helpers/sandbox.lua); when that helper cannot load (it
-- needs cjson), start bin/mediacdn-sandbox directly (same interface for what
-- is used here).
local function start_sandbox(opts)
  local ok, sandbox = pcall(require, "helpers.sandbox")
  if ok then return sandbox.start(opts) end
  local bin = util.root .. "/bin/mediacdn-sandbox"
  if not util.file_size(bin) then return nil end
  local out = util.tmpname()
  local started, pid = util.run(("%s --port 0 --latency-ms %d >%s 2>&1 </dev/null & echo $!")
    :format(util.shell_quote(bin), opts.latency_ms or 0, util.shell_quote(out)))
  pid = started and tonumber(pid:match("(%d+)%s*$")) or nil
  local sb = { pid = pid }
  function sb:stop()
    if self.stopped then return end
    self.stopped = true
    if pid then util.terminate(pid, 5) end
    os.remove(out)
  end
  for _ = 1, 500 do
    local line = (util.read_file(out) or ""):match("^(http://[%d.:]+)")
    if line then sb.url = line break end
    util.sleep(0.02)
  end
  if not sb.url then
    sb:stop()
    error("the sandbox did not start: " .. tostring(util.read_file(out)))
  end
  return sb
end

describe("Sirv client in nginx handlers (against the sandbox)", function()
  local sb, r
  local creds = {}

  setup(function()
    sb = start_sandbox{ latency_ms = 200 }
    if not sb then return end
    creds = {
      SIRV_BASE_URL = sb.url,
      SIRV_CLIENT_ID = sb.client_id or "sandbox-client-id",
      SIRV_CLIENT_SECRET = sb.client_secret or "sandbox-client-secret",
    }
    r = rig.start{ workers = 4, env = creds }
  end)

  teardown(function()
    if r then r:stop() end
    if sb then sb:stop() end
    rig.stop_all()
  end)

  local function need_sandbox()
    if not sb then pending("no sandbox (bin/mediacdn-sandbox) in this checkout") end
    return sb ~= nil
  end

  -- sandbox control endpoints (no auth)
  local function control(method, path, body)
    local status, v, raw = r:json{ url = sb.url .. path, method = method, json = body }
    assert.are.equal(200, status, raw)
    return v
  end

  local function fresh_token_state()
    assert.are.equal(200, (r:request{ path = "/t/sirv_cases/flush_tokens" }))
    control("POST", "/_sandbox/stats/reset", {})
  end

  local function stats() return control("GET", "/_sandbox/stats") end

  it("(a) 50 concurrent handler requests, 200 ms sandbox latency each, overlap in 4 workers", function()
    if not need_sandbox() then return end
    fresh_token_state()                  -- cold: the token fetch is included
    local paths = {}
    for i = 1, 50 do paths[i] = "/t/sirv_cases/stat?path=/missing-" .. i .. ".jpg" end
    local elapsed, statuses, bodies = r:parallel(paths, 50)
    print(("\n    50 concurrent requests x 1 sandbox call (200 ms latency), cold token: %.3f s total")
      :format(elapsed))
    assert.are.equal(50, #statuses)
    for i, body in ipairs(bodies) do
      local v = rig.json.decode(body)
      assert.are.equal("not_found", v.kind, body)       -- one real API answer each
      assert.are.equal(200, statuses[i])
    end
    local s = stats()
    assert.are.equal(50, s.requests["GET /v2/files/stat"])
    assert.are.equal(1, s.token_requests)
    -- how many handler calls were in flight at once (from when each began and
    -- ended): a worker that blocked on its sandbox call would serve one at a
    -- time, so 4 workers could not exceed 4
    local peak = rig.peak_in_flight(bodies)
    print(("      at most %d of 50 handler calls in flight at once"):format(peak))
    assert.is_true(peak > 4, "at most " .. peak .. " calls in flight at once")
  end)

  it("(b) 4 workers answering 100 requests fetch the token once (shared-dict store)", function()
    if not need_sandbox() then return end
    fresh_token_state()
    local paths = {}
    for i = 1, 100 do paths[i] = "/t/sirv_cases/stat?path=/nope-" .. i end
    local elapsed, statuses, bodies = r:parallel(paths, 100)
    local pids, n = {}, 0
    for _, body in ipairs(bodies) do
      local v = rig.json.decode(body)
      assert.are.equal("not_found", v.kind, body)
      if not pids[v.pid] then pids[v.pid], n = true, n + 1 end
    end
    for _, st in ipairs(statuses) do assert.are.equal(200, st) end
    local s = stats()
    print(("\n    100 requests served by %d of 4 workers: %.3f s, token_requests = %d")
      :format(n, elapsed, s.token_requests))
    assert.are.equal(100, #statuses)
    assert.are.equal(1, s.token_requests)
    assert.are.equal(100, s.requests["GET /v2/files/stat"])
  end)

  it("streams an upload through examples/openresty/upload_proxy.lua", function()
    if not need_sandbox() then return end
    local src = r.prefix .. "/work/upload.bin"
    write_pattern(src, 5 * MiB + 3)
    local status, v, raw = r:json{ path = "/example/upload?path=/e2e/upload.bin",
      method = "PUT", body_file = src }
    assert.are.equal(201, status, raw)
    assert.are.equal(5 * MiB + 3, v.size)
    local _, st = r:json{ path = "/t/sirv_cases/stat?path=/e2e/upload.bin" }
    assert.is_true(st.ok, rig.json.encode(st))
    assert.are.equal(5 * MiB + 3, st.size)
    assert.are.equal("resty", st.transport)
    -- misuse is answered, not crashed on
    status = r:request{ path = "/example/upload?path=relative", method = "PUT", body = "x" }
    assert.are.equal(400, status)
    status = r:request{ path = "/example/upload?path=/x", method = "GET" }
    assert.are.equal(405, status)
  end)

  it("lists a folder through examples/openresty/list_folder.lua (pages and all)", function()
    if not need_sandbox() then return end
    control("POST", "/_sandbox/seed", { count = 150, dirname = "/many" })
    local status, v, raw = r:json{ path = "/example/list?dir=/many" }
    assert.are.equal(200, status, raw)
    assert.is_string(v.continuation)
    local first = #v.entries
    assert.is_true(first > 0 and first < 150, tostring(first))
    local status2, v2 = r:json{ path = "/example/list?dir=/many&continuation="
      .. v.continuation:gsub("[^%w]", function(c) return ("%%%02X"):format(c:byte()) end) }
    assert.are.equal(200, status2)
    assert.are.equal(150, first + #v2.entries)
    status, v = r:json{ path = "/example/list?dir=/many&all=1" }
    assert.are.equal(200, status)
    assert.are.equal(150, #v.entries)
    assert.is_false(v.truncated)
    for _, e in ipairs(v.entries) do assert.matches("^/many/", e.path) end
    status, v = r:json{ path = "/example/list?dir=/many&all=1&limit=10" }
    assert.are.equal(200, status)
    assert.are.equal(10, #v.entries)
    assert.is_true(v.truncated)
    status, v = r:json{ path = "/example/list?dir=/does-not-exist" }
    assert.are.equal(404, status)
    assert.are.equal("not_found", v.kind)
  end)

  it("runs examples/openresty/nginx.conf as shipped", function()
    if not need_sandbox() then return end
    local ex = rig.start_example{ pass_env = creds }
    local ok, err = pcall(function()
      local status, v, raw = ex:json{ path = "/upload?path=/shipped/hello.txt",
        method = "PUT", body = "hello from the example" }
      assert.are.equal(201, status, raw)
      assert.are.equal(22, v.size)
      status, v, raw = ex:json{ path = "/list?dir=/shipped" }
      assert.are.equal(200, status, raw)
      assert.are.equal("/shipped/hello.txt", v.entries[1].path)
      assert.are.equal(22, v.entries[1].size)
    end)
    ex:stop()
    assert(ok, err)
  end)
end)
