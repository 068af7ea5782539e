--- mediacdn.transport.curl: the libcurl transport (docs/internals.md).
--
--   local t = require("mediacdn.transport.curl").new{ timeout = 30, cainfo = nil }
--   local res, terr = t:request{ method = "GET", url = "https://..." }
--
-- Outside a loop each transport object performs blocking transfers on its own
-- core.easy() handle (so consecutive requests reuse the connection). Inside
-- mediacdn.loop, request() hands the transfer to the loop's multi handle and
-- the calling task yields until it ends; sleep() yields likewise.
-- opts holds defaults for the req fields timeout, connect_timeout,
-- stall_timeout, cainfo and max_body (a req's own value wins).
local core = require "mediacdn.core"
local loop = require "mediacdn.loop"
local options = require "mediacdn.transport.options"

local type, error, setmetatable = type, error, setmetatable

local M = { name = "curl" }

local Transport = {}
Transport.__index = Transport

--- A new transport object.
function M.new(opts)
  return setmetatable({ name = "curl", defaults = options.check(opts, "transport.curl.new") },
    Transport)
end

--- Perform req: res | nil, terr. Yields inside a loop, blocks outside.
function Transport:request(req)
  if type(req) ~= "table" then error("transport:request: req must be a table", 2) end
  req = options.apply(self.defaults, req)
  if loop.current() then return loop.request(req) end
  local easy = self.easy
  if not easy then
    easy = core.easy()
    self.easy = easy
  end
  local res, terr = easy:perform(req) -- not a tail call: errors name 'perform'
  return res, terr
end

--- Sleep: yields inside a loop, blocks outside.
function Transport:sleep(seconds)
  return loop.sleep(seconds)
end

--- Wall clock, epoch seconds as a float.
function Transport:now()
  return core.now()
end

--- Release the blocking handle (idempotent; the object stays usable).
function Transport:close()
  local easy = self.easy
  self.easy = nil
  if easy then easy:close() end
end

Transport.__close = Transport.close

return M
