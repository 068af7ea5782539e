-- The libcurl transport (core.easy / core.multi and transport/curl.lua)
-- against the nginx test server of spec/helpers/httpd.lua.
--
--   busted --lua=lua5.4 --cpath='build/lua54/?.so' \
--     --lpath='lua/?.lua;lua/?/init.lua;spec/?.lua' spec/transport_curl_spec.lua
--   (and --lua=luajit --cpath='build/luajit/?.so')
local httpd = require "helpers.httpd"
local util = require "helpers.util"
local req_cases = require "helpers.req_cases"
local core = require "mediacdn.core"
local loop = require "mediacdn.loop"
local curl = require "mediacdn.transport.curl"

local MiB = 1024 * 1024

local function json(res)
  assert(res, "no response")
  local v, err = core.json_decode(res.body)
  assert(v, err)
  return v
end

local seen = httpd.seen

local file_size = util.file_size

-- A file of `mib` MiB whose every MiB differs (so ranges are checkable).
local function make_big_file(path, mib)
  local f = assert(io.open(path, "wb"))
  for i = 1, mib do
    assert(f:write(string.rep(("%07d\n"):format(i), MiB / 8)))
  end
  f:close()
end

describe("transport.curl", function()
  local srv, tmp, t

  setup(function()
    srv = httpd.start({ tls = true })
    tmp = httpd.tmpdir()
  end)

  teardown(function()
    if srv then srv:stop() end
    if tmp then httpd.sh_ok("rm -rf '" .. tmp .. "'") end
  end)

  before_each(function()
    t = curl.new()
  end)

  after_each(function()
    t:close()
  end)

  describe("requests", function()
    it("GETs, sending only the caller's headers plus framing", function()
      local res, err = t:request({ url = srv.url .. "/echo?a=1", headers = { ["X-Custom-Name"] = "v1" } })
      assert.is_nil(err)
      assert.equal(200, res.status)
      assert.equal(#res.body, res.bytes)
      assert.is_number(res.elapsed)
      local echo = json(res)
      assert.equal("GET", echo.method)
      assert.equal("/echo?a=1", echo.uri)
      assert.equal("v1", echo.headers["X-Custom-Name"]) -- case kept as sent
      assert.is_nil(seen(echo, "Accept"))
      assert.is_nil(seen(echo, "Content-Length"))
      assert.is_nil(seen(echo, "Content-Type"))
      assert.is_nil(seen(echo, "User-Agent"))
      assert.is_truthy(seen(echo, "Accept-Encoding"))
      assert.equal("application/json", res.headers["content-type"])
    end)

    it("POSTs a body with its Content-Length and no invented Content-Type", function()
      local body = ('{"k":"%s"}'):format(string.rep("x", 5000))
      local res = assert(t:request({ method = "POST", url = srv.url .. "/echo", body = body }))
      local echo = json(res)
      assert.equal("POST", echo.method)
      assert.equal(#body, echo.body_length)
      assert.equal(tostring(#body), seen(echo, "Content-Length"))
      assert.is_nil(seen(echo, "Content-Type"))
      assert.is_nil(seen(echo, "Expect"))
      assert.is_nil(seen(echo, "Transfer-Encoding"))
      res = assert(t:request({ method = "POST", url = srv.url .. "/echo", body = "{}",
        headers = { ["Content-Type"] = "application/json" } }))
      assert.equal("application/json", seen(json(res), "Content-Type"))
    end)

    it("sends DELETE, PATCH and PUT with a body", function()
      for _, m in ipairs({ "DELETE", "PATCH", "PUT" }) do
        local res = assert(t:request({ method = m, url = srv.url .. "/echo", body = "payload-" .. m }))
        local echo = json(res)
        assert.equal(m, echo.method)
        assert.equal("payload-" .. m, echo.body)
        assert.equal(tostring(#("payload-" .. m)), seen(echo, "Content-Length"))
      end
    end)

    it("sends Content-Length: 0 for a POST without a body, and none for DELETE", function()
      local echo = json(assert(t:request({ method = "POST", url = srv.url .. "/echo" })))
      assert.equal("0", seen(echo, "Content-Length"))
      echo = json(assert(t:request({ method = "DELETE", url = srv.url .. "/echo" })))
      assert.equal("DELETE", echo.method)
      assert.is_nil(seen(echo, "Content-Length"))
    end)

    it("does HEAD and OPTIONS", function()
      local res = assert(t:request({ method = "HEAD", url = srv.url .. "/bytes?n=100" }))
      assert.equal(200, res.status)
      assert.equal("", res.body)
      assert.equal("100", res.headers["content-length"])
      local echo = json(assert(t:request({ method = "OPTIONS", url = srv.url .. "/echo" })))
      assert.equal("OPTIONS", echo.method)
    end)

    it("drops caller Content-Length/Transfer-Encoding (the body decides them)", function()
      local echo = json(assert(t:request({ method = "POST", url = srv.url .. "/echo", body = "abc",
        headers = { ["Content-Length"] = "999", ["Transfer-Encoding"] = "chunked" } })))
      assert.equal("3", seen(echo, "Content-Length"))
      assert.is_nil(seen(echo, "Transfer-Encoding"))
      assert.equal("abc", echo.body)
    end)

    it("sends an empty header value", function()
      local echo = json(assert(t:request({ url = srv.url .. "/echo", headers = { ["X-Empty"] = "" } })))
      assert.equal("", seen(echo, "X-Empty"))
    end)
  end)

  describe("responses", function()
    it("folds header names to lower case and joins repeats with ', '", function()
      local res = assert(t:request({ url = srv.url .. "/repeat" }))
      assert.equal("a, b, c", res.headers["x-rep"])
      assert.equal("a=1, b=2", res.headers["set-cookie"])
      assert.equal("Value Kept", res.headers["x-mixed-case"])
      assert.is_nil(res.headers["X-Rep"])
      assert.equal("ok", res.body)
    end)

    it("accepts a status line with an empty reason phrase", function()
      local res, err = t:request({ url = srv.url .. "/raw204" })
      assert.is_nil(err)
      assert.equal(204, res.status)
      assert.equal("", res.body)
      assert.equal("yes", res.headers["x-empty-reason"])
      assert.equal("one, two", res.headers["x-rep"])
    end)

    it("returns non-2xx statuses as responses, not errors", function()
      local res, err = t:request({ url = srv.url .. "/status?code=503&body=busy" })
      assert.is_nil(err)
      assert.equal(503, res.status)
      assert.equal("busy", res.body)
    end)

    -- the framing rules of mc_http1, which the resty transport's parser uses too
    it("unfolds folded headers, drops chunked trailers and refuses a malformed header line", function()
      local res = assert(t:request({ url = srv.url .. "/raw?case=folded" }))
      assert.equal("a, b", res.headers["x-multi"])
      assert.equal("first second", res.headers["x-folded"])
      assert.equal("text/plain", res.headers["content-type"])
      assert.equal("ok", res.body)
      res = assert(t:request({ url = srv.url .. "/raw?case=trailers" }))
      assert.equal("hello world!", res.body)
      assert.is_nil(res.headers["x-trailer"])
      local err
      res, err = t:request({ url = srv.url .. "/raw?case=bad_header" })
      assert.is_nil(res)
      assert.equal("protocol", err.kind)
      assert.equal(8, err.code) -- libcurl refuses it itself, with the code resty reports
    end)

    it("decodes gzip", function()
      local res = assert(t:request({ url = srv.url .. "/gzip?n=100000" }))
      assert.equal("gzip", res.headers["content-encoding"])
      assert.equal(100000, #res.body)
      local path = tmp .. "/gz"
      httpd.write_file(path, res.body)
      assert.equal(res.headers["x-body-sha1"], httpd.sha1_file(path))
    end)
  end)

  describe("file bodies", function()
    local big
    setup(function()
      big = tmp .. "/big.bin"
      make_big_file(big, 50)
    end)

    it("streams a 50 MiB file with its Content-Length, byte for byte", function()
      local size = 50 * MiB
      local res, err = t:request({ method = "PUT", url = srv.url .. "/echo",
        body_file = { path = big }, timeout = 120 })
      assert.is_nil(err)
      local echo = json(res)
      assert.equal(size, echo.body_length)
      assert.equal(tostring(size), seen(echo, "Content-Length"))
      assert.is_nil(seen(echo, "Transfer-Encoding"))
      assert.is_nil(seen(echo, "Expect"))
      assert.equal(httpd.sha1_file(big), echo.body_sha1)
    end)

    it("streams a range from the middle of a file", function()
      local offset, length = 1234567, 7654321
      local echo = json(assert(t:request({ method = "POST", url = srv.url .. "/echo",
        body_file = { path = big, offset = offset, length = length } })))
      assert.equal(length, echo.body_length)
      assert.equal(tostring(length), seen(echo, "Content-Length"))
      assert.equal(httpd.sha1_file(big, offset, length), echo.body_sha1)
    end)

    it("streams to the end of the file when length is absent", function()
      local offset = 50 * MiB - 1000
      local echo = json(assert(t:request({ method = "PATCH", url = srv.url .. "/echo",
        body_file = { path = big, offset = offset } })))
      assert.equal(1000, echo.body_length)
      assert.equal(httpd.sha1_file(big, offset), echo.body_sha1)
    end)

    it("sends an empty range as Content-Length: 0", function()
      local echo = json(assert(t:request({ method = "PUT", url = srv.url .. "/echo",
        body_file = { path = big, offset = 10, length = 0 } })))
      assert.equal(0, echo.body_length)
      assert.equal("0", seen(echo, "Content-Length"))
    end)

    it("fails locally for a missing file or a range past its end", function()
      local res, err = t:request({ method = "PUT", url = srv.url .. "/echo",
        body_file = { path = tmp .. "/missing" } })
      assert.is_nil(res)
      assert.equal("local", err.kind)
      assert.matches("cannot open body file", err.message)
      res, err = t:request({ method = "PUT", url = srv.url .. "/echo",
        body_file = { path = big, offset = 50 * MiB - 10, length = 11 } })
      assert.is_nil(res)
      assert.equal("local", err.kind)
      res, err = t:request({ method = "PUT", url = srv.url .. "/echo",
        body_file = { path = big, offset = 50 * MiB + 1 } })
      assert.is_nil(res)
      assert.equal("local", err.kind)
      res, err = t:request({ method = "PUT", url = srv.url .. "/echo", body_file = { path = tmp } })
      assert.is_nil(res)
      assert.equal("local", err.kind)
    end)
  end)

  describe("sinks", function()
    it("streams a 2xx body to the sink file (truncating it)", function()
      local path = tmp .. "/sink1"
      httpd.write_file(path, string.rep("old", 2 * MiB))
      local res, err = t:request({ url = srv.url .. "/bytes?n=3000000", sink = path })
      assert.is_nil(err)
      assert.equal(200, res.status)
      assert.is_nil(res.body)
      assert.equal(3000000, res.bytes)
      assert.equal(3000000, file_size(path))
      assert.equal(res.headers["x-body-sha1"], httpd.sha1_file(path))
    end)

    it("creates the sink for an empty 2xx body", function()
      local path = tmp .. "/sink-empty"
      local res = assert(t:request({ url = srv.url .. "/bytes?n=0", sink = path }))
      assert.equal(200, res.status)
      assert.equal(0, file_size(path))
    end)

    it("keeps a non-2xx body in memory and leaves the sink alone", function()
      local path = tmp .. "/sink-404"
      local res, err = t:request({ url = srv.url .. "/bytes?n=100&status=404", sink = path })
      assert.is_nil(err)
      assert.equal(404, res.status)
      assert.equal(100, #res.body)
      assert.is_nil(file_size(path))
    end)

    it("fails locally when the sink cannot be written", function()
      local res, err = t:request({ url = srv.url .. "/bytes?n=10", sink = tmp .. "/no/such/dir/f" })
      assert.is_nil(res)
      assert.equal("local", err.kind)
      assert.matches("sink", err.message)
      local full = io.open("/dev/full", "wb")
      if full then -- a write that fails half way (ENOSPC)
        full:close()
        res, err = t:request({ url = srv.url .. "/bytes?n=200000", sink = "/dev/full" })
        assert.is_nil(res)
        assert.equal("local", err.kind)
        assert.matches("cannot write sink file", err.message)
      end
    end)
  end)

  describe("failures", function()
    -- run fns[1] (expected to fail with a timeout) next to fns[2] (a slower
    -- transfer that succeeds) in one loop; returns the order they ended in
    local function race(timed_req, slower_req)
      local order = {}
      local results, errs = loop.gather({
        function()
          local res, err = t:request(timed_req)
          order[#order + 1] = "timed"
          return res, err
        end,
        function()
          local res, err = t:request(slower_req)
          order[#order + 1] = "slower"
          return res, err
        end,
      })
      assert.is_nil(results[1])
      assert.equal("timeout", errs[1].kind)
      assert.equal(28, errs[1].code)
      assert.equal(200, results[2] and results[2].status)
      return order
    end

    it("times out (total timeout)", function()
      local res, err = t:request({ url = srv.url .. "/delay?ms=3000", timeout = 0.3 })
      assert.is_nil(res)
      assert.equal("timeout", err.kind)
      assert.equal(28, err.code)
      -- the limit fired, not the server's answer: it ends before a 1.5 s transfer
      assert.same({ "timed", "slower" }, race(
        { url = srv.url .. "/delay?ms=3000", timeout = 0.3 },
        { url = srv.url .. "/delay?ms=1500" }))
    end)

    it("reports a closed port as transient, without the query or headers", function()
      local res, err = t:request({ url = "http://127.0.0.1:1/x?signature=SECRETSIG&token=SECRETTOK",
        headers = { Authorization = "Bearer SECRETBEARER" } })
      assert.is_nil(res)
      assert.equal("transient", err.kind)
      assert.equal(7, err.code)
      assert.is_string(err.message)
      assert.is_nil(err.message:find("SECRET", 1, true))
    end)

    it("times out a stalled body (stall_timeout)", function()
      local res, err = t:request({ url = srv.url .. "/stall?first=1&total=1000&ms=8000",
        stall_timeout = 1 })
      assert.is_nil(res)
      assert.equal("timeout", err.kind)
      -- the stall limit fired, not the end of the stall: before a 5 s transfer
      assert.same({ "timed", "slower" }, race(
        { url = srv.url .. "/stall?first=1&total=1000&ms=8000", stall_timeout = 1 },
        { url = srv.url .. "/delay?ms=5000" }))
    end)

    it("reports a connection reset mid-body or an empty reply as transient", function()
      local res, err = t:request({ url = srv.url .. "/reset?bytes=5000" })
      assert.is_nil(res)
      assert.equal("transient", err.kind)
      res, err = t:request({ url = srv.url .. "/empty" })
      assert.is_nil(res)
      assert.equal("transient", err.kind)
      -- the handle is still usable afterwards
      assert.equal(200, assert(t:request({ url = srv.url .. "/echo" })).status)
    end)

    it("enforces max_body as a protocol error (known and unknown length)", function()
      local res, err = t:request({ url = srv.url .. "/bytes?n=100000", max_body = 1000 })
      assert.is_nil(res)
      assert.equal("protocol", err.kind)
      res, err = t:request({ url = srv.url .. "/gzip?n=100000", max_body = 1000 })
      assert.is_nil(res)
      assert.equal("protocol", err.kind)
      res = assert(t:request({ url = srv.url .. "/bytes?n=1000", max_body = 1000 }))
      assert.equal(1000, #res.body)
    end)

    it("reports a bad content encoding as a protocol error", function()
      local res, err = t:request({ url = srv.url .. "/bad_gzip" })
      assert.is_nil(res)
      assert.equal("protocol", err.kind)
    end)
  end)

  describe("TLS", function()
    it("verifies certificates: an unknown CA fails, the given cainfo works", function()
      local res, err = t:request({ url = srv.tls_url .. "/echo" })
      assert.is_nil(res)
      assert.equal("local", err.kind) -- a trust problem: not retryable, same as resty
      assert.equal(60, err.code)
      res, err = t:request({ url = srv.tls_url .. "/echo", cainfo = srv.cafile })
      assert.is_nil(err)
      assert.equal(200, res.status)
      local t2 = curl.new({ cainfo = srv.cafile })
      assert.equal(200, assert(t2:request({ url = srv.tls_url .. "/echo" })).status)
      t2:close()
    end)
  end)

  describe("connections", function()
    it("reuses the connection across requests of one transport", function()
      local a = json(assert(t:request({ url = srv.url .. "/echo" })))
      local b = json(assert(t:request({ method = "POST", url = srv.url .. "/echo", body = "x" })))
      local c = json(assert(t:request({ url = srv.url .. "/echo" })))
      assert.equal(a.connection, b.connection)
      assert.equal(a.connection, c.connection)
      assert.equal(a.connection_requests + 2, c.connection_requests)
    end)
  end)

  describe("transport object", function()
    it("has the interface of docs/internals.md", function()
      assert.equal("curl", t.name)
      assert.is_number(t:now())
      assert.is_true(math.abs(t:now() - os.time()) < 5) -- the wall clock, not a duration
      -- outside a loop sleep blocks: it returns after its deadline
      local deadline = core.monotonic() + 0.05
      t:sleep(0.05)
      assert.is_true(core.monotonic() >= deadline)
      -- inside a loop it yields: a task that does not sleep finishes first
      local order = {}
      loop.run(function()
        loop.spawn(function() t:sleep(0.05) order[#order + 1] = "slept" end)
        loop.spawn(function() order[#order + 1] = "ran" end)
      end)
      assert.same({ "ran", "slept" }, order)
    end)

    it("applies its defaults unless the request sets the field", function()
      local t2 = curl.new({ timeout = 0.2 })
      local req = { url = srv.url .. "/delay?ms=2000" }
      local res, err = t2:request(req)
      assert.is_nil(res)
      assert.equal("timeout", err.kind)
      assert.is_nil(req.timeout) -- the caller's table is not modified
      res = assert(t2:request({ url = srv.url .. "/delay?ms=300", timeout = 5 }))
      assert.equal(200, res.status)
      t2:close()
      t2:close()
    end)

    it("rejects bad options", function()
      assert.has_error(function() curl.new("x") end)
      assert.has_error(function() curl.new({ timeout = "1" }) end)
      assert.has_error(function() t:request("http://x") end)
    end)
  end)

  describe("request validation", function()
    local cases = req_cases   -- the same list core.http1.request (resty) raises for

    local function expect_raise(f, pattern)
      local ok, err = pcall(f)
      assert.is_false(ok)
      assert.matches(pattern, tostring(err))
    end

    it("raises naming the field (easy)", function()
      local e = core.easy()
      for _, c in ipairs(cases) do
        expect_raise(function() return e:perform(c[1]) end, c[2])
      end
      expect_raise(function() return e:perform("x") end, "table expected")
      -- still usable after all those raises
      assert.equal(200, assert(e:perform({ url = srv.url .. "/echo" })).status)
      e:close()
    end)

    it("raises naming the field (multi)", function()
      local m = core.multi()
      for _, c in ipairs(cases) do
        expect_raise(function() return m:add(c[1]) end, c[2])
      end
      assert.equal(0, m:count())
      m:close()
    end)

    it("raises naming the field (transport)", function()
      expect_raise(function() return t:request({ url = 1 }) end, "req.url must be a string")
    end)
  end)

  describe("handles", function()
    it("closes an Easy idempotently", function()
      local e = core.easy()
      assert.matches("^mediacdn.Easy %(", tostring(e))
      e:close()
      e:close()
      assert.equal("mediacdn.Easy (closed)", tostring(e))
      assert.has_error(function() e:perform({ url = srv.url }) end, "attempt to use a closed mediacdn.Easy")
    end)

    it("closes a Multi idempotently, aborting its transfers", function()
      local m = core.multi()
      assert.matches("^mediacdn.Multi %(", tostring(m))
      assert.is_number(m:add({ url = srv.url .. "/delay?ms=2000", body = string.rep("b", 100) }))
      m:step(10)
      m:close()
      m:close()
      assert.equal("mediacdn.Multi (closed)", tostring(m))
      assert.has_error(function() m:step() end, "attempt to use a closed mediacdn.Multi")
    end)

    it("supports <close> on Lua 5.4", function()
      if _VERSION ~= "Lua 5.4" then return pending("<close> needs Lua 5.4") end
      local chunk = assert(load([[
        local core = ...
        local e
        do
          local h <close> = core.easy()
          e = h
        end
        return tostring(e)
      ]]))
      assert.equal("mediacdn.Easy (closed)", chunk(core))
    end)

    it("releases open handles (and their running transfers) when collected", function()
      local weak = setmetatable({}, { __mode = "v" })
      for i = 1, 20 do
        local m = core.multi()
        assert.is_number(m:add({ url = srv.url .. "/delay?ms=1000" }))
        weak[2 * i - 1], weak[2 * i] = core.easy(), m
      end
      collectgarbage("collect")
      collectgarbage("collect")
      assert.is_nil(next(weak))             -- all 40 collected, their __gc ran
      -- and the process is fine afterwards: new handles work
      assert.equal(200, assert(t:request({ url = srv.url .. "/echo" })).status)
    end)
  end)

  describe("core.multi", function()
    it("runs transfers through fd/timeout/step/done", function()
      local m = core.multi()
      assert.is_number(m:fd())
      assert.equal(-1, m:timeout())
      assert.is_nil(m:done())
      local ids = {}
      for i = 1, 5 do
        -- the bodies are built here and referenced by nothing but the multi
        ids[assert(m:add({ method = "POST", url = srv.url .. "/echo", body = ("body-%d-"):format(i) .. string.rep("z", i * 1000) }))] = i
      end
      assert.equal(5, m:count())
      assert.is_true(m:timeout() >= 0)
      local got, n = {}, 0
      local deadline = core.monotonic() + 10
      while n < 5 and core.monotonic() < deadline do
        collectgarbage("collect") -- borrowed bodies must survive this
        m:step(50)
        while true do
          local id, res, err = m:done()
          if not id then break end
          assert.is_nil(err)
          got[id] = json(res)
          n = n + 1
        end
      end
      assert.equal(5, n)
      assert.equal(0, m:count())
      for id, i in pairs(ids) do
        assert.equal(("body-%d-"):format(i) .. string.rep("z", i * 1000), got[id].body)
      end
      m:close()
    end)

    it("returns transfer errors from done(), and add() errors directly", function()
      local m = core.multi()
      local id = assert(m:add({ url = "http://127.0.0.1:1/" }))
      local res, err = m:add({ method = "PUT", url = srv.url .. "/echo", body_file = { path = tmp .. "/missing" } })
      assert.is_nil(res)
      assert.equal("local", err.kind)
      local deadline = core.monotonic() + 5
      while m:step(50) == 0 and core.monotonic() < deadline do end
      local did, dres, derr = m:done()
      assert.equal(id, did)
      assert.is_nil(dres)
      assert.equal("transient", derr.kind)
      m:close()
    end)

    it("cancels a running transfer and drops its result", function()
      local m = core.multi()
      local slow = assert(m:add({ url = srv.url .. "/delay?ms=3000" }))
      local fast = assert(m:add({ url = srv.url .. "/echo" }))
      m:step(10)
      assert.equal(2, m:count())
      assert.is_true(m:cancel(slow))
      assert.is_false(m:cancel(slow))
      assert.equal(1, m:count())              -- gone at once, not when it would end
      local deadline = core.monotonic() + 5 -- (a guard against hanging, not a measure)
      while m:count() > 0 and core.monotonic() < deadline do m:step(50) end
      assert.equal(0, m:count())
      local id = m:done()
      assert.equal(fast, id)
      assert.is_nil(m:done())
      m:close()
    end)
  end)
end)
