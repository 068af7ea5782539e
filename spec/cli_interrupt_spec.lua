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
