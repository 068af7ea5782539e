-- sandbox.seed: fill the account with many varied files fast. Names mix spaces,
-- Unicode and extensions (.jpg .png .webp .gif .mp4 .pdf .spin); sizes, types,
-- media meta, mtimes over the last two years, and editorial meta (titles, tags,
-- descriptions, approval, product) vary. The same `seed` gives the same files.
-- Bytes are generated on read (blob kind "gen"), so 10,000 files take no disk;
-- .spin files hold real JSON.

local fs = require "sandbox.fs"
local blob = require "sandbox.blob"
local json = require "sandbox.json"
local util = require "sandbox.util"

local floor, format, concat = math.floor, string.format, table.concat
local ipairs, tonumber, next = ipairs, tonumber, next

local seed = {}

local words = {
  "aurora", "blue lake", "café crème", "Zürich straße", "日本の風景", "москва ночью",
  "naïve résumé", "product shot", "spring sale", "coin", "leather bag", "hero banner",
  "emoji 🙂 smile", "ÅÄÖ åäö", "señor piñata", "red-shoe_left", "IMG", "DSC", "Ελλάδα",
  "北京 city", "a&b (copy)", "100% cotton", "o'clock", "spaces  double",
}

local kinds = {
  { ext = ".jpg", ctype = "image/jpeg", format = "JPEG", magic = "jpg", min = 20e3, max = 3e6, weight = 35 },
  { ext = ".png", ctype = "image/png", format = "PNG", magic = "png", min = 5e3, max = 2e6, weight = 18 },
  { ext = ".webp", ctype = "image/webp", format = "WEBP", magic = "webp", min = 10e3, max = 1e6, weight = 6 },
  { ext = ".gif", ctype = "image/gif", format = "GIF", magic = "gif", min = 5e3, max = 5e5, weight = 4 },
  { ext = ".mp4", ctype = "video/mp4", format = "MP4", magic = "mp4", min = 2e5, max = 3e7, weight = 14, video = true },
  { ext = ".pdf", ctype = "application/pdf", magic = "pdf", min = 1e4, max = 5e6, weight = 10 },
  { ext = ".spin", ctype = "application/json", spin = true, weight = 13 },
}

local tag_pool = { "red", "blue", "green", "summer", "winter", "sale", "product", "hero", "lake", "coin", "new", "archive" }
local brands = { "ACME", "Blue Lake LLC", "Sirv Sandbox", "Globex" }
local categories = { "Cards", "Lakes", "Shoes", "Bags", "Coins", "Posters" }

-- Park-Miller LCG: deterministic for a given seed
local function rng(s)
  local x = floor(s) % 2147483647
  if x <= 0 then x = x + 2147483646 end
  return function(a, b)
    x = (x * 48271) % 2147483647
    if not a then return x / 2147483647 end
    return a + x % (b - a + 1)
  end
end

local function pick_kind(r)
  local total = 0
  for _, k in ipairs(kinds) do total = total + k.weight end
  local v = r(1, total)
  for _, k in ipairs(kinds) do
    v = v - k.weight
    if v <= 0 then return k end
  end
  return kinds[1]
end

local function spin_json(name, frames)
  local list = {}
  for i = 1, frames do list[i] = format('"%s_%02d.jpg"', name, i) end
  return '{"version":"3.0","settings":{"spin":{"autospin":"once","frames":' .. frames
    .. '}},"layers":{"1":[' .. concat(list, ",") .. ']}}'
end

local alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
local function det_id(r)
  local t = {}
  for i = 1, 32 do
    local k = r(1, 62)
    t[i] = alnum:sub(k, k)
  end
  return concat(t)
end

-- run{count=, dirname=, seed=, subdirs=, meta=} -> summary | nil, message
function seed.run(opts)
  local count = floor(tonumber(opts.count) or 100)
  if count < 0 or count > 200000 then return nil, "count must be 0..200000" end
  local dirname = fs.normalize(opts.dirname or "/seed")
  if not dirname then return nil, "dirname must start with /" end
  local subdirs = floor(tonumber(opts.subdirs) or 0)
  local with_meta = opts.meta ~= false
  local r = rng(opts.seed or 42)
  local now = util.now()
  local top, st, msg = fs.mkdirs(dirname, now)
  if not top then return nil, msg or ("cannot create " .. dirname), st end
  local dirs = { top }
  for i = 1, subdirs do
    local d, _, m2 = fs.mkdirs(format("%s/folder %02d", dirname == "/" and "" or dirname, i), now)
    if not d then return nil, m2 end
    dirs[#dirs + 1] = d
  end
  local bytes = 0
  local by_ext = {}
  for i = 1, count do
    local k = pick_kind(r)
    local word = words[r(1, #words)]
    local name = format("%s %05d%s", word, i, k.ext)
    local parent = subdirs > 0 and dirs[2 + (i - 1) % subdirs] or top
    local mtime = now - r() * 2 * 365 * 86400
    local ctime = mtime - r() * 30 * 86400
    local b, media
    if k.spin then
      local base = name:gsub("%.spin$", "")
      b = blob.from_string(spin_json(base, r(8, 36)))
      media = {}
    else
      local size = floor(k.min + r() ^ 3 * (k.max - k.min))
      b = blob.generated(r(1, 2147483646), size, k.magic)
      if k.video then
        media = { width = r(640, 3840), height = r(360, 2160), duration = floor(r() * 300000) / 1000 + 1, format = k.format }
      elseif k.format then
        media = { width = r(200, 6000), height = r(200, 4000), duration = 0, format = k.format }
      else
        media = {}
      end
    end
    local ed
    if with_meta then
      ed = {}
      if r() < 0.5 then ed.title = format("%s #%d", word, i) end
      if r() < 0.3 then ed.description = format("Seeded %s file number %d about %s", k.ext, i, word) end
      if r() < 0.6 then
        local tags, seen = json.array(), {}
        for _ = 1, r(1, 4) do
          local t = tag_pool[r(1, #tag_pool)]
          if not seen[t] then tags[#tags + 1] = t seen[t] = true end
        end
        ed.tags = tags
      end
      if r() < 0.2 then
        local approved = r() < 0.5
        ed.approval = {
          approved = approved, comment = approved and "Looks good" or "Needs a retouch",
          datetime = util.iso(mtime + 3600),
        }
      end
      if r() < 0.1 then
        ed.product = {
          id = format("SKU%05d", i), name = word, brand = brands[r(1, #brands)],
          category1 = categories[r(1, #categories)], category2 = categories[r(1, #categories)],
        }
      end
      if next(ed) == nil then ed = nil end
    end
    local n = fs.add_file_fast(parent, name, {
      blob = b, ctype = k.ctype, media = media, mtime = mtime, ctime = ctime, ed = ed,
    })
    if n then
      n.id = det_id(r)
      bytes = bytes + b.size
      by_ext[k.ext] = (by_ext[k.ext] or 0) + 1
    end
  end
  for _, d in ipairs(dirs) do d.mtime = now end
  fs.changed()
  return { created = count, dirname = dirname, subdirs = subdirs, bytes = bytes, extensions = by_ext }
end

return seed
