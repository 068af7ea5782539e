-- sandbox.handlers.meta: editorial meta (title, description, tags, product,
-- approval), folder options and points of interest.

local fs = require "sandbox.fs"
local http = require "sandbox.http"
local json = require "sandbox.json"
local util = require "sandbox.util"

local ipairs, pairs = ipairs, pairs

local meta = {}
local H = {}
meta.handlers = H

local function node_or_404(req)
  local n = fs.get(req.args.filename)
  if not n then return nil, http.not_found_file(req.args.filename) end
  return n
end

local function ed(n)
  n.ed = n.ed or {}
  return n.ed
end

local function tags_of(n)
  local out = json.array()
  for i, t in ipairs(n.ed and n.ed.tags or {}) do out[i] = t end
  return out
end

-- add tags keeping order, no duplicates (adding twice is a no-op)
local function add_tags(n, tags)
  local e = ed(n)
  local list = json.array()
  local seen = {}
  for _, t in ipairs(e.tags or {}) do
    if not seen[t] then list[#list + 1] = t seen[t] = true end
  end
  for _, t in ipairs(tags) do
    if not seen[t] then list[#list + 1] = t seen[t] = true end
  end
  e.tags = list
end

local function remove_tags(n, tags)
  local e = ed(n)
  local drop = {}
  for _, t in ipairs(tags) do drop[t] = true end
  local list = json.array()
  for _, t in ipairs(e.tags or {}) do
    if not drop[t] then list[#list + 1] = t end
  end
  e.tags = list
end

local function set_approval(n, a)
  ed(n).approval = { approved = a.approved, comment = a.comment, datetime = util.iso(util.now()) }
end

local function merge_product(n, p)
  local e = ed(n)
  local cur = e.product or {}
  for k, v in pairs(p) do cur[k] = v end
  e.product = cur
end

local function done(n)
  fs.invalidate(n)
  return http.empty(200)
end

H.getFilesMeta = function(req)
  local n, res = node_or_404(req)
  if not n then return res end
  local e = n.ed or {}
  return http.json(200, {
    tags = tags_of(n),
    title = e.title or "",
    description = e.description or "",
    product = e.product or {},
    approval = e.approval or {},
  })
end

H.postFilesMeta = function(req)
  local n, res = node_or_404(req)
  if not n then return res end
  local b = req.body
  local e = ed(n)
  if b.title ~= nil then e.title = b.title end
  if b.description ~= nil then e.description = b.description end
  if b.tags ~= nil then
    e.tags = json.array()
    add_tags(n, b.tags)
  end
  if b.product ~= nil then e.product = util.deepcopy(b.product) end
  if b.approval ~= nil then set_approval(n, b.approval) end
  return done(n)
end

H.getFilesMetaTitle = function(req)
  local n, res = node_or_404(req)
  if not n then return res end
  return http.json(200, { title = n.ed and n.ed.title or "" })
end

H.postFilesMetaTitle = function(req)
  local n, res = node_or_404(req)
  if not n then return res end
  ed(n).title = req.body.title
  return done(n)
end

H.getFilesMetaDescription = function(req)
  local n, res = node_or_404(req)
  if not n then return res end
  return http.json(200, { description = n.ed and n.ed.description or "" })
end

H.postFilesMetaDescription = function(req)
  local n, res = node_or_404(req)
  if not n then return res end
  ed(n).description = req.body.description
  return done(n)
end

H.getFilesMetaTags = function(req)
  local n, res = node_or_404(req)
  if not n then return res end
  return http.json(200, { tags = tags_of(n) })
end

H.postFilesMetaTags = function(req)
  local n, res = node_or_404(req)
  if not n then return res end
  add_tags(n, req.body.tags)
  return done(n)
end

H.deleteFilesMetaTags = function(req)
  local n, res = node_or_404(req)
  if not n then return res end
  remove_tags(n, req.body.tags)
  return done(n)
end

H.getFilesMetaProduct = function(req)
  local n, res = node_or_404(req)
  if not n then return res end
  return http.json(200, n.ed and n.ed.product or {})
end

H.postFilesMetaProduct = function(req)
  local n, res = node_or_404(req)
  if not n then return res end
  merge_product(n, req.body)
  return done(n)
end

H.getFilesMetaApproval = function(req)
  local n, res = node_or_404(req)
  if not n then return res end
  return http.json(200, n.ed and n.ed.approval or {})
end

H.postFilesMetaApproval = function(req)
  local n, res = node_or_404(req)
  if not n then return res end
  set_approval(n, req.body)
  return done(n)
end

---------------------------------------------------------------------------
-- folder options

H.getFilesOptions = function(req)
  local n, res = node_or_404(req)
  if not n then return res end
  local out = {}
  if req.args.withInherited then
    local chain = {}
    local x = n
    while x do
      chain[#chain + 1] = x
      x = x.parent
    end
    for i = #chain, 1, -1 do
      for k, v in pairs(chain[i].options or {}) do out[k] = v end
    end
  else
    for k, v in pairs(n.options or {}) do out[k] = v end
  end
  return http.json(200, out)
end

H.postFilesOptions = function(req)
  local n, res = node_or_404(req)
  if not n then return res end
  n.options = n.options or {}
  for k, v in pairs(req.body) do n.options[k] = v end
  fs.changed()
  return http.empty(200)
end

---------------------------------------------------------------------------
-- points of interest

H.getFilesPoi = function(req)
  local n, res = node_or_404(req)
  if not n then return res end
  return http.json(200, n.poi or {})
end

H.postFilesPoi = function(req)
  local n, res = node_or_404(req)
  if not n then return res end
  local b = req.body
  local name = b.name or "default"
  n.poi = n.poi or {}
  n.poi[name] = { x = b.x or 0.5, y = b.y or 0.5, width = b.width or 0, height = b.height or 0 }
  fs.changed()
  return http.empty(200)
end

H.deleteFilesPoi = function(req)
  local n, res = node_or_404(req)
  if not n then return res end
  local name = req.body.name
  if n.poi then
    if name then n.poi[name] = nil else n.poi = nil end
  end
  fs.changed()
  return http.empty(200)
end

return meta
