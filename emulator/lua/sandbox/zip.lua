-- sandbox.zip: writes a ZIP archive (stored entries, data descriptors) in a
-- streaming way; CRC-32 from the zlib nginx is linked against.

local ffi = require "ffi"
local blob = require "sandbox.blob"

local char, floor, concat, ipairs, os_date, pcall, tonumber = string.char, math.floor, table.concat, ipairs, os.date, pcall, tonumber

local zip = {}

ffi.cdef [[
unsigned long crc32(unsigned long crc, const unsigned char *buf, unsigned int len);
]]

local z
do
  local ok = pcall(function() return ffi.C.crc32 end)
  z = ok and ffi.C or ffi.load("libz.so.1")
end

local function crc32(crc, s)
  return tonumber(z.crc32(crc, s, #s))
end

local function u16(n)
  return char(n % 256, floor(n / 256) % 256)
end

local function u32(n)
  return char(n % 256, floor(n / 256) % 256, floor(n / 65536) % 256, floor(n / 16777216) % 256)
end

local function dos_time(t)
  local d = os_date("!*t", floor(t))
  local time = floor(d.sec / 2) + d.min * 32 + d.hour * 2048
  local date = d.day + d.month * 32 + (d.year - 1980) * 512
  if d.year < 1980 then date = 33 end
  return time, date
end

-- build(entries, w): entries = { {name=, blob=, mtime=} ... }; w = blob.writer()
-- returns the archive size
function zip.build(entries, w)
  local offset = 0
  local central = {}
  local function put(s)
    w.write(s)
    offset = offset + #s
  end
  for _, e in ipairs(entries) do
    local time, date = dos_time(e.mtime or 0)
    local start = offset
    put("PK\3\4" .. u16(20) .. u16(0x0808) .. u16(0) .. u16(time) .. u16(date)
      .. u32(0) .. u32(0) .. u32(0) .. u16(#e.name) .. u16(0) .. e.name)
    local crc, size = 0, 0
    for chunk in blob.chunks(e.blob) do
      crc = crc32(crc, chunk)
      size = size + #chunk
      put(chunk)
    end
    put("PK\7\8" .. u32(crc) .. u32(size) .. u32(size))
    central[#central + 1] = "PK\1\2" .. u16(20) .. u16(20) .. u16(0x0808) .. u16(0) .. u16(time) .. u16(date)
      .. u32(crc) .. u32(size) .. u32(size) .. u16(#e.name) .. u16(0) .. u16(0) .. u16(0) .. u16(0)
      .. u32(0) .. u32(start) .. e.name
  end
  local cd = concat(central)
  local cd_start = offset
  put(cd)
  put("PK\5\6" .. u16(0) .. u16(0) .. u16(#entries) .. u16(#entries) .. u32(#cd) .. u32(cd_start) .. u16(0))
  return offset
end

return zip
