-- Regression specs for what the sanitizers, the fuzz targets (fuzz/) and the
-- audits of issue 18 found, through the public API: a hostile or broken server
-- and absurd caller numbers give a defined result (a budget ignored, a clean
-- error), never undefined behaviour in the C core. Under `make check-asan`
-- the same specs run with UBSan, which reports any conversion out of range.
-- Fake transport, virtual time: no network, no sleeping.
local sirv_mod = require "mediacdn.sirv"
local fake_mod = require "mediacdn.transport.fake"
local mediacdn = require "mediacdn"

local function token_response()
  return { status = 200, headers = { ["content-type"] = "application/json" },
    body = '{"token":"tok-hardening","expiresIn":1200,"scope":["files:read"]}' }
end

local function ok_json(body, headers)
  local h = { ["content-type"] = "application/json" }
  for k, v in pairs(headers or {}) do h[k] = v end
  return { status = 200, headers = h, body = body }
end

local function client(fake, opts)
  opts = opts or {}
  opts.client_id, opts.client_secret = "id-hardening", "secret-hardening"
  opts.base_url, opts.transport = "https://api.example.test", fake
  return sirv_mod.new(opts)
end

-- a budget the client holds is either unknown or made of sane numbers
local function assert_sane_budget(b)
  if b == nil then return end
  for _, k in ipairs({ "limit", "remaining" }) do
    local v = b[k]
    assert.is_true(v == nil or (v == v and v >= -1 and v <= 1e15), k .. " = " .. tostring(v))
  end
  assert.is_true(b.reset == nil or (b.reset == b.reset and b.reset > -math.huge and b.reset < math.huge))
end

describe("hardening: rate-limit numbers a server sends", function()
  it("ignores X-RateLimit-Limit: 1e66 and X-RateLimit-Remaining: 1e35 (issue 18)", function()
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push(token_response())
      :push(ok_json('{"size":1}', { ["X-RateLimit-Limit"] = "1e66", ["X-RateLimit-Remaining"] = "1e35",
        ["X-RateLimit-Reset"] = tostring(fake.clock + 3600), ["X-RateLimit-Type"] = "rest:global" }))
      :push(ok_json('{"size":2}'))
    assert.are.equal(1, c:stat("/a.jpg").size)
    assert_sane_budget(c:budget("rest:global"))
    assert.are.equal(2, c:stat("/b.jpg").size)
    assert.are.equal(0, fake.slept)                    -- nothing paced or blocked on it
  end)

  it("ignores non-finite and negative counts and resets", function()
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push(token_response())
      :push(ok_json('{"size":1}', { ["X-RateLimit-Limit"] = "nan", ["X-RateLimit-Remaining"] = "-inf",
        ["X-RateLimit-Reset"] = "inf", ["X-Global-RateLimit-Limit"] = "1e400",
        ["X-Global-RateLimit-Remaining"] = "-5", ["X-Global-RateLimit-Reset"] = "nan" }))
      :push(ok_json('{"size":2}'))
    assert.are.equal(1, c:stat("/a.jpg").size)
    assert_sane_budget(c:budget("rest:global"))
    assert.are.equal(2, c:stat("/b.jpg").size)
    assert.are.equal(0, fake.slept)
  end)

  it("seeds no absurd budget from a getAccountLimits body", function()
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push(token_response())
      :push(ok_json('{"rest:global":{"count":0,"limit":1e66,"remaining":1e400,"reset":1e300},'
        .. '"rest:post:files:search":{"limit":-3,"remaining":1e35,"reset":-1e300}}'))
      :push(ok_json('{"size":2}'))
    assert.is_table(c:limits())
    assert_sane_budget(c:budget("rest:global"))
    assert_sane_budget(c:budget("rest:post:files:search"))
    assert.are.equal(2, c:stat("/b.jpg").size)
    assert.are.equal(0, fake.slept)
  end)
end)

describe("hardening: JSON", function()
  it("refuses a string holding an escaped NUL instead of cutting it short", function()
    local v, err = mediacdn.json_decode('["a\\u0000b"]')
    assert.is_nil(v)
    assert.matches("NUL", err)
    v, err = mediacdn.json_decode('{"k\\u0000":1}')
    assert.is_nil(v)
    assert.matches("NUL", err)
    -- an escaped backslash before "u0000" is plain text
    local ok = assert(mediacdn.json_decode('["a\\\\u0000b"]'))
    assert.are.equal("a\\u0000b", ok[1])
  end)

  it("takes a huge max_bytes as no cap and refuses a bad one by name", function()
    assert.are.equal(1, mediacdn.json_decode("[1]", 1e300)[1])
    assert.are.equal(1, mediacdn.json_decode("[1]", math.huge)[1])
    assert.has_error(function() mediacdn.json_decode("[1]", -1) end)
    assert.has_error(function() mediacdn.json_decode("[1]", 0 / 0) end)
  end)
end)

describe("hardening: paths a caller gives", function()
  local function raises_unsent(fn, pattern)
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push(token_response()):push(ok_json("{}"))
    local ok, err = pcall(fn, c)
    assert.is_false(ok)
    assert.matches(pattern, tostring(err))
    assert.are.equal(0, #fake.requests)            -- raised before anything was sent
  end

  it("refuses a relative path or a NUL byte in a query path before sending (issue 18)", function()
    raises_unsent(function(c) return c:stat("rel/path") end, "'filename' must be an absolute path")
    raises_unsent(function(c) return c:stat("/a\0b") end, "no NUL byte")
    raises_unsent(function(c) return c:readdir_page("dir") end, "'dirname' must be an absolute path")
    raises_unsent(function(c) return c:copy("/a.jpg", "b.jpg") end, "'to' must be an absolute path")
    raises_unsent(function(c) return c:rename("a.jpg", "/b.jpg") end, "'from' must be an absolute path")
    raises_unsent(function(c) return c:call("getFilesStat", { filename = 7 }) end, "absolute path")
  end)

  it("refuses a NUL byte or a relative path in a body path before sending", function()
    raises_unsent(function(c) return c:call("postFilesJwt", { filename = "/a\0.jpg", key = "k", expiresIn = 60 }) end,
      "must not hold a NUL byte")
    raises_unsent(function(c) return c:call("postFilesJwt", { filename = "a.jpg", key = "k", expiresIn = 60 }) end,
      "must be an absolute path")
  end)

  it("still sends absolute paths and dates named from/to", function()
    local fake = fake_mod.new()
    local c = client(fake)
    fake:push(token_response()):push(ok_json('{"size":1}')):push(ok_json("[]"))
    assert.are.equal(1, c:stat("/dir name/\195\188.jpg").size)
    assert.is_table(c:call("getStatsHttp", { from = "2024-01-01", to = "2024-01-02" }))
  end)
end)

describe("hardening: absurd caller numbers", function()
  it("refuses retry attempts beyond any use, naming the option", function()
    for _, n in ipairs({ 1e300, math.huge, 2 ^ 40 }) do
      local ok, err = pcall(client, fake_mod.new(), { retry = { attempts = n } })
      assert.is_false(ok)
      assert.matches("attempts", tostring(err))
    end
  end)
end)
