-- sandbox.blob: file bytes. A blob is one of
--   { kind = "file",   id = "...", size = n }        bytes in <state>/blobs/<id>
--   { kind = "inline", data = "...", size = n }      small bytes kept in memory
--   { kind = "gen",    seed = n, size = n, magic = "jpg" }  deterministic bytes made on read
-- Blobs are immutable; files share them on copy (blob.ref / blob.unref count uses and
-- the bytes on disk go when the last user does).

local util = require "sandbox.util"

local ngx = ngx
local io_open, os_remove, os_rename = io.open, os.remove, os.rename
local min, floor, ceil = math.min, math.floor, math.ceil
local char, rep, sub, concat = string.char, string.rep, string.sub, table.concat
local tonumber, tostring = tonumber, tostring

local blob = {}

local dir = "/tmp"
local CHUNK = 65536
local INLINE_MAX = 16384

function blob.init(state_dir)
  dir = state_dir .. "/blobs"
  os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "'")
end

function blob.dir()
  return dir
end

function blob.path(b)
  return dir .. "/" .. b.id
end

function blob.ref(b)
  b.refs = (b.refs or 0) + 1
  return b
end

function blob.unref(b)
  if not b then return end
  b.refs = (b.refs or 1) - 1
  if b.refs <= 0 and b.kind == "file" then
    os_remove(blob.path(b))
  end
end

