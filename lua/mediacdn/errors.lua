--- Structured errors: every operational failure is returned as `nil, err`
-- where err is a mediacdn.Error table (kind, status, message, retryable, ...).
local M = {}

local KINDS = {
  auth = true, forbidden = true, not_found = true, conflict = true, rate_limited = true,
  transient = true, client = true, protocol = true, ["local"] = true, timeout = true,
}
M.KINDS = KINDS

local Error = {}
Error.__index = Error
Error.__name = "mediacdn.Error"

-- One readable line: "sirv getFilesStat: not_found (404): No such file: /x"
function Error.__tostring(e)
  local parts = {}
  if e.service then parts[#parts + 1] = e.service end
  if e.operation then parts[#parts + 1] = e.operation end
  local head = table.concat(parts, " ")
  local s = (head ~= "" and (head .. ": ") or "") .. tostring(e.kind)
  if e.status then s = s .. " (" .. tostring(e.status) .. ")" end
  if e.message and e.message ~= "" then s = s .. ": " .. e.message end
  if e.page then s = s .. " [page " .. tostring(e.page) .. "]" end
  if type(e.reset_at) == "number" then s = s .. string.format(" [reset at %.0f]", math.ceil(e.reset_at)) end
  return s
end

--- Create an error. fields.kind must be one of the documented kinds.
function M.new(fields)
  assert(KINDS[fields.kind], "unknown error kind: " .. tostring(fields.kind))
  if fields.retryable == nil then fields.retryable = false end
  fields.message = fields.message or fields.kind
  return setmetatable(fields, Error)
end

--- The error for a success whose body is not the documented JSON object (e.g. empty).
function M.not_a_page(service, operation)
  return M.new{ kind = "protocol", service = service, operation = operation,
    message = "the server answered without the expected JSON object" }
end

function M.is(v)
  return getmetatable(v) == Error
end

--- Remove every occurrence of the given secrets (strings) from s.
function M.redact(s, secrets)
  if type(s) ~= "string" then return s end
  for _, secret in ipairs(secrets) do
    if type(secret) == "string" and #secret >= 4 then
      local i = 1
      while true do
        local a, b = s:find(secret, i, true)
        if not a then break end
        s = s:sub(1, a - 1) .. "[REDACTED]" .. s:sub(b + 1)
        i = a + 10
      end
    end
  end
  return s
end

-- Redact every string in a table and the tables it holds (keys too), in place.
local function redact_table(t, secrets, seen)
  if seen[t] then return end
  seen[t] = true
  local renamed = {}
  for k, v in pairs(t) do
    if type(v) == "string" then t[k] = M.redact(v, secrets)
    elseif type(v) == "table" then redact_table(v, secrets, seen) end
    if type(k) == "string" then
      local rk = M.redact(k, secrets)
      if rk ~= k then renamed[k] = rk end
    end
  end
  for k, rk in pairs(renamed) do t[rk], t[k] = t[k], nil end
end

--- Redact a whole error in place (message, details and every nested string); returns it.
function M.redact_error(e, secrets)
  redact_table(e, secrets, {})
  return e
end

return M
