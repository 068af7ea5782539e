-- spec/helpers/hostile_server.lua — a deliberately broken HTTP server for the
-- specs that check how both transports meet a hostile or broken peer.
--
--   local hostile = require "helpers.hostile_server"
--   local srv = hostile.start()
--   srv:url("drip", { every = 2, n = 20 })  -- "http://127.0.0.1:P/drip?every=2&n=20"
--   srv:json_base("deep")                   -- a Sirv base_url whose API answers deep JSON
--   srv:stop()                              -- by pid; safe to call twice
--
-- It is nginx in a child process on a free loopback port (started by
-- spec/helpers/httpd.lua), whose one handler (spec/fixtures/hostile/
-- hostile_handlers.lua) writes every answer by hand on the raw connection:
-- chunk sizes that overflow, bad Content-Length, oversized heads, 10,000
-- header lines, a 1 MiB header, premature closes, garbage instead of HTTP,
-- a server dripping a byte at a time, deep JSON and JSON holding NUL. The
-- modes and their parameters are listed at the head of that file. Call stop()
-- from a busted teardown; a finalizer stops the server as a last resort.
--
--   local d = hostile.start_tls_drip()      -- nil, reason without LuaSocket
--   d.url                                   -- "https://127.0.0.1:P/": a TLS
--   d:stop()                                -- handshake dripping 1 byte/s
--
-- start_tls_drip runs spec/fixtures/hostile/tls_drip.lua (LuaSocket) in a
-- child process: below HTTP, where nginx cannot misbehave on purpose.
local httpd = require "helpers.httpd"
local util = require "helpers.util"

local M = {}

local Hostile = {}
Hostile.__index = Hostile

-- The URL of a mode with query parameters (a table, sorted for stable URLs).
function Hostile:url(mode, params)
  local keys, q = {}, {}
  for k in pairs(params or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do q[#q + 1] = k .. "=" .. tostring(params[k]) end
  return self.base .. "/" .. mode .. (#q > 0 and ("?" .. table.concat(q, "&")) or "")
end

-- A Sirv base_url whose token endpoint works and whose every other answer is
-- the JSON document of `variant` (deep | nul | nul_escaped).
function Hostile:json_base(variant)
  return self.base .. "/j/" .. variant
end

function Hostile:stop()
  self.server:stop()
end

function Hostile:error_log()
  return self.server:error_log()
end

local Drip = {}
Drip.__index = Drip

-- Stop the TLS drip server by pid (TERM, then KILL); safe to call twice.
function Drip:stop()
  if self.stopped then return end
  self.stopped = true
  util.terminate(self.pid, 2)
end

--- Start the TLS drip server: a Drip object (url, pid), or nil and the reason
-- when no interpreter here has LuaSocket.
function M.start_tls_drip()
  local lua
  for _, vm in ipairs{ "lua5.4", "luajit" } do
    if util.sh_ok(vm .. " -e 'require(\"socket\")' >/dev/null 2>&1") then lua = vm break end
  end
  if not lua then return nil, "LuaSocket is not installed" end
  local script = util.root .. "/spec/fixtures/hostile/tls_drip.lua"
  local drip, out
  -- a free port can be taken by another process before the child binds it
  -- (suites run side by side): try another one then
  for _ = 1, 5 do
    local port = util.free_ports(1)[1]
    local log = util.tmpname()
    local p = assert(io.popen(("env -u LUA_PATH -u LUA_CPATH %s %s %d >%s 2>&1 & echo $!")
      :format(lua, util.shell_quote(script), port, util.shell_quote(log))))
    local pid = tonumber(p:read("*l"))
    p:close()
    local d = setmetatable({ pid = pid, port = port, url = ("https://127.0.0.1:%d/"):format(port) }, Drip)
    d._guard = util.gc_guard(function() d:stop() end)
    for _ = 1, 250 do                         -- ready once it printed "listening"
      if (util.read_file(log) or ""):find("listening", 1, true) then break end
      if not util.alive(pid) then break end
      util.sleep(0.02)
    end
    out = util.read_file(log) or ""
    os.remove(log)
    if out:find("listening", 1, true) then drip = d break end
    d:stop()
    if not out:lower():find("address already in use", 1, true) then break end
  end
  if not drip then
    error("hostile tls_drip server did not start: " .. out)
  end
  return drip
end

--- Start the server: a Hostile object (base = "http://127.0.0.1:PORT").
function M.start()
  local server = httpd.start{ fixture = util.root .. "/spec/fixtures/hostile" }
  return setmetatable({ server = server, base = server.url }, Hostile)
end

return M
