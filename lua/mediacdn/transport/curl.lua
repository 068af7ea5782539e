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

local type, pairs, error, setmetatable = type, pairs, error, setmetatable

local M = { name = "curl" }

local Transport = {}
Transport.__index = Transport

local DEFAULT_FIELDS = {
  timeout = "number", connect_timeout = "number", stall_timeout = "number",
  cainfo = "string", max_body = "number",
}

--- A new transport object.
function M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("transport.curl.new: opts must be a table", 2)
  end
  local defaults, any = {}, false
  for k, ty in pairs(DEFAULT_FIELDS) do
    local v = opts and opts[k]
    if v ~= nil then
      if type(v) ~= ty then
        error(("transport.curl.new: opts.%s must be a %s"):format(k, ty), 2)
      end
      defaults[k] = v
      any = true
    end
  end
  return setmetatable({ name = "curl", defaults = any and defaults or nil }, Transport)
end

-- req with the transport's defaults filled in (a copy only when needed).
local function with_defaults(self, req)
  local d = self.defaults
  if not d then return req end
  local copy
  for k, v in pairs(d) do
    if req[k] == nil then
      if not copy then
        copy = {}
        for rk, rv in pairs(req) do copy[rk] = rv end
      end
      copy[k] = v
    end
  end
  return copy or req
end

--- Perform req: res | nil, terr. Yields inside a loop, blocks outside.
function Transport:request(req)
  if type(req) ~= "table" then error("transport:request: req must be a table", 2) end
  req = with_defaults(self, req)
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
