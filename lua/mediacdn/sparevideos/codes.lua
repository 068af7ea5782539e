--- SpareVideos answers → engine verdicts (sparevideos-api.md §3 and §7), and the
-- server clock read from the Date header (for skew-corrected token expiry).
--
-- The API answers HTTP 200 with {"status":"error","error":N,"message":...}; the
-- numeric code decides the error kind, whether the call is retried, and whether a
-- fresh token is signed first. A body that is not such an envelope leaves the
-- decision to the HTTP status (the policy core's usual rules).
local json_decode = require("mediacdn.core").json_decode

local type, tonumber, tostring, floor = type, tonumber, tostring, math.floor

local M = {}

--[[
code -> { kind, retryable, reauth, safe, label }
  retryable  the engine retries it (idempotent calls, or any call when `safe`)
  safe       retrying cannot repeat an effect: the upload codes, where the next
             attempt starts a new upload slot (a fresh initiate)
  reauth     re-sign once (with the clock skew learned from Date) and replay
]]
local CODES = {
  [401] = { kind = "auth", reauth = true, label = "Not authorized" },
  [403] = { kind = "forbidden", label = "Forbidden" },
  [404] = { kind = "not_found", label = "Not found" },
  [500] = { kind = "transient", retryable = true, label = "Internal Error" },
  [501] = { kind = "transient", retryable = true, label = "Service not available" },
  [1000] = { kind = "client", label = "Generic error" },
  [10000] = { kind = "transient", retryable = true, safe = true, label = "Upload not executed" },
  [10001] = { kind = "transient", retryable = true, safe = true, label = "Fileserver process error" },
  [10002] = { kind = "client", label = "Upload not valid" },
  [10004] = { kind = "transient", retryable = true, safe = true, label = "Internal system error" },
  [10005] = { kind = "transient", retryable = true, safe = true, label = "Service availability error" },
  [10006] = { kind = "forbidden", label = "Service limits exceeded" },
  [100030] = { kind = "conflict", label = "File not converted" },
  [100031] = { kind = "conflict", label = "File already converted" },
}
M.CODES = CODES

M.NOT_CONVERTED = 100030
M.ALREADY_CONVERTED = 100031

--- The envelope of a JSON body: doc, status ("success" | "error" | nil).
function M.envelope(body)
  if type(body) ~= "string" or body == "" then return nil end
  local doc = json_decode(body)
  if type(doc) ~= "table" then return nil end
  return doc, type(doc.status) == "string" and doc.status or nil
end

--- The verdict for an error envelope (doc.status == "error"). `upload` marks the
-- file-server POST, whose retryable codes restart from a fresh initiate.
function M.verdict(doc, upload)
  local code = tonumber(doc.error)
  local c = code and CODES[code]
  local message = type(doc.message) == "string" and doc.message ~= "" and doc.message
    or (c and c.label) or ("error " .. tostring(doc.error))
  message = message:gsub("%s+", " ")
  if not c then
    -- an undocumented code: surfaced, never retried
    return { kind = "client", retryable = false, code = code, message = message }
  end
  return {
    kind = c.kind, retryable = c.retryable == true, reauth = c.reauth == true,
    safe = (upload and c.safe) == true, code = code, message = message,
  }
end

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8,
  Sep = 9, Oct = 10, Nov = 11, Dec = 12 }

-- days since 1970-01-01 of a civil date (proleptic Gregorian)
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- Epoch seconds of an HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT"), or nil.
function M.http_date(s)
  if type(s) ~= "string" then return nil end
  local d, mon, y, h, mi, sec = s:match("^%a+,%s+(%d%d?)%s+(%a%a%a)%s+(%d%d%d%d)%s+(%d%d):(%d%d):(%d%d)%s+GMT$")
  local m = MONTHS[mon or ""]
  if not m then return nil end
  return days_from_civil(tonumber(y), m, tonumber(d)) * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
end

return M
