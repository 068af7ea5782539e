-- Progress reports while bytes move, on the curl transport blocking and inside
-- mediacdn.loop (the resty transport: spec/tus_nginx_spec.lua): tus uploads,
-- standard uploads and downloads report bytes in the middle of a request body,
-- at most every progress_interval, and exactly once at the end (done = true).
local sirv_mod = require "mediacdn.sirv"
local tus = require "mediacdn.tus"
local loop = require "mediacdn.loop"
local core = require "mediacdn.core"
local util = require "helpers.util"
local sandbox = require "helpers.sandbox"
local tus_server = require "helpers.tus_server"

local MiB = 1024 * 1024

local function random_file(bytes)
  local p = util.tmpname(".bin")
  assert(util.sh_ok(("head -c %d /dev/urandom > %s"):format(bytes, util.shell_quote(p))))
  return p
end

-- check a list of reports: monotone enough, one final, some in the middle
local function check_reports(reports, total)
  assert.is_true(#reports >= 2, "reports: " .. #reports)
  local finals, middle = 0, 0
  for i, p in ipairs(reports) do
    assert.equal(total, p.total)
    assert.is_true(p.rate >= 0)
    if p.done then
      finals = finals + 1
      assert.equal(#reports, i)
      assert.equal(total, p.bytes)
      assert.equal(0, p.eta)
    elseif p.bytes > 0 and p.bytes < total then
      middle = middle + 1
    end
  end
  assert.equal(1, finals)
  return middle
end

describe("progress", function()
  local sb, c, server
  setup(function()
    sb = sandbox.start{}
    c = sirv_mod.new{ base_url = sb.url, client_id = "sandbox-client-id", client_secret = "sandbox-client-secret" }
    if tus_server.available() then server = tus_server.start() end
  end)
  teardown(function()
    if sb then sb:stop() end
    if server then server:stop() end
  end)
  before_each(function() if sb then sb:clear_faults() end end)

  for _, mode in ipairs{ "blocking", "loop" } do
    local function run(fn)
      if mode == "loop" then
        local out
        loop.run(function() out = { fn() } end)
        return table.unpack and table.unpack(out) or unpack(out)
      end
      return fn()
    end

    it(mode .. ": a tus upload reports bytes inside one large PATCH", function()
      if not server then return pending("no @tus/server") end
      local size = 48 * MiB
      local f = random_file(size)
      local reports = {}
      local res, err = run(function()
        return tus.upload(server.endpoint, f, { chunk_size = size, journal = false, checksum = false,
          progress_interval = 0, on_progress = function(p) reports[#reports + 1] = p end })
      end)
      assert.is_nil(err)
      assert.equal(size, res.size)
      -- creation-with-upload sends the whole file in one request: every report
      -- but the last came from the transport while that body was moving
      assert.is_true(check_reports(reports, size) >= 1)
      os.remove(f)
    end)

    it(mode .. ": a standard upload and a download report bytes while they move", function()
      local size = 8 * MiB
      local f = random_file(size)
      local ups, downs = {}, {}
      -- 8 MiB at 16 MiB/s: the download lasts about half a second
      sb:faults{ { path = "/v2/files/download", method = "GET", action = "throttle", rate = 16 * MiB } }
      local dest = util.tmpname(".dl")
      local ok, err = run(function()
        local u, uerr = c:upload("/p/f.bin", f, { progress_interval = 0,
          on_progress = function(p) ups[#ups + 1] = p end })
        if not u then return nil, uerr end
        return c:download("/p/f.bin", dest, { progress_interval = 0,
          on_progress = function(p) downs[#downs + 1] = p end })
      end)
      assert.is_nil(err)
      assert.is_true(ok)
      check_reports(ups, size)
      assert.is_true(check_reports(downs, size) >= 1)
      assert.equal(core.file_digest(f, 0, size, "sha256"), core.file_digest(dest, 0, size, "sha256"))
      os.remove(f); os.remove(dest)
    end)
  end

  it("throttles reports to progress_interval", function()
    local size = 8 * MiB
    local f = random_file(size)
    assert(c:upload("/p/t.bin", f))
    sb:faults{ { path = "/v2/files/download", method = "GET", action = "throttle", rate = 16 * MiB } }
    local dest = util.tmpname(".dl")
    local reports = {}
    assert.is_true(c:download("/p/t.bin", dest, { progress_interval = 10,
      on_progress = function(p) reports[#reports + 1] = p end }))
    -- nothing in the middle with a 10 s interval, just the final report
    assert.equal(1, #reports)
    assert.is_true(reports[1].done)
    os.remove(f); os.remove(dest)
  end)

  it("a raising on_progress stops the transfer and the error reaches the caller", function()
    local f = random_file(16 * MiB)
    local ok, e = pcall(c.upload, c, "/p/raise.bin", f, { progress_interval = 0, on_progress = function(p)
      if p.bytes > 0 then error("stop the upload") end
    end })
    assert.is_false(ok)
    assert.matches("stop the upload", tostring(e))
    assert.has_error(function() c:upload("/p/x.bin", f, { on_progress = 42 }) end,
      "sirv:upload: opts.on_progress must be a function")
    os.remove(f)
  end)
end)