function blob.from_string(s)
  if #s <= INLINE_MAX then
    return { kind = "inline", data = s, size = #s }
  end
  local id = util.random_id(24)
  local f = assert(io_open(dir .. "/" .. id, "wb"))
  f:write(s)
  f:close()
  return { kind = "file", id = id, size = #s }
end

-- a writer for a new file blob: w:write(s), w:finish() -> blob, w:abort()
function blob.writer()
  local id = util.random_id(24)
  local tmp = dir .. "/" .. id .. ".part"
  local f, err = io_open(tmp, "wb")
  if not f then return nil, err end
  local size = 0
  local w = {}
  function w.write(s)
    size = size + #s
    return f:write(s)
  end
  function w.finish()
    f:close()
    local ok, rerr = os_rename(tmp, dir .. "/" .. id)
    if not ok then
      os_remove(tmp)
      return nil, rerr
    end
    return { kind = "file", id = id, size = size }
  end
  function w.abort()
    f:close()
    os_remove(tmp)
  end
  function w.size()
    return size
  end
  return w
end

-- copy `len` bytes of the request body from the raw socket into w.
-- returns true | nil, message
function blob.pump_request(w, len)
  if len == 0 then return true end
  local sock, err = ngx.req.socket()
  if not sock then return nil, "cannot read body: " .. tostring(err) end
  sock:settimeouts(60000, 60000, 60000)
  local remaining = len
  while remaining > 0 do
    local data, rerr, partial = sock:receive(min(CHUNK, remaining))
    data = data or partial
    if data and #data > 0 then
      w.write(data)
      remaining = remaining - #data
    end
    if rerr then
      if remaining > 0 then return nil, "client aborted the upload: " .. rerr end
    end
  end
  return true
end

-- the whole request body into a new file blob, without holding it in memory.
-- returns blob | nil, message
function blob.from_request()
  local w, err = blob.writer()
  if not w then return nil, err end
  local len = tonumber(ngx.var.http_content_length or "")
  local ok, perr
  if len then
    ok, perr = blob.pump_request(w, len)
  else
    -- chunked or unknown length: let nginx buffer it (to a temp file when large)
    ngx.req.read_body()
    local data = ngx.req.get_body_data()
    if data then
      w.write(data)
      ok = true
    else
      local file = ngx.req.get_body_file()
      if file then
        local f = io_open(file, "rb")
        if f then
          while true do
            local s = f:read(CHUNK)
            if not s then break end
            w.write(s)
          end
          f:close()
        end
      end
      ok = true
    end
  end
  if not ok then
    w.abort()
    return nil, perr
  end
  return w.finish()
end

---------------------------------------------------------------------------
-- deterministic generated content (seeded files)

local magics = {
  jpg = "\255\216\255\224\0\16JFIF\0\1\1\0\0\1\0\1\0\0",
  png = "\137PNG\r\n\26\n\0\0\0\13IHDR",
  gif = "GIF89a",
  mp4 = "\0\0\0\24ftypmp42\0\0\0\0mp42isom",
  mov = "\0\0\0\20ftypqt  \0\0\0\0",
  pdf = "%PDF-1.4\n%\226\227\207\211\n",
  webp = "RIFF\0\0\0\0WEBPVP8 ",
  zip = "PK\3\4",
}

local blocks = {}   -- seed -> 4096-byte pattern (small cache)
local nblocks = 0

local function pattern(seed)
  local b = blocks[seed]
  if b then return b end
  local x = seed % 2147483647
  if x <= 0 then x = x + 2147483646 end
  local t = {}
  for i = 1, 4096 do
    x = (x * 16807) % 2147483647
    t[i] = char(x % 256)
  end
  b = concat(t)
  if nblocks > 256 then blocks, nblocks = {}, 0 end
  blocks[seed] = b
  nblocks = nblocks + 1
  return b
end

local function gen_read(b, off, n)
  if off >= b.size then return "" end
  n = min(n, b.size - off)
  local p = pattern(b.seed)
  local start = off % 4096
  local s = sub(rep(p, ceil((start + n) / 4096) + 1), start + 1, start + n)
  local magic = magics[b.magic]
  if magic and off < #magic then
    local m = sub(magic, off + 1, min(#magic, off + n))
    s = m .. sub(s, #m + 1)
  end
  return s
end

function blob.generated(seed, size, magic)
  return { kind = "gen", seed = floor(seed), size = size, magic = magic }
end

---------------------------------------------------------------------------
-- reading

-- a response source { length, read(off, n) } over the blob bytes [first, first+len)
function blob.source(b, first, len)
  first = first or 0
  len = len or (b.size - first)
  if b.kind == "inline" then
    return { length = len, read = function(off, n) return sub(b.data, first + off + 1, first + off + n) end }
  elseif b.kind == "gen" then
    return { length = len, read = function(off, n) return gen_read(b, first + off, n) end }
  end
  local f
  return {
    length = len,
    read = function(off, n)
      if not f then
        f = io_open(blob.path(b), "rb")
        if not f then return nil end
      end
      f:seek("set", first + off)
      local s = f:read(n)
      return s
    end,
    close = function() if f then f:close() f = nil end end,
  }
end

-- the first n bytes (for media sniffing)
function blob.head(b, n)
  local src = blob.source(b, 0, min(n, b.size))
  local s = src.read(0, min(n, b.size)) or ""
  if src.close then src.close() end
  return s
end

-- the whole content (small blobs only: zip building, conversions)
function blob.read_all(b, cap)
  if b.size > (cap or 64 * 1024 * 1024) then return nil, "too large" end
  local src = blob.source(b)
  local parts, off = {}, 0
  while off < b.size do
    local s = src.read(off, min(CHUNK * 16, b.size - off))
    if not s or #s == 0 then break end
    parts[#parts + 1] = s
    off = off + #s
  end
  if src.close then src.close() end
  return concat(parts)
end

-- iterate the content in chunks: for chunk in blob.chunks(b) do ... end
function blob.chunks(b)
  local src = blob.source(b)
  local off = 0
  return function()
    if off >= b.size then
      if src.close then src.close() end
      return nil
    end
    local s = src.read(off, min(CHUNK, b.size - off))
    if not s or #s == 0 then
      if src.close then src.close() end
      return nil
    end
    off = off + #s
    return s
  end
end

-- forget every stored byte
function blob.remove_all()
  os.execute("rm -rf '" .. dir:gsub("'", "'\\''") .. "' && mkdir -p '" .. dir:gsub("'", "'\\''") .. "'")
end

return blob
