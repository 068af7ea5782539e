-- mediacdn sirv sync stopped with SIGINT half way (exit 130; a re-run sends only
-- what was not finished), and driven in a pseudo-terminal (script(1)): the live
-- progress block is drawn and redrawn in place, and the final summary is right.
local sandbox = require "helpers.sandbox"
local cli = require "helpers.cli"
local util = require "helpers.util"

local quote = util.shell_quote

local function summary_of(lines)
  for _, l in ipairs(lines) do
    local objs = cli.json_lines(l)
    if objs[1] and objs[1].action == "summary" then return objs[1] end
  end
end

describe("mediacdn sirv sync, interrupted and on a terminal", function()
  local sb, dir
  setup(function()
    sb = sandbox.start{}
    dir = util.tmpdir("mc-cli-int")
  end)
  teardown(function()
    sb:stop()
    util.sh_ok("rm -rf " .. quote(dir))
  end)

  it("stops cleanly on SIGINT at about half; the same command then sends only the rest", function()
    local src = dir .. "/src"
    local n = 40
    for i = 1, n do cli.write(("%s/part %02d.bin"):format(src, i), ("%04d"):format(i):rep(500 + i * 50)) end
    sb:config{ latency_ms = 80 }
    finally(function() sb:config{ latency_ms = 0 } end)
    sb:reset_stats()
    local p = cli.spawn(sb, { "sirv", "sync", src, "sirv:/int", "-o", "json", "--transfers", "2" })
    local first = {}
    for line in p:lines() do
      local o = cli.json_lines(line)[1]
      if o and o.action == "upload" and o.status == "ok" then
        first[o.destination] = true
        local k = 0
        for _ in pairs(first) do k = k + 1 end
        if k == n / 2 then p:signal("INT") end
      end
    end
    local rc, lines, err = p:wait()
    assert.equal(130, rc, err)
    local done1 = 0
    for _ in pairs(first) do done1 = done1 + 1 end
    assert.is_true(done1 >= n / 2 and done1 < n, "finished before the stop: " .. done1)
    local s = summary_of(lines)
    assert.is_true(s.interrupted)
    assert.equal(done1, s.transferred)
    local sent1 = sb:stats().requests["POST /v2/files/upload"]
    assert.is_true(sent1 < n, "the interrupted run did not send everything")

    sb:config{ latency_ms = 0 }
    sb:reset_stats()
    local r = cli.run(sb, { "sirv", "sync", src, "sirv:/int", "-o", "json" })
    assert.equal(0, r.rc, r.err)
    local again = 0
    for _, o in ipairs(r.json) do
      if o.action == "upload" then
        assert.is_nil(first[o.destination], "sent again: " .. o.destination)
        again = again + 1
      end
    end
    assert.is_true(again >= 1)
    assert.equal(again, sb:stats().requests["POST /v2/files/upload"])
    -- the uploads that were cut off are done now; the ones in flight that the
    -- server finished anyway count as unchanged
    assert.is_true(done1 + again <= n)
    assert.same(cli.local_tree(src), cli.remote_tree(sb, "/int"))
  end)

  it("a big file goes through tus; interrupted, the same command resumes it and sends only the rest", function()
    local src = dir .. "/tus"
    local cache = dir .. "/cache"
    local big = ("%s/a-big.bin"):format(src)
    cli.write(big, ("0123456789abcdef"):rep(12 * 65536)) -- 12 MiB: 12 PATCHes of 1 MiB
    for i = 1, 20 do cli.write(("%s/s%02d.txt"):format(src, i), ("small %d "):format(i):rep(50)) end
    local slow = {}
    for _, loc in ipairs{ "sandbox", "us_washington", "gb_london", "de_frankfurt" } do slow[loc] = { latency_ms = 300 } end
    sb:control("POST", "/_sandbox/tus", { locations = slow })
    sb:config{ latency_ms = 100 }
    finally(function()
      local fast = {}
      for loc in pairs(slow) do fast[loc] = { latency_ms = 0 } end
      sb:control("POST", "/_sandbox/tus", { locations = fast })
      sb:config{ latency_ms = 0 }
    end)
    local env = { XDG_CACHE_HOME = cache }
    local p = cli.spawn(sb, { "sirv", "sync", src, "sirv:/tus", "-o", "json", "--transfers", "2",
      "--resumable-above", "4M" }, { env = env })
    local first, n = {}, 0
    for line in p:lines() do
      local o = cli.json_lines(line)[1]
      if o and o.action == "upload" and o.status == "ok" then
        first[o.destination] = true
        n = n + 1
        if n == 8 then break end
      end
    end
    -- the big upload has begun once its journal entry exists; let a PATCH or two land
    for _ = 1, 500 do
      if util.capture("ls " .. quote(cache .. "/mediacdn/tus") .. " 2>/dev/null"):match("%.json") then break end
      util.sleep(0.02)
    end
    util.sleep(0.8)
    p:signal("INT")
    local rc, lines, err = p:wait()
    for _, line in ipairs(lines) do
      local o = cli.json_lines(line)[1]
      if o and o.action == "upload" and o.status == "ok" then first[o.destination] = true end
    end
    assert.equal(130, rc, err)
    assert.is_nil(first["/tus/a-big.bin"], "the big file finished before the interrupt: make it slower")
    sb:config{ latency_ms = 0 }
    local fast = {}
    for loc in pairs(slow) do fast[loc] = { latency_ms = 0 } end
    sb:control("POST", "/_sandbox/tus", { locations = fast })
    sb:reset_stats()
    local r = cli.run(sb, { "sirv", "sync", src, "sirv:/tus", "-o", "json", "--resumable-above", "4M" }, { env = env })
    assert.equal(0, r.rc, r.err)
    local resumed
    for _, o in ipairs(r.json) do
      if o.action == "upload" then
        assert.is_nil(first[o.destination], "sent again: " .. o.destination)
        if o.destination == "/tus/a-big.bin" then resumed = o end
      end
    end
    assert.is_table(resumed, r.out)
    assert.is_true(resumed.resumable)
    assert.is_true(resumed.resumed)
    -- fewer PATCHes than the file has chunks: the part sent before the interrupt was kept
    assert.is_true(sb:stats().requests["PATCH /upload/{token}/{id}"] < 12)
    assert.same(cli.local_tree(src), cli.remote_tree(sb, "/tus"))
    r = cli.run(sb, { "sirv", "cp", "sirv:/tus/a-big.bin", dir .. "/big-back.bin" })
    assert.equal(0, r.rc, r.err)
    assert.equal(util.read_file(big), util.read_file(dir .. "/big-back.bin"))
  end)

  it("an interrupted download leaves its .part and the next run asks only for the rest", function()
    local data = ("download me "):rep(800000) -- 9.6 MB
    cli.write(dir .. "/dl-src/movie.bin", data)
    assert.equal(0, cli.run(sb, { "sirv", "cp", dir .. "/dl-src/movie.bin", "sirv:/dl/movie.bin" }).rc)
    sb:faults{ { path = "/v2/files/download", method = "GET", action = "throttle", rate = 1500000, times = -1 } }
    finally(function() sb:clear_faults() end)
    local dest = dir .. "/dl-dst"
    local p = cli.spawn(sb, { "sirv", "sync", "sirv:/dl", dest, "-o", "json" })
    local part = dest .. "/movie.bin.part"
    for _ = 1, 500 do
      local size = util.file_size(part)
      if size and size > 2000000 then break end
      util.sleep(0.02)
    end
    p:signal("INT")
    local rc, _, err = p:wait()
    assert.equal(130, rc, err)
    local kept = util.file_size(part)
    assert.is_true(kept and kept > 2000000 and kept < #data, "kept " .. tostring(kept))
    assert.is_nil(util.file_size(dest .. "/movie.bin"))
    sb:clear_faults()
    local r = cli.run(sb, { "-v", "sirv", "sync", "sirv:/dl", dest })
    assert.equal(0, r.rc, r.err)
    assert.matches("response getFilesDownload 206", r.err) -- a range: only the rest
    assert.equal(data, util.read_file(dest .. "/movie.bin"))
    assert.is_nil(util.file_size(part))
  end)

  it("draws the progress block in place on a terminal and ends with the summary", function()
    local src = dir .. "/tty"
    for i = 1, 12 do cli.write(("%s/t%02d.bin"):format(src, i), ("t"):rep(3000 * i)) end
    sb:config{ latency_ms = 150 }
    finally(function() sb:config{ latency_ms = 0 } end)
    local out = dir .. "/typescript"
    local cmd = cli.command_line(sb, { "sirv", "sync", src, "sirv:/tty", "--transfers", "2" })
    local rcfile = dir .. "/tty.rc"
    -- script gives the command a pseudo-terminal; -e passes its exit code on
    assert(util.sh_ok(("script -q -e -c %s /dev/null </dev/null >%s 2>&1; echo $? > %s"):format(
      quote(cmd), quote(out), quote(rcfile))))
    assert.equal("0", util.read_file(rcfile):match("%d+"))
    local text = util.read_file(out)
    -- the live block: an active transfer line and the total line, erased and redrawn
    assert.matches("upload  t%d%d%.bin", text)
    assert.matches("Transferred %d+/12 files, [%d.]+ %a*B / 229 KiB", text)
    assert.matches("\27%[1A\27%[2K", text)
    assert.matches("\r\27%[2K", text)
    -- result lines scroll above it, the summary comes last and stays
    assert.matches("uploaded .-t01%.bin %-> /tty/t01%.bin", text)
    -- the last line as the terminal shows it (escape sequences applied: the block erased)
    local last = text:gsub("[\r\n]+$", ""):match("([^\r\n]*)$"):gsub("\27%[[%d;]*%a", "")
    assert.matches("^Uploaded 12 file%(s%) %(229 KiB%), 0 unchanged in %d+s", last)
    assert.same(cli.local_tree(src), cli.remote_tree(sb, "/tty"))
  end)
end)
