-- Hostile servers, both transports alike (issue 18, item 4).
--
-- A deliberately broken HTTP server (spec/helpers/hostile_server.lua) answers
-- with chunk sizes that overflow, bad Content-Length, oversized heads, 10,000
-- header lines, a 1 MiB header, premature closes, garbage, deep JSON and JSON
-- holding NUL, or drips a byte at a time. Every case runs over the curl
-- transport (blocking, and inside mediacdn.loop over curl multi) and over the
-- resty transport inside nginx (spec/helpers/rig.lua: transport_cases and
-- hostile_cases), and the spec asserts the same clean error kind from each.
--
-- Times: the drip cases assert only that a limit fired long before the
-- dripping server would have finished (margins of 10x and more), which is
-- what proves the deadline and the stall limit hold.
package.path = "spec/?.lua;" .. package.path

local hostile = require "helpers.hostile_server"
local rig = require "helpers.rig"
local util = require "helpers.util"
local curl = require "mediacdn.transport.curl"
local loop = require "mediacdn.loop"
local sirv_mod = require "mediacdn.sirv"

-- mode, query, the kind every transport must report, a message pattern
local BROKEN = {
  { "chunk_overflow", nil, "protocol", "chunk" },
  { "bad_length", { v = "abc" }, "protocol", "Content%-Length" },
  { "bad_length", { v = "negative" }, "protocol", "Content%-Length" },
  { "bad_length", { v = "conflict" }, "protocol", "Content%-Length" },
  { "bad_length", { v = "overflow" }, "protocol", "Content%-Length" },
  { "big_head", { lines = 100, size = 1024 }, "protocol", "65536 bytes" },
  { "many_headers", nil, "protocol", "more than 200 response header lines" },
  { "many_headers", { n = 201 }, "protocol", "more than 200 response header lines" },
  { "huge_header", nil, "protocol", "head" },
  { "huge_header", { size = 150000 }, "protocol", "head" },
  { "garbage", { v = "ssh" }, "protocol", "status line" },
  { "garbage", { v = "binary" }, "protocol", "status line" },
  { "premature", { v = "length" }, "transient" },
  { "premature", { v = "chunked" }, "transient" },
  { "premature", { v = "head" }, "transient" },
  { "premature", { v = "nothing" }, "transient" },
}

