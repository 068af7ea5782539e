--- A scripted transport for unit specs: replays queued responses (or transport
-- errors) and records every request it was given. No I/O.
--   local fake = require("mediacdn.transport.fake").new()
--   fake:push{ status = 200, headers = {...}, body = "{}" }      -- next response
--   fake:push{ terr = { kind = "timeout", message = "..." } }     -- next failure
--   fake:route(function(req) return res_or_nil, terr end)         -- or compute them
local M = {}
local Fake = {}
Fake.__index = Fake

function M.new()
  return setmetatable({ name = "fake", queue = {}, requests = {}, clock = 1700000000, slept = 0 }, Fake)
end

function Fake:push(r)
  self.queue[#self.queue + 1] = r
  return self
end

function Fake:route(fn)
  self.router = fn
  return self
end

-- Copies the descriptor so later mutation by the client cannot hide what was sent.
local function copy(req)
  local c = {}
  for k, v in pairs(req) do c[k] = v end
  c.headers = {}
  for k, v in pairs(req.headers or {}) do c.headers[k] = v end
  return c
end

function Fake:request(req)
  self.requests[#self.requests + 1] = copy(req)
  if self.router then
    local res, terr = self.router(req, self)
    if res or terr then return res, terr end
  end
  local r = table.remove(self.queue, 1)
  if not r then
    return nil, { kind = "local", message = "fake transport: no response queued", code = 0 }
  end
  if r.terr then return nil, r.terr end
  local headers = {}
  for k, v in pairs(r.headers or {}) do headers[k:lower()] = v end
  if req.sink and r.status >= 200 and r.status < 300 then
    local f = assert(io.open(req.sink, "wb"))
    f:write(r.body or "")
    f:close()
    return { status = r.status, headers = headers, bytes = #(r.body or ""), elapsed = 0 }
  end
  return { status = r.status, headers = headers, body = r.body or "", bytes = #(r.body or ""), elapsed = 0 }
end

-- Virtual time: sleeping advances the clock instantly, so retry specs run fast.
function Fake:sleep(s)
  self.slept = self.slept + s
  self.clock = self.clock + s
end

function Fake:now()
  return self.clock
end

return M
