-- Specs for the sandbox search language, part 2: sort(), sort_values() and a
-- query over 10,000 docs (emulator/lua/sandbox/query/sort.lua, eval.lua).
-- Part 1 (matching) is spec/sandbox_query_spec.lua.

package.path = "emulator/lua/?.lua;" .. package.path
local q = require "sandbox.query"

local fixture = require("helpers.query_fixture").docs

local NOW = 1620820800            -- 2021-05-12T12:00:00Z (a Wednesday)
local DOCS = fixture()
describe("sandbox.query", function()
  describe("sort()", function()
    local function order(docs) local t = {}; for i, d in ipairs(docs) do t[i] = d.basename end; return t end

    it("defaults to filename ascending", function()
      local expected = { "old.jpg", "REST API Examples", "IMG_002.PNG", "aurora-copy.jpg", "aurora.jpg",
                         "img_001.png", "clip.mp4" }
      assert.same(expected, order(assert(q.sort(fixture(), nil))))
      assert.same(expected, order(assert(q.sort(fixture(), {}))))
      assert.same(expected, order(assert(q.sort(fixture(), { ["filename.raw"] = "asc" }))))
    end)

    it("sorts in place and returns the same table", function()
      local docs = fixture()
      assert.equal(docs, q.sort(docs, { ["filename.raw"] = "desc" }))
      assert.same({ "clip.mp4", "img_001.png", "aurora.jpg", "aurora-copy.jpg", "IMG_002.PNG",
                    "REST API Examples", "old.jpg" }, order(docs))
    end)

    it("sorts dates chronologically", function()
      assert.same({ "aurora-copy.jpg", "aurora.jpg", "clip.mp4", "REST API Examples", "IMG_002.PNG",
                    "img_001.png", "old.jpg" }, order(q.sort(fixture(), { mtime = "desc" })))
      assert.same({ "old.jpg", "img_001.png" }, { order(q.sort(fixture(), { mtime = "ASC" }))[1],
                                                  order(q.sort(fixture(), { mtime = "asc" }))[2] })
    end)

    it("puts unique keys last in a map and breaks ties by filename", function()
      local got = order(q.sort(fixture(), { size = "desc", ["filename.raw"] = "asc" }))
      assert.same({ "clip.mp4", "aurora-copy.jpg", "aurora.jpg", "IMG_002.PNG", "img_001.png",
                    "old.jpg", "REST API Examples" }, got)
      got = order(q.sort(fixture(), { size = "desc", ["filename.raw"] = "desc" }))
      assert.same({ "clip.mp4", "aurora.jpg", "aurora-copy.jpg" }, { got[1], got[2], got[3] })
    end)

    it("keeps the order of an array spec", function()
      local got = order(q.sort(fixture(), { { extension = "desc" }, { size = { order = "asc" } } }))
      -- byte order: ".png" > ".mp4" > ".jpg" > ".PNG" > ""
      assert.same({ "img_001.png", "clip.mp4", "old.jpg", "aurora-copy.jpg", "aurora.jpg",
                    "IMG_002.PNG", "REST API Examples" }, got)
      got = order(q.sort(fixture(), { "isDirectory", "size" }))
      assert.same("REST API Examples", got[7])
      assert.same("old.jpg", got[1])
    end)

    it("puts missing values last in both directions, or first on request", function()
      local asc = order(q.sort(fixture(), { { ["meta.width"] = "asc" } }))
      assert.same({ "img_001.png", "clip.mp4", "aurora-copy.jpg", "aurora.jpg", "old.jpg",
                    "REST API Examples", "IMG_002.PNG" }, asc)
      local desc = order(q.sort(fixture(), { { ["meta.width"] = "desc" } }))
      assert.same({ "aurora-copy.jpg", "aurora.jpg", "clip.mp4", "img_001.png" },
                  { desc[1], desc[2], desc[3], desc[4] })
      local first = order(q.sort(fixture(), { ["meta.width"] = { order = "asc", missing = "_first" } }))
      assert.same({ "old.jpg", "REST API Examples", "IMG_002.PNG", "img_001.png" },
                  { first[1], first[2], first[3], first[4] })
    end)

    it("uses the min (asc) or max (desc) of an array", function()
      local docs = { { filename = "/a", meta = { tags = { "m", "z" } } },
                     { filename = "/b", meta = { tags = { "b", "y" } } },
                     { filename = "/c", meta = { tags = { "n" } } } }
      q.sort(docs, { ["meta.tags"] = "asc" })
      assert.same({ "/b", "/a", "/c" }, { docs[1].filename, docs[2].filename, docs[3].filename })
      q.sort(docs, { ["meta.tags"] = "desc" })
      assert.same({ "/a", "/b", "/c" }, { docs[1].filename, docs[2].filename, docs[3].filename })
    end)

    it("is deterministic for equal keys", function()
      local docs = {}
      for i = 1, 50 do docs[i] = { filename = "/same", id = i, size = i % 3 } end
      q.sort(docs, { size = "asc" })
      local prev_size, prev_id = -1, 0
      for _, d in ipairs(docs) do
        if d.size == prev_size then assert.is_true(d.id > prev_id) end
        assert.is_true(d.size >= prev_size)
        prev_size, prev_id = d.size, d.id
      end
    end)

    it("rejects an invalid order", function()
      local docs = fixture()
      local ok, err = q.sort(docs, { mtime = "up" })
      assert.is_nil(ok)
      assert.equal([[invalid sort order 'up' for field 'mtime' (use "asc" or "desc")]], err)
      assert.equal("aurora.jpg", docs[1].basename)
      assert.is_nil((q.sort(docs, 42)))
    end)

    it("sorts 10,000 docs by every key in turn", function()
      local docs = {}
      for i = 1, 10000 do
        docs[i] = { filename = "/d/" .. ((i * 7919) % 10007), size = (i * 31) % 977,
                    mtime = string.format("2021-%02d-%02dT00:00:00Z", i % 12 + 1, i % 28 + 1) }
      end
      q.sort(docs, { mtime = "desc", size = "asc", ["filename.raw"] = "asc" })
      for i = 2, #docs do
        local a, b = docs[i - 1], docs[i]
        assert.is_true(a.mtime > b.mtime or (a.mtime == b.mtime and (a.size < b.size
          or (a.size == b.size and a.filename <= b.filename))))
      end
    end)
  end)

  describe("sort_values()", function()
    it("returns the per-key values of a hit", function()
      local d = DOCS[1]
      assert.same({ "/REST API Examples/aurora.jpg" }, q.sort_values(d, { ["filename.raw"] = "asc" }))
      assert.same({ "/REST API Examples/aurora.jpg" }, q.sort_values(d, nil))
      assert.same({ 1620811809806 }, q.sort_values(d, { mtime = "desc" }))
      assert.same({ 201846, 1620811809806, "/REST API Examples/aurora.jpg" },
                  q.sort_values(d, { { size = "desc" }, { mtime = "asc" }, "filename.raw" }))
      assert.same({ 1580317965000 }, q.sort_values(d, { ["meta.EXIF.ModifyDate"] = "asc" }))
      assert.same({ 0 }, q.sort_values(d, { isDirectory = "asc" }))
      assert.same({ "Night" }, q.sort_values(d, { ["meta.tags"] = "asc" }))
      assert.same({ "summer sale" }, q.sort_values(d, { ["meta.tags"] = "desc" }))
    end)

    it("uses null for missing values", function()
      local v = q.sort_values(DOCS[5], { ["meta.width"] = "asc" })
      assert.equal(q.null, v[1])
      v = q.sort_values(DOCS[5], { ["meta.width"] = "asc" }, "NULL")
      assert.same({ "NULL" }, v)
    end)

    it("rejects an invalid order", function()
      local v, err = q.sort_values(DOCS[1], { mtime = 1 })
      assert.is_nil(v)
      assert.matches("invalid sort order", err)
    end)
  end)

  describe("performance", function()
    it("matches 10,000 docs with one compiled query, as a plain Lua filter does", function()
      local docs = {}
      for i = 1, 10000 do
        docs[i] = {
          filename = "/dir" .. (i % 50) .. "/img_" .. i .. (i % 2 == 0 and ".jpg" or ".png"),
          dirname = "/dir" .. (i % 50), basename = "img_" .. i .. (i % 2 == 0 and ".jpg" or ".png"),
          extension = i % 2 == 0 and ".jpg" or ".png", size = i * 10,
          mtime = string.format("2021-05-%02dT10:00:00.000Z", i % 12 + 1), isDirectory = false,
          meta = { title = "Photo number " .. i, tags = { "t" .. (i % 10), "common" } },
        }
      end
      local match = assert(q.compile(
        "(extension:.jpg OR extension:.png) AND mtime:[now-30d TO now] AND -dirname:\\/dir7 " ..
        "AND size:[100 TO *] AND (meta.tags:t3 OR meta.title:\"number 42\" OR basename:img_1*)",
        { now = NOW }))
      -- every mtime lies in the 30 days before NOW; the rest, written out in Lua
      local function want(i)
        return i % 50 ~= 7 and i * 10 >= 100
          and (i % 10 == 3 or i == 42 or tostring(i):sub(1, 1) == "1")
      end
      for _ = 1, 2 do -- the compiled query holds no state between passes
        local n, expected = 0, 0
        for i = 1, #docs do
          local got = match(docs[i])
          assert.are.equal(want(i), got, docs[i].filename)
          if got then n = n + 1 end
          if want(i) then expected = expected + 1 end
        end
        assert.are.equal(expected, n)
        assert.is_true(n > 0 and n < 10000)
      end
    end)
  end)end)
