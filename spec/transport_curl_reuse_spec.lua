-- The blocking curl transport keeps its easy handle configured between
-- requests (csrc/curl/mc_curl_easy.c: after a plain GET the next request sets
-- only what differs). Nothing of one request may reach the next: its body,
-- method, upload mode, range, sink, headers, limits, CA bundle or progress
-- hook. Each case runs its request and then a plain GET on the SAME
-- transport, and checks what the server saw and what came back.
local httpd = require "helpers.httpd"
local core = require "mediacdn.core"
local curl = require "mediacdn.transport.curl"

local function json(res)
  assert(res, "no response")
  return assert(core.json_decode(res.body))
end

local seen = httpd.seen

describe("transport.curl: a reused handle carries nothing over", function()
  local srv, tmp, t

  setup(function()
    srv = httpd.start({ tls = true })
    tmp = httpd.tmpdir()
  end)

  teardown(function()
    if srv then srv:stop() end
    if tmp then httpd.sh_ok("rm -rf '" .. tmp .. "'") end
  end)

  before_each(function() t = curl.new() end)
  after_each(function() t:close() end)

  -- a plain GET of /echo on t: what the server saw
  local function plain_get()
    local echo = json(assert(t:request({ url = srv.url .. "/echo?plain=1" })))
    assert.equal("GET", echo.method)
    assert.equal("/echo?plain=1", echo.uri)
    assert.equal(0, echo.body_length)
    assert.is_nil(seen(echo, "Content-Length"))
    assert.is_nil(seen(echo, "Content-Type"))
    assert.is_nil(seen(echo, "Transfer-Encoding"))
    return echo
  end

  it("no body, method or Content-Type after POST, PUT, PATCH, DELETE and OPTIONS", function()
    plain_get()
    for _, m in ipairs({ "POST", "PUT", "PATCH" }) do
      local echo = json(assert(t:request({ method = m, url = srv.url .. "/echo", body = "body-" .. m,
        headers = { ["Content-Type"] = "text/plain" } })))
      assert.equal(m, echo.method)
      assert.equal("body-" .. m, echo.body)
      plain_get()
    end
    for _, m in ipairs({ "DELETE", "OPTIONS" }) do
      assert.equal(m, json(assert(t:request({ method = m, url = srv.url .. "/echo" }))).method)
      plain_get()
    end
    -- an empty POST still says Content-Length: 0, after plain GETs too
    assert.equal("0", seen(json(assert(t:request({ method = "POST", url = srv.url .. "/echo" }))),
      "Content-Length"))
    plain_get()
  end)

  it("no upload mode or file range after a body_file or body_parts request", function()
    local path = tmp .. "/range.bin"
    httpd.write_file(path, "0123456789abcdef")
    local echo = json(assert(t:request({ method = "PUT", url = srv.url .. "/echo",
      body_file = { path = path, offset = 4, length = 6 } })))
    assert.equal("PUT", echo.method)
    assert.equal("456789", echo.body)
    plain_get()
    echo = json(assert(t:request({ method = "POST", url = srv.url .. "/echo",
      body_parts = { "<", { path = path, offset = 10, length = 3 }, ">" } })))
    assert.equal("POST", echo.method)
    assert.equal("<abc>", echo.body)
    plain_get()
    -- a body file that cannot be opened fails locally; the handle still works
    local res, err = t:request({ method = "PUT", url = srv.url .. "/echo",
      body_file = { path = tmp .. "/missing.bin" } })
    assert.is_nil(res)
    assert.equal("local", err.kind)
    plain_get()
  end)

  it("a body again after HEAD, and a POST right after a plain GET", function()
    local res = assert(t:request({ method = "HEAD", url = srv.url .. "/bytes?n=100" }))
    assert.equal("", res.body)
    res = assert(t:request({ url = srv.url .. "/bytes?n=100" }))
    assert.equal(100, #res.body)
    plain_get()
    local echo = json(assert(t:request({ method = "POST", url = srv.url .. "/echo", body = "after-get" })))
    assert.equal("POST", echo.method)
    assert.equal("after-get", echo.body)
  end)

  it("only this request's headers, and the new value of a changed one", function()
    local echo = json(assert(t:request({ url = srv.url .. "/echo",
      headers = { ["X-One"] = "1", Authorization = "Bearer A" } })))
    assert.equal("1", seen(echo, "X-One"))
    echo = json(assert(t:request({ url = srv.url .. "/echo",
      headers = { ["X-One"] = "1", Authorization = "Bearer A" } })))
    assert.equal("Bearer A", seen(echo, "Authorization"))
    echo = json(assert(t:request({ url = srv.url .. "/echo", headers = { Authorization = "Bearer B" } })))
    assert.is_nil(seen(echo, "X-One"))
    assert.equal("Bearer B", seen(echo, "Authorization"))
    echo = json(assert(t:request({ url = srv.url .. "/echo", headers = { Accept = "text/x" } })))
    assert.equal("text/x", seen(echo, "Accept"))
    assert.matches("gzip", seen(echo, "Accept-Encoding"))
    echo = json(assert(t:request({ url = srv.url .. "/echo", headers = { ["Accept-Encoding"] = "identity" } })))
    assert.equal("identity", seen(echo, "Accept-Encoding")) -- the caller's, alone
    echo = plain_get()
    assert.is_nil(seen(echo, "Authorization"))
    assert.is_nil(seen(echo, "Accept")) -- the blank override is back
    assert.matches("gzip", seen(echo, "Accept-Encoding"))
  end)

  it("the body in memory again after a request with a sink", function()
    local sink = tmp .. "/sink.bin"
    local res = assert(t:request({ url = srv.url .. "/bytes?n=300", sink = sink }))
    assert.is_nil(res.body)
    assert.equal(300, #httpd.read_file(sink))
    res = assert(t:request({ url = srv.url .. "/bytes?n=50" }))
    assert.equal(50, #res.body)
    assert.equal(300, #httpd.read_file(sink)) -- left alone
    -- big bodies both ways, alternating (the receive buffer differs)
    for _ = 1, 2 do
      res = assert(t:request({ url = srv.url .. "/bytes?n=300000", sink = sink }))
      assert.equal(res.headers["x-body-sha1"], httpd.sha1_file(sink))
      res = assert(t:request({ url = srv.url .. "/bytes?n=300001" }))
      assert.equal(300001, #res.body)
    end
  end)

  it("its own max_body and limits, not the previous request's", function()
    local res, err = t:request({ url = srv.url .. "/bytes?n=5000", max_body = 100 })
    assert.is_nil(res)
    assert.equal("protocol", err.kind)
    assert.equal(5000, #assert(t:request({ url = srv.url .. "/bytes?n=5000" })).body)
    res, err = t:request({ url = srv.url .. "/delay?ms=1500", timeout = 0.2 })
    assert.is_nil(res)
    assert.equal("timeout", err.kind)
    -- the same slow answer, without the short limit: it arrives
    assert.equal(1500, json(assert(t:request({ url = srv.url .. "/delay?ms=1500", timeout = 30 }))).delayed_ms)
    assert.equal(1500, json(assert(t:request({ url = srv.url .. "/delay?ms=1500" }))).delayed_ms)
  end)

  it("its own CA bundle: a trusted one does not stay trusted", function()
    assert.equal(200, assert(t:request({ url = srv.tls_url .. "/echo", cainfo = srv.cafile })).status)
    assert.equal(200, assert(t:request({ url = srv.tls_url .. "/echo", cainfo = srv.cafile })).status)
    local res, err = t:request({ url = srv.tls_url .. "/echo" })
    assert.is_nil(res)
    assert.equal("local", err.kind)
    assert.equal(60, err.code)
    assert.equal(200, assert(t:request({ url = srv.tls_url .. "/echo", cainfo = srv.cafile })).status)
    plain_get()
  end)

  it("no progress hook after a request that had one", function()
    local calls = 0
    local res = assert(t:request({ url = srv.url .. "/bytes?n=200000",
      on_progress = function() calls = calls + 1 end }))
    assert.equal(200000, #res.body)
    assert.is_true(calls >= 1)
    local before = calls
    res = assert(t:request({ url = srv.url .. "/bytes?n=200000" }))
    assert.equal(200000, #res.body)
    assert.equal(before, calls)
    plain_get()
  end)

  it("still one connection across plain and other requests", function()
    local a = plain_get()
    json(assert(t:request({ method = "PUT", url = srv.url .. "/echo", body = "x" })))
    plain_get()
    json(assert(t:request({ url = srv.url .. "/echo", headers = { ["X-Two"] = "2" } })))
    local e = plain_get()
    assert.equal(a.connection, e.connection)
    assert.equal(a.connection_requests + 4, e.connection_requests)
  end)
end)
