-- sandbox.sv.sign: the signed tokens of SpareVideos, checked as the real service
-- must check them (sparevideos-api.md §2): P "." H where P is the standard base64
-- (no padding) of a JSON object and H the lower-case hex HMAC-SHA256 of P under the
-- private key of the public_key it names. Also the opaque upload tokens that
-- /upload/initiate hands out (same shape, signed with the sandbox's own key).
--
-- This is an independent implementation (ngx base64 + the sandbox JSON decoder +
-- OpenSSL HMAC through sandbox.jwt): the client's C signer is checked against it.

local config = require "sandbox.config"
local json = require "sandbox.json"
local jwt = require "sandbox.jwt"
local util = require "sandbox.util"
local state = require "sandbox.sv.state"

local ngx = ngx
local type, floor, rep, gsub = type, math.floor, string.rep, string.gsub

local sign = {}

-- split and decode a token: payload, P, H | nil, reason
local function open(token)
  if type(token) ~= "string" or token == "" then return nil, "missing token" end
  local p, h = token:match("^([A-Za-z0-9+/]+)%.([0-9a-f]+)$")
  if not p or #h ~= 64 then return nil, "malformed token" end
  if #p % 4 == 1 then return nil, "malformed token" end
  local raw = ngx.decode_base64(p .. rep("=", (4 - #p % 4) % 4))
  if not raw then return nil, "malformed token" end
  local payload = json.decode(raw)
  if type(payload) ~= "table" or json.is_array(payload) then return nil, "malformed token" end
  return payload, p, h
end

local function hmac_hex(key, msg)
  return util.hex(jwt.hmac_sha256(key, msg))
end

-- constant-time comparison of two equal-length hex strings
local function same(a, b)
  if #a ~= #b then return false end
  local diff = 0
  for i = 1, #a do
    if a:byte(i) ~= b:byte(i) then diff = diff + 1 end
  end
  return diff == 0
end

--[[
Check an API token for (method, action): payload | nil, code, message.
401: missing/malformed, unknown public key, algo other than sha256, bad signature,
     expires missing / not an integer / in the past (SpareVideos clock).
403: a valid token signed for another method or action.
`key` ("GET /api/v1/me/file") records the signature seen, whatever the verdict.
]]
function sign.verify(token, method, action, key)
  local payload, p, h = open(token)
  local function verdict(code, message)
    state.record(key, h, payload and payload.expires, message or "ok")
    return nil, code, message
  end
  if not payload then return verdict(401, "Not authorized: " .. p) end
  if payload.algo ~= "sha256" then return verdict(401, "Not authorized: unsupported algo") end
  if type(payload.public_key) ~= "string" or payload.public_key ~= config.sv_public_key then
    return verdict(401, "Not authorized: unknown public key")
  end
  if not same(hmac_hex(config.sv_private_key, p), h) then
    return verdict(401, "Not authorized: invalid signature")
  end
  local exp = payload.expires
  if type(exp) ~= "number" or exp ~= floor(exp) then
    return verdict(401, "Not authorized: expires must be an integer")
  end
  if exp < state.now() then return verdict(401, "Not authorized: token expired") end
  if payload.method ~= method or payload.action ~= action then
    return verdict(403, "Forbidden: the token is not valid for this action")
  end
  state.record(key, h, exp, "ok")
  return payload
end

-- an opaque upload token for ref (expires with it)
function sign.upload_token(ref, expires, now)
  local body = json.encode(json.ordered({
    algo = "sha256", method = "upload", public_key = config.sv_public_key, expires = floor(expires),
    upload = json.ordered({ path = "/fileservers/upload", ref = ref, time = floor(now) }, { "path", "ref", "time" }),
  }, { "algo", "method", "public_key", "expires", "upload" }))
  local p = gsub(ngx.encode_base64(body), "=+$", "")
  return p .. "." .. hmac_hex(config.signing_key, p)
end

-- check an upload token against ref: true | nil, message
function sign.check_upload(token, ref)
  local payload, p, h = open(token)
  if not payload then return nil, p end
  if not same(hmac_hex(config.signing_key, p), h) then return nil, "invalid upload token" end
  if type(payload.upload) ~= "table" or payload.upload.ref ~= ref then return nil, "the token is for another upload" end
  if type(payload.expires) ~= "number" or payload.expires < state.now() then return nil, "upload token expired" end
  return true
end

return sign
