-- sandbox.util: time, ids, encodings and small string helpers shared by the handlers.

local ngx = ngx
local floor, random, format = math.floor, math.random, string.format
local byte, char, sub, gsub, find = string.byte, string.char, string.sub, string.gsub, string.find
local concat, tonumber, type = table.concat, tonumber, type
local pairs, setmetatable, getmetatable = pairs, setmetatable, getmetatable
local os_date = os.date

local util = {}

-- wall clock, seconds (float), fresh
function util.now()
  ngx.update_time()
  return ngx.now()
end

-- ISO 8601 UTC with milliseconds: 2020-07-17T13:31:39.450Z
function util.iso(t)
  local s = floor(t)
  local ms = floor((t - s) * 1000 + 0.5)
  if ms >= 1000 then s, ms = s + 1, ms - 1000 end
  return os_date("!%Y-%m-%dT%H:%M:%S", s) .. format(".%03dZ", ms)
end

-- HTTP date: Sun, 06 Nov 1994 08:49:37 GMT
function util.http_date(t)
  return ngx.http_time(floor(t))
end

-- days since 1970-01-01 for a civil date (proleptic Gregorian)
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

-- parse an ISO 8601 date or date-time; returns epoch seconds (float) or nil
function util.parse_iso(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then
    local n = tonumber(s)
    if n then return n > 1e11 and n / 1000 or n end  -- epoch ms or s
    return nil
  end
  local h, mi, se, frac, tz = 0, 0, 0, 0, nil
  if rest ~= "" then
    local hh, mm, tail = rest:match("^[T ](%d%d):(%d%d)(.*)$")
    if not hh then return nil end
    h, mi = tonumber(hh), tonumber(mm)
    local ss, tail2 = tail:match("^:(%d%d)(.*)$")
    if ss then se, tail = tonumber(ss), tail2 end
    local f, tail3 = tail:match("^[.,](%d+)(.*)$")
    if f then frac, tail = tonumber("0." .. f), tail3 end
    tz = tail
  end
  local t = days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400 + h * 3600 + mi * 60 + se + frac
  if tz and tz ~= "" and tz ~= "Z" then
    local sign, th, tm = tz:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    local off = tonumber(th) * 3600 + tonumber(tm) * 60
    if sign == "+" then t = t - off else t = t + off end
  end
  return t
end

local alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

-- random [A-Za-z0-9] id of length n
function util.random_id(n)
  local out = {}
  for i = 1, n or 32 do
    local k = random(1, 62)
    out[i] = sub(alnum, k, k)
  end
  return concat(out)
end

function util.hex(s)
  return (gsub(s, ".", function(c) return format("%02x", byte(c)) end))
end

function util.sha1_hex(s)
  return util.hex(ngx.sha1_bin(s))
end

function util.b64url(s)
  local e = ngx.encode_base64(s, true)
  return (gsub(e, "[+/]", { ["+"] = "-", ["/"] = "_" }))
end

function util.b64url_decode(s)
  if type(s) ~= "string" or find(s, "[^%w%-_]") then return nil end
  s = gsub(s, "[-_]", { ["-"] = "+", ["_"] = "/" })
  local pad = #s % 4
  if pad == 2 then s = s .. "==" elseif pad == 3 then s = s .. "=" elseif pad == 1 then return nil end
  return ngx.decode_base64(s)
end

-- percent-encode a path for use in a URL, keeping "/"
function util.url_path(p)
  return (gsub(p, "[^%w%-%._~/]", function(c) return format("%%%02X", byte(c)) end))
end

function util.url_escape(s)
  return (gsub(s, "[^%w%-%._~]", function(c) return format("%%%02X", byte(c)) end))
end

-- shallow copy
function util.copy(t)
  if type(t) ~= "table" then return t end
  local o = {}
  for k, v in pairs(t) do o[k] = v end
  return setmetatable(o, getmetatable(t))
end

-- deep copy (keeps metatables such as json.array_mt)
function util.deepcopy(t)
  if type(t) ~= "table" then return t end
  local o = {}
  for k, v in pairs(t) do o[k] = util.deepcopy(v) end
  return setmetatable(o, getmetatable(t))
end

-- base URL of the sandbox as the client reached it
function util.base_url()
  local host = ngx.var.http_host or ("127.0.0.1:" .. ngx.var.server_port)
  return ngx.var.scheme .. "://" .. host
end

-- extension with dot, lower-case: "/a/b.JPG" -> ".jpg"
function util.extension(name)
  local ext = name:match("(%.[^./]+)$")
  return ext and ext:lower() or ""
end

function util.basename(path)
  return path:match("([^/]*)$")
end

function util.dirname(path)
  local d = path:match("^(.*)/[^/]*$")
  if d == nil or d == "" then return "/" end
  return d
end

local mime_by_ext = {
  [".jpg"] = "image/jpeg", [".jpeg"] = "image/jpeg", [".png"] = "image/png", [".gif"] = "image/gif",
  [".webp"] = "image/webp", [".avif"] = "image/avif", [".tif"] = "image/tiff", [".tiff"] = "image/tiff",
  [".bmp"] = "image/bmp", [".svg"] = "image/svg+xml", [".heic"] = "image/heic", [".psd"] = "image/vnd.adobe.photoshop",
  [".mp4"] = "video/mp4", [".mov"] = "video/quicktime", [".webm"] = "video/webm", [".m4v"] = "video/x-m4v",
  [".avi"] = "video/x-msvideo", [".mkv"] = "video/x-matroska",
  [".mp3"] = "audio/mpeg", [".wav"] = "audio/wav",
  [".pdf"] = "application/pdf", [".zip"] = "application/zip", [".json"] = "application/json",
  [".spin"] = "application/json", [".view"] = "application/json", [".glb"] = "model/gltf-binary",
  [".txt"] = "text/plain", [".html"] = "text/html", [".css"] = "text/css", [".js"] = "application/javascript",
  [".csv"] = "text/csv", [".xml"] = "application/xml",
}

function util.mime_for(name)
  return mime_by_ext[util.extension(name)] or "application/octet-stream"
end

-- an epoch-seconds value as the start of its UTC day, in seconds
function util.day_start(t)
  return floor(t / 86400) * 86400
end

function util.trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

util.char = char

return util
