-- Iterators over a fake Sirv that pages: readdir continuation, search offset
-- paging switching to scroll, scroll re-establishment, errors raised, close().
local sirv_mod = require "mediacdn.sirv"
local fake_mod = require "mediacdn.transport.fake"
local mediacdn = require "mediacdn"

local function decode_query(url)
  local q = {}
  for k, v in (url:match("%?(.*)$") or ""):gmatch("([^&=]+)=([^&]*)") do
    q[k] = v:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
  end
  return q
end

local function json(doc) return { status = 200, headers = {}, body = mediacdn.json_encode(doc) } end

-- A fake Sirv with `nfiles` in /big, folders for recursion, and `nhits` search hits.
local function fake_sirv(nfiles, nhits, hooks, client_opts)
  hooks = hooks or {}
  local fake = fake_mod.new()
  local scrolls, calls = {}, { search = 0, scroll = 0 }
  fake.calls, fake.scrolls = calls, scrolls
  fake:route(function(req)
    local path = req.url:match("^https?://[^/]+([^?]*)")
    if path == "/v2/token" then return json{ token = "t", expiresIn = 1200 } end
    if path == "/v2/files/readdir" then
      local q = decode_query(req.url)
      if hooks.readdir then local r = hooks.readdir(q) if r then return r end end
      local names = {}
      if q.dirname == "/big" then
        for i = 1, nfiles do names[#names + 1] = { filename = ("f%05d.jpg"):format(i), isDirectory = false } end
      elseif q.dirname == "/tree" then
        names = { { filename = "a", isDirectory = true }, { filename = "x.jpg" }, { filename = "b", isDirectory = true } }
      elseif q.dirname == "/tree/a" then
        names = { { filename = "a1.jpg" }, { filename = "deep", isDirectory = true } }
      elseif q.dirname == "/tree/a/deep" then names = { { filename = "d.jpg" } }
      elseif q.dirname == "/tree/b" then names = {} end
      local start = tonumber(q.continuation or "0")
      local page = { contents = setmetatable({}, mediacdn.array_mt) }
      for i = start + 1, math.min(start + 100, #names) do page.contents[#page.contents + 1] = names[i] end
      if start + 100 < #names then page.continuation = tostring(start + 100) end
      return json(page)
    end
    local function hits_from(from, size)
      local hits = setmetatable({}, mediacdn.array_mt)
      for i = from + 1, math.min(from + size, nhits) do
        hits[#hits + 1] = { _id = "id" .. i, _source = { filename = ("/s/%05d.jpg"):format(i) } }
      end
      return hits
    end
    if path == "/v2/files/search" then
      calls.search = calls.search + 1
      local b = mediacdn.json_decode(req.body)
      if b.scroll then
        local id = "scroll-" .. calls.search
        scrolls[id] = { pos = 100 }
        return json{ hits = hits_from(0, 100), total = nhits, scrollId = id }
      end
      assert(b.from + b.size <= 1000, "offset paging past 1000")
      return json{ hits = hits_from(b.from, b.size), total = nhits, _relation = "eq" }
    end
    if path == "/v2/files/search/scroll" then
      calls.scroll = calls.scroll + 1
      local b = mediacdn.json_decode(req.body)
      if hooks.scroll then local r = hooks.scroll(b, calls) if r then return r end end
      local s = scrolls[b.scrollId]
      if not s then return { status = 404, headers = {}, body = '{"statusCode":404,"message":"scroll expired"}' } end
      local hits = hits_from(s.pos, 100)
      s.pos = s.pos + 100
      return json{ hits = hits, total = nhits, scrollId = b.scrollId }
    end
    if path == "/v2/account/events/search" then
      return json(setmetatable({ { module = "fetching" }, { module = "upload" } }, mediacdn.array_mt))
    end
  end)
  local opts = { client_id = "i", client_secret = "s", base_url = "https://x.test", transport = fake }
  for k, v in pairs(client_opts or {}) do opts[k] = v end
  return fake, sirv_mod.new(opts)
end

describe("sirv iterators (fake transport)", function()
  it("readdir follows continuation: 2,550 entries over 26 pages, absolute paths", function()
    local fake, c = fake_sirv(2550, 0)
    local n, seen = 0, {}
    for e in c:readdir("/big") do
      n = n + 1
      assert.are.equal("/big/" .. e.filename, e.path)
      assert.is_nil(seen[e.path]); seen[e.path] = true
    end
    assert.are.equal(2550, n)
    local pages = 0
    for _, r in ipairs(fake.requests) do if r.url:find("readdir", 1, true) then pages = pages + 1 end end
    assert.are.equal(26, pages)
  end)

  it("readdir walks sub-folders lazily when recursive", function()
    local _, c = fake_sirv(0, 0)
    local paths = {}
    for e in c:readdir("/tree", { recursive = true }) do paths[#paths + 1] = e.path end
    table.sort(paths)
    assert.are.same({ "/tree/a", "/tree/a/a1.jpg", "/tree/a/deep", "/tree/a/deep/d.jpg", "/tree/b", "/tree/x.jpg" }, paths)
  end)

  it("search returns every hit past 1000 through scroll, without duplicates", function()
    local fake, c = fake_sirv(0, 2500)
    local seen, n = {}, 0
    for hit in c:search{ query = "extension:.jpg" } do
      n = n + 1
      assert.is_nil(seen[hit._id]); seen[hit._id] = true
      assert.are.equal(hit._source.filename, hit.path)
    end
    assert.are.equal(2500, n)
    assert.is_true(fake.calls.scroll >= 15)
  end)

  it("search of at most 1000 hits uses offset paging only", function()
    local fake, c = fake_sirv(0, 950)
    local n = 0
    for _ in c:search{ query = "x" } do n = n + 1 end
    assert.are.equal(950, n)
    assert.are.equal(0, fake.calls.scroll)
    assert.are.equal(10, fake.calls.search)
  end)

  it("re-establishes a scroll a slow consumer let expire, without duplicates", function()
    local fake, c = fake_sirv(0, 1500)
    local seen, n = {}, 0
    for hit in c:search{ query = "x" } do
      n = n + 1
      assert.is_nil(seen[hit._id], "duplicate " .. hit._id); seen[hit._id] = true
      if n == 450 then fake.clock = fake.clock + 60 end -- idle past the 30 s scroll life
    end
    assert.are.equal(1500, n)
  end)

  it("recovers when the server reports the scroll context gone", function()
    local dropped = false
    local _, c = fake_sirv(0, 1300, { scroll = function(_, calls)
      if calls.scroll == 3 and not dropped then
        dropped = true
        return { status = 404, headers = {}, body = '{"statusCode":404,"message":"No search context found"}' }
      end
    end })
    local seen, n = {}, 0
    for hit in c:search{ query = "x" } do
      n = n + 1
      assert.is_nil(seen[hit._id]); seen[hit._id] = true
    end
    assert.are.equal(1300, n)
    assert.is_true(dropped)
  end)

  it("raises an error object naming the page and query when a page keeps failing", function()
    local tries = 0
    local _, c = fake_sirv(900, 0, { readdir = function(q)
      if q.continuation == "600" then
        tries = tries + 1
        return { status = 500, headers = {}, body = "boom" }
      end
    end }, { retry = { attempts = 2, base = 0.01 } })
    local n = 0
    local ok, err = pcall(function() for _ in c:readdir("/big") do n = n + 1 end end)
    assert.is_false(ok)
    assert.are.equal(600, n)
    assert.are.equal("transient", err.kind)
    assert.are.equal(7, err.page)
    assert.are.equal("readdir /big", err.query)
    assert.matches("page 7", tostring(err))
    assert.are.equal(2, tries) -- the page was tried retry.attempts times
  end)

  it("close() stops the iterator and releases the page; break releases it too", function()
    local fake, c = fake_sirv(0, 2500)
    local it, state, ctl, cur = c:search{ query = "x" }
    local n = 0
    for _ in it, state, ctl do
      n = n + 1
      if n == 3 then break end
    end
    cur:close()
    cur:close() -- idempotent
    assert.is_true(cur.closed)
    assert.is_nil(cur.scroll_id)
    assert.is_nil(it(state))
    assert.are.equal(1, fake.calls.search)
  end)

  it("closes an abandoned cursor when it is collected (__gc, also on LuaJIT)", function()
    local _, c = fake_sirv(300, 0)
    local closed = 0
    do
      local it, st = c:readdir("/big")
      st.on_close = function() closed = closed + 1 end
      it(st) -- one page fetched and held
    end
    collectgarbage("collect"); collectgarbage("collect")
    assert.are.equal(1, closed)
  end)

  it("iterates account events", function()
    local _, c = fake_sirv(0, 0)
    local mods = {}
    for ev in c:events{ level = "error" } do mods[#mods + 1] = ev.module end
    assert.are.same({ "fetching", "upload" }, mods)
  end)

  it("raises on misuse", function()
    local _, c = fake_sirv(0, 0)
    assert.has_error(function() c:readdir(5) end)
    assert.has_error(function() c:search("q") end)
    assert.has_error(function() c:search{ query = "x", from = 5 } end)
  end)
end)
