-- The SpareVideos client end to end against the sandbox (bin/mediacdn-sandbox):
-- the done-criteria of issue 14. Runs under Lua 5.4 and LuaJIT; the memory figure
-- comes from a child process of the same interpreter (spec/fixtures/sparevideos/flow.lua).
local sandbox = require "helpers.sandbox"
local util = require "helpers.util"
local sv_mod = require "mediacdn.sparevideos"
local errors = require "mediacdn.errors"
local loop = require "mediacdn.loop"
local core = require "mediacdn.core"

local MiB = 1048576
local VM = rawget(_G, "jit") and "luajit" or "lua5.4"

-- a file of n bytes written in 1 MiB chunks (the writer stays small)
local function write_file(path, n)
  local f = assert(io.open(path, "wb"))
  local chunk = string.rep("sparevid", MiB / 8)
  while n >= MiB do f:write(chunk); n = n - MiB end
  f:write(chunk:sub(1, n))
  f:close()
end

describe("SpareVideos client against the sandbox", function()
  local sb, api

  local function client(opts)
    opts = opts or {}
    opts.base_url = opts.base_url or api
    opts.public_key = opts.public_key or "sandbox-public-key"
    opts.private_key = opts.private_key or "sandbox-private-key"
    opts.retry = opts.retry or { attempts = 5, base = 0.02, cap = 0.2 }
    return sv_mod.new(opts)
  end

  local function tokens(key)
    local _, body = sb:control("GET", "/_sandbox/sv/tokens")
    return body.tokens[key] or {}
  end

  lazy_setup(function()
    sb = sandbox.start{}
    api = sb.url .. "/api/v1"
  end)

  lazy_teardown(function()
    if sb then sb:stop() end
  end)

  before_each(function()
    sb:clear_faults()
    sb:control("POST", "/_sandbox/sv/reset")
    sb:config{ sv_convert_seconds = 0.5, sv_page_size = 2000, sv_clock_offset = 0 }
  end)

  it("uploads 50 MB, converts, waits until ready, lists and deletes it; peak RSS under 40 MB", function()
    local path = os.tmpname()
    write_file(path, 50 * MiB)
    local out, rc = util.capture(("env SPAREVIDEOS_PUBLIC_KEY=sandbox-public-key SPAREVIDEOS_PRIVATE_KEY=sandbox-private-key %s %s %s %s")
      :format(VM, util.shell_quote(util.root .. "/spec/fixtures/sparevideos/flow.lua"), util.shell_quote(api),
        util.shell_quote(path)))
    local _, files = sb:control("GET", "/_sandbox/sv/files")
    os.remove(path)
    assert.are.equal(0, rc, out)
    local r = core.json_decode(out:match("({.*})%s*$") or "")
    assert.is_table(r, out)
    assert.matches("^%d+%-%w+$", r.code)
    -- the body's bytes as they go (the hook runs at most every 50 ms, so a fast
    -- loopback may show few steps): 0 first, 100 last, rising
    assert.are.equal(0, r.progress[1])
    assert.are.equal(100, r.progress[#r.progress])
    for i = 2, #r.progress do assert.is_true(r.progress[i] > r.progress[i - 1], table.concat(r.progress, " ")) end
    assert.is_false(r.already)
    assert.is_true(r.second_convert)
    assert.are.equal(3, r.mp4)
    assert.is_true(r.found)
    assert.are.equal(1, r.listed)
    assert.is_true(r.deleted)
    assert.are.equal(0, files.count)
    print(("\n    %s: 50 MB upload, peak RSS %.1f MB (before upload %.1f MB)")
      :format(VM, r.rss_peak_kb / 1024, r.rss_before_kb / 1024))
    assert.is_true(r.rss_peak_kb < 40 * 1024, ("peak RSS %.1f MB"):format(r.rss_peak_kb / 1024))
  end)

  it("stores the uploaded bytes exactly", function()
    local path = os.tmpname()
    write_file(path, 3 * MiB + 7)
    local sv = client()
    local code = assert(sv:upload(path, { filename = "talk.mov" }))
    local _, files = sb:control("GET", "/_sandbox/sv/files")
    assert.are.equal(3 * MiB + 7, files.files[1].size)
    assert(sv:convert(code))
    local info = assert(sv:wait_ready(code, { interval = 0.1, timeout = 30 }))
    assert.are.equal("mov", info.extension)
    local res = sb:request{ path = info.streams.mp4[1].file:gsub("^https?://[^/]+", "") }
    local f = assert(io.open(path, "rb"))
    local want = f:read("*a")
    f:close()
    os.remove(path)
    assert.is_true(res.body == want, "the stored bytes differ")
  end)

  it("gives an auth error carrying code 401 for a tampered token, after one re-sign", function()
    local inner = require("mediacdn.transport.curl").new{}
    local sent = 0
    -- a transport that flips one character of the signed payload on the wire
    local tamper = {
      name = "tamper",
      request = function(_, req)
        sent = sent + 1
        req.url = req.url:gsub("(token=eyJ)(.)", function(a, c) return a .. (c == "h" and "i" or "h") end)
        return inner:request(req)
      end,
      sleep = function(_, s) return inner:sleep(s) end,
      now = function() return inner:now() end,
    }
    local sv = client{ transport = tamper }
    local res, err = sv:files_page()
    assert.is_nil(res)
    assert.is_true(errors.is(err))
    assert.are.equal("auth", err.kind)
    assert.are.equal(401, err.code)
    assert.are.equal(2, sent)
    assert.matches("Not authorized", tostring(err))
    -- a wrong private key is refused the same way
    local wrong = client{ private_key = "not-the-key" }
    res, err = wrong:file("1700000000-ABCDEF")
    assert.is_nil(res)
    assert.are.equal("auth", err.kind)
    assert.are.equal(401, err.code)
  end)

  it("lists 4,100 files as exactly 4,100 distinct codes over 3 signed pages", function()
    sb:control("POST", "/_sandbox/sv/seed", { count = 4100 })
    sb:reset_stats()
    local sv = client()
    local seen, n = {}, 0
    for f in sv:files() do
      assert.is_nil(seen[f.code], "duplicate " .. f.code)
      seen[f.code] = true
      n = n + 1
    end
    assert.are.equal(4100, n)
    assert.are.equal(3, sb:stats().requests["GET /api/v1/me/files"])
    local sigs = {}
    for _, t in ipairs(tokens("GET /api/v1/me/files")) do
      assert.are.equal("ok", t.verdict)
      sigs[#sigs + 1] = t.signature
    end
    assert.are.equal(3, #sigs)
    local page = assert(sv:files_page{ page = 3 })
    assert.are.equal(100, #page.codes)
    assert.are.equal(3, page.current_page)
    assert.is_nil(page.next_page_url)
  end)

  it("retries 503s and resets during the flow with a fresh signature every time", function()
    local path = os.tmpname()
    write_file(path, 200000)
    sb:faults{
      { path = "/api/v1/upload/initiate", action = "status", status = 503, times = 2 },
      { path = "/api/v1/upload/conversion/initiate", action = "reset", times = 1 },
      { path = "/api/v1/me/file", action = "status", status = 503, times = 2 },
      { path = "/api/v1/me/file", action = "reset", times = 1 },
      { path = "/api/v1/me/files", action = "reset", times = 1 },
      { path = "/api/v1/me/files", method = "GET", action = "status", status = 503, times = 1 },
    }
    local retries = 0
    local sv = client{ on_event = function(ev) if ev.type == "retry" then retries = retries + 1 end end }
    local code = assert(sv:upload(path))
    os.remove(path)
    assert(sv:convert(code))
    assert(sv:wait_ready(code, { interval = 0.1, timeout = 30 }))
    local found = false
    for f in sv:files() do if f.code == code then found = true end end
    assert.is_true(found)
    assert(sv:delete{ code })
    assert.is_true(retries >= 8, "retries: " .. retries)
    -- every attempt the sandbox faulted was followed by one with another signature
    local faulted = 0
    for _, key in ipairs{ "GET /api/v1/upload/initiate", "GET /api/v1/upload/conversion/initiate",
        "GET /api/v1/me/file", "GET /api/v1/me/files" } do
      local list = tokens(key)
      for i, t in ipairs(list) do
        assert.is_string(t.signature)
        if t.verdict:match("^fault") then
          faulted = faulted + 1
          assert.is_table(list[i + 1], key .. ": a faulted attempt was not retried")
          assert.are_not.equal(t.signature, list[i + 1].signature, key .. ": a retry reused the signature")
        end
      end
    end
    assert.are.equal(8, faulted)
  end)

  it("corrects its clock from Date when the service's clock runs ahead", function()
    sb:config{ sv_clock_offset = 7200 }
    local events = {}
    local sv = client{ ttl = { list = 60 }, on_event = function(ev) events[#events + 1] = ev end }
    local page = assert(sv:files_page())
    assert.are.equal(1, page.current_page)
    local resigned = 0
    for _, ev in ipairs(events) do if ev.type == "token" and ev.action == "resign" then resigned = resigned + 1 end end
    assert.are.equal(1, resigned)
    local t = tokens("GET /api/v1/me/files")
    assert.are.equal(2, #t)
    assert.matches("expired", t[1].verdict)
    assert.are.equal("ok", t[2].verdict)
    -- later calls sign with the corrected clock at once
    assert(sv:files_page())
    assert.are.equal(3, #tokens("GET /api/v1/me/files"))
  end)

  it("uploads a remote URL while reporting the file server's progress", function()
    sb:control("POST", "/_sandbox/sv/seed", { count = 1, size = 400000 })
    local _, files = sb:control("GET", "/_sandbox/sv/files")
    local src = sb.url .. "/sv/streams/" .. files.files[1].code .. "/360.mp4"
    sb:config{ sv_fetch_rate = 500000 }
    local seen = {}
    local sv = client{ poll_interval = 0.1 }
    local code = loop.run(function()
      return assert(sv:upload(src, { on_progress = function(p) seen[#seen + 1] = p end }))
    end)
    sb:config{ sv_fetch_rate = 0 }
    assert.matches("^%d+%-%w+$", code)
    assert.are.equal(100, seen[#seen])
    assert.is_true(#seen >= 2, "progress seen while the server fetched")
    for i = 2, #seen do assert.is_true(seen[i] > seen[i - 1]) end
    local _, after = sb:control("GET", "/_sandbox/sv/files")
    assert.are.equal(400000, after.files[2].size)
  end)

  it("lists thumbnails and selects one", function()
    local sv = client()
    local path = os.tmpname()
    write_file(path, 1000)
    local code = assert(sv:upload(path))
    os.remove(path)
    local res, err = sv:thumbnails(code)
    assert.is_nil(res)
    assert.are.equal("not_found", err.kind)
    assert(sv:convert(code, { sd_only = true }))
    assert(sv:wait_ready(code, { interval = 0.1, timeout = 30 }))
    local th = assert(sv:thumbnails(code))
    assert.are.equal(10, #th)
    assert.are.equal(480, th[1].height)
    assert.is_true(sv:update_file(code, { thumbnail = th[3].name }))
    th = assert(sv:thumbnails(code))
    assert.is_true(th[3].selected)
    local img = sb:request{ path = sv:thumbnail_url(code, { size = 300 }):gsub("^https?://[^/]+", "") }
    assert.are.equal(200, img.status)
    assert.are.equal("image/jpeg", img.headers["content-type"])
    res, err = sv:update_file(code, { thumbnail = "nope.jpg" })
    assert.is_nil(res)
    assert.are.equal("not_found", err.kind)
    assert.are.equal(404, err.code)
  end)

  it("maps quota and conversion answers: 10006, 100030, 100031", function()
    local sv = client()
    local path = os.tmpname()
    write_file(path, 10)
    local code = assert(sv:upload(path))
    local res, err = sv:file(code)
    assert.is_nil(res)
    assert.are.equal("conflict", err.kind)
    assert.are.equal(100030, err.code)
    sb:config{ sv_max_files = 1 }
    res, err = sv:upload(path)
    os.remove(path)
    sb:config{ sv_max_files = 0 }
    assert.is_nil(res)
    assert.are.equal("forbidden", err.kind)
    assert.are.equal(10006, err.code)
    assert.is_false(err.retryable)
  end)

  it("runs the whole flow inside mediacdn.loop, several files at once", function()
    local paths = {}
    for i = 1, 3 do
      paths[i] = os.tmpname()
      write_file(paths[i], 100000 * i)
    end
    local sv = client()
    local results, errs = loop.run(function()
      local fns = {}
      for i = 1, 3 do
        fns[i] = function()
          assert(loop.current(), "not inside the loop")
          local code = assert(sv:upload(paths[i]))
          assert(sv:convert(code))
          return assert(sv:wait_ready(code, { interval = 0.1, timeout = 30 })) and code
        end
      end
      return loop.gather(fns, { concurrency = 3 })
    end)
    for i = 1, 3 do os.remove(paths[i]) end
    for i = 1, 3 do assert.is_nil(errs[i]) end
    local listed = {}
    loop.run(function()
      for f in sv:files() do listed[f.code] = true end
    end)
    for i = 1, 3 do assert.is_true(listed[results[i]]) end
    assert.is_true(loop.run(function() return sv:delete{ results[1], results[2], results[3] } end))
  end)
end)
