-- core.http1: the HTTP/1.1 framing of the C core (csrc/core/mc_http1*), as
-- the resty transport uses it. Plain busted, no nginx, no network: bytes in,
-- framing decisions out. The curl transport follows the same rules (its
-- header callback feeds mc_http1_head_line; transport_curl_spec checks them
-- against a live server).
local core = require "mediacdn.core"
local req_cases = require "helpers.req_cases"

local http1 = core.http1

-- feed `text` to a new parser in pieces of `step` bytes; returns the parser,
-- the states seen, the sink bytes, or nil, terr
local function parse(text, step, method, sink, max_body)
  local p = http1.response(method or "GET", sink, max_body)
  local states, sunk = {}, {}
  for i = 1, #text, step do
    local state, piece = p:feed(text:sub(i, i + step - 1))
    if not state then return nil, piece end
    if states[#states] ~= state then states[#states + 1] = state end
    if piece then sunk[#sunk + 1] = piece end
  end
  return p, states, table.concat(sunk)
end

local function tmpfile(bytes)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  return path
end

-- core.http1.request's values as one table: head, body, length, offset, close,
-- origin and the origin's fields (https, host, port, connect_host, authority, is_ip)
local function framed(req, size)
  local head, origin, body, length, offset, close = http1.request(req, size)
  if not head then return nil, origin end
  local t = { head = head, origin = origin, body = body, length = length, offset = offset, close = close }
  for k, v in pairs(origin) do t[k] = v end
  return t
end

describe("core.http1.request", function()
  it("raises for every malformed descriptor, with the messages core.easy gives", function()
    local easy = core.easy()
    for _, c in ipairs(req_cases) do
      local ok, err = pcall(http1.request, c[1], 10)
      assert.is_false(ok)
      assert.matches(c[2], tostring(err))
      local eok, eerr = pcall(easy.perform, easy, c[1])
      assert.is_false(eok)
      -- one reader, one rule: the same text after "bad argument #n to '...'"
      local why = tostring(err):match("%((req%..*)%)$")
      assert.is_string(why)
      assert.equal(why, tostring(eerr):match("%((req%..*)%)$"))
    end
    easy:close()
  end)

  it("builds the request head: request line, caller headers, Host, no body length for GET", function()
    local plan = framed{ url = "http://Example.COM/v2/files?x=1&y=%20#frag",
      headers = { ["X-Custom"] = "v1" } }
    assert.equal("GET /v2/files?x=1&y=%20 HTTP/1.1\r\nX-Custom: v1\r\nHost: example.com\r\n\r\n", plan.head)
    assert.equal("none", plan.body)
    assert.is_nil(plan.length)
    assert.equal("example.com", plan.host)
    assert.equal(80, plan.port)
    assert.is_false(plan.https)
    assert.is_false(plan.is_ip)
    assert.is_false(plan.close)
  end)

  it("frames bodies: string, POST without body, file range, and drops the caller's framing headers", function()
    local plan = framed{ method = "PUT", url = "https://127.0.0.1:8443", body = "abc",
      headers = { ["Content-Length"] = "999", ["Transfer-Encoding"] = "chunked" } }
    assert.equal("PUT / HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nContent-Length: 3\r\n\r\n", plan.head)
    assert.equal("string", plan.body)
    assert.equal(3, plan.length)
    assert.is_true(plan.https and plan.is_ip)
    assert.equal("127.0.0.1", plan.connect_host)
    plan = framed{ method = "POST", url = "http://h/" }
    assert.matches("\r\nContent%-Length: 0\r\n\r\n$", plan.head)
    assert.equal(0, plan.length)
    plan = framed{ method = "DELETE", url = "http://h/" }
    assert.is_nil(plan.head:find("Content-Length", 1, true))
    plan = framed({ method = "PATCH", url = "http://[::1]:81/x",
      body_file = { path = "/any", offset = 10 } }, 100)
    assert.equal("file", plan.body)
    assert.equal(90, plan.length)
    assert.equal(10, plan.offset)
    assert.equal("[::1]", plan.connect_host)
    assert.equal("[::1]:81", plan.authority)
    assert.matches("Host: %[::1%]:81\r\nContent%-Length: 90\r\n", plan.head)
  end)

  it("refuses a file range outside the file as a local error, and needs the file size", function()
    local plan, err = framed({ method = "PUT", url = "http://h/",
      body_file = { path = "/f", offset = 50, length = 51 } }, 100)
    assert.is_nil(plan)
    assert.equal("local", err.kind)
    assert.matches("ends beyond the end of /f", err.message)
    assert.has_error(function()
      http1.request{ method = "PUT", url = "http://h/", body_file = { path = "/f" } }
    end)
  end)

  it("lets the caller's Host win and notes Connection: close", function()
    local plan = framed{ url = "http://h:8080/", headers = { host = "other", Connection = "close" } }
    assert.equal("GET / HTTP/1.1\r\nConnection: close\r\nHost: other\r\n\r\n", plan.head)
    assert.is_true(plan.close)
  end)

  it("gives every request to one scheme/host/port the same origin table", function()
    local a = framed{ url = "http://h:8080/a?x=1" }
    local b = framed{ url = "http://H:8080/b", headers = { Accept = "x" } }
    local c = framed{ url = "https://h:8080/a" }
    local d = framed{ url = "http://h/a" }
    assert.equal(a.origin, b.origin)
    assert.not_equal(a.origin, c.origin)
    assert.not_equal(a.origin, d.origin)
    assert.same({ https = true, host = "h", port = 8080, connect_host = "h", authority = "h:8080",
      is_ip = false }, c.origin)
    assert.equal("h", d.origin.authority)
    -- many origins: the cache starts again, each answer still right
    for i = 1, 200 do
      assert.equal("h" .. i .. ":81", framed{ url = ("http://h%d:81/"):format(i) }.origin.authority)
    end
  end)

  it("checks the limits; the caller reads them from req (unset: core.defaults)", function()
    assert.is_string(framed{ url = "http://h/", timeout = 0.5, stall_timeout = 0.25, max_body = 10 }.head)
    assert.has_error(function() http1.request{ url = "http://h/", timeout = -1 } end)
    assert.has_error(function() http1.request{ url = "http://h/", max_body = 0 } end)
    assert.has_error(function() http1.request{ url = "http://h/", stall_timeout = "1" } end)
  end)
end)

describe("core.http1.response", function()
  local CHUNKED = "HTTP/1.1 100 Continue\r\n\r\n"
    .. "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Multi: a\r\nx-multi: b\r\n"
    .. "X-Folded: first\r\n  second\r\nContent-Type:text/plain\r\n\r\n"
    .. "5;ext=1\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n"

  it("parses a chunked response fed in any split: 1xx skipped, repeats joined, folds unfolded, trailers dropped", function()
    for _, step in ipairs{ 1, 2, 3, 7, 64, #CHUNKED } do
      local p, states = parse(CHUNKED, step)
      assert.equal("done", states[#states])
      local status, headers, to_sink = p:head()
      assert.equal(200, status)
      assert.is_false(to_sink)
      assert.equal("a, b", headers["x-multi"])
      assert.equal("first second", headers["x-folded"])
      assert.equal("text/plain", headers["content-type"])
      assert.is_nil(headers["x-trailer"])
      assert.equal("hello world!", p:body())
      assert.equal(12, p:bytes())
      assert.is_true(p:keep_alive())
      p:close()
    end
  end)

  it("reports the states in order and how much a length frame still wants", function()
    local p = http1.response("GET")
    assert.is_nil(p:want())
    assert.equal("head", (p:feed("HTTP/1.1 200 OK\r\nContent-Len")))
    assert.is_nil(p:head())
    assert.equal("body", (p:feed("gth: 10\r\n\r\n0123")))
    assert.equal(6, p:want())
    assert.equal("done", (p:feed("456789")))
    assert.equal("0123456789", p:body())
    p:close()
  end)

  it("hands 2xx body bytes back for the sink and keeps other statuses in memory", function()
    local text = "HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\n0123456789"
    local p, states, sunk = parse(text, 4, "PUT", true, 5)   -- max_body caps memory, not sinks
    assert.same({ "head", "body", "done" }, states)
    assert.equal("0123456789", sunk)
    assert.is_true((select(3, p:head())))
    assert.is_nil(p:body())
    assert.equal(10, p:bytes())
    local _, err = parse("HTTP/1.1 404 NF\r\nContent-Length: 10\r\n\r\n0123456789", 100, "GET", true, 5)
    assert.equal("protocol", err.kind)
    assert.equal(63, err.code)
    assert.matches("max_body", err.message)
    _, err = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
      5, "GET", false, 4)
    assert.matches("max_body", err.message)
  end)

  it("expects no body after HEAD, 204 and 304", function()
    for _, c in ipairs{ { "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" },
                        { "GET", "HTTP/1.1 204 \r\nX-A: 1\r\n\r\n" },
                        { "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n" } } do
      local p, states = parse(c[2], 3, c[1])
      assert.equal("done", states[#states])
      assert.equal("", p:body())
      assert.is_true(p:keep_alive())
    end
  end)

  it("reads a body that ends when the server closes, never reusing that connection", function()
    local p, states = parse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nbody until the connection closes", 5)
    assert.equal("body", states[#states])
    assert.is_true(p:eof())
    assert.equal("body until the connection closes", p:body())
    assert.is_false(p:keep_alive())
  end)

  it("does not reuse after HTTP/1.0, Connection: close, or bytes past the end", function()
    for _, text in ipairs{ "HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\nold!",
                           "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 4\r\n\r\nold!",
                           "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nold!EXTRA" } do
      local p, states = parse(text, 100)
      assert.equal("done", states[#states])
      assert.equal("old!", p:body())
      assert.is_false(p:keep_alive())
    end
  end)

  it("reports a response cut short as transient, with libcurl's codes", function()
    local p = parse("HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n" .. ("x"):rep(100), 64)
    local ok, err = p:eof()
    assert.is_nil(ok)
    assert.equal("transient", err.kind)
    assert.equal(18, err.code)
    assert.matches("9900 body bytes outstanding", err.message)
    p = parse("HTTP/1.1 200 OK\r\nContent-", 64)
    ok, err = p:eof()
    assert.is_nil(ok)
    assert.equal("transient", err.kind)
    assert.equal(56, err.code)
  end)

  it("reports malformed responses as protocol errors", function()
    local cases = {
      { "SSH-2.0-OpenSSH_9.0\r\n\r\n", "malformed status line", 8 },
      { "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", "invalid Content%-Length", 8 },
      { "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", "invalid Content%-Length", 8 },
      { "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "malformed response header line", 8 },
      { "HTTP/1.1 200 OK\r\n  fold first\r\n\r\n", "continuation line", 8 },
      { "HTTP/2 200\r\n\r\n", "unsupported HTTP version", 1 },
      { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunk size", 8 },
      { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", "malformed chunk terminator", 8 },
      { "HTTP/1.1 200 OK\r\n" .. ("X-A: 1\r\n"):rep(201) .. "\r\n", "more than 200 response header lines", 8 },
    }
    for _, c in ipairs(cases) do
      local p, err = parse(c[1], 1000)
      assert.is_nil(p, c[1])
      assert.equal("protocol", err.kind)
      assert.matches(c[2], err.message)
      assert.equal(c[3], err.code)
    end
  end)

  it("p:feed(data, true) returns p:result()'s values with the feed that completes the response", function()
    local function pack(...) return { n = select("#", ...), ... } end
    local p = http1.response("GET")
    local text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello"
    -- not complete: only state, sink bytes, want
    assert.same({ n = 3, "body", nil, 3 }, pack(p:feed(text:sub(1, -4), true)))
    local r = pack(p:feed(text:sub(-3), true))
    assert.equal(9, r.n)
    assert.equal("done", r[1])
    assert.is_nil(r[3])
    assert.equal(200, r[4])
    assert.same({ ["content-length"] = "5", ["x-a"] = "1, 2" }, r[5])
    assert.equal("hello", r[6])
    assert.equal(5, r[7])
    assert.is_true(r[8])
    assert.is_false(r[9])
    -- handed over: a fresh GET parser, which the next response reuses
    assert.is_nil(p:result())
    r = pack(p:feed("HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno", true))
    assert.equal(404, r[4])
    assert.same({ ["content-length"] = "2", connection = "close" }, r[5])
    assert.equal("no", r[6])
    assert.is_false(r[8])
    -- without take, a completed response waits for p:result()
    assert.same({ n = 3, "done", nil, nil }, pack(p:feed(text)))
    assert.equal("hello", select(3, p:result()))
    p:close()
  end)

  it("is a mediacdn.Http1Response userdata with an idempotent close", function()
    local p = http1.response("GET")
    assert.matches("^mediacdn.Http1Response %(", tostring(p))
    p:close()
    p:close()
    assert.equal("mediacdn.Http1Response (closed)", tostring(p))
    assert.has_error(function() p:feed("x") end, "attempt to use a closed mediacdn.Http1Response")
    assert.has_error(function() http1.response() end)
    assert.has_error(function() http1.response("GET", false, 0) end)
  end)

  it("frames a file body the resty transport then streams (range from the real size)", function()
    local path = tmpfile(("0123456789"):rep(10))
    local f = assert(io.open(path, "rb"))
    local size = f:seek("end")
    f:close()
    local plan = framed({ method = "PUT", url = "http://h/", body_file = { path = path, offset = 95 } }, size)
    assert.equal(5, plan.length)
    os.remove(path)
  end)
end)
