-- sandbox.sv.reply: SpareVideos response bodies. The API answers HTTP 200 with a
-- JSON envelope, {"status":"success",...} or {"status":"error","error":N,"message":..},
-- written as PHP's json_encode does (keys in order, "/" escaped as "\/").

local json = require "sandbox.json"

local gsub = string.gsub

local reply = {}

-- the labels of the documented codes (seed 003)
reply.labels = {
  [401] = "Not authorized", [403] = "Forbidden", [404] = "Not found", [500] = "Internal Error",
  [501] = "Service not available", [1000] = "Generic error", [10000] = "Upload not executed",
  [10001] = "Fileserver process error", [10002] = "Upload not valid", [100030] = "File not converted",
  [100031] = "File already converted", [10004] = "Internal system error",
  [10005] = "Service availability error", [10006] = "Service limits exceeded",
}

local function php_json(value)
  return (gsub(json.encode(value), "/", "\\/"))
end
reply.php_json = php_json

-- success: fields (a table) written in `order` after "status"
function reply.ok(fields, order)
  local t, keys = { status = "success" }, { "status" }
  for _, k in ipairs(order or {}) do
    t[k] = fields[k]
    keys[#keys + 1] = k
  end
  return { status = 200, headers = { ["content-type"] = "application/json" }, body = php_json(json.ordered(t, keys)) }
end

-- error envelope; message defaults to the code's label
function reply.fail(code, message)
  local body = json.ordered({ status = "error", error = code, message = message or reply.labels[code] or "Error" },
    { "status", "error", "message" })
  return { status = 200, headers = { ["content-type"] = "application/json" }, body = php_json(body) }
end

function reply.text(status, text, ctype)
  return { status = status, headers = { ["content-type"] = ctype or "text/plain; charset=utf-8" }, body = text }
end

return reply
