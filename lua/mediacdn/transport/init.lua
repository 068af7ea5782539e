--- Transport selection. A transport moves bytes for a request descriptor
-- (see docs/internals.md); the clients never talk to sockets themselves.
local M = {}

--- The transport for where the code runs: `resty` inside nginx phases that allow
-- cosockets, `curl` everywhere else. In an nginx phase without cosockets it raises
-- an error naming the phase.
function M.default(opts)
  if rawget(_G, "ngx") and ngx.get_phase then
    local phase = require "mediacdn.transport.phase"
    local ok = phase.cosockets_allowed()
    if ok then return require("mediacdn.transport.resty").new(opts) end
    if ngx.get_phase() ~= "init" and ngx.get_phase() ~= "init_worker" then
      error(phase.unavailable_error(), 3)
    end
  end
  return require("mediacdn.transport.curl").new(opts)
end

return M
