-- The per-call paths of issue 18 §7: what the engine, sirv:call and the resty
-- transport now do with fewer calls and tables must still say the same thing.
local core = require "mediacdn.core"
local fake = require "mediacdn.transport.fake"

local http1 = core.http1

local RATE = { ["X-RateLimit-Limit"] = "100", ["X-RateLimit-Remaining"] = "90",
  ["X-RateLimit-Reset"] = "4102444800", ["X-RateLimit-Type"] = "rest:post:files:search" }

local function lower(h)
  local t = {}
  for k, v in pairs(h) do t[k:lower()] = v end
  return t
end

describe("core.http1.response, one call per response", function()
  local TEXT = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nX-A: 2\r\n\r\nhello"

  it("p:result gives status, headers, body, bytes, keep_alive, to_sink, then starts again", function()
    local p = http1.response("GET")
    assert.equal("done", (p:feed(TEXT)))
    local status, headers, body, bytes, keep, sunk = p:result()
    assert.equal(200, status)
    assert.same({ ["content-length"] = "5", ["x-a"] = "1, 2" }, headers)
    assert.equal("hello", body)
    assert.equal(5, bytes)
    assert.is_true(keep)
    assert.is_false(sunk)
    -- handed over: the parser is a fresh GET parser and parses the next response alike
    assert.is_nil(p:result())
    assert.is_nil(p:head())
    assert.equal("done", (p:feed(TEXT)))
    assert.equal("hello", select(3, p:result()))
    p:close()
  end)

  it("p:feed also says what the frame still wants", function()
    local p = http1.response("GET")
    local state, piece, want = p:feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123")
    assert.equal("body", state)
    assert.is_nil(piece)
    assert.equal(6, want)
    assert.equal(p:want(), want)
    state, piece, want = p:feed("456789")
    assert.equal("done", state)
    assert.is_nil(piece) -- (in memory: no sink bytes)
    assert.is_nil(want)
    p:close()
  end)

  it("p:reset starts again for another method, sink and max_body (checked first)", function()
    local p = http1.response("GET")
    p:feed("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab")
    assert.equal(p, p:reset("HEAD"))
    assert.equal("done", (p:feed("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n")))
    assert.equal("", select(3, p:result()))
    p:reset("GET", true)
    local _, piece = p:feed("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
    assert.equal("ok", piece)
    assert.is_true(select(6, p:result()))
    assert.has_error(function() p:reset("GET", false, 0) end)
    p:reset("GET", false, 4)
    assert.is_nil((p:feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")))
    p:close()
    assert.has_error(function() p:reset("GET") end)
  end)
end)

describe("core.policy, fewer calls per attempt", function()
  it("observe_type updates the budgets as observe does and returns observe's type", function()
    local a, b = core.policy{}, core.policy{}
    local h = lower(RATE)
    local rate = a:observe(h)
    assert.equal(rate.type, b:observe_type(h))
    assert.same(a:budgets(), b:budgets())
    assert.is_nil(b:observe_type({ ["content-type"] = "application/json" }))
  end)

  it("admit with consume = true counts a send (not a refusal) like consume does", function()
    local p = core.policy{}
    p:observe(lower(RATE))
    assert.equal("send", (p:admit("rest:post:files:search", 1, { consume = true })))
    assert.equal(89, p:budget("rest:post:files:search").remaining)
    assert.equal("send", (p:admit("rest:post:files:search", 1)))
    assert.equal(89, p:budget("rest:post:files:search").remaining)
    p:seed({ ["rest:post:files:search"] = { limit = 100, remaining = 0, reset = 4102444800 } })
    assert.equal("fail", (p:admit("rest:post:files:search", 1, { rate_limit = "fail", consume = true })))
    assert.equal(0, p:budget("rest:post:files:search").remaining)
  end)

  it("admit takes the options as arguments too, with the same answers", function()
    local B, RESET = "rest:post:files:search", 4102444800
    local function seeded(remaining)
      local p = core.policy{}
      p:seed({ [B] = { limit = 100, remaining = remaining, reset = RESET } })
      return p
    end
    local a, b = seeded(90), seeded(90)
    assert.same({ a:admit(B, 1, { consume = true }) }, { b:admit(B, 1, nil, nil, true) })
    assert.equal(89, b:budget(B).remaining)
    assert.same({ a:admit(B, 1) }, { b:admit(B, 1, nil, nil, false) })
    assert.equal(89, b:budget(B).remaining) -- (not counted without consume)
    a, b = seeded(0), seeded(0)
    local fa = { a:admit(B, RESET - 50, { rate_limit = "fail", consume = true }) }
    local fb = { b:admit(B, RESET - 50, "fail", nil, true) }
    assert.same(fa, fb)
    assert.same({ "fail", 50, B, RESET }, fb)
    assert.equal(0, b:budget(B).remaining)
    -- "wait" within max_wait waits; beyond it fails, as with the table
    assert.same({ a:admit(B, RESET - 50, { rate_limit = "wait", max_wait = 60 }) },
      { b:admit(B, RESET - 50, "wait", 60) })
    assert.equal("wait", (b:admit(B, RESET - 50, "wait", 60)))
    assert.same({ a:admit(B, RESET - 50, { rate_limit = "wait", max_wait = 10 }) },
      { b:admit(B, RESET - 50, "wait", 10) })
    assert.equal("fail", (b:admit(B, RESET - 50, "wait", 10)))
    assert.has_error(function() b:admit(B, 1, "later") end)
    assert.has_error(function() b:admit(B, 1, nil, "soon") end)
  end)

  it("observe_type returns the bucket named by X-RateLimit-Type, else rest:global", function()
    local p = core.policy{}
    local h = lower(RATE)
    assert.equal("rest:post:files:search", p:observe_type(h))
    h["x-ratelimit-type"] = nil
    assert.equal("rest:global", p:observe_type(h))
    h["x-ratelimit-type"] = ""
    assert.equal("rest:global", p:observe_type(h))
    local long = "rest:" .. ("x"):rep(100) -- the core keeps 63 bytes of a name
    h["x-ratelimit-type"] = long
    assert.equal(long:sub(1, 63), p:observe_type(h))
    assert.equal(90, p:budget(long:sub(1, 63)).remaining)
  end)
end)

describe("sirv:call per call", function()
  local function client(t, on_event)
    t:route(function(req)
      if req.url:find("/v2/token", 1, true) then
        return { status = 200, headers = {}, body = '{"token":"tok","expiresIn":1200}', bytes = 1 }
      end
    end)
    return require("mediacdn.sirv").new{ base_url = "http://sirv.test", client_id = "id",
      client_secret = "secret", transport = t, on_event = on_event }
  end

  it("counts each send once against its bucket and learns the bucket, with and without a sink", function()
    for _, sink in ipairs{ false, true } do
      local t = fake.new()
      local events = {}
      local sirv = client(t, sink and function(ev) events[#events + 1] = ev end or nil)
      for i = 1, 3 do
        local h = {}
        for k, v in pairs(RATE) do h[k] = v end
        h["X-RateLimit-Remaining"] = tostring(90 - i)
        t:push{ status = 200, headers = h, body = '{"size":' .. i .. '}' }
        assert.same({ size = i }, sirv:stat("/f" .. i))
      end
      assert.equal("rest:post:files:search", sirv.buckets.getFilesStat)
      assert.equal(87, sirv.policy:budget("rest:post:files:search").remaining)
      -- a send is counted once: one more call, answered without rate headers
      t:push{ status = 200, headers = {}, body = '{"size":4}' }
      assert(sirv:stat("/f4"))
      assert.equal(86, sirv.policy:budget("rest:post:files:search").remaining)
      if sink then
        local rates = 0
        for _, ev in ipairs(events) do if ev.type == "response" and ev.rate then rates = rates + 1 end end
        assert.is_true(rates >= 3) -- the event sink still gets the figures
      end
    end
  end)

  it("builds each value's query once and checks every value it has not built", function()
    local t = fake.new()
    local sirv = client(t)
    for _ = 1, 2 do
      for _, name in ipairs{ "/a b.jpg", "/c.jpg", "/a b.jpg" } do
        t:push{ status = 200, headers = {}, body = "{}" }
        assert(sirv:stat(name))
      end
    end
    local urls = {}
    for _, r in ipairs(t.requests) do
      if r.url:find("/v2/files/stat", 1, true) then urls[#urls + 1] = r.url end
    end
    assert.same({ "http://sirv.test/v2/files/stat?filename=%2Fa%20b.jpg",
      "http://sirv.test/v2/files/stat?filename=%2Fc.jpg", "http://sirv.test/v2/files/stat?filename=%2Fa%20b.jpg" },
      { urls[1], urls[2], urls[3] })
    assert.equal(urls[1], urls[4])
    assert.has_error(function() sirv:stat("rel/path") end)
    assert.has_error(function() sirv:stat("/a\0b") end)
  end)

  it("a kept intent follows the bucket learned since and a view's fail-fast mode", function()
    local t = fake.new()
    local sirv = client(t)
    local h = {}
    for k, v in pairs(RATE) do h[k] = v end
    h["X-RateLimit-Type"], h["X-RateLimit-Remaining"] = "rest:get:files:stat", "50"
    t:push{ status = 200, headers = h, body = "{}" }
    assert(sirv:stat("/a.jpg"))
    assert.equal("rest:get:files:stat", sirv.buckets.getFilesStat)
    -- the same value again: counted against the learned bucket
    t:push{ status = 200, headers = {}, body = "{}" }
    assert(sirv:stat("/a.jpg"))
    assert.equal(49, sirv.policy:budget("rest:get:files:stat").remaining)
    -- that bucket empty: a view that fails fast (as sirv.meta_bulk makes) fails
    -- without sending, the client itself waits for the reset
    local reset = t.clock + 100
    sirv.policy:seed({ ["rest:get:files:stat"] = { limit = 100, remaining = 0, reset = reset } })
    local view = setmetatable({ rate_limit = "fail" }, { __index = sirv })
    local sent = #t.requests
    for _ = 1, 2 do
      local res, err = view:stat("/a.jpg")
      assert.is_nil(res)
      assert.equal("rate_limited", err.kind)
      assert.equal(reset, err.reset_at)
      res, err = view:call("getFilesStat", { filename = "/a.jpg" })
      assert.is_nil(res)
      assert.equal("rate_limited", err.kind)
    end
    assert.equal(sent, #t.requests)
    t:push{ status = 200, headers = {}, body = '{"size":1}' }
    assert.same({ size = 1 }, sirv:stat("/a.jpg"))
    assert.is_true(t.slept >= 100)
    assert.equal(sent + 1, #t.requests)
  end)

  it("sends the bearer of the current token after a refresh", function()
    local t = fake.new()
    local n = 0
    t:route(function(req)
      if req.url:find("/v2/token", 1, true) then
        n = n + 1
        return { status = 200, headers = {}, body = '{"token":"tok-' .. n .. '","expiresIn":1200}', bytes = 1 }
      end
    end)
    local sirv = require("mediacdn.sirv").new{ base_url = "http://sirv.test", client_id = "id",
      client_secret = "secret", transport = t }
    t:push{ status = 200, headers = {}, body = "{}" }
    t:push{ status = 401, headers = {}, body = "{}" }
    t:push{ status = 200, headers = {}, body = "{}" }
    assert(sirv:stat("/a.jpg"))
    assert(sirv:stat("/a.jpg"))
    local auth = {}
    for _, r in ipairs(t.requests) do
      if not r.url:find("/v2/token", 1, true) then auth[#auth + 1] = r.headers.Authorization end
    end
    assert.same({ "Bearer tok-1", "Bearer tok-1", "Bearer tok-2" }, auth)
  end)
end)

describe("mediacdn.engine passthrough", function()
  local engine = require "mediacdn.engine"
  local function make(passthrough)
    local t = fake.new()
    local eng = engine.new{ service = "x", transport = t, policy = core.policy{},
      sign = function() return true end, passthrough = passthrough }
    t:push{ status = 200, headers = {}, body = "" }
    assert(eng:perform{ operation = "op", method = "GET", url = "http://x.test/", idempotent = true,
      headers = { A = "1" }, max_body = 7, future_field = "f" })
    return t.requests[1]
  end

  it("passes unknown intent fields through by default, and not with passthrough = false", function()
    local on, off = make(nil), make(false)
    assert.equal("f", on.future_field)
    assert.is_nil(off.future_field)
    for _, req in ipairs{ on, off } do
      assert.equal(7, req.max_body)
      assert.same({ A = "1" }, req.headers)
      assert.is_nil(req.operation)
      assert.is_nil(req.idempotent)
    end
    assert.has_error(function()
      engine.new{ service = "x", transport = fake.new(), policy = core.policy{},
        sign = function() return true end, passthrough = "no" }
    end)
  end)
end)
