-- Specs for the sandbox search language (emulator/lua/sandbox/query.lua).
-- busted --lua=lua5.4 --lpath='emulator/lua/?.lua' spec/sandbox_query_spec.lua
-- busted --lua=luajit --lpath='emulator/lua/?.lua' spec/sandbox_query_spec.lua

package.path = "emulator/lua/?.lua;" .. package.path
local q = require "sandbox.query"

local NOW = 1620820800            -- 2021-05-12T12:00:00Z (a Wednesday)

local fixture = require("helpers.query_fixture").docs
local DOCS = fixture()
local ALL = { "aurora.jpg", "aurora-copy.jpg", "img_001.png", "IMG_002.PNG", "old.jpg",
              "REST API Examples", "clip.mp4" }

local function sorted(t)
  local c = {}
  for i, v in ipairs(t) do c[i] = v end
  table.sort(c)
  return c
end

-- Basenames of the fixture docs matching query (sorted).
local function search(query, opts)
  local match, err = q.compile(query, opts or { now = NOW })
  assert(match, err)
  local out = {}
  for _, d in ipairs(DOCS) do
    if match(d) then out[#out + 1] = d.basename end
  end
  return sorted(out)
end

local function finds(expected, query, opts)
  assert.same(sorted(expected), search(query, opts), "query: " .. query)
end

local function without(...)
  local drop, out = {}, {}
  for _, v in ipairs({ ... }) do drop[v] = true end
  for _, v in ipairs(ALL) do if not drop[v] then out[#out + 1] = v end end
  return out
end

-- Compile error message for query (fails the test if it compiles).
local function compile_error(query)
  local match, err = q.compile(query, { now = NOW })
  assert.is_nil(match, "expected an error for: " .. query)
  assert.is_string(err)
  return err
end

describe("sandbox.query", function()
  describe("compile()", function()
    it("matches everything for nil, empty and blank queries", function()
      finds(ALL, "")
      finds(ALL, "   \t ")
      local m = q.compile(nil)
      assert.is_true(m(DOCS[1]))
    end)

    it("rejects a non-string query", function()
      local m, err = q.compile(42)
      assert.is_nil(m)
      assert.matches("string", err)
    end)

    it("uses os.time() for now when opts are omitted", function()
      local m = assert(q.compile("mtime:[now-1d TO now+1d]"))
      assert.is_true(m({ mtime = os.date("!%Y-%m-%dT%H:%M:%S.000Z") }))
      assert.is_false(m({ mtime = "2001-01-01T00:00:00Z" }))
    end)

    it("handles the example query from the Sirv docs", function()
      finds({ "aurora.jpg", "aurora-copy.jpg", "clip.mp4" },
            "(extension:.jpg OR extension:.mp4) AND mtime:[now-30d TO now] AND -dirname:\\/.Trash")
      finds({ "aurora.jpg", "aurora-copy.jpg" },
            "extension:.jpg AND mtime:[now-30d TO now] AND -dirname:\\/.Trash")
    end)
  end)

  describe("keyword fields (whole value, case-insensitive)", function()
    it("matches extension exactly", function()
      finds({ "aurora.jpg", "aurora-copy.jpg", "old.jpg" }, "extension:.jpg")
      finds({ "aurora.jpg", "aurora-copy.jpg", "old.jpg" }, "extension:.JPG")
      finds({ "img_001.png", "IMG_002.PNG" }, "extension:.png")
      finds({}, "extension:jpg")
      finds({}, "extension:.jp")
    end)

    it("allows whitespace after the colon", function()
      finds({ "img_001.png", "IMG_002.PNG" }, "extension: .png")
      finds({ "img_001.png", "IMG_002.PNG" }, "extension : .png")
    end)

    it("matches basename and filename as whole values", function()
      finds({ "aurora.jpg" }, "basename:aurora.jpg")
      finds({}, "basename:aurora")
      finds({ "aurora.jpg" }, "filename:\\/REST\\ API\\ Examples\\/aurora.jpg")
      finds({ "aurora.jpg" }, 'filename:"/REST API Examples/aurora.jpg"')
      finds({ "IMG_002.PNG" }, 'filename:"/rest api examples/sub/img_002.png"')
    end)

    it("matches dirname exactly (direct children only)", function()
      finds({ "aurora.jpg", "aurora-copy.jpg", "img_001.png" }, "dirname:\\/REST\\ API\\ Examples")
      finds({ "aurora.jpg", "aurora-copy.jpg", "img_001.png" }, 'dirname:"/REST API Examples"')
      finds({ "IMG_002.PNG" }, 'dirname:"/REST API Examples/Sub"')
      finds({ "REST API Examples" }, "dirname:\\/")
      finds({ "old.jpg" }, "dirname:\\/.Trash")
      finds({}, "dirname:\\/REST")
    end)

    it("matches contentType with an escaped slash", function()
      finds({ "img_001.png", "IMG_002.PNG" }, "contentType:image\\/png")
      finds({ "aurora.jpg", "old.jpg" }, "contentType:IMAGE\\/JPEG")
    end)

    it("matches each tag exactly, ignoring case", function()
      finds({ "aurora.jpg" }, "meta.tags:night")
      finds({ "aurora.jpg" }, "meta.tags:NIGHT")
      finds({ "aurora.jpg" }, 'meta.tags:"summer sale"')
      finds({}, "meta.tags:summer")
      finds({ "img_001.png" }, "meta.tags:product")
    end)

    it("matches .raw and .keyword fields case-sensitively", function()
      finds({ "IMG_002.PNG" }, 'filename.raw:"/REST API Examples/Sub/IMG_002.PNG"')
      finds({}, 'filename.raw:"/rest api examples/sub/img_002.png"')
      finds({ "IMG_002.PNG" }, "basename.raw:IMG_002.PNG")
      finds({ "IMG_002.PNG" }, "basename.keyword:IMG_002.PNG")
      finds({}, "basename.raw:img_002.png")
      finds({ "IMG_002.PNG" }, "basename.raw:IMG*")
      finds({ "aurora.jpg" }, "meta.tags.raw:Night")
      finds({}, "meta.tags.raw:night")
    end)
  end)

  describe("text fields (by word, case-insensitive)", function()
    it("matches single words", function()
      finds({ "aurora.jpg" }, "meta.title:borealis")
      finds({ "aurora.jpg" }, "meta.title:BOREALIS")
      finds({ "aurora.jpg" }, "meta.description:northern")
      finds({}, "meta.title:borea")
      finds({}, "meta.description:aurora")
    end)

    it("matches phrases as consecutive words", function()
      finds({ "aurora.jpg" }, 'meta.title:"aurora borealis"')
      finds({ "aurora.jpg" }, 'meta.title:"Borealis Over"')
      finds({}, 'meta.title:"borealis aurora"')
      finds({}, 'meta.title:"aurora norway"')
    end)

    it("treats a multi-word term as a phrase", function()
      finds({ "aurora.jpg" }, "meta.title:aurora-borealis")
      finds({}, "meta.title:norway-aurora")
    end)

    it("handles non-ASCII words", function()
      finds({ "clip.mp4" }, "meta.title:crème")
      finds({ "clip.mp4" }, "meta.title:brûlée")
      finds({ "clip.mp4" }, 'meta.title:"café crème"')
    end)

    it("applies wildcards to single words", function()
      finds({ "aurora.jpg" }, "meta.title:bor*")
      finds({ "aurora.jpg" }, "meta.description:*ern")
      finds({ "clip.mp4" }, "meta.title:caf?")
      finds({}, "meta.title:aurora*norway")
    end)
  end)

  describe("typed fields", function()
    it("compares numbers", function()
      finds({ "img_001.png" }, "size:1000")
      finds({ "img_001.png" }, "size:1000.0")
      finds({ "img_001.png" }, 'size:"1000"')
      finds({}, "size:999")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "meta.width:2500")
      finds({ "clip.mp4" }, "meta.duration:12.5")
    end)

    it("matches booleans", function()
      finds({ "REST API Examples" }, "isDirectory:true")
      finds(without("REST API Examples"), "isDirectory:false")
      finds({ "REST API Examples" }, "isDirectory:TRUE")
      finds({ "aurora.jpg" }, "meta.approval.approved:true")
      finds({ "img_001.png" }, "meta.approval.approved:false")
    end)

    it("rejects values of the wrong type", function()
      assert.matches("'abc' is not a number for numeric field 'size' at position 6",
                     compile_error("size:abc"), 1, true)
      assert.matches("wildcard queries are not supported for numeric field 'size'",
                     compile_error("size:1*"), 1, true)
      assert.matches("is not true or false for boolean field 'isDirectory' at position 13",
                     compile_error("isDirectory:yes"), 1, true)
      assert.matches("'yesterday' is not a date for date field 'mtime'",
                     compile_error("mtime:yesterday"), 1, true)
      assert.matches("is not a number", compile_error("size:[a TO 5]"))
      assert.matches("range queries are not supported", compile_error("isDirectory:[false TO true]"))
      assert.matches("regular expression queries are not supported", compile_error("size:/1.*/"))
      assert.matches("fuzzy queries are not supported", compile_error("size:1000~"))
    end)
  end)

  describe("other fields (typed by the doc's value)", function()
    it("matches strings by word or by whole value", function()
      finds({ "aurora.jpg" }, "meta.product.brand:nike")
      finds({ "aurora.jpg" }, "meta.product.sku:ABC-123")
      finds({ "aurora.jpg" }, "meta.product.sku:abc")
      finds({ "aurora.jpg" }, "meta.product.sku:abc\\-1*")
      finds({ "aurora.jpg" }, "meta.EXIF.Make:Canon")
      finds({ "aurora.jpg" }, 'meta.EXIF.Model:"eos 5d"')
      finds({ "aurora-copy.jpg" }, "meta.format:webp")
      finds({ "aurora.jpg" }, "meta.approval.comment:good")
    end)

    it("treats date-like strings as dates", function()
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "meta.EXIF.ModifyDate:2020-01-29")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "meta.EXIF.ModifyDate:[2020-01-01 TO 2020-02-01]")
      finds({}, "meta.EXIF.ModifyDate:[2020-02-01 TO *]")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "meta.EXIF.ModifyDate:2020*")
    end)

    it("never matches a missing field", function()
      finds({}, "meta.nothing:x")
      finds({}, "meta.product.brand.deeper:x")
      finds({}, "nothing:*")
    end)

    it("treats JSON null (q.null / cjson.null) as missing", function()
      local doc = { filename = "/n.jpg", meta = { width = q.null, title = q.null } }
      for _, query in ipairs({ "meta.width:*", "meta.width:>0", "meta.title:*", "meta.title:null",
                               "null", "meta.\\*:*" }) do
        assert.is_false(assert(q.compile(query))(doc), query)
      end
      assert.is_true(assert(q.compile("-meta.width:*"))(doc))
      assert.same({ "/n.jpg", "/w.jpg" },
                  (function()
                    local docs = q.sort({ doc, { filename = "/w.jpg", meta = { width = 1 } } },
                                        { { ["meta.width"] = "asc" } })
                    return { docs[2].filename, docs[1].filename }
                  end)())
    end)

    it("supports wildcards in field names", function()
      finds({ "aurora.jpg" }, "meta.EXIF.\\*:canon")
      finds({ "aurora.jpg" }, "meta.product.\\*:nike")
      finds({ "aurora.jpg" }, "*:nike")
    end)
  end)

  describe("bare terms", function()
    it("search filename, basename, title, description and tags by word", function()
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "aurora")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "AURORA")
      finds({ "aurora.jpg" }, "borealis")
      finds({ "aurora.jpg" }, "night")
      finds({ "img_001.png" }, "product")
      finds({ "clip.mp4" }, "video")
      finds({}, "nothingmatches")
    end)

    it("match file names with separators as phrases", function()
      finds({ "aurora-copy.jpg" }, "aurora-copy.jpg")
      finds({ "aurora.jpg", "aurora-copy.jpg", "img_001.png", "IMG_002.PNG", "REST API Examples" },
            '"REST API"')
      finds({ "aurora.jpg" }, '"summer sale"')
    end)

    it("match wildcards against words or whole values", function()
      finds({ "img_001.png", "IMG_002.PNG" }, "img_*")
      finds({ "img_001.png", "IMG_002.PNG" }, "*.png")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "auro?a*")
    end)

    it("do not look at other fields", function()
      finds({}, "1000")
      finds({}, "canon")
    end)

    it("treat * and *:* as match-all", function()
      finds(ALL, "*")
      finds(ALL, "*:*")
    end)
  end)

  describe("escapes", function()
    it("unescapes slashes and spaces", function()
      finds({ "old.jpg" }, "dirname:\\/.Trash")
      finds({ "aurora.jpg" }, "meta.EXIF.Software:Adobe\\ Photoshop\\ \\(Mac\\)")
    end)

    it("unescapes every special character", function()
      finds({ "clip.mp4" }, "meta.tags:c\\+\\+")
      finds({ "clip.mp4" }, "meta.tags:c++")
      finds({ "clip.mp4" }, "meta.tags:\\(x\\)")
      finds({ "clip.mp4" }, "meta.tags:\\[y\\]")
      finds({ "clip.mp4" }, "meta.tags:a\\:b")
      finds({ "clip.mp4" }, "meta.tags:\\{z\\}")
      finds({ "clip.mp4" }, "meta.tags:q\\!")
      finds({ "clip.mp4" }, "meta.tags:w\\^2")
      finds({ "clip.mp4" }, "meta.tags:v\\~1")
      finds({ "clip.mp4" }, "meta.tags:sl\\/ash")
      finds({ "clip.mp4" }, "meta.tags:sp\\ ace")
      finds({ "img_001.png" }, "meta.tags:back\\\\slash")
      finds({ "img_001.png" }, 'meta.tags:say\\ \\"hi\\"')
      finds({ "img_001.png" }, 'meta.tags:"say \\"hi\\""')
    end)

    it("makes escaped * and ? literal", function()
      finds({ "img_001.png" }, "meta.tags:best\\*")
      finds({ "img_001.png" }, "meta.tags:bes?\\*")
      finds({}, "meta.tags:best\\?")
      finds({}, "basename:img\\*")
      finds({ "img_001.png" }, "meta.tags:best*")
    end)

    it("decodes \\uXXXX", function()
      finds({ "aurora.jpg" }, "basename:\\u0061urora.jpg")
      finds({ "clip.mp4" }, "meta.title:cr\\u00e8me")
    end)

    it("rejects a dangling backslash", function()
      assert.matches("dangling escape character '\\' at position 4", compile_error("abc\\"), 1, true)
    end)

    it("treats an unescaped slash as the start of a regex, like Elasticsearch", function()
      assert.matches("unterminated regular expression %(write a literal slash as '\\/'%) at position 9",
                     compile_error("dirname:/REST API"))
      assert.matches("at position 18", compile_error("contentType:image/*"), 1, true)
    end)
  end)

  describe("wildcards", function()
    it("match * and ? inside values", function()
      finds({ "img_001.png", "IMG_002.PNG" }, "basename:img_*")
      finds({ "aurora.jpg", "aurora-copy.jpg", "old.jpg" }, "extension:.j?g")
      finds({ "aurora-copy.jpg" }, "basename:*copy*")
      finds({ "aurora.jpg", "aurora-copy.jpg", "img_001.png", "IMG_002.PNG", "old.jpg", "clip.mp4" },
            "extension:.???")
      finds({}, "extension:.??")
      finds({ "aurora.jpg", "aurora-copy.jpg", "old.jpg" }, "contentType:image\\/*e*")
      finds({ "clip.mp4" }, "filename:*\\/video\\/*")
    end)

    it("field:* means the field exists and is not empty", function()
      finds({ "aurora.jpg", "img_001.png", "clip.mp4" }, "meta.title:*")
      finds({ "aurora.jpg", "img_001.png", "clip.mp4" }, "meta.tags:*")
      finds(without("REST API Examples"), "contentType:*")
      finds({ "aurora.jpg" }, "meta.product:*")
      finds({ "aurora.jpg", "img_001.png" }, "meta.approval.approved:*")
      finds(without("aurora.jpg", "img_001.png", "clip.mp4"), "-meta.title:*")
    end)

    it("supports _exists_:field", function()
      finds({ "aurora.jpg", "img_001.png", "clip.mp4" }, "_exists_:meta.title")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "_exists_:meta.EXIF")
      finds(without("aurora.jpg", "aurora-copy.jpg"), "NOT _exists_:meta.EXIF")
    end)
  end)

  describe("boolean operators", function()
    local JPG = { "aurora.jpg", "aurora-copy.jpg", "old.jpg" }


    it("AND / && require both sides", function()
      finds({ "old.jpg" }, "extension:.jpg AND size:300")
      finds({ "old.jpg" }, "extension:.jpg && size:300")
      finds({}, "extension:.png AND size:300")
    end)

    it("OR / || and adjacency accept either side", function()
      local expected = { "img_001.png", "IMG_002.PNG", "clip.mp4" }
      finds(expected, "extension:.png OR extension:.mp4")
      finds(expected, "extension:.png || extension:.mp4")
      finds(expected, "extension:.png extension:.mp4")
    end)

    it("NOT / ! / - exclude", function()
      finds(without("aurora.jpg", "aurora-copy.jpg", "old.jpg"), "NOT extension:.jpg")
      finds(without("aurora.jpg", "aurora-copy.jpg", "old.jpg"), "!extension:.jpg")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "extension:.jpg AND -dirname:\\/.Trash")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "extension:.jpg AND NOT dirname:\\/.Trash")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "extension:.jpg -dirname:\\/.Trash")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "extension:.jpg NOT size:300")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "extension:.jpg && !size:300")
    end)

    it("a purely negative query matches everything else", function()
      finds(without("old.jpg"), "-dirname:\\/.Trash")
      finds(without("old.jpg", "REST API Examples"), "-dirname:\\/.Trash -isDirectory:true")
      finds(without("aurora.jpg", "aurora-copy.jpg", "old.jpg"), "(NOT extension:.jpg)")
      finds({ "old.jpg", "IMG_002.PNG" }, "size:300 OR (-dirname:\\/REST\\ API\\ Examples AND extension:.png)")
    end)

    it("+ makes a clause required and leaves the others optional", function()
      finds(JPG, "+extension:.jpg size:300")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "+extension:.jpg -size:300")
      finds({ "old.jpg" }, "+extension:.jpg +size:300")
    end)

    it("combines AND and OR the way Lucene does (+a +b c)", function()
      finds({ "old.jpg" }, "extension:.jpg AND size:300 OR extension:.png")
      finds({ "old.jpg", "img_001.png", "IMG_002.PNG" }, "(extension:.jpg AND size:300) OR extension:.png")
      finds({ "old.jpg" }, "extension:.png OR extension:.jpg AND size:(300 OR 1000)")
    end)

    it("supports nested groups", function()
      finds({ "old.jpg", "img_001.png" },
            "(extension:.jpg OR extension:.png) AND (size:300 OR (size:1000 AND meta.title:product))")
      finds({ "img_001.png" }, "((((size:1000))))")
    end)

    it("treats lower-case and/or/not as plain words", function()
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "aurora and borealis")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "aurora not")
    end)

    it("applies a field to a group", function()
      finds({ "aurora.jpg", "aurora-copy.jpg", "img_001.png", "IMG_002.PNG", "old.jpg" },
            "extension:(.jpg OR .png)")
      finds({ "aurora.jpg", "aurora-copy.jpg", "old.jpg", "clip.mp4" }, "extension:(.jpg .mp4)")
      finds(without("aurora.jpg", "aurora-copy.jpg", "old.jpg"), "extension:(-.jpg)")
      finds({ "aurora.jpg" }, "meta.tags:(night AND sky)")
      finds({}, "meta.tags:(night AND product)")
      finds({ "aurora.jpg" }, "meta.tags:(night AND basename:aurora.jpg)")
    end)
  end)

  describe("ranges", function()
    it("supports inclusive, exclusive and mixed brackets", function()
      finds({ "img_001.png", "IMG_002.PNG" }, "size:[1000 TO 5000]")
      finds({}, "size:{1000 TO 5000}")
      finds({ "IMG_002.PNG" }, "size:{1000 TO 5000]")
      finds({ "img_001.png" }, "size:[1000 TO 5000}")
    end)

    it("supports open ends", function()
      finds({ "old.jpg", "img_001.png", "REST API Examples" }, "size:[* TO 1000]")
      finds({ "aurora.jpg", "aurora-copy.jpg", "clip.mp4" }, "size:[201846 TO *]")
      finds(ALL, "size:[* TO *]")
    end)

    it("supports >, >=, < and <=", function()
      finds({ "aurora.jpg", "aurora-copy.jpg", "IMG_002.PNG", "clip.mp4" }, "size:>1000")
      finds({ "aurora.jpg", "aurora-copy.jpg", "img_001.png", "IMG_002.PNG", "clip.mp4" }, "size:>=1000")
      finds({ "REST API Examples" }, "size:<300")
      finds({ "old.jpg", "REST API Examples" }, "size:<=300")
      finds({ "aurora.jpg", "aurora-copy.jpg", "clip.mp4" }, "meta.width:>=1920")
      finds({ "img_001.png", "IMG_002.PNG" }, "size:(>=1000 AND <=5000)")
    end)

    it("compares relative dates", function()
      finds({ "aurora.jpg", "aurora-copy.jpg", "clip.mp4" }, "mtime:[now-30d TO now]")
      finds({}, "mtime:[now-1h TO now]")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "mtime:[now-3h TO now]")
      finds({ "aurora.jpg", "aurora-copy.jpg", "clip.mp4" }, "mtime:>now-7d")
      finds({ "aurora.jpg", "aurora-copy.jpg", "clip.mp4", "REST API Examples", "IMG_002.PNG",
              "img_001.png" }, "mtime:[now-1y TO now]")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "ctime:>now-150m")
      finds({ "aurora.jpg" }, "ctime:<now-8950s AND ctime:>now-3h")
    end)

    it("rounds with /unit", function()
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "mtime:[now/d TO now]")
      finds({ "clip.mp4" }, "mtime:[now-2d/d TO now/d}")
      finds({ "clip.mp4", "aurora.jpg", "aurora-copy.jpg" }, "mtime:[now-1w/w TO now]")
      finds({ "clip.mp4", "aurora.jpg", "aurora-copy.jpg" }, "mtime:[now/M TO now/M]")
      finds({ "REST API Examples", "clip.mp4", "aurora.jpg", "aurora-copy.jpg" }, "mtime:[now/y TO *]")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "mtime:[now-150m/h TO now-150m/h]")
    end)

    it("compares explicit dates, covering whole days like Elasticsearch", function()
      finds({ "img_001.png", "IMG_002.PNG" }, "mtime:[2020-01-01 TO 2020-12-31]")
      finds({ "img_001.png" }, "mtime:[2020-01-01 TO 2020-12-31}")
      finds({ "IMG_002.PNG", "REST API Examples", "aurora.jpg", "aurora-copy.jpg", "clip.mp4" },
            "mtime:{2020-06-15 TO *]")
      finds({ "img_001.png", "IMG_002.PNG" }, 'mtime:["2020-01-01" TO "2020-12-31"]')
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "mtime:2021-05-12")
      finds({ "img_001.png", "IMG_002.PNG" }, "mtime:2020")
      finds({ "img_001.png", "IMG_002.PNG" }, "mtime:[2020-01 TO 2020-12]")
      finds({ "aurora.jpg" }, "mtime:[2021-05-12T09:30:09.806Z TO 2021-05-12T09:30:09.806Z]")
      finds({ "aurora.jpg" }, "mtime:[2021-05-12T11:30:00+02:00 TO 2021-05-12T11:30:59+02:00]")
      -- In a bare term a time's colons must be escaped (as in Elasticsearch); in ranges they need not be.
      -- `>` rounds a partial time up (09:30 -> 09:30:59.999), `>=` rounds down.
      finds({ "aurora-copy.jpg" }, "mtime:>2021-05-12T09\\:30")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "mtime:>=2021-05-12T09\\:30")
      finds({ "aurora-copy.jpg" }, "mtime:>2021-05-12T09\\:30\\:59")
      finds({ "aurora-copy.jpg" }, "mtime:{2021-05-12T09:30:59 TO *}")
      assert.equal("unexpected ':' at position 21", compile_error("mtime:>2021-05-12T09:30"))
    end)

    it("supports date math on explicit dates and epoch millis", function()
      finds({ "clip.mp4", "aurora.jpg", "aurora-copy.jpg" },
            "mtime:[2021-05-12||-2d TO 2021-05-12||+1d]")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "mtime:>=1620811809806")
      finds({ "aurora-copy.jpg" }, "mtime:>1620811809806")
      finds({ "img_001.png" }, "mtime:[2020-05-31||+15d TO 2020-06-15||+1d}")
      finds({ "IMG_002.PNG" }, "mtime:[2020-11-30||+1M/d TO 2020-12-31]")
    end)

    it("compares strings on keyword fields", function()
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "basename:[a TO b}")
      finds({ "img_001.png", "IMG_002.PNG" }, "basename:[img TO img_999]")
      finds({ "aurora.jpg" }, "meta.title:[borealis TO borealis]")
    end)

    it("reports malformed ranges", function()
      assert.matches("expected 'TO' in range at position 9", compile_error("size:[1 5]"), 1, true)
      assert.matches("expected 'TO' in range at position 9", compile_error("size:[1 to 5]"), 1, true)
      assert.matches("unterminated range (missing ']' or '}') at position 6",
                     compile_error("size:[1 TO 5"), 1, true)
      assert.matches("unterminated range", compile_error("size:[1 TO"), 1, true)
      assert.matches("expected ']' or '}' to close range at position 14",
                     compile_error("size:[1 TO 5 6]"), 1, true)
      assert.matches("unbalanced ']' at position 7", compile_error("size:1]"), 1, true)
      assert.matches("'yesterday' is not a date", compile_error("mtime:[yesterday TO now]"), 1, true)
      assert.matches("'now-1x' is not a date", compile_error("mtime:[now-1x TO now]"), 1, true)
      assert.matches("expected a value after '>' at position 6", compile_error("size:> 1000"), 1, true)
    end)
  end)

  describe("regular expressions", function()
    it("match whole values, ignoring case on keyword fields", function()
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "basename:/aurora.*/")
      finds({ "aurora.jpg" }, "basename:/AURORA\\.jpg/")
      finds({}, "basename:/aurora/")
      finds({ "img_001.png", "IMG_002.PNG" }, "basename:/img_[0-9]+\\.png/")
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "basename:/aurora(-copy)?\\.jpg/")
      finds({ "aurora.jpg" }, "basename:/.{10}/")
      finds({ "img_001.png", "IMG_002.PNG", "old.jpg", "REST API Examples", "clip.mp4" },
            "basename:/[^a].*/")
      finds({ "img_001.png", "IMG_002.PNG" }, "basename:/img_\\d{3}\\.png/")
      finds({ "img_001.png" }, "basename:/img_<0-1>\\.png/")
      finds({ "old.jpg", "clip.mp4" }, 'basename:/(old|clip)".".*/')
      finds({ "aurora.jpg", "aurora-copy.jpg", "img_001.png" }, "dirname:/\\/rest api examples/")
      finds({ "clip.mp4" }, "basename:/c@/")
      finds({}, "basename:/#/")
    end)

    it("are case-sensitive on .raw fields and word-wise on text fields", function()
      finds({ "IMG_002.PNG" }, "filename.raw:/.*IMG.*/")
      finds({ "aurora.jpg" }, "meta.title:/bor.*/")
      finds({}, "meta.title:/aurora bor.*/")
    end)

    it("give up on pathological backtracking instead of hanging", function()
      local m = assert(q.compile("basename:/(a*)*b/"))
      assert.is_false(m({ basename = string.rep("a", 40) }))
      assert.is_true(m({ basename = string.rep("a", 40) .. "b" }))
      -- the step budget, not the answer, ends it: a value the second branch would
      -- match counts as no match once the first branch has spent the budget
      local alt = assert(q.compile("basename:/(a*)*c|.*d/"))
      assert.is_true(alt({ basename = "aad" }))
      assert.is_false(alt({ basename = string.rep("a", 40) .. "d" }))
    end)

    it("search the default fields when bare", function()
      finds({ "aurora.jpg", "aurora-copy.jpg" }, "/auro.a/")
    end)

    it("report syntax errors", function()
      assert.matches("operator '~' is not supported by the sandbox in regular expression at position 10",
                     compile_error("basename:/a~b/"), 1, true)
      assert.matches("unterminated character class", compile_error("basename:/[a/"), 1, true)
      assert.matches("missing ')'", compile_error("basename:/(a/"), 1, true)
      assert.matches("unbalanced ')'", compile_error("basename:/a)/"), 1, true)
      assert.matches("nothing to repeat", compile_error("basename:/*a/"), 1, true)
    end)
  end)

  describe("fuzzy terms, phrase slop and boosts", function()
    it("matches fuzzy terms within the edit distance", function()
      finds({ "aurora.jpg" }, "meta.title:borealsi~")
      finds({ "aurora.jpg" }, "meta.title:borealis~1")
      finds({}, "meta.title:bxrxalis~1")
      finds({ "aurora.jpg" }, "meta.title:bxrxalis~2")
      finds({ "aurora.jpg" }, "meta.tags:nihgt~1")
      finds({}, "meta.tags:ab~")
    end)

    it("approximates phrase slop", function()
      finds({}, 'meta.title:"aurora norway"')
      finds({ "aurora.jpg" }, 'meta.title:"aurora norway"~2')
      finds({}, 'meta.title:"aurora norway"~1')
    end)

    it("parses and ignores boosts", function()
      finds({ "aurora.jpg" }, "meta.title:aurora^2")
      finds({ "aurora.jpg", "aurora-copy.jpg", "old.jpg" }, "(extension:.jpg)^1.5")
      finds({ "aurora.jpg" }, 'meta.title:"aurora borealis"^3')
      finds({ "aurora.jpg" }, "meta.title:borealsi~^2")
      assert.matches("expected a number after '^' at position 2", compile_error("a^"), 1, true)
    end)
  end)

  describe("syntax errors", function()
    it("name the position of unbalanced parentheses", function()
      assert.equal("unbalanced '(' (missing ')') at position 1", compile_error("(extension:.jpg"))
      assert.equal("unbalanced ')' at position 15", compile_error("extension:.jpg)"))
      assert.equal("unbalanced '(' (missing ')') at position 1", compile_error("((a) OR b"))
      assert.equal("unbalanced '(' (missing ')') at position 11", compile_error("extension:(.jpg"))
    end)

    it("name the position of an unterminated quote", function()
      assert.equal("unterminated quoted phrase (missing closing '\"') at position 12",
                   compile_error('meta.title:"abc'))
      assert.equal("unterminated quoted phrase (missing closing '\"') at position 1",
                   compile_error('"a \\"'))
    end)

    it("reject dangling operators and empty groups", function()
      assert.equal("unexpected 'AND' at position 1", compile_error("AND a"))
      assert.equal("expected a search term after 'AND' but found end of query at position 6",
                   compile_error("a AND"))
      assert.equal("expected a search term after 'OR' but found ')' at position 7",
                   compile_error("(a OR )"))
      assert.equal("expected a search term after 'NOT' but found end of query at position 4",
                   compile_error("NOT"))
      assert.equal("expected a search term after '-' but found '-' at position 3", compile_error("- -a"))
      assert.equal("expected a search term after 'AND' but found 'OR' at position 7",
                   compile_error("a AND OR b"))
      assert.equal("expected a value after 'size:' but found end of query at position 6",
                   compile_error("size:"))
      assert.equal("expected a value after 'title:' but found '-' at position 7",
                   compile_error("title:-foo"))
      assert.equal("empty group '()' at position 2", compile_error("()"))
      assert.equal("empty group '()' at position 8", compile_error("title:()"))
      assert.equal("unexpected ':' at position 4", compile_error("a:b:c"))
      assert.equal("unexpected '~2' at position 4", compile_error("(a)~2"))
    end)
  end)

end)
