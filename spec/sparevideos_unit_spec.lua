-- The SpareVideos client over the fake transport (virtual time, no network):
-- the public signer against the PHP vectors, per-attempt signing, skew, error
-- mapping, redaction, bad input, pagination, readiness polling, thumbnails and
-- the shape of upload requests.
local sv_mod = require "mediacdn.sparevideos"
local fake_mod = require "mediacdn.transport.fake"
local errors = require "mediacdn.errors"
local mediacdn = require "mediacdn"
local core = require "mediacdn.core"

local PUB, PRIV = "demo_public_key_1", "demo_private_key_0123456789abcdef"
local BASE = "https://devs.example.test/api/v1"
local T0 = 1700000000 -- the fake transport's clock

local function list(t) return setmetatable(t, mediacdn.array_mt) end

local function env(tbl)
  return { status = 200, headers = { ["content-type"] = "application/json" }, body = mediacdn.json_encode(tbl) }
end

local function fail(code, message)
  return env{ status = "error", error = code, message = message or "x" }
end

local function client(fake, opts)
  opts = opts or {}
  opts.public_key, opts.private_key, opts.base_url, opts.transport = PUB, PRIV, BASE, fake
  opts.retry = opts.retry or { attempts = 4, base = 0.01, cap = 0.05 }
  return sv_mod.new(opts)
end

