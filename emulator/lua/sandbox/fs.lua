-- sandbox.fs: the account's file tree, in the worker's memory.
--
-- node = { path, name, parent, dir = bool, children = {name -> node} (folders),
--          ctime, mtime (epoch seconds), size, ctype, media = {...}, blob (files),
--          ed = editorial meta {title, description, tags, product, approval},
--          options = {...}, poi = {...}, id = "..." }
-- Errors come back as nil, status, message (status 400 / 404 / 409).

local util = require "sandbox.util"
local blob = require "sandbox.blob"
local json = require "sandbox.json"

local pairs, ipairs, sort, type, next = pairs, ipairs, table.sort, type, next
local sub, gsub = string.sub, string.gsub

local fs = {}

local nodes = {}
local root
local version = 0
local file_count, byte_count = 0, 0

local function changed()
  version = version + 1
end

function fs.version()
  return version
end

local function new_dir(path, name, parent, now)
  return {
    path = path, name = name, parent = parent, dir = true, children = {}, nchildren = 0,
    ctime = now, mtime = now, size = 0, id = util.random_id(32),
  }
end

function fs.reset()
  for _, n in pairs(nodes) do
    if n.blob then blob.unref(n.blob) end
  end
  nodes = {}
  root = new_dir("/", "", nil, util.now())
  nodes["/"] = root
  file_count, byte_count = 0, 0
  changed()
end

-- normalise a path: nil, message when it is not absolute
function fs.normalize(p)
  if type(p) ~= "string" or sub(p, 1, 1) ~= "/" then
    return nil
  end
  p = gsub(p, "//+", "/")
  if #p > 1 and sub(p, -1) == "/" then p = sub(p, 1, -2) end
  return p
end

function fs.get(path)
  return nodes[path]
end

function fs.root()
  return root
end

local function invalidate(n)
  n.doc = nil
  n.sorted = nil
end
fs.invalidate = function(n)
  n.doc = nil
  changed()
end

local function attach(parent, n)
  parent.children[n.name] = n
  parent.nchildren = parent.nchildren + 1
  parent.sorted = nil
  n.parent = parent
  nodes[n.path] = n
  if not n.dir then
    file_count = file_count + 1
    byte_count = byte_count + (n.size or 0)
  end
end

local function detach(n)
  local parent = n.parent
  if parent and parent.children[n.name] == n then
    parent.children[n.name] = nil
    parent.nchildren = parent.nchildren - 1
    parent.sorted = nil
  end
  if nodes[n.path] == n then nodes[n.path] = nil end
  if not n.dir then
    file_count = file_count - 1
    byte_count = byte_count - (n.size or 0)
  end
end

-- create every missing folder of `path` (itself included); returns the folder node
function fs.mkdirs(path, now)
  now = now or util.now()
  local n = nodes[path]
  if n then
    if n.dir then return n end
    return nil, 409, "Not a directory: " .. path
  end
  local parent, st, msg = fs.mkdirs(util.dirname(path), now)
  if not parent then return nil, st, msg end
  n = new_dir(path, util.basename(path), parent, now)
  attach(parent, n)
  parent.mtime = now
  changed()
  return n
end

-- mkdir: the folder must not exist yet (parents are created)
function fs.mkdir(path, now)
  if nodes[path] then
    return nil, 409, "Path already exists: " .. path
  end
  return fs.mkdirs(path, now)
end

-- create or replace a file. attrs: blob, ctype, media, mtime?, ctime?, ed?
function fs.write_file(path, attrs)
  local now = attrs.now or util.now()
  if path == "/" then return nil, 400, "Cannot write to the root folder" end
  local existing = nodes[path]
  if existing and existing.dir then
    return nil, 409, "Path is a directory: " .. path
  end
  local parent, st, msg = fs.mkdirs(util.dirname(path), now)
  if not parent then return nil, st, msg end
  local n = existing
  if n then
    detach(n)
    blob.unref(n.blob)
  else
    n = { path = path, name = util.basename(path), dir = false, ctime = attrs.ctime or now, id = util.random_id(32) }
  end
  n.blob = blob.ref(attrs.blob)
  n.size = attrs.blob.size
  n.ctype = attrs.ctype or util.mime_for(path)
  n.media = attrs.media or {}
  n.mtime = attrs.mtime or now
  if attrs.ed then n.ed = attrs.ed end
  invalidate(n)
  attach(parent, n)
  parent.mtime = now
  changed()
  return n
end

-- delete a file or an empty folder
function fs.remove(path)
  local n = nodes[path]
  if not n then return nil, 404, "No such file: " .. path end
  if n == root then return nil, 400, "Cannot delete the root folder" end
  if n.dir and n.nchildren > 0 then
    return nil, 409, "Directory is not empty: " .. path
  end
  detach(n)
  if n.blob then blob.unref(n.blob) end
  if n.parent then n.parent.mtime = util.now() end
  changed()
  return n
end

-- delete a file or a folder with everything in it
function fs.remove_tree(path)
  local n = nodes[path]
  if not n then return nil, 404, "No such file: " .. path end
  if n == root then return nil, 400, "Cannot delete the root folder" end
  local function drop(x)
    if x.dir then
      for _, c in pairs(x.children) do drop(c) end
    end
    if x.blob then blob.unref(x.blob) end
    if nodes[x.path] == x then nodes[x.path] = nil end
    if not x.dir then
      file_count = file_count - 1
      byte_count = byte_count - (x.size or 0)
    end
  end
  local parent = n.parent
  if parent.children[n.name] == n then
    parent.children[n.name] = nil
    parent.nchildren = parent.nchildren - 1
    parent.sorted = nil
    parent.mtime = util.now()
  end
  drop(n)
  changed()
  return n
