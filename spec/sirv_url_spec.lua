-- Sirv image URLs (mediacdn.sirv.url) and protected JWT URLs: the hand-checked
-- case table, order independence, escaping bugs other SDKs had, strict mode,
-- bad input, the chaining builder, srcset, locally signed tokens checked with an
-- independent HS256 (the openssl CLI) and with the core's HMAC, the client
-- methods against the sandbox and a fake transport, and url.build inside nginx
-- handlers (the rig), including examples/openresty/sirv_images.lua as shipped.
package.path = "spec/?.lua;" .. package.path

local url = require "mediacdn.sirv.url"
local core = require "mediacdn.core"
local mediacdn = require "mediacdn"
local sirv_mod = require "mediacdn.sirv"
local fake_mod = require "mediacdn.transport.fake"
local util = require "helpers.util"
local T = require "fixtures.rig.imgurl_table"

local B = T.BASE
local DOC_KEY = "cIxWUYfCjRHAy1BpcoIVNI5TivXszVPq" -- the documented postFilesJwt example
local DOC_TOKEN = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhcmdzIjp7InciOjMwMCwiaCI6MzAwfSwiaWF0IjoxNjg3ODYwNjE5"
  .. "LCJleHAiOjE2ODc4NjA5MTksImF1ZCI6Ii9SRVNUIEFQSSBFeGFtcGxlcy9hdXJvcmEuanBnIn0.-6wTZUlW-8kp43lU8_MxSuSlx8MHf8XYtS8lSXRjtU0"

-- a copy of t (deep) whose keys were inserted in the order perm(keys) gives,
-- after junk keys were inserted and removed, so the hash part is laid out
-- differently from the original's
local function reorder(t, perm)
  if type(t) ~= "table" then return t end
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  keys = perm(keys)
  local c = {}
  for i = 1, 37 do c["junk" .. i] = i end
  for _, k in ipairs(keys) do c[k] = reorder(t[k], perm) end
  for i = 1, 37 do c["junk" .. i] = nil end
  return c
end

local function reversed(keys)
  local r = {}
  for i = #keys, 1, -1 do r[#r + 1] = keys[i] end
  return r
end

local function shuffled(seed)
  return function(keys)
    local r, x = {}, seed
    for i, k in ipairs(keys) do r[i] = k end
    for i = #r, 2, -1 do
      x = (x * 1103515245 + 12345) % 2147483648
      local j = x % i + 1
      r[i], r[j] = r[j], r[i]
    end
    return r
  end
end

-- the three parts of a token, decoded
local function decode(token)
  local h, p, s = token:match("^([%w%-_]+)%.([%w%-_]+)%.([%w%-_]+)$")
  assert(h, "not a JWS compact token: " .. tostring(token))
  local hj = assert(core.base64_decode(h))
  local pj = assert(core.base64_decode(p))
  return hj, pj, s, h .. "." .. p
end

-- HS256 with the openssl CLI: an implementation independent of mediacdn's
local function openssl_hs256(key, input)
  local tmp = util.tmpname()
  util.write_file(tmp, input)
  local out, rc = util.capture(("openssl dgst -sha256 -hmac %s -binary < %s | base64 -w0 | tr '+/' '-_' | tr -d '='")
    :format(util.shell_quote(key), util.shell_quote(tmp)))
  os.remove(tmp)
  assert(rc == 0, out)
  return (out:gsub("%s+$", ""))
end

-- the decoded claims of a token
local function claims_of(token)
  local _, p = decode(token)
  return (mediacdn.json_decode(p))
end

local function query_of(u)
  return u:match("%?(.*)$")
end

