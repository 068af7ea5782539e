-- sandbox.sv.state: what the SpareVideos emulator remembers (per nginx worker, like
-- the Sirv side; the sandbox runs one worker by default).
--
--   refs[ref]   = { ref, token, created, expires, progress (0..100), used, code }
--                 an upload slot handed out by /upload/initiate (single use)
--   files[code] = { code, created, size, blob, extension, name, convert_at (when
--                 conversion was asked), ready_at, sd_only, mp4_only, selected }
--   order       = codes in creation order (the /me/files listing order)
--   seen[key]   = the last signatures presented per "METHOD /path" (for specs that
--                 assert a fresh token per attempt): { signature, expires, verdict }

local blob = require "sandbox.blob"
local util = require "sandbox.util"
local config = require "sandbox.config"

local floor, random, format, concat = math.floor, math.random, string.format, table.concat
local pairs = pairs

local state = {}

local SEEN_MAX = 500
local ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

state.refs, state.files, state.order, state.seen = {}, {}, {}, {}
state.live = 0

-- the SpareVideos clock (moved by config.sv_clock_offset)
function state.now()
  return util.now() + (config.sv_clock_offset or 0)
end

function state.reset()
  for _, f in pairs(state.files) do blob.unref(f.blob) end
  state.refs, state.files, state.order, state.seen = {}, {}, {}, {}
  state.live = 0
end

-- "1488633857-11PYNC": creation time, "-", six alphanumerics (unique)
function state.new_code(t)
  while true do
    local s = {}
    for i = 1, 6 do
      local k = random(1, #ALNUM)
      s[i] = ALNUM:sub(k, k)
    end
    local code = format("%010d-%s", floor(t), concat(s))
    if not state.files[code] then return code end
  end
end

-- "14878002409975802658ae07b05035c": time prefix + random hex, 31 characters
function state.new_ref(t)
  local hex = util.hex(config.random_bytes(11))
  return format("%010d", floor(t)) .. hex
end

function state.add_file(f)
  state.files[f.code] = f
  state.order[#state.order + 1] = f.code
  state.live = state.live + 1
  return f
end

-- remove codes (all known); the order list is compacted lazily by list()
function state.delete(codes)
  for _, c in ipairs(codes) do
    local f = state.files[c]
    if f then
      blob.unref(f.blob)
      state.files[c] = nil
      state.live = state.live - 1
    end
  end
  local keep = {}
  for _, c in ipairs(state.order) do
    if state.files[c] then keep[#keep + 1] = c end
  end
  state.order = keep
end

-- conversion status: "none" | "converting" | "ready"
function state.conversion(f, now)
  if not f.convert_at then return "none" end
  if (now or state.now()) >= f.ready_at then return "ready" end
  return "converting"
end

function state.record(key, signature, expires, verdict)
  local list = state.seen[key]
  if not list then
    list = {}
    state.seen[key] = list
  end
  if #list >= SEEN_MAX then table.remove(list, 1) end
  list[#list + 1] = { signature = signature, expires = expires, verdict = verdict }
end

return state
