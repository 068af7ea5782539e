-- spec/helpers/redis.lua: a real redis-server (Debian package) for specs, on a
-- free loopback port, stopped by pid — also when the spec fails or busted dies.
--
--   local redis_server = require "helpers.redis"
--   local srv = redis_server.start()      -- srv.port, srv.pid, srv.url
--   srv:cli("GET", "k")                   -- redis-cli output (trimmed), rc
--   srv:kill()                            -- SIGKILL (a crash); srv:restart() on the same port
--   srv:pause() / srv:resume()            -- SIGSTOP / SIGCONT: a server that stops answering
--   srv:stop()                            -- TERM then KILL, by pid; idempotent
--   redis_server.stop_all()
--   redis_server.available()              -- false when redis-server is not installed
--
-- No persistence (--save '' --appendonly no): a restart loses every key and
-- the script cache, which is what the fleet specs want to survive. A watchdog
-- shell (by pid) stops the server once this Lua process is gone.

local util = require "helpers.util"

local M = {}

local live = setmetatable({}, { __mode = "k" })
local Server = {}
Server.__index = Server

local sh, quote = util.capture, util.shell_quote

function M.available()
  local _, rc = sh("command -v redis-server >/dev/null && command -v redis-cli >/dev/null")
  return rc == 0
end

-- start redis-server on self.port; true | false, log
function Server:_launch()
  local log = self.dir .. "/redis.log"
  local out, rc = sh(("cd %s && redis-server --port %d --bind 127.0.0.1 --save '' --appendonly no "
    .. "--daemonize no --logfile %s --dir %s >/dev/null 2>&1 </dev/null & echo $!")
    :format(quote(self.dir), self.port, quote(log), quote(self.dir)))
  self.pid = tonumber(out:match("(%d+)%s*$"))
  if rc ~= 0 or not self.pid then return false, out end
  for _ = 1, 250 do
    local pong = sh(("redis-cli -p %d PING 2>/dev/null"):format(self.port))
    if pong:match("PONG") then
      self:_watchdog()
      return true
    end
    if not util.alive(self.pid) then break end
    util.sleep(0.02)
  end
  return false, util.read_file(log) or ""
end

-- a shell that TERMs the server once this Lua process is gone
function Server:_watchdog()
  local out = sh(("p=$PPID; setsid sh -c 'while [ -e /proc/'$p'/status ] && ! grep -q "
    .. "\"^State:[[:space:]]*Z\" /proc/'$p'/status 2>/dev/null; do sleep 0.5; done; "
    .. "kill -CONT %d 2>/dev/null; kill -TERM %d 2>/dev/null' >/dev/null 2>&1 </dev/null & echo $!")
    :format(self.pid, self.pid))
  self.watchdog = tonumber(out:match("(%d+)%s*$"))
end

function M.start(opts)
  opts = opts or {}
  local self = setmetatable({ dir = util.tmpdir("mediacdn-redis") }, Server)
  live[self] = true
  self._gc = util.gc_guard(function() self:stop() end)
  for attempt = 1, 6 do
    self.port = opts.port or util.free_ports(1)[1]
    local ok, log = self:_launch()
    if ok then
      self.url = "redis://127.0.0.1:" .. self.port
      return self
    end
    if self.pid then util.terminate(self.pid, 2) end
    if opts.port or attempt == 6 or not tostring(log):find("in use", 1, true) then
      self:stop()
      error("redis-server did not start:\n" .. tostring(log):sub(-2000), 2)
    end
  end
end

--- redis-cli with the given arguments: trimmed output, exit code
function Server:cli(...)
  local args = {}
  for i = 1, select("#", ...) do args[#args + 1] = quote(select(i, ...)) end
  local out, rc = sh(("redis-cli -p %d %s"):format(self.port, table.concat(args, " ")))
  return (out:gsub("%s+$", "")), rc
end

local function end_watchdog(self)
  if self.watchdog then sh("kill " .. self.watchdog .. " 2>/dev/null") end
  self.watchdog = nil
end

--- SIGKILL the server (as a crash would); restart() brings it back empty.
function Server:kill()
  end_watchdog(self)
  if self.pid then
    sh("kill -CONT " .. self.pid .. " 2>/dev/null; kill -KILL " .. self.pid .. " 2>/dev/null")
    for _ = 1, 250 do
      if not util.alive(self.pid) then break end
      util.sleep(0.01)
    end
  end
end

--- Start again on the same port (after kill); raises when it cannot.
function Server:restart()
  for _ = 1, 50 do
    local ok = self:_launch()
    if ok then return self end
    util.sleep(0.1) -- the port may linger for a moment
  end
  error("redis-server did not restart on port " .. self.port, 2)
end

function Server:pause() sh("kill -STOP " .. self.pid) end
function Server:resume() sh("kill -CONT " .. self.pid) end

function Server:stop()
  if self.stopped then return end
  self.stopped = true
  live[self] = nil
  end_watchdog(self)
  if self.pid and util.alive(self.pid) then
    sh("kill -CONT " .. self.pid .. " 2>/dev/null")
    util.terminate(self.pid, 5)
  end
  sh("rm -rf " .. quote(self.dir))
end

function M.stop_all()
  for s in pairs(live) do s:stop() end
end

return M
