--- Image-URL methods of the Sirv client, over mediacdn.sirv.url:
--   sirv:url(path, options)     -> URL on the client's image base (no I/O)
--   sirv:image(path [, options]) -> the chaining builder on that base
--   sirv:signed_url(path, opts) -> url, token | nil, err
--       via = "local": the JWT is signed here (url.signed; no API call);
--       via = "api":   Sirv mints it (postFilesJwt; one API call, a bearer token).
--       Default: "local" when the client holds a jwt_key, else "api".
-- Client options read by configure (from mediacdn.sirv.new):
--   alias = "ACCOUNT"  -> image base https://ACCOUNT.sirv.com (also sent to postFilesJwt)
--   cdn_base = "https://img.example.com"  -> image base (a custom domain; wins over alias)
--   jwt_key = "..."    -> the protected folder's key for local signing (kept in a closure,
--                         never in an error, event or tostring)
-- Installed by mediacdn.sirv: configure(client, opts) in new(), install(Sirv) once.
local url = require "mediacdn.sirv.url"
local errors = require "mediacdn.errors"

local type, error, pairs, next, floor = type, error, pairs, next, math.floor

local M = {}

-- Read and check the client options alias, cdn_base and jwt_key.
function M.configure(self, opts)
  local alias, base, key = opts.alias, opts.cdn_base, opts.jwt_key
  if alias ~= nil and (type(alias) ~= "string" or not alias:match("^[%w][%w%-]*$")) then
    error("mediacdn.sirv.new: option 'alias' must be a Sirv account alias like 'demo'", 3)
  end
  if base ~= nil then
    if type(base) ~= "string" or not base:match("^https?://[^/?#%s]") or base:find("[?#%s]") then
      error("mediacdn.sirv.new: option 'cdn_base' must be an http(s) URL like 'https://img.example.com'", 3)
    end
    base = base:gsub("/+$", "")
  end
  if key ~= nil and (type(key) ~= "string" or key == "") then
    error("mediacdn.sirv.new: option 'jwt_key' must be a non-empty string", 3)
  end
  self.alias = alias
  self.cdn_base = base or (alias and url.alias_base(alias)) or nil
  if key then self._jwt_key = function() return key end end
end

-- The client's image base, or a raise naming the method.
local function need_base(self, fn)
  if not self.cdn_base then
    error(("sirv:%s: the client has no image base: pass alias = 'ACCOUNT' or cdn_base = 'https://...' "
      .. "to mediacdn.sirv.new"):format(fn), 3)
  end
  return self.cdn_base
end

--[[
The URL postFilesJwt returned, made safe to use: Sirv's example answer has the
file name raw (spaces and all) before "?jwt=". When the part before the token
ends with the file name (raw, or already encoded), that name is replaced by the
encoded path and the origin by the client's cdn_base when it has one; the query
(the token and Sirv's insecure parameters) is kept as sent. Any other shape is
returned as it came. Returns url, token.
]]
local function api_url(self, returned, filename)
  local s, tok
  local init = 1
  while true do -- the last "?jwt=<token>" (a raw file name could hold "?")
    local a, _, t = returned:find("%?jwt=([%w%-_]+%.[%w%-_]+%.[%w%-_]+)", init)
    if not a then break end
    s, tok, init = a, t, a + 1
  end
  if not s then return returned end
  local head, rest = returned:sub(1, s - 1), returned:sub(s + 1)
  local enc = url.path(filename)
  local origin
  if head:sub(-#filename) == filename then origin = head:sub(1, -#filename - 1)
  elseif head:sub(-#enc) == enc then origin = head:sub(1, -#enc - 1)
  else return returned, tok end
  return (self.cdn_base or origin) .. enc .. "?" .. rest, tok
end

-- sirv:signed_url through postFilesJwt.
local function signed_via_api(self, path, opts, key)
  local ttl = opts.expires_in
  if type(ttl) ~= "number" or ttl ~= ttl or ttl < 1 or ttl == math.huge then
    error("sirv:signed_url: opts.expires_in must be a number of seconds >= 1", 3)
  end
  if opts.aud ~= nil or opts.now ~= nil or opts.path_encoded then
    error("sirv:signed_url: opts.aud, opts.now and opts.path_encoded need via = 'local'", 3)
  end
  local sp, ip = opts.secure_params, opts.insecure_params
  if sp ~= nil and type(sp) ~= "table" then error("sirv:signed_url: opts.secure_params must be a table", 3) end
  if ip ~= nil and type(ip) ~= "table" then error("sirv:signed_url: opts.insecure_params must be a table", 3) end
  local strict = opts.strict ~= false
  local filename = path:sub(1, 1) == "/" and path or ("/" .. path)
  url.path(filename) -- the same path checks as a local URL (UTF-8, no NUL)
  local body = { filename = filename, key = key, expiresIn = floor(ttl), alias = self.alias }
  if sp and next(sp) then body.secureParams = url.params(sp, strict) end
  if ip and next(ip) then body.insecureParams = url.params(ip, strict) end
  local res, err = self:call("postFilesJwt", body)
  if not res then return nil, errors.redact_error(err, { key }) end
  if type(res) ~= "table" or type(res.url) ~= "string" then
    return nil, errors.new{ kind = "protocol", service = "sirv", operation = "postFilesJwt",
      message = "postFilesJwt answered without a url" }
  end
  return api_url(self, res.url, filename)
end

function M.install(Sirv)
  --- The URL of an image on the client's image base with Sirv options (see url.build).
  function Sirv:url(path, options)
    return url._build_as("sirv:url", 2, need_base(self, "url"), path, options)
  end

  --- The chaining builder on the client's image base (see url.image).
  function Sirv:image(path, options)
    return url.image(need_base(self, "image"), path, options)
  end

  --- A protected (JWT) URL: locally signed or minted by Sirv (see the module comment).
  -- opts: expires_in (required), key (else the client's jwt_key), secure_params,
  -- insecure_params, via = "local"|"api", strict; local only: aud, now, path_encoded.
  function Sirv:signed_url(path, opts)
    if type(path) ~= "string" then error("sirv:signed_url: argument #1 (path) must be a string", 2) end
    if type(opts) ~= "table" then error("sirv:signed_url: argument #2 (opts) must be a table with expires_in", 2) end
    local key = opts.key
    if key == nil and self._jwt_key then key = self._jwt_key() end
    if type(key) ~= "string" or key == "" then
      error("sirv:signed_url: a key is required: opts.key or the client option jwt_key", 2)
    end
    local via = opts.via or (self._jwt_key and "local" or "api")
    if via == "local" then
      local o = {}
      for k, v in pairs(opts) do o[k] = v end
      o.key, o.via = key, nil
      return url.signed(need_base(self, "signed_url"), path, o)
    elseif via == "api" then
      return signed_via_api(self, path, opts, key)
    end
    error("sirv:signed_url: opts.via must be 'local' or 'api'", 2)
  end
end

return M
