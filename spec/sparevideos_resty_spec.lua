-- The SpareVideos client inside real nginx handlers (spec/helpers/rig.lua), against
-- the sandbox: the resty transport (cosockets, never blocking a worker) runs the
-- flow, a remote upload's progress is polled from a light thread, and the shipped
-- example examples/openresty/sparevideos_uploads.lua hands browsers upload slots.
-- busted runs this file under lua5.4 and luajit; the client runs in the rig's workers.
package.path = "spec/?.lua;" .. package.path

local rig = require "helpers.rig"
local util = require "helpers.util"
local sandbox = require "helpers.sandbox"

local MiB = 1048576

describe("SpareVideos client in nginx handlers (against the sandbox)", function()
  local sb, r

  setup(function()
    sb = sandbox.start{ latency_ms = 100 }
    r = rig.start{
      workers = 2,
      env = {
        SPAREVIDEOS_BASE_URL = sb.url .. "/api/v1",
        SPAREVIDEOS_PUBLIC_KEY = "sandbox-public-key",
        SPAREVIDEOS_PRIVATE_KEY = "sandbox-private-key",
      },
      http = "lua_shared_dict sparevideos_codes 1m;",
      server = ("location /sv/ { content_by_lua_file %s/examples/openresty/sparevideos_uploads.lua; }")
        :format(util.root),
    }
  end)

  teardown(function()
    if r then r:stop() end
    if sb then sb:stop() end
    rig.stop_all()
  end)

  before_each(function()
    sb:clear_faults()
    sb:control("POST", "/_sandbox/sv/reset")
    sb:config{ sv_convert_seconds = 0.3, sv_fetch_rate = 0 }
  end)

  it("uploads (streamed), converts, waits, lists and deletes over cosockets", function()
    local src = r.prefix .. "/work/clip.mp4"
    local f = assert(io.open(src, "wb"))
    f:write(string.rep("mediacdn", MiB / 8 * 3))
    f:close()
    sb:faults{ { path = "/api/v1/me/file", action = "status", status = 503, times = 1 } }
    local status, v, raw = r:json{ path = "/t/sparevideos_cases/flow?path=" .. sandbox.url_escape(src), timeout = 60 }
    assert.are.equal(200, status, raw)
    assert.is_true(v.ok, raw)
    assert.are.equal("resty", v.transport)
    assert.is_true(v.found)
    assert.are.equal(3, v.mp4)
    local _, files = sb:control("GET", "/_sandbox/sv/files")
    assert.are.equal(0, files.count)
  end)

  it("polls a remote upload's progress from a light thread while the POST runs", function()
    sb:control("POST", "/_sandbox/sv/seed", { count = 1, size = 400000 })
    local _, files = sb:control("GET", "/_sandbox/sv/files")
    sb:config{ sv_fetch_rate = 400000 }
    local src = sb.url .. "/sv/streams/" .. files.files[1].code .. "/360.mp4"
    local status, v, raw = r:json{ path = "/t/sparevideos_cases/remote?url=" .. sandbox.url_escape(src), timeout = 60 }
    assert.are.equal(200, status, raw)
    assert.is_true(v.ok, raw)
    assert.are.equal(100, v.progress[#v.progress])
    assert.is_true(#v.progress >= 2, raw)
  end)

  it("serves concurrent handler calls without blocking a worker", function()
    sb:control("POST", "/_sandbox/sv/seed", { count = 1 })
    local _, files = sb:control("GET", "/_sandbox/sv/files")
    local paths = {}
    for i = 1, 20 do paths[i] = "/t/sparevideos_cases/file?code=" .. files.files[1].code end
    local _, statuses, bodies = r:parallel(paths, 20)
    for i = 1, 20 do
      assert.are.equal(200, statuses[i])
      assert.is_true(rig.json.decode(bodies[i]).ok, bodies[i])
    end
    -- a worker blocked on its sandbox call would serve one call at a time: with 2
    -- workers, more than 2 in flight at once proves the calls overlapped
    local peak = rig.peak_in_flight(bodies)
    assert.is_true(peak > 2, ("at most %d calls in flight at once"):format(peak))
  end)

  it("the example hands browsers an upload slot and a signed initiate URL, then converts", function()
    local status, slot, raw = r:json{ path = "/sv/slot" }
    assert.are.equal(200, status, raw)
    assert.matches("^" .. sb.url:gsub("%p", "%%%0") .. "/fileservers/upload%?ref=", slot.upload_url)
    assert.is_nil(raw:find("sandbox-private-key", 1, true))
    -- the browser's part: POST the file to upload_url
    local src = r.prefix .. "/work/browser.webm"
    local f = assert(io.open(src, "wb")); f:write(string.rep("w", 5000)); f:close()
    local out = util.capture(("curl -s -F %s %s"):format(util.shell_quote("file=@" .. src), util.shell_quote(slot.upload_url)))
    local up = rig.json.decode(out)
    assert.are.equal("success", up.status, out)
    -- step two: report the code, the server stores it and converts
    local cs, conv, craw = r:json{ path = "/sv/convert?code=" .. up.code, method = "POST" }
    assert.are.equal(200, cs, craw)
    assert.are.equal(up.code, conv.code)
    assert.is_false(conv.already)
    -- the signed-URL variant: the browser calls initiate itself
    local ss, signed = r:json{ path = "/sv/sign" }
    assert.are.equal(200, ss)
    local init = rig.json.decode(util.capture("curl -s " .. util.shell_quote(signed.initiate_url)))
    assert.are.equal("success", init.status)
    assert.are.equal(404, (r:request{ path = "/sv/nope" }))
    assert.are.equal(400, (r:request{ path = "/sv/convert", method = "POST" }))
  end)

  it("runs the SpareVideos location of examples/openresty/nginx.conf as shipped", function()
    local ex = rig.start_example{ pass_env = {
      SPAREVIDEOS_BASE_URL = sb.url .. "/api/v1",
      SPAREVIDEOS_PUBLIC_KEY = "sandbox-public-key",
      SPAREVIDEOS_PRIVATE_KEY = "sandbox-private-key",
    } }
    local ok, err = pcall(function()
      local status, slot, raw = ex:json{ path = "/sv/slot" }
      assert.are.equal(200, status, raw)
      assert.matches("/fileservers/upload%?ref=", slot.upload_url)
      assert.matches("/fileservers/upload/progress%?ref=", slot.progress_url)
    end)
    ex:stop()
    assert(ok, err)
  end)
end)