-- the token of a request URL (percent-decoded) and its decoded payload
-- the byte count of a request's body_parts (strings and file ranges)
local function fake_body_size(req)
  local n = 0
  for _, part in ipairs(req.body_parts) do n = n + (type(part) == "string" and #part or part.length) end
  return n
end

local function token_of(req)
  local t = req.url:match("[?&]token=([^&]+)")
  if not t then return nil end
  t = t:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
  local p = t:match("^(.*)%.")
  local raw = core.base64_decode(p)
  return t, mediacdn.json_decode(raw), raw
end

describe("sparevideos.sign (PHP vectors of sparevideos-api.md §2.6/§2.7)", function()
  local function base(method, action, code)
    local f = { { "algo", "sha256" }, { "method", method }, { "action", action } }
    if code then f[#f + 1] = { "file_code", code } end
    f[#f + 1] = { "public_key", PUB }
    return f
  end
  local function add(f, ...)
    for _, kv in ipairs{ ... } do f[#f + 1] = kv end
    return f
  end
  local CODE = "1488633857-11PYNC"
  local vectors = {
    { add(base("upload", "initiate"), { "expires", 1700000000 }),
      "eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoidXBsb2FkIiwiYWN0aW9uIjoiaW5pdGlhdGUiLCJwdWJsaWNfa2V5IjoiZGVtb19wdWJsaWNfa2V5XzEiLCJleHBpcmVzIjoxNzAwMDAwMDAwfQ.6be6fe40130c61175aef3343bac3b73480dde90d1d48f1e077b8ba5688e6c75d" },
    { add(base("file", "get", CODE), { "expires", 1700000000 }),
      "eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoiZmlsZSIsImFjdGlvbiI6ImdldCIsImZpbGVfY29kZSI6IjE0ODg2MzM4NTctMTFQWU5DIiwicHVibGljX2tleSI6ImRlbW9fcHVibGljX2tleV8xIiwiZXhwaXJlcyI6MTcwMDAwMDAwMH0.e78e5d35d7d25d120d203883f371812adec40ff99c2f71396c991ee133381fcf" },
    { add(base("upload", "convert", CODE), { "expires", 1700000000 }),
      "eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoidXBsb2FkIiwiYWN0aW9uIjoiY29udmVydCIsImZpbGVfY29kZSI6IjE0ODg2MzM4NTctMTFQWU5DIiwicHVibGljX2tleSI6ImRlbW9fcHVibGljX2tleV8xIiwiZXhwaXJlcyI6MTcwMDAwMDAwMH0.88954b5cdf4a91b9191bb6d79a5fe90cb7dcda00af076091cf5026ae50bb612f" },
    { add(base("upload", "convert", CODE), { "expires", 1700000000 }, { "convert_sd_only", true }, { "convert_mp4_only", false }),
      "eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoidXBsb2FkIiwiYWN0aW9uIjoiY29udmVydCIsImZpbGVfY29kZSI6IjE0ODg2MzM4NTctMTFQWU5DIiwicHVibGljX2tleSI6ImRlbW9fcHVibGljX2tleV8xIiwiZXhwaXJlcyI6MTcwMDAwMDAwMCwiY29udmVydF9zZF9vbmx5Ijp0cnVlLCJjb252ZXJ0X21wNF9vbmx5IjpmYWxzZX0.bdf545937aaa7f0f3001dd72ba692219a7ef22d2e5134f5fdfa38a4fc8fca3ba" },
    { add(base("file", "update", CODE), { "thumbnail", "1488633857-11PYNC_720_02.jpg" }, { "expires", 1700000000 }),
      "eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoiZmlsZSIsImFjdGlvbiI6InVwZGF0ZSIsImZpbGVfY29kZSI6IjE0ODg2MzM4NTctMTFQWU5DIiwicHVibGljX2tleSI6ImRlbW9fcHVibGljX2tleV8xIiwidGh1bWJuYWlsIjoiMTQ4ODYzMzg1Ny0xMVBZTkNfNzIwXzAyLmpwZyIsImV4cGlyZXMiOjE3MDAwMDAwMDB9.6b7c5ca0e726bc1a27f7726fde9aa94bfd292cb6191d11ec4223ce12ade89f30" },
    { add(base("files", "get"), { "expires", 1700000000 }),
      "eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoiZmlsZXMiLCJhY3Rpb24iOiJnZXQiLCJwdWJsaWNfa2V5IjoiZGVtb19wdWJsaWNfa2V5XzEiLCJleHBpcmVzIjoxNzAwMDAwMDAwfQ.c0abfb22eb45659d36e976b8a6cf1e892ea4155aac33ee691036da7891010f43" },
    { add(base("files", "delete"), { "expires", 1700000000 }, { "codes", list{ "1484846059-40SVCC", "1484906398-ll6ssC" } }),
      "eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoiZmlsZXMiLCJhY3Rpb24iOiJkZWxldGUiLCJwdWJsaWNfa2V5IjoiZGVtb19wdWJsaWNfa2V5XzEiLCJleHBpcmVzIjoxNzAwMDAwMDAwLCJjb2RlcyI6WyIxNDg0ODQ2MDU5LTQwU1ZDQyIsIjE0ODQ5MDYzOTgtbGw2c3NDIl19.a05da10be5b76533a4e3724915ab24b0498a6f252f7f7f11fc83cdecf26eb9bc" },
    { add(base("file", "update", CODE), { "thumbnail", "a/b\195\169>~?" }, { "expires", 1700000000 }),
      "eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoiZmlsZSIsImFjdGlvbiI6InVwZGF0ZSIsImZpbGVfY29kZSI6IjE0ODg2MzM4NTctMTFQWU5DIiwicHVibGljX2tleSI6ImRlbW9fcHVibGljX2tleV8xIiwidGh1bWJuYWlsIjoiYVwvYlx1MDBlOT5+PyIsImV4cGlyZXMiOjE3MDAwMDAwMDB9.8394bf37b8321e3c59a722265138d7fe954ab7ee8d971de476d386b2e80d592d" },
  }

  it("reproduces every vector", function()
    for i, v in ipairs(vectors) do
      assert.are.equal(v[2], sv_mod.sign(v[1], PRIV), "vector " .. i)
    end
  end)

  it("writes PHP's JSON: insertion order, \\/, \\u00e9, surrogate pairs, bare integers", function()
    assert.are.equal('{"algo":"sha256","method":"file","action":"update","file_code":"1488633857-11PYNC",'
      .. '"public_key":"demo_public_key_1","thumbnail":"a\\/b\\u00e9>~?","expires":1700000000}', sv_mod.payload(vectors[8][1]))
    assert.are.equal('{"z":"\\ud83d\\ude00","a":["x"],"n":-3,"b":false}',
      sv_mod.payload{ { "z", "\240\159\152\128" }, { "a", list{ "x" } }, { "n", -3 }, { "b", false } })
  end)

  it("refuses a quoted expires (vector V8's pitfall) and other bad input, naming the field", function()
    local function refused(fields, key, pattern)
      local ok, err = pcall(sv_mod.sign, fields, key or PRIV)
      assert.is_false(ok)
      assert.matches(pattern, tostring(err))
      return err
    end
    refused(add(base("upload", "initiate"), { "expires", "1700000000" }), nil, "fields%[5%] %('expires'%): expires must be a non%-negative integer")
    refused(add(base("upload", "initiate"), { "expires", -1 }), nil, "expires must be a non%-negative integer")
    refused(add(base("upload", "initiate"), { "expires", 1.5 }), nil, "fields%[5%] %('expires'%): the value must be an integer")
    refused(add(base("file", "get", "bad\255code"), { "expires", 1 }), nil, "fields%[4%] %('file_code'%): the value has invalid UTF%-8 at byte 4")
    refused(add(base("file", "get", "nul\0code"), { "expires", 1 }), nil, "fields%[4%] %('file_code'%): the value has NUL byte at byte 4")
    refused({ { "codes", {} } }, nil, "unsupported value type table %(a list of strings must be marked with mediacdn.array_mt%)")
    refused({ { "codes", list{} } }, nil, "a list must not be empty")
    refused({ { "f", print } }, nil, "unsupported value type function")
    refused({ { "algo", "sha512" } }, nil, "only algo \"sha256\"")
    refused({ { "a", "b" } }, "", "argument #2 %(private_key%)")
    local err = refused({ { "public_key", "s3cret\255" } }, nil, "invalid UTF%-8")
    assert.is_nil(tostring(err):find("s3cret", 1, true)) -- values are never echoed
  end)
end)

describe("sparevideos client (fake transport)", function()
  it("signs each call with a fresh, percent-encoded token in the plugin's key order", function()
    local fake = fake_mod.new()
    local sv = client(fake)
    fake:push(env{ status = "success", server = "https://up.example.test/fileservers/upload", ref = "r1", token = "u.1" })
    assert.is_true(sv:verify_credentials())
    local req = fake.requests[1]
    assert.are.equal("GET", req.method)
    local tok, payload, raw = token_of(req)
    assert.are.equal(BASE .. "/upload/initiate?token=" .. core.url_escape(tok), req.url)
    assert.are.equal(('{"algo":"sha256","method":"upload","action":"initiate","public_key":"%s","expires":%d}')
      :format(PUB, T0 + 3600), raw)
    assert.are.equal(sv_mod.sign({ { "algo", "sha256" }, { "method", "upload" }, { "action", "initiate" },
      { "public_key", PUB }, { "expires", T0 + 3600 } }, PRIV), tok)
    assert.are.equal("sha256", payload.algo)
  end)

  it("sends update and delete as POSTs with _method and the signed fields", function()
    local fake = fake_mod.new()
    local sv = client(fake)
    fake:push(env{ status = "success" }):push(env{ status = "success" })
    assert.is_true(sv:update_file("C1", { thumbnail = "C1_720_02.jpg" }))
    assert.is_true(sv:delete{ "C1", "C2" })
    local r1, r2 = fake.requests[1], fake.requests[2]
    assert.are.equal("POST", r1.method)
    assert.are.equal("_method=PUT", r1.body)
    assert.are.equal("application/x-www-form-urlencoded", r1.headers["Content-Type"])
    local _, _, raw1 = token_of(r1)
    assert.matches('"file_code":"C1","public_key":"demo_public_key_1","thumbnail":"C1_720_02.jpg","expires":'
      .. (T0 + 30) .. "}$", raw1)
    assert.are.equal("_method=DELETE", r2.body)
    local _, _, raw2 = token_of(r2)
    assert.matches('"expires":' .. (T0 + 120) .. ',"codes":%["C1","C2"%]}$', raw2)
  end)

  it("retries 503s, resets and code 500 with a new signature on every attempt", function()
    local fake = fake_mod.new()
    local events = {}
    local sv = client(fake, { on_event = function(ev) events[#events + 1] = ev end })
    fake:push{ status = 503, body = "busy" }
      :push{ terr = { kind = "transient", message = "Connection reset by peer", code = 56 } }
      :push(fail(500, "Internal Error"))
      :push(env{ status = "success", extension = "mp4", playtime = 3, thumbnail = " https://t/x.jpg ", streams = {} })
    local info = assert(sv:file("C1"))
    assert.are.equal("https://t/x.jpg", info.thumbnail)  -- stray spaces trimmed
    assert.are.equal(4, #fake.requests)
    local sigs = {}
    for _, r in ipairs(fake.requests) do
      local tok = token_of(r)
      assert.is_nil(sigs[tok], "a token was sent twice")
      sigs[tok] = true
    end
    local retries = 0
    for _, ev in ipairs(events) do if ev.type == "retry" then retries = retries + 1 end end
    assert.are.equal(3, retries)
  end)

  it("maps the documented codes to kinds, keeps the code and retries only what may succeed", function()
    local cases = {
      { 401, "auth", false, 2 }, { 403, "forbidden", false, 1 }, { 404, "not_found", false, 1 },
      { 500, "transient", true, 4 }, { 501, "transient", true, 4 }, { 1000, "client", false, 1 },
      { 10002, "client", false, 1 }, { 10004, "transient", true, 4 }, { 10005, "transient", true, 4 },
      { 10006, "forbidden", false, 1 }, { 100030, "conflict", false, 1 }, { 100031, "conflict", false, 1 },
      { 77777, "client", false, 1 },
    }
    for _, c in ipairs(cases) do
      local fake = fake_mod.new()
      local sv = client(fake)
      fake:route(function() return fail(c[1], "label " .. c[1]) end)
      local res, err = sv:file("C1")
      assert.is_nil(res)
      assert.is_true(errors.is(err))
      assert.are.equal(c[2], err.kind, "code " .. c[1])
      assert.are.equal(c[1], err.code)
      assert.are.equal(c[3], err.retryable, "retryable of " .. c[1])
      assert.are.equal(c[4], #fake.requests, "attempts for " .. c[1])
      assert.are.equal("sparevideos", err.service)
      assert.are.equal("file/get", err.operation)
      assert.matches("label " .. c[1], tostring(err))
    end
  end)

  it("treats 100031 on convert as success and sends the options as booleans", function()
    local fake = fake_mod.new()
    local sv = client(fake)
    fake:push(env{ status = "success", code = "C1" }):push(fail(100031, "File already converted"))
    local code, already = sv:convert("C1", { sd_only = true })
    assert.are.equal("C1", code)
    assert.is_false(already)
    code, already = sv:convert("C1")
    assert.are.equal("C1", code)
    assert.is_true(already)
    local _, _, raw = token_of(fake.requests[1])
    assert.matches('"expires":%d+,"convert_sd_only":true}$', raw)
    local _, _, raw2 = token_of(fake.requests[2])
    assert.is_nil(raw2:find("convert_", 1, true)) -- false options are left out
  end)

  it("re-signs once after a 401 with the clock skew read from Date", function()
    local fake = fake_mod.new()
    local sv = client(fake)
    local ahead = T0 + 7200
    local date = os.date("!%a, %d %b %Y %H:%M:%S GMT", ahead)
    fake:route(function(req)
      local _, payload = token_of(req)
      local h = { date = date, ["content-type"] = "application/json" }
      if payload.expires < ahead then
        return { status = 200, headers = h, body = '{"status":"error","error":401,"message":"Not authorized: token expired"}' }
      end
      return { status = 200, headers = h, body = '{"status":"success","currentPage":1,"lastPage":1,"nextPageUrl":null,"codes":["A"]}' }
    end)
    local page = assert(sv:files_page())
    assert.are.same({ "A" }, page.codes)
    assert.are.equal(2, #fake.requests)
    local _, p2 = token_of(fake.requests[2])
    assert.is_true(p2.expires >= ahead + 60 and p2.expires <= ahead + 62)
    -- a second 401 is final: an auth error with its code
    fake:route(function() return fail(401, "Not authorized: invalid signature") end)
    local res, err = sv:files_page()
    assert.is_nil(res)
    assert.are.equal("auth", err.kind)
    assert.are.equal(401, err.code)
  end)

  it("never shows the private key or a token (whole or part) in errors and events", function()
    local fake = fake_mod.new()
    local seen = {}
    local sv = client(fake, { on_event = function(ev)
      for _, v in pairs(ev) do if type(v) == "string" then seen[#seen + 1] = v end end
    end })
    -- a server that echoes the token it got (whole, and its parts) in its message
    fake:route(function(req)
      local tok = token_of(req)
      local p, h = tok:match("^(.*)%.(%x+)$")
      return fail(403, ("bad token %s / payload %s / sig %s / key %s"):format(tok, p, h, PRIV))
    end)
    local _, err = sv:file("C1")
    seen[#seen + 1] = tostring(err)
    seen[#seen + 1] = err.message
    local tok = token_of(fake.requests[1])
    local p, h = tok:match("^(.*)%.(%x+)$")
    for _, s in ipairs(seen) do
      for _, secret in ipairs{ PRIV, tok, p, h } do
        assert.is_nil(s:find(secret, 1, true), "a secret leaked: " .. s)
      end
    end
    assert.matches("REDACTED", err.message)
  end)

  it("refuses bad input before sending anything, naming the argument", function()
    local fake = fake_mod.new()
    local sv = client(fake)
    local function raises(pattern, fn, ...)
      local ok, err = pcall(fn, sv, ...)
      assert.is_false(ok)
      assert.matches(pattern, tostring(err))
    end
    -- a file code is 1-128 visible ASCII characters (mediacdn.args.code)
    raises("sparevideos:file: argument #1 %(code%) must be a file code", sv.file, "a\255")
    raises("sparevideos:file: argument #1 %(code%) must be a file code", sv.file, "a\0b")
    raises("sparevideos:file: argument #1 %(code%) must be a file code", sv.file, "")
    raises("sparevideos:delete: argument #1 %(codes%) must not be empty", sv.delete, {})
    raises("sparevideos:delete: argument #1 %(codes%): item 2 must be a file code", sv.delete, { "a", 5 })
    raises("sparevideos:delete: argument #1 %(codes%): item 2 must be a file code", sv.delete, { "a", "b\255" })
    raises("sparevideos:update_file: argument #2 %(thumbnail%): the value has invalid UTF%-8", sv.update_file, "C", { thumbnail = "\255" })
    raises("sparevideos:convert: option 'sd_only' must be a boolean", sv.convert, "C", { sd_only = "yes" })
    raises("sparevideos:upload: argument #1 %(path_or_url%)", sv.upload, 42)
    raises("sparevideos:wait_ready: option 'timeout' must be a positive number", sv.wait_ready, "C", { timeout = -1 })
    assert.are.equal(0, #fake.requests)
    local res, err = sv:upload("/no/such/file.mp4")
    assert.is_nil(res)
    assert.are.equal("local", err.kind)
    assert.matches("argument #1 %(path_or_url%)", err.message)
    assert.are.equal(0, #fake.requests)
    for _, bad in ipairs{ { file = -1 }, { file = 1.5 }, { nope = 3 } } do
      local ok, e = pcall(sv_mod.new, { public_key = PUB, private_key = PRIV, transport = fake, ttl = bad })
      assert.is_false(ok)
      assert.matches("ttl%.", tostring(e))
    end
    local ok, e = pcall(sv_mod.new, { public_key = PUB, transport = fake, private_key = false })
    assert.is_false(ok)
    assert.matches("private_key is required", tostring(e))
  end)

  it("pages through nextPageUrl, re-signing each page, and raises on a repeated page", function()
    local fake = fake_mod.new()
    local sv = client(fake)
    local pages = {
      ["/me/files"] = { currentPage = 1, lastPage = 3, nextPageUrl = BASE .. "/me/files?page=2&token=stale", codes = { "a", "b" } },
      ["/me/files?page=2"] = { currentPage = 2, lastPage = 3, nextPageUrl = BASE .. "/me/files?page=3", codes = { "c" } },
      ["/me/files?page=3"] = { currentPage = 3, lastPage = 3, nextPageUrl = mediacdn.null, codes = { "d" } },
    }
    fake:route(function(req, tr)
      tr.clock = tr.clock + 1.5 -- each page takes a while: its token must follow the clock
      local path = req.url:sub(#BASE + 1):gsub("[?&]token=[^&]*$", "")
      local doc = pages[path]
      if not doc then return fail(404) end
      local d = { status = "success" }
      for k, v in pairs(doc) do d[k] = v end
      return env(d)
    end)
    local got = {}
    for f in sv:files() do got[#got + 1] = f.code .. "@" .. f.page end
    assert.are.same({ "a@1", "b@1", "c@2", "d@3" }, got)
    assert.are.equal(3, #fake.requests)
    assert.is_nil(fake.requests[2].url:find("stale", 1, true))   -- the stale token was dropped
    local _, p1 = token_of(fake.requests[1])
    local _, p3 = token_of(fake.requests[3])
    assert.are.equal(T0 + 60, p1.expires)
    assert.are.equal(T0 + 3 + 60, p3.expires)   -- signed when page 3 was asked for
    -- a server whose next page is the same page again
    pages["/me/files?page=2"].nextPageUrl = BASE .. "/me/files?page=2"
    pages["/me/files?page=2"].currentPage = 2
    pages["/me/files?page=3"] = nil
    local ok, err = pcall(function() for _ in sv:files() do end end)
    assert.is_false(ok)
    assert.is_true(errors.is(err))
    assert.are.equal("protocol", err.kind)
    assert.matches("came twice", err.message)
  end)

  it("never sends a token to a nextPageUrl on another host", function()
    local fake = fake_mod.new()
    local sv = client(fake)
    fake:push(env{ status = "success", currentPage = 1, lastPage = 2, nextPageUrl = "https://evil.example/me/files?page=2", codes = { "a" } })
    local ok, err = pcall(function() for _ in sv:files() do end end)
    assert.is_false(ok)
    assert.matches("another host", err.message)
    assert.are.equal(1, #fake.requests)
  end)

  it("wait_ready polls with growing delays through 100030 and empty streams", function()
    local fake = fake_mod.new()
    local events = {}
    local sv = client(fake, { on_event = function(ev) if ev.type == "poll" then events[#events + 1] = ev end end })
    fake:push(fail(100030, "File not converted"))
      :push(env{ status = "success", extension = "mp4", playtime = 1, thumbnail = "t", streams = list{} })
      :push(env{ status = "success", extension = "mp4", playtime = 1, thumbnail = "t",
        streams = { mp4 = { { file = "https://s/360.mp4", label = "360" } } } })
    local info = assert(sv:wait_ready("C1", { interval = 1, factor = 2 }))
    assert.are.equal("https://s/360.mp4", info.streams.mp4[1].file)
    assert.are.equal(2, #events)
    assert.is_true(events[2].delay > events[1].delay)
    -- a deadline ends it with a timeout error
    fake:route(function() return fail(100030) end)
    local res, err = sv:wait_ready("C1", { timeout = 10, interval = 3 })
    assert.is_nil(res)
    assert.are.equal("timeout", err.kind)
    assert.are.equal(100030, err.code)
  end)

  it("lists thumbnails highest first, marks the selected one and builds URLs", function()
    local fake = fake_mod.new()
    local sv = client(fake)
    fake:push{ status = 200, body = '{"360.01":"C_360_01.jpg","720.02":"C_720_02.jpg","720.03.selected":"C_720_03.jpg"}' }
    local th = assert(sv:thumbnails("C"))
    assert.are.equal("https://devs.example.test/thumbnail/C/json/list", fake.requests[1].url)
    assert.are.same({ "720.03", "720.02", "360.01" }, { th[1].key, th[2].key, th[3].key })
    assert.is_true(th[1].selected)
    assert.is_false(th[2].selected)
    assert.are.equal("C_720_03.jpg", th[1].name)
    assert.are.equal("https://devs.example.test/thumbnail/C/exact/C_720_03.jpg", th[1].url)
    assert.are.equal("https://devs.example.test/thumbnail/C/300/default.jpg", sv:thumbnail_url("C", { size = 300 }))
    assert.are.equal("https://devs.example.test/thumbnail/C/300/C_720_02.jpg", sv:thumbnail_url("C", { size = 300, name = "C_720_02.jpg" }))
    assert.matches("/C/240/default%.jpg%?t=%d+$", sv:thumbnail_url("C", { size = 240, cache_bust = true }))
    local real = sv_mod.new{ public_key = PUB, private_key = PRIV, transport = fake }
    assert.are.equal("https://static.sparevideos.com/thumbnail/C/exact/x.jpg", real:thumbnail_url("C", { name = "x.jpg" }))
    fake:push{ status = 404, body = "Not found" }
    local res, err = sv:thumbnails("C")
    assert.is_nil(res)
    assert.are.equal("not_found", err.kind)
  end)

  it("streams a local upload as multipart body parts, initiating afresh for each attempt", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "wb")); f:write(string.rep("v", 1000)); f:close()
    local fake = fake_mod.new()
    local sv = client(fake)
    local n = 0
    fake:route(function(req)
      if req.url:find("/upload/initiate", 1, true) then
        n = n + 1
        return env{ status = "success", server = "https://up.example.test/fileservers/upload", ref = "ref" .. n, token = "up+tok" .. n }
      end
      -- the transport's body hook: a quarter, then half of the body sent
      local total = fake_body_size(req)
      req.on_progress(math.floor(total / 4), 0)
      req.on_progress(math.floor(total / 2), 0)
      if n == 1 then return fail(10001, "Fileserver process error") end
      req.on_progress(total, 0)
      return env{ status = "success", code = "1700000000-ABCDEF" }
    end)
    local progress = {}
    local code = assert(sv:upload(path, { on_progress = function(p) progress[#progress + 1] = p end }))
    os.remove(path)
    assert.are.equal("1700000000-ABCDEF", code)
    -- whole percents of the multipart body, rising only (the retried POST sends
    -- its first half again without a report), 100 once the code came back
    assert.are.same({ 0, 25, 50, 99, 100 }, progress)
    assert.are.equal(4, #fake.requests)        -- initiate, POST (10001), initiate, POST
    local post = fake.requests[4]
    assert.are.equal("https://up.example.test/fileservers/upload?ref=ref2&token=up%2Btok2", post.url)
    local b = post.headers["Content-Type"]:match("^multipart/form%-data; boundary=(.+)$")
    assert.truthy(b)
    assert.are.equal(3, #post.body_parts)
    assert.are.equal("--" .. b .. '\r\nContent-Disposition: form-data; name="file"; filename="' .. path:match("[^/]+$")
      .. '"\r\nContent-Type: application/octet-stream\r\n\r\n', post.body_parts[1])
    assert.are.same({ path = path, offset = 0, length = 1000 }, post.body_parts[2])
    assert.are.equal("\r\n--" .. b .. "--\r\n", post.body_parts[3])
    assert.is_nil(post.body)
  end)

  it("uploads a remote URL and follows progress to 100 after the POST", function()
    local fake = fake_mod.new()
    local sv = client(fake, { poll_interval = 0.5 })
    local polls = 0
    fake:route(function(req)
      if req.url:find("/upload/initiate", 1, true) then
        return env{ status = "success", server = "https://up.example.test/fs/upload?x=1", ref = "R", token = "T" }
      end
      if req.url:find("/progress", 1, true) then
        polls = polls + 1
        assert.are.equal("https://up.example.test/fs/upload/progress?x=1&ref=R", req.url)
        return { status = 200, headers = {}, body = polls < 3 and tostring(polls * 40) .. "\n" or "100" }
      end
      assert.are.equal("remote_file=https%3A%2F%2Fsrc.example%2Fv.mp4&ref=R&token=T", req.body)
      return env{ status = "success", code = "C9" }
    end)
    local seen = {}
    assert.are.equal("C9", sv:upload("https://src.example/v.mp4", { on_progress = function(p) seen[#seen + 1] = p end }))
    assert.are.same({ 40, 80, 100 }, seen)
  end)
end)
