-- sandbox.media: the computed media meta Sirv reports (width, height, format,
-- duration), read from the first bytes of an uploaded image. Videos get nulls
-- (the sandbox does not parse containers), other files {}.

local json = require "sandbox.json"

local byte, sub = string.byte, string.sub

local media = {}

local function be16(s, i) local a, b = byte(s, i, i + 1) return a * 256 + b end
local function le16(s, i) local a, b = byte(s, i, i + 1) return b * 256 + a end
local function be32(s, i) local a, b, c, d = byte(s, i, i + 3) return ((a * 256 + b) * 256 + c) * 256 + d end
local function le24(s, i) local a, b, c = byte(s, i, i + 2) return (c * 256 + b) * 256 + a end

local function jpeg_size(s)
  local i = 3
  while i + 9 <= #s do
    if byte(s, i) ~= 0xFF then return nil end
    local marker = byte(s, i + 1)
    if marker == 0xD8 or (marker >= 0xD0 and marker <= 0xD7) or marker == 0x01 then
      i = i + 2
    else
      local len = be16(s, i + 2)
      if (marker >= 0xC0 and marker <= 0xCF) and marker ~= 0xC4 and marker ~= 0xC8 and marker ~= 0xCC then
        return be16(s, i + 7), be16(s, i + 5)
      end
      i = i + 2 + len
    end
  end
  return nil
end

-- sniff(head) -> {width, height, format} | nil
function media.sniff(s)
  if #s >= 24 and sub(s, 1, 8) == "\137PNG\r\n\26\n" and sub(s, 13, 16) == "IHDR" then
    return { width = be32(s, 17), height = be32(s, 21), format = "PNG" }
  end
  if #s >= 10 and (sub(s, 1, 6) == "GIF89a" or sub(s, 1, 6) == "GIF87a") then
    return { width = le16(s, 7), height = le16(s, 9), format = "GIF" }
  end
  if #s >= 4 and byte(s, 1) == 0xFF and byte(s, 2) == 0xD8 then
    local w, h = jpeg_size(s)
    if w then return { width = w, height = h, format = "JPEG" } end
  end
  if #s >= 30 and sub(s, 1, 4) == "RIFF" and sub(s, 9, 12) == "WEBP" then
    local kind = sub(s, 13, 16)
    if kind == "VP8 " then
      return { width = le16(s, 27) % 16384, height = le16(s, 29) % 16384, format = "WEBP" }
    elseif kind == "VP8L" then
      local b0, b1, b2, b3 = byte(s, 22, 25)
      local w = 1 + b0 + (b1 % 64) * 256
      local h = 1 + math.floor(b1 / 64) + b2 * 4 + (b3 % 16) * 1024
      return { width = w, height = h, format = "WEBP" }
    elseif kind == "VP8X" then
      return { width = 1 + le24(s, 25), height = 1 + le24(s, 28), format = "WEBP" }
    end
  end
  return nil
end

-- media meta for a file with this content type and head bytes
function media.for_upload(content_type, head)
  local info = media.sniff(head or "")
  if info then
    return { width = info.width, height = info.height, duration = 0, format = info.format }
  end
  if content_type and content_type:find("^video/") then
    return { width = json.null, height = json.null, duration = json.null }
  end
  if content_type and content_type:find("^image/") then
    return { width = json.null, height = json.null, duration = 0 }
  end
  return {}
end

-- the {width,height,duration} view stat/readdir give (no format)
function media.public(m)
  if not m or m.width == nil and m.height == nil and m.duration == nil then
    return {}
  end
  return { width = m.width, height = m.height, duration = m.duration }
end

return media
