-- The loop driven by another event loop: runs examples/external_loop_luv.lua
-- (libuv through luv) against a sandbox with the same interpreter.
local sandbox = require "helpers.sandbox"

describe("mediacdn.loop driven by libuv (examples/external_loop_luv.lua)", function()
  local sb
  setup(function() sb = sandbox.start{ latency_ms = 50 } end)
  teardown(function() if sb then sb:stop() end end)

  it("runs 20 concurrent calls inside uv.run()", function()
    local vm = rawget(_G, "jit") and "luajit" or "lua5.4"
    local p = assert(io.popen(("SIRV_BASE_URL='%s' %s examples/external_loop_luv.lua 2>&1"):format(sb.url, vm)))
    local out = p:read("*a")
    local ok = p:close()
    assert.is_truthy(ok, out)
    assert.matches("20 concurrent stat calls done under libuv", out)
    -- concurrency, not timing: all 20 calls were in flight together
    assert.equal("20", out:match("at most (%d+) in flight at once"))
    assert.are.equal(20, sb:stats().requests["GET /v2/files/stat"])
  end)
end)
