--- Sirv image URLs: dynamic-imaging options and protected (JWT) URLs, with no
-- client and no I/O (an nginx handler can call it on every request).
--
--   local url = require "mediacdn.sirv.url"
--   url.build(base, path, options)            -> "https://…/path?opt=…"
--   url.image(base, path [, options])         -> Image (immutable chaining builder)
--   url.signed(base, path, opts)              -> url, token   (HS256 JWT signed locally)
--   url.srcset(base, path, options, spec)     -> "url 320w, url 640w, …"
--   url.params(options [, strict])            -> the options as sent: {w = 300, ...}
--   url.path(path [, encoded])                -> the path as sent: "/a%20b.jpg"
--   url.alias_base(alias)                     -> "https://ALIAS.sirv.com"
--
-- Contract: every rule (Sirv's option table, value checks, escaping, order,
-- the JWT) lives in the C core (csrc/core/mc_imgurl.c, mc_jwt.c); this module
-- checks argument types, reads the flags `strict` (default true) and
-- `path_encoded` (default false) from the options table, and raises misuse
-- with an error naming the function and the argument or option.
local core = require "mediacdn.core"

local sirv_url, sirv_signed_url, sirv_url_params, sirv_url_path =
  core.sirv_url, core.sirv_signed_url, core.sirv_url_params, core.sirv_url_path
local type, error, pairs, ipairs, rawget, tostring, setmetatable =
  type, error, pairs, ipairs, rawget, tostring, setmetatable
local floor, huge, concat = math.floor, math.huge, table.concat
local os_time = os.time

local M = {}

local Image = {}
Image.__index = Image
Image.__name = "mediacdn.sirv.Image"
M.Image = Image

-- Raise misuse from function fn ("build", or a client method "sirv:url").
local function raise(fn, msg, level)
  if not fn:find(":", 1, true) then fn = "mediacdn.sirv.url." .. fn end
  error(("%s: %s"):format(fn, msg), (level or 2) + 1)
end

-- Check base and path types (the core checks their content). level: how many
-- calls above the caller of check_args (and of flags) the user's code is.
local function check_args(fn, base, path, level)
  if type(base) ~= "string" then
    raise(fn, ("argument #1 (base) must be a URL string like 'https://ALIAS.sirv.com' (got %s)")
      :format(type(base)), level + 2)
  end
  if type(path) ~= "string" then
    raise(fn, ("argument #2 (path) must be a string (got %s)"):format(type(path)), level + 2)
  end
end

-- The flags of an options table: strict (default true), path_encoded (default false).
local function flags(fn, options, argname, level)
  if options == nil then return true, false end
  if type(options) ~= "table" then
    raise(fn, ("%s must be a table of Sirv options (got %s)"):format(argname, type(options)), level + 2)
  end
  local strict, encoded = rawget(options, "strict"), rawget(options, "path_encoded")
  if strict == nil then strict = true
  elseif type(strict) ~= "boolean" then raise(fn, "option 'strict' must be a boolean", level + 2) end
  if encoded == nil then encoded = false
  elseif type(encoded) ~= "boolean" then raise(fn, "option 'path_encoded' must be a boolean", level + 2) end
  return strict, encoded
end

