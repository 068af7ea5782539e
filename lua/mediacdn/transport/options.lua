--- mediacdn.transport.options: the transport-level defaults every transport
-- takes in new(opts): values for the req fields timeout, connect_timeout,
-- stall_timeout, cainfo and max_body that a request without its own gets.
-- (The library's own defaults for unset fields come from core.defaults, in C.)
--
--   local defaults = options.check(opts, "transport.curl.new")  -- raises on misuse
--   req = options.apply(defaults, req)   -- a copy only when something is filled in
local args = require "mediacdn.args"

local type, pairs, error = type, pairs, error

local M = {}

local FIELDS = {
  timeout = "number", connect_timeout = "number", stall_timeout = "number",
  cainfo = "string", max_body = "number",
}

--- The defaults in opts (nil when none). Raises, naming the option, on a
-- wrong type; other keys are left to the transport.
function M.check(opts, where)
  if opts ~= nil and type(opts) ~= "table" then
    error(where .. ": opts must be a table", 3)
  end
  local defaults, any = {}, false
  for k, ty in pairs(FIELDS) do
    local v = opts and opts[k]
    if v ~= nil then
      if type(v) ~= ty then
        error(("%s: opts.%s must be a %s"):format(where, k, ty), 3)
      end
      -- what the binding would refuse at the first request, refused here
      if k == "cainfo" then args.local_path(where, "opts.cainfo", v, 4)
      elseif k == "max_body" then args.number(where, "opts.max_body", v, 1, nil, false, nil, 4)
      else args.number(where, "opts." .. k, v, 0, 1e9, false, nil, 4) end
      defaults[k] = v
      any = true
    end
  end
  return any and defaults or nil
end

--- req with the defaults filled in where it has no value of its own; the
-- caller's table is never modified.
function M.apply(defaults, req)
  if not defaults then return req end
  local copy
  for k, v in pairs(defaults) do
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

return M
