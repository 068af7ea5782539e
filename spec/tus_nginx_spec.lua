-- mediacdn.tus inside nginx: a handler uploads a large file through tus (resty
-- transport, cosockets) to the real @tus/server while other requests to the
-- same worker are answered in the middle of it. The spec asserts interleaving
-- (pings answered while the upload's confirmed bytes were between 0 and the
-- total, and before the upload's own answer), not durations.
-- It uploads the issue's 100 MB; MC_TUS_QUICK=1 shrinks that to 32 MiB.
local cjson = require "dkjson" -- (a busted dependency; same decode/encode)
local rig_helper = require "helpers.rig"
local util = require "helpers.util"
local core = require "mediacdn.core"
local tus_server = require "helpers.tus_server"
local sandbox = require "helpers.sandbox"

local available = tus_server.available()
local describe_server = available and describe or pending

describe_server("tus.upload inside nginx", function()
  local r, server, f
  local size = (os.getenv("MC_TUS_QUICK") ~= "1") and 100 * 1000 * 1000 or 32 * 1024 * 1024
  setup(function()
    server = tus_server.start()
    r = rig_helper.start{ workers = 1 }
    f = util.tmpname(".bin")
    assert(util.sh_ok(("head -c %d /dev/urandom > %s && chmod 644 %s"):format(size, util.shell_quote(f), util.shell_quote(f))))
  end)
  teardown(function()
    if r then r:stop() end
    if server then server:stop() end
    if f then os.remove(f) end
  end)

  it("uploads through cosockets while the same worker answers other requests", function()
    local body = util.tmpname(".json")
    util.write_file(body, cjson.encode{ endpoint = server.endpoint, path = f, chunk_size = 1024 * 1024 })
    local out = util.tmpname(".out")
    -- the upload request runs in the background (curl CLI)
    local up = assert(io.popen(("curl -s --max-time 300 -H 'Content-Type: application/json' --data-binary @%s -o %s %s/t/tus_cases/upload; echo done")
      :format(util.shell_quote(body), util.shell_quote(out), r.url)))
    local pings, during = {}, 0
    for _ = 1, 2000 do
      local status, text = r:request{ path = "/t/tus_cases/ping" }
      assert.equal(200, status)
      local p = cjson.decode(text)
      pings[#pings + 1] = p
      if p.bytes > 0 and p.bytes < size and not p.done then during = during + 1 end
      if p.done or during >= 5 then break end
    end
    up:read("*a")
    up:close()
    local text = util.read_file(out)
    assert.is_string(text)
    local res = cjson.decode(text)
    assert.is_true(res.ok, res.error)
    -- one worker served everything
    for _, p in ipairs(pings) do assert.equal(res.pid, p.pid) end
    -- pings were answered while the upload was in flight, and before it answered
    assert.is_true(during >= 1, "no ping was answered during the upload")
    local first_during
    for _, p in ipairs(pings) do
      if p.bytes > 0 and p.bytes < size then first_during = first_during or p.seq end
    end
    assert.is_true(first_during < res.seq)
    -- progress came from inside PATCH bodies too (the resty transport's send loop)
    assert.is_true(res.mid_chunk_reports > 0)
    local stored = server:data_path(res.url)
    assert.equal(core.file_digest(f, 0, size, "sha256"), core.file_digest(stored, 0, size, "sha256"))
    os.remove(body); os.remove(out)
  end)

  it("runs a parallel upload's parts as light threads (concatenation, sandbox)", function()
    local sb = sandbox.start{}
    local ok, err = pcall(function()
      local url = sb:request{ path = "/v2/files/tus/url", query = { location = "sandbox" }, token = true }.json.url
      local status, text = r:request{ path = "/t/tus_cases/upload", json = { endpoint = url, path = f,
        chunk_size = 1024 * 1024, parallel = 4, metadata = { filename = "/nginx/par.bin" } }, timeout = 300 }
      assert.equal(200, status)
      local res = cjson.decode(text)
      assert.is_true(res.ok, res.error)
      assert.equal(4, res.parts)
      local out = util.tmpname(".dl")
      assert.equal(200, sb:request{ path = "/v2/files/download", query = { filename = "/nginx/par.bin" },
        token = true, output = out }.status)
      assert.equal(core.file_digest(f, 0, size, "sha256"), core.file_digest(out, 0, size, "sha256"))
      os.remove(out)
    end)
    sb:stop()
    assert(ok, err)
  end)
end)