end

-- copy one file (editorial meta comes along)
function fs.copy(from, to)
  local src = nodes[from]
  if not src then return nil, 404, "No such file: " .. from end
  if src.dir then return nil, 400, "Cannot copy a folder: " .. from end
  if from == to then return src end
  return fs.write_file(to, {
    blob = src.blob, ctype = src.ctype, media = util.deepcopy(src.media),
    ed = util.deepcopy(src.ed), ctime = util.now(),
  })
end

local function repath(n, path)
  if nodes[n.path] == n then nodes[n.path] = nil end
  n.path = path
  nodes[path] = n
  invalidate(n)
  if n.dir then
    for name, c in pairs(n.children) do
      repath(c, path == "/" and ("/" .. name) or (path .. "/" .. name))
    end
  end
end

-- rename or move a file or folder
function fs.rename(from, to)
  local src = nodes[from]
  if not src then return nil, 404, "No such file: " .. from end
  if src == root then return nil, 400, "Cannot move the root folder" end
  if from == to then return src end
  if src.dir and sub(to, 1, #from + 1) == from .. "/" then
    return nil, 400, "Cannot move a folder into itself: " .. to
  end
  local dst = nodes[to]
  if dst then
    if dst.dir or src.dir then
      return nil, 409, "Path already exists: " .. to
    end
    fs.remove(to)
  end
  local parent, st, msg = fs.mkdirs(util.dirname(to))
  if not parent then return nil, st, msg end
  local now = util.now()
  detach(src)   -- unlinks the node itself; repath() moves its subtree
  src.name = util.basename(to)
  repath(src, to)
  attach(parent, src)
  if src.parent then src.parent.mtime = now end
  changed()
  return src
end

-- sorted child names of a folder (cached until the folder changes)
function fs.list(dirnode)
  if dirnode.sorted then return dirnode.sorted end
  local names = {}
  for name in pairs(dirnode.children) do names[#names + 1] = name end
  sort(names)
  dirnode.sorted = names
  return names
end

-- iterate every node but the root
function fs.each()
  local k, v
  return function()
    repeat
      k, v = next(nodes, k)
    until k == nil or v ~= root
    return v
  end
end

function fs.totals()
  return file_count, byte_count
end

function fs.count_nodes()
  local n = 0
  for _ in pairs(nodes) do n = n + 1 end
  return n - 1
end

-- bulk insert used by seeding (no per-file mtime bump of the parent)
function fs.add_file_fast(parent, name, attrs)
  local path = parent.path == "/" and ("/" .. name) or (parent.path .. "/" .. name)
  local existing = nodes[path]
  if existing then
    if existing.dir then return nil end
    detach(existing)
    blob.unref(existing.blob)
  end
  local n = {
    path = path, name = name, dir = false, ctime = attrs.ctime, mtime = attrs.mtime,
    id = util.random_id(32), blob = blob.ref(attrs.blob), size = attrs.blob.size,
    ctype = attrs.ctype, media = attrs.media or {}, ed = attrs.ed,
  }
  attach(parent, n)
  return n
end

fs.changed = changed

---------------------------------------------------------------------------
-- persistence (used with --state DIR)

local function blob_record(b)
  if b.kind == "file" then return { kind = "file", id = b.id, size = b.size } end
  if b.kind == "inline" then return { kind = "inline", data = b.data, size = b.size } end
  return { kind = "gen", seed = b.seed, size = b.size, magic = b.magic }
end

function fs.export()
  local out = json.array()
  for path, n in pairs(nodes) do
    if n ~= root then
      out[#out + 1] = {
        path = path, dir = n.dir, ctime = n.ctime, mtime = n.mtime, ctype = n.ctype,
        media = n.media, ed = n.ed, options = n.options, poi = n.poi, id = n.id,
        blob = n.blob and blob_record(n.blob) or nil,
      }
    end
  end
  sort(out, function(a, b) return a.path < b.path end)
  return { root = { options = root.options, ed = root.ed, poi = root.poi }, nodes = out }
end

function fs.import(data)
  fs.reset()
  if type(data) ~= "table" or type(data.nodes) ~= "table" then return end
  if data.root then
    root.options, root.ed, root.poi = data.root.options, data.root.ed, data.root.poi
  end
  local files = {}
  for _, r in ipairs(data.nodes) do
    if r.dir then
      local d = fs.mkdirs(r.path, r.ctime)
      if d then
        d.ctime, d.mtime, d.ed, d.options, d.poi, d.id = r.ctime, r.mtime, r.ed, r.options, r.poi, r.id or d.id
      end
    elseif type(r.blob) == "table" then
      local b = r.blob
      if b.kind == "file" then
        b = files[b.id] or b
        files[b.id] = b
      end
      local n = fs.write_file(r.path, { blob = b, ctype = r.ctype, media = r.media, mtime = r.mtime, ctime = r.ctime, ed = r.ed })
      if n then n.options, n.poi, n.id = r.options, r.poi, r.id or n.id end
    end
  end
  for _, r in ipairs(data.nodes) do
    local d = r.dir and nodes[r.path]
    if d then d.mtime = r.mtime end
  end
  changed()
end

return fs