--- The URL of an image at base/path with Sirv options (nested tables flatten to
-- dotted names, t[1] of a nested table is the table's own value).
function M.build(base, path, options)
  check_args("build", base, path, 1)
  local strict, encoded = flags("build", options, "argument #3 (options)", 1)
  local u, err = sirv_url(base, path, options, strict, encoded)
  if not u then raise("build", err) end
  return u
end

-- url.build for a client method fn: errors name fn and point level levels up.
-- level: how many calls above _build_as the user's code is.
function M._build_as(fn, level, base, path, options)
  check_args(fn, base, path, level)
  local strict, encoded = flags(fn, options, "argument #2 (options)", level)
  local u, err = sirv_url(base, path, options, strict, encoded)
  if not u then raise(fn, err, level + 1) end
  return u
end

--- "https://ALIAS.sirv.com" for an account alias.
function M.alias_base(alias)
  if type(alias) ~= "string" or not alias:match("^[%w][%w%-]*$") then
    raise("alias_base", "argument #1 (alias) must be a Sirv account alias like 'demo' (letters, digits, '-')")
  end
  return "https://" .. alias .. ".sirv.com"
end

--- The options as they are sent: long names resolved, values formatted, one flat table.
function M.params(options, strict)
  if type(options) ~= "table" then raise("params", "argument #1 (options) must be a table") end
  if strict == nil then strict = flags("params", options, "argument #1 (options)", 1) end
  local p, err = sirv_url_params(options, strict)
  if not p then raise("params", err) end
  return p
end

--- The path as it is sent: a leading "/" and each segment percent-encoded.
function M.path(path, encoded)
  if type(path) ~= "string" then raise("path", ("argument #1 (path) must be a string (got %s)"):format(type(path))) end
  local p, err = sirv_url_path(path, encoded == true)
  if not p then raise("path", err) end
  return p
end

-- Seconds since the epoch, from nginx's cached clock when there is one.
local function now_seconds()
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and type(ngx.time) == "function" then return ngx.time() end
  return os_time()
end

--- A protected URL: base/path?jwt=TOKEN[&insecure options]. The token (HS256,
-- claims {args = secure options, iat, exp, aud}) is made locally in the C core.
-- opts: key (required), expires_in (seconds, required), secure_params,
-- insecure_params, aud (default: the path), now, strict, path_encoded.
-- Returns the URL and the token.
function M.signed(base, path, opts)
  check_args("signed", base, path, 1)
  if type(opts) ~= "table" then raise("signed", "argument #3 (opts) must be a table with key and expires_in") end
  local key, ttl, aud, now = opts.key, opts.expires_in, opts.aud, opts.now
  if type(key) ~= "string" or key == "" then
    raise("signed", "opts.key must be a non-empty string (the JWT key of the protected folder)")
  end
  if type(ttl) ~= "number" or ttl ~= ttl or ttl < 1 or ttl == huge then
    raise("signed", "opts.expires_in must be a number of seconds >= 1")
  end
  if aud ~= nil and type(aud) ~= "string" then raise("signed", "opts.aud must be a path string") end
  if now == nil then now = now_seconds()
  elseif type(now) ~= "number" or now ~= now or now == huge or now == -huge then
    raise("signed", "opts.now must be a number (epoch seconds)")
  end
  local strict, encoded = flags("signed", opts, "argument #3 (opts)", 1)
  local sp, ip = opts.secure_params, opts.insecure_params
  if sp ~= nil and type(sp) ~= "table" then raise("signed", "opts.secure_params must be a table") end
  if ip ~= nil and type(ip) ~= "table" then raise("signed", "opts.insecure_params must be a table") end
  local iat = floor(now)
  local u, tok = sirv_signed_url(base, path, sp, ip, key, iat, iat + floor(ttl), aud, strict, encoded)
  if not u then raise("signed", tok) end
  return u, tok
end

-- A shallow copy of options with overrides.
local function with(options, k1, v1, k2, v2)
  local t = {}
  if options then for k, v in pairs(options) do t[k] = v end end
  t[k1] = v1
  if k2 then t[k2] = v2 end
  return t
end

--- A srcset attribute value. spec: {widths = {320, 640, ...}} gives "URL 320w, …"
-- (w set per entry); {dpr = {1, 2, 3}} gives "URL 1x, …" (w and h multiplied).
function M.srcset(base, path, options, spec)
  check_args("srcset", base, path, 1)
  if options ~= nil and type(options) ~= "table" then raise("srcset", "argument #3 (options) must be a table") end
  if type(spec) ~= "table" then raise("srcset", "argument #4 must be {widths = {...}} or {dpr = {...}}") end
  local out = {}
  if type(spec.widths) == "table" then
    for i, w in ipairs(spec.widths) do
      if type(w) ~= "number" or w <= 0 or w ~= floor(w) or w == huge then
        raise("srcset", ("widths[%d] must be a positive integer"):format(i))
      end
      out[i] = M.build(base, path, with(options, "w", w)) .. (" %dw"):format(w)
    end
  elseif type(spec.dpr) == "table" then
    local w, h = options and rawget(options, "w"), options and rawget(options, "h")
    if type(w) ~= "number" and type(h) ~= "number" then
      raise("srcset", "a dpr srcset needs options.w or options.h as a number of pixels")
    end
    for i, d in ipairs(spec.dpr) do
      if type(d) ~= "number" or not (d > 0 and d < huge) then
        raise("srcset", ("dpr[%d] must be a positive number"):format(i))
      end
      local o = with(options, "w", type(w) == "number" and floor(w * d + 0.5) or nil,
        "h", type(h) == "number" and floor(h * d + 0.5) or nil)
      out[i] = M.build(base, path, o) .. " " .. (d == floor(d) and ("%d"):format(d) or tostring(d)) .. "x"
    end
  else
    raise("srcset", "argument #4 must be {widths = {...}} or {dpr = {...}}")
  end
  return concat(out, ", ")
end

-- ---- the chaining builder ---------------------------------------------------------

-- Flatten t into dst as dotted names under prefix (t[1] is prefix's own value).
-- (errors point at the user's call of the builder method: 4 + depth levels up)
local function flatten(fn, dst, prefix, t, depth)
  if depth > 8 then raise(fn, ("option '%s' is nested too deeply"):format(prefix), 4 + depth) end
  for k, v in pairs(t) do
    local name
    if type(k) == "string" then name = prefix and (prefix .. "." .. k) or k
    elseif k == 1 and prefix then name = prefix
    else raise(fn, ("option names must be strings (got a %s key%s)")
      :format(type(k), prefix and (" in '" .. prefix .. "'") or ""), 4 + depth) end
    if type(v) == "table" then flatten(fn, dst, name, v, depth + 1) else dst[name] = v end
  end
end

-- A new Image like self with options merged in: (name, value) or a table under prefix.
local function derive(self, fn, prefix, t)
  local o = {}
  for k, v in pairs(self.opts) do o[k] = v end
  if type(t) == "table" then flatten(fn, o, prefix, t, 0)
  elseif prefix then o[prefix] = t end
  return setmetatable({ base = self.base, path_ = self.path_, opts = o, strict_ = self.strict_,
    encoded = self.encoded }, Image)
end

--- An immutable builder: every method returns a new Image.
function M.image(base, path, options)
  check_args("image", base, path, 1)
  local strict, encoded = flags("image", options, "argument #3 (options)", 1)
  local self = setmetatable({ base = base, path_ = path, opts = {}, strict_ = strict, encoded = encoded }, Image)
  if options then
    local o = {}
    for k, v in pairs(options) do if k ~= "strict" and k ~= "path_encoded" then o[k] = v end end
    self = derive(self, "image", nil, o)
  end
  return self
end

-- Method argument checks.
local function need_table(fn, t)
  if type(t) ~= "table" then raise(fn, ("argument #1 must be a table (got %s)"):format(type(t)), 3) end
end
local function need_scalar(fn, v, what)
  local tv = type(v)
  if tv ~= "string" and tv ~= "number" then
    raise(fn, ("argument #1 must be %s (got %s)"):format(what, tv), 3)
  end
end

local RESIZE_KEYS = { w = "w", width = "w", h = "h", height = "h", option = "scale.option", s = "s",
  longest = "s" }

--- resize{w =, h =, option = "fit"|"fill"|"ignore"|"noup", s =} or resize(w [, h [, option]]).
function Image:resize(w, h, option)
  local t = w
  if type(w) ~= "table" then t = { w = w, h = h, option = option } end
  local o = {}
  for k, v in pairs(t) do
    local name = RESIZE_KEYS[k]
    if not name then raise("Image:resize", ("unknown key '%s' (w, h, option, s)"):format(tostring(k))) end
    o[name] = v
  end
  return derive(self, "Image:resize", nil, o)
end

--- crop{type =, aspectratio =, x =, y =, w =, h =, confidence =, pad = {...}, scale = {...}} → crop.*
function Image:crop(t)
  need_table("Image:crop", t)
  local o = {}
  for k, v in pairs(t) do
    if k == "w" then k = "width" elseif k == "h" then k = "height" end
    o[k] = v
  end
  return derive(self, "Image:crop", "crop", o)
end

--- Any family as a table under its name: canvas{…}, frame{…}, colorize{…}, vignette{…}.
function Image:canvas(t) need_table("Image:canvas", t) return derive(self, "Image:canvas", "canvas", t) end
function Image:frame(t) need_table("Image:frame", t) return derive(self, "Image:frame", "frame", t) end
function Image:colorize(t) need_table("Image:colorize", t) return derive(self, "Image:colorize", "colorize", t) end
function Image:vignette(t) need_table("Image:vignette", t) return derive(self, "Image:vignette", "vignette", t) end

--- colortone("sepia") or colortone{color =, level =, mode =}.
function Image:colortone(v)
  if type(v) == "table" then return derive(self, "Image:colortone", "colortone", v) end
  need_scalar("Image:colortone", v, "a preset name or a table")
  return derive(self, "Image:colortone", "colortone", v)
end

--- format("webp" [, fallback]) → format, webp-fallback.
function Image:format(f, fallback)
  need_scalar("Image:format", f, "a format name")
  local img = derive(self, "Image:format", "format", f)
  if fallback ~= nil then img = derive(img, "Image:format", "webp-fallback", fallback) end
  return img
end

function Image:quality(q)
  need_scalar("Image:quality", q, "a number 0-100")
  return derive(self, "Image:quality", "q", q)
end
function Image:rotate(deg) return derive(self, "Image:rotate", "rotate", deg) end
function Image:thumbnail(px) return derive(self, "Image:thumbnail", "thumbnail", px) end
function Image:blur(n) return derive(self, "Image:blur", "blur", n) end
function Image:sharpen(n) return derive(self, "Image:sharpen", "sharpen", n) end
function Image:flip() return derive(self, "Image:flip", "flip", true) end
function Image:flop() return derive(self, "Image:flop", "flop", true) end
function Image:grayscale() return derive(self, "Image:grayscale", "grayscale", true) end

--- adjust{brightness =, contrast =, exposure =, hue =, saturation =, lightness =, ...}: top-level options.
function Image:adjust(t) need_table("Image:adjust", t) return derive(self, "Image:adjust", nil, t) end

--- text("50% off" [, {color =, size =, font = {family =}, position =, ...}]) → text, text.*
function Image:text(s, style)
  need_scalar("Image:text", s, "the text")
  local img = derive(self, "Image:text", "text", s)
  if style ~= nil then need_table("Image:text", style) img = derive(img, "Image:text", "text", style) end
  return img
end

--- watermark("/logo.png" [, {position =, opacity =, scale = {width =}}]) → watermark, watermark.*
function Image:watermark(p, style)
  need_scalar("Image:watermark", p, "the watermark's path")
  local img = derive(self, "Image:watermark", "watermark", p)
  if style ~= nil then need_table("Image:watermark", style) img = derive(img, "Image:watermark", "watermark", style) end
  return img
end

--- profile("name"): a profile saved in the account's /Profiles folder (URL options win over it).
function Image:profile(name)
  need_scalar("Image:profile", name, "a profile name")
  return derive(self, "Image:profile", "profile", name)
end

--- option(name, value) and options{...}: any option by its Sirv name.
function Image:option(name, value)
  if type(name) ~= "string" then raise("Image:option", "argument #1 (name) must be a string") end
  return derive(self, "Image:option", name, value)
end
function Image:options(t) need_table("Image:options", t) return derive(self, "Image:options", nil, t) end

--- strict(false): pass unknown options and words through (Sirv options added later).
function Image:strict(on)
  local img = derive(self, "Image:strict")
  img.strict_ = on ~= false
  return img
end

--- path("/other.jpg"): the same options for another image.
function Image:path(p)
  if type(p) ~= "string" then raise("Image:path", "argument #1 (path) must be a string") end
  local img = derive(self, "Image:path")
  img.path_ = p
  return img
end

--- The flat options set so far (a copy).
function Image:params()
  local o = {}
  for k, v in pairs(self.opts) do o[k] = v end
  return o
end

--- The URL.
function Image:tostring()
  local u, err = sirv_url(self.base, self.path_, self.opts, self.strict_, self.encoded)
  if not u then raise("Image:tostring", err) end
  return u
end
Image.url = Image.tostring
Image.__tostring = Image.tostring

--- srcset{widths = {...}} or srcset{dpr = {...}} with this image's options.
function Image:srcset(spec)
  local o = self:params()
  o.strict, o.path_encoded = self.strict_, self.encoded
  return M.srcset(self.base, self.path_, o, spec)
end

--- A protected URL whose token locks this image's options (secure_params).
-- opts: key, expires_in, insecure_params, aud, now (see url.signed).
function Image:signed(opts)
  if type(opts) ~= "table" then raise("Image:signed", "argument #1 must be a table with key and expires_in") end
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.secure_params, o.strict, o.path_encoded = self:params(), self.strict_, self.encoded
  return M.signed(self.base, self.path_, o)
end

return M
