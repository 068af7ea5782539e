-- Unit specs of the command line's pure parts (no sandbox): globs, the sync
-- planner, path rules, the profile file, formatting, the progress reporter and
-- the signal watch of the binding.
local glob = require "mediacdn.cli.glob"
local plan = require "mediacdn.cli.plan"
local paths = require "mediacdn.cli.paths"
local config = require "mediacdn.cli.config"
local format = require "mediacdn.cli.format"
local progress = require "mediacdn.cli.progress"
local exit = require "mediacdn.cli.exit"
local core = require "mediacdn.core"
local util = require "helpers.util"

-- an in-memory stream with write and flush
local function stream()
  local b = util.buffer()
  b.flush = function() end
  return b
end

-- the exit code and message of a function that should end the command
local function exit_of(fn, ...)
  local ok, e = pcall(fn, ...)
  assert.is_false(ok, "expected an exit")
  assert.is_true(exit.is(e), tostring(e))
  return e.code, e.message
end

describe("cli.glob", function()
  it("matches rclone-style patterns", function()
    local m = glob.compile{ "*.tmp", "/private/**", "build/", "*.{jpg,PNG}", "a[0-9].txt", "[!x]y.txt", "x%y+" }
    local cases = {
      ["a.tmp"] = true, ["x/y/a.tmp"] = true, ["private/a/b"] = true, ["x/private/a"] = false,
      ["build/q"] = true, ["z/build/r"] = true, ["pic.jpg"] = true, ["d/pic.PNG"] = true, ["pic.png"] = false,
      ["a1.txt"] = true, ["ab.txt"] = false, ["ay.txt"] = true, ["xy.txt"] = false, ["x%y+"] = true,
      ["keep.txt"] = false, ["tmp"] = false,
    }
    for path, want in pairs(cases) do assert.equal(want, m:file(path), path) end
    assert.is_true(m:dir("private"))
    assert.is_false(m:dir("x/private"))
    assert.is_true(m:dir("z/build"))
    assert.is_false(m:dir("sub"))
  end)
  it("rejects malformed patterns with exit 2", function()
    assert.equal(2, (exit_of(glob.compile, { "[abc" })))
    assert.equal(2, (exit_of(glob.compile, { "{a,b" })))
    assert.equal(2, (exit_of(glob.compile, { "/" })))
  end)
end)

