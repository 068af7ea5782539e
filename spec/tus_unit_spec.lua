-- Unit specs of mediacdn.tus over the fake transport (no network): argument
-- checks, bad input, servers that lie, the journal stores and the progress
-- reporter. The protocol machine itself has C unit tests (tests/c/test_tus.c).
local tus = require "mediacdn.tus"
local journal = require "mediacdn.tus.journal"
local progress = require "mediacdn.progress"
local core = require "mediacdn.core"
local fake = require "mediacdn.transport.fake"
local util = require "helpers.util"

local EP = "http://127.0.0.1:9/files"

local function tmpfile(n)
  local p = util.tmpname(".bin")
  util.write_file(p, string.rep("abcdefgh", math.floor(n / 8) + 1):sub(1, n))
  return p
end

describe("tus.upload argument checks", function()
  local f
  before_each(function() f = tmpfile(100) end)
  after_each(function() os.remove(f) end)

  it("raises on misuse, naming the argument", function()
    for _, bad in ipairs{ 0, -5, 1.5, "8" } do
      assert.has_error(function() tus.upload(EP, f, { chunk_size = bad, journal = false }) end,
        "tus.upload: opts.chunk_size must be a positive integer (bytes)")
    end
    assert.has_error(function() tus.upload("ftp://x", f) end, "tus.upload: endpoint must be an http(s) URL")
    assert.has_error(function() tus.upload(EP, nil) end,
      "tus.upload: source must be a local file path (a non-empty string without NUL bytes) (got nil)")
    assert.has_error(function() tus.upload(EP, f, { checksum = "md5" }) end,
      'tus.upload: opts.checksum must be "sha256", "sha1" or false')
    assert.has_error(function() tus.upload(EP, f, { parallel = 0 }) end, "tus.upload: opts.parallel must be a positive integer")
    assert.has_error(function() tus.upload(EP, f, { journal = 42 }) end)
    assert.has_error(function() tus.upload(EP, f, { metadata = { ["a b"] = "x" } }) end)
  end)

  it("a missing file or a directory is a local error; nothing is sent", function()
    local t = fake.new()
    local res, err = tus.upload(EP, "/nonexistent/file.bin", { transport = t, journal = false })
    assert.is_nil(res)
    assert.equal("local", err.kind)
    assert.equal("missing", err.reason)
    res, err = tus.upload(EP, "/tmp", { transport = t, journal = false })
    assert.is_nil(res)
    assert.equal("not_regular", err.reason)
    assert.matches("not a regular file", tostring(err))
    assert.equal(0, #t.requests)
  end)
end)

describe("tus.upload against a lying server", function()
  local f, store
  before_each(function()
    f = tmpfile(3000)
    store = journal.memory_store()
  end)
  after_each(function() os.remove(f) end)

  local function key()
    return (core.tus_fingerprint(f, "tus:" .. EP .. "#" .. f:match("[^/]+$")))
  end

  it("refuses a Location on another host and records nothing", function()
    local t = fake.new()
    t:push{ status = 204, headers = { ["Tus-Version"] = "1.0.0", ["Tus-Extension"] = "creation" } }
    t:push{ status = 201, headers = { Location = "http://evil.example/files/x" } }
    local res, err = tus.upload(EP, f, { transport = t, journal = store, chunk_size = 1000 })
    assert.is_nil(res)
    assert.equal("protocol", err.kind)
    assert.matches("another host", err.message)
    assert.equal(2, #t.requests)
    assert.is_nil(store:get(key()))
  end)

  it("fails on an offset beyond what was sent, keeps the journal on the upload, retries nothing", function()
    local t = fake.new()
    t:push{ status = 204, headers = { ["Tus-Extension"] = "creation" } }
    t:push{ status = 201, headers = { Location = "/files/abc" } }
    t:push{ status = 204, headers = { ["Upload-Offset"] = "2500" } } -- 1000 sent
    local res, err = tus.upload(EP, f, { transport = t, journal = store, chunk_size = 1000 })
    assert.is_nil(res)
    assert.equal("protocol", err.kind)
    assert.matches("beyond the 1000 bytes sent", err.message)
    assert.equal(3, #t.requests)
    local e = store:get(key())
    assert.equal("http://127.0.0.1:9/files/abc", e.url)
    assert.equal(3000, e.size)
  end)

  it("fails on an offset that goes backwards", function()
    local t = fake.new()
    t:push{ status = 204, headers = { ["Tus-Extension"] = "creation" } }
    t:push{ status = 201, headers = { Location = "/files/abc" } }
    t:push{ status = 204, headers = { ["Upload-Offset"] = "1000" } }
    t:push{ status = 204, headers = { ["Upload-Offset"] = "10" } }
    local res, err = tus.upload(EP, f, { transport = t, journal = store, chunk_size = 1000 })
    assert.is_nil(res)
    assert.matches("backwards", err.message)
    assert.equal(4, #t.requests)
    assert.equal("PATCH", t.requests[4].method)
    assert.equal("1000", t.requests[4].headers["Upload-Offset"])
  end)

  it("gives up on a server that never makes progress", function()
    local t = fake.new()
    t:push{ status = 204, headers = { ["Tus-Extension"] = "creation" } }
    t:push{ status = 201, headers = { Location = "/files/abc" } }
    t:route(function(req)
      if req.method == "HEAD" then return { status = 200, headers = { ["upload-offset"] = "0" }, body = "" } end
      if req.method == "PATCH" then return nil, { kind = "transient", message = "Connection reset by peer", code = 56 } end
    end)
    local res, err = tus.upload(EP, f, { transport = t, journal = store, chunk_size = 1000, retry = { attempts = 2 } })
    assert.is_nil(res)
    assert.equal("transient", err.kind)
    assert.matches("gave up", err.message)
    assert.is_true(#t.requests < 30)
  end)

  it("a second writer of the same entry gets a conflict", function()
    local lock = store:lock(key())
    local res, err = tus.upload(EP, f, { transport = fake.new(), journal = store })
    assert.is_nil(res)
    assert.equal("conflict", err.kind)
    lock.release()
  end)
end)

describe("tus.upload with an unusable journal", function()
  it("uploads without resume and says so in an event", function()
    local f = tmpfile(10)
    local t = fake.new()
    t:push{ status = 204, headers = { ["Tus-Extension"] = "creation" } }
    t:push{ status = 201, headers = { Location = "/files/abc" } }
    t:push{ status = 204, headers = { ["Upload-Offset"] = "10" } }
    local seen = {}
    local res, err = tus.upload(EP, f, { transport = t, journal = "/proc/no-such-dir/journal",
      on_event = function(ev) if ev.type == "tus" then seen[#seen + 1] = ev.action end end })
    assert.is_nil(err)
    assert.equal(10, res.offset)
    assert.equal("journal_unavailable", seen[1])
    os.remove(f)
  end)
end)

describe("tus journal file store", function()
  it("writes atomically, locks per entry across handles, and reads back", function()
    local dir = util.tmpdir("mc-tus-journal")
    local s1, s2 = journal.file_store(dir), journal.file_store(dir)
    local k = string.rep("ab", 32)
    local l1 = assert(s1:lock(k))
    local l2, why = s2:lock(k)
    assert.is_nil(l2)
    assert.equal("busy", why)
    assert.is_true(s1:set(k, { url = "http://x/files/1", size = 5 }))
    assert.equal("http://x/files/1", s2:get(k).url)
    assert.is_nil(util.read_file(dir .. "/" .. k .. ".json.tmp"))
    l1:release()
    l1:release()
    assert.truthy(s2:lock(k))
    s1:delete(k)
    assert.is_nil(s1:get(k))
    util.write_file(dir .. "/" .. k .. ".json", "{not json")
    assert.is_nil(s1:get(k))
    util.sh_ok("rm -rf " .. util.shell_quote(dir))
  end)

  it("defaults to the user's cache directory", function()
    assert.matches("/mediacdn/tus$", journal.default_dir())
  end)
end)

describe("progress reporter", function()
  it("reports at most every interval, once at the end, with a smoothed rate and an eta", function()
    local now, seen = 0, {}
    local r = progress.new{ total = 1000, interval = 0.25, clock = function() return now end,
      on_progress = function(p) seen[#seen + 1] = p end }
    for i = 1, 10 do
      now = now + 0.1
      r:set(i * 100)
    end
    assert.equal(3, #seen) -- at 0.3, 0.6, 0.9 (and none between)
    assert.is_true(seen[1].rate > 0 and seen[1].eta > 0)
    assert.is_false(seen[1].done)
    r:finish(1000)
    r:finish(1000)
    assert.equal(4, #seen)
    assert.is_true(seen[4].done)
    assert.equal(0, seen[4].eta)
    assert.equal(1000, seen[4].bytes)
    assert.is_nil(progress.new{ clock = function() return 0 end })
  end)
end)
