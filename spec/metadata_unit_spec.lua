-- Metadata workflows over a fake Sirv (fake transport, virtual time): read / edit /
-- copy meta, apply with concurrency, reports, rate limits (stop / wait), the
-- journal, export and import (CSV, JSON, dry run), and the CSV codec.
local sirv_mod = require "mediacdn.sirv"
local fake_mod = require "mediacdn.transport.fake"
local metadata = require "mediacdn.sirv.metadata"
local csv = require "mediacdn.csv"
local errors = require "mediacdn.errors"
local mediacdn = require "mediacdn"
local util = require "helpers.util"

local json_encode, json_decode, array_mt, null = mediacdn.json_encode, mediacdn.json_decode, mediacdn.array_mt, mediacdn.null

local unescape, tmpfile, write_all, buffer = util.url_unescape, util.tmpname, util.write_file, util.buffer

metadata.install(sirv_mod.Client)

local function query(url)
  local q = {}
  for k, v in (url:match("%?(.*)$") or ""):gmatch("([^&=]+)=([^&]*)") do q[k] = unescape(v) end
  return q
end

local function arr(t) return setmetatable(t or {}, array_mt) end

local function json(status, doc, headers)
  return { status = status, headers = headers or {}, body = doc ~= nil and json_encode(doc) or "" }
end

-- A fake Sirv holding files with editorial meta, pages of 100 in readdir, a
-- search over paths, and one hourly budget (limit, window) with Sirv's headers.
local function fake_sirv(opts)
  opts = opts or {}
  local fake = fake_mod.new()
  local S = { files = {}, order = {}, limit = opts.limit or 100000, count = 0, window = 3600,
    sent = {}, ops = {} }
  fake.S = S
  function S.add(path, meta)
    if not S.files[path] then S.order[#S.order + 1] = path end
    S.files[path] = meta or {}
  end
  function S.seed(n, dir)
    for i = 1, n do S.add(("%s/f%04d.jpg"):format(dir, i)) end
  end
  -- requests per "op path", and per op the filenames sent
  local function note(op, filename)
    S.ops[op] = (S.ops[op] or 0) + 1
    if filename then
      S.sent[op] = S.sent[op] or {}
      S.sent[op][filename] = (S.sent[op][filename] or 0) + 1
    end
  end
  local function rate_headers()
    local rem = math.max(S.limit - S.count, 0)
    local reset = tostring(math.floor(S.reset))
    return { ["x-ratelimit-limit"] = tostring(S.limit), ["x-ratelimit-remaining"] = tostring(rem),
      ["x-ratelimit-reset"] = reset, ["x-ratelimit-type"] = "rest:global",
      ["x-global-ratelimit-limit"] = tostring(S.limit), ["x-global-ratelimit-remaining"] = tostring(rem),
      ["x-global-ratelimit-reset"] = reset }
  end
  local function tags_of(m) local t = arr() for i, v in ipairs(m.tags or {}) do t[i] = v end return t end
  local function add_tags(m, tags)
    local seen, list = {}, arr()
    for _, t in ipairs(m.tags or {}) do if not seen[t] then list[#list + 1], seen[t] = t, true end end
    for _, t in ipairs(tags) do if not seen[t] then list[#list + 1], seen[t] = t, true end end
    m.tags = list
  end
  local H = {}
  H["GET /v2/files/meta"] = function(m)
    return json(200, { title = m.title or "", description = m.description or "", tags = tags_of(m),
      product = m.product or {}, approval = m.approval or {} })
  end
  H["POST /v2/files/meta"] = function(m, b)
    if b.title ~= nil then m.title = b.title end
    if b.description ~= nil then m.description = b.description end
    if b.tags ~= nil then m.tags = {}; add_tags(m, b.tags) end
    if b.product ~= nil then m.product = b.product end
    if b.approval ~= nil then m.approval = { approved = b.approval.approved, comment = b.approval.comment, datetime = "2024-01-01T00:00:00Z" } end
    return json(200)
  end
  H["POST /v2/files/meta/title"] = function(m, b) m.title = b.title return json(200) end
  H["POST /v2/files/meta/description"] = function(m, b) m.description = b.description return json(200) end
  H["GET /v2/files/meta/tags"] = function(m) return json(200, { tags = tags_of(m) }) end
  H["POST /v2/files/meta/tags"] = function(m, b) add_tags(m, b.tags) return json(200) end
  H["DELETE /v2/files/meta/tags"] = function(m, b)
    local drop, list = {}, arr()
    for _, t in ipairs(b.tags) do drop[t] = true end
    for _, t in ipairs(m.tags or {}) do if not drop[t] then list[#list + 1] = t end end
    m.tags = list
    return json(200)
  end
  fake:route(function(req)
    local path = req.url:match("^https?://[^/]+([^?]*)")
    if path == "/v2/token" then return json(200, { token = "tok", expiresIn = 1200 }) end
    local q = query(req.url)
    local op = req.method .. " " .. path
    note(op, q.filename or q.dirname)
    if S.hook then local r = S.hook(op, q, req) if r then return r end end
    -- the hourly window
    if not S.reset or fake.clock >= S.reset then S.count, S.reset = 0, fake.clock + S.window end
    if S.count >= S.limit then
      return json(429, { statusCode = 429, error = "Too Many Requests", message = "Rate limit exceeded" }, rate_headers())
    end
    S.count = S.count + 1
    local res
    if path == "/v2/files/readdir" then
      local names = {}
      local prefix = q.dirname:gsub("/$", "") .. "/"
      for _, p in ipairs(S.order) do
        local rest = p:sub(1, #prefix) == prefix and p:sub(#prefix + 1)
        if rest and not rest:find("/") then
          names[#names + 1] = { filename = rest, isDirectory = S.files[p].dir == true }
        end
      end
      local start = tonumber(q.continuation or "0")
      local page = { contents = arr() }
      for i = start + 1, math.min(start + 100, #names) do page.contents[#page.contents + 1] = names[i] end
      if start + 100 < #names then page.continuation = tostring(start + 100) end
      res = json(200, page)
    elseif path == "/v2/files/search" then
      local b = json_decode(req.body)
      local hits = arr()
      for _, p in ipairs(S.order) do
        if p:find(b.query, 1, true) then hits[#hits + 1] = { _id = p, _source = { filename = p } } end
      end
      local page = arr()
      for i = (b.from or 0) + 1, math.min((b.from or 0) + (b.size or 100), #hits) do page[#page + 1] = hits[i] end
      res = json(200, { hits = page, total = #hits, _relation = "eq" })
    else
      local h = H[op]
      local m = S.files[q.filename]
      if not h then res = json(400, { statusCode = 400, message = "no such op " .. op })
      elseif not m then res = json(404, { statusCode = 404, error = "Not Found", message = "No such file: " .. tostring(q.filename) })
      else res = h(m, req.body and req.body ~= "" and json_decode(req.body) or {}) end
    end
    for k, v in pairs(rate_headers()) do res.headers[k] = v end
    return res
  end)
  local c = sirv_mod.new{ client_id = "id", client_secret = "secret", base_url = "https://api.test",
    transport = fake, rate_limit = opts.rate_limit or "fail", pacing = false }
  return c, S, fake
end

-- a file's contents / its non-empty lines; raise when it cannot be read
local function read_all(p) return assert(util.read_file(p)) end
local function lines_of(p) return assert(util.read_lines(p)) end

local function has_tag(m, tag)
  for _, t in ipairs(m.tags or {}) do if t == tag then return true end end
  return false
end

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
        "sirv:apply_meta: argument #3 field 'journal' must be a file path")
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
