-- The Sirv client over the fake transport: auth, retries, rate limits, errors,
-- encoding and validation, with virtual time (no network, no sleeping).
local sirv_mod = require "mediacdn.sirv"
local ENDPOINTS = require "mediacdn.sirv.endpoints"
local fake_mod = require "mediacdn.transport.fake"
local errors = require "mediacdn.errors"
local mediacdn = require "mediacdn"

local SECRET = "s3cr3t-client-secret-value"
local TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2lnbmF0dXJlLXNlY3JldA"

local function token_response(tok, ttl)
  return { status = 200, headers = { ["content-type"] = "application/json" },
    body = ('{"token":"%s","expiresIn":%d,"scope":["files:read"]}'):format(tok or TOKEN, ttl or 1200) }
end

local function ok_json(body, headers)
  return { status = 200, headers = headers or { ["content-type"] = "application/json" }, body = body }
end

local function client(fake, opts)
  opts = opts or {}
  opts.client_id = "id-123"
  opts.client_secret = SECRET
  opts.base_url = "https://api.example.test"
  opts.transport = fake
  return sirv_mod.new(opts)
end

-- The rate_limit events of a run (each with its reason, delay and reset_at).
local function limit_events(events, reason)
  local out = {}
  for _, ev in ipairs(events) do
    if ev.type == "rate_limit" and (reason == nil or ev.reason == reason) then out[#out + 1] = ev end
  end
  return out
end

local function count(fake, pattern)
  local n = 0
  for _, r in ipairs(fake.requests) do if r.url:find(pattern, 1, true) then n = n + 1 end end
  return n
end

describe("sirv client (fake transport)", function()
  it("covers every documented method of sirv-endpoints.json", function()
    local f = assert(io.open("emulator/data/sirv-endpoints.json", "rb"))
    local list = mediacdn.json_decode(f:read("*a")); f:close()
    local published = 0
    for _, e in ipairs(list) do
      assert.is_table(ENDPOINTS[e.name], "missing method " .. e.name)
      assert.are.equal(e.verb, ENDPOINTS[e.name].verb)
      assert.are.equal(e.path, ENDPOINTS[e.name].path)
      if e.source == "apidocs" then published = published + 1 end
    end
    assert.are.equal(54, published)
    assert.are.equal(60, #list)
  end)

  it("fetches the token lazily, once, and sends it as a bearer header", function()
    local fake = fake_mod.new()
    local c = client(fake)
    assert.are.equal(0, #fake.requests)
    fake:push(token_response()):push(ok_json('{"size":1}')):push(ok_json('{"size":2}'))
    assert.are.equal(1, c:stat("/a.jpg").size)
    assert.are.equal(2, c:stat("/b.jpg").size)
    assert.are.equal(1, count(fake, "/v2/token"))
    assert.are.equal("Bearer " .. TOKEN, fake.requests[2].headers.Authorization)
    local body = mediacdn.json_decode(fake.requests[1].body)
    assert.are.same({ clientId = "id-123", clientSecret = SECRET }, body)
  end)

  it("sends expiresIn only for a non-default token_ttl and checks its bounds", function()
    local fake = fake_mod.new()
    local c = client(fake, { token_ttl = 60 })
    fake:push(token_response(nil, 60)):push(ok_json("{}"))
    c:stat("/x")
    assert.are.equal(60, mediacdn.json_decode(fake.requests[1].body).expiresIn)
    assert.has_error(function() client(fake_mod.new(), { token_ttl = 4 }) end)
    assert.has_error(function() client(fake_mod.new(), { token_ttl = 604801 }) end)
  end)

  it("refreshes a token before it expires", function()
    local fake = fake_mod.new()
    local c = client(fake, { token_ttl = 100 })
    fake:push(token_response("tok-1", 100)):push(ok_json("{}"))
    c:stat("/x")
    fake.clock = fake.clock + 80 -- inside the 25 s skew of a 100 s token
    fake:push(token_response("tok-2", 100)):push(ok_json("{}"))
    c:stat("/x")
    assert.are.equal(2, count(fake, "/v2/token"))
    assert.are.equal("Bearer tok-2", fake.requests[4].headers.Authorization)
  end)

  -- regression: a task cancelled while it held the refresh lock blocked every later call
  it("frees a refresh lock whose holder died", function()
    local fake = fake_mod.new()
    local c = client(fake)
    local co = coroutine.create(function() assert(c.auth.store:lock(c.auth.key, 1)) end)
    assert(coroutine.resume(co)) -- took the lock and ended without unlocking
    fake:push(token_response()):push(ok_json('{"size":3}'))
    assert.are.equal(3, c:stat("/x").size)
    -- and a lock held too long by a live holder expires after lock_ttl
    local store = require("mediacdn.sirv.auth").local_store(fake, 10)
    assert.is_true(store:lock("k", 1))
    fake.clock = fake.clock + 11
    assert.is_true(store:lock("k", 1))
  end)

  it("on a 401 fetches exactly one new token and replays the call once", function()
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push(token_response("old")):push(ok_json("{}")):push({ status = 401,
      headers = { ["www-authenticate"] = 'Token error="Expired token"' },
      body = '{"statusCode":401,"error":"Unauthorized","message":"Expired token"}' })
    fake:push(token_response("new")):push(ok_json('{"size":5}'))
    assert.is_true(c:stat("/1") ~= nil)
    local r = assert(c:stat("/2"))
    assert.are.equal(5, r.size)
    assert.are.equal(2, count(fake, "/v2/token"))
    assert.are.equal("Bearer new", fake.requests[5].headers.Authorization)
  end)

  it("returns kind auth when the replay after a 401 is refused again", function()
    local fake = fake_mod.new()
    local c = client(fake)
    local unauthorized = { status = 401, body = '{"statusCode":401,"error":"Unauthorized","message":"Expired token"}' }
    fake:push(token_response()):push(unauthorized):push(token_response()):push(unauthorized)
    local r, err = c:stat("/x")
    assert.is_nil(r)
    assert.are.equal("auth", err.kind)
    assert.are.equal(401, err.status)
    assert.are.equal(4, #fake.requests)
  end)

  it("reports rejected credentials as kind auth without leaking the secret", function()
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push{ status = 401, body = '{"statusCode":401,"error":"Unauthorized","message":"bad ' .. SECRET .. '"}' }
    local r, err = c:stat("/x")
    assert.is_nil(r)
    assert.are.equal("auth", err.kind)
    assert.is_nil(tostring(err):find(SECRET, 1, true))
  end)

  it("retries 503 twice then succeeds, with backoff sleeps", function()
    local fake = fake_mod.new()
    local events = {}
    local c = client(fake, { on_event = function(ev) events[#events + 1] = ev end })
    fake:push(token_response()):push{ status = 503, body = "" }:push{ status = 503, body = "" }:push(ok_json('{"ok":1}'))
    local r = assert(c:stat("/x"))
    assert.are.equal(1, r.ok)
    local retries = 0
    for _, ev in ipairs(events) do if ev.type == "retry" then retries = retries + 1 end end
    assert.are.equal(2, retries)
  end)

  it("never retries 400, 403 or 404", function()
    for _, st in ipairs{ 400, 403, 404 } do
      local fake = fake_mod.new()
      local c = client(fake)
      fake:push(token_response()):push{ status = st, body = '{"statusCode":' .. st .. ',"error":"E","message":"m' .. st .. '"}' }
      local r, err = c:stat("/x")
      assert.is_nil(r)
      assert.are.equal(2, #fake.requests)
      assert.are.equal(st, err.status)
      assert.are.equal("m" .. st, err.message)
      assert.are.equal(({ [400] = "client", [403] = "forbidden", [404] = "not_found" })[st], err.kind)
      assert.is_false(err.retryable)
    end
  end)

  it("gives up after the configured attempts with a transient error", function()
    local fake = fake_mod.new()
    local c = client(fake, { retry = { attempts = 3, base = 0.01, cap = 0.02 } })
    fake:push(token_response())
    for _ = 1, 5 do fake:push{ status = 500, body = "oops" } end
    local r, err = c:stat("/x")
    assert.is_nil(r)
    assert.are.equal("transient", err.kind)
    assert.is_true(err.retryable)
    assert.are.equal(4, #fake.requests) -- token + 3 attempts
  end)

  it("does not replay a non-idempotent call after a 500, but does after a 503", function()
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push(token_response()):push{ status = 500, body = "" }
    local r, err = c:copy("/a", "/b")
    assert.is_nil(r)
    assert.are.equal("transient", err.kind)
    assert.are.equal(500, err.status)
    assert.are.equal(2, #fake.requests)
    fake:push{ status = 503, body = "" }:push{ status = 200, body = "" }
    assert.is_true(c:copy("/a", "/b"))
  end)

  it("retries a timeout of an idempotent call but not of a copy", function()
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push(token_response()):push{ terr = { kind = "timeout", message = "Timeout was reached" } }:push(ok_json("{}"))
    assert.is_table(c:stat("/x"))
    fake:push{ terr = { kind = "timeout", message = "Timeout was reached" } }
    local r, err = c:copy("/a", "/b")
    assert.is_nil(r)
    assert.are.equal("timeout", err.kind)
    fake:push{ terr = { kind = "transient", message = "Connection refused", nothing_sent = true } }:push{ status = 200, body = "" }
    assert.is_true(c:copy("/a", "/b"))
  end)

  it("waits for the reset on 429 in mode wait", function()
    local fake = fake_mod.new()
    local events = {}
    local c = client(fake, { on_event = function(ev) events[#events + 1] = ev end })
    local reset = fake.clock + 2
    fake:push(token_response()):push{ status = 429, headers = {
      ["x-ratelimit-limit"] = "1000", ["x-ratelimit-remaining"] = "0",
      ["x-ratelimit-reset"] = tostring(reset), ["x-ratelimit-type"] = "rest:post:files:search" },
      body = '{"statusCode":429,"error":"Too Many Requests","message":"Retry after later"}' }
    fake:push(ok_json('{"hits":[],"total":0}'))
    local r = assert(c:search_page{ query = "x" })
    assert.are.equal(0, r.total)
    local waits = limit_events(events, "429")
    assert.are.equal(1, #waits)
    assert.is_near(2.1, waits[1].delay, 1e-6) -- until the reset, plus slack for whole seconds
    assert.are.equal(reset, waits[1].reset_at)
    assert.are.equal("rest:post:files:search", waits[1].ratelimit_type)
  end)

  -- regression: a whole-second reset that has just passed made the client back off
  -- in sub-second steps until it ran out of waits and failed in mode "wait"
  it("waits about a second on a 429 whose reset has just passed", function()
    local fake = fake_mod.new()
    local events = {}
    local c = client(fake, { on_event = function(ev) events[#events + 1] = ev end })
    local stale = { status = 429, headers = { ["x-global-ratelimit-limit"] = "6",
      ["x-global-ratelimit-remaining"] = "0", ["x-global-ratelimit-reset"] = tostring(fake.clock - 0.5) },
      body = '{"statusCode":429,"error":"Too Many Requests"}' }
    fake:push(token_response())
    for _ = 1, 3 do fake:push(stale) end
    fake:push(ok_json("{}"))
    assert.is_table(c:stat("/x"))
    local waits = limit_events(events, "429")
    assert.are.equal(3, #waits)
    for _, ev in ipairs(waits) do assert.are.equal(1, ev.delay) end
  end)

  -- regression: without reset headers every wait restarted at the first backoff (0-0.25 s)
  it("backs off at least a second per 429 that names no reset, and fails after max waits", function()
    local fake = fake_mod.new()
    local events = {}
    local c = client(fake, { on_event = function(ev) events[#events + 1] = ev end })
    fake:push(token_response())
    for _ = 1, 12 do fake:push{ status = 429, body = '{"statusCode":429}' } end
    local r, err = c:stat("/x")
    assert.is_nil(r)
    assert.are.equal("rate_limited", err.kind)
    assert.is_nil(err.reset_at)
    local waits = limit_events(events, "429")
    assert.are.equal(10, #waits) -- core.defaults.max_rate_waits
    for _, ev in ipairs(waits) do
      assert.is_true(ev.delay >= 1)
      assert.is_nil(ev.reset_at)
    end
    assert.are.equal(12, #fake.requests) -- token + 11 attempts, then it gave up
  end)

  it("takes the reset from Retry-After, then from the body, when no rate header names one", function()
    local fake = fake_mod.new()
    local events = {}
    local c = client(fake, { on_event = function(ev) events[#events + 1] = ev end })
    fake:push(token_response()):push{ status = 429, headers = { ["retry-after"] = "7" }, body = "" }
    -- the body's reset: 20 s after the first wait (7 s + 0.1 s of slack) ends
    fake:push{ status = 429, body = ('{"statusCode":429,"reset":%.1f}'):format(fake.clock + 7.1 + 20) }
    fake:push(ok_json("{}"))
    assert.is_table(c:stat("/x"))
    local waits = limit_events(events, "429")
    assert.are.equal(2, #waits)
    assert.is_near(7.1, waits[1].delay, 1e-6)
    assert.is_near(20.1, waits[2].delay, 1e-6)
    assert.are.equal("rest:global", waits[2].ratelimit_type)
  end)

  -- regression: the retry deadline cut short a wait that max_wait allows
  it("waits out a reset beyond the retry deadline when max_wait allows it", function()
    local fake = fake_mod.new()
    local events = {}
    local c = client(fake, { retry = { deadline = 60 }, on_event = function(ev) events[#events + 1] = ev end })
    fake:push(token_response()):push{ status = 429, headers = { ["x-global-ratelimit-limit"] = "10",
      ["x-global-ratelimit-remaining"] = "0", ["x-global-ratelimit-reset"] = tostring(fake.clock + 1800) },
      body = "{}" }
    fake:push(token_response()):push(ok_json("{}")) -- the 20 min token expired while waiting
    assert.is_table(c:stat("/x"))
    local waits = limit_events(events, "429")
    assert.are.equal(1, #waits)
    assert.is_near(1800.1, waits[1].delay, 1e-6)
    assert.are.equal(2, count(fake, "/v2/token"))
  end)

  it("fails fast on 429 in mode fail with reset_at and ratelimit_type", function()
    local fake = fake_mod.new()
    local c = client(fake, { rate_limit = "fail" })
    local reset = fake.clock + 2
    fake:push(token_response()):push{ status = 429, headers = {
      ["x-ratelimit-limit"] = "1000", ["x-ratelimit-remaining"] = "0",
      ["x-ratelimit-reset"] = tostring(reset), ["x-ratelimit-type"] = "rest:post:files:search" },
      body = '{"statusCode":429,"error":"Too Many Requests"}' }
    local r, err = c:search_page{ query = "x" }
    assert.is_nil(r)
    assert.are.equal("rate_limited", err.kind)
    assert.are.equal(reset, err.reset_at)
    assert.are.equal("rest:post:files:search", err.ratelimit_type)
    assert.are.equal(429, err.status)
    -- and the next call fails before sending anything: the bucket is known to be empty
    local n = #fake.requests
    local r2, err2 = c:search_page{ query = "y" }
    assert.is_nil(r2)
    assert.are.equal("rate_limited", err2.kind)
    assert.are.equal(n, #fake.requests)
  end)

  it("parses both rate-limit header families into budgets", function()
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push(token_response()):push(ok_json('{"id":"j"}', {
      ["x-ratelimit-limit"] = "25", ["x-ratelimit-remaining"] = "24", ["x-ratelimit-reset"] = "1700003600",
      ["x-ratelimit-type"] = "rest:post:files:batch:delete",
      ["x-global-ratelimit-limit"] = "7000", ["x-global-ratelimit-remaining"] = "6990",
      ["x-global-ratelimit-reset"] = "1700003000" }))
    c:batch_delete{ "/a.jpg" }
    assert.are.same({ type = "rest:post:files:batch:delete", limit = 25, remaining = 24, reset = 1700003600 },
      c:budget("rest:post:files:batch:delete"))
    assert.are.equal(6990, c:budget("rest:global").remaining)
  end)

  it("paces requests when a budget nears zero instead of running into 429", function()
    local fake = fake_mod.new()
    local events = {}
    local c = client(fake, { on_event = function(ev) events[#events + 1] = ev end })
    fake:push(token_response()):push(ok_json("{}", { ["x-ratelimit-limit"] = "100",
      ["x-ratelimit-remaining"] = "5", ["x-ratelimit-reset"] = tostring(fake.clock + 60),
      ["x-ratelimit-type"] = "rest:global" }))
    c:stat("/a")
    fake:push(ok_json("{}"))
    c:stat("/b")
    local paced = limit_events(events, "pacing")
    assert.are.equal(1, #paced)
    assert.is_near(10, paced[1].delay, 1e-6) -- 60 s over the 5 left (+1), capped at pacing.max_delay
  end)

  it("seeds budgets from limits()", function()
    local fake = fake_mod.new()
    local c = client(fake, { rate_limit = "fail" })
    fake:push(token_response()):push(ok_json(('{"rest:global":{"count":7000,"limit":7000,"remaining":0,"reset":%d}}'):format(fake.clock + 100)))
    assert.is_table(c:limits())
    local r, err = c:stat("/x")
    assert.is_nil(r)
    assert.are.equal("rate_limited", err.kind)
    assert.are.equal("rest:global", err.ratelimit_type)
  end)

  it("returns kind protocol for truncated JSON, without crashing", function()
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push(token_response()):push(ok_json('{"mtime":"2020-07-17T1'))
    local r, err = c:stat("/x")
    assert.is_nil(r)
    assert.are.equal("protocol", err.kind)
    assert.matches("invalid JSON", tostring(err))
  end)

  it("gives streamed transfers no total timeout and conversions a long one", function()
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push(token_response()):push(ok_json("{}")):push{ status = 200, body = "" }:push(ok_json('{"filename":"/a.spin"}'))
    c:stat("/x")
    assert.are.equal(30, fake.requests[2].timeout)
    c:upload("/big.bin", { data = "x" })
    assert.are.equal(30, fake.requests[3].timeout) -- bytes from memory: normal limit
    c:video_to_spin("/v.mp4")
    assert.are.equal(600, fake.requests[4].timeout)
    assert.are.equal(600, fake.requests[4].stall_timeout)
    local path = os.tmpname()
    local f = assert(io.open(path, "wb")); f:write("abc"); f:close()
    fake:push{ status = 200, body = "" }
    assert.is_true(c:upload("/f.bin", path))
    os.remove(path)
    assert.are.equal(0, fake.requests[5].timeout)
    assert.are.equal(30, fake.requests[5].stall_timeout)
    assert.are.same({ path = path, offset = 0, length = 3 }, fake.requests[5].body_file)
  end)

  it("percent-encodes query values (spaces, unicode, #, ?, %, +, slash)", function()
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push(token_response()):push(ok_json("{}"))
    c:stat("/dir name/ünï #1?&%+.jpg")
    assert.are.equal("https://api.example.test/v2/files/stat?filename=%2Fdir%20name%2F%C3%BCn%C3%AF%20%231%3F%26%25%2B.jpg",
      fake.requests[2].url)
  end)

  it("sends copy operands in the query string and a POST with no body", function()
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push(token_response()):push{ status = 200, body = "" }
    assert.is_true(c:copy("/a b.jpg", "/c.jpg"))
    assert.are.equal("POST", fake.requests[2].method)
    assert.are.equal("https://api.example.test/v2/files/copy?from=%2Fa%20b.jpg&to=%2Fc.jpg", fake.requests[2].url)
    assert.is_nil(fake.requests[2].body)
  end)

  it("checks JSON bodies before sending and names the field", function()
    local c = client(fake_mod.new())
    assert.has_error(function() c:call("postFilesMeta", { filename = "/a", title = 5 }) end,
      "sirv:call('postFilesMeta'): body.title must be a string (got number)")
    assert.has_error(function() c:call("postFilesMeta", { filename = "/a", colour = "x" }) end)
    assert.has_error(function() c:call("postFilesSearch", { size = "ten" }) end)
    assert.has_error(function() c:call("getFilesStat", {}) end, "sirv:call('getFilesStat'): parameter 'filename' is required")
    assert.has_error(function() c:call("nope") end, "sirv:call: unknown operation 'nope'")
    assert.has_error(function() c:call("postFilesFetch", { { url = "http://x", filename = "relative" } }) end)
    assert.has_error(function() c:call("postFilesSpin2Homedepot360", { filename = "/a.spin", omsid = "1" }) end,
      "sirv:call('postFilesSpin2Homedepot360'): body.omsid is shorter than 9 bytes")
    assert.has_error(function() c:stat(42) end, "sirv:stat: argument #1 must be a path string (got number)")
  end)

  it("encodes an empty tag list as an array and array bodies as arrays", function()
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push(token_response()):push{ status = 200, body = "" }:push(ok_json('[{"success":true}]'))
    c:call("postFilesMetaTags", { filename = "/a", tags = {} })
    assert.are.equal('{"tags":[]}', fake.requests[2].body)
    local r = assert(c:fetch("http://127.0.0.1/x.jpg", "/x.jpg"))
    assert.is_true(r[1].success)
    assert.are.equal("[", fake.requests[3].body:sub(1, 1))
  end)

  it("returns kind protocol when a page call succeeds with an empty body", function()
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push(token_response()):push{ status = 200, body = "" }:push{ status = 200, body = "" }
    local p, err = c:readdir_page("/")
    assert.is_nil(p); assert.are.equal("protocol", err.kind)
    local ok, ierr = pcall(function() for _ in c:search{ query = "x" } do end end)
    assert.is_false(ok); assert.are.equal("protocol", ierr.kind)
  end)

  it("keeps a plain-text error body on one line", function()
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push(token_response()):push{ status = 404, body = "not\nfound\r\n  here" }
    local _, err = c:stat("/x")
    assert.are.equal("not found here", err.message)
  end)

  it("learns an operation's own bucket from X-RateLimit-Type and paces against it", function()
    local fake = fake_mod.new()
    local c = client(fake, { rate_limit = "fail" })
    fake:push(token_response()):push(ok_json("{}", { ["x-ratelimit-limit"] = "10", ["x-ratelimit-remaining"] = "0",
      ["x-ratelimit-reset"] = tostring(fake.clock + 100), ["x-ratelimit-type"] = "rest:get:files:meta",
      ["x-global-ratelimit-limit"] = "7000", ["x-global-ratelimit-remaining"] = "6000",
      ["x-global-ratelimit-reset"] = tostring(fake.clock + 100) }))
    assert.is_table(c:meta("/a.jpg"))
    local r, err = c:meta("/a.jpg") -- known empty: fails before sending
    assert.is_nil(r)
    assert.are.equal("rest:get:files:meta", err.ratelimit_type)
    assert.are.equal(2, #fake.requests)
  end)

  it("does not upload a truncated copy when the source handle fails to read", function()
    local fake = fake_mod.new()
    local c = client(fake)
    local bad = assert(io.open("/", "rb")) -- a directory: opens, but read fails with EISDIR
    local r, err = c:upload("/x.bin", bad)
    bad:close()
    assert.is_nil(r)
    assert.are.equal("local", err.kind)
    assert.matches("cannot read the source handle", err.message)
    assert.are.equal(0, #fake.requests)
  end)

  it("surfaces mkdir's RiakFsError body as kind conflict", function()
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push(token_response()):push(ok_json('{"name":"RiakFsError","message":"Path already exists: /a"}'))
    local r, err = c:mkdir("/a")
    assert.is_nil(r)
    assert.are.equal("conflict", err.kind)
    assert.matches("already exists", err.message)
  end)

  it("adds absolute paths to readdir entries and search hits", function()
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push(token_response()):push(ok_json('{"contents":[{"filename":"a.jpg"},{"filename":"sub","isDirectory":true}],"continuation":"c1"}'))
    local page = assert(c:readdir_page("/dir"))
    assert.are.equal("/dir/a.jpg", page.contents[1].path)
    assert.are.equal("c1", page.continuation)
    fake:push(ok_json('{"hits":[{"_source":{"filename":"/x/y.png"}}],"total":1}'))
    assert.are.equal("/x/y.png", assert(c:search_page{ query = "y" }).hits[1].path)
  end)

  it("never puts the secret or the token in events or errors", function()
    local fake = fake_mod.new()
    local seen = {}
    local c = client(fake, { on_event = function(ev)
      for k, v in pairs(ev) do seen[#seen + 1] = tostring(k) .. "=" .. tostring(v) end
    end })
    fake:push(token_response()):push{ status = 500, body = "token " .. TOKEN .. " leaked" }
    fake:push{ status = 404, body = '{"message":"secret ' .. SECRET .. ' here"}' }
    local _, err = c:stat("/x")
    seen[#seen + 1] = tostring(err)
    -- walk nested tables too: err.details holds the decoded error body (regression)
    local function walk(v, depth)
      if type(v) == "table" and depth < 10 then
        for k, x in pairs(v) do seen[#seen + 1] = tostring(k); walk(x, depth + 1) end
      else
        seen[#seen + 1] = tostring(v)
      end
    end
    walk(err, 0)
    assert.is_table(err.details)
    local all = table.concat(seen, "\n")
    assert.is_nil(all:find(SECRET, 1, true))
    assert.is_nil(all:find(TOKEN, 1, true))
    assert.is_nil(tostring(c):find(SECRET, 1, true))
  end)

  it("error objects print as one readable line", function()
    local e = errors.new{ kind = "not_found", status = 404, message = "No such file: /x",
      service = "sirv", operation = "getFilesStat" }
    assert.are.equal("sirv getFilesStat: not_found (404): No such file: /x", tostring(e))
    assert.is_nil(tostring(e):find("\n"))
    -- regression: a fractional reset_at crashed tostring under Lua 5.4 (%d)
    local r = errors.new{ kind = "rate_limited", reset_at = 1700000000.25, service = "sirv" }
    assert.are.equal("sirv: rate_limited: rate_limited [reset at 1700000001]", tostring(r))
  end)

  it("raises on misuse of new()", function()
    assert.has_error(function() sirv_mod.new{ client_id = "x", client_secret = "y", rate_limit = "maybe", transport = fake_mod.new() } end)
    assert.has_error(function() sirv_mod.new{ client_id = "x", client_secret = "y", base_url = "ftp://x", transport = fake_mod.new() } end)
    assert.has_error(function() sirv_mod.new("nope") end)
  end)
end)
