--- mediacdn.cli.config: credentials and settings for the command line, from the
-- environment or a profile file.
--
-- The file (default ~/.config/mediacdn/config; --config PATH or env
-- MEDIACDN_CONFIG elsewhere) is INI-like and must be private (mode 0600: no
-- group or other bits), as ssh insists for its keys:
--
--   [default]
--   sirv_client_id = ...
--   sirv_client_secret = ...
--   sirv_base_url = https://api.sirv.com
--   sirv_alias = acme                  (image URLs: https://acme.sirv.com)
--   sirv_cdn_base, sirv_jwt_key        (a custom image domain; the key for signed URLs)
--   sparevideos_public_key, sparevideos_private_key, sparevideos_base_url
--
-- Precedence: with --profile NAME (or env MEDIACDN_PROFILE) the profile's values
-- win and the environment fills what it lacks; without, the environment wins and
-- the [default] profile (read only when the environment lacks something) fills in.
--
--   config.path(opts) -> file path
--   config.parse(text, name) -> profiles | nil, "name:3: message"
--   config.load(path) -> profiles | nil (no file); raises exit.usage on an unsafe
--                        or malformed file
--   config.resolve(keys, opts) -> values, secrets   (keys: a list of M.KEYS names)
--   config.save(path, profiles)  -- private directory and file, written atomically
local lfs = require "lfs"
local exit = require "mediacdn.cli.exit"

local io_open, os_getenv, os_remove, os_rename, os_execute = io.open, os.getenv, os.remove, os.rename, os.execute
local pairs, ipairs, tostring = pairs, ipairs, tostring
local concat, sort = table.concat, table.sort

local M = {}

--- Every setting: its name in the file, its environment variable, how
-- `mediacdn configure` asks for it, and whether it is a secret (never printed).
M.KEYS = {
  { key = "sirv_client_id", env = "SIRV_CLIENT_ID", prompt = "Sirv client ID" },
  { key = "sirv_client_secret", env = "SIRV_CLIENT_SECRET", prompt = "Sirv client secret", secret = true },
  { key = "sirv_base_url", env = "SIRV_BASE_URL", prompt = "Sirv API URL", default = "https://api.sirv.com" },
  { key = "sirv_alias", env = "SIRV_ALIAS", prompt = "Sirv account alias for image URLs (ALIAS.sirv.com)" },
  { key = "sirv_cdn_base", env = "SIRV_CDN_BASE", prompt = "Sirv image domain, if custom (https://img.example.com)" },
  { key = "sirv_jwt_key", env = "SIRV_JWT_KEY", prompt = "JWT key of a protected folder (sirv url --sign)",
    secret = true },
  { key = "shared_redis", env = "MEDIACDN_REDIS_URL",
    prompt = "Redis URL shared by a fleet (redis://[:password@]host:port/db), if any", secret = true },
  { key = "fleet_size", env = "MEDIACDN_FLEET_SIZE",
    prompt = "Processes sharing the account (Redis down: each gets 1/N)" },
  { key = "sparevideos_public_key", env = "SPAREVIDEOS_PUBLIC_KEY", prompt = "SpareVideos public key" },
  { key = "sparevideos_private_key", env = "SPAREVIDEOS_PRIVATE_KEY", prompt = "SpareVideos private key",
    secret = true },
  { key = "sparevideos_base_url", env = "SPAREVIDEOS_BASE_URL", prompt = "SpareVideos API URL",
    default = "https://devs.sparevideos.com/api/v1" },
}

local BY_NAME = {}
for _, k in ipairs(M.KEYS) do BY_NAME[k.key] = k end
M.BY_NAME = BY_NAME

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- The profile file's path.
function M.path(opts)
  local getenv = opts and opts.getenv or os_getenv
  if opts and opts.config then return opts.config end
  local p = getenv("MEDIACDN_CONFIG")
  if p and p ~= "" then return p end
  local xdg = getenv("XDG_CONFIG_HOME")
  if xdg and xdg ~= "" then return xdg .. "/mediacdn/config" end
  return (getenv("HOME") or ".") .. "/.config/mediacdn/config"
end

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

--- Parse the file's text: {name = {key = value}}, or nil, "name:line: message".
function M.parse(text, name)
  local profiles, current = {}, nil
  local n = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    line = trim(line:gsub("\r$", ""))
    if line ~= "" and not line:match("^[#;]") then -- not blank, not a comment
      local section = line:match("^%[%s*([%w_.%-]+)%s*%]$")
      if section then
        profiles[section] = profiles[section] or {}
        current = profiles[section]
      elseif line:match("^%[") then
        return nil, ("%s:%d: a profile name is [letters, digits, _ . -]"):format(name, n)
      else
        local k, v = line:match("^([%w_]+)%s*=%s*(.-)$")
        if not k then
          return nil, ("%s:%d: expected 'key = value' or '[profile]'"):format(name, n)
        end
        if not current then
          return nil, ("%s:%d: '%s' comes before any [profile] line"):format(name, n, k)
        end
        if not BY_NAME[k] then
          local known = {}
          for _, d in ipairs(M.KEYS) do known[#known + 1] = d.key end
          return nil, ("%s:%d: unknown key '%s' (known: %s)"):format(name, n, k, concat(known, ", "))
        end
        local q = v:match('^"(.*)"$') or v:match("^'(.*)'$")
        current[k] = q or v
      end
    end
  end
  return profiles
end

--- Read the profile file: its profiles, or nil when there is no file. A file that
-- others can read, or that does not parse, ends the command (exit 2).
function M.load(path)
  local attr = lfs.attributes(path)
  if not attr then return nil end
  if attr.mode ~= "file" then exit.usage(path .. " is not a file") end
  local perms = attr.permissions or ""
  if perms:sub(4) ~= "------" then
    exit.usage(("%s is accessible by other users (%s): run chmod 600 %s"):format(path, perms, shell_quote(path)))
  end
  local f, err = io_open(path, "rb")
  if not f then exit.usage("cannot read " .. tostring(err)) end
  local text = f:read("*a") or ""
  f:close()
  local profiles, perr = M.parse(text, path)
  if not profiles then exit.usage(perr) end
  return profiles
end

--- Resolve the settings named in `keys` (a list of key names). opts: profile,
-- config, getenv. Returns values {key = value} and the list of secret values.
function M.resolve(keys, opts)
  opts = opts or {}
  local getenv = opts.getenv or os_getenv
  local profile_name = opts.profile or getenv("MEDIACDN_PROFILE")
  if profile_name == "" then profile_name = nil end
  local path = M.path(opts)
  local from_env, missing = {}, false
  for _, k in ipairs(keys) do
    local v = getenv(BY_NAME[k].env)
    if v and v ~= "" then from_env[k] = v else missing = true end
  end
  local profile
  if profile_name then
    local profiles = M.load(path)
    profile = profiles and profiles[profile_name]
    if not profile then
      exit.usage(("no profile '%s' in %s: create it with mediacdn configure --profile %s"):format(
        profile_name, path, profile_name))
    end
  elseif missing then
    local profiles = M.load(path)
    profile = profiles and profiles.default
  end
  local values, secrets = {}, {}
  for _, k in ipairs(keys) do
    local v
    if profile_name then v = profile[k] or from_env[k]
    else v = from_env[k] or (profile and profile[k]) end
    if v == "" then v = nil end
    values[k] = v
    if v and BY_NAME[k].secret then secrets[#secrets + 1] = v end
  end
  return values, secrets
end

--- The file's text for a set of profiles ([default] first, then by name).
function M.render(profiles)
  local names = {}
  for name in pairs(profiles) do if name ~= "default" then names[#names + 1] = name end end
  sort(names)
  if profiles.default then table.insert(names, 1, "default") end
  local out = { "# mediacdn profiles (written by mediacdn configure; keep this file private)" }
  for _, name in ipairs(names) do
    out[#out + 1] = ""
    out[#out + 1] = "[" .. name .. "]"
    for _, d in ipairs(M.KEYS) do
      local v = profiles[name][d.key]
      if v and v ~= "" then out[#out + 1] = d.key .. " = " .. v end
    end
  end
  return concat(out, "\n") .. "\n"
end

--- Write profiles to path: the folder is created private (0700), the file is
-- created 0600 before any secret goes in, then renamed into place.
function M.save(path, profiles)
  local dir = path:match("^(.*)/[^/]+$")
  local tmp = path .. ".tmp"
  local cmd = "umask 077 && " .. (dir and dir ~= "" and ("mkdir -p " .. shell_quote(dir) .. " && ") or "")
    .. ": > " .. shell_quote(tmp) .. " && chmod 600 " .. shell_quote(tmp)
  local a, _, c = os_execute(cmd)
  if not (a == true or a == 0) or (c ~= nil and c ~= 0) then
    return nil, "cannot create " .. tmp
  end
  local f, err = io_open(tmp, "wb")
  if not f then return nil, "cannot write " .. tostring(err) end
  local ok, werr = f:write(M.render(profiles))
  f:close()
  if not ok then os_remove(tmp); return nil, "cannot write " .. tmp .. ": " .. tostring(werr) end
  local rok, rerr = os_rename(tmp, path)
  if not rok then os_remove(tmp); return nil, "cannot replace " .. path .. ": " .. tostring(rerr) end
  return true
end

return M
