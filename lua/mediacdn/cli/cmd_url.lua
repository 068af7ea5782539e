--- mediacdn.cli.cmd_url: `mediacdn sirv url PATH [NAME=VALUE...]` prints a Sirv
-- image URL built by mediacdn.sirv.url (no request is sent, no API credentials
-- are needed): dynamic-imaging options, a srcset, or a protected (JWT) URL
-- signed locally with the folder's key.
--
-- The image base: --base URL, --alias NAME, env SIRV_CDN_BASE / SIRV_ALIAS, or the
-- profile's sirv_cdn_base / sirv_alias. The JWT key: env SIRV_JWT_KEY or the
-- profile's sirv_jwt_key (never an argument: it would show in `ps`).
-- Values "true"/"false" become booleans (a false flag is left out), plain numbers
-- numbers; every other value goes as text and the core checks it (w=40%, crop.type=face).
local url = require "mediacdn.sirv.url"
local config = require "mediacdn.cli.config"
local exit = require "mediacdn.cli.exit"

local ipairs, pairs, next, tonumber, tostring, pcall = ipairs, pairs, next, tonumber, tostring, pcall

local M = {}

-- "a,b,c" -> numbers; exit 2 naming the option when one is not a positive number.
local function numbers(s, opt)
  local out = {}
  for part in s:gmatch("[^,]+") do
    local n = tonumber(part)
    if not n or n <= 0 then exit.usage(("%s takes positive numbers separated by commas (got %s)"):format(opt, part)) end
    out[#out + 1] = n
  end
  if #out == 0 then exit.usage(opt .. " needs at least one number") end
  return out
end

-- The library's misuse message without its Lua prefix, as a usage error.
local function usage_from(err)
  local msg = tostring(err):gsub("^[^:]*:%d+: ", ""):gsub("^mediacdn%.sirv%.url%.%a+: ", "")
    :gsub("strict = false", "--no-strict")
  exit.usage(msg)
end

function M.url(ctx)
  local a = ctx.args
  local path = a.path
  if path:sub(1, 5) == "sirv:" then path = path:sub(6) end
  if path:sub(1, 1) ~= "/" then
    exit.usage(("image path %s must start with / (did you mean /%s?)"):format(path, path))
  end
  local options = {}
  for _, kv in ipairs(a.options) do
    local k, v = kv:match("^([^=]+)=(.*)$")
    if not k then exit.usage(("option %s must be NAME=VALUE (e.g. w=300, format=webp, crop.type=face)"):format(kv)) end
    if v == "true" then v = true elseif v == "false" then v = false
    elseif tonumber(v) and tostring(tonumber(v)) == v then v = tonumber(v) end -- "300" -> 300, not "007"
    options[k] = v
  end
  if a.no_strict then options.strict = false end
  if a.path_encoded then options.path_encoded = true end
  local v, secrets = config.resolve({ "sirv_cdn_base", "sirv_alias", "sirv_jwt_key" },
    { profile = a.profile, config = a.config })
  for _, s in ipairs(secrets) do ctx.secrets[#ctx.secrets + 1] = s end
  local base = a.base or (a.alias and url.alias_base(a.alias)) or v.sirv_cdn_base
    or (v.sirv_alias and url.alias_base(v.sirv_alias))
  if not base then
    exit.usage("no image base: give --alias NAME or --base URL (or set SIRV_ALIAS / SIRV_CDN_BASE)")
  end
  local ok, out, extra
  if a.sign then
    if a.srcset or a.dpr then exit.usage("--sign makes one URL: do not combine it with --srcset or --dpr") end
    local key = v.sirv_jwt_key
    if not key then
      exit.usage("--sign needs the protected folder's key: set SIRV_JWT_KEY (or sirv_jwt_key in the profile)")
    end
    local secure = {}
    for k, val in pairs(options) do if k ~= "strict" and k ~= "path_encoded" then secure[k] = val end end
    ok, out, extra = pcall(url.signed, base, path, { key = key, expires_in = a.expires_in or 300,
      secure_params = next(secure) and secure or nil, strict = options.strict, path_encoded = options.path_encoded })
  elseif a.srcset then
    ok, out = pcall(url.srcset, base, path, options, { widths = numbers(a.srcset, "--srcset") })
  elseif a.dpr then
    ok, out = pcall(url.srcset, base, path, options, { dpr = numbers(a.dpr, "--dpr") })
  else
    ok, out = pcall(url.build, base, path, options)
  end
  if not ok then usage_from(out) end
  local obj = { path = path, base = base }
  if a.srcset or a.dpr then obj.srcset = out else obj.url = out end
  if extra then obj.expires_in = a.expires_in or 300 end
  ctx.reporter:result(out, obj)
  return exit.OK
end

return M
