-- mediacdn.tus against the real @tus/server (npm; started and stopped by
-- spec/helpers/tus_server.lua): byte-exact uploads, resume after SIGKILL from
-- the server's offset, a file that changes during the upload, and the
-- sequential fallback where the server has no concatenation.
local tus = require "mediacdn.tus"
local core = require "mediacdn.core"
local util = require "helpers.util"
local tus_server = require "helpers.tus_server"

local available, why = tus_server.available()
local describe_server = available and describe or pending

local function random_file(bytes)
  local p = util.tmpname(".bin")
  assert(util.sh_ok(("head -c %d /dev/urandom > %s"):format(bytes, util.shell_quote(p))))
  return p
end

local function sha256(path)
  local size = assert(core.file_size(path))
  return (assert(core.file_digest(path, 0, size, "sha256")))
end

describe_server("tus.upload against @tus/server" .. (available and "" or (" (" .. tostring(why) .. ")")), function()
  local server, jdir
  setup(function()
    server = tus_server.start()
  end)
  teardown(function()
    if server then server:stop() end
  end)
  before_each(function() jdir = util.tmpdir("mc-tus-journal") end)
  after_each(function() util.sh_ok("rm -rf " .. util.shell_quote(jdir)) end)

  it("uploads byte-exact in chunks, reports progress and leaves no journal entry", function()
    local f = random_file(3 * 1024 * 1024 + 17)
    local reports = {}
    local res, err = tus.upload(server.endpoint, f, { chunk_size = 1024 * 1024, journal = jdir,
      progress_interval = 0, on_progress = function(p) reports[#reports + 1] = p end })
    assert.is_nil(err)
    assert.equal(3 * 1024 * 1024 + 17, res.size)
    assert.equal(res.size, res.offset)
    assert.is_false(res.resumed)
    assert.equal(sha256(f), sha256(server:data_path(res.url)))
    assert.is_true(#reports >= 4)
    assert.is_true(reports[#reports].done)
    for i = 2, #reports do assert.is_true(reports[i].bytes >= reports[i - 1].bytes) end
    assert.equal("", (util.capture("ls " .. util.shell_quote(jdir) .. " | grep json$")))
    os.remove(f)
  end)

  it("resumes after SIGKILL at about 50% from the server's offset, re-sending under two chunks", function()
    local size, chunk = 8 * 1024 * 1024, 256 * 1024
    local f = random_file(size)
    local log = util.tmpname(".log")
    local script = util.tmpname(".lua")
    util.write_file(script, [[
      local tus, core = require "mediacdn.tus", require "mediacdn.core"
      local out = assert(io.open(arg[4], "a"))
      local res, err = tus.upload(arg[1], arg[2], { chunk_size = tonumber(arg[5]), journal = arg[3],
        progress_interval = 0, on_progress = function(p)
          out:write(p.bytes, "\n"); out:flush(); core.sleep(0.03) end })
      out:write(res and "done\n" or ("error " .. tostring(err) .. "\n"))
    ]])
    local vm = jit and "luajit" or "lua5.4"
    local cmd = ("echo $$; exec env LUA_PATH=%s LUA_CPATH=%s %s %s %s %s %s %s %d"):format(
      util.shell_quote(package.path), util.shell_quote(package.cpath), vm, util.shell_quote(script),
      util.shell_quote(server.endpoint), util.shell_quote(f), util.shell_quote(jdir), util.shell_quote(log), chunk)
    local p = assert(io.popen(cmd, "r"))
    local pid = assert(tonumber(p:read("*l")))
    local confirmed, deadline = 0, util.now() + 60
    while confirmed < size / 2 and util.now() < deadline do
      util.sleep(0.01)
      for line in (util.read_file(log) or ""):gmatch("[^\n]+") do
        confirmed = math.max(confirmed, tonumber(line) or 0)
      end
    end
    assert.is_true(util.run("kill -KILL " .. pid))
    p:close()
    -- what the killed process last saw confirmed
    confirmed = 0
    for line in (util.read_file(log) or ""):gmatch("[^\n]+") do
      assert.is_nil(line:match("^done"))
      confirmed = math.max(confirmed, tonumber(line) or 0)
    end
    assert.is_true(confirmed >= size / 2 and confirmed < size)

    local resumed_at
    local res, err = tus.upload(server.endpoint, f, { chunk_size = chunk, journal = jdir,
      on_event = function(ev)
        local n = ev.type == "tus" and tostring(ev.action):match("^resume at (%d+)")
        if n and not resumed_at then resumed_at = tonumber(n) end
      end })
    assert.is_nil(err)
    assert.is_true(res.resumed)
    assert.is_number(resumed_at)
    -- nothing the server had confirmed is sent again; the killed process had at
    -- most one chunk in flight beyond its last confirmation
    assert.is_true(resumed_at >= confirmed)
    assert.is_true(resumed_at - confirmed <= chunk)
    local resent = (confirmed + chunk) - resumed_at -- at most what was in flight
    assert.is_true(resent < 2 * chunk)
    assert.equal(sha256(f), sha256(server:data_path(res.url)))
    os.remove(f); os.remove(log); os.remove(script)
  end)

  it("stops with a local error when the file changes size during the upload; the journal entry goes", function()
    local f = random_file(2 * 1024 * 1024)
    local grown = false
    local res, err = tus.upload(server.endpoint, f, { chunk_size = 512 * 1024, journal = jdir,
      progress_interval = 0, on_progress = function(p)
        if p.bytes > 0 and not grown then
          grown = true
          local h = assert(io.open(f, "ab")); h:write("more"); h:close()
        end
      end })
    assert.is_nil(res)
    assert.equal("local", err.kind)
    assert.matches("changed during the upload", err.message)
    assert.equal("", (util.capture("ls " .. util.shell_quote(jdir) .. " | grep json$")))
    os.remove(f)
  end)

  it("a second process gets a conflict while the first holds the journal entry", function()
    local f = random_file(300000)
    local fp = assert(core.tus_fingerprint(f, "tus:" .. server.endpoint .. "#" .. f:match("[^/]+$")))
    local ready = util.tmpname(".ready")
    -- another process holds the entry's lock (as an upload in progress does)
    local p = assert(io.popen(("echo $$; exec env LUA_CPATH=%s %s -e %s"):format(
      util.shell_quote(package.cpath), jit and "luajit" or "lua5.4", util.shell_quote(([[
        local core = require "mediacdn.core"
        assert(core.mkdirs(%q))
        local lock = assert(core.file_lock(%q))
        io.open(%q, "w"):close()
        core.sleep(30)
      ]]):format(jdir, jdir .. "/" .. fp .. ".lock", ready))), "r"))
    local pid = assert(tonumber(p:read("*l")))
    local deadline = util.now() + 20
    while not util.read_file(ready) and util.now() < deadline do util.sleep(0.02) end
    local res, err = tus.upload(server.endpoint, f, { journal = jdir })
    assert.is_nil(res)
    assert.equal("conflict", err.kind)
    assert.is_true(err.retryable)
    -- its death releases the lock (flock): the next attempt goes through
    assert.is_true(util.run("kill -KILL " .. pid))
    p:close()
    res, err = tus.upload(server.endpoint, f, { journal = jdir })
    assert.is_nil(err)
    assert.equal(sha256(f), sha256(server:data_path(res.url)))
    os.remove(f); os.remove(ready)
  end)

  it("uploads several files at once inside mediacdn.loop (their PATCHes interleave)", function()
    local loop = require "mediacdn.loop"
    local files, order = {}, {}
    for i = 1, 3 do files[i] = random_file(2 * 1024 * 1024 + i) end
    local fns = {}
    for i = 1, 3 do
      fns[i] = function()
        return tus.upload(server.endpoint, files[i], { chunk_size = 256 * 1024, journal = false,
          on_event = function(ev)
            if ev.type == "response" and ev.operation == "tus:patch" then order[#order + 1] = i end
          end })
      end
    end
    local results, errs = loop.gather(fns, { concurrency = 3 })
    for i = 1, 3 do
      assert.is_nil(errs[i])
      assert.equal(sha256(files[i]), sha256(server:data_path(results[i].url)))
      os.remove(files[i])
    end
    -- a run of one upload's PATCHes is interrupted by another's: they were in flight together
    local switches = 0
    for k = 2, #order do if order[k] ~= order[k - 1] then switches = switches + 1 end end
    assert.is_true(switches > 2, table.concat(order, ","))
  end)

  it("terminates an upload (termination extension)", function()
    local f = random_file(100000)
    local res = assert(tus.upload(server.endpoint, f, { journal = false }))
    assert.is_true(tus.terminate(res.url))
    assert.is_nil(core.file_size(server:data_path(res.url)))
    assert.is_true(tus.terminate(res.url)) -- already gone: still true
    assert.has_error(function() tus.terminate("nope") end, "tus.terminate: upload_url must be an http(s) URL")
    os.remove(f)
  end)

  it("falls back to one sequential upload when the server has no concatenation", function()
    local f = random_file(1024 * 1024 + 3)
    local res, err = tus.upload(server.endpoint, f, { chunk_size = 256 * 1024, parallel = 4, journal = false })
    assert.is_nil(err)
    assert.equal(1, res.parts)
    assert.is_nil(res.checksum) -- @tus/server's FileStore has no checksum extension
    assert.equal(sha256(f), sha256(server:data_path(res.url)))
    os.remove(f)
  end)
end)
