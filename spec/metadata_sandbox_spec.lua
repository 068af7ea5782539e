-- Metadata workflows against the real sandbox (curl transport, mediacdn.loop):
-- tagging 1,000 files under a 300-per-hour limit stops at the limit with a
-- journal, re-runs after each reset finish the rest without re-sending a
-- finished file; waiting out a short window; export / import round trips.
local have_sandbox = io.open("bin/mediacdn-sandbox", "r")
if not have_sandbox then
  describe("metadata workflows (sandbox)", function()
    pending("bin/mediacdn-sandbox is absent")
  end)
  return
end
have_sandbox:close()

local sandbox = require "helpers.sandbox"
local sirv_mod = require "mediacdn.sirv"
local metadata = require "mediacdn.sirv.metadata"
local csv = require "mediacdn.csv"
local mediacdn = require "mediacdn"
local util = require "helpers.util"

local unescape, tmpfile, buffer = util.url_unescape, util.tmpname, util.buffer

metadata.install(sirv_mod.Client)

-- A transport that records what was sent (method, path, filename, status).
local function recording(inner)
  local rec = { name = "recording", log = {} }
  function rec.request(_, req)
    local res, terr = inner:request(req)
    local path = req.url:match("^https?://[^/]+([^?]*)")
    local filename = req.url:match("[?&]filename=([^&]*)")
    rec.log[#rec.log + 1] = { op = req.method .. " " .. path, filename = filename and unescape(filename),
      status = res and res.status }
    return res, terr
  end
  function rec.sleep(_, s) return inner:sleep(s) end
  function rec.now() return inner:now() end
  return rec
end

local function client(sb, transport, mode)
  return sirv_mod.new{ client_id = sb.client_id, client_secret = sb.client_secret, base_url = sb.url,
    transport = transport, rate_limit = mode or "fail", pacing = false }
end

-- the non-empty lines of a file ({} when there is none)
local function lines_of(p) return util.read_lines(p) or {} end

local TAG_OP = "POST /v2/files/meta/tags"

