-- examples/openresty/sirv_images.lua: serve /img/<preset>/<path> as Sirv
-- dynamic-imaging URLs. The site names a few presets (a small, fixed set of
-- URLs keeps the CDN cache hot and stops visitors from asking for arbitrary
-- transformations); ?w= picks a responsive width from an allow-list.
--
--   location /img/ { content_by_lua_file sirv_images.lua; }
--   GET /img/card/products/red%20shoe.jpg?w=800
--     -> 302 https://ALIAS.sirv.com/products/red%20shoe.jpg?format=webp&h=600&q=80&scale.option=fill&w=800
--
-- mediacdn.sirv.url does no I/O and loads no transport: building a URL costs
-- microseconds, so it can run on every request. Environment (declare with
-- `env` in nginx.conf): SIRV_CDN_BASE (e.g. https://img.example.com) or
-- SIRV_ALIAS (https://ALIAS.sirv.com).
-- To proxy instead of redirecting, put the URL in a variable and
-- `proxy_pass $sirv_url;` from an internal location (needs a `resolver`).
local url = require "mediacdn.sirv.url"

local BASE = os.getenv("SIRV_CDN_BASE") or url.alias_base(os.getenv("SIRV_ALIAS") or "demo")

local PRESETS = {
  thumb = { w = 150, h = 150, ["scale.option"] = "fill", format = "webp", q = 75 },
  card = { w = 400, h = 300, ["scale.option"] = "fill", format = "webp", q = 80 },
  hero = { w = 1600, format = "optimal", q = 85, sharpen = 10 },
}
local WIDTHS = { [200] = true, [400] = true, [800] = true, [1200] = true, [1600] = true }

-- ngx.var.uri is already percent-decoded by nginx: the builder encodes it once
local preset, path = ngx.var.uri:match("^/img/([%w_-]+)(/.+)$")
local base_opts = preset and PRESETS[preset]
if not base_opts then return ngx.exit(ngx.HTTP_NOT_FOUND) end

local opts = {}
for k, v in pairs(base_opts) do opts[k] = v end
local w = ngx.var.arg_w
if w then
  w = tonumber(w)
  if not WIDTHS[w] then return ngx.exit(ngx.HTTP_BAD_REQUEST) end
  if opts.h then opts.h = math.floor(opts.h * w / opts.w + 0.5) end -- keep the preset's shape
  opts.w = w
end

-- misuse raises (a path that is not UTF-8, a NUL byte, ...): answer 400
local ok, target = pcall(url.build, BASE, path, opts)
if not ok then
  ngx.log(ngx.INFO, "sirv_images: ", target)
  return ngx.exit(ngx.HTTP_BAD_REQUEST)
end
ngx.header["Cache-Control"] = "public, max-age=86400"
return ngx.redirect(target, ngx.HTTP_MOVED_TEMPORARILY)