describe("cli.plan", function()
  local function tree(files) return { files = files, dirs = {} } end
  it("uploads what is new, resized or modified after the upload", function()
    local src = tree{ a = { size = 1, mtime = 100 }, b = { size = 2, mtime = 100 }, c = { size = 3, mtime = 205 },
      d = { size = 4, mtime = 100 } }
    local dst = tree{ b = { size = 5, mtime = 200.5 }, c = { size = 3, mtime = 200.5 }, d = { size = 4, mtime = 200.5 },
      gone = { size = 1, mtime = 1 } }
    local p = plan.compare(src, dst, { mode = "up" })
    local got = {}
    for _, t in ipairs(p.transfers) do got[#got + 1] = t.rel .. ":" .. t.reason end
    assert.same({ "a:new", "b:size", "c:newer" }, got)
    assert.equal(1, p.same)
    assert.equal(6, p.bytes)
    assert.same({}, p.deletes)
    p = plan.compare(src, dst, { mode = "up", delete = true })
    assert.same({ "gone" }, p.deletes)
  end)
  it("a local mtime within Sirv's upload second is not newer (whole seconds locally)", function()
    local p = plan.compare(tree{ a = { size = 1, mtime = 200 } }, tree{ a = { size = 1, mtime = 200.7 } }, { mode = "up" })
    assert.equal(0, #p.transfers)
  end)
  it("downloads when the times are more than a second apart", function()
    local src = tree{ a = { size = 1, mtime = 100.9 }, b = { size = 1, mtime = 100 } }
    local dst = tree{ a = { size = 1, mtime = 100 }, b = { size = 1, mtime = 300 }, ["a.part"] = { size = 1, mtime = 1 },
      ["a.part.json"] = { size = 1, mtime = 1 }, ["a.part.rest"] = { size = 1, mtime = 1 }, x = { size = 1, mtime = 1 } }
    local p = plan.compare(src, dst, { mode = "down", delete = true })
    assert.equal(1, #p.transfers)
    assert.equal("b", p.transfers[1].rel)
    assert.same({ "x" }, p.deletes) -- a.part is a download in progress of a
  end)
  it("--checksum sends same-size files to be compared; -I transfers everything", function()
    local src = tree{ a = { size = 1, mtime = 1 }, b = { size = 2, mtime = 1 } }
    local dst = tree{ a = { size = 1, mtime = 9 }, b = { size = 3, mtime = 9 } }
    local p = plan.compare(src, dst, { mode = "up", checksum = true })
    assert.equal(1, #p.checks)
    assert.equal("a", p.checks[1].rel)
    plan.checked(p, p.checks[1], true)
    plan.finalize(p)
    assert.same({ "a", "b" }, { p.transfers[1].rel, p.transfers[2].rel })
    p = plan.compare(src, src, { mode = "up", ignore_times = true })
    assert.equal(2, #p.transfers)
  end)
  it("removes extra folders deepest first", function()
    local p = plan.compare({ files = {}, dirs = { keep = true } },
      { files = {}, dirs = { keep = true, x = true, ["x/y"] = true, ["x/y/z"] = true, w = true } },
      { mode = "up", delete = true })
    assert.same({ "x/y/z", "x/y", "x", "w" }, p.rmdirs)
  end)
end)

describe("cli.paths", function()
  it("tells Sirv paths from local ones", function()
    assert.is_true(paths.arg("/a/b").remote)
    assert.equal("/a/b", paths.arg("sirv:/a//b/").path)
    assert.is_false(paths.arg("./x").remote)
    assert.is_false(paths.arg("file:/home/x").remote)
    local a, b = paths.pair("/home/me/x", "sirv:/x")
    assert.is_false(a.remote)
    assert.equal("/home/me/x", a.path)
    assert.is_true(b.remote)
    assert.equal(2, (exit_of(paths.pair, "/a", "/b")))
    assert.equal(2, (exit_of(paths.arg, "sirv:a")))
    assert.equal(2, (exit_of(paths.arg, "/a/../b")))
    local code, msg = exit_of(paths.remote, "photos", "PATH")
    assert.equal(2, code)
    assert.matches("did you mean /photos", msg)
    assert.is_true(paths.inside("/a", "/a/b"))
    assert.is_false(paths.inside("/a", "/ab"))
    assert.equal("/x", paths.rjoin("/", "x"))
  end)
end)

describe("cli.config", function()
  it("parses profiles and points at the line of a mistake", function()
    local p = assert(config.parse("# c\n[default]\nsirv_client_id = id1\n\n[b]\nsirv_client_secret = 's x'\n", "f"))
    assert.equal("id1", p.default.sirv_client_id)
    assert.equal("s x", p.b.sirv_client_secret)
    local _, err = config.parse("[default]\nnope\n", "f")
    assert.equal("f:2: expected 'key = value' or '[profile]'", err)
    _, err = config.parse("sirv_client_id = x\n", "f")
    assert.matches("^f:1: 'sirv_client_id' comes before any %[profile%] line", err)
    _, err = config.parse("[a]\nfoo = 1\n", "f")
    assert.matches("^f:2: unknown key 'foo'", err)
  end)
  it("resolves: the environment first, a named profile first when asked for", function()
    local dir = util.tmpdir("mc-cli-cfg")
    local path = dir .. "/config"
    assert(config.save(path, { default = { sirv_client_id = "file-id", sirv_client_secret = "file-secret" },
      other = { sirv_client_id = "o-id", sirv_client_secret = "o-secret" } }))
    assert.equal("-rw-------", util.capture("stat -c %A " .. util.shell_quote(path)):match("%S+"))
    local env = { SIRV_CLIENT_ID = "env-id" }
    local getenv = function(k) return env[k] end
    local keys = { "sirv_client_id", "sirv_client_secret" }
    local v, secrets = config.resolve(keys, { config = path, getenv = getenv })
    assert.same({ sirv_client_id = "env-id", sirv_client_secret = "file-secret" }, v)
    assert.same({ "file-secret" }, secrets)
    v = config.resolve(keys, { config = path, getenv = getenv, profile = "other" })
    assert.same({ sirv_client_id = "o-id", sirv_client_secret = "o-secret" }, v)
    util.sh_ok("chmod 640 " .. util.shell_quote(path))
    local code, msg = exit_of(config.resolve, keys, { config = path, getenv = getenv })
    assert.equal(2, code)
    assert.matches("run chmod 600", msg)
    util.sh_ok("rm -rf " .. util.shell_quote(dir))
  end)
end)

describe("cli.format", function()
  it("reads Sirv's timestamps and shows sizes, durations and cut names", function()
    assert.equal(1714564800.25, format.iso_epoch("2024-05-01T12:00:00.250Z"))
    assert.equal(1714564800, format.iso_epoch("2024-05-01T14:00:00+02:00"))
    assert.is_nil(format.iso_epoch("yesterday"))
    assert.equal("1.5 KiB", format.size(1536))
    assert.equal("12 B", format.size(12))
    assert.equal("1h02m", format.duration(3725))
    assert.equal("3m07s", format.duration(187))
    local cut = format.fit("photos/very/long/name/of/file.jpg", 20)
    assert.equal(20, format.width(cut))
    assert.matches("file%.jpg$", cut)
    assert.equal(5, format.width(format.fit("日本の風景です", 5)))
    assert.same({ "a      1", "bbbb  22" }, format.table({ { "a", "1" }, { "bbbb", "22" } }, { align = { "l", "r" } }))
  end)
end)

describe("cli.progress", function()
  it("redraws the live block in place on a terminal and keeps result lines above it", function()
    local out, err = stream(), stream()
    local t = 0
    local r = progress.new{ mode = "tty", out = out, err = err, width = 60, clock = function() return t end }
    r:expect(2, 3000)
    local a = r:start{ verb = "upload", label = "a.bin", size = 1000 }
    r:start{ verb = "upload", label = "b.bin", size = 2000 }
    r:update(a, 500, 1000, 100)
    r:tick(true)
    local first = out:text()
    assert.matches("upload  a%.bin +500 B / 1000 B  50%% 100 B/s", first)
    assert.matches("upload  b%.bin +2%.0 KiB 0s", first)
    assert.matches("Transferred 0/2 files, 500 B / 2.9 KiB %(16%%%)", first)
    t = 1
    r:finish(a, true)
    r:result("uploaded a.bin", { x = 1 })
    r:tick(true)
    local text = out:text():sub(#first + 1)
    -- three lines were drawn: erased going up, then the result line, then the block
    assert.matches("^\r\27%[2K\27%[1A\27%[2K\27%[1A\27%[2Kuploaded a%.bin\n", text)
    assert.matches("Transferred 1/2 files", text)
    r:summary({ "done" })
    assert.matches("done\n$", out:text())
  end)
  it("prints JSON objects only in json mode, and errors only when quiet", function()
    local out, err = stream(), stream()
    local r = progress.new{ mode = "json", out = out, err = err }
    r:result("text", { a = 1 })
    r:result("bad", { b = 2 }, true)
    assert.equal('{"a":1}\n{"b":2}\n', out:text())
    assert.equal("bad\n", err:text())
    out, err = stream(), stream()
    r = progress.new{ mode = "quiet", out = out, err = err }
    r:result("text", { a = 1 })
    r:result("bad", nil, true)
    r:summary({ "summary" }, {})
    assert.equal("", out:text())
    assert.equal("bad\n", err:text())
  end)
end)

describe("core.signal_watch", function()
  it("queues SIGINT as data and gives it back on close", function()
    local w = assert(core.signal_watch{ "INT" })
    assert.is_nil(w:pending())
    local pid = util.read_file("/proc/self/stat"):match("^%d+")
    util.sh_ok("kill -INT " .. pid)
    assert.equal("INT", w:pending())
    assert.is_nil(w:pending())
    assert.is_true(w:fd() >= 0)
    w:close()
    w:close()
    assert.equal("mediacdn.SignalWatch (closed)", tostring(w))
    assert.has_error(function() w:pending() end, "attempt to use a closed mediacdn.SignalWatch")
    assert.has_error(function() w:fd() end, "attempt to use a closed mediacdn.SignalWatch")
    assert.has_error(function() core.signal_watch{ "KILL" } end)
  end)
end)
