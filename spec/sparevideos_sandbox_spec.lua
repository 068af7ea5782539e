-- Specs for the SpareVideos side of the sandbox (emulator/lua/sandbox/sv), with raw
-- HTTP through spec/helpers/sandbox.lua (the curl CLI). Tokens are made with the C
-- signer (mediacdn.core.sv_sign); the sandbox checks them with its own code.
-- Runs under Lua 5.4 and LuaJIT.

local sandbox = require "helpers.sandbox"
local core = require "mediacdn.core"

local PUB, PRIV = "sandbox-public-key", "sandbox-private-key"

local function list(t) return setmetatable(t, core.array_mt) end

-- a token for method/action with extra fields placed as the plugin orders them
local function token(method, action, o)
  o = o or {}
  local f = { { "algo", "sha256" }, { "method", method }, { "action", action } }
  if o.file_code then f[#f + 1] = { "file_code", o.file_code } end
  f[#f + 1] = { "public_key", o.public_key or PUB }
  if o.thumbnail then f[#f + 1] = { "thumbnail", o.thumbnail } end
  f[#f + 1] = { "expires", o.expires or (os.time() + 60) }
  if o.codes then f[#f + 1] = { "codes", list(o.codes) } end
  return core.sv_sign(f, o.private_key or PRIV)
end

local function multipart(fields, file_name, data)
  local b = "----mcspecboundary7"
  local parts = {}
  for k, v in pairs(fields) do
    parts[#parts + 1] = "--" .. b .. "\r\nContent-Disposition: form-data; name=\"" .. k .. "\"\r\n\r\n" .. v .. "\r\n"
  end
  if file_name then
    parts[#parts + 1] = "--" .. b .. "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" .. file_name
      .. "\"\r\nContent-Type: application/octet-stream\r\n\r\n" .. data .. "\r\n"
  end
  return table.concat(parts) .. "--" .. b .. "--\r\n", "multipart/form-data; boundary=" .. b
end

describe("sandbox: SpareVideos", function()
  local sb

  local function api(method, path, tok, form)
    local r = { method = method, path = "/api/v1" .. path, query = { token = tok } }
    if form then
      r.body = form
      r.headers = { ["content-type"] = "application/x-www-form-urlencoded" }
    end
    return sb:request(r)
  end

  local function initiate()
    local res = api("GET", "/upload/initiate", token("upload", "initiate"))
    assert.equals("success", res.json.status, res.body)
    return res.json
  end

  -- upload bytes as a local file; returns the decoded answer
  local function upload(data, name, init)
    init = init or initiate()
    local body, ctype = multipart({}, name or "clip.mp4", data)
    local path = init.server:gsub("^https?://[^/]+", "")
    local res = sb:request{ method = "POST", path = path, query = { ref = init.ref, token = init.token },
      body = body, headers = { ["content-type"] = ctype } }
    return res.json, res, init
  end

  local function wait_for(pred)
    for _ = 1, 200 do
      if pred() then return true end
      sandbox.sleep(0.05)
    end
    return false
  end

  lazy_setup(function()
    sb = sandbox.start{}
  end)

  lazy_teardown(function()
    if sb then sb:stop() end
  end)

  before_each(function()
    sb:clear_faults()
    sb:control("POST", "/_sandbox/sv/reset")
    sb:config{ sv_convert_seconds = 0.3, sv_page_size = 2000, sv_clock_offset = 0, sv_max_files = 0, sv_fetch_rate = 0 }
  end)

  describe("signed tokens", function()
    it("accepts a token signed with the configured key pair", function()
      local res = api("GET", "/upload/initiate", token("upload", "initiate"))
      assert.equals(200, res.status)
      assert.equals("success", res.json.status)
      assert.equals(sb.url .. "/fileservers/upload", res.json.server)
      assert.matches("^%d+%x+$", res.json.ref)
      assert.matches("^[%w+/]+%.%x+$", res.json.token)
      assert.matches('"server":"http:\\/\\/', res.body, 1, true)  -- PHP escapes "/"
    end)

    it("answers a wrong private key with 401 in an HTTP 200 envelope", function()
      local res = api("GET", "/upload/initiate", token("upload", "initiate", { private_key = "not-the-key" }))
      assert.equals(200, res.status)
      assert.same({ status = "error", error = 401, message = "Not authorized: invalid signature" }, res.json)
    end)

    it("answers a tampered payload with 401", function()
      local t = token("files", "get")
      local p, h = t:match("^(.*)%.(%x+)$")
      -- the same signature over a payload that names another action
      local other = token("files", "delete", { codes = { "x" } }):match("^(.*)%.")
      local res = api("GET", "/me/files", other .. "." .. h)
      assert.equals(401, res.json.error)
      -- one flipped character
      local flipped = p:sub(1, 10) .. (p:sub(11, 11) == "A" and "B" or "A") .. p:sub(12)
      res = api("GET", "/me/files", flipped .. "." .. h)
      assert.equals(401, res.json.error)
      assert.equals("success", api("GET", "/me/files", t).json.status)
    end)

    it("answers an expired token with 401, by the SpareVideos clock", function()
      local res = api("GET", "/me/files", token("files", "get", { expires = os.time() - 5 }))
      assert.same({ status = "error", error = 401, message = "Not authorized: token expired" }, res.json)
      sb:config{ sv_clock_offset = 7200 }
      res = api("GET", "/me/files", token("files", "get", { expires = os.time() + 3600 }))
      assert.equals(401, res.json.error)
      -- the Date header shows that clock, so a client can correct its skew
      local date = res.headers["date"]
      local h, m = date:match(" (%d%d):(%d%d):%d%d GMT$")
      local now = os.date("!*t")
      local diff = ((tonumber(h) * 60 + tonumber(m)) - (now.hour * 60 + now.min)) % 1440
      assert.is_true(diff >= 119 and diff <= 121, date)
    end)

    it("answers a token for another method or action with 403", function()
      local res = api("GET", "/me/files", token("upload", "initiate"))
      assert.same({ status = "error", error = 403, message = "Forbidden: the token is not valid for this action" }, res.json)
      res = api("GET", "/upload/initiate", token("upload", "convert", { file_code = "x" }))
      assert.equals(403, res.json.error)
    end)

    it("answers an unknown public key, another algo and a malformed token with 401", function()
      assert.equals(401, api("GET", "/me/files", token("files", "get", { public_key = "someone-else" })).json.error)
      assert.equals(401, api("GET", "/me/files", "not-a-token").json.error)
      assert.equals(401, api("GET", "/me/files", nil).json.error)
      local res = sb:request{ path = "/api/v1/me/files" }
      assert.equals("Not authorized: missing token", res.json.message)
    end)

    it("needs the token percent-encoded: a raw '+' reads as a space", function()
      -- this payload's base64 holds a '+' (the third byte of a group is '>')
      local t = token("file", "get", { file_code = "a>~?b>~?" })
      assert.truthy(t:find("+", 1, true))
      local raw = sb:request{ path = "/api/v1/me/file?token=" .. t }
      assert.equals(401, raw.json.error)
      local encoded = api("GET", "/me/file", t)
      assert.same({ status = "error", error = 404, message = "Not found" }, encoded.json)
    end)

    it("accepts the keys given in SPAREVIDEOS_PUBLIC_KEY / _PRIVATE_KEY", function()
      local other = sandbox.start{ env = { SPAREVIDEOS_PUBLIC_KEY = "pk-env", SPAREVIDEOS_PRIVATE_KEY = "sk-env" } }
      local ok1 = other:request{ path = "/api/v1/upload/initiate",
        query = { token = token("upload", "initiate", { public_key = "pk-env", private_key = "sk-env" }) } }
      local bad = other:request{ path = "/api/v1/upload/initiate", query = { token = token("upload", "initiate") } }
      other:stop()
      assert.equals("success", ok1.json.status)
      assert.equals(401, bad.json.error)
    end)

    it("records the signature of every call, also of faulted ones", function()
      sb:faults{ { path = "/api/v1/me/files", action = "status", status = 503 } }
      local t1, t2 = token("files", "get"), token("files", "get", { expires = os.time() + 61 })
      assert.equals(503, api("GET", "/me/files", t1).status)
      assert.equals(200, api("GET", "/me/files", t2).status)
      local _, body = sb:control("GET", "/_sandbox/sv/tokens")
      local seen = body.tokens["GET /api/v1/me/files"]
      assert.equals(2, #seen)
      assert.equals(t1:match("%.(%x+)$"), seen[1].signature)
      assert.equals("fault: status", seen[1].verdict)
      assert.equals(t2:match("%.(%x+)$"), seen[2].signature)
      assert.equals("ok", seen[2].verdict)
    end)
  end)

  describe("upload file server", function()
    it("stores a multipart file part and answers its code; a ref is single use", function()
      local data = string.rep("0123456789abcdef", 40000)   -- 640 KB, crosses many chunks
      local doc, res, init = upload(data, "clip.avi")
      assert.equals(200, res.status)
      assert.equals("success", doc.status)
      assert.matches("^%d%d%d%d%d%d%d%d%d%d%-%w%w%w%w%w%w$", doc.code)
      assert.equals("100", sb:request{ path = "/fileservers/upload/progress", query = { ref = init.ref } }.body)
      local again = upload("x", "clip.avi", init)
      assert.same({ status = "error", error = 10002, message = "Upload not valid: the ref was used already" }, again)
      local _, files = sb:control("GET", "/_sandbox/sv/files")
      assert.equals(1, files.count)
      assert.equals(#data, files.files[1].size)
      -- the bytes are kept exactly (they come back as the mp4 stream once converted)
      api("GET", "/upload/conversion/initiate", token("upload", "convert", { file_code = doc.code }))
      assert.is_true(wait_for(function()
        return sb:request{ path = "/sv/streams/" .. doc.code .. "/720.mp4" }.status == 200
      end))
      assert.equals(data, sb:request{ path = "/sv/streams/" .. doc.code .. "/720.mp4" }.body)
    end)

    it("refuses a wrong upload token, an unknown ref and a missing file part with 10002", function()
      local init = initiate()
      local other = initiate()
      assert.equals(10002, upload("x", "a.mp4", { server = init.server, ref = init.ref, token = other.token }).error)
      assert.equals(10002, upload("x", "a.mp4", { server = init.server, ref = "nope", token = init.token }).error)
      local body, ctype = multipart({ note = "no file" })
      local res = sb:request{ method = "POST", path = "/fileservers/upload", query = { ref = init.ref, token = init.token },
        body = body, headers = { ["content-type"] = ctype } }
      assert.same({ status = "error", error = 10002, message = "Upload not valid: no file or remote_file" }, res.json)
      assert.equals(10002, upload("", "empty.mp4", init).error)
    end)

    it("takes ref and token as form fields too", function()
      local init = initiate()
      local body, ctype = multipart({ ref = init.ref, token = init.token }, "b.mov", "bytes")
      local res = sb:request{ method = "POST", path = "/fileservers/upload", body = body, headers = { ["content-type"] = ctype } }
      assert.equals("success", res.json.status)
    end)

    it("fetches a remote_file while progress climbs to 100", function()
      sb:control("POST", "/_sandbox/sv/seed", { count = 1, size = 600000 })
      local _, files = sb:control("GET", "/_sandbox/sv/files")
      local src = sb.url .. "/sv/streams/" .. files.files[1].code .. "/360.mp4"
      sb:config{ sv_fetch_rate = 400000 }   -- about 1.5 s for the 600 KB
      local init = initiate()
      -- the POST blocks while the server fetches: run it in the background with curl
      local out = os.tmpname()
      sandbox.sh(("curl -s -o %s --data-urlencode %s '%s/fileservers/upload?ref=%s&token=%s' >/dev/null 2>&1 &")
        :format(sandbox.quote(out), sandbox.quote("remote_file=" .. src), sb.url, init.ref, sandbox.url_escape(init.token)))
      local seen = {}
      assert.is_true(wait_for(function()
        local p = tonumber(sb:request{ path = "/fileservers/upload/progress", query = { ref = init.ref } }.body)
        if p and p ~= seen[#seen] then seen[#seen + 1] = p end
        return p == 100
      end))
      assert.is_true(#seen >= 2, "progress was seen below 100")
      for i = 2, #seen do assert.is_true(seen[i] > seen[i - 1]) end
      assert.is_true(wait_for(function() return (sandbox.read_file(out) or "") ~= "" end))
      local doc = require("cjson").decode(sandbox.read_file(out))
      os.remove(out)
      assert.equals("success", doc.status)
      local _, after = sb:control("GET", "/_sandbox/sv/files")
      assert.equals(600000, after.files[2].size)
    end)

    it("answers 10001 when the remote file cannot be fetched", function()
      local init = initiate()
      local res = sb:request{ method = "POST", path = "/fileservers/upload", query = { ref = init.ref, token = init.token },
        body = "remote_file=" .. sandbox.url_escape(sb.url .. "/sv/streams/none/1.mp4"),
        headers = { ["content-type"] = "application/x-www-form-urlencoded" } }
      assert.equals(10001, res.json.error)
    end)

    it("refuses initiate beyond the quota with 10006", function()
      sb:config{ sv_max_files = 1 }
      upload("abc")
      local res = api("GET", "/upload/initiate", token("upload", "initiate"))
      assert.same({ status = "error", error = 10006, message = "Service limits exceeded" }, res.json)
    end)
  end)

  describe("conversion, file info and thumbnails", function()
    it("goes from 100030 to empty streams to streams; converting twice is 100031", function()
      local code = upload("video bytes", "talk.mov").code
      local get = function() return api("GET", "/me/file", token("file", "get", { file_code = code })).json end
      assert.same({ status = "error", error = 100030, message = "File not converted" }, get())
      local conv = api("GET", "/upload/conversion/initiate", token("upload", "convert", { file_code = code }))
      assert.same({ status = "success", code = code }, conv.json)
      local again = api("GET", "/upload/conversion/initiate", token("upload", "convert", { file_code = code }))
      assert.same({ status = "error", error = 100031, message = "File already converted" }, again.json)
      local first = get()
      local saw_empty = next(first.streams) == nil
      local doc
      assert.is_true(wait_for(function()
        doc = get()
        return next(doc.streams) ~= nil
      end))
      assert.equals("mov", doc.extension)
      assert.equals(3, #doc.streams.mp4)
      assert.equals("720", doc.streams.mp4[3].label)
      assert.truthy(doc.streams.hls.file:match("master%.m3u8$"))
      assert.truthy(doc.streams.webm)
      assert.equals(sb.url .. "/thumbnail/" .. code .. "/480/default.jpg", doc.thumbnail)
      assert.is_true(saw_empty or sb:config().sv_convert_seconds > 0)
    end)

    it("honours convert_sd_only / convert_mp4_only", function()
      local code = upload("abc").code
      local f = { { "algo", "sha256" }, { "method", "upload" }, { "action", "convert" }, { "file_code", code },
        { "public_key", PUB }, { "expires", os.time() + 30 }, { "convert_sd_only", true }, { "convert_mp4_only", true } }
      assert.equals("success", api("GET", "/upload/conversion/initiate", core.sv_sign(f, PRIV)).json.status)
      local doc
      assert.is_true(wait_for(function()
        doc = api("GET", "/me/file", token("file", "get", { file_code = code })).json
        return next(doc.streams) ~= nil
      end))
      assert.equals(2, #doc.streams.mp4)
      assert.is_nil(doc.streams.webm)
    end)

    it("answers an unknown file code with 404", function()
      local res = api("GET", "/me/file", token("file", "get", { file_code = "1700000000-NOPE00" }))
      assert.same({ status = "error", error = 404, message = "Not found" }, res.json)
    end)

    it("lists thumbnails, selects one (the key gets .selected) and serves images", function()
      local code = upload("abc").code
      assert.equals(404, sb:request{ path = "/thumbnail/" .. code .. "/json/list" }.status)
      api("GET", "/upload/conversion/initiate", token("upload", "convert", { file_code = code }))
      local res
      assert.is_true(wait_for(function()
        res = sb:request{ path = "/thumbnail/" .. code .. "/json/list" }
        return res.status == 200
      end))
      assert.equals(code .. "_720_02.jpg", res.json["720.02"])
      assert.equals(15, (function() local n = 0 for _ in pairs(res.json) do n = n + 1 end return n end)())
      assert.truthy(res.body:find('^{"720.05"'))
      local name = res.json["480.04"]
      local upd = api("POST", "/me/file", token("file", "update", { file_code = code, thumbnail = name }), "_method=PUT")
      assert.same({ status = "success" }, upd.json)
      res = sb:request{ path = "/thumbnail/" .. code .. "/json/list" }
      assert.equals(name, res.json["480.04.selected"])
      assert.is_nil(res.json["480.04"])
      local bad = api("POST", "/me/file", token("file", "update", { file_code = code, thumbnail = "other.jpg" }), "_method=PUT")
      assert.equals(404, bad.json.error)
      local nomethod = api("POST", "/me/file", token("file", "update", { file_code = code, thumbnail = name }), "x=1")
      assert.equals(404, nomethod.json.error)
      local img = sb:request{ path = "/thumbnail/" .. code .. "/exact/" .. name }
      assert.equals("image/jpeg", img.headers["content-type"])
      assert.equals("\255\216\255", img.body:sub(1, 3))
      local sized = sb:request{ path = "/thumbnail/" .. code .. "/240/default.jpg" }
      assert.equals(200, sized.status)
      assert.equals(260 * 12, #sized.body)     -- below 260 is served at 260
      assert.equals(404, sb:request{ path = "/thumbnail/" .. code .. "/300/nope.jpg" }.status)
    end)
  end)

  describe("file list and delete", function()
    it("pages 4,100 files at 2,000 a page with nextPageUrl", function()
      sb:control("POST", "/_sandbox/sv/seed", { count = 4100 })
      local codes, seen, pages = {}, {}, {}
      local path = "/api/v1/me/files"
      while path do
        local res = sb:request{ path = path .. (path:find("?", 1, true) and "&" or "?") .. "token="
          .. sandbox.url_escape(token("files", "get")) }
        local doc = res.json
        assert.equals("success", doc.status)
        pages[#pages + 1] = #doc.codes
        assert.equals(3, doc.lastPage)
        for _, c in ipairs(doc.codes) do
          assert.is_nil(seen[c])
          seen[c] = true
          codes[#codes + 1] = c
        end
        if type(doc.nextPageUrl) == "string" then
          path = doc.nextPageUrl:gsub("^https?://[^/]+", "")
        else
          path = nil
        end
      end
      assert.same({ 2000, 2000, 100 }, pages)
      assert.equals(4100, #codes)
    end)

    it("deletes the codes inside the token, all or none", function()
      local a, b = upload("a").code, upload("b").code
      local res = api("POST", "/me/files", token("files", "delete", { codes = { a, "1700000000-GONE00" } }), "_method=DELETE")
      assert.equals(404, res.json.error)
      local _, files = sb:control("GET", "/_sandbox/sv/files")
      assert.equals(2, files.count)
      res = api("POST", "/me/files", token("files", "delete", { codes = { a } }), "_method=DELETE")
      assert.same({ status = "success" }, res.json)
      local doc = api("GET", "/me/files", token("files", "get")).json
      assert.same({ b }, doc.codes)
      -- a delete token cannot list, a list token cannot delete
      assert.equals(403, api("POST", "/me/files", token("files", "get"), "_method=DELETE").json.error)
    end)
  end)

  describe("faults", function()
    it("applies status, expired_token and reset rules to SpareVideos paths", function()
      sb:reset_stats()
      sb:faults{
        { path = "/api/v1/upload/initiate", action = "status", status = 503 },
        { path = "/api/v1/me/files", action = "expired_token" },
        { path = "/fileservers/upload/progress", action = "reset" },
      }
      assert.equals(503, api("GET", "/upload/initiate", token("upload", "initiate")).status)
      assert.equals("success", api("GET", "/upload/initiate", token("upload", "initiate")).json.status)
      local res = api("GET", "/me/files", token("files", "get"))
      assert.same({ status = "error", error = 401, message = "Not authorized: token expired" }, res.json)
      res = sb:request{ path = "/fileservers/upload/progress", query = { ref = "x" } }
      assert.are_not.equal(0, res.curl_rc)
      local stats = sb:stats()
      assert.equals(2, stats.requests["GET /api/v1/upload/initiate"])
      assert.equals(1, stats.requests["GET /fileservers/upload/progress"])
    end)
  end)
end)
