-- req.body_parts: a request body made of strings and file ranges sent in order
-- with one Content-Length (a multipart form around a file streamed from disk),
-- on both transports: libcurl (core.easy, core.multi through mediacdn.loop)
-- against spec/helpers/httpd.lua, and resty inside the nginx rig.
package.path = "spec/?.lua;" .. package.path

local httpd = require "helpers.httpd"
local rig = require "helpers.rig"
local core = require "mediacdn.core"
local loop = require "mediacdn.loop"
local curl = require "mediacdn.transport.curl"

local MiB = 1024 * 1024
local PRE = '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n'
local POST = "\r\n--xyz--\r\n"

-- a file whose every MiB differs
local function make_file(path, mib)
  local f = assert(io.open(path, "wb"))
  for i = 1, mib do assert(f:write(string.rep(("%07d\n"):format(i), MiB / 8))) end
  f:close()
end

-- the expected body written to `out`: PRE, bytes [offset, offset+length) of src, POST
local function expected(out, src, offset, length)
  local o, s = assert(io.open(out, "wb")), assert(io.open(src, "rb"))
  o:write(PRE)
  s:seek("set", offset)
  local left = length
  while left > 0 do
    local c = s:read(math.min(MiB, left))
    o:write(c)
    left = left - #c
  end
  o:write(POST)
  o:close()
  s:close()
end

local function echo_of(res, err)
  assert(res, err and err.message)
  return assert(core.json_decode(res.body))
end

local seen = httpd.seen

describe("req.body_parts over libcurl", function()
  local srv, tmp, big, t

  setup(function()
    srv = httpd.start{}
    tmp = httpd.tmpdir()
    big = tmp .. "/big.bin"
    make_file(big, 20)
  end)

  teardown(function()
    if t then t:close() end
    if srv then srv:stop() end
    if tmp then httpd.sh_ok("rm -rf '" .. tmp .. "'") end
  end)

  before_each(function() t = t or curl.new() end)

  it("sends the parts in order with their total as Content-Length, never chunked", function()
    local offset, length = 123457, 15 * MiB + 3
    local echo = echo_of(t:request{ method = "POST", url = srv.url .. "/echo", timeout = 120,
      body_parts = { PRE, { path = big, offset = offset, length = length }, "", POST } })
    local total = #PRE + length + #POST
    assert.are.equal(total, echo.body_length)
    assert.are.equal(tostring(total), seen(echo, "Content-Length"))
    assert.is_nil(seen(echo, "Transfer-Encoding"))
    expected(tmp .. "/want.bin", big, offset, length)
    assert.are.equal(httpd.sha1_file(tmp .. "/want.bin"), echo.body_sha1)
  end)

  it("runs through the multi interface inside mediacdn.loop", function()
    local echoes = loop.run(function()
      return loop.gather({
        function() return echo_of(t:request{ method = "PUT", url = srv.url .. "/echo",
          body_parts = { PRE, { path = big, length = MiB }, POST } }) end,
        function() return echo_of(t:request{ method = "PUT", url = srv.url .. "/echo",
          body_parts = { "a", { path = big, offset = MiB, length = 0 }, "b" } }) end,
      }, { concurrency = 2 })
    end)
    expected(tmp .. "/want2.bin", big, 0, MiB)
    assert.are.equal(httpd.sha1_file(tmp .. "/want2.bin"), echoes[1].body_sha1)
    assert.are.equal(2, echoes[2].body_length)
  end)

  it("refuses misuse naming the field, and fails locally for a bad range", function()
    local function raises(pattern, req)
      req.method, req.url = "POST", srv.url .. "/echo"
      local ok, err = pcall(t.request, t, req)
      assert.is_false(ok)
      assert.matches(pattern, tostring(err))
    end
    raises("req%.body_parts must be a non%-empty list", { body_parts = {} })
    raises("req%.body_parts%[2%] must be a string or a file range", { body_parts = { "a", 42 } })
    raises("req%.body_parts%[1%]%.length must be a non%-negative integer", { body_parts = { { path = big } } })
    raises("req%.body_parts%[1%]%.path must be a string", { body_parts = { { length = 1 } } })
    raises("req%.body_parts must be absent when req%.body", { body = "x", body_parts = { "a" } })
    local res, err = t:request{ method = "POST", url = srv.url .. "/echo",
      body_parts = { "a", { path = big, offset = 20 * MiB - 5, length = 6 } } }
    assert.is_nil(res)
    assert.are.equal("local", err.kind)
    res, err = t:request{ method = "POST", url = srv.url .. "/echo",
      body_parts = { { path = tmp .. "/missing", length = 1 } } }
    assert.is_nil(res)
    assert.are.equal("local", err.kind)
  end)
end)

describe("req.body_parts over resty (nginx rig)", function()
  local r

  setup(function()
    r = rig.start{ workers = 1 }
  end)

  teardown(function()
    if r then r:stop() end
    rig.stop_all()
  end)

  local function run(req)
    local status, v, raw = r:json{ path = "/t/transport_cases/request", json = { req = req } }
    assert.are.equal(200, status, raw)
    return v
  end

  it("streams the parts with one Content-Length, byte for byte", function()
    local src = r.prefix .. "/work/src.bin"
    make_file(src, 12)
    local offset, length = 999, 10 * MiB
    local v = run{ method = "PUT", url = r.upstream_url .. "/u/store?name=parts.bin", timeout = 60,
      body_parts = { PRE, { path = src, offset = offset, length = length }, POST } }
    assert.is_nil(v.err)
    assert.are.equal(200, v.status)
    local got = rig.json.decode(v.body)
    assert.are.equal(#PRE + length + #POST, got.bytes)
    assert.is_nil(got.chunked)
    local want = r.prefix .. "/work/want.bin"
    expected(want, src, offset, length)
    local a, b = assert(io.open(r.prefix .. "/recv/parts.bin", "rb")), assert(io.open(want, "rb"))
    local same = true
    while true do
      local x, y = a:read(MiB), b:read(MiB)
      if x ~= y then same = false break end
      if not x then break end
    end
    a:close() b:close()
    assert.is_true(same, "the stored body differs")
  end)

  it("fails locally, before sending, when a file part is short or missing", function()
    local src = r.prefix .. "/work/short.bin"
    local f = assert(io.open(src, "wb")); f:write(string.rep("s", 100)); f:close()
    local v = run{ method = "PUT", url = r.upstream_url .. "/u/store?name=short.bin",
      body_parts = { "x", { path = src, offset = 50, length = 51 } } }
    assert.are.equal("local", v.err.kind)
    v = run{ method = "PUT", url = r.upstream_url .. "/u/store?name=none.bin",
      body_parts = { { path = r.prefix .. "/work/missing.bin", length = 1 } } }
    assert.are.equal("local", v.err.kind)
  end)
end)
