--- Transport selection. A transport moves bytes for a request descriptor
-- (see docs/internals.md); the clients never talk to sockets themselves.
local phase = require "mediacdn.transport.phase"

local M = {}

-- Inside nginx the choice is made per call, because a client is often created
-- in init_by_lua / init_worker (or by a module loaded there) and used later in
-- content handlers, where it must use cosockets and never block the worker.
local Auto = {}
-- t.name is the name of the transport the current phase uses ("resty" or "curl")
Auto.__index = function(t, k)
  if k == "name" then
    local ok, tr = pcall(Auto.pick, t)
    return ok and tr.name or "auto"
  end
  return Auto[k]
end

--- The transport for the phase running now: resty where cosockets work; curl in
-- init and init_worker (nginx serves no request yet); elsewhere an error that
-- names the phase and says what to do.
function Auto:pick()
  if phase.cosockets_allowed() then
    self.resty = self.resty or require("mediacdn.transport.resty").new(self.opts)
    return self.resty
  end
  local p = phase.current()
  if p ~= "init" and p ~= "init_worker" then error(phase.unavailable_error(p), 3) end
  self.curl = self.curl or require("mediacdn.transport.curl").new(self.opts)
  return self.curl
end

function Auto:request(req) return self:pick():request(req) end
function Auto:sleep(s) return self:pick():sleep(s) end
function Auto:now() return self:pick():now() end

--- The default transport: curl in plain Lua; inside nginx one that picks resty or
-- curl for each call by the phase it runs in.
function M.default(opts)
  if phase.in_nginx() then
    return setmetatable({ opts = opts }, Auto)
  end
  return require("mediacdn.transport.curl").new(opts)
end

return M
