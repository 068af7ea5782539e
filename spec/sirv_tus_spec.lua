-- Sirv's resumable side against the sandbox: sirv:upload{resumable = true} runs
-- the tus flow (locations, minted URL, 1 MiB chunks, nearest location, waiting
-- for the file to become visible, a re-minted URL after expiry, the size
-- switch and cap), and sirv:download resumes a cut transfer with Range/If-Range.
local sandbox = require "helpers.sandbox"
local sirv_mod = require "mediacdn.sirv"
local core = require "mediacdn.core"
local util = require "helpers.util"

local MiB = 1024 * 1024

local function random_file(bytes)
  local p = util.tmpname(".bin")
  assert(util.sh_ok(("head -c %d /dev/urandom > %s"):format(bytes, util.shell_quote(p))))
  return p
end

local function sha256(path)
  return (assert(core.file_digest(path, 0, assert(core.file_size(path)), "sha256")))
end

describe("Sirv resumable transfers against the sandbox", function()
  local sb, events, c
  setup(function()
    sb = sandbox.start{}
  end)
  teardown(function() if sb then sb:stop() end end)
  before_each(function()
    sb:clear_faults()
    events = {}
    c = sirv_mod.new{ base_url = sb.url, client_id = "sandbox-client-id", client_secret = "sandbox-client-secret",
      on_event = function(ev) events[#events + 1] = ev end }
  end)
  after_each(function()
    sb:control("POST", "/_sandbox/tus", { visibility_delay = 0, locations = {
      sandbox = { latency_ms = 0 }, us_washington = { latency_ms = 0 }, gb_london = { latency_ms = 0 },
      de_frankfurt = { latency_ms = 0 } } })
  end)

  local function count(pred)
    local n = 0
    for _, ev in ipairs(events) do if pred(ev) then n = n + 1 end end
    return n
  end

  it("uploads through tus at the nearest location in chunks of at most 1 MiB, then sees the file", function()
    sb:control("POST", "/_sandbox/tus", { visibility_delay = 1, locations = {
      sandbox = { latency_ms = 60 }, us_washington = { latency_ms = 60 }, gb_london = { latency_ms = 60 },
      de_frankfurt = { latency_ms = 0 } } })
    local f = random_file(3 * MiB + 5)
    local res, err = c:upload("/big/a.bin", f, { resumable = true, chunk_size = 8 * MiB, journal = false })
    assert.is_nil(err)
    assert.equal("de_frankfurt", res.location)
    assert.equal(3 * MiB + 5, res.stat.size)
    -- 1 MiB chunks (checksummed, so none rides on the creation): four PATCHes, none
    -- refused for its size; the stat was polled until the file was visible
    assert.equal(4, count(function(ev) return ev.type == "request" and ev.operation == "tus:patch" end))
    assert.equal(0, count(function(ev) return ev.type == "tus" and tostring(ev.action):match("halved") end))
    assert.equal("sha256", res.checksum)
    assert.is_true(count(function(ev) return ev.type == "request" and ev.operation == "getFilesStat" end) >= 2)
    local dl = util.tmpname(".dl")
    assert.is_true(c:download("/big/a.bin", dl))
    assert.equal(sha256(f), sha256(dl))
    os.remove(f); os.remove(dl)
  end)

  it("mints a new URL when the upload URL expires and continues where the server has the upload", function()
    local f = random_file(3 * MiB)
    sb:faults{ { path = "/upload/*", method = "PATCH", action = "expired_url", skip = 1 } }
    local res, err = c:upload("/big/exp.bin", f, { resumable = true, location = "gb_london", journal = false })
    assert.is_nil(err)
    assert.equal("gb_london", res.location)
    assert.equal(2, count(function(ev) return ev.type == "request" and ev.operation == "getFilesTusUrl" end))
    local dl = util.tmpname(".dl")
    assert.is_true(c:download("/big/exp.bin", dl))
    assert.equal(sha256(f), sha256(dl))
    os.remove(f); os.remove(dl)
  end)

  it("switches to tus above the threshold and refuses files above the cap", function()
    local f = random_file(2 * MiB)
    local res, err = c:upload("/big/auto.bin", f, { tus_threshold = MiB, location = "sandbox", journal = false })
    assert.is_nil(err)
    assert.equal(2 * MiB, res.size)
    assert.equal(0, count(function(ev) return ev.operation == "postFilesUpload" end))
    res, err = c:upload("/big/cap.bin", f, { resumable = true, max_size = MiB, journal = false })
    assert.is_nil(res)
    assert.equal("client", err.kind)
    assert.matches("at most", err.message)
    -- below the threshold: the standard upload
    res, err = c:upload("/big/std.bin", f, { location = "sandbox" })
    assert.is_nil(err)
    assert.truthy(res)
    assert.equal(1, count(function(ev) return ev.type == "request" and ev.operation == "postFilesUpload" end))
    -- Sirv's documented defaults: above 300 MB tus by itself, above 1 GB refused (a
    -- sparse file: nothing is read or sent)
    local sparse = util.tmpname(".sparse")
    assert(util.sh_ok("truncate -s 1100M " .. util.shell_quote(sparse)))
    res, err = c:upload("/big/huge.bin", sparse)
    assert.is_nil(res)
    assert.equal("client", err.kind)
    assert.matches("at most 1073741824", err.message)
    os.remove(sparse)
    res, err = c:upload("/big/missing.bin", "/nonexistent.bin", { resumable = true })
    assert.is_nil(res)
    assert.equal("local", err.kind)
    os.remove(f)
  end)

  it("resumes a download cut at 50% with a Range request for the rest only, byte-exact", function()
    local f = random_file(4 * MiB)
    assert(c:upload("/dl/r.bin", f, { resumable = false }))
    local dest = util.tmpname(".dl")
    -- the body is cut in the middle and the engine may not retry: .part keeps half
    local c1 = sirv_mod.new{ base_url = sb.url, client_id = "sandbox-client-id",
      client_secret = "sandbox-client-secret", retry = { attempts = 1 } }
    sb:faults{ { path = "/v2/files/download", method = "GET", action = "reset" } }
    local ok, err = c1:download("/dl/r.bin", dest)
    assert.is_nil(ok)
    assert.truthy(err)
    local have = core.file_size(dest .. ".part")
    assert.is_true(have > 0 and have < 4 * MiB)
    assert.is_nil(core.file_size(dest))
    ok, err = c:download("/dl/r.bin", dest)
    assert.is_nil(err)
    assert.is_true(ok)
    -- the second GET carried only the rest
    local got
    for _, ev in ipairs(events) do
      if ev.type == "response" and ev.operation == "getFilesDownload" and ev.status == 206 then got = ev.bytes end
    end
    assert.equal(4 * MiB - have, got)
    assert.equal(sha256(f), sha256(dest))
    assert.is_nil(core.file_size(dest .. ".part"))
    os.remove(f); os.remove(dest)
  end)

  it("continues a download whose process was killed at about 50%, fetching only the rest", function()
    local size = 8 * MiB
    local f = random_file(size)
    assert(c:upload("/dl/k.bin", f, { resumable = false }))
    local dest = util.tmpname(".dl")
    sb:faults{ { path = "/v2/files/download", method = "GET", action = "throttle", rate = 4 * MiB } }
    local script = util.tmpname(".lua")
    util.write_file(script, [[
      local c = require("mediacdn.sirv").new{ base_url = arg[1], client_id = "sandbox-client-id",
        client_secret = "sandbox-client-secret" }
      c:download("/dl/k.bin", arg[2])
    ]])
    local p = assert(io.popen(("echo $$; exec env LUA_PATH=%s LUA_CPATH=%s %s %s %s %s"):format(
      util.shell_quote(package.path), util.shell_quote(package.cpath), jit and "luajit" or "lua5.4",
      util.shell_quote(script), util.shell_quote(sb.url), util.shell_quote(dest)), "r"))
    local pid = assert(tonumber(p:read("*l")))
    local deadline = util.now() + 60
    while (core.file_size(dest .. ".part") or 0) < size / 2 and util.now() < deadline do util.sleep(0.02) end
    assert.is_true(util.run("kill -KILL " .. pid))
    p:close()
    local have = core.file_size(dest .. ".part")
    assert.is_true(have >= size / 2 and have < size)
    assert.is_nil(core.file_size(dest))
    sb:clear_faults()
    assert.is_true(c:download("/dl/k.bin", dest))
    local got
    for _, ev in ipairs(events) do
      if ev.type == "response" and ev.operation == "getFilesDownload" and ev.status == 206 then got = ev.bytes end
    end
    assert.equal(size - have, got)
    assert.equal(sha256(f), sha256(dest))
    os.remove(f); os.remove(dest); os.remove(script)
  end)

  it("starts over when the file changed since the .part was written", function()
    local f = random_file(2 * MiB)
    assert(c:upload("/dl/c.bin", f, { resumable = false }))
    local dest = util.tmpname(".dl")
    local c1 = sirv_mod.new{ base_url = sb.url, client_id = "sandbox-client-id",
      client_secret = "sandbox-client-secret", retry = { attempts = 1 } }
    sb:faults{ { path = "/v2/files/download", method = "GET", action = "reset" } }
    assert.is_nil((c1:download("/dl/c.bin", dest)))
    local g = random_file(2 * MiB)
    assert(c:upload("/dl/c.bin", g, { resumable = false }))
    assert.is_true(c:download("/dl/c.bin", dest))
    assert.equal(sha256(g), sha256(dest))
    os.remove(f); os.remove(g); os.remove(dest)
  end)
end)
