-- spec/helpers/fake_sirv.lua: a fake Sirv over the fake transport for the metadata
-- specs: files with editorial meta, readdir pages of 100, a search over paths,
-- and one hourly budget (limit, window) with Sirv's rate-limit headers.
--   local fake_sirv = require("helpers.fake_sirv")
--   local client, S, fake = fake_sirv.new{ limit = 30, rate_limit = "wait" }
--   S.add(path, meta)  S.seed(n, dir)  S.files  S.order  S.ops["GET /v2/files/meta"]
--   S.sent[op][filename]  S.hook = function(op, q, req) return res_or_nil end
--   fake_sirv.json(status, doc, headers) -> a scripted response
local sirv_mod = require "mediacdn.sirv"
local fake_mod = require "mediacdn.transport.fake"
local mediacdn = require "mediacdn"
local util = require "helpers.util"

local json_encode, json_decode, array_mt = mediacdn.json_encode, mediacdn.json_decode, mediacdn.array_mt
local unescape = util.url_unescape

local M = {}

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
function M.new(opts)
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

M.json = json

return M
