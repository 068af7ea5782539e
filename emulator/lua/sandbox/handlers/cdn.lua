-- sandbox.handlers.cdn: GET /cdn/<path>, the public file URL (what Sirv serves
-- from <alias>.sirv.com). postFilesJwt URLs point here; a `jwt` query argument
-- is checked for expiry and for naming this file.

local fs = require "sandbox.fs"
local http = require "sandbox.http"
local json = require "sandbox.json"
local util = require "sandbox.util"

local ngx = ngx
local type = type

local cdn = {}

function cdn.handle(method, uri)
  if method ~= "GET" and method ~= "HEAD" then
    return http.boom(405, "Method not allowed")
  end
  local path = fs.normalize(uri:sub(5))
  local n = path and fs.get(path)
  if not n or n.dir then return http.not_found_file(path or uri) end
  local token = ngx.var.arg_jwt
  if token then
    local body = token:match("^[%w%-_]+%.([%w%-_]+)%.[%w%-_]+$")
    local claims = body and json.decode(util.b64url_decode(body) or "")
    if type(claims) ~= "table" then return http.boom(403, "Invalid token") end
    if type(claims.exp) == "number" and util.now() >= claims.exp then
      return http.boom(403, "Expired token")
    end
    if claims.aud and claims.aud ~= path then return http.boom(403, "Token is for another file") end
  end
  if util.extension(n.name) == ".spin" then
    require("sandbox.handlers.account").spin_view(path, ngx.var.http_referer, ngx.var.http_user_agent)
  end
  return require("sandbox.handlers.files").serve(n)
end

return cdn