describe("mediacdn.sirv.url.build", function()
  it("has a hand-checked table of at least 60 cases", function()
    assert.is_true(#T.cases >= 60, "only " .. #T.cases .. " cases")
  end)

  for _, c in ipairs(T.cases) do
    it("builds: " .. c[1], function()
      assert.are.equal(c[4], url.build(c.base or B, c[2], c[3]))
    end)
  end

  it("gives byte-identical URLs for the same options in any table order", function()
    for _, c in ipairs(T.cases) do
      if c[3] then
        local want = url.build(c.base or B, c[2], c[3])
        assert.are.equal(want, url.build(c.base or B, c[2], reorder(c[3], reversed)), c[1])
        for seed = 1, 5 do
          assert.are.equal(want, url.build(c.base or B, c[2], reorder(c[3], shuffled(seed))), c[1])
        end
      end
    end
  end)

  it("gives the same URL for nested tables and dotted names", function()
    local a = url.build(B, "/a.jpg", { crop = { type = "face", pad = { width = 4 } }, text = { "Hi", color = "fff" } })
    local b = url.build(B, "/a.jpg", { ["crop.type"] = "face", ["crop.pad.width"] = 4, text = "Hi", ["text.color"] = "fff" })
    assert.are.equal(a, b)
  end)

  it("escapes once: what comes in is text, never decoded or re-encoded (Cloudinary's %2520 bug)", function()
    local u = url.build(B, "/a.jpg", { text = "100%" })
    assert.are.equal(B .. "/a.jpg?text=100%25", u)
    -- an URL-decoder gives back exactly the input
    assert.are.equal("100%", util.url_unescape(query_of(u):match("^text=(.*)$")))
    -- feeding the output back in as text encodes it again: nothing is guessed
    assert.are.equal(B .. "/a.jpg?text=100%2525", url.build(B, "/a.jpg", { text = "100%25" }))
    -- a pre-encoded path is only taken as it is when marked
    assert.are.equal(B .. "/a%20b.jpg", url.build(B, "/a%20b.jpg", { path_encoded = true }))
    assert.are.equal(B .. "/a%2520b.jpg", url.build(B, "/a%20b.jpg"))
  end)

  it("escapes UTF-8, never Latin-1 (Cloudinary's %F8 regression): Latin-1 bytes are refused", function()
    assert.are.equal(B .. "/%C3%B8.jpg?text=%C3%B8", url.build(B, "/\xC3\xB8.jpg", { text = "\xC3\xB8" }))
    local ok, err = pcall(url.build, B, "/\xF8.jpg")
    assert.is_false(ok)
    assert.matches("path is not valid UTF%-8", err)
    ok, err = pcall(url.build, B, "/a.jpg", { text = "caf\xE9" })
    assert.is_false(ok)
    assert.matches("option 'text' is not valid UTF%-8", err)
    ok, err = pcall(url.build, B, "/%F8.jpg", { path_encoded = true })
    assert.is_false(ok)
    assert.matches("UTF%-8", err)
  end)

  it("never lets a value break out of its query item", function()
    local u = url.build(B, "/a.jpg", { text = "x&w=9999#frag", profile = "p?q=1" })
    assert.are.equal(B .. "/a.jpg?profile=p%3Fq%3D1&text=x%26w%3D9999%23frag", u)
    local items = {}
    for item in query_of(u):gmatch("[^&]+") do items[#items + 1] = item end
    assert.are.equal(2, #items)
    assert.is_nil(u:find("#", 1, true))
  end)

  describe("strict mode (the default)", function()
    local function fails(options, pattern, path)
      local ok, err = pcall(url.build, B, path or "/a.jpg", options)
      assert.is_false(ok, "expected an error for " .. pattern)
      assert.matches("^mediacdn%.sirv%.url%.build: ", err)
      assert.matches(pattern, err)
    end

    it("raises on unknown options, naming them", function()
      fails({ wdith = 300 }, "unknown option 'wdith'")
      fails({ crop = { tpye = "face" } }, "unknown option 'crop.tpye'")
    end)

    it("raises on wrong value types and ranges, naming the option", function()
      fails({ w = -3 }, "option 'w' must be a size")
      fails({ h = 0 / 0 }, "option 'h' must be a finite number")
      fails({ w = math.huge }, "option 'w' must be a finite number %(got inf%)")
      fails({ s = "12px" }, "option 's' must be a size")
      fails({ q = 101 }, "option 'q' must be between 0 and 100")
      fails({ quality = -1 }, "option 'quality' must be between 0 and 100")
      fails({ rotate = "200" }, "option 'rotate' must be between %-180 and 180")
      fails({ crop = { confidence = 2 } }, "option 'crop.confidence' must be between 0 and 1")
      fails({ text = { color = "red" } }, "option 'text.color' must be a hex colour")
      fails({ canvas = { color = "#12345" } }, "option 'canvas.color' must be a hex colour")
      fails({ format = "bmp" }, "option 'format' must be one of optimal, original, jpg, png, webp, avif, gif")
      fails({ crop = { type = "faces" } }, "option 'crop.type' must be one of face, poi, trim")
      fails({ crop = { aspectratio = "16/9" } }, "option 'crop.aspectratio' must be an aspect ratio")
      fails({ watermark = "logo.png" }, "option 'watermark' must be an absolute path")
      fails({ text = true }, "option 'text' must be text or a number")
      fails({ w = print }, "option 'w' must be a string, number, boolean or table %(got function%)")
      fails({ profile = "" }, "option 'profile' must not be empty")
      fails({ text = "a\0b" }, "option 'text' contains a NUL byte")
    end)

    it("raises when two names set the same option", function()
      fails({ w = 1, scale = { width = 2 } }, "options '[%w.]+' and '[%w.]+' both set 'w'")
      fails({ q = 80, quality = 80 }, "both set 'q'")
    end)

    it("raises on malformed names and keys", function()
      fails({ ["a b"] = 1 }, "option name 'a b' is not valid")
      fails({ [1] = "x" }, "options must be a table of name = value")
      fails({ text = { [2] = "x" } }, "option 'text' has a number key")
      fails({ [string.rep("a", 70)] = 1 }, "too long")
    end)

    it("strict = false passes unknown options and words through, but still checks known values", function()
      assert.are.equal(B .. "/a.jpg?newopt=true&w=1", url.build(B, "/a.jpg", { strict = false, newopt = true, w = 1 }))
      local ok, err = pcall(url.build, B, "/a.jpg", { strict = false, w = -1 })
      assert.is_false(ok)
      assert.matches("option 'w' must be a size", err)
      ok, err = pcall(url.build, B, "/a.jpg", { strict = false, text = { color = "blue" } })
      assert.is_false(ok)
      assert.matches("option 'text.color' must be a hex colour", err)
      ok, err = pcall(url.build, B, "/a.jpg", { strict = "no" })
      assert.is_false(ok)
      assert.matches("option 'strict' must be a boolean", err)
    end)
  end)

  it("raises on bad arguments, naming them", function()
    local function fails(pattern, ...)
      local ok, err = pcall(url.build, ...)
      assert.is_false(ok)
      assert.matches(pattern, err)
    end
    fails("argument #2 %(path%) must be a string %(got nil%)", B, nil)
    fails("argument #2 %(path%) must be a string %(got number%)", B, 5)
    fails("argument #1 %(base%) must be a URL string", nil, "/a.jpg")
    fails("base must be an http%(s%) URL", "demo.sirv.com", "/a.jpg")
    fails("base must be a URL without spaces, query or fragment", "https://demo.sirv.com/?x", "/a.jpg")
    fails("path must not contain NUL bytes", B, "/a\0.jpg")
    fails("path must not be empty", B, "")
    fails("argument #3 %(options%) must be a table of Sirv options %(got string%)", B, "/a.jpg", "w=300")
    fails("path has a '%%' that is not followed by two hex digits", B, "/a%zz.jpg", { path_encoded = true })
  end)

  it("url.params and url.path show what is sent", function()
    assert.are.same({ w = 640, cx = 10, ["text.color"] = "ff0000", q = "80" },
      url.params({ scale = { width = 640 }, crop = { x = 10 }, text = { color = "#FF0000" }, q = "80" }))
    assert.are.equal("/a%20b/%C3%BC.jpg", url.path("a b/\xC3\xBC.jpg"))
    assert.are.equal("https://acme.sirv.com", url.alias_base("acme"))
    assert.has_error(function() url.alias_base("a.b") end)
  end)
end)

describe("mediacdn.sirv.url.image (chaining builder)", function()
  it("builds the issue's example", function()
    local u = url.image(B, "/p/shoe.jpg"):resize{ w = 300 }:crop{ type = "face" }:format("webp"):quality(80):tostring()
    assert.are.equal(B .. "/p/shoe.jpg?crop.type=face&format=webp&q=80&w=300", u)
  end)

  it("is immutable: a base builder can be reused", function()
    local card = url.image(B, "/p/a.jpg"):resize(400, 300, "fill"):format("webp")
    local small = card:resize{ w = 200 }
    assert.are.equal(B .. "/p/a.jpg?format=webp&h=300&scale.option=fill&w=400", card:tostring())
    assert.are.equal(B .. "/p/a.jpg?format=webp&h=300&scale.option=fill&w=200", small:url())
    assert.are.equal(B .. "/p/b.jpg?format=webp&h=300&scale.option=fill&w=400", tostring(card:path("/p/b.jpg")))
  end)

  it("gives the same URL as url.build with the same options", function()
    local chained = url.image(B, "/a b.jpg")
      :crop{ type = "poi", aspectratio = "1:1", x = 5, w = 100 }
      :canvas{ width = 500, color = "#EEEEEE", border = { width = 2, color = "000" } }
      :text("50% off \xC2\xA9", { color = "#FFF", size = "30%", font = { family = "Open Sans" } })
      :watermark("/logo.png", { position = "southeast", opacity = 60 })
      :adjust{ brightness = 10, contrast = -5 }
      :colortone("sepia"):colorize{ color = "ff0000", opacity = 10 }:vignette{ value = 30 }
      :frame{ style = "solid", width = 4 }:rotate(90):flip():flop():grayscale():blur(2):sharpen(3)
      :thumbnail(128):format("webp", "jpg"):quality(70):profile("Cards 2024"):option("dl", true)
    local direct = url.build(B, "/a b.jpg", {
      crop = { type = "poi", aspectratio = "1:1", x = 5, width = 100 },
      canvas = { width = 500, color = "#EEEEEE", border = { width = 2, color = "000" } },
      text = { "50% off \xC2\xA9", color = "#FFF", size = "30%", font = { family = "Open Sans" } },
      watermark = { "/logo.png", position = "southeast", opacity = 60 },
      brightness = 10, contrast = -5, colortone = "sepia", colorize = { color = "ff0000", opacity = 10 },
      vignette = { value = 30 }, frame = { style = "solid", width = 4 }, rotate = 90, flip = true, flop = true,
      grayscale = true, blur = 2, sharpen = 3, thumbnail = 128, format = "webp", ["webp-fallback"] = "jpg",
      q = 70, profile = "Cards 2024", dl = true,
    })
    assert.are.equal(direct, chained:tostring())
    assert.matches("profile=Cards%%202024", direct)
  end)

  it("raises errors naming the option, and honours strict(false)", function()
    local img = url.image(B, "/a.jpg"):option("wdith", 1)
    local ok, err = pcall(img.tostring, img)
    assert.is_false(ok)
    assert.matches("unknown option 'wdith'", err)
    assert.are.equal(B .. "/a.jpg?wdith=1", img:strict(false):tostring())
    ok, err = pcall(function() return url.image(B, "/a.jpg"):resize{ width = 1, depth = 2 } end)
    assert.is_false(ok)
    assert.matches("unknown key 'depth'", err)
    ok, err = pcall(function() return url.image(B, "/a.jpg"):crop("face") end)
    assert.is_false(ok)
    assert.matches("Image:crop: argument #1 must be a table", err)
  end)

  it("makes a srcset by widths and by pixel density", function()
    assert.are.equal(B .. "/a.jpg?format=webp&w=320 320w, " .. B .. "/a.jpg?format=webp&w=640 640w",
      url.image(B, "/a.jpg"):format("webp"):srcset{ widths = { 320, 640 } })
    assert.are.equal(B .. "/a.jpg?h=100&w=200 1x, " .. B .. "/a.jpg?h=200&w=400 2x, " .. B .. "/a.jpg?h=150&w=300 1.5x",
      url.srcset(B, "/a.jpg", { w = 200, h = 100 }, { dpr = { 1, 2, 1.5 } }))
    assert.are.equal(B .. "/a.jpg?w=320 320w", url.srcset(B, "/a.jpg", nil, { widths = { 320.0 } }))
    assert.has_error(function() url.srcset(B, "/a.jpg", {}, { dpr = { 2 } }) end)
    assert.has_error(function() url.srcset(B, "/a.jpg", {}, { widths = { 0 } }) end)
  end)
end)

describe("mediacdn.sirv.url.signed (local HS256)", function()
  local PATH = "/REST API Examples/aurora.jpg"

  it("reproduces the documented postFilesJwt token's claims and verifies independently", function()
    local u, tok = url.signed("https://demo-jwt.sirv.com", PATH, {
      key = DOC_KEY, expires_in = 300, now = 1687860619, secure_params = { w = 300, h = 300 } })
    assert.are.equal("https://demo-jwt.sirv.com/REST%20API%20Examples/aurora.jpg?jwt=" .. tok, u)
    local h, p, sig, input = decode(tok)
    local dh, dp = decode(DOC_TOKEN)
    assert.are.equal(dh, h)                                    -- {"alg":"HS256","typ":"JWT"}, byte for byte
    assert.are.same(mediacdn.json_decode(dp), mediacdn.json_decode(p)) -- the same claims as Sirv's own
    assert.are.equal('{"args":{"h":300,"w":300},"iat":1687860619,"exp":1687860919,"aud":"/REST API Examples/aurora.jpg"}', p)
    assert.are.equal(openssl_hs256(DOC_KEY, input), sig)
    assert.are.equal(core.base64_encode(core.hmac_sha256(DOC_KEY, input), true), sig)
    -- the verifier itself accepts Sirv's token and rejects a tampered one
    local _, _, dsig, dinput = decode(DOC_TOKEN)
    assert.are.equal(dsig, openssl_hs256(DOC_KEY, dinput))
    assert.are_not.equal(dsig, openssl_hs256(DOC_KEY .. "x", dinput))
  end)

  it("carries iat, exp = iat + expires_in, aud and args; insecure params stay outside the token", function()
    local now = os.time()
    local u, tok = url.signed(B, "/private/a b.jpg", { key = "k3y", expires_in = 90.7,
      secure_params = { w = 300, crop = { type = "face" } }, insecure_params = { h = 200, format = "webp" } })
    local _, p, sig, input = decode(tok)
    local claims = mediacdn.json_decode(p)
    assert.is_true(claims.iat >= now and claims.iat <= now + 5)
    assert.are.equal(claims.iat + 90, claims.exp)
    assert.are.equal("/private/a b.jpg", claims.aud)
    assert.are.same({ w = 300, ["crop.type"] = "face" }, claims.args)
    assert.are.equal(B .. "/private/a%20b.jpg?jwt=" .. tok .. "&format=webp&h=200", u)
    assert.are.equal(openssl_hs256("k3y", input), sig)
    assert.is_nil(p:find("webp", 1, true))
  end)

  it("leaves args out without secure params; takes a folder audience; is deterministic", function()
    local a = select(2, url.signed(B, "/f/a.jpg", { key = "k", expires_in = 60, now = 1000, aud = "/f/" }))
    local b = select(2, url.signed(B, "/f/a.jpg", { key = "k", expires_in = 60, now = 1000, aud = "/f/" }))
    assert.are.equal(a, b)
    local _, p = decode(a)
    assert.are.equal('{"iat":1000,"exp":1060,"aud":"/f/"}', p)
    -- the same secure options in another table order give the same token
    local o1 = { w = 1, h = 2, text = { "x", color = "fff" } }
    local t1 = select(2, url.signed(B, "/a.jpg", { key = "k", expires_in = 60, now = 5, secure_params = o1 }))
    local t2 = select(2, url.signed(B, "/a.jpg", { key = "k", expires_in = 60, now = 5,
      secure_params = reorder(o1, reversed) }))
    assert.are.equal(t1, t2)
  end)

  it("decodes an encoded path for the audience", function()
    local u, tok = url.signed(B, "/a%20b.jpg", { key = "k", expires_in = 60, path_encoded = true })
    assert.are.equal("/a b.jpg", claims_of(tok).aud)
    assert.are.equal(B .. "/a%20b.jpg?jwt=" .. tok, u)
  end)

  it("raises on misuse, and never puts the key in a message", function()
    local key = "sup3r-s3cret-key"
    local function fails(opts, pattern)
      local ok, err = pcall(url.signed, B, "/a.jpg", opts)
      assert.is_false(ok)
      assert.matches(pattern, err)
      assert.is_nil(tostring(err):find(key, 1, true))
    end
    fails({ key = "", expires_in = 60 }, "opts%.key must be a non%-empty string")
    fails({ expires_in = 60 }, "opts%.key must be a non%-empty string")
    fails({ key = key }, "opts%.expires_in must be a number of seconds >= 1")
    fails({ key = key, expires_in = 0 }, "opts%.expires_in")
    fails({ key = key, expires_in = 0 / 0 }, "opts%.expires_in")
    fails({ key = key, expires_in = 60, secure_params = "w=1" }, "opts%.secure_params must be a table")
    fails({ key = key, expires_in = 60, secure_params = { w = -1 } }, "secure_params: option 'w' must be a size")
    fails({ key = key, expires_in = 60, insecure_params = { bad = 1 } }, "insecure_params: unknown option 'bad'")
    fails({ key = key, expires_in = 60, secure_params = { w = 1 }, insecure_params = { w = 2 } },
      "option 'w' is in both secure_params and insecure_params")
    fails({ key = key, expires_in = 60, aud = "relative" }, "aud must be an absolute")
    fails({ key = key, expires_in = 60, now = 0 / 0 }, "opts%.now must be a number")
    fails({ key = key, expires_in = 1e300 }, "expires_in is too large")
    assert.has_error(function() url.signed(B, nil, { key = key, expires_in = 1 }) end)
    assert.has_error(function() url.signed(B, "/a.jpg") end)
  end)
end)

describe("sirv:url and sirv:signed_url (client methods)", function()
  local function client(opts, fake)
    opts.client_id, opts.client_secret = "id", "secret"
    opts.base_url = "https://api.example.test"
    opts.transport = fake or fake_mod.new()
    return sirv_mod.new(opts)
  end

  it("builds on https://ALIAS.sirv.com or cdn_base, with no I/O", function()
    local fake = fake_mod.new()
    local c = client({ alias = "acme" }, fake)
    assert.are.equal("https://acme.sirv.com/a%20b.jpg?w=300", c:url("/a b.jpg", { w = 300 }))
    assert.are.equal("https://acme.sirv.com/a.jpg?format=webp", c:image("/a.jpg"):format("webp"):tostring())
    local d = client({ alias = "acme", cdn_base = "https://img.example.com/" })
    assert.are.equal("https://img.example.com/a.jpg", d:url("a.jpg"))
    assert.are.equal(0, #fake.requests)
    local ok, err = pcall(client({}).url, client({}), "/a.jpg")
    assert.is_false(ok)
    assert.matches("sirv:url: the client has no image base", err)
    ok, err = pcall(c.url, c, "/a.jpg", { w = -1 })
    assert.is_false(ok)
    assert.matches("sirv:url: option 'w' must be a size", err)
    assert.has_error(function() client{ alias = "not an alias" } end)
    assert.has_error(function() client{ cdn_base = "img.example.com" } end)
    assert.has_error(function() client{ jwt_key = "" } end)
  end)

  it("signs locally with the client's jwt_key (no request) and hides the key", function()
    local fake = fake_mod.new()
    local c = client({ alias = "acme", jwt_key = "client-key" }, fake)
    local u, tok = c:signed_url("/p/a.jpg", { expires_in = 60, now = 100, secure_params = { w = 10 } })
    assert.are.equal("https://acme.sirv.com/p/a.jpg?jwt=" .. tok, u)
    local _, _, sig, input = decode(tok)
    assert.are.equal(openssl_hs256("client-key", input), sig)
    assert.are.equal(0, #fake.requests)
    assert.is_nil(tostring(c):find("client-key", 1, true))
    for k, v in pairs(c) do
      assert.is_false(v == "client-key", "the key is stored in field " .. tostring(k))
    end
  end)

  it("goes through postFilesJwt without a client key, and re-encodes Sirv's raw-space URL", function()
    local fake = fake_mod.new()
    local c = client({ alias = "demo-jwt" }, fake)
    fake:push{ status = 200, headers = { ["content-type"] = "application/json" },
      body = '{"token":"tok","expiresIn":1200}' }
    fake:push{ status = 200, headers = { ["content-type"] = "application/json" },
      body = '{"url":"https://demo-jwt.sirv.com/REST API Examples/aurora.jpg?jwt=' .. DOC_TOKEN .. '"}' }
    local u, tok = c:signed_url("/REST API Examples/aurora.jpg",
      { key = DOC_KEY, expires_in = 300, secure_params = { scale = { width = 300 }, h = 300 } })
    assert.are.equal("https://demo-jwt.sirv.com/REST%20API%20Examples/aurora.jpg?jwt=" .. DOC_TOKEN, u)
    assert.are.equal(DOC_TOKEN, tok)
    local req = fake.requests[2]
    assert.matches("/v2/files/jwt$", req.url)
    assert.are.same({ filename = "/REST API Examples/aurora.jpg", key = DOC_KEY, expiresIn = 300, alias = "demo-jwt",
      secureParams = { w = 300, h = 300 } }, mediacdn.json_decode(req.body))
  end)

  it("keeps the key out of a failed postFilesJwt's error", function()
    local fake = fake_mod.new()
    local key = "k-very-secret-991"
    local c = client({ retry = { attempts = 1 } }, fake)
    fake:push{ status = 200, headers = {}, body = '{"token":"tok","expiresIn":1200}' }
    fake:push{ status = 400, headers = { ["content-type"] = "application/json" },
      body = '{"statusCode":400,"error":"Bad Request","message":"bad key ' .. key .. '"}' }
    local u, err = c:signed_url("/a.jpg", { key = key, expires_in = 60 })
    assert.is_nil(u)
    assert.are.equal("client", err.kind)
    assert.is_nil(tostring(err):find(key, 1, true))
    assert.is_nil(mediacdn.json_encode(err.details or {}):find(key, 1, true))
  end)

  it("raises on misuse", function()
    local c = client({ alias = "acme" })
    assert.has_error(function() c:signed_url("/a.jpg", { expires_in = 60 }) end)        -- no key anywhere
    assert.has_error(function() c:signed_url(nil, { key = "k", expires_in = 60 }) end)
    assert.has_error(function() c:signed_url("/a.jpg", { key = "k", expires_in = 60, via = "mail" }) end)
    assert.has_error(function() c:signed_url("/a.jpg", { key = "k", via = "api" }) end)   -- no expires_in
    assert.has_error(function() c:signed_url("/a.jpg", { key = "k", expires_in = 60, aud = "/", via = "api" }) end)
  end)
end)

describe("sirv:signed_url against the sandbox", function()
  local sandbox = require "helpers.sandbox"
  local sb, api, loc
  local DATA = string.rep("jpeg-bytes ", 300)
  local PATH = "/private/red shoe.jpg"

  setup(function()
    sb = sandbox.start{}
    api = sirv_mod.new{ base_url = sb.url, client_id = "sandbox-client-id", client_secret = "sandbox-client-secret" }
    loc = sirv_mod.new{ base_url = sb.url, client_id = "sandbox-client-id", client_secret = "sandbox-client-secret",
      cdn_base = sb.url .. "/cdn", jwt_key = "folder-key" }
    assert(api:upload(PATH, { data = DATA }))
  end)

  teardown(function() if sb then sb:stop() end end)

  local function get(u)
    assert.are.equal(sb.url, u:sub(1, #sb.url))
    return sb:request{ path = u:sub(#sb.url + 1) }
  end

  local function jwt_calls()
    return (sb:stats().requests or {})["POST /v2/files/jwt"] or 0
  end

  it("mints through postFilesJwt and the URL serves the file", function()
    local before = jwt_calls()
    local u, tok = api:signed_url(PATH, { key = "folder-key", expires_in = 120,
      secure_params = { w = 100 }, insecure_params = { h = 50 } })
    assert.is_string(u, tostring(tok))
    assert.are.equal(sb.url .. "/cdn/private/red%20shoe.jpg?jwt=" .. tok .. "&h=50", u)
    local claims = claims_of(tok)
    assert.are.equal(PATH, claims.aud)
    assert.are.same({ w = 100 }, claims.args)
    assert.are.equal(120, claims.exp - claims.iat)
    assert.are.equal(before + 1, jwt_calls())
    local res = get(u)
    assert.are.equal(200, res.status)
    assert.are.equal(DATA, res.body)
  end)

  it("signs locally with the same claims shape, without an API call, and the URL serves the file", function()
    local before = jwt_calls()
    local u, tok = loc:signed_url(PATH, { expires_in = 120, secure_params = { w = 100 } })
    assert.are.equal(sb.url .. "/cdn/private/red%20shoe.jpg?jwt=" .. tok, u)
    local res = get(u)
    assert.are.equal(200, res.status)
    assert.are.equal(DATA, res.body)
    assert.are.equal(before, jwt_calls())
    -- the sandbox's own token for the same request decodes to the same claim names
    local _, atok = api:signed_url(PATH, { key = "folder-key", expires_in = 120, secure_params = { w = 100 } })
    local a, l = claims_of(atok), claims_of(tok)
    for k in pairs(a) do assert.is_not_nil(l[k], "local token lacks claim " .. k) end
    for k in pairs(l) do assert.is_not_nil(a[k], "local token has an extra claim " .. k) end
    assert.are.same(a.args, l.args)
  end)

  it("an expired token and a token for another file are refused (403)", function()
    local old = loc:signed_url(PATH, { expires_in = 60, now = os.time() - 3600 })
    assert.are.equal(403, get(old).status)
    local other = url.signed(sb.url .. "/cdn", PATH, { key = "folder-key", expires_in = 60, aud = "/private/other.jpg" })
    assert.are.equal(403, get(other).status)
  end)

  it("sirv:url serves through the sandbox's CDN path", function()
    local res = get(loc:url(PATH, { w = 100, format = "webp" }))
    assert.are.equal(200, res.status)
    assert.are.equal(DATA, res.body)
  end)

  it("returns nil, err (not_found) for a missing file, without the key", function()
    local u, err = api:signed_url("/private/missing.jpg", { key = "folder-key-zz9", expires_in = 60 })
    assert.is_nil(u)
    assert.are.equal("not_found", err.kind)
    assert.is_nil(tostring(err):find("folder-key-zz9", 1, true))
  end)
end)

describe("url.build inside nginx (the rig)", function()
  local rig = require "helpers.rig"
  local r

  setup(function()
    r = rig.start{ workers = 2, env = { SIRV_CDN_BASE = "https://img.example.com" },
      server = ("location /img/ { content_by_lua_file %s/examples/openresty/sirv_images.lua; }"):format(rig.root) }
  end)

  teardown(function()
    if r then r:stop() end
    rig.stop_all()
  end)

  it("builds every case of the table to the same bytes as this VM", function()
    local status, res = r:json{ path = "/t/imgurl_cases/table" }
    assert.are.equal(200, status)
    assert.are.equal(#T.cases, #res.urls)
    for i, c in ipairs(T.cases) do
      assert.are.equal(c[4], res.urls[i], c[1])
      assert.are.equal(url.build(c.base or B, c[2], c[3]), res.urls[i], c[1])
    end
  end)

  it("builds and signs from a request's JSON, and reports misuse as an error", function()
    local status, res = r:json{ path = "/t/imgurl_cases/build", json = { base = B, path = "/a b.jpg",
      options = { w = 300, crop = { type = "face" } } } }
    assert.are.equal(200, status)
    assert.are.equal(B .. "/a%20b.jpg?crop.type=face&w=300", res.url)
    status, res = r:json{ path = "/t/imgurl_cases/build", json = { base = B, path = "/a.jpg", options = { w = -1 } } }
    assert.are.equal(200, status)
    assert.matches("option 'w' must be a size", res.error)
    status, res = r:json{ path = "/t/imgurl_cases/signed", json = { base = B, path = "/a.jpg", key = "k",
      expires_in = 60, now = 1000, secure_params = { w = 10 } } }
    assert.are.equal(200, status)
    local _, tok = url.signed(B, "/a.jpg", { key = "k", expires_in = 60, now = 1000, secure_params = { w = 10 } })
    assert.are.equal(B .. "/a.jpg?jwt=" .. tok, res.url)
  end)

  it("builds many URLs in one handler, each with the options of its index", function()
    local status, res = r:json{ path = "/t/imgurl_cases/many?n=2000" }
    assert.are.equal(200, status)
    assert.are.equal(2000, res.count)
    assert.are.equal(B .. "/p/1999.jpg?format=webp&q=80&w=1999", res.last)
  end)

  it("runs examples/openresty/sirv_images.lua as shipped: /img/<preset>/<path> redirects to Sirv", function()
    local status, _, headers = r:request{ path = "/img/card/products/red%20shoe.jpg" }
    assert.are.equal(302, status)
    assert.matches("\r\nLocation: https://img%.example%.com/products/red%%20shoe%.jpg%?format=webp&h=300&q=80"
      .. "&scale%.option=fill&w=400\r\n", headers)
    status, _, headers = r:request{ path = "/img/card/products/a.jpg?w=800" }
    assert.are.equal(302, status)
    assert.matches("&w=800\r\n", headers)
    assert.are.equal(400, (r:request{ path = "/img/card/products/a.jpg?w=801" }))
    assert.are.equal(404, (r:request{ path = "/img/nope/products/a.jpg" }))
    assert.are.equal(400, (r:request{ path = "/img/card/%F8.jpg" }))
  end)
end)
