--- Content types by file extension, for uploads that do not name one.
local M = {}

local TYPES = {
  jpg = "image/jpeg", jpeg = "image/jpeg", png = "image/png", gif = "image/gif",
  webp = "image/webp", avif = "image/avif", svg = "image/svg+xml", tif = "image/tiff",
  tiff = "image/tiff", bmp = "image/bmp", ico = "image/x-icon", heic = "image/heic",
  mp4 = "video/mp4", mov = "video/quicktime", webm = "video/webm", m4v = "video/x-m4v",
  avi = "video/x-msvideo", mkv = "video/x-matroska", mp3 = "audio/mpeg", wav = "audio/wav",
  pdf = "application/pdf", json = "application/json", spin = "application/json",
  view = "application/json", glb = "model/gltf-binary", gltf = "model/gltf+json",
  usdz = "model/vnd.usdz+zip", zip = "application/zip", txt = "text/plain",
  html = "text/html", css = "text/css", js = "application/javascript", xml = "application/xml",
  csv = "text/csv",
}

--- The MIME type for a file name, or application/octet-stream.
function M.guess(name)
  local ext = name:match("%.([%w]+)$")
  return ext and TYPES[ext:lower()] or "application/octet-stream"
end

return M
