-- sandbox.sv.api: the signed SpareVideos API under /api/v1 (sparevideos-api.md §4).
--
--   GET  /upload/initiate               upload/initiate  -> {server, ref, token}
--   GET  /upload/conversion/initiate    upload/convert   -> {code}  (100031 when asked twice)
--   GET  /me/file                       file/get         -> {extension, playtime, thumbnail, streams}
--   POST /me/file  _method=PUT          file/update      -> {}      (thumbnail from the list)
--   GET  /me/files[?page=N]             files/get        -> {currentPage, lastPage, nextPageUrl, codes}
--   POST /me/files _method=DELETE       files/delete     -> {}      (codes inside the token)
-- The token comes in the query (or, for a POST, the form body). Errors are the
-- JSON envelope with HTTP 200.

local config = require "sandbox.config"
local json = require "sandbox.json"
local util = require "sandbox.util"
local state = require "sandbox.sv.state"
local sign = require "sandbox.sv.sign"
local reply = require "sandbox.sv.reply"
local media = require "sandbox.sv.media"

local ngx = ngx
local type, tonumber, floor, ceil, max = type, tonumber, math.floor, math.ceil, math.max

local api = {}

local PREFIX = "/api/v1"

-- query args (first value of each)
local function query()
  local args = ngx.req.get_uri_args(100)
  local out = {}
  for k, v in pairs(args) do
    if type(v) == "table" then v = v[1] end
    if v ~= true then out[k] = v end
  end
  return out
end

-- the form body of a POST (small): table
local function form()
  ngx.req.read_body()
  local args = ngx.req.get_post_args(100) or {}
  local out = {}
  for k, v in pairs(args) do
    if type(v) == "table" then v = v[1] end
    if v ~= true then out[k] = v end
  end
  return out
end

local function file_of(payload)
  local code = payload.file_code
  if type(code) ~= "string" or code == "" then return nil, reply.fail(1000, "Generic error: file_code is required") end
  local f = state.files[code]
  if not f then return nil, reply.fail(404) end
  return f
end

local function initiate()
  if config.sv_max_files > 0 and state.live >= config.sv_max_files then return reply.fail(10006) end
  local now = state.now()
  local ref = state.new_ref(now)
  local expires = now + 3600
  local token = sign.upload_token(ref, expires, now)
  state.refs[ref] = { ref = ref, token = token, created = now, expires = expires, progress = 0 }
  return reply.ok({ server = util.base_url() .. "/fileservers/upload", ref = ref, token = token },
    { "server", "ref", "token" })
end

local function convert(payload)
  local f, res = file_of(payload)
  if not f then return res end
  if f.convert_at then return reply.fail(100031) end
  local now = state.now()
  f.convert_at = now
  f.ready_at = now + config.sv_convert_seconds
  f.sd_only = payload.convert_sd_only == true
  f.mp4_only = payload.convert_mp4_only == true
  return reply.ok({ code = f.code }, { "code" })
end

local function file_get(payload)
  local f, res = file_of(payload)
  if not f then return res end
  local conv = state.conversion(f)
  if conv == "none" then return reply.fail(100030) end
  local streams = conv == "ready" and media.streams(f) or json.array()
  return reply.ok({
    extension = f.extension, playtime = max(1, floor(f.size / 200000)),
    thumbnail = media.thumbnail_url(f), streams = streams,
  }, { "extension", "playtime", "thumbnail", "streams" })
end

local function file_update(payload)
  local f, res = file_of(payload)
  if not f then return res end
  local name = payload.thumbnail
  if type(name) ~= "string" or not media.has_thumbnail(f, name) then
    return reply.fail(404, "Not found: no such thumbnail")
  end
  f.selected = name
  return reply.ok({}, {})
end

local function files_get()
  local size = config.sv_page_size
  local total = #state.order
  local last = max(1, ceil(total / size))
  local page = tonumber(query().page or "1")
  if not page or page < 1 or page ~= floor(page) then page = 1 end
  local codes = json.array()
  for i = (page - 1) * size + 1, math.min(total, page * size) do codes[#codes + 1] = state.order[i] end
  local next_url = json.null
  if page < last then next_url = util.base_url() .. PREFIX .. "/me/files?page=" .. (page + 1) end
  return reply.ok({ currentPage = page, lastPage = last, nextPageUrl = next_url, codes = codes },
    { "currentPage", "lastPage", "nextPageUrl", "codes" })
end

local function files_delete(payload)
  local codes = payload.codes
  if not json.is_array(codes) or #codes == 0 then return reply.fail(1000, "Generic error: codes must be a non-empty list") end
  for _, c in ipairs(codes) do
    if type(c) ~= "string" then return reply.fail(1000, "Generic error: codes must be strings") end
    if not state.files[c] then return reply.fail(404, "Not found: " .. c) end
  end
  state.delete(codes)
  return reply.ok({}, {})
end

-- route: "METHOD /path" -> { signed method, signed action, handler, form _method }
local routes = {
  ["GET /upload/initiate"] = { "upload", "initiate", initiate },
  ["GET /upload/conversion/initiate"] = { "upload", "convert", convert },
  ["GET /me/file"] = { "file", "get", file_get },
  ["POST /me/file"] = { "file", "update", file_update, { PUT = true, UPDATE = true } },
  ["GET /me/files"] = { "files", "get", files_get },
  ["POST /me/files"] = { "files", "delete", files_delete, { DELETE = true } },
}

-- handle /api/v1/* (after faults and counters): a response table
function api.handle(method, uri)
  local path = uri:sub(#PREFIX + 1)
  local route = routes[method .. " " .. path]
  if not route then return reply.fail(404) end
  local q = query()
  local token = q.token
  if method == "POST" then
    local body = form()
    if route[4] and not route[4][body._method or ""] then return reply.fail(404, "Not found: unknown _method") end
    token = token or body.token
  end
  local payload, code, message = sign.verify(token, route[1], route[2], method .. " " .. uri)
  if not payload then return reply.fail(code, message) end
  return route[3](payload)
end

return api
