--- mediacdn.cli.walk: a local folder or a Sirv folder as one flat listing, the
-- input of the sync planner.
--
--   tree = { files = { [rel] = { size =, mtime = epoch s } }, dirs = { [rel] = true },
--            count = n, bytes = n, errors = { "message", ... }, missing = bool }
--   walk.local_tree(root, matcher [, warn]) -> tree
--   walk.remote_tree(sirv, root, matcher, concurrency) -> tree | nil, err
--
-- `rel` is the path below the root with "/" separators. Excluded files are not
-- listed and excluded folders are not walked (glob.lua). Locally, a symlink to a
-- file is followed and a symlink to a folder is skipped with a warning (no loops);
-- what cannot be read is put in tree.errors. Remotely, folders of one level are
-- listed concurrently (mediacdn.loop.gather, when called inside a loop) and a
-- folder's pages follow its continuation; a root that does not exist is an empty
-- tree with `missing = true`.
local lfs = require "lfs"
local loop = require "mediacdn.loop"
local format = require "mediacdn.cli.format"

local pairs, ipairs, tostring, tonumber, type, select, pcall = pairs, ipairs, tostring, tonumber, type, select, pcall
local iso_epoch = format.iso_epoch

local M = {}

local function new_tree()
  return { files = {}, dirs = {}, count = 0, bytes = 0, errors = {} }
end

local function add_file(tree, rel, size, mtime)
  tree.files[rel] = { size = size, mtime = mtime }
  tree.count = tree.count + 1
  tree.bytes = tree.bytes + size
end

--- A local folder's files (recursively).
function M.local_tree(root, matcher, warn)
  local tree = new_tree()
  local function walk(dir, prefix)
    local ok, iter, state = pcall(lfs.dir, dir)
    if not ok then
      tree.errors[#tree.errors + 1] = ("cannot read %s: %s"):format(dir, tostring(iter))
      return
    end
    local names = {}
    for name in iter, state do
      if name ~= "." and name ~= ".." then names[#names + 1] = name end
    end
    table.sort(names)
    for _, name in ipairs(names) do
      local full = dir .. "/" .. name
      local rel = prefix == "" and name or (prefix .. "/" .. name)
      local link = lfs.symlinkattributes(full, "mode")
      local attr = lfs.attributes(full)
      if not attr then
        if link == "link" then
          if warn then warn(("skipping %s: a broken symbolic link"):format(full)) end
        else
          tree.errors[#tree.errors + 1] = ("cannot read %s"):format(full)
        end
      elseif attr.mode == "directory" then
        if link == "link" then
          if warn then warn(("skipping %s: a symbolic link to a folder"):format(full)) end
        elseif not matcher:dir(rel) then
          tree.dirs[rel] = true
          walk(full, rel)
        end
      elseif attr.mode == "file" then
        if not matcher:file(rel) then add_file(tree, rel, attr.size, attr.modification) end
      elseif warn then
        warn(("skipping %s: not a regular file (%s)"):format(full, tostring(attr.mode)))
      end
    end
  end
  walk((root:gsub("(.)/+$", "%1")), "")
  return tree
end

-- Every page of one Sirv folder: entries, or nil, err.
local function list_folder(sirv, dir)
  local entries, cont = {}, nil
  repeat
    local page, err = sirv:readdir_page(dir, cont)
    if not page then return nil, err end
    for _, e in ipairs(page.contents) do entries[#entries + 1] = e end
    cont = page.continuation
  until not cont
  return entries
end

--- A Sirv folder's files (recursively). Returns the tree, or nil, err when a
-- listing fails (after the client's retries).
function M.remote_tree(sirv, root, matcher, concurrency)
  local tree = new_tree()
  local level = { { path = root, rel = "" } }
  while #level > 0 do
    local fns = {}
    for i, d in ipairs(level) do
      fns[i] = function() return list_folder(sirv, d.path) end
    end
    local results, errs = loop.gather(fns, { concurrency = concurrency or 4 })
    local nextlevel = {}
    for i, d in ipairs(level) do
      local entries, err = results[i], errs[i]
      if not entries then
        if d.rel == "" and type(err) == "table" and err.kind == "not_found" then
          tree.missing = true
          return tree
        end
        return nil, err
      end
      for _, e in ipairs(entries) do
        local name = e.filename or (type(e.path) == "string" and e.path:match("([^/]+)$"))
        if name then
          local rel = d.rel == "" and name or (d.rel .. "/" .. name)
          if e.isDirectory then
            if not matcher:dir(rel) then
              tree.dirs[rel] = true
              nextlevel[#nextlevel + 1] = { path = e.path, rel = rel }
            end
          elseif not matcher:file(rel) then
            add_file(tree, rel, tonumber(e.size) or 0, iso_epoch(e.mtime) or 0)
          end
        end
      end
    end
    level = nextlevel
  end
  return tree
end

--- The folders of a tree, deepest first (for removing them after their files).
function M.dirs_deepest_first(dirs)
  local list = {}
  for rel in pairs(dirs) do list[#list + 1] = rel end
  table.sort(list, function(a, b)
    local da, db = select(2, a:gsub("/", "")), select(2, b:gsub("/", ""))
    if da ~= db then return da > db end
    return a > b
  end)
  return list
end

return M
