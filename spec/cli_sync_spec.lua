-- mediacdn sirv sync / cp, run as a subprocess against the sandbox: a tree of
-- mixed sizes, a re-run that transfers nothing, exactly the changed files, a dry
-- run that changes nothing, --delete, downloads, --checksum, the rate limit.
-- Default size: 120 files (a few of 1-2 MiB). MC_FULL=1 runs the issue's full
-- size: 2,000 files plus one of 400 MB (minutes, several GB of disk traffic).
local sandbox = require "helpers.sandbox"
local cli = require "helpers.cli"
local util = require "helpers.util"

local FULL = os.getenv("MC_FULL") == "1"
local N = FULL and 2000 or 120
local quote = util.shell_quote

-- requests the sandbox saw since the last reset, by "METHOD /path"
local function requests(sb)
  return sb:stats().requests or {}
end

local function count(list, pred)
  local n = 0
  for _, o in ipairs(list) do if pred(o) then n = n + 1 end end
  return n
end

local function summary_of(r)
  for _, o in ipairs(r.json) do if o.action == "summary" then return o end end
  error("no summary object in:\n" .. r.out .. "\n" .. r.err)
end

describe("mediacdn sirv sync (subprocess)", function()
  local sb, dir, src
  setup(function()
    sb = sandbox.start{}
    dir = util.tmpdir("mc-cli-sync")
    src = dir .. "/src"
  end)
  teardown(function()
    sb:stop()
    util.sh_ok("rm -rf " .. quote(dir))
  end)

  it("uploads a tree, then transfers 0, then exactly the 10 changed files", function()
    local files = cli.mkfiles(src, N, 11)
    if FULL then
      assert(util.sh_ok("head -c 400000000 /dev/urandom > " .. quote(src .. "/big/huge.bin")
        .. " 2>/dev/null || (mkdir -p " .. quote(src .. "/big") .. " && head -c 400000000 /dev/urandom > "
        .. quote(src .. "/big/huge.bin") .. ")"))
      files["big/huge.bin"] = 400000000
    end
    local total = 0
    for _ in pairs(files) do total = total + 1 end
    if FULL then
      -- 2,000 uploads are a whole hour of the Business plan's upload budget (2000/h):
      -- the sandbox gets more, so that the changes below can go in the same hour
      sb:limits{ limits = { ["rest:post:files:upload"] = 10000 } }
    end
    sb:reset_stats()
    local r = cli.run(sb, { "sirv", "sync", src, "sirv:/mirror", "-o", "json", "--transfers", "8" })
    assert.equal(0, r.rc, r.err)
    assert.is_true(r.all_json, "every stdout line is JSON:\n" .. r.out)
    assert.equal(total, count(r.json, function(o) return o.action == "upload" and o.status == "ok" end))
    assert.equal(total, summary_of(r).transferred)
    -- files from 64 MiB on go through tus (the 400 MB one of the full-size run)
    local via_tus = FULL and 1 or 0
    assert.equal(total - via_tus, requests(sb)["POST /v2/files/upload"])
    assert.equal(via_tus, requests(sb)["POST /upload/{token}"] or 0)
    assert.same(cli.local_tree(src), cli.remote_tree(sb, "/mirror"))

    sb:reset_stats()
    r = cli.run(sb, { "sirv", "sync", src, "sirv:/mirror", "-o", "json" })
    assert.equal(0, r.rc, r.err)
    local s = summary_of(r)
    assert.equal(0, s.transferred)
    assert.equal(total, s.unchanged)
    assert.is_nil(requests(sb)["POST /v2/files/upload"])

    -- 5 files change size; 5 keep their size but get new bytes (and so a newer
    -- mtime: wait until a new second began after the last upload)
    local changed, k = {}, 0
    util.sleep(1.1)
    local rels = {}
    for rel, size in pairs(files) do if size > 16 and rel ~= "big/huge.bin" then rels[#rels + 1] = rel end end
    table.sort(rels)
    for i = 1, 10 do
      local rel = rels[i * 7]
      local path = src .. "/" .. rel
      if i <= 5 then
        cli.write(path, (util.read_file(path)) .. "grown")
      else
        local data = util.read_file(path)
        cli.write(path, ("X"):rep(16) .. data:sub(17))
      end
      changed[rel] = true
      k = k + 1
    end
    assert.equal(10, k)
    sb:reset_stats()
    r = cli.run(sb, { "sirv", "sync", src, "sirv:/mirror", "-o", "json" })
    assert.equal(0, r.rc, r.err)
    assert.equal(10, summary_of(r).transferred)
    assert.equal(10, requests(sb)["POST /v2/files/upload"])
    local sent = {}
    for _, o in ipairs(r.json) do
      if o.action == "upload" then sent[o.destination:sub(#"/mirror/" + 1)] = true end
    end
    assert.same(changed, sent)
    assert.same(cli.local_tree(src), cli.remote_tree(sb, "/mirror"))
  end)

  it("--dry-run lists the changes and sends nothing that changes anything; --delete then applies them", function()
    local before = cli.remote_tree(sb, "/mirror")
    local rels = {}
    for rel in pairs(before) do rels[#rels + 1] = rel end
    table.sort(rels)
    cli.write(src .. "/" .. rels[2], "now different")
    cli.write(src .. "/new folder/added.txt", "added")
    assert(os.remove(src .. "/" .. rels[3]))
    sb:reset_stats()
    local r = cli.run(sb, { "sirv", "sync", src, "sirv:/mirror", "--dry-run", "--delete", "-o", "json" })
    assert.equal(0, r.rc, r.err)
    local planned = {}
    for _, o in ipairs(r.json) do
      if o.status == "dry-run" then planned[o.action .. " " .. (o.destination or o.path)] = true end
    end
    assert.same({
      ["upload /mirror/" .. rels[2]] = true,
      ["upload /mirror/new folder/added.txt"] = true,
      ["delete /mirror/" .. rels[3]] = true,
    }, planned)
    for key in pairs(requests(sb)) do
      assert.is_truthy(key:match("^GET ") or key == "POST /v2/token", "a dry run sent " .. key)
    end
    assert.same(before, cli.remote_tree(sb, "/mirror"))
    -- the text output says the same
    r = cli.run(sb, { "sirv", "sync", src, "sirv:/mirror", "--dry-run", "--delete" })
    assert.equal(0, r.rc, r.err)
    assert.matches("would upload", r.out)
    assert.matches("would delete /mirror/" .. rels[3]:gsub("%p", "%%%0"), r.out)
    assert.matches("nothing was changed", r.out)

    r = cli.run(sb, { "sirv", "sync", src, "sirv:/mirror", "--delete", "-o", "json" })
    assert.equal(0, r.rc, r.err)
    assert.equal(1, summary_of(r).deleted)
    assert.same(cli.local_tree(src), cli.remote_tree(sb, "/mirror"))
  end)

  it("downloads a Sirv folder, re-runs with nothing to do, and --checksum finds same-size edits", function()
    local back = dir .. "/back"
    local r = cli.run(sb, { "sirv", "sync", "sirv:/mirror", back, "--transfers", "6" })
    assert.equal(0, r.rc, r.err)
    assert.matches("Downloaded %d+ file", r.out)
    assert.is_true(util.sh_ok("diff -r " .. quote(src) .. " " .. quote(back) .. " >/dev/null"))
    sb:reset_stats()
    r = cli.run(sb, { "sirv", "sync", "sirv:/mirror", back, "-o", "json" })
    assert.equal(0, r.rc, r.err)
    assert.equal(0, summary_of(r).transferred)
    assert.is_nil(requests(sb)["GET /v2/files/download"])
    -- same size, same mtime, other bytes: only --checksum sees it
    local victim
    for rel, size in pairs(cli.local_tree(back)) do
      if size > 100 and not victim then victim = rel end
    end
    local path = back .. "/" .. victim
    local mtime = util.capture("stat -c %Y " .. quote(path)):match("%d+")
    local data = util.read_file(path)
    cli.write(path, ("Z"):rep(10) .. data:sub(11))
    assert(util.sh_ok("touch -d @" .. mtime .. " " .. quote(path)))
    r = cli.run(sb, { "sirv", "sync", "sirv:/mirror", back, "-o", "json" })
    assert.equal(0, summary_of(r).transferred)
    r = cli.run(sb, { "sirv", "sync", "sirv:/mirror", back, "--checksum", "-o", "json" })
    assert.equal(0, r.rc, r.err)
    assert.equal(1, summary_of(r).transferred)
    assert.equal(util.read_file(src .. "/" .. victim), util.read_file(path))
  end)

  it("cp copies one file each way and on the server, and skips what is already the same", function()
    cli.write(dir .. "/one.txt", "one file")
    local r = cli.run(sb, { "sirv", "cp", dir .. "/one.txt", "sirv:/single/" })
    assert.equal(0, r.rc, r.err)
    assert.matches("uploaded .*one%.txt %-> /single/one%.txt", r.out)
    r = cli.run(sb, { "sirv", "cp", "/single/one.txt", "/single/copy.txt" })
    assert.equal(2, r.rc)
    assert.matches("both /single/one.txt and /single/copy.txt start with /", r.err, 1, true)
    r = cli.run(sb, { "sirv", "cp", "sirv:/single/one.txt", "sirv:/single/copy.txt" })
    assert.equal(0, r.rc, r.err)
    assert.matches("copied /single/one%.txt %-> /single/copy%.txt", r.out)
    r = cli.run(sb, { "sirv", "cp", "/single/copy.txt", "./got.txt" }, { cwd = dir })
    assert.equal(0, r.rc, r.err)
    assert.equal("one file", util.read_file(dir .. "/got.txt"))
    sb:reset_stats()
    r = cli.run(sb, { "sirv", "cp", dir .. "/one.txt", "sirv:/single/one.txt", "-o", "json" })
    assert.equal(0, r.rc, r.err)
    assert.equal(0, summary_of(r).transferred)
    r = cli.run(sb, { "sirv", "cp", "-I", dir .. "/one.txt", "sirv:/single/one.txt", "-o", "json" })
    assert.equal(1, summary_of(r).transferred)
    assert.equal(1, requests(sb)["POST /v2/files/upload"])
  end)

  it("stops at the hourly upload limit with exit 3 and the reset time; the same command finishes later", function()
    sb:control("DELETE", "/_sandbox/limits")
    local lim = dir .. "/lim"
    for i = 1, 12 do cli.write(("%s/f%02d.txt"):format(lim, i), ("limited %d"):format(i)) end
    sb:reset_limits()
    sb:limits{ limits = { ["rest:post:files:upload"] = 5 } }
    finally(function() sb:control("DELETE", "/_sandbox/limits") end)
    sb:reset_stats()
    local r = cli.run(sb, { "sirv", "sync", lim, "sirv:/limited", "-o", "json" })
    assert.equal(3, r.rc, r.out .. r.err)
    assert.matches("rate limit: the hourly budget rest:post:files:upload is used up until %d%d:%d%d:%d%d", r.err)
    local s = summary_of(r)
    assert.is_true(s.rate_limited)
    assert.is_number(s.reset_at)
    assert.equal(5, s.transferred)
    assert.equal(5, count(r.json, function(o) return o.action == "upload" and o.status == "ok" end))
    -- once the budget is known to be empty nothing more is sent: at most the uploads
    -- already in flight (4 at a time) met a 429
    assert.is_true(requests(sb)["POST /v2/files/upload"] < 5 + 4)
    -- the hour passes: the budget is back
    sb:control("DELETE", "/_sandbox/limits")
    sb:reset_limits()
    r = cli.run(sb, { "sirv", "sync", lim, "sirv:/limited", "-o", "json" })
    assert.equal(0, r.rc, r.err)
    assert.equal(7, summary_of(r).transferred)
    assert.same(cli.local_tree(lim), cli.remote_tree(sb, "/limited"))
  end)

  it("--on-limit wait says it waits and finishes", function()
    local lim = dir .. "/wait"
    for i = 1, 5 do cli.write(("%s/w%d.txt"):format(lim, i), "w" .. i) end
    sb:reset_limits()
    sb:limits{ limits = { ["rest:post:files:upload"] = 3 }, window_seconds = 2 }
    finally(function()
      sb:control("DELETE", "/_sandbox/limits")
      sb:limits{ window_seconds = 3600 }
    end)
    local r = cli.run(sb, { "sirv", "sync", lim, "sirv:/waited", "--on-limit", "wait", "--transfers", "1" })
    assert.equal(0, r.rc, r.err)
    assert.matches("rate limit: the hourly budget rest:post:files:upload is used up; waiting", r.err)
    assert.same(cli.local_tree(lim), cli.remote_tree(sb, "/waited"))
  end)
end)
