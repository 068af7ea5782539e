-- sparevideos_uploads.lua: let browsers upload straight to SpareVideos while the
-- private key stays on this server.
--
--   GET  /sv/slot     -> {"upload_url": ..., "progress_url": ..., "ref": ...}
--        an upload slot (this server signs and sends upload/initiate); the
--        browser POSTs its multipart `file` part to upload_url and gets {"code"}
--   GET  /sv/sign     -> {"initiate_url": ...}
--        alternatively a signed upload/initiate URL, valid for 10 minutes, that
--        the browser calls itself (the token signs only that request)
--   POST /sv/convert?code=C -> {"code": ..., "already": false}
--        step two of the two-step workflow: the browser reports the code, you
--        store it (here: a shared dict stands in for your database), then ask
--        for the conversion
--
-- nginx.conf (next to this file): `location /sv/ { content_by_lua_file
-- sparevideos_uploads.lua; }`, `lua_shared_dict sparevideos_codes 1m;` and the
-- env lines for SPAREVIDEOS_PUBLIC_KEY / _PRIVATE_KEY / _BASE_URL.
local sparevideos = require "mediacdn.sparevideos"
local json_encode = require("mediacdn").json_encode

local function reply(status, value)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Cache-Control"] = "no-store"
  ngx.say(json_encode(value))
  return ngx.exit(status)
end

local function failed(err)
  -- err is a mediacdn.Error: kind, code (SpareVideos' number), never a secret
  local status = (err.kind == "auth" or err.kind == "forbidden") and 502
    or err.kind == "not_found" and 404 or err.kind == "client" and 400 or 503
  return reply(status, { error = tostring(err), kind = err.kind, code = err.code })
end

-- one client per worker: created on the first request (its transport is chosen
-- per call, so cosockets are used here and nothing blocks the worker)
local sv = package.loaded["sparevideos_uploads.client"]
if not sv then
  sv = sparevideos.new{ retry = { attempts = 3 } }
  package.loaded["sparevideos_uploads.client"] = sv
end

local uri, method = ngx.var.uri, ngx.req.get_method()

if uri == "/sv/slot" and method == "GET" then
  local slot, err = sv:initiate()
  if not slot then return failed(err) end
  return reply(200, { upload_url = slot.upload_url, progress_url = slot.progress_url, ref = slot.ref })
elseif uri == "/sv/sign" and method == "GET" then
  local pk = os.getenv("SPAREVIDEOS_PUBLIC_KEY")
  local token = sparevideos.sign({
    { "algo", "sha256" }, { "method", "upload" }, { "action", "initiate" },
    { "public_key", pk }, { "expires", math.floor(ngx.time()) + 600 },
  }, os.getenv("SPAREVIDEOS_PRIVATE_KEY"))
  return reply(200, { initiate_url = sv.base_url .. "/upload/initiate?token=" .. ngx.escape_uri(token) })
elseif uri == "/sv/convert" and method == "POST" then
  local code = ngx.var.arg_code
  if not code or not code:match("^%d+%-%w+$") then return reply(400, { error = "give ?code=<file code>" }) end
  local db = ngx.shared.sparevideos_codes
  if db then db:set(code, "stored") end          -- step 1: your record first
  local ok, already_or_err = sv:convert(code)    -- step 2: now it may be billed
  if not ok then return failed(already_or_err) end
  if db then db:set(code, "converting") end
  return reply(200, { code = code, already = already_or_err })
end
return reply(404, { error = "no such endpoint" })
