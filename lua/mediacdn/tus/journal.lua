--- mediacdn.tus.journal: where resumable uploads remember their server URLs
-- between runs, keyed by the content fingerprint (never by an endpoint URL,
-- which may carry a token that changes every time).
--
-- A store is any table with
--   store:get(key) -> entry | nil          store:set(key, entry) -> true | nil, message
--   store:delete(key)                      store:lock(key) -> handle | nil, "busy" | nil, message
--   (handle:release(); lock is optional: without it nothing is locked)
-- entry = { url = , parts = {url, ...}, size = , destination = , created = , expires = ,
--           caps = {...} } (a plain table that survives JSON).
--
-- M.file_store(dir): one JSON file per entry, DIR/<key>.json. A writer holds the
-- entry's lock (flock on DIR/<key>.lock, released when the process dies, so a
-- SIGKILLed upload leaves no stale lock) for the whole upload, and writes are
-- atomic (a temp file renamed over the entry), so two processes never write one
-- entry at once and a reader never sees half an entry.
-- Default dir: $XDG_CACHE_HOME/mediacdn/tus, else ~/.cache/mediacdn/tus.
-- M.memory_store(): the same in process memory (tests, short-lived scripts).
local core = require "mediacdn.core"

local M = {}

local type, error, setmetatable, tostring = type, error, setmetatable, tostring
local io_open, os_rename, os_remove, getenv = io.open, os.rename, os.remove, os.getenv
local json_encode, json_decode = core.json_encode, core.json_decode

--- The default journal directory.
function M.default_dir()
  local base = getenv("XDG_CACHE_HOME")
  if not base or base == "" then
    local home = getenv("HOME")
    if not home or home == "" then return nil end
    base = home .. "/.cache"
  end
  return base .. "/mediacdn/tus"
end

---------------------------------------------------------------------------
-- file store

local FileStore = {}
FileStore.__index = FileStore

function M.file_store(dir)
  if type(dir) ~= "string" or dir == "" then error("journal: the directory must be a path", 2) end
  return setmetatable({ dir = dir:gsub("/+$", "") }, FileStore)
end

local function ensure_dir(self)
  if self.ready then return true end
  local ok, err = core.mkdirs(self.dir, 448) -- 0700: URLs may carry tokens
  if not ok then return nil, "cannot create the journal directory: " .. tostring(err) end
  self.ready = true
  return true
end

function FileStore:get(key)
  local f = io_open(self.dir .. "/" .. key .. ".json", "rb")
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  local entry = json_decode(text or "")
  if type(entry) ~= "table" then return nil end -- unreadable: as if absent (it is rewritten)
  return entry
end

function FileStore:set(key, entry)
  local ok, err = ensure_dir(self)
  if not ok then return nil, err end
  local text, jerr = json_encode(entry)
  if not text then return nil, "cannot encode the journal entry: " .. tostring(jerr) end
  local final = self.dir .. "/" .. key .. ".json"
  local tmp = final .. ".tmp"   -- only the lock holder writes this entry
  local f, oerr = io_open(tmp, "wb")
  if not f then return nil, "cannot write the journal: " .. tostring(oerr) end
  local wok, werr = f:write(text)
  f:close()
  if not wok then
    os_remove(tmp)
    return nil, "cannot write the journal: " .. tostring(werr)
  end
  local rok, rerr = os_rename(tmp, final)
  if not rok then
    os_remove(tmp)
    return nil, "cannot write the journal: " .. tostring(rerr)
  end
  return true
end

function FileStore:delete(key)
  os_remove(self.dir .. "/" .. key .. ".json")
  return true
end

local Lock = {}
Lock.__index = Lock
function Lock:release()
  local h = self.h
  self.h = nil
  if h then h:close() end
end

function FileStore:lock(key)
  local ok, err = ensure_dir(self)
  if not ok then return nil, err end
  local h, lerr = core.file_lock(self.dir .. "/" .. key .. ".lock")
  if not h then return nil, lerr end
  return setmetatable({ h = h }, Lock)
end

---------------------------------------------------------------------------
-- memory store

local MemStore = {}
MemStore.__index = MemStore

function M.memory_store()
  return setmetatable({ entries = {}, locks = {} }, MemStore)
end

-- entries are copied through JSON so a caller cannot alias them
function MemStore:get(key)
  local text = self.entries[key]
  return text and json_decode(text) or nil
end

function MemStore:set(key, entry)
  self.entries[key] = assert(json_encode(entry))
  return true
end

function MemStore:delete(key)
  self.entries[key] = nil
  return true
end

function MemStore:lock(key)
  if self.locks[key] then return nil, "busy" end
  self.locks[key] = true
  local store = self
  return { release = function() store.locks[key] = nil end }
end

---------------------------------------------------------------------------

--- opts.journal -> store | false (raises on misuse). nil: the default file store
-- (false when no cache directory can be named).
function M.resolve(j, fname)
  if j == false then return false end
  if j == nil then
    local dir = M.default_dir()
    return dir and M.file_store(dir) or false
  end
  if type(j) == "string" then return M.file_store(j) end
  if type(j) == "table" and type(j.get) == "function" and type(j.set) == "function"
    and type(j.delete) == "function" then
    return j
  end
  error(("%s: opts.journal must be a directory path, a store {get,set,delete[,lock]} or false"):format(fname), 3)
end

return M
