-- sandbox.persist: with --state DIR the tree (and account settings, events) is
-- saved to DIR/index.json when it changed (every 2 s, and when the worker exits)
-- and loaded at start. File bytes already live in DIR/blobs.

local config = require "sandbox.config"
local fs = require "sandbox.fs"
local json = require "sandbox.json"
local events = require "sandbox.events"

local ngx = ngx
local io_open, os_rename, type = io.open, os.rename, type

local persist = {}

local saved_version = -1

local function index_path()
  return config.state_dir .. "/index.json"
end

function persist.save(force)
  if not config.persist then return true end
  local v = fs.version()
  if v == saved_version and not force then return true end
  local account = require "sandbox.handlers.account"
  local data = { version = 1, fs = fs.export(), account = account.export(), events = events.export() }
  local tmp = index_path() .. ".tmp"
  local f, err = io_open(tmp, "wb")
  if not f then return nil, err end
  f:write(json.encode(data))
  f:close()
  local ok, rerr = os_rename(tmp, index_path())
  if not ok then return nil, rerr end
  saved_version = v
  return true
end

function persist.load()
  if not config.persist then return false end
  local f = io_open(index_path(), "rb")
  if not f then return false end
  local text = f:read("*a")
  f:close()
  local data = json.decode(text)
  if type(data) ~= "table" then
    ngx.log(ngx.WARN, "sandbox: ignoring unreadable ", index_path())
    return false
  end
  fs.import(data.fs)
  require("sandbox.handlers.account").import(data.account)
  events.import(data.events)
  saved_version = fs.version()
  return true
end

function persist.start_timer()
  if not config.persist then return end
  ngx.timer.every(2, function(premature)
    if premature then return end
    local ok, err = persist.save()
    if not ok then ngx.log(ngx.ERR, "sandbox: cannot save state: ", err) end
  end)
end

return persist
