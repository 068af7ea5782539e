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

--- Start the server: a Hostile object (base = "http://127.0.0.1:PORT").
function M.start()
  local server = httpd.start{ fixture = util.root .. "/spec/fixtures/hostile" }
  return setmetatable({ server = server, base = server.url }, Hostile)
end

return M
