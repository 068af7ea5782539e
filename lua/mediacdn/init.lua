--- mediacdn: clients for the Sirv REST API and SpareVideos, on a C core.
-- require "mediacdn" gives the shared pieces: version, JSON (null, array_mt),
-- the error type and the coroutine loop.
local core = require "mediacdn.core"

local M = {
  version = core.version,    -- one version string: MC_VERSION in csrc/core/mc_defaults.h
  null = core.null,          -- JSON null
  array_mt = core.array_mt,  -- marks a table as a JSON array (so {} encodes as [])
}

--- Decode JSON text: objects → tables, arrays → tables with array_mt, null → mediacdn.null.
-- @return value, or nil and a message for invalid, truncated, too deep or too large input
function M.json_decode(s, max_bytes)
  if type(s) ~= "string" then error("mediacdn.json_decode: argument #1 must be a string", 2) end
  return core.json_decode(s, max_bytes)
end

--- Encode a Lua value as JSON; returns the text, or nil and a message.
function M.json_encode(v)
  return core.json_encode(v)
end

--- Mark a table as a JSON array (returns it).
function M.array(t)
  return setmetatable(t or {}, core.array_mt)
end

setmetatable(M, {
  __index = function(t, k)
    -- loaded lazily so plain scripts that never use them pay nothing
    if k == "loop" or k == "errors" then
      local mod = require("mediacdn." .. k)
      rawset(t, k, mod)
      return mod
    end
  end,
})

return M
