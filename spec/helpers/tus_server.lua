-- spec/helpers/tus_server.lua: start and stop the real @tus/server (npm) for
-- busted specs and benches (Lua 5.4 and LuaJIT).
--
--   local tus_server = require "helpers.tus_server"
--   local s = tus_server.start()      -- free loopback port, temp storage dir
--   s.endpoint   -- "http://127.0.0.1:PORT/files" (the creation URL)
--   s.pid, s.dir, s.version ("1.x" / "2.x")
--   s:data_path(upload_url)   -- the stored bytes of an upload (FileStore layout)
--   s:stop()                  -- by pid; idempotent; removes the storage dir
--   tus_server.available()    -- true, or false plus the reason (no node / not installed)
--
-- The install (scripts/install-deps.sh) lives in spec/fixtures/tus/v1 or v2,
-- picked by the Node version (scripts/tus-server-dir.sh). The server exits by
-- itself when its parent goes away, and every started server is stopped by
-- stop_all() and when the Lua state closes, so a failing spec leaves nothing.

local util = require "helpers.util"

local M = {}

local io_popen, tonumber, pairs, setmetatable = io.popen, tonumber, pairs, setmetatable
local quote = util.shell_quote

local live = {}

local Server = {}
Server.__index = Server

-- the install directory for this Node, or nil plus a reason
local function install_dir()
  local out, rc = util.capture("bash " .. quote(util.root .. "/scripts/tus-server-dir.sh"))
  if rc ~= 0 then return nil, "node is not installed" end
  local dir = util.root .. "/" .. out:gsub("%s+$", "")
  if not util.read_file(dir .. "/node_modules/@tus/server/package.json") then
    return nil, "@tus/server is not installed in " .. dir .. " (run scripts/install-deps.sh)"
  end
  return dir
end

function M.available()
  local dir, why = install_dir()
  if not dir then return false, why end
  return true
end

-- start{ dir = storage dir (default: a fresh temp dir) }
function M.start(opts)
  opts = opts or {}
  local moddir = assert(install_dir())
  -- the script must sit next to node_modules for Node to resolve the packages
  util.write_file(moddir .. "/.server.mjs", assert(util.read_file(util.root .. "/spec/fixtures/tus/server.mjs")))
  local dir = opts.dir or util.tmpdir("mediacdn-tusd")
  local last
  for _ = 1, 5 do
    local port = util.free_ports(1)[1]
    local cmd = "cd " .. quote(moddir) .. " && echo $$ && exec node .server.mjs " .. port .. " "
      .. quote(dir) .. " 2>&1"
    local p = assert(io_popen(cmd, "r"))
    local pid = tonumber(p:read("*l"))
    local line = p:read("*l")
    if pid and line and line:match("^tus listening on ") then
      local pkg = util.read_file(moddir .. "/node_modules/@tus/server/package.json") or ""
      local s = setmetatable({
        pid = pid, pipe = p, dir = dir, own_dir = opts.dir == nil,
        endpoint = line:match("(http://%S+)"), version = (pkg:match('"version"%s*:%s*"(%d+)') or "?") .. ".x",
      }, Server)
      s.guard = util.gc_guard(function() s:stop() end)
      live[pid] = s
      return s
    end
    last = line
    p:close()
    if pid and util.alive(pid) then util.terminate(pid, 2) end
  end
  error("@tus/server did not start: " .. tostring(last), 2)
end

-- the FileStore keeps an upload's bytes in DIR/<id>
function Server:data_path(upload_url)
  local id = upload_url:match("/files/([^/?#]+)")
  return id and (self.dir .. "/" .. id) or nil
end

function Server:stop()
  if self.stopped then return true end
  self.stopped = true
  live[self.pid] = nil
  util.terminate(self.pid, 5)
  if self.pipe then self.pipe:close() end
  self.pipe = nil
  if self.own_dir then util.sh_ok("rm -rf " .. quote(self.dir)) end
  return true
end

function M.stop_all()
  for _, s in pairs(live) do s:stop() end
end

M._sentinel = setmetatable({}, { __gc = function() M.stop_all() end })

return M