describe("hostile servers, both transports alike", function()
  local srv, r, t

  setup(function()
    srv = hostile.start()
    r = rig.start{ workers = 1 }
    t = curl.new()
  end)

  teardown(function()
    if t then t:close() end
    if r then r:stop() end
    rig.stop_all()
    if srv then srv:stop() end
  end)

  -- req on the blocking curl transport: res, err, seconds taken
  local function via_curl(req)
    local t0 = util.now()
    local res, err = t:request(req)
    return res, err, util.now() - t0
  end

  -- req on curl multi, inside mediacdn.loop
  local function via_loop(req)
    local res, err
    local t0 = util.now()
    loop.run(function() res, err = curl.new():request(req) end)
    return res, err, util.now() - t0
  end

  -- req on the resty transport inside nginx: a summary (status, body) or nil,
  -- the terr, seconds taken (measured in the handler)
  local function via_resty(req)
    local status, v, raw = r:json{ path = "/t/transport_cases/request", json = { req = req } }
    assert.are.equal(200, status, raw)
    if v.err then return nil, v.err, v.took end
    return v, nil, v.took
  end

  local PATHS = { curl = via_curl, loop = via_loop, resty = via_resty }

  -- run req on every path: { name = { res, err, took } }
  local function everywhere(req)
    local out = {}
    for name, fn in pairs(PATHS) do
      local res, err, took = fn(req)
      out[name] = { res = res, err = err, took = took }
    end
    return out
  end

  describe("broken responses", function()
    for _, case in ipairs(BROKEN) do
      local mode, query, kind, pattern = case[1], case[2], case[3], case[4]
      local label = mode .. (query and (" " .. (query.v or query.n or query.size or query.lines)) or "")
      it(("%s: kind %s from curl, curl multi and resty"):format(label, kind), function()
        local out = everywhere{ url = srv:url(mode, query), timeout = 20 }
        local codes = {}
        for name, o in pairs(out) do
          assert.is_nil(o.res, name)
          assert.is_table(o.err, name)
          assert.are.equal(kind, o.err.kind, name .. ": " .. tostring(o.err.message))
          assert.is_true(#o.err.message > 0 and not o.err.message:find("\n"), name)
          if pattern then assert.matches(pattern, o.err.message, 1, false, name) end
          codes[name] = o.err.code
        end
        -- a broken reply is the same libcurl number everywhere (8: weird reply)
        if kind == "protocol" then
          assert.are.same({ curl = 8, loop = 8, resty = 8 }, codes)
        end
      end)
    end
  end)

  describe("the head limits (200 lines, 64 KiB) are one rule", function()
    it("accepts a head at the limits on every path", function()
      -- 199 lines + Content-Length = 200 header lines; 60 x 1000 bytes < 64 KiB
      for _, u in ipairs{ srv:url("many_headers", { n = 199 }),
                          srv:url("big_head", { lines = 60, size = 1000 }) } do
        for name, o in pairs(everywhere{ url = u, timeout = 20 }) do
          assert.is_nil(o.err, name .. " " .. u)
          assert.are.equal(200, o.res.status, name)
          assert.are.equal("ok", o.res.body, name)
        end
      end
    end)
  end)

  describe("JSON a server must not send", function()
    -- sirv:call on the curl transport (blocking and in a loop) and on resty
    local function sirv_curl(base, in_loop)
      local s = sirv_mod.new{ client_id = "hostile-id", client_secret = "hostile-secret-0123456789",
        base_url = base, transport = "curl", retry = { attempts = 1 } }
      local res, err
      if in_loop then
        loop.run(function() res, err = s:call("getFilesStat", { filename = "/a.jpg" }) end)
      else
        res, err = s:call("getFilesStat", { filename = "/a.jpg" })
      end
      return res, err
    end

    for _, v in ipairs{ "deep", "nul", "nul_escaped" } do
      it(v .. ": a protocol error from every path, never a crash or a truncated value", function()
        local base = srv:json_base(v)
        for _, in_loop in ipairs{ false, true } do
          local res, err = sirv_curl(base, in_loop)
          assert.is_nil(res)
          assert.are.equal("protocol", err.kind)
          assert.matches("invalid JSON", tostring(err))
        end
        local status, o = r:json{ path = "/t/hostile_cases/call", json = { base_url = base,
          op = "getFilesStat", params = { filename = "/a.jpg" } } }
        assert.are.equal(200, status)
        assert.are.equal("resty", o.transport)
        assert.is_false(o.ok)
        assert.are.equal("protocol", o.kind)
        assert.matches("invalid JSON", o.message)
      end)
    end
  end)

  describe("a server that drips", function()
    -- the whole-request deadline: 2 s against a server dripping for 40 s
    for _, at in ipairs{ "head", "body" } do
      it("a 2 s timeout ends a request whose " .. at .. " drips a byte per second for 40 s", function()
        local req = { url = srv:url("drip", { at = at, every = 1, n = 40 }), timeout = 2,
          stall_timeout = 0 }
        for name, o in pairs(everywhere(req)) do
          assert.is_nil(o.res, name)
          assert.are.equal("timeout", o.err.kind, name .. ": " .. tostring(o.err.message))
          assert.are.equal(28, o.err.code, name)
          assert.is_true(o.took < 20, name .. " took " .. o.took)
        end
      end)
    end

    -- below HTTP: a TLS handshake record dripping a byte per second for 40 s
    it("a 2 s timeout ends a TLS handshake that drips a byte per second", function()
      local drip, why = hostile.start_tls_drip()
      if not drip then return pending(why) end
      local ok, failure = pcall(function()
        for name, o in pairs(everywhere{ url = drip.url, timeout = 2 }) do
          assert.is_nil(o.res, name)
          assert.are.equal("timeout", o.err.kind, name .. ": " .. tostring(o.err.message))
          assert.is_true(o.took < 20, name .. " took " .. o.took)
          if name == "resty" then -- the limit that fired, not the connect limit
            assert.matches("timed out after 2s", o.err.message)
          end
        end
      end)
      drip:stop()
      assert(ok, failure)
    end)

    -- the stall limit means "under 1 byte/s for N s" on every path: a byte
    -- every 2 s is too slow although a byte never waits 3 s
    it("stall_timeout 3 ends a body dripping a byte every 2 s (60 s in all)", function()
      local req = { url = srv:url("drip", { at = "body", every = 2, n = 30 }), timeout = 0,
        stall_timeout = 3 }
      for name, o in pairs(everywhere(req)) do
        assert.is_nil(o.res, name)
        assert.are.equal("timeout", o.err.kind, name .. ": " .. tostring(o.err.message))
        assert.are.equal(28, o.err.code, name)
        assert.is_true(o.took < 30, name .. " took " .. o.took)
      end
    end)

    it("stall_timeout 2 lets a body of 4 bytes a second finish", function()
      local req = { url = srv:url("drip", { at = "body", every = 1, chunk = 4, n = 12 }),
        timeout = 60, stall_timeout = 2 }
      for name, o in pairs(everywhere(req)) do
        assert.is_nil(o.err, name .. ": " .. tostring(o.err and o.err.message))
        assert.are.equal(200, o.res.status, name)
        assert.are.equal(("d"):rep(12), o.res.body, name)
      end
    end)
  end)
end)
