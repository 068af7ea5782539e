-- sandbox.handlers.search: postFilesSearch and postFilesSearchScroll over the
-- in-memory tree. Queries are compiled by sandbox.query (Lucene-style).
--
-- The index holds files and folders (folders have isDirectory = true, no
-- contentType/extension), like Sirv's, whose query fields include isDirectory.
-- Without a sort, hits come in filename order with _score 1; with one, _score is
-- null and every hit carries `sort` values. Scroll contexts are snapshots that
-- expire after config.scroll_ttl idle seconds; an expired or unknown scrollId
-- gets 404.

local fs = require "sandbox.fs"
local http = require "sandbox.http"
local json = require "sandbox.json"
local util = require "sandbox.util"
local config = require "sandbox.config"
local auth = require "sandbox.auth"

local ngx = ngx
local ipairs, pairs, type, tostring, floor, min, pcall = ipairs, pairs, type, tostring, math.floor, math.min, pcall
local sort, next = table.sort, next

local search = {}
local H = {}
search.handlers = H

local DEFAULT_SIZE = 10
local HIT_ORDER = { "_index", "_type", "_id", "_score", "_routing", "_source", "sort" }
local DOC_ORDER = { "accountId", "filename", "dirname", "basename", "extension", "id", "ctime", "mtime",
  "size", "contentType", "isDirectory", "meta" }
local scrolls = {}   -- id -> { hits, pos, size, sorted, spec, last }

-- the search `_source` of a node (cached on the node until it changes)
function search.doc(n)
  local d = n.doc
  if d then return d end
  local m = {}
  local med = n.media or {}
  if not n.dir then
    m.width, m.height, m.duration, m.format = med.width, med.height, med.duration, med.format
  end
  local e = n.ed
  if e then
    m.title = e.title
    m.description = e.description
    if e.tags and #e.tags > 0 then
      local t = json.array()
      for i, v in ipairs(e.tags) do t[i] = v end
      m.tags = t
    end
    m.approval = e.approval
    m.product = e.product
  end
  d = {
    accountId = auth.account_id,
    filename = n.path,
    dirname = util.dirname(n.path),
    basename = n.name,
    id = n.id,
    ctime = util.iso(n.ctime),
    mtime = util.iso(n.mtime),
    size = n.dir and 0 or n.size,
    isDirectory = n.dir,
    meta = m,
  }
  if not n.dir then
    d.extension = util.extension(n.name)
    d.contentType = n.ctype
  end
  json.ordered(d, DOC_ORDER)
  n.doc = d
  return d
end

local function by_filename(a, b)
  return a.filename < b.filename
end

local function make_hits(list, first, count, sorted, spec)
  local out = json.array()
  local last = min(#list, first + count - 1)
  for i = first, last do
    local doc = list[i]
    local hit = json.ordered({
      _index = "sirvfs-v3",
      _type = "_doc",
      _id = util.sha1_hex(doc.accountId .. doc.filename),
      _score = sorted and json.null or 1,
      _routing = doc.accountId,
      _source = doc,
    }, HIT_ORDER)
    if sorted then
      hit.sort = json.array(search.query.sort_values(doc, spec, json.null))
    end
    out[#out + 1] = hit
  end
  return out
end

local function purge_scrolls(now)
  for id, ctx in pairs(scrolls) do
    if now - ctx.last > config.scroll_ttl then scrolls[id] = nil end
  end
end

function search.reset()
  scrolls = {}
end

local function load_query()
  local ok, q = pcall(require, "sandbox.query")
  if not ok then return nil, tostring(q) end
  search.query = q
  return q
end

-- run the query: sorted docs | nil, response
local function run(body)
  local q, lerr = load_query()
  if not q then
    ngx.log(ngx.ERR, "sandbox: cannot load sandbox.query: ", lerr)
    return nil, http.boom(501, "Search is not available: the query module is missing")
  end
  local text = body.query
  local match
  if text ~= nil and text ~= json.null and not text:match("^%s*$") and not text:match("^%s*%*%s*$") then
    local m, err = q.compile(text, { now = util.now() })
    if not m then
      return nil, http.bad_request("Invalid query: " .. tostring(err))
    end
    match = m
  end
  local docs = {}
  for n in fs.each() do
    local d = search.doc(n)
    if match then
      local ok, err = match(d)
      if ok == nil and err then
        return nil, http.bad_request("Invalid query: " .. tostring(err))
      end
      if ok then docs[#docs + 1] = d end
    else
      docs[#docs + 1] = d
    end
  end
  -- the sort object, in the order its keys were sent, as an ES-style array
  local spec
  local s = body.sort
  if type(s) == "table" and next(s) ~= nil then
    spec = {}
    for i, k in ipairs(json.keys(s)) do
      local dir = s[k]
      local order = type(dir) == "table" and dir.order or dir
      if order ~= "asc" and order ~= "desc" then
        return nil, http.bad_request('child "sort" fails because ["' .. k .. '" must be one of [asc, desc]]')
      end
      spec[i] = { [k] = dir }
    end
    local ok, sorted, err = pcall(q.sort, docs, spec)
    if not ok or not sorted then
      return nil, http.bad_request("Invalid sort: " .. tostring(ok and err or sorted))
    end
  else
    sort(docs, by_filename)
  end
  return docs, nil, spec ~= nil, spec
end

H.postFilesSearch = function(req)
  local body = req.body or {}
  local from = body.from or 0
  local size = body.size or DEFAULT_SIZE
  if from < 0 then return http.bad_request('child "from" fails because ["from" must be larger than or equal to 0]') end
  if size < 0 then return http.bad_request('child "size" fails because ["size" must be larger than or equal to 0]') end
  from, size = floor(from), floor(size)
  local docs, res, sorted, spec = run(body)
  if not docs then return res end
  local out = json.ordered({
    hits = make_hits(docs, from + 1, size, sorted, spec),
    total = #docs,
    _relation = "eq",
  }, { "hits", "total", "_relation", "scrollId" })
  if body.scroll then
    local now = util.now()
    purge_scrolls(now)
    local id = util.b64url(util.random_id(48))
    scrolls[id] = { hits = docs, pos = from + size, size = size > 0 and size or DEFAULT_SIZE, sorted = sorted, spec = spec, last = now }
    out.scrollId = id
  end
  return http.json(200, out)
end

H.postFilesSearchScroll = function(req)
  local id = req.body.scrollId
  local now = util.now()
  local ctx = scrolls[id]
  if ctx and now - ctx.last > config.scroll_ttl then
    scrolls[id] = nil
    ctx = nil
  end
  if not ctx then
    return http.boom(404, "No search context found for id [" .. tostring(id) .. "]: the scroll expired or never existed")
  end
  ctx.last = now
  local hits = make_hits(ctx.hits, ctx.pos + 1, ctx.size, ctx.sorted, ctx.spec)
  ctx.pos = ctx.pos + ctx.size
  return http.json(200, json.ordered({ hits = hits, total = #ctx.hits, _relation = "eq", scrollId = id },
    { "hits", "total", "_relation", "scrollId" }))
end

return search
