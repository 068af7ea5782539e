-- sandbox.handlers.convert: JWT-protected URLs, video <-> spin conversions and the
-- spin exports for marketplaces. The results are plausible stand-ins: a .spin JSON
-- file with generated JPEG frames, a generated MP4, a real ZIP of the frames.

local fs = require "sandbox.fs"
local http = require "sandbox.http"
local json = require "sandbox.json"
local util = require "sandbox.util"
local blob = require "sandbox.blob"
local jwt = require "sandbox.jwt"
local zip = require "sandbox.zip"

local ipairs, floor, format, tostring, type, next = ipairs, math.floor, string.format, tostring, type, next

local convert = {}
local H = {}
convert.handlers = H

local function stem(name)
  return (name:gsub("%.[^.]*$", ""))
end

local function join(dir, name)
  return dir == "/" and ("/" .. name) or (dir .. "/" .. name)
end

H.postFilesJwt = function(req)
  local b = req.body
  local path = fs.normalize(b.filename)
  local n = fs.get(path)
  if not n then return http.not_found_file(b.filename) end
  local now = floor(util.now())
  local payload = { iat = now, exp = now + floor(b.expiresIn), aud = path }
  if b.secureParams and next(b.secureParams) then payload.args = b.secureParams end
  local token = jwt.sign(payload, b.key)
  local url = req.base .. "/cdn" .. util.url_path(path) .. "?jwt=" .. token
  for _, k in ipairs(json.keys(b.insecureParams or {})) do
    url = url .. "&" .. util.url_escape(k) .. "=" .. util.url_escape(tostring(b.insecureParams[k]))
  end
  return http.json(200, { url = url })
end

-- write a spin (JSON + frames) into folder `dir` named `name`; returns the .spin path
function convert.make_spin(dir, name, frames, width, height)
  local list = json.array()
  local base = util.random_id(8)
  local seed = 0
  for i = 1, #base do seed = seed * 31 + base:byte(i) end
  for i = 1, frames do
    local frame = format("%s_%03d.jpg", name, i)
    list[i] = frame
    local fb = blob.generated(seed + i, 20000 + (i * 137) % 5000, "jpg")
    local _, st, msg = fs.write_file(join(dir, frame), {
      blob = fb, ctype = "image/jpeg", media = { width = width, height = height, duration = 0, format = "JPEG" },
    })
    if st then return nil, st, msg end
  end
  local spin = {
    version = "3.0",
    settings = { spin = { autospin = "once", frames = frames } },
    layers = { ["1"] = list },
  }
  local path = join(dir, name .. ".spin")
  local _, st, msg = fs.write_file(path, {
    blob = blob.from_string(json.encode(spin)), ctype = "application/json", media = {},
  })
  if st then return nil, st, msg end
  return path
end

H.postFilesVideo2Spin = function(req)
  local b = req.body
  local path = fs.normalize(b.filename)
  local n = fs.get(path)
  if not n then return http.not_found_file(b.filename) end
  if n.dir or not (n.ctype or ""):find("^video/") then
    return http.bad_request("File is not a video: " .. path)
  end
  local opts = b.options or {}
  local frames = floor(opts.frames or 32)
  local m = n.media or {}
  local w = type(m.width) == "number" and m.width or 1280
  local h = type(m.height) == "number" and m.height or 720
  local name = stem(n.name)
  local out, st, msg = convert.make_spin(join(util.dirname(path), name), name, frames, w, h)
  if not out then return http.boom(st, msg) end
  return http.json(200, { filename = out })
end

local function spin_node(req)
  local path = fs.normalize(req.body.filename)
  local n = fs.get(path)
  if not n then return nil, http.not_found_file(req.body.filename) end
  if n.dir or util.extension(n.name) ~= ".spin" then
    return nil, http.bad_request("File is not a spin: " .. path)
  end
  return n
end

-- the frames of a spin: its JSON's layers if they exist, else images beside it
local function spin_frames(n)
  local dir = n.parent
  local out = {}
  local text = blob.read_all(n.blob, 4 * 1024 * 1024)
  local spin = text and json.decode(text)
  if type(spin) == "table" and type(spin.layers) == "table" then
    for _, row in ipairs(json.keys(spin.layers)) do
      for _, frame in ipairs(spin.layers[row]) do
        local f = type(frame) == "string" and dir.children[frame]
        if f and not f.dir then out[#out + 1] = f end
      end
    end
  end
  if #out == 0 then
    for _, name in ipairs(fs.list(dir)) do
      local c = dir.children[name]
      if not c.dir and (c.ctype or ""):find("^image/") then out[#out + 1] = c end
    end
  end
  return out
end

H.postFilesSpin2Video = function(req)
  local n, res = spin_node(req)
  if not n then return res end
  local o = req.body.options or {}
  local w, h = floor(o.width or 1280), floor(o.height or 720)
  local row = o.row or "single"
  local loops = o.loops or 1
  local frames = #spin_frames(n)
  if frames == 0 then frames = 16 end
  local out = join(util.dirname(n.path), format("%s_%s_%dx%d.mp4", stem(n.name), row, w, h))
  local size = 50000 + frames * loops * 4000
  local _, st, msg = fs.write_file(out, {
    blob = blob.generated(frames * 7919 + w + h, size, "mp4"), ctype = "video/mp4",
    media = { width = w, height = h, duration = frames * loops / 24, format = "MP4" },
  })
  if st then return http.boom(st, msg) end
  return http.json(200, { filename = out })
end

local function export(field)
  return function(req)
    local n, res = spin_node(req)
    if not n then return res end
    local id = req.body[field]
    local entries = {}
    for i, f in ipairs(spin_frames(n)) do
      entries[i] = { name = format("%s.%02d%s", id, i, util.extension(f.name)), blob = f.blob, mtime = f.mtime }
    end
    if #entries == 0 then
      entries[1] = { name = n.name, blob = n.blob, mtime = n.mtime }
    end
    local w = blob.writer()
    zip.build(entries, w)
    local out = join(util.dirname(n.path), id .. ".zip")
    local _, st, msg = fs.write_file(out, { blob = w.finish(), ctype = "application/zip", media = {} })
    if st then return http.boom(st, msg) end
    return http.json(200, { filename = out })
  end
end

H.postFilesSpin2Amazon360 = export("asin")
H.postFilesSpin2Grainger360 = export("sku")
H.postFilesSpin2Homedepot360 = export("omsid")
H.postFilesSpin2Lowes360 = export("barcode")
H.postFilesSpin2Walmart360 = export("gtin")

return convert
