-- Metadata workflows over a fake Sirv (fake transport, virtual time): read / edit /
-- copy meta, apply with concurrency, reports, rate limits (stop / wait) and the
-- journal. Export, import and the CSV codec: spec/metadata_io_spec.lua.
local sirv_mod = require "mediacdn.sirv"
local metadata = require "mediacdn.sirv.metadata"
local errors = require "mediacdn.errors"
local mediacdn = require "mediacdn"
local util = require "helpers.util"
local fake_sirv_mod = require "helpers.fake_sirv"

local json_decode, null = mediacdn.json_decode, mediacdn.null
local tmpfile, write_all = util.tmpname, util.write_file

metadata.install(sirv_mod.Client)

local fake_sirv, json = fake_sirv_mod.new, fake_sirv_mod.json

-- a file's non-empty lines; raise when it cannot be read
local function lines_of(p) return assert(util.read_lines(p)) end

local function has_tag(m, tag)
  for _, t in ipairs(m.tags or {}) do if t == tag then return true end end
  return false
end

describe("sirv metadata (fake transport)", function()
  it("installs its methods on the client class", function()
    for _, m in ipairs{ "read_meta", "edit_meta", "copy_meta", "apply_meta", "export_meta", "import_meta" } do
      assert.is_function(sirv_mod.Client[m], m)
    end
    assert.has_error(function() metadata.install(nil) end)
  end)

  describe("read_meta", function()
    it("reads all meta in one call as one normalised table", function()
      local c, S = fake_sirv()
      S.add("/a.jpg", { title = "T", tags = { "x", "y" }, product = { id = "P1", name = "" },
        approval = { approved = false, comment = "no" } })
      local m = assert(c:read_meta("/a.jpg"))
      assert.are.equal(1, S.ops["GET /v2/files/meta"])
      assert.are.equal("T", m.title)
      assert.are.equal("", m.description)
      assert.are.same({ "x", "y" }, m.tags)
      assert.are.same({ id = "P1" }, m.product)
      assert.is_false(m.approval.approved)
      assert.are.equal("no", m.approval.comment)
    end)

    it("normalises nulls and missing fields", function()
      local m = metadata.normalize{ title = null, tags = null, product = { id = null, brand = "B" }, approval = null }
      assert.are.same({ title = "", description = "", tags = {}, product = { brand = "B" }, approval = {} }, m)
      assert.are.same({ title = "", description = "", tags = {}, product = {}, approval = {} }, metadata.normalize(nil))
    end)

    it("returns nil, err for a missing file and raises on misuse", function()
      local c = fake_sirv()
      local m, err = c:read_meta("/nope.jpg")
      assert.is_nil(m)
      assert.are.equal("not_found", err.kind)
      assert.has_error(function() c:read_meta(5) end, "sirv:read_meta: argument #1 must be a path string")
      assert.has_error(function() metadata.read({}, "/x") end)
    end)
  end)

  describe("edit_meta", function()
    it("sets many fields in one postFilesMeta call", function()
      local c, S, fake = fake_sirv()
      S.add("/a.jpg")
      assert.is_true(c:edit_meta("/a.jpg", { title = "T", description = "D", tags = { "a", "b", "a" },
        product = { id = "P" }, approval = { approved = true, comment = "ok" } }))
      assert.are.equal(1, S.ops["POST /v2/files/meta"])
      local body = json_decode(fake.requests[#fake.requests].body)
      assert.are.same({ "a", "b" }, body.tags)
      local m = c:read_meta("/a.jpg")
      assert.are.equal("T", m.title)
      assert.are.equal("D", m.description)
      assert.are.same({ "a", "b" }, m.tags)
      assert.are.same({ id = "P" }, m.product)
      assert.is_true(m.approval.approved)
    end)

    it("adds and removes tags idempotently", function()
      local c, S = fake_sirv()
      S.add("/a.jpg", { tags = { "old" } })
      assert.is_true(c:edit_meta("/a.jpg", { add_tags = "new" }))
      assert.is_true(c:edit_meta("/a.jpg", { add_tags = { "new", "new" } }))
      assert.are.same({ "old", "new" }, S.files["/a.jpg"].tags)
      assert.is_true(c:edit_meta("/a.jpg", { remove_tags = { "old", "never-there" } }))
      assert.is_true(c:edit_meta("/a.jpg", { remove_tags = "old" }))
      assert.are.same({ "new" }, S.files["/a.jpg"].tags)
      assert.are.equal(2, S.ops["POST /v2/files/meta/tags"])
      assert.are.equal(2, S.ops["DELETE /v2/files/meta/tags"])
    end)

    it("sends more than 50 tags in chunks of 50", function()
      local c, S = fake_sirv()
      S.add("/a.jpg")
      local many = {}
      for i = 1, 120 do many[i] = "t" .. i end
      assert.is_true(c:edit_meta("/a.jpg", { add_tags = many }))
      assert.are.equal(3, S.ops["POST /v2/files/meta/tags"])
      assert.are.equal(120, #S.files["/a.jpg"].tags)
    end)

    it("routes what postFilesMeta cannot carry through the single-field endpoints", function()
      local c, S = fake_sirv()
      S.add("/a.jpg", { tags = { "keep", "drop" } })
      local long_tag = string.rep("x", 40)
      assert.is_true(c:edit_meta("/a.jpg", { title = string.rep("t", 300), description = "short",
        tags = { "keep", long_tag } }))
      assert.are.equal(1, S.ops["POST /v2/files/meta"])
      assert.are.equal(1, S.ops["POST /v2/files/meta/title"])
      assert.are.equal(300, #S.files["/a.jpg"].title)
      assert.are.equal("short", S.files["/a.jpg"].description)
      assert.are.same({ "keep", long_tag }, S.files["/a.jpg"].tags)
    end)

    it("returns the error of a failed call", function()
      local c = fake_sirv()
      local ok, err = c:edit_meta("/missing.jpg", { add_tags = "x" })
      assert.is_nil(ok)
      assert.are.equal("not_found", err.kind)
    end)

    it("raises on misuse, naming the argument", function()
      local c = fake_sirv()
      assert.has_error(function() c:edit_meta(1, {}) end, "sirv:edit_meta: argument #1 must be a path string")
      assert.has_error(function() c:edit_meta("/a", "x") end,
        "sirv:edit_meta: argument #2 must be a change table {title=, tags=, add_tags=, ...}")
      assert.has_error(function() c:edit_meta("/a", { colour = "red" }) end,
        "sirv:edit_meta: argument #2 has an unknown field 'colour'")
      assert.has_error(function() c:edit_meta("/a", { title = 5 }) end,
        "sirv:edit_meta: argument #2 field 'title' must be a string")
      assert.has_error(function() c:edit_meta("/a", { add_tags = { 1 } }) end,
        "sirv:edit_meta: argument #2 field 'add_tags' must be a tag string or a list of strings")
      assert.has_error(function() c:edit_meta("/a", { approval = { comment = "x" } }) end,
        "sirv:edit_meta: argument #2 is invalid: approval.approved is required")
      assert.has_error(function() c:edit_meta("/a", { product = { sku = "x" } }) end,
        "sirv:edit_meta: argument #2 is invalid: product has an unknown field 'sku'")
    end)
  end)

  describe("copy_meta", function()
    it("copies title, description, tags, product and approval in two calls", function()
      local c, S = fake_sirv()
      S.add("/src.jpg", { title = "T", description = "D", tags = { "a", "b" }, product = { id = "P", brand = "B" },
        approval = { approved = true, comment = "fine" } })
      S.add("/dst.jpg", { title = "old", tags = { "z" }, product = { name = "N" } })
      assert.is_true(c:copy_meta("/src.jpg", "/dst.jpg"))
      assert.are.equal(1, S.ops["GET /v2/files/meta"])
      assert.are.equal(1, S.ops["POST /v2/files/meta"])
      local a, b = c:read_meta("/src.jpg"), c:read_meta("/dst.jpg")
      a.approval.datetime, b.approval.datetime = nil, nil
      assert.are.same(a, b)
    end)

    it("copies only opts.fields", function()
      local c, S = fake_sirv()
      S.add("/src.jpg", { title = "T", tags = { "a" } })
      S.add("/dst.jpg", { title = "keep", tags = { "z" } })
      assert.is_true(c:copy_meta("/src.jpg", "/dst.jpg", { fields = { "tags" } }))
      assert.are.equal("keep", S.files["/dst.jpg"].title)
      assert.are.same({ "a" }, S.files["/dst.jpg"].tags)
      assert.has_error(function() c:copy_meta("/a", "/b", { fields = { "size" } }) end,
        "sirv:copy_meta: argument #3 field 'fields' names an unknown field 'size'")
    end)

    it("copies long tags by difference with the target's", function()
      local c, S = fake_sirv()
      local long = string.rep("L", 33)
      S.add("/src.jpg", { tags = { long, "b" } })
      S.add("/dst.jpg", { tags = { "b", "z" } })
      assert.is_true(c:copy_meta("/src.jpg", "/dst.jpg"))
      assert.are.same({ "b", long }, S.files["/dst.jpg"].tags)
    end)

    it("writes nothing when the source cannot be read", function()
      local c, S = fake_sirv()
      S.add("/dst.jpg")
      local ok, err = c:copy_meta("/nope.jpg", "/dst.jpg")
      assert.is_nil(ok)
      assert.are.equal("not_found", err.kind)
      assert.is_nil(S.ops["POST /v2/files/meta"])
      assert.has_error(function() c:copy_meta("/a", nil) end, "sirv:copy_meta: argument #2 must be a path string")
    end)
  end)

  describe("diff", function()
    it("lists only what differs, and the fields that make it so", function()
      local cur = metadata.normalize{ title = "A", description = "D", tags = { "x", "y" },
        product = { id = "1", brand = "B" }, approval = { approved = false, comment = "c" } }
      local fields, lines = metadata.diff(cur, { title = "A", description = "", tags = { "y", "z" },
        product = { id = "1", brand = "", name = "N" }, approval = { approved = true } })
      assert.are.same({ description = "", tags = { "y", "z" }, product = { id = "1", brand = "", name = "N" },
        approval = { approved = true, comment = "c" } }, fields)
      assert.are.same({ 'description: "D" -> ""', 'tags: +"z" -"x"', 'product.name: "" -> "N"',
        'product.brand: "B" -> ""', "approved: false -> true" }, lines)
    end)

    it("finds no change for the same tags in another order, or for absent fields", function()
      local cur = metadata.normalize{ title = "A", tags = { "x", "y" } }
      local fields, lines = metadata.diff(cur, { tags = { "y", "x" } })
      assert.are.same({}, fields)
      assert.are.same({}, lines)
      assert.are.same({}, (metadata.diff(cur, {})))
    end)

    it("cannot set an approval comment without an approved value", function()
      local fields, lines = metadata.diff(metadata.normalize{}, { approval = { comment = "hm" } })
      assert.are.same({}, fields)
      assert.matches("approval comment not set", lines[2], 1, true)
      assert.has_error(function() metadata.diff(nil, {}) end)
    end)
  end)

  describe("apply_meta", function()
    it("applies a change table to every file of a folder, one report per file in order", function()
      local c, S = fake_sirv()
      S.seed(250, "/d")
      S.add("/d/sub", { dir = true })
      local seen = {}
      local sum = c:apply_meta("/d", { add_tags = "done" }, { on_file = function(r) seen[#seen + 1] = r.path end })
      assert.are.equal(250, sum.done)
      assert.are.equal(0, sum.failed)
      assert.is_true(sum.complete)
      assert.is_false(sum.stopped)
      assert.are.equal(250, #sum.files)
      assert.are.equal("/d/f0001.jpg", sum.files[1].path)
      assert.are.equal("/d/f0250.jpg", seen[250])
      assert.is_true(sum.files[7].ok)
      for _, p in ipairs(S.order) do
        if not S.files[p].dir then assert.is_true(has_tag(S.files[p], "done"), p) end
      end
      assert.are.equal(250, S.ops["POST /v2/files/meta/tags"]) -- one call per file, none for the folder
      assert.are.equal(3, S.ops["GET /v2/files/readdir"])
    end)

    it("takes a list, a search, a pull function or metadata.from(iterator)", function()
      local c, S = fake_sirv()
      S.seed(5, "/d")
      assert.are.equal(2, c:apply_meta({ "/d/f0001.jpg", { path = "/d/f0002.jpg" } }, { add_tags = "l" }).done)
      assert.are.equal(5, c:apply_meta({ query = "/d/" }, { add_tags = "s" }).done)
      local i = 0
      local sum = c:apply_meta(function() i = i + 1 return i <= 3 and S.order[i] or nil end, { add_tags = "p" })
      assert.are.equal(3, sum.done)
      assert.is_true(sum.complete)
      assert.are.equal(5, c:apply_meta(metadata.from(c:readdir("/d")), { add_tags = "i" }).done)
      assert.are.same({ "l", "s", "p", "i" }, S.files["/d/f0001.jpg"].tags)
      assert.are.same({ "s", "i" }, S.files["/d/f0005.jpg"].tags)
    end)

    it("walks sub-folders with opts.recursive and includes folders with opts.folders", function()
      local c, S = fake_sirv()
      S.add("/t/a.jpg")
      S.add("/t/sub", { dir = true })
      S.add("/t/sub/b.jpg")
      local flat = c:apply_meta("/t", { add_tags = "t" })
      assert.are.equal(1, flat.done)
      local deep = c:apply_meta("/t", { add_tags = "r" }, { recursive = true })
      assert.are.equal(2, deep.done)
      assert.are.same({ "r" }, S.files["/t/sub/b.jpg"].tags)
      local with_folders = c:apply_meta("/t", { add_tags = "f" }, { folders = true })
      assert.are.equal(2, with_folders.done)
      assert.are.same({ "f" }, S.files["/t/sub"].tags)
    end)

    it("applies a function and reports each file's result or error", function()
      local c, S = fake_sirv()
      S.seed(4, "/d")
      local sum = c:apply_meta("/d", function(sirv, path, item)
        assert.are.equal(path, item.path)
        if path == "/d/f0002.jpg" then return nil, errors.new{ kind = "client", message = "nope" } end
        if path == "/d/f0003.jpg" then return false end
        return sirv:edit_meta(path, { title = "T " .. path })
      end)
      assert.are.equal(2, sum.done)
      assert.are.equal(2, sum.failed)
      assert.is_true(sum.complete)
      assert.are.equal("nope", sum.files[2].err.message)
      assert.are.equal("local", sum.files[3].err.kind)
      assert.are.equal("T /d/f0004.jpg", S.files["/d/f0004.jpg"].title)
    end)

    it("reports failures per file and goes on", function()
      local c = fake_sirv()
      local sum = c:apply_meta({ "/x.jpg", "/y.jpg" }, { add_tags = "t" })
      assert.are.equal(2, sum.failed)
      assert.are.equal("not_found", sum.files[1].err.kind)
      assert.is_true(sum.complete)
    end)

    it("fails one file for a raised error object, stops the run for any other raise", function()
      local c, S = fake_sirv()
      S.seed(40, "/d")
      local sum = c:apply_meta("/d", function(_, path)
        if path == "/d/f0001.jpg" then error(errors.new{ kind = "conflict", message = "busy" }) end
        if path == "/d/f0002.jpg" then error("a bug") end
        return true
      end, { concurrency = 1 })
      assert.are.equal("conflict", sum.files[1].err.kind)
      assert.matches("a bug", tostring(sum.error))
      assert.is_false(sum.complete)
      assert.is_true(#sum.files < 40)
    end)

    it("ends with summary.error when a page fails for another reason than the limit", function()
      local c, S = fake_sirv()
      S.seed(150, "/d")
      S.hook = function(op, q)
        if op == "GET /v2/files/readdir" and q.continuation then
          return json(500, { statusCode = 500, message = "boom" })
        end
      end
      local sum = c:apply_meta("/d", { add_tags = "t" }, { concurrency = 1 })
      assert.are.equal(100, sum.done)
      assert.are.equal("transient", sum.error.kind)
      assert.is_false(sum.complete)
    end)

    it("raises on misuse, naming the argument", function()
      local c = fake_sirv()
      assert.has_error(function() c:apply_meta(42, { title = "x" }) end,
        "sirv:apply_meta: argument #1 must be a folder path, a list of paths, a search {query=}, a pull function or metadata.from(iterator)")
      assert.has_error(function() c:apply_meta("/d", 5) end,
        "sirv:apply_meta: argument #2 must be a change table {title=, tags=, add_tags=, ...}")
      assert.has_error(function() c:apply_meta("/d", {}, { concurrency = 0 }) end,
        "sirv:apply_meta: argument #3 field 'concurrency' must be a positive integer")
      assert.has_error(function() c:apply_meta("/d", {}, { on_limit = "later" }) end,
        "sirv:apply_meta: argument #3 field 'on_limit' must be \"stop\" or \"wait\"")
      assert.has_error(function() c:apply_meta("/d", {}, { journal = true }) end,
        "sirv:apply_meta: argument #3 field 'journal' must be a file path or a shared journal {job =, lease =}")
      assert.has_error(function() c:apply_meta("/d", {}, { on_file = 1 }) end,
        "sirv:apply_meta: argument #3 field 'on_file' must be a function")
    end)

    it("ends with summary.error when the source yields something without a path", function()
      local c = fake_sirv()
      local sum = c:apply_meta({ 5 }, { title = "x" })
      assert.matches("without a path", sum.error.message)
    end)
  end)

  describe("journal", function()
    it("appends one line per finished file and skips them on the next run", function()
      local c, S = fake_sirv()
      S.seed(10, "/d")
      local j = tmpfile()
      write_all(j, "/d/f0003.jpg\n")
      local sum = c:apply_meta("/d", { add_tags = "t" }, { journal = j })
      assert.are.equal(9, sum.done)
      assert.are.equal(1, sum.skipped)
      assert.is_true(sum.files[3].skipped)
      assert.is_nil(S.sent["POST /v2/files/meta/tags"]["/d/f0003.jpg"])
      assert.are.equal(10, #lines_of(j))
      local again = c:apply_meta("/d", { add_tags = "t" }, { journal = j })
      assert.are.equal(0, again.done)
      assert.are.equal(10, again.skipped)
      assert.are.equal(9, S.ops["POST /v2/files/meta/tags"])
      os.remove(j)
    end)

    it("does not journal failures, so a re-run retries them", function()
      local c, S = fake_sirv()
      S.add("/a.jpg")
      local j = tmpfile()
      local sum = c:apply_meta({ "/a.jpg", "/b.jpg" }, { add_tags = "t" }, { journal = j })
      assert.are.equal(1, sum.failed)
      assert.are.same({ "/a.jpg" }, lines_of(j))
      S.add("/b.jpg")
      sum = c:apply_meta({ "/a.jpg", "/b.jpg" }, { add_tags = "t" }, { journal = j })
      assert.are.equal(1, sum.done)
      assert.are.equal(1, sum.skipped)
      os.remove(j)
    end)

    it("survives a torn last line and escapes line breaks in paths", function()
      local c, S = fake_sirv()
      S.add("/a\nb.jpg")
      S.add("/c.jpg")
      S.add("/100% back\\slash.jpg")
      local j = tmpfile()
      write_all(j, "# comment\n/c.j") -- a crash mid-write
      local sum = c:apply_meta({ "/a\nb.jpg", "/c.jpg" }, { add_tags = "t" }, { journal = j })
      assert.are.equal(2, sum.done)
      assert.are.same({ "# comment", "/c.j", "/a\\nb.jpg", "/c.jpg" }, lines_of(j))
      sum = c:apply_meta({ "/a\nb.jpg", "/c.jpg", "/100% back\\slash.jpg" }, { add_tags = "t" }, { journal = j })
      assert.are.equal(2, sum.skipped)
      assert.are.equal(1, sum.done)
      assert.are.equal("/100% back\\\\slash.jpg", lines_of(j)[5])
      sum = c:apply_meta({ "/100% back\\slash.jpg" }, { add_tags = "t" }, { journal = j })
      assert.are.equal(1, sum.skipped)
      os.remove(j)
    end)

    it("never pulls a finished source again, however many entries were skipped", function()
      local c, S = fake_sirv()
      S.seed(40, "/d")
      local j = tmpfile()
      local lines = {}
      for i = 1, 30 do lines[i] = S.order[i] end
      write_all(j, table.concat(lines, "\n") .. "\n")
      local src = coroutine.wrap(function() for _, p in ipairs(S.order) do coroutine.yield(p) end end)
      local sum = c:apply_meta(src, { add_tags = "t" }, { journal = j, concurrency = 1 })
      assert.is_nil(sum.error)
      assert.is_true(sum.complete)
      assert.are.equal(30, sum.skipped)
      assert.are.equal(10, sum.done)
      os.remove(j)
    end)

    it("returns nil, err when the journal cannot be opened", function()
      local c = fake_sirv()
      local sum, err = c:apply_meta({ "/a" }, { add_tags = "t" }, { journal = "/nonexistent-dir/j.txt" })
      assert.is_nil(sum)
      assert.are.equal("local", err.kind)
    end)
  end)

  describe("rate limits", function()
    it("stops at the limit with the reset time, and a re-run after the reset finishes the rest", function()
      local c, S, fake = fake_sirv{ limit = 30 }
      S.seed(50, "/d")
      local j = tmpfile()
      local sum = c:apply_meta("/d", { add_tags = "t" }, { journal = j, on_limit = "stop", concurrency = 4 })
      assert.is_true(sum.stopped)
      assert.is_false(sum.complete)
      assert.is_near(fake.clock + 3600, sum.reset_at, 2)
      assert.are.equal(29, sum.done) -- 30 minus the readdir page
      assert.are.equal(29, #lines_of(j))
      local tags_sent = S.ops["POST /v2/files/meta/tags"]
      assert.is_true(tags_sent <= 30, "stopped sending at the limit")
      -- nothing more is sent while the budget is known to be empty
      local before = #fake.requests
      local sum2 = c:apply_meta("/d", { add_tags = "t" }, { journal = j, on_limit = "stop" })
      assert.is_true(sum2.stopped)
      assert.are.equal(before, #fake.requests)
      -- the hour passes
      fake.clock = sum.reset_at + 1
      local sum3 = c:apply_meta("/d", { add_tags = "t" }, { journal = j, on_limit = "stop" })
      assert.is_true(sum3.complete)
      assert.are.equal(21, sum3.done)
      assert.are.equal(29, sum3.skipped)
      for p, n in pairs(S.sent["POST /v2/files/meta/tags"]) do
        assert.are.equal(1, n, p .. " was sent twice")
      end
      for _, p in ipairs(S.order) do assert.is_true(has_tag(S.files[p], "t")) end
      assert.are.equal(50, #lines_of(j))
      os.remove(j)
    end)

    it("counts files that hit the limit apart from failures, with whole-second reset times", function()
      local c, S, fake = fake_sirv{ limit = 20 }
      fake.clock = 1700000000.4 -- the engine computes reset times from a fractional clock
      S.seed(30, "/d")
      local msgs = {}
      local sum = c:apply_meta("/d", { add_tags = "t" }, { on_limit = "stop",
        on_file = function(r) if not r.ok then msgs[#msgs + 1] = tostring(r.err) end end })
      assert.are.equal(19, sum.done)
      assert.are.equal(0, sum.failed)
      assert.are.equal(1, sum.limited)
      assert.are.equal(math.floor(sum.reset_at), sum.reset_at)
      assert.are.equal("rate_limited", sum.files[20].err.kind)
      assert.matches("rate_limited", msgs[1], 1, true)
    end)

    it("with on_limit = \"wait\" sleeps until the reset and finishes in one run", function()
      local c, S, fake = fake_sirv{ limit = 30 }
      S.seed(70, "/d")
      local waits = 0
      local sum = c:apply_meta("/d", { add_tags = "t" }, { on_limit = "wait", concurrency = 4,
        on_wait = function(delay) waits = waits + 1 assert.is_true(delay > 0) end })
      assert.is_true(sum.complete)
      assert.are.equal(70, sum.done)
      assert.are.equal(0, sum.failed)
      assert.is_true(waits >= 2)
      assert.is_true(fake.slept >= 7200)
      for p, n in pairs(S.sent["POST /v2/files/meta/tags"]) do assert.are.equal(1, n, p) end
    end)

    it("stops instead of waiting longer than max_wait", function()
      local c, S = fake_sirv{ limit = 5 }
      S.seed(10, "/d")
      local sum = c:apply_meta("/d", { add_tags = "t" }, { on_limit = "wait", max_wait = 60 })
      assert.is_true(sum.stopped)
      assert.are.equal(4, sum.done)
    end)

    it("stops a client in \"wait\" mode when asked to (no sleeping)", function()
      local c, S, fake = fake_sirv{ limit = 10, rate_limit = "wait" }
      S.seed(20, "/d")
      local sum = c:apply_meta("/d", { add_tags = "t" }, { on_limit = "stop", concurrency = 1 })
      assert.is_true(sum.stopped)
      assert.are.equal(9, sum.done)
      assert.are.equal(0, fake.slept)
      assert.are.equal("wait", c.rate_limit)
    end)

    it("waits by default with a client in \"wait\" mode, stops with one in \"fail\" mode", function()
      local c, S, fake = fake_sirv{ limit = 10, rate_limit = "wait" }
      S.seed(15, "/d")
      local sum = c:apply_meta("/d", { add_tags = "t" })
      assert.is_true(sum.complete)
      assert.are.equal(15, sum.done)
      assert.is_true(fake.slept > 0)
      local c2, S2 = fake_sirv{ limit = 10 }
      S2.seed(15, "/d")
      assert.is_true(c2:apply_meta("/d", { add_tags = "t" }).stopped)
    end)

    it("a rate-limited page stops the run, or is waited out and the walk restarted", function()
      -- the second readdir page answers 429 once (the client did not see it coming)
      local function limited_once(S, fake)
        local fired = false
        S.hook = function(op, q)
          if op == "GET /v2/files/readdir" and q.continuation and not fired then
            fired = true
            local reset = tostring(math.floor(fake.clock + 60))
            return json(429, { statusCode = 429, message = "Rate limit exceeded" }, {
              ["x-ratelimit-limit"] = "500", ["x-ratelimit-remaining"] = "0", ["x-ratelimit-reset"] = reset,
              ["x-ratelimit-type"] = "rest:global", ["x-global-ratelimit-remaining"] = "0",
              ["x-global-ratelimit-reset"] = reset })
          end
        end
      end
      local c, S, fake = fake_sirv()
      S.seed(150, "/d")
      limited_once(S, fake)
      local sum = c:apply_meta("/d", { add_tags = "t" }, { concurrency = 1 })
      assert.is_true(sum.stopped)
      assert.is_near(fake.clock + 60, sum.reset_at, 1)
      assert.are.equal(96, sum.done) -- the 4 entries pulled before the page are not started
      local c2, S2, fake2 = fake_sirv()
      S2.seed(150, "/d")
      limited_once(S2, fake2)
      local sum2 = c2:apply_meta("/d", { add_tags = "t" }, { concurrency = 1, on_limit = "wait" })
      assert.is_true(sum2.complete)
      assert.are.equal(150, sum2.done)
      assert.are.equal(150, #sum2.files)
      assert.is_true(fake2.slept >= 60)
      assert.are.equal(4, S2.ops["GET /v2/files/readdir"]) -- the walk began again
      for p, n in pairs(S2.sent["POST /v2/files/meta/tags"]) do assert.are.equal(1, n, p) end
    end)
  end)

  describe("concurrency", function()
    after_each(function() package.loaded["mediacdn.loop"] = nil end)

    it("runs batches through mediacdn.loop.gather with opts.concurrency when it exists", function()
      local calls = {}
      package.loaded["mediacdn.loop"] = {
        gather = function(fns, o)
          calls[#calls + 1] = { n = #fns, concurrency = o.concurrency }
          local results, errs = {}, {}
          for i = #fns, 1, -1 do -- out of order on purpose: reports must stay in order
            local ok, r = pcall(fns[i])
            if ok then results[i] = r else errs[i] = r end
          end
          return results, errs
        end,
      }
      local c, S = fake_sirv()
      S.seed(100, "/d")
      local sum = c:apply_meta("/d", { add_tags = "t" }, { concurrency = 3 })
      assert.are.equal(100, sum.done)
      assert.are.equal("/d/f0001.jpg", sum.files[1].path)
      assert.are.equal("/d/f0100.jpg", sum.files[100].path)
      assert.are.same({ n = 24, concurrency = 3 }, calls[1])
      assert.are.equal(5, #calls)
    end)

    it("runs one at a time without a loop (concurrency 1)", function()
      package.loaded["mediacdn.loop"] = { gather = function() error("must not be used") end }
      local c, S = fake_sirv()
      S.seed(3, "/d")
      assert.are.equal(3, c:apply_meta("/d", { add_tags = "t" }, { concurrency = 1 }).done)
    end)
  end)

end)
