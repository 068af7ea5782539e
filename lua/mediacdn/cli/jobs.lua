--- mediacdn.cli.jobs: the runner jobs of cp and sync (upload, download, copy,
-- delete, remove folder) and the content comparison behind --checksum.
--
--   jobs.upload(sirv, local_path, remote_path, item [, resumable_above])  -- item: {rel, size, mtime}
--   jobs.download(sirv, remote_path, local_path, item)     -- sets the local mtime to Sirv's
--   jobs.copy(sirv, from, to, item)
--   jobs.delete_remote(sirv, path)   jobs.delete_local(path)
--   jobs.rmdir_remote(sirv, path)    jobs.rmdir_local(path)
--   jobs.differs(sirv, a, b) -> bool | nil, err   -- a, b: {remote = bool, path = ...}
--   jobs.mkdir_p(dir) -> true | nil, message
-- Each job is a table for runner.run (verb, label, size, run, text, what, obj).
local lfs = require "lfs"
local errors = require "mediacdn.errors"
local format = require "mediacdn.cli.format"

local io_open, os_remove, os_tmpname = io.open, os.remove, os.tmpname
local floor, tostring, ipairs = math.floor, tostring, ipairs

local M = {}

local CHUNK = 65536

local function local_error(op, msg)
  return errors.new{ kind = "local", service = "sirv", operation = op, message = msg }
end

--- mkdir -p for a local folder.
function M.mkdir_p(dir)
  if dir == "" or dir == "." or lfs.attributes(dir, "mode") == "directory" then return true end
  local prefix = dir:sub(1, 1) == "/" and "/" or ""
  for part in dir:gmatch("[^/]+") do
    prefix = prefix .. part
    local mode = lfs.attributes(prefix, "mode")
    if not mode then
      local ok, err = lfs.mkdir(prefix)
      if not ok and lfs.attributes(prefix, "mode") ~= "directory" then
        return nil, ("cannot create folder %s: %s"):format(prefix, tostring(err))
      end
    elseif mode ~= "directory" then
      return nil, ("cannot create folder %s: a file is in the way"):format(prefix)
    end
    prefix = prefix .. "/"
  end
  return true
end

local function parent(p)
  return p:match("^(.*)/[^/]*$") or "."
end

--- Upload a local file to a Sirv path; from `resumable_above` bytes on through
-- tus (resumable: an interrupted upload continues where the server has it).
function M.upload(sirv, lpath, rpath, item, resumable_above)
  local resumable = resumable_above ~= nil and item.size >= resumable_above
  return {
    verb = "upload", label = item.rel, size = item.size,
    what = ("upload %s -> %s"):format(lpath, rpath),
    text = ("uploaded %s -> %s (%s)"):format(lpath, rpath, format.size(item.size)),
    obj = { action = "upload", source = lpath, destination = rpath, bytes = item.size, reason = item.reason,
      resumable = resumable or nil },
    run = function(_, on_progress)
      return sirv:upload(rpath, lpath, { on_progress = on_progress, resumable = resumable or nil })
    end,
  }
end

--- Download a Sirv file to a local path (through name.part, then renamed), and
-- give it Sirv's modification time so the next sync sees it unchanged.
function M.download(sirv, rpath, lpath, item)
  return {
    verb = "download", label = item.rel, size = item.size,
    what = ("download %s -> %s"):format(rpath, lpath),
    text = ("downloaded %s -> %s (%s)"):format(rpath, lpath, format.size(item.size)),
    obj = { action = "download", source = rpath, destination = lpath, bytes = item.size, reason = item.reason },
    run = function(_, on_progress)
      local ok, err = M.mkdir_p(parent(lpath))
      if not ok then return nil, local_error("getFilesDownload", err) end
      local done, derr = sirv:download(rpath, lpath, { on_progress = on_progress })
      if not done then return nil, derr end
      if item.mtime and item.mtime > 0 then
        local t = floor(item.mtime)
        local tok, terr = lfs.touch(lpath, t, t)
        if not tok then
          return nil, local_error("getFilesDownload", "cannot set the modification time: " .. tostring(terr))
        end
      end
      return true
    end,
  }
end

--- A server-side copy.
function M.copy(sirv, from, to, item)
  return {
    verb = "copy", label = item.rel, size = item.size,
    what = ("copy %s -> %s"):format(from, to),
    text = ("copied %s -> %s (%s)"):format(from, to, format.size(item.size)),
    obj = { action = "copy", source = from, destination = to, bytes = item.size, reason = item.reason },
    run = function() return sirv:copy(from, to) end,
  }
end

function M.delete_remote(sirv, path, rel)
  return {
    verb = "delete", label = rel or path, what = "delete " .. path, text = "deleted " .. path,
    obj = { action = "delete", path = path },
    run = function() return sirv:delete(path) end,
  }
end

function M.rmdir_remote(sirv, path, rel)
  return {
    verb = "rmdir", label = rel or path, what = "remove folder " .. path, text = "removed folder " .. path,
    obj = { action = "rmdir", path = path },
    run = function() return sirv:delete(path) end,
  }
end

function M.delete_local(path, rel)
  return {
    verb = "delete", label = rel or path, what = "delete " .. path, text = "deleted " .. path,
    obj = { action = "delete", path = path },
    run = function()
      local ok, err = os_remove(path)
      if not ok then return nil, local_error("delete", tostring(err)) end
      return true
    end,
  }
end

function M.rmdir_local(path, rel)
  return {
    verb = "rmdir", label = rel or path, what = "remove folder " .. path, text = "removed folder " .. path,
    obj = { action = "rmdir", path = path },
    run = function()
      local ok, err = lfs.rmdir(path)
      if not ok then return nil, local_error("rmdir", tostring(err)) end
      return true
    end,
  }
end

-- Whether two local files differ, reading both 64 KiB at a time.
local function files_differ(a, b)
  local fa, ea = io_open(a, "rb")
  if not fa then return nil, ea end
  local fb, eb = io_open(b, "rb")
  if not fb then fa:close(); return nil, eb end
  local differ = false
  while true do
    local x, y = fa:read(CHUNK), fb:read(CHUNK)
    if x ~= y then differ = true; break end
    if x == nil then break end
  end
  fa:close(); fb:close()
  return differ
end

--- Whether two files (each local or on Sirv) differ in content. Sirv publishes no
-- content hash, so a Sirv file is downloaded to a temporary file and compared
-- byte for byte (downloads cost no API quota).
function M.differs(sirv, a, b)
  local temps, paths = {}, {}
  for i, side in ipairs{ a, b } do
    if side.remote then
      local tmp = os_tmpname()
      temps[#temps + 1] = tmp
      local ok, err = sirv:download(side.path, tmp)
      if not ok then
        for _, t in ipairs(temps) do os_remove(t) end
        return nil, err
      end
      paths[i] = tmp
    else
      paths[i] = side.path
    end
  end
  local d, err = files_differ(paths[1], paths[2])
  for _, t in ipairs(temps) do os_remove(t) end
  if d == nil then return nil, local_error("compare", tostring(err)) end
  return d
end

return M
