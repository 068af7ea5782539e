-- sandbox.auth: POST /v2/token and the bearer-token check on every other /v2 call.
-- Tokens are HS256 JWTs signed with a per-process random key (config.signing_key);
-- /_sandbox/reset rotates the key, which invalidates every token handed out.

local config = require "sandbox.config"
local jwt = require "sandbox.jwt"
local json = require "sandbox.json"
local util = require "sandbox.util"
local http = require "sandbox.http"

local ngx = ngx
local floor, type = math.floor, type

local auth = {}

auth.account_id = "sandboxaccount0000000000000000000"

auth.scope = {
  "account:read", "account:write", "user:read", "user:write", "billing:read",
  "billing:write", "files:read", "files:write", "videos", "images",
}

local function expired_response()
  return http.boom(401, "Expired token", { attributes = { error = "Expired token" } },
    { ["www-authenticate"] = 'Token error="Expired token"' })
end

auth.expired_response = expired_response

function auth.missing_response()
  return http.boom(401, "Missing authentication", nil, { ["www-authenticate"] = "Token" })
end

-- body already validated against the schema
function auth.issue(body)
  if body.clientId ~= config.client_id or body.clientSecret ~= config.client_secret then
    return http.boom(401, "Invalid credentials")
  end
  local ttl = body.expiresIn or 1200
  local now = floor(util.now())
  local payload = {
    clientId = body.clientId,
    clientName = "Sandbox client",
    scope = json.array(util.copy(auth.scope)),
    iat = now,
    exp = now + ttl,
    aud = auth.account_id,
    jti = util.random_id(16),
  }
  local token = jwt.sign(payload, config.signing_key)
  return http.json(200, json.ordered({ token = token, expiresIn = ttl, scope = json.array(util.copy(auth.scope)) },
    { "token", "expiresIn", "scope" }))
end

-- check the Authorization header: payload | nil, response
function auth.check()
  local h = ngx.var.http_authorization
  if not h or h == "" then
    return nil, auth.missing_response()
  end
  local token = h:match("^[Bb]earer%s+(%S+)%s*$")
  if not token then
    return nil, auth.missing_response()
  end
  local payload = jwt.verify(token, config.signing_key)
  if not payload or type(payload.exp) ~= "number" then
    return nil, expired_response()
  end
  if util.now() + (config.token_clock_offset or 0) >= payload.exp then
    return nil, expired_response()
  end
  return payload
end

function auth.rotate()
  config.signing_key = config.random_bytes(32)
end

return auth
