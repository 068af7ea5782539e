-- Metadata export / import over a fake Sirv (fake transport): CSV and JSON export in
-- source order, import sending only what differs, dry runs, bad rows; and the CSV
-- codec (mediacdn.csv). Part of the metadata specs with spec/metadata_unit_spec.lua.
local sirv_mod = require "mediacdn.sirv"
local metadata = require "mediacdn.sirv.metadata"
local csv = require "mediacdn.csv"
local mediacdn = require "mediacdn"
local util = require "helpers.util"
local fake_sirv = require("helpers.fake_sirv").new

local json_decode = mediacdn.json_decode
local tmpfile, write_all, buffer = util.tmpname, util.write_file, util.buffer

metadata.install(sirv_mod.Client)

-- a file's contents; raise when it cannot be read
local function read_all(p) return assert(util.read_file(p)) end

describe("mediacdn.csv", function()
  it("quotes only what must be quoted and doubles inner quotes", function()
    assert.are.equal('a,b\r\n', csv.encode_row{ "a", "b" })
    assert.are.equal('"a,b","say ""hi""","x\ny",\r\n', csv.encode_row{ "a,b", 'say "hi"', "x\ny", "" })
    assert.are.equal('" lead",1,true\n', csv.encode_row({ " lead", 1, true }, "\n"))
    assert.are.equal('""\r\n', csv.encode_row{ "" })
    assert.has_error(function() csv.encode_row("x") end, "csv.encode_row: argument #1 must be a table of fields")
  end)

  it("reads back what it writes: commas, quotes, line breaks, empty fields", function()
    local rows = { { "path", "title" }, { "/a b.jpg", 'He said "x, y"' }, { "/c.jpg", "two\nlines" },
      { "", "" }, { "/é.jpg", " padded " } }
    local text = {}
    for _, r in ipairs(rows) do text[#text + 1] = csv.encode_row(r) end
    assert.are.same(rows, assert(csv.decode(table.concat(text))))
  end)

  it("accepts LF line ends, a BOM, blank lines and a missing final newline", function()
    assert.are.same({ { "a", "b" }, { "1", "" }, { "3", "4" } }, csv.decode("\239\187\191a,b\n1,\n\n3,4"))
  end)

  it("streams from a file handle", function()
    local p = tmpfile()
    write_all(p, 'x,y\r\n"multi\r\nline",2\r\n')
    local f = assert(io.open(p, "rb"))
    local r = csv.reader(f)
    assert.are.same({ "x", "y" }, r:read())
    assert.are.same({ "multi\nline", "2" }, r:read())
    assert.is_nil(r:read())
    f:close()
    os.remove(p)
  end)

  it("reports malformed input with its line number", function()
    local rows, err = csv.decode('a,b\n"open,1\n')
    assert.is_nil(rows)
    assert.are.equal("line 2: unterminated quoted field", err)
    rows, err = csv.decode('"a"x,b\n')
    assert.is_nil(rows)
    assert.matches("line 1: unexpected character after a closing quote", err, 1, true)
    assert.has_error(function() csv.reader(42) end, "csv.reader: argument #1 must be a string or a file handle")
  end)

  it("writes through a writer", function()
    local b = buffer()
    local w = csv.writer(b)
    assert.is_true(w:write{ "a", "b;c" })
    assert.are.equal("a,b;c\r\n", b:text())
  end)
end)

describe("sirv metadata export and import (fake transport)", function()
  describe("export_meta", function()
    local function seeded()
      local c, S, fake = fake_sirv()
      S.add("/d/a.jpg", { title = 'Say "hi", now', description = "two\nlines", tags = { "x", "y" },
        product = { id = "P1", brand = "ACME" }, approval = { approved = true, comment = "ok" } })
      S.add("/d/b.jpg")
      S.add("/d/sub", { dir = true })
      return c, S, fake
    end

    it("writes CSV with the documented columns, tags joined with ';'", function()
      local c = seeded()
      local p = tmpfile() .. ".csv"
      local sum = assert(c:export_meta("/d", p))
      assert.are.equal(2, sum.done)
      assert.is_true(sum.complete)
      local rows = assert(csv.decode(read_all(p)))
      assert.are.same(metadata.COLUMNS, rows[1])
      assert.are.same({ "/d/a.jpg", 'Say "hi", now', "two\nlines", "x;y", "true", "ok", "P1", "", "ACME", "", "" }, rows[2])
      assert.are.same({ "/d/b.jpg", "", "", "", "", "", "", "", "", "", "" }, rows[3])
      assert.are.equal(3, #rows)
      os.remove(p)
    end)

    it("writes JSON, one object a line, in source order", function()
      local c = seeded()
      local p = tmpfile() .. ".json"
      assert(c:export_meta({ "/d/b.jpg", "/d/a.jpg" }, p, { concurrency = 2 }))
      local text = read_all(p)
      local doc = assert(json_decode(text))
      assert.are.equal(2, #doc)
      assert.are.equal("/d/b.jpg", doc[1].path)
      assert.are.same({ "x", "y" }, doc[2].tags)
      assert.are.equal("ACME", doc[2].product.brand)
      assert.is_true(doc[2].approval.approved)
      local head = '[\n{"path":"/d/b.jpg","title":"","description":"","tags":[],"product":{},"approval":{}},\n'
      assert.are.equal(head, text:sub(1, #head))
      os.remove(p)
    end)

    it("writes an empty JSON array for nothing, to a handle", function()
      local c = seeded()
      local b = buffer()
      assert(c:export_meta({}, b, { format = "json" }))
      assert.are.equal("[\n]\n", b:text())
    end)

    it("reports a file it cannot read and leaves it out", function()
      local c = seeded()
      local b = buffer()
      local sum = c:export_meta({ "/d/a.jpg", "/d/gone.jpg" }, b)
      assert.are.equal(1, sum.done)
      assert.are.equal(1, sum.failed)
      assert.are.equal("not_found", sum.files[2].err.kind)
      assert.are.equal(2, #csv.decode(b:text()))
    end)

    it("raises on misuse and returns nil, err for an unwritable path", function()
      local c = seeded()
      assert.has_error(function() c:export_meta("/d", 5) end, "sirv:export_meta: argument #2 must be a file path or a file handle")
      assert.has_error(function() c:export_meta("/d", buffer(), { format = "xml" }) end,
        "sirv:export_meta: argument #3 field 'format' must be \"csv\" or \"json\"")
      assert.has_error(function() c:export_meta("/d", buffer(), { journal = "/tmp/j" }) end)
      local s, err = c:export_meta("/d", "/nonexistent-dir/x.csv")
      assert.is_nil(s)
      assert.are.equal("local", err.kind)
    end)
  end)

  describe("import_meta", function()
    local function seeded()
      local c, S, fake = fake_sirv()
      S.add("/d/a.jpg", { title = "A", description = "D", tags = { "x", "y" }, product = { id = "P1" },
        approval = { approved = false, comment = "later" } })
      S.add("/d/b.jpg", { title = "B" })
      return c, S, fake
    end

    it("round-trips an export without sending a single write", function()
      for _, ext in ipairs{ ".csv", ".json" } do
        local c, S = seeded()
        local p = tmpfile() .. ext
        assert(c:export_meta("/d", p))
        local sum = assert(c:import_meta(p))
        assert.are.equal(2, sum.done)
        assert.are.equal(0, sum.changed)
        assert.is_nil(S.ops["POST /v2/files/meta"])
        os.remove(p)
      end
    end)

    it("sends only what differs, in one call per file", function()
      local c, S, fake = seeded()
      local p = tmpfile() .. ".csv"
      write_all(p, "path,title,tags,product_brand,approved\r\n/d/a.jpg,A,x;z,ACME,true\r\n/d/b.jpg,B,,,\r\n")
      local out = buffer()
      local sum = assert(c:import_meta(p, { out = out }))
      assert.are.equal(1, sum.changed)
      assert.are.equal(1, S.ops["POST /v2/files/meta"])
      local sent
      for _, r in ipairs(fake.requests) do if r.method == "POST" and r.url:find("/v2/files/meta?", 1, true) then sent = json_decode(r.body) end end
      assert.are.same({ tags = { "x", "z" }, product = { id = "P1", brand = "ACME" },
        approval = { approved = true, comment = "later" } }, sent)
      local m = S.files["/d/a.jpg"]
      assert.are.equal("D", m.description) -- no column: left alone
      assert.matches("import: 1 of 2 files changed, 0 failed", out:text(), 1, true)
      os.remove(p)
    end)

    it("prints a readable diff in a dry run and sends nothing", function()
      local c, S = seeded()
      local p = tmpfile() .. ".csv"
      write_all(p, "path,title,description,tags\n/d/a.jpg,New title,D,x\n/d/b.jpg,B,,\n")
      local out = buffer()
      local sum = assert(c:import_meta(p, { dry_run = true, out = out, journal = tmpfile() }))
      assert.are.equal(1, sum.changed)
      assert.is_nil(S.ops["POST /v2/files/meta"])
      assert.is_true(sum.files[1].result.dry_run)
      assert.are.equal(table.concat({
        "/d/a.jpg (dry run)",
        '  title: "A" -> "New title"',
        '  tags: -"y"',
        "dry run: 1 of 2 files would change, 0 failed", "" }, "\n"), out:text())
      assert.are.equal("A", S.files["/d/a.jpg"].title)
    end)

    it("imports JSON records, a field that is absent or null left alone", function()
      local c, S = seeded()
      local p = tmpfile() .. ".json"
      write_all(p, '[{"path":"/d/a.jpg","title":"J","tags":null},{"path":"/d/b.jpg","product":{"name":"N"}}]')
      local sum = assert(c:import_meta(p))
      assert.are.equal(2, sum.changed)
      assert.are.equal("J", S.files["/d/a.jpg"].title)
      assert.are.same({ "x", "y" }, S.files["/d/a.jpg"].tags)
      assert.are.equal("N", S.files["/d/b.jpg"].product.name)
      os.remove(p)
    end)

    it("fails a row with a bad value, a missing file, and goes on", function()
      local c, S = seeded()
      local p = tmpfile() .. ".csv"
      write_all(p, "path,approved,title\n/d/a.jpg,maybe,x\n/d/nope.jpg,,x\n/d/b.jpg,,C\n")
      local out = buffer()
      local sum = assert(c:import_meta(p, { out = out }))
      assert.are.equal(2, sum.failed)
      assert.are.equal("client", sum.files[1].err.kind)
      assert.matches("approved must be true or false", sum.files[1].err.message, 1, true)
      assert.are.equal("not_found", sum.files[2].err.kind)
      assert.are.equal("C", S.files["/d/b.jpg"].title)
      assert.matches("/d/nope.jpg: error:", out:text(), 1, true)
      os.remove(p)
    end)

    it("skips journaled rows", function()
      local c, S = seeded()
      local p, j = tmpfile() .. ".csv", tmpfile()
      write_all(p, "path,title\n/d/a.jpg,X\n/d/b.jpg,Y\n")
      write_all(j, "/d/a.jpg\n")
      local sum = assert(c:import_meta(p, { journal = j }))
      assert.are.equal(1, sum.skipped)
      assert.are.equal("A", S.files["/d/a.jpg"].title)
      assert.are.equal("Y", S.files["/d/b.jpg"].title)
      os.remove(p); os.remove(j)
    end)

    it("returns nil, err for an unreadable or malformed file", function()
      local c = seeded()
      local p = tmpfile() .. ".csv"
      local s, err = c:import_meta(p)
      assert.is_nil(s)
      assert.matches("cannot open", err.message)
      write_all(p, "path,colour\n/d/a.jpg,red\n")
      s, err = c:import_meta(p)
      assert.is_nil(s)
      assert.matches("unknown column 'colour'", err.message)
      write_all(p, "title\nx\n")
      s, err = c:import_meta(p)
      assert.is_nil(s)
      assert.matches("no 'path' column", err.message)
      write_all(p, "")
      s, err = c:import_meta(p)
      assert.is_nil(s)
      assert.matches("no header row", err.message)
      write_all(p, 'path,title\n/d/a.jpg,ok\n/d/b.jpg,"open\n')
      s = assert(c:import_meta(p))
      assert.are.equal(1, s.done)
      assert.matches("unterminated quoted field", s.error.message)
      local pj = tmpfile() .. ".json"
      write_all(pj, '{"path":"/x"}')
      s, err = c:import_meta(pj)
      assert.is_nil(s)
      assert.matches("not a JSON array", err.message)
      assert.has_error(function() c:import_meta(7) end, "sirv:import_meta: argument #1 must be a file path or handle")
      assert.has_error(function() c:import_meta(p, { out = 1 }) end,
        "sirv:import_meta: argument #2 field 'out' must be a file handle")
      os.remove(p); os.remove(pj)
    end)
  end)
end)
