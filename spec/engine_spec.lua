-- The engine contract (mediacdn.engine) over the fake transport, with no
-- service client: per-attempt signing, service verdicts (classify), re-signing
-- after a 401, rate-limit waits decided by the policy core, pass-through of
-- extra intent fields, events with service/time and secrets redacted.
local engine = require "mediacdn.engine"
local core = require "mediacdn.core"
local fake_mod = require "mediacdn.transport.fake"

local SECRET = "private-key-0123456789"

local function ok_json(body, headers)
  return { status = 200, headers = headers or {}, body = body }
end

-- An engine with a signer that stamps the attempt number and a fresh token.
local function make(opts)
  opts = opts or {}
  local fake = fake_mod.new()
  local signed, events = {}, {}
  local cfg = {
    service = "sv", transport = fake,
    policy = core.policy(opts.policy or { attempts = 3, base = 0.5, cap = 1 }),
    sign = function(req, intent, attempt)
      signed[#signed + 1] = attempt
      req.url = intent.url .. "&token=" .. SECRET .. "-" .. attempt
      return true
    end,
    emit = function(ev) events[#events + 1] = ev end,
    secrets = function() return { SECRET } end,
    limits = opts.limits,
    buckets = opts.buckets,
    classify = opts.classify,
    reauth = opts.reauth,
  }
  return engine.new(cfg), fake, signed, events
end

local function intent(extra)
  local i = { operation = "getFile", method = "GET", url = "https://sv.test/api/v1/file?code=x",
    path = "/file", idempotent = true }
  for k, v in pairs(extra or {}) do i[k] = v end
  return i
end

local function of_type(events, t)
  local out = {}
  for _, ev in ipairs(events) do if ev.type == t then out[#out + 1] = ev end end
  return out
end

-- SpareVideos answers errors as HTTP 200 {"status":"error","error":N,"message":...}.
local function sv_classify(res)
  local doc = core.json_decode(res.body or "")
  if type(doc) ~= "table" or doc.status ~= "error" then return nil end
  if doc.error == 10004 then return { kind = "auth", reauth = true, code = 10004, message = doc.message } end
  if doc.error == 20001 then return { kind = "transient", retryable = true, code = 20001, message = doc.message } end
  if doc.error == 20002 then return { kind = "transient", retryable = true, safe = true, code = 20002 } end
  if doc.error == 29999 then return { kind = "rate_limited", reset_at = doc.reset } end
  return { kind = "client", code = doc.error, message = doc.message }
end

describe("mediacdn.engine", function()
  it("signs every attempt afresh and passes extra intent fields through", function()
    local eng, fake, signed = make()
    fake:push{ status = 503, body = "" }:push(ok_json("{}"))
    local progress = function() end
    local res = assert(eng:perform(intent{ on_progress = progress, max_body = 10 }))
    assert.are.equal(200, res.status)
    assert.are.same({ 1, 2 }, signed)
    local url2 = fake.requests[2].url
    assert.are.equal("&token=" .. SECRET .. "-2", url2:sub(-#SECRET - 9))
    assert.are.equal(progress, fake.requests[2].on_progress)
    assert.are.equal(10, fake.requests[2].max_body)
    assert.is_nil(fake.requests[2].operation)
    assert.is_nil(fake.requests[2].idempotent)
    -- limits not given take core.defaults
    assert.are.equal(core.defaults.timeout, fake.requests[1].timeout)
    assert.are.equal(core.defaults.connect_timeout, fake.requests[1].connect_timeout)
    assert.are.equal(core.defaults.stall_timeout, fake.requests[1].stall_timeout)
  end)

  it("returns the signer's error without sending", function()
    local fake = fake_mod.new()
    local eng = engine.new{ service = "sv", transport = fake, policy = core.policy{},
      sign = function() return nil, "no key" end }
    local res, err = eng:perform(intent())
    assert.is_nil(res)
    assert.are.equal("no key", err)
    assert.are.equal(0, #fake.requests)
  end)

  it("re-signs once on a service verdict that asks for it, then fails with its kind", function()
    local reauths = 0
    local eng, fake, signed = make{ classify = sv_classify, reauth = function() reauths = reauths + 1 end }
    local expired = ok_json('{"status":"error","error":10004,"message":"token expired"}')
    fake:push(expired):push(ok_json('{"status":"ok"}'))
    assert(eng:perform(intent()))
    assert.are.same({ 1, 1 }, signed) -- the replay is not a retry
    assert.are.equal(1, reauths)
    fake:push(expired):push(expired)
    local res, err = eng:perform(intent())
    assert.is_nil(res)
    assert.are.equal("auth", err.kind)
    assert.are.equal(10004, err.code)
    assert.are.equal("token expired", err.message)
    assert.are.equal(200, err.status)
    assert.are.equal(4, #fake.requests)
  end)

  it("retries a retryable verdict within the attempt budget, with the policy's backoff", function()
    local eng, fake, _, events = make{ classify = sv_classify }
    local busy = ok_json('{"status":"error","error":20001,"message":"busy"}')
    fake:push(busy):push(busy):push(busy)
    local res, err = eng:perform(intent())
    assert.is_nil(res)
    assert.are.equal("transient", err.kind)
    assert.is_true(err.retryable)
    assert.are.equal(3, #fake.requests) -- policy attempts = 3
    local retries = of_type(events, "retry")
    assert.are.equal(2, #retries)
    for i, ev in ipairs(retries) do
      assert.are.equal(i, ev.attempt)
      assert.is_true(ev.delay >= 0 and ev.delay <= 0.5 * 2 ^ (i - 1))
    end
  end)

  it("does not replay a non-idempotent call on a retryable verdict unless it says safe", function()
    local eng, fake = make{ classify = sv_classify }
    fake:push(ok_json('{"status":"error","error":20001}'))
    local res, err = eng:perform(intent{ idempotent = false, method = "POST" })
    assert.is_nil(res)
    assert.are.equal(1, #fake.requests)
    assert.are.equal(20001, err.code)
    fake:push(ok_json('{"status":"error","error":20002}')):push(ok_json('{"status":"ok"}'))
    assert(eng:perform(intent{ idempotent = false, method = "POST" }))
    assert.are.equal(3, #fake.requests)
  end)

  it("fails at once on a non-retryable verdict", function()
    local eng, fake = make{ classify = sv_classify }
    fake:push(ok_json('{"status":"error","error":30001,"message":"bad code"}'))
    local _, err = eng:perform(intent())
    assert.are.equal("client", err.kind)
    assert.are.equal(30001, err.code)
    assert.is_false(err.retryable)
    assert.are.equal(1, #fake.requests)
  end)

  it("raises when classify returns something that is not a verdict", function()
    local eng, fake = make{ classify = function() return { kind = "weird" } end }
    fake:push(ok_json("{}"))
    assert.has_error(function() eng:perform(intent()) end)
  end)

  it("waits out a rate-limited verdict like a 429, by the reset the policy computes", function()
    local eng, fake, _, events = make{ classify = sv_classify }
    local reset = fake.clock + 30
    fake:push(ok_json(('{"status":"error","error":29999,"reset":%d}'):format(reset))):push(ok_json('{"status":"ok"}'))
    assert(eng:perform(intent()))
    local waits = of_type(events, "rate_limit")
    assert.are.equal(1, #waits)
    assert.are.equal("429", waits[1].reason)
    assert.are.equal(reset, waits[1].reset_at)
    assert.is_near(30.1, waits[1].delay, 1e-6)
  end)

  it("fails fast per call with intent.rate_limit = \"fail\", reporting the bucket and reset", function()
    local eng, fake = make()
    local reset = fake.clock + 100
    fake:push{ status = 429, headers = { ["x-ratelimit-limit"] = "10", ["x-ratelimit-remaining"] = "0",
      ["x-ratelimit-reset"] = tostring(reset), ["x-ratelimit-type"] = "files" }, body = "{}" }
    local _, err = eng:perform(intent{ rate_limit = "fail", bucket = "files" })
    assert.are.equal("rate_limited", err.kind)
    assert.are.equal(reset, err.reset_at)
    assert.are.equal("files", err.ratelimit_type)
    -- the bucket is now known to be empty: the next call fails before sending
    local _, err2 = eng:perform(intent{ rate_limit = "fail", bucket = "files" })
    assert.are.equal("rate_limited", err2.kind)
    assert.are.equal(1, #fake.requests)
  end)

  it("learns an operation's bucket from X-RateLimit-Type into the buckets table", function()
    local buckets = {}
    local eng, fake = make{ buckets = buckets }
    fake:push(ok_json("{}", { ["x-ratelimit-limit"] = "10", ["x-ratelimit-remaining"] = "9",
      ["x-ratelimit-reset"] = tostring(fake.clock + 60), ["x-ratelimit-type"] = "rest:get:file" }))
    assert(eng:perform(intent{ bucket = "rest:global" }))
    assert.are.equal("rest:get:file", buckets.getFile)
  end)

  it("stamps events with service and time and redacts secrets from events and errors", function()
    local eng, fake, _, events = make()
    fake:push{ terr = { kind = "local", message = "cannot open " .. SECRET } }
    local _, err = eng:perform(intent())
    assert.are.equal("local", err.kind)
    assert.is_nil(tostring(err):find(SECRET, 1, true))
    for _, ev in ipairs(events) do
      assert.are.equal("sv", ev.service)
      assert.are.equal(fake.clock, ev.time)
      for _, v in pairs(ev) do
        if type(v) == "string" then assert.is_nil(v:find(SECRET, 1, true)) end
      end
    end
    local e = eng:http_error(intent(), { status = 404, headers = {}, body = '{"message":"no ' .. SECRET .. '"}' },
      "not_found", false)
    assert.are.equal("not_found", e.kind)
    assert.are.equal("sv", e.service)
    assert.are.equal("getFile", e.operation)
    assert.is_nil(e.message:find(SECRET, 1, true))
    assert.is_nil(e.details.message:find(SECRET, 1, true))
  end)

  it("raises on misuse, naming the field", function()
    local fake = fake_mod.new()
    local ok = { service = "s", transport = fake, policy = core.policy{}, sign = function() return true end }
    assert.has_error(function() engine.new() end, "mediacdn.engine.new: argument #1 must be a table")
    for field, msg in pairs{
      service = "field 'service' must be a string",
      transport = "field 'transport' must have request, sleep and now",
      policy = "field 'policy' must be a core.policy",
      sign = "field 'sign' must be a function",
    } do
      local cfg = {}
      for k, v in pairs(ok) do cfg[k] = v end
      cfg[field] = 42
      assert.has_error(function() engine.new(cfg) end, "mediacdn.engine.new: " .. msg)
    end
    local eng = engine.new(ok)
    assert.has_error(function() eng:perform{ method = "GET" } end, "mediacdn.engine.perform: intent.url must be a string")
  end)
end)
