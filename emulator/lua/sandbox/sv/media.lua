-- sandbox.sv.media: what a converted SpareVideos file offers, unsigned:
--   thumbnails  /thumbnail/{code}/json/list | /exact/{name} | /{size}/default.jpg | /{size}/{name}
--   streams     /sv/streams/{code}/{label}.mp4|.webm (the uploaded bytes),
--               /sv/streams/{code}/master.m3u8, /sv/streams/{code}/manifest.mpd
-- Thumbnails exist once the conversion is ready: 5 per height (720, 480, 360; only
-- 360 and 480 for convert_sd_only), the selected one marked ".selected" in the list key.

local json = require "sandbox.json"
local blob = require "sandbox.blob"
local util = require "sandbox.util"
local state = require "sandbox.sv.state"
local reply = require "sandbox.sv.reply"

local format, tonumber, floor = string.format, tonumber, math.floor

local media = {}

local function heights(f)
  if f.sd_only then return { 480, 360 } end
  return { 720, 480, 360 }
end

-- thumbnail file names, highest first: { {key="720.05", name="CODE_720_05.jpg"}, ... }
local function thumbs(f)
  local out = {}
  for _, h in ipairs(heights(f)) do
    for seq = 5, 1, -1 do
      out[#out + 1] = { key = format("%d.%02d", h, seq), name = format("%s_%d_%02d.jpg", f.code, h, seq) }
    end
  end
  return out
end

local function default_name(f)
  return f.selected or format("%s_%d_03.jpg", f.code, heights(f)[1])
end

function media.has_thumbnail(f, name)
  if state.conversion(f) ~= "ready" then return false end
  for _, t in ipairs(thumbs(f)) do
    if t.name == name then return true end
  end
  return false
end

function media.thumbnail_url(f)
  return util.base_url() .. "/thumbnail/" .. f.code .. "/480/default.jpg"
end

-- the streams object of a ready file
function media.streams(f)
  local base = util.base_url() .. "/sv/streams/" .. f.code
  local labels = f.sd_only and { "360", "480" } or { "360", "480", "720" }
  local mp4, webm = json.array(), json.array()
  for _, l in ipairs(labels) do
    mp4[#mp4 + 1] = json.ordered({ file = base .. "/" .. l .. ".mp4", label = l }, { "file", "label" })
    webm[#webm + 1] = json.ordered({ file = base .. "/" .. l .. ".webm", label = l }, { "file", "label" })
  end
  local s = { mp4 = mp4, hls = { file = base .. "/master.m3u8" }, mpd = { file = base .. "/manifest.mpd" } }
  local order = { "mp4", "hls", "mpd" }
  if not f.mp4_only then
    s.webm = webm
    order = { "mp4", "webm", "hls", "mpd" }
  end
  return json.ordered(s, order)
end

local function image(seed, size)
  return { status = 200, headers = { ["content-type"] = "image/jpeg" },
    source = blob.source(blob.generated(seed, size, "jpg")) }
end

local function not_found()
  return reply.text(404, "Not found")
end

local function seed_of(name)
  local n = 0
  for i = 1, #name do n = (n * 31 + name:byte(i)) % 2147483647 end
  return n
end

-- GET /thumbnail/...
function media.thumbnail(uri)
  local code, rest = uri:match("^/thumbnail/([^/]+)/(.+)$")
  local f = code and state.files[code]
  if not f or state.conversion(f) ~= "ready" then return not_found() end
  if rest == "json/list" then
    local t, keys = {}, {}
    for _, th in ipairs(thumbs(f)) do
      local k = th.key .. (th.name == f.selected and ".selected" or "")
      t[k] = th.name
      keys[#keys + 1] = k
    end
    return { status = 200, headers = { ["content-type"] = "application/json" },
      body = reply.php_json(json.ordered(t, keys)) }
  end
  local name = rest:match("^exact/([^/]+)$")
  if name then
    if not media.has_thumbnail(f, name) then return not_found() end
    return image(seed_of(name), 4000 + seed_of(name) % 4000)
  end
  local size, which = rest:match("^(%d+)/([^/]+)$")
  size = tonumber(size)
  if not size or size < 1 or size > 4000 then return not_found() end
  if which == "default.jpg" then which = default_name(f)
  elseif not media.has_thumbnail(f, which) then return not_found() end
  size = size < 260 and 260 or size   -- a default below 260 is served at 260 (seed)
  return image(seed_of(which) + size, floor(size * 12))
end

-- GET /sv/streams/...
function media.stream(uri)
  local code, file = uri:match("^/sv/streams/([^/]+)/([^/]+)$")
  local f = code and state.files[code]
  if not f or state.conversion(f) ~= "ready" then return not_found() end
  if file == "master.m3u8" then
    return reply.text(200, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n360.m3u8\n",
      "application/vnd.apple.mpegurl")
  elseif file == "manifest.mpd" then
    return reply.text(200, '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static"/>',
      "application/dash+xml")
  end
  local label, ext = file:match("^(%d+)%.(%w+)$")
  if not label or (ext ~= "mp4" and ext ~= "webm") or (ext == "webm" and f.mp4_only) then return not_found() end
  return { status = 200, headers = { ["content-type"] = "video/" .. ext }, source = blob.source(f.blob) }
end

return media
