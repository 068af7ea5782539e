-- Specs for the sandbox (bin/mediacdn-sandbox + emulator/), with raw HTTP through
-- spec/helpers/sandbox.lua. Runs under Lua 5.4 and LuaJIT:
--   busted --lua=lua5.4 --lpath='spec/?.lua;lua/?.lua;lua/?/init.lua' spec/sandbox_spec.lua

local sandbox = require "helpers.sandbox"
local cjson = require "cjson"

local function b64url_json(part)
  local s = part:gsub("-", "+"):gsub("_", "/")
  s = s .. string.rep("=", (4 - #s % 4) % 4)
  local out = sandbox.sh("printf '%s' " .. sandbox.quote(s) .. " | base64 -d")
  return cjson.decode(out)
end

local function count_keys(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

describe("mediacdn sandbox", function()
  local sb, token

  local function call(method, path, query, extra)
    local r = { method = method, path = path, query = query, token = token }
    for k, v in pairs(extra or {}) do r[k] = v end
    return sb:request(r)
  end

  lazy_setup(function()
    sb = sandbox.start{}
    token = sb:token()
  end)

  lazy_teardown(function()
    if sb then sb:stop() end
  end)

  after_each(function()
    sb:clear_faults()
  end)

  describe("startup", function()
    it("prints the URL first and answers at once", function()
      assert.matches("^http://127%.0%.0%.1:%d+$", sb.url)
      local status, body = sb:control("GET", "/_sandbox/health")
      assert.equals(200, status)
      assert.is_true(body.ok)
      -- the library's one version (the core's header), not a copy of its own
      assert.equals(require("mediacdn.core").defaults.version, body.version)
    end)

    it("stops by pid and leaves no process behind", function()
      local other = sandbox.start{}
      assert.truthy(other.nginx_pid)
      assert.is_true(sandbox.alive(other.pid))
      other:stop()
      assert.is_false(sandbox.alive(other.pid))
      assert.is_false(sandbox.alive(other.nginx_pid))
      for _, w in ipairs(other.nginx_workers) do assert.is_false(sandbox.alive(w)) end
      assert.is_true(other:stop())   -- idempotent
    end)
  end)

  describe("POST /v2/token", function()
    local creds = { clientId = "sandbox-client-id", clientSecret = "sandbox-client-secret" }
    local function with(extra)
      local t = {}
      for k, v in pairs(creds) do t[k] = v end
      for k, v in pairs(extra) do t[k] = v end
      return t
    end

    it("returns a JWT-shaped token, expiresIn and the scopes", function()
      local res = sb:request{ method = "POST", path = "/v2/token", json = creds }
      assert.equals(200, res.status)
      assert.equals(1200, res.json.expiresIn)
      assert.equals(10, #res.json.scope)
      local h, p, s = res.json.token:match("^([%w_-]+)%.([%w_-]+)%.([%w_-]+)$")
      assert.truthy(s)
      assert.equals("HS256", b64url_json(h).alg)
      local claims = b64url_json(p)
      assert.equals("sandbox-client-id", claims.clientId)
      assert.equals(1200, claims.exp - claims.iat)
      assert.is_nil(res.headers["x-ratelimit-limit"])
      assert.is_nil(res.headers["x-global-ratelimit-limit"])
      assert.equals("Sirv.API", res.headers["server"])
    end)

    it("rejects wrong credentials with 401", function()
      local res = sb:request{ method = "POST", path = "/v2/token", json = with{ clientSecret = "nope" } }
      assert.equals(401, res.status)
      assert.equals("Unauthorized", res.json.error)
    end)

    it("rejects unknown keys and missing fields with 400", function()
      local res = sb:request{ method = "POST", path = "/v2/token", json = with{ scope = "x" } }
      assert.equals(400, res.status)
      assert.same({ statusCode = 400, error = "Bad Request", message = '"scope" is not allowed' }, res.json)
      res = sb:request{ method = "POST", path = "/v2/token", json = { clientId = "sandbox-client-id" } }
      assert.equals(400, res.status)
      assert.matches("clientSecret", res.json.message)
      res = sb:request{ method = "POST", path = "/v2/token", body = "{not json", headers = { ["content-type"] = "application/json" } }
      assert.equals(400, res.status)
    end)

    it("checks expiresIn bounds (integer 5..604800)", function()
      for _, bad in ipairs({ 4, 604801, 5.5, "60" }) do
        local res = sb:request{ method = "POST", path = "/v2/token", json = with{ expiresIn = bad } }
        assert.equals(400, res.status, "expiresIn=" .. tostring(bad))
        assert.equals("Bad Request", res.json.error)
      end
      for _, ok in ipairs({ 5, 604800 }) do
        local res = sb:request{ method = "POST", path = "/v2/token", json = with{ expiresIn = ok } }
        assert.equals(200, res.status)
        assert.equals(ok, res.json.expiresIn)
      end
    end)
  end)

  describe("authentication", function()
    it("answers 401 Missing authentication without a token", function()
      local res = sb:request{ path = "/v2/files/stat", query = { filename = "/" } }
      assert.equals(401, res.status)
      assert.equals("Missing authentication", res.json.message)
      assert.equals(401, res.json.statusCode)
    end)

    local expired_body = {
      statusCode = 401, error = "Unauthorized", message = "Expired token",
      attributes = { error = "Expired token" },
    }

    it("answers an expired token with the Sirv 401 shape and header", function()
      local short = sb:token{ expiresIn = 5 }
      local res = sb:request{ path = "/v2/files/stat", query = { filename = "/" }, token = short }
      assert.equals(200, res.status)
      sb:config{ token_clock_offset = 10 }   -- the sandbox's clock jumps past exp
      res = sb:request{ path = "/v2/files/stat", query = { filename = "/" }, token = short }
      sb:config{ token_clock_offset = 0 }
      assert.equals(401, res.status)
      assert.equals('Token error="Expired token"', res.headers["www-authenticate"])
      assert.same(expired_body, res.json)
    end)

    it("treats a forged token like an expired one", function()
      local res = sb:request{ path = "/v2/files/stat", query = { filename = "/" }, token = token:sub(1, -3) .. "xx" }
      assert.equals(401, res.status)
      assert.same(expired_body, res.json)
    end)
  end)

  describe("files", function()
    it("pages readdir at 100 entries with an opaque continuation (250 files: 3 pages)", function()
      sb:seed(250, "/paging", { subdirs = 0 })
      local names, pages, cont = {}, 0, nil
      repeat
        local res = call("GET", "/v2/files/readdir", { dirname = "/paging", continuation = cont })
        assert.equals(200, res.status)
        pages = pages + 1
        assert.equals(pages < 3 and 100 or 50, #res.json.contents)
        for _, e in ipairs(res.json.contents) do
          assert.is_nil(names[e.filename])
          assert.is_nil(e.filename:find("/", 1, true))   -- a basename
          names[e.filename] = e
        end
        cont = res.json.continuation
        if pages < 3 then assert.is_string(cont) end
      until cont == nil or pages > 3
      assert.equals(3, pages)
      assert.equals(250, count_keys(names))
      local res = call("GET", "/v2/files/readdir", { dirname = "/paging", continuation = "garbage!" })
      assert.equals(400, res.status)
    end)

    it("stats files and folders with the documented shape", function()
      local res = call("GET", "/v2/files/stat", { filename = "/paging" })
      assert.equals(200, res.status)
      assert.is_true(res.json.isDirectory)
      local list = call("GET", "/v2/files/readdir", { dirname = "/paging" }).json.contents
      res = call("GET", "/v2/files/stat", { filename = "/paging/" .. list[1].filename })
      assert.equals(200, res.status)
      for _, k in ipairs({ "mtime", "ctime", "contentType", "size", "isDirectory", "meta" }) do
        assert.is_not_nil(res.json[k], k)
      end
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$", res.json.mtime)
      assert.is_false(res.json.isDirectory)
    end)

    it("round-trips an upload (raw body, content type kept) through download", function()
      local bytes = {}
      for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
      local data = string.rep(table.concat(bytes), 400)   -- 100 KiB, every byte value
      local path = "/up load/ünï cödé/data.bin"
      local res = call("POST", "/v2/files/upload", { filename = path },
        { body = data, headers = { ["content-type"] = "image/x-test" } })
      assert.equals(200, res.status)
      assert.equals("", res.body)
      assert.equals("rest:post:files:upload", res.headers["x-ratelimit-type"])
      res = call("GET", "/v2/files/download", { filename = path })
      assert.equals(200, res.status)
      assert.equals(#data, #res.body)
      assert.is_true(res.body == data)
      assert.equals("image/x-test", res.headers["content-type"])
      assert.truthy(res.headers["etag"])
      assert.truthy(res.headers["last-modified"])
      assert.equals("bytes", res.headers["accept-ranges"])
      assert.is_nil(res.headers["x-global-ratelimit-limit"])   -- download carries none
      local st = call("GET", "/v2/files/stat", { filename = path }).json
      assert.equals(#data, st.size)
      assert.equals("image/x-test", st.contentType)
      -- parents were created
      assert.is_true(call("GET", "/v2/files/stat", { filename = "/up load/ünï cödé" }).json.isDirectory)
    end)

    it("streams a larger upload from a file", function()
      local f = os.tmpname()
      sandbox.sh("head -c 5000000 /dev/urandom > " .. sandbox.quote(f))
      local res = call("POST", "/v2/files/upload", { filename = "/big/random.bin" }, { body_file = f })
      assert.equals(200, res.status)
      local out = os.tmpname()
      res = call("GET", "/v2/files/download", { filename = "/big/random.bin" }, { output = out })
      assert.equals(200, res.status)
      local _, rc = sandbox.sh("cmp -s " .. sandbox.quote(f) .. " " .. sandbox.quote(out))
      os.remove(f)
      os.remove(out)
      assert.equals(0, rc)
    end)

    it("copies, renames and deletes like Sirv", function()
      assert.equals(200, call("POST", "/v2/files/upload", { filename = "/ops/a.txt" }, { body = "abc" }).status)
      assert.equals(200, call("POST", "/v2/files/copy", { from = "/ops/a.txt", to = "/ops/copy/b.txt" }).status)
      assert.equals(200, call("POST", "/v2/files/rename", { from = "/ops/copy", to = "/ops/moved" }).status)
      assert.equals("abc", call("GET", "/v2/files/download", { filename = "/ops/moved/b.txt" }).body)
      local res = call("POST", "/v2/files/delete", { filename = "/ops/moved" })
      assert.equals(409, res.status)   -- not empty
      assert.equals(200, call("POST", "/v2/files/delete", { filename = "/ops/moved/b.txt" }).status)
      assert.equals(200, call("POST", "/v2/files/delete", { filename = "/ops/moved" }).status)
      res = call("POST", "/v2/files/delete", { filename = "/ops/moved" })
      assert.equals(404, res.status)
    end)

    it("answers mkdir on an existing path with a RiakFsError conflict", function()
      assert.equals(200, call("POST", "/v2/files/mkdir", { dirname = "/made" }).status)
      local res = call("POST", "/v2/files/mkdir", { dirname = "/made" })
      assert.equals(409, res.status)
      assert.equals("RiakFsError", res.json.name)
      assert.equals("Path already exists: /made", res.json.message)
    end)

    it("fetches loopback URLs and reports unreachable hosts per item", function()
      call("POST", "/v2/files/upload", { filename = "/src/img.txt" }, { body = "fetched!" })
      local res = call("POST", "/v2/files/fetch", nil, { json = {
        { url = sb.url .. "/cdn/src/img.txt", filename = "/fetched/img.txt" },
        { url = "https://demo.sirv.com/aurora.jpg", filename = "/fetched/aurora.jpg" },
      } })
      assert.equals(200, res.status)
      assert.is_true(res.json[1].success)
      assert.equals(200, res.json[1].attempts[1].statusCode)
      assert.is_false(res.json[2].success)
      assert.is_string(res.json[2].attempts[1].error.message)
      assert.equals("fetched!", call("GET", "/v2/files/download", { filename = "/fetched/img.txt" }).body)
    end)
  end)

  describe("errors", function()
    it("answers a missing file with the Boom 404 shape", function()
      local res = call("GET", "/v2/files/stat", { filename = "/no/such.jpg" })
      assert.equals(404, res.status)
      assert.same({ statusCode = 404, error = "Not Found", message = "No such file: /no/such.jpg" }, res.json)
    end)

    it("validates bodies against the schemas (400, Boom shape)", function()
      local cases = {
        { "POST", "/v2/files/meta", { filename = "/made" }, { title = "x", bogus = true } },
        { "POST", "/v2/files/meta", { filename = "/made" }, { title = string.rep("x", 257) } },
        { "POST", "/v2/files/meta", { filename = "/made" }, { approval = { comment = "no flag" } } },
        { "POST", "/v2/files/meta/tags", { filename = "/made" }, { tags = "red" } },
        { "POST", "/v2/files/search", nil, { size = 101 } },
        { "POST", "/v2/files/search", nil, { from = 1001 } },
        { "POST", "/v2/files/fetch", nil, { { url = "http://127.0.0.1/x" } } },
        { "POST", "/v2/files/fetch", nil, { { url = "http://127.0.0.1/x", filename = "relative.jpg" } } },
        { "POST", "/v2/files/poi", { filename = "/made" }, { name = "p", x = 1.5 } },
        { "POST", "/v2/account", nil, { fetching = { type = "ftp", enabled = true } } },
      }
      for i, c in ipairs(cases) do
        local res = call(c[1], c[2], c[3], { json = c[4] })
        assert.equals(400, res.status, "case " .. i .. ": " .. tostring(res.body))
        assert.equals(400, res.json.statusCode)
        assert.equals("Bad Request", res.json.error)
        assert.is_string(res.json.message)
      end
    end)

    it("requires query parameters and absolute paths", function()
      local res = call("GET", "/v2/files/stat")
      assert.equals(400, res.status)
      assert.matches('"filename" is required', res.json.message, 1, true)
      res = call("GET", "/v2/files/stat", { filename = "relative.jpg" })
      assert.equals(400, res.status)
      assert.matches("fails to match the UNIX filename pattern", res.json.message, 1, true)
    end)
  end)

  describe("editorial meta", function()
    it("adds and deletes tags idempotently and reads all meta", function()
      call("POST", "/v2/files/upload", { filename = "/meta/x.jpg" }, { body = "x" })
      for _ = 1, 2 do
        assert.equals(200, call("POST", "/v2/files/meta/tags", { filename = "/meta/x.jpg" }, { json = { tags = { "a", "b" } } }).status)
      end
      assert.same({ "a", "b" }, call("GET", "/v2/files/meta/tags", { filename = "/meta/x.jpg" }).json.tags)
      for _ = 1, 2 do
        assert.equals(200, call("DELETE", "/v2/files/meta/tags", { filename = "/meta/x.jpg" }, { json = { tags = { "a" } } }).status)
      end
      call("POST", "/v2/files/meta", { filename = "/meta/x.jpg" },
        { json = { title = "T", approval = { approved = true, comment = "ok" }, product = { id = "P1" } } })
      local m = call("GET", "/v2/files/meta", { filename = "/meta/x.jpg" }).json
      assert.same({ "b" }, m.tags)
      assert.equals("T", m.title)
      assert.is_true(m.approval.approved)
      assert.is_string(m.approval.datetime)
      assert.equals("P1", m.product.id)
    end)
  end)

  describe("rate limits", function()
    it("sends the global headers, and the method's own bucket when it has one", function()
      local res = call("GET", "/v2/files/stat", { filename = "/" })
      assert.equals("7000", res.headers["x-global-ratelimit-limit"])
      assert.truthy(tonumber(res.headers["x-global-ratelimit-remaining"]))
      assert.truthy(tonumber(res.headers["x-global-ratelimit-reset"]) > os.time())
      assert.is_nil(res.headers["x-ratelimit-type"])
      res = call("POST", "/v2/files/search", nil, { json = { query = "basename:nothing" } })
      assert.equals("rest:post:files:search", res.headers["x-ratelimit-type"])
      assert.equals("1000", res.headers["x-ratelimit-limit"])
      assert.truthy(res.headers["x-global-ratelimit-remaining"])
    end)

    it("does not count getAccountLimits, which lists every bucket", function()
      local a = call("GET", "/v2/account/limits")
      local b = call("GET", "/v2/account/limits")
      assert.equals(200, b.status)
      assert.equals(a.json["rest:global"].count, b.json["rest:global"].count)
      for _, name in ipairs({ "rest:global", "rest:post:files:search", "rest:post:files:upload", "fetch:file", "s3:global" }) do
        local v = b.json[name]
        assert.is_table(v, name)
        assert.equals(v.limit - v.count, v.remaining)
        assert.is_number(v.reset)
      end
    end)

    it("answers 429 with a Retry after message once the hour's quota is used", function()
      local small = sandbox.start{ hourly_limit = 3, window_seconds = 2 }
      local tok = small:token()
      local function stat()
        return small:request{ path = "/v2/files/stat", query = { filename = "/" }, token = tok }
      end
      for i = 1, 3 do
        local res = stat()
        assert.equals(200, res.status)
        assert.equals(tostring(3 - i), res.headers["x-global-ratelimit-remaining"])
      end
      local res = stat()
      assert.equals(429, res.status)
      assert.equals("Too Many Requests", res.json.error)
      assert.matches("Retry after %d%d%d%d%-", res.json.message)
      assert.equals("0", res.headers["x-global-ratelimit-remaining"])
      assert.equals("3", res.headers["x-global-ratelimit-limit"])
      -- limits still answer while limited
      assert.equals(200, small:request{ path = "/v2/account/limits", token = tok }.status)
      sandbox.sleep(2.1)                              -- the 2 s window passed
      assert.equals(200, stat().status)
      small:control("POST", "/_sandbox/limits", { limits = { ["rest:global"] = 1 } })
      small:reset_limits()
      assert.equals(200, stat().status)
      assert.equals(429, stat().status)
      small:stop()
    end)
  end)

  describe("faults", function()
    local function stat()
      return call("GET", "/v2/files/stat", { filename = "/" })
    end

    it("status: answers the given status, then stops (times), after skip", function()
      sb:faults{ { path = "/v2/files/stat", action = "status", status = 503, skip = 1, times = 2 } }
      assert.equals(200, stat().status)
      local res = stat()
      assert.equals(503, res.status)
      assert.same({ statusCode = 503, error = "Service Unavailable", message = "Service Unavailable" }, res.json)
      assert.equals(503, stat().status)
      assert.equals(200, stat().status)
    end)

    it("matches a method and a path prefix ending in *", function()
      sb:faults{ { path = "/v2/files/*", method = "POST", action = "status", status = 500, times = -1 } }
      assert.equals(200, stat().status)
      assert.equals(500, call("POST", "/v2/files/mkdir", { dirname = "/f500" }).status)
      assert.equals(500, call("POST", "/v2/files/mkdir", { dirname = "/f500" }).status)
    end)

    it("expired_token", function()
      sb:faults{ { path = "/v2/files/stat", action = "expired_token" } }
      local res = stat()
      assert.equals(401, res.status)
      assert.equals("Expired token", res.json.message)
      assert.equals('Token error="Expired token"', res.headers["www-authenticate"])
    end)

    it("rate_limit: 429 with the reset in reset_in seconds", function()
      sb:faults{ { path = "/v2/files/search", action = "rate_limit", reset_in = 7 } }
      local t0 = os.time()
      local res = call("POST", "/v2/files/search", nil, { json = {} })
      local t1 = os.time()
      assert.equals(429, res.status)
      assert.equals("0", res.headers["x-ratelimit-remaining"])
      assert.equals("rest:post:files:search", res.headers["x-ratelimit-type"])
      local reset = tonumber(res.headers["x-ratelimit-reset"])
      -- 7 s after the (whole) second the server answered in, however long the call took
      assert.is_true(reset >= t0 + 6 and reset <= t1 + 7, "reset " .. tostring(reset))
    end)

    it("reset: headers and part of the body, then the connection drops", function()
      sb:faults{ { path = "/v2/files/download", action = "reset" } }
      local res = call("GET", "/v2/files/download", { filename = "/big/random.bin" })
      assert.equals(200, res.status)
      assert.equals("5000000", res.headers["content-length"])
      assert.are_not.equal(0, res.curl_rc)
      assert.is_true(#res.body < 5000000)
      sb:faults{ { path = "/v2/files/stat", action = "reset" } }
      res = stat()
      assert.are_not.equal(0, res.curl_rc)
    end)

    it("truncate and invalid_json spoil the JSON body", function()
      local full = #stat().body
      sb:faults{ { path = "/v2/files/stat", action = "truncate" } }
      local res = stat()
      assert.equals(200, res.status)
      assert.is_nil(res.json)
      assert.equals(math.floor(full / 2), #res.body)
      sb:faults{ { path = "/v2/files/stat", action = "invalid_json" } }
      res = stat()
      assert.equals(200, res.status)
      assert.is_nil(res.json)
      assert.is_false(pcall(cjson.decode, res.body))
    end)

    -- the order answers complete in, not their timing: a delayed request sent with a
    -- prompt one finishes after it (a margin of seconds, for shared machines)
    local STAT, READDIR = "/v2/files/stat?filename=%2F", "/v2/files/readdir?dirname=%2F"
    local function order(done)
      local paths = {}
      for i, d in ipairs(done) do
        assert.equals(200, d.status)
        paths[i] = d.path
      end
      return paths
    end

    it("stall and latency delay the answer", function()
      local auth = { authorization = "Bearer " .. token }
      sb:faults{ { path = "/v2/files/stat", action = "stall", seconds = 1.5 } }
      assert.same({ READDIR, STAT }, order(sb:parallel({ STAT, READDIR }, auth)))
      sb:faults{ { path = "/v2/files/stat", action = "latency", ms = 1500 } }
      assert.same({ READDIR, STAT }, order(sb:parallel({ STAT, READDIR }, auth)))
      -- without a fault nothing holds the stat back
      assert.equals(200, stat().status)
    end)

    it("global latency does not serialise concurrent requests", function()
      sb:config{ latency_ms = 200 }
      sb:faults{ { path = "/v2/files/readdir", action = "latency", ms = 2000 } }
      local paths = { READDIR }
      for i = 2, 21 do paths[i] = STAT end
      local done = order(sb:parallel(paths, { authorization = "Bearer " .. token }))
      sb:config{ latency_ms = 0 }
      -- one worker: the readdir, sent first, did not hold up the 20 stats behind it
      assert.equals(21, #done)
      assert.equals(READDIR, done[21])
    end)

    it("rejects unknown actions", function()
      local status = sb:control("POST", "/_sandbox/faults", { rules = { { path = "/x", action = "explode" } } })
      assert.equals(400, status)
    end)
  end)

  describe("stats", function()
    it("counts requests per method and path, and token requests", function()
      sb:reset_stats()
      sb:token()
      call("GET", "/v2/files/stat", { filename = "/" })
      call("GET", "/v2/files/stat", { filename = "/" })
      local s = sb:stats()
      assert.equals(1, s.token_requests)
      assert.equals(2, s.requests["GET /v2/files/stat"])
      assert.equals(3, s.total)
    end)
  end)

  describe("seed and search", function()
    local seeded

    it("seeds 10,000 varied files quickly", function()
      seeded = sb:seed(10000, "/many")
      assert.equals(10000, seeded.created)
      local total = 0
      for ext, n in pairs(seeded.extensions) do
        assert.matches("^%.%w+$", ext)
        total = total + n
      end
      assert.equals(10000, total)
      local res = call("GET", "/v2/files/readdir", { dirname = "/many" })
      assert.equals(100, #res.json.contents)
      assert.is_string(res.json.continuation)
      local st = call("GET", "/v2/account/storage").json
      assert.is_true(st.files >= 10000)
    end)

    it("downloads seeded files with the size stat reports", function()
      local e = call("GET", "/v2/files/readdir", { dirname = "/many" }).json.contents[1]
      local res = call("GET", "/v2/files/download", { filename = "/many/" .. e.filename })
      assert.equals(200, res.status)
      assert.equals(e.size, #res.body)
    end)

    it("searches with a query, sort, from and size", function()
      local q = "dirname:\\/many AND extension:.jpg"
      local res = call("POST", "/v2/files/search", nil, { json = {
        query = q, sort = { ["filename.raw"] = "asc" }, from = 0, size = 5,
      } })
      assert.equals(200, res.status)
      assert.equals(seeded.extensions[".jpg"], res.json.total)
      assert.equals("eq", res.json._relation)
      assert.equals(5, #res.json.hits)
      local prev
      for _, h in ipairs(res.json.hits) do
        assert.equals(".jpg", h._source.extension)
        assert.equals("/many", h._source.dirname)
        assert.equals(h._source.filename, h.sort[1])
        assert.equals(cjson.null, h._score)
        assert.is_string(h._id)
        if prev then assert.is_true(prev < h._source.filename) end
        prev = h._source.filename
      end
      local page2 = call("POST", "/v2/files/search", nil, { json = {
        query = q, sort = { ["filename.raw"] = "asc" }, from = 5, size = 5,
      } }).json
      assert.is_true(page2.hits[1]._source.filename > prev)
      res = call("POST", "/v2/files/search", nil, { json = { query = "extension:(.jpg" } })
      assert.equals(400, res.status)
    end)

    it("scrolls through a snapshot and expires idle scroll contexts", function()
      sb:config{ scroll_ttl = 1 }
      local res = call("POST", "/v2/files/search", nil, { json = {
        query = "dirname:\\/paging", size = 100, scroll = true,
      } })
      assert.equals(250, res.json.total)
      local seen = #res.json.hits
      local id = res.json.scrollId
      assert.is_string(id)
      while true do
        local page = call("POST", "/v2/files/search/scroll", nil, { json = { scrollId = id } })
        assert.equals(200, page.status)
        assert.equals("rest:post:files:search:scroll", page.headers["x-ratelimit-type"])
        if #page.json.hits == 0 then break end
        seen = seen + #page.json.hits
        id = page.json.scrollId
      end
      assert.equals(250, seen)
      sandbox.sleep(1.3)
      res = call("POST", "/v2/files/search/scroll", nil, { json = { scrollId = id } })
      sb:config{ scroll_ttl = 30 }
      assert.equals(404, res.status)
      assert.equals("Not Found", res.json.error)
    end)
  end)

  describe("jobs", function()
    local function wait_job(path, id)
      for _ = 1, 60 do
        local res = call("GET", path, { id = id })
        assert.equals(200, res.status)
        if res.json.progress == 100 then return res.json end
        sandbox.sleep(0.1)
      end
      error("job did not finish")
    end

    it("batch-deletes files and folders asynchronously", function()
      sb:config{ job_seconds = 0.3 }
      call("POST", "/v2/files/upload", { filename = "/bd/a.txt" }, { body = "a" })
      call("POST", "/v2/files/upload", { filename = "/bd/sub/b.txt" }, { body = "b" })
      local res = call("POST", "/v2/files/batch/delete", nil, { json = { filenames = { "/bd/a.txt", "/bd/sub/", "/bd/none" } } })
      assert.equals(200, res.status)
      assert.equals("rest:post:files:batch:delete", res.headers["x-ratelimit-type"])
      local id = res.json.id
      local first = call("GET", "/v2/files/batch/delete", { id = id }).json
      assert.is_true(first.progress < 100)
      local done = wait_job("/v2/files/batch/delete", id)
      assert.is_true(done.result[1].success)
      assert.is_true(done.result[2].success)
      assert.is_false(done.result[3].success)
      assert.equals(404, call("GET", "/v2/files/stat", { filename = "/bd/sub" }).status)
    end)

    it("zips files into an archive served by the sandbox", function()
      local res = call("POST", "/v2/files/zip", nil, { json = { filenames = { "/ops/a.txt", "/src" }, zipFilename = "my files.zip" } })
      assert.equals(200, res.status)
      local done = wait_job("/v2/files/zip", res.json.id)
      local item = done.result[1]
      assert.equals("my files.zip", item.filename)
      local path = item.url:sub(#sb.url + 1)
      local z = sb:request{ path = path }
      assert.equals(200, z.status)
      assert.equals(item.size, #z.body)
      assert.equals("PK\3\4", z.body:sub(1, 4))
      sb:config{ job_seconds = 2 }
    end)
  end)

  describe("tus", function()
    it("hands out a tus URL that creates the file in the account", function()
      local locs = call("GET", "/v2/files/tus/locations")
      assert.equals(200, locs.status)
      local res = call("GET", "/v2/files/tus/url", { location = locs.json[1].id })
      assert.equals(200, res.status)
      local url = res.json.url
      local path = url:sub(#sb.url + 1)
      local data = string.rep("0123456789", 1000)
      local meta = "filename " .. sandbox.sh("printf '%s' '/tus/up.txt' | base64 -w0")
      local create = sb:request{ method = "POST", path = path, headers = {
        ["tus-resumable"] = "1.0.0", ["upload-length"] = tostring(#data), ["upload-metadata"] = meta,
      } }
      assert.equals(201, create.status)
      local loc = create.headers["location"]:sub(#sb.url + 1)
      local function patch(offset, chunk)
        return sb:request{ method = "PATCH", path = loc, body = chunk, headers = {
          ["tus-resumable"] = "1.0.0", ["upload-offset"] = tostring(offset),
          ["content-type"] = "application/offset+octet-stream",
        } }
      end
      local p1 = patch(0, data:sub(1, 4000))
      assert.equals(204, p1.status)
      assert.equals("4000", p1.headers["upload-offset"])
      assert.equals(409, patch(0, "x").status)
      local head = sb:request{ method = "HEAD", path = loc, headers = { ["tus-resumable"] = "1.0.0" } }
      assert.equals("4000", head.headers["upload-offset"])
      assert.equals(204, patch(4000, data:sub(4001)).status)
      assert.equals(data, call("GET", "/v2/files/download", { filename = "/tus/up.txt" }).body)
    end)
  end)

  describe("account and conversions", function()
    it("answers the account, billing, users and stats methods", function()
      for _, p in ipairs({ "/v2/account", "/v2/billing/plan", "/v2/account/users", "/v2/account/storage",
                           "/v2/stats/http", "/v2/stats/storage", "/v2/stats/spins/views" }) do
        local res = call("GET", p)
        assert.equals(200, res.status, p)
        assert.is_table(res.json, p)
      end
      local stats = call("GET", "/v2/stats/http").json
      for k, v in pairs(stats) do
        assert.matches("^%d+000$", k)
        assert.is_number(v.total.count)
      end
      local users = call("GET", "/v2/account/users").json
      assert.equals(200, call("GET", "/v2/user", { userId = users[1].userId }).status)
      assert.equals(200, call("POST", "/v2/account", nil, { json = { minify = { enabled = true } } }).status)
      assert.is_true(call("GET", "/v2/account").json.minify.enabled)
    end)

    it("makes JWT URLs and converts spins", function()
      local res = call("POST", "/v2/files/jwt", nil, { json = {
        filename = "/ops/a.txt", key = "secret", expiresIn = 60, secureParams = { w = 100 },
      } })
      assert.equals(200, res.status)
      assert.matches("%?jwt=", res.json.url)
      assert.equals("abc", sb:request{ path = res.json.url:sub(#sb.url + 1):gsub("%?.*$", "") }.body)
      call("POST", "/v2/files/upload", { filename = "/v/clip.mp4" }, { body = "not really a video", headers = { ["content-type"] = "video/mp4" } })
      res = call("POST", "/v2/files/video2spin", nil, { json = { filename = "/v/clip.mp4", options = { frames = 8 } } })
      assert.equals(200, res.status)
      assert.equals("/v/clip/clip.spin", res.json.filename)
      res = call("POST", "/v2/files/spin2video", nil, { json = { filename = "/v/clip/clip.spin", options = { width = 640, height = 480 } } })
      assert.equals("/v/clip/clip_single_640x480.mp4", res.json.filename)
      res = call("POST", "/v2/files/spin2amazon360", nil, { json = { filename = "/v/clip/clip.spin", asin = "B000TEST" } })
      assert.equals("/v/clip/B000TEST.zip", res.json.filename)
      assert.equals("application/zip", call("GET", "/v2/files/stat", { filename = res.json.filename }).json.contentType)
    end)
  end)

  describe("reset", function()
    it("forgets files and invalidates tokens", function()
      sb:reset()
      local res = call("GET", "/v2/files/stat", { filename = "/ops/a.txt" })
      assert.equals(401, res.status)
      token = sb:token()
      assert.equals(404, call("GET", "/v2/files/stat", { filename = "/ops/a.txt" }).status)
      assert.equals(0, sb:stats().token_requests - 1)
    end)
  end)
end)