describe("metadata workflows (sandbox)", function()
  local sb

  setup(function()
    sb = sandbox.start{ hourly_limit = 300 }
  end)

  teardown(function()
    if sb then sb:stop() end
  end)

  before_each(function()
    sb:reset()
    sb:limits{ limits = { ["rest:global"] = 300 }, window_seconds = 3600 }
    sb:reset_limits()
  end)

  it("tags 1,000 files under a 300-per-hour limit: stops with a journal, re-runs finish the rest", function()
    assert.are.equal(1000, sb:seed(1000, "/bulk").created)
    sb:reset_stats()
    local journal = tmpfile(".journal")
    local finished = {}       -- path -> the run that finished it
    local ok_posts = {}       -- path -> successful tag POSTs
    local runs, total_tag_posts, last = 0, 0
    repeat
      runs = runs + 1
      local rec = recording(require("mediacdn.transport.curl").new())
      local c = client(sb, rec)
      last = c:apply_meta("/bulk", { add_tags = "batch-done" },
        { journal = journal, on_limit = "stop", concurrency = 8 })
      assert.is_nil(last.error)
      -- no file finished by an earlier run was sent again
      for _, r in ipairs(rec.log) do
        if r.op == TAG_OP then
          total_tag_posts = total_tag_posts + 1
          assert.is_nil(finished[r.filename], r.filename .. " was re-sent in run " .. runs)
          if r.status == 200 then ok_posts[r.filename] = (ok_posts[r.filename] or 0) + 1 end
        end
      end
      for _, rep in ipairs(last.files) do
        if rep.ok and not rep.skipped then finished[rep.path] = runs end
      end
      -- the journal holds exactly what is finished so far
      local jl = lines_of(journal)
      local n = 0
      for _ in pairs(finished) do n = n + 1 end
      assert.are.equal(n, #jl)
      for _, l in ipairs(jl) do assert.is_truthy(finished[l], l) end
      if runs == 1 then
        -- the first run stops cleanly at the limit, saying when it resets
        assert.is_true(last.stopped)
        assert.is_false(last.complete)
        assert.is_true(last.reset_at > os.time())
        assert.is_true(last.done >= 250 and last.done < 300, "done: " .. last.done)
        assert.are.equal(0, last.skipped)
      else
        assert.are.equal(n - last.done, last.skipped)
      end
      if not last.complete then
        assert.is_true(last.stopped)
        sb:reset_limits() -- the hour passes
      end
    until last.complete or runs >= 8
    assert.is_true(last.complete)
    assert.are.equal(4, runs) -- 1,000 tags + 10 readdir pages a run, 300 a window
    -- every file was tagged by exactly one successful request
    local n = 0
    for p, count in pairs(ok_posts) do
      n = n + 1
      assert.are.equal(1, count, p)
    end
    assert.are.equal(1000, n)
    -- the server saw the same number of tag requests the client sent
    assert.are.equal(total_tag_posts, sb:stats().requests[TAG_OP])
    -- and every file has the tag (read back through an export)
    sb:limits{ limits = { ["rest:global"] = 100000 } }
    local out = tmpfile(".json")
    local c = client(sb)
    local sum = assert(c:export_meta("/bulk", out, { concurrency = 16 }))
    assert.are.equal(1000, sum.done)
    local doc = assert(mediacdn.json_decode(assert(util.read_file(out))))
    assert.are.equal(1000, #doc)
    for _, rec in ipairs(doc) do
      local has = false
      for _, t in ipairs(rec.tags) do if t == "batch-done" then has = true end end
      assert.is_true(has, rec.path)
    end
    os.remove(out)
    os.remove(journal)
  end)

  it("waits out a short window with on_limit = \"wait\" and finishes in one run", function()
    sb:seed(60, "/waited")
    sb:limits{ limits = { ["rest:global"] = 40 }, window_seconds = 2 }
    sb:reset_limits()
    local c = client(sb)
    local waits = 0
    local sum = c:apply_meta("/waited", { add_tags = "w" },
      { on_limit = "wait", concurrency = 4, on_wait = function() waits = waits + 1 end })
    assert.is_true(sum.complete)
    assert.are.equal(60, sum.done)
    assert.are.equal(0, sum.failed)
    assert.is_true(waits >= 1)
  end)

  it("reads, edits and copies meta of files with awkward names", function()
    sb:seed(6, "/odd")
    local c = client(sb)
    local paths = {}
    for e in c:readdir("/odd") do paths[#paths + 1] = e.path end
    local a, b = paths[1], paths[2]
    assert.is_true(c:edit_meta(a, { title = "T", description = "D", tags = { "x", "y" },
      product = { id = "P", brand = "B" }, approval = { approved = true, comment = "ok" } }))
    assert.is_true(c:edit_meta(a, { add_tags = { "y", "z" }, remove_tags = { "x", "never" } }))
    local m = assert(c:read_meta(a))
    assert.are.equal("T", m.title)
    assert.are.same({ "y", "z" }, m.tags)
    assert.are.same({ id = "P", brand = "B" }, m.product)
    assert.is_true(m.approval.approved)
    assert.is_true(c:copy_meta(a, b))
    local n = assert(c:read_meta(b))
    m.approval.datetime, n.approval.datetime = nil, nil
    assert.are.same(m, n)
    local none, err = c:read_meta("/odd/missing.jpg")
    assert.is_nil(none)
    assert.are.equal("not_found", err.kind)
  end)

  it("exports a folder to CSV and imports it back: no change, then only the edited row", function()
    sb:seed(25, "/rt")
    local c = client(sb)
    local p = tmpfile(".csv")
    local sum = assert(c:export_meta("/rt", p))
    assert.are.equal(25, sum.done)
    local rows = assert(csv.decode(assert(util.read_file(p))))
    assert.are.equal(26, #rows)
    sb:reset_stats()
    local quiet = buffer()
    sum = assert(c:import_meta(p, { dry_run = true, out = quiet }))
    assert.are.equal(0, sum.changed)
    assert.are.equal(25, sum.done)
    assert.matches("dry run: 0 of 25 files would change", quiet:text(), 1, true)
    -- edit one row: a new title and one more tag
    rows[3][2] = "Edited, with a comma"
    rows[3][4] = rows[3][4] == "" and "fresh" or (rows[3][4] .. ";fresh")
    local text = {}
    for _, r in ipairs(rows) do text[#text + 1] = csv.encode_row(r) end
    util.write_file(p, table.concat(text))
    local out = buffer()
    sum = assert(c:import_meta(p, { dry_run = true, out = out }))
    assert.are.equal(1, sum.changed)
    assert.matches(rows[3][1] .. " (dry run)", out:text(), 1, true)
    assert.matches('title: ".-" %-> "Edited, with a comma"', out:text())
    assert.matches('tags: +"fresh"', out:text(), 1, true)
    assert.is_nil(sb:stats().requests["POST /v2/files/meta"])
    sum = assert(c:import_meta(p))
    assert.are.equal(1, sum.changed)
    assert.are.equal(1, sb:stats().requests["POST /v2/files/meta"])
    local m = assert(c:read_meta(rows[3][1]))
    assert.are.equal("Edited, with a comma", m.title)
    sum = assert(c:import_meta(p))
    assert.are.equal(0, sum.changed)
    os.remove(p)
  end)

  it("applies meta over a search that also finds a folder: the folder is left alone", function()
    sb:seed(5, "/fhits")
    local c = client(sb, nil, "wait")
    assert(c:mkdir("/fhits/sub"))
    local rec = recording(c.transport)
    c = client(sb, rec, "wait")
    local folder_hits = 0
    for h in c:search{ query = "dirname:\\/fhits" } do
      if type(h._source) == "table" and h._source.isDirectory then folder_hits = folder_hits + 1 end
    end
    assert.are.equal(1, folder_hits)    -- the index does hold the folder
    local sum = assert(c:apply_meta({ query = "dirname:\\/fhits" }, { add_tags = { "hit" } }))
    assert.are.equal(5, sum.done)
    assert.are.equal(0, sum.failed)
    local tagged = {}
    for _, e in ipairs(rec.log) do
      if e.op == TAG_OP then tagged[#tagged + 1] = e.filename end
    end
    assert.are.equal(5, #tagged)
    for _, f in ipairs(tagged) do assert.are_not.equal("/fhits/sub", f) end
  end)

  it("exports a search to JSON", function()
    sb:seed(30, "/found")
    local c = client(sb)
    local b = buffer()
    local sum = assert(c:export_meta({ query = "dirname:\\/found" }, b, { format = "json" }))
    assert.is_nil(sum.error)
    local doc = assert(mediacdn.json_decode(b:text()))
    assert.are.equal(sum.done, #doc)
    assert.is_true(#doc > 0)
    for _, r in ipairs(doc) do assert.matches("^/found/", r.path) end
  end)
end)
