-- sandbox.handlers.tus: resumable uploads.
--
-- getFilesTusLocations / getFilesTusUrl hand out <base>/upload/<token>, a tus 1.0
-- endpoint (core + creation, creation-with-upload, termination, expiration,
-- checksum (sha1, sha256), concatenation) whose token carries its own
-- authorisation, location and expiry. An upload whose metadata names `filename`
-- lands in the account when its last byte arrives (after the visibility delay
-- knob). Knobs (GET/POST /_sandbox/tus): chunk_cap (bytes per request, default
-- 1 MiB as Sirv's; 0 = none), max_size (1 GiB), visibility_delay (seconds),
-- locations = {id = {latency_ms = N}}. Fault actions for /upload/*: reset_body
-- (bytes = N: keep N bytes of the PATCH body, then drop the connection),
-- lose_upload (forget the upload, 404), expired_url (401), corrupt (flip a byte
-- of the PATCH body as it arrives); the router's stall/status/latency apply too.
-- /v2/upload is the unlisted bearer-authorised variant: finished uploads wait for
-- postUploadToSirv (or postVideoToSpin) to be committed.

local config = require "sandbox.config"
local fs = require "sandbox.fs"
local http = require "sandbox.http"
local json = require "sandbox.json"
local util = require "sandbox.util"
local blob = require "sandbox.blob"
local jwt = require "sandbox.jwt"
local digest = require "sandbox.digest"

local ngx = ngx
local tonumber, tostring, pairs, ipairs, type, floor, min, io_open, os_rename, os_remove =
  tonumber, tostring, pairs, ipairs, type, math.floor, math.min, io.open, os.rename, os.remove
local gmatch, match, lower = string.gmatch, string.match, string.lower

local tus = {}
local H = {}
tus.handlers = H

local EXPIRY = 24 * 3600
local EXTENSIONS = "creation,creation-with-upload,termination,expiration,checksum,concatenation"
local CHECKSUMS = "sha1,sha256"

-- runtime knobs (GET/POST /_sandbox/tus)
local knobs = { chunk_cap = 1024 * 1024, max_size = 1024 * 1024 * 1024, visibility_delay = 0 }
local location_latency = {}   -- location id -> ms

local uploads = {}   -- id -> upload

tus.locations = {
  { id = "sandbox", name = "Sandbox (loopback)" },
  { id = "us_washington", name = "Washington, US (sandbox)" },
  { id = "gb_london", name = "London, UK (sandbox)" },
  { id = "de_frankfurt", name = "Frankfurt, DE (sandbox)" },
}

function tus.reset()
  for _, u in pairs(uploads) do
    os_remove(u.file)
    if u.blob then blob.unref(u.blob) end
  end
  uploads = {}
end

local function tus_headers(h)
  h = h or {}
  h["tus-resumable"] = "1.0.0"
  h["access-control-allow-origin"] = "*"
  h["access-control-expose-headers"] = "Location, Upload-Offset, Upload-Length, Upload-Metadata, Upload-Expires, "
    .. "Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size"
  return h
end

local function tus_error(status, message)
  local res = http.boom(status, message)
  tus_headers(res.headers)
  return res
end

-- "filename L2EuanBn,filetype aW1hZ2UvanBlZw==" -> {filename = "/a.jpg", ...}
local function parse_metadata(s)
  local out = {}
  if not s or s == "" then return out end
  for pair in gmatch(s, "[^,]+") do
    local k, v = match(pair, "^%s*(%S+)%s*(%S*)%s*$")
    if k then
      out[k] = v ~= "" and (ngx.decode_base64(v) or "") or ""
    end
  end
  return out
end

local function expires_header(u)
  return util.http_date(u.created + EXPIRY)
end

-- commit a finished upload into the account at `path`
local function commit(u, path)
  local files = require "sandbox.handlers.files"
  local ct = u.meta.filetype or u.meta.contentType or u.meta.type
  local ok, st, msg = files.store(path, u.blob, files.content_type(ct, path))
  if not ok then return nil, st, msg end
  u.committed = path
  return true
end

-- a finished upload: its bytes become a blob; Sirv's flow commits it to
-- metadata.filename (after the visibility delay: Sirv shows it 1-4 s later)
local function finish(u)
  local id = util.random_id(24)
  local final = blob.dir() .. "/" .. id
  local ok = os_rename(u.file, final)
  if not ok then return nil, "cannot store the upload" end
  u.file = final
  u.blob = blob.ref({ kind = "file", id = id, size = u.length })
  u.done = true
  if u.autocommit and u.meta.filename and not u.partial then
    local path = fs.normalize(u.meta.filename)
    if path then
      if knobs.visibility_delay > 0 then
        ngx.timer.at(knobs.visibility_delay, function(premature)
          if not premature and uploads[u.id] == u then commit(u, path) end
        end)
      else
        commit(u, path)
      end
    end
  end
  return true
end

-- "sha256 <base64>" -> algo, raw digest | nil, response
local function parse_checksum(v)
  if not v then return nil end
  local algo, b64 = match(v, "^%s*(%S+)%s+(%S+)%s*$")
  if not algo or not digest.supported[lower(algo)] then
    return nil, nil, tus_error(400, "Unsupported checksum algorithm (supported: " .. CHECKSUMS .. ")")
  end
  local raw = ngx.decode_base64(b64)
  if not raw then return nil, nil, tus_error(400, "Invalid Upload-Checksum value") end
  return lower(algo), raw
end

-- append the request body to u; returns response. default_offset: creation-with-upload
-- (a POST with data) may leave out Upload-Offset, which is then 0. rule: a fault
-- (reset_body, corrupt) to apply to this body
local function append(u, base_headers, default_offset, rule)
  local ct = lower(ngx.var.http_content_type or "")
  if not ct:find("^application/offset%+octet%-stream") then
    return tus_error(415, "Content-Type must be application/offset+octet-stream")
  end
  local offset = tonumber(ngx.var.http_upload_offset or "") or default_offset
  if offset == nil then return tus_error(400, "Missing or invalid Upload-Offset header") end
  if offset ~= u.offset then
    return tus_error(409, "Upload-Offset mismatch: the upload is at " .. u.offset)
  end
  local len = tonumber(ngx.var.http_content_length or "")
  if not len then return tus_error(411, "Content-Length required") end
  if knobs.chunk_cap > 0 and len > knobs.chunk_cap then
    return tus_error(413, "Chunks are limited to " .. knobs.chunk_cap .. " bytes")
  end
  if u.offset + len > u.length then
    return tus_error(413, "The chunk goes past Upload-Length")
  end
  local algo, want, cres = parse_checksum(ngx.var.http_upload_checksum)
  if cres then return cres end
  local f = io_open(u.file, "ab")
  if not f then return tus_error(500, "Cannot open the upload") end
  -- with a checksum the chunk is held until it is verified (chunks are capped)
  local held, d = algo and {} or nil, algo and digest.new(algo) or nil
  local written, limit = 0, len
  local corrupt = rule and rule.action == "corrupt"
  if rule and rule.action == "reset_body" then limit = min(len, floor(rule.bytes or len / 2)) end
  local w = {
    write = function(s)
      if corrupt and #s > 0 then
        s = string.char((s:byte(1) + 1) % 256) .. s:sub(2)
        corrupt = false
      end
      written = written + #s
      if held then
        held[#held + 1] = s
        d:update(s)
        return true
      end
      return f:write(s)
    end,
  }
  local ok, err = blob.pump_request(w, limit)
  if ok and limit < len then ok, err = false, "reset by the sandbox's reset_body fault" end
  if held and ok then
    if d:final() ~= want then
      f:close()
      return tus_error(460, "Checksum mismatch: the chunk was discarded")
    end
    for _, s in ipairs(held) do f:write(s) end
  end
  f:close()
  if not held or ok then u.offset = u.offset + written end
  if not ok then
    ngx.log(ngx.INFO, "sandbox tus: ", err)
    if rule and rule.action == "reset_body" then return "drop" end
    return tus_error(400, "Upload interrupted at " .. u.offset)
  end
  if u.offset == u.length and not u.done then
    local fok, ferr = finish(u)
    if not fok then return tus_error(500, ferr) end
  end
  local h = tus_headers(base_headers or {})
  h["upload-offset"] = tostring(u.offset)
  h["upload-expires"] = expires_header(u)
  return { status = 204, headers = h, body = "" }
end

local function new_upload(length, meta, raw_meta, autocommit)
  local id = util.random_id(32)
  local u = {
    id = id, length = length, offset = 0, meta = meta, raw_meta = raw_meta,
    file = blob.dir() .. "/tus-" .. id .. ".part", created = util.now(), autocommit = autocommit,
  }
  local f = io_open(u.file, "wb")
  if not f then return nil end
  f:close()
  uploads[id] = u
  return u
end

-- Upload-Concat: final;<url> <url>: a new finished upload made of the partials
local function create_final(location_base, autocommit, list, meta, raw_meta)
  local parts, total = {}, 0
  for url in gmatch(list, "%S+") do
    local pid = match(url, "([^/]+)$")
    local p = pid and uploads[pid]
    if not p or not p.partial then return tus_error(400, "Not a partial upload: " .. url) end
    if not p.done then return tus_error(400, "The partial upload is not complete: " .. url) end
    parts[#parts + 1] = p
    total = total + p.length
  end
  if #parts == 0 then return tus_error(400, "Upload-Concat final lists no uploads") end
  if total > knobs.max_size then
    return tus_error(413, "Upload-Length exceeds the maximum of " .. knobs.max_size)
  end
  local u = new_upload(total, meta, raw_meta, autocommit)
  if not u then return tus_error(500, "Cannot create the upload") end
  u.final = list
  local out = io_open(u.file, "wb")
  for _, p in ipairs(parts) do
    local src = io_open(p.file, "rb")
    while src do
      local s = src:read(65536)
      if not s then break end
      out:write(s)
    end
    if src then src:close() end
  end
  out:close()
  u.offset = total
  finish(u)
  return { status = 201, body = "", headers = tus_headers({
    location = location_base .. "/" .. u.id, ["upload-expires"] = expires_header(u) }) }
end

local function create(location_base, autocommit, rule)
  if ngx.var.http_upload_defer_length then
    return tus_error(400, "Upload-Defer-Length is not supported")
  end
  local meta = parse_metadata(ngx.var.http_upload_metadata)
  local concat = ngx.var.http_upload_concat
  local partial = concat == "partial"
  if autocommit and not partial then
    if not meta.filename or meta.filename == "" then
      return tus_error(400, "Upload-Metadata must carry filename (the destination path)")
    end
    if meta.filename:sub(1, 1) ~= "/" then
      return tus_error(400, '"filename" with value "' .. meta.filename .. '" fails to match the UNIX filename pattern')
    end
  end
  if concat and not partial then
    local list = match(concat, "^final;(.*)$")
    if not list then return tus_error(400, "Invalid Upload-Concat header") end
    return create_final(location_base, autocommit, list, meta, ngx.var.http_upload_metadata)
  end
  local length = tonumber(ngx.var.http_upload_length or "")
  if not length or length < 0 or floor(length) ~= length then
    return tus_error(400, "Missing or invalid Upload-Length header")
  end
  if length > knobs.max_size then
    return tus_error(413, "Upload-Length exceeds the maximum of " .. knobs.max_size)
  end
  local u = new_upload(length, meta, ngx.var.http_upload_metadata, autocommit)
  if not u then return tus_error(500, "Cannot create the upload") end
  u.partial = partial
  local h = tus_headers({ location = location_base .. "/" .. u.id, ["upload-expires"] = expires_header(u) })
  local body_len = tonumber(ngx.var.http_content_length or "") or 0
  if body_len > 0 then
    local res = append(u, h, 0, rule)
    if res == "drop" or res.status ~= 204 then return res end
    res.status = 201
    return res
  end
  if length == 0 then finish(u) end
  return { status = 201, headers = h, body = "" }
end

local function on_upload(method, u, rule)
  if not u then return tus_error(404, "No such upload") end
  if method == "HEAD" then
    local h = tus_headers({
      ["upload-offset"] = tostring(u.offset), ["upload-length"] = tostring(u.length),
      ["cache-control"] = "no-store", ["upload-expires"] = expires_header(u),
    })
    if u.raw_meta then h["upload-metadata"] = u.raw_meta end
    if u.partial then h["upload-concat"] = "partial" end
    if u.final then h["upload-concat"] = "final;" .. u.final end
    return { status = 200, headers = h, body = "" }
  elseif method == "PATCH" then
    if u.final then return tus_error(403, "A final upload cannot be patched") end
    if u.done then
      return tus_error(409, "Upload-Offset mismatch: the upload is complete")
    end
    return append(u, nil, nil, rule)
  elseif method == "DELETE" then
    uploads[u.id] = nil
    os_remove(u.file)
    if u.blob then blob.unref(u.blob) end
    return { status = 204, headers = tus_headers(), body = "" }
  end
  return tus_error(405, "Method not allowed")
end

local function options_response()
  return {
    status = 204,
    headers = tus_headers({
      ["tus-version"] = "1.0.0", ["tus-extension"] = EXTENSIONS, ["tus-max-size"] = tostring(knobs.max_size),
      ["tus-checksum-algorithm"] = CHECKSUMS,
      ["access-control-allow-methods"] = "POST, HEAD, PATCH, DELETE, OPTIONS",
      ["access-control-allow-headers"] = "Authorization, Content-Type, Location, Tus-Extension, Tus-Max-Size, "
        .. "Tus-Resumable, Tus-Version, Upload-Checksum, Upload-Concat, Upload-Defer-Length, Upload-Length, "
        .. "Upload-Metadata, Upload-Offset",
    }),
    body = "",
  }
end

local function check_version(method)
  if method == "OPTIONS" then return nil end
  local v = ngx.var.http_tus_resumable
  if v ~= "1.0.0" then
    local res = tus_error(412, "Tus-Resumable header must be 1.0.0")
    res.headers["tus-version"] = "1.0.0"
    return res
  end
  return nil
end

-- knobs: GET/POST /_sandbox/tus
function tus.knobs()
  local locs = {}
  for _, l in pairs(tus.locations) do
    locs[l.id] = { latency_ms = location_latency[l.id] or 0 }
  end
  return { chunk_cap = knobs.chunk_cap, max_size = knobs.max_size,
    visibility_delay = knobs.visibility_delay, locations = locs }
end

function tus.set_knobs(b)
  for _, k in ipairs({ "chunk_cap", "max_size", "visibility_delay" }) do
    local v = b[k]
    if v ~= nil and (type(v) ~= "number" or v < 0) then return nil, k .. " must be a number >= 0" end
  end
  if b.locations ~= nil then
    if type(b.locations) ~= "table" then return nil, "locations must be an object" end
    for id, l in pairs(b.locations) do
      local known = false
      for _, x in pairs(tus.locations) do if x.id == id then known = true end end
      if not known then return nil, "unknown location " .. tostring(id) end
      if type(l) ~= "table" or type(l.latency_ms) ~= "number" or l.latency_ms < 0 then
        return nil, "locations." .. tostring(id) .. ".latency_ms must be a number >= 0"
      end
    end
    for id, l in pairs(b.locations) do location_latency[id] = l.latency_ms end
  end
  for _, k in ipairs({ "chunk_cap", "max_size", "visibility_delay" }) do
    if b[k] ~= nil then knobs[k] = b[k] end
  end
  return tus.knobs()
end

function tus.reset_knobs()
  knobs = { chunk_cap = 1024 * 1024, max_size = 1024 * 1024 * 1024, visibility_delay = 0 }
  location_latency = {}
end

function tus.stats_key(uri)
  if match(uri, "^/upload/[^/]+/[^/]+$") then return "/upload/{token}/{id}" end
  return "/upload/{token}"
end

-- /upload/<token>[/<id>]; rule: a fault rule the router matched (tus actions
-- reset_body, lose_upload, expired_url, corrupt are applied here)
function tus.handle(method, uri, rule)
  local token, id = match(uri, "^/upload/([^/]+)/?([^/]*)$")
  if not token then return tus_error(404, "Not Found") end
  local claims = jwt.verify(token, config.signing_key)
  if not claims or claims.aud ~= "tus" then
    return tus_error(401, "Invalid upload URL")
  end
  local ms = location_latency[claims.loc or ""]
  if ms and ms > 0 then ngx.sleep(ms / 1000) end
  if (rule and rule.action == "expired_url")
    or util.now() + (config.token_clock_offset or 0) >= (claims.exp or 0) then
    return tus_error(401, "Expired upload URL")
  end
  if method == "OPTIONS" then return options_response() end
  local bad = check_version(method)
  if bad then return bad end
  if id == "" then
    if method ~= "POST" then return tus_error(405, "Method not allowed") end
    return create(util.base_url() .. "/upload/" .. token, true, rule)
  end
  if rule and rule.action == "lose_upload" and uploads[id] then
    local u = uploads[id]
    uploads[id] = nil
    os_remove(u.file)
    if u.blob then blob.unref(u.blob) end
  end
  return on_upload(method, uploads[id], rule)
end

-- /v2/upload and /v2/upload/<id> (bearer-authorised, router did auth)
function tus.v2_upload(req, id)
  local method = req.method
  if method == "OPTIONS" then return options_response() end
  local bad = check_version(method)
  if bad then return bad end
  if not id then
    if method ~= "POST" then return tus_error(405, "Method not allowed") end
    return create(req.base .. "/v2/upload", false)
  end
  return on_upload(method, uploads[id])
end

---------------------------------------------------------------------------
-- REST helpers

H.getFilesTusLocations = function()
  local out = json.array()
  for i, l in pairs(tus.locations) do out[i] = { id = l.id, name = l.name } end
  return http.json(200, out)
end

H.getFilesTusUrl = function(req)
  local loc = req.args.location
  local known = false
  for _, l in pairs(tus.locations) do
    if l.id == loc then known = true end
  end
  if not known then
    return http.bad_request('child "location" fails because ["location" must be one of the ids from /v2/files/tus/locations]')
  end
  local ttl = req.args.expiresIn or 3600
  if ttl < 1 or ttl > 604800 then
    return http.bad_request('child "expiresIn" fails because ["expiresIn" must be between 1 and 604800]')
  end
  local now = floor(util.now())
  local token = jwt.sign({ aud = "tus", loc = loc, iat = now, exp = now + floor(ttl) }, config.signing_key)
  return http.json(200, { url = req.base .. "/upload/" .. token })
end

local function finished_upload(id)
  local u = uploads[id]
  if not u then return nil, http.boom(404, "No such upload: " .. tostring(id)) end
  if not u.done then return nil, http.bad_request("Upload " .. id .. " is not complete") end
  return u
end

H.postUploadToSirv = function(req)
  local u, res = finished_upload(req.body.uploadId)
  if not u then return res end
  local path = fs.normalize(req.body.filename)
  if not path then
    return http.bad_request('child "filename" fails because ["filename" with value "' .. req.body.filename .. '" fails to match the UNIX filename pattern]')
  end
  local ok, st, msg = commit(u, path)
  if not ok then return http.boom(st, msg) end
  return http.json(200, { filename = path, size = u.length })
end

H.postVideoToSpin = function(req)
  local u, res = finished_upload(req.body.uploadId)
  if not u then return res end
  local dir = fs.normalize(req.body.spinDirname)
  if not dir then
    return http.bad_request('child "spinDirname" fails because ["spinDirname" with value "'
      .. req.body.spinDirname .. '" fails to match the UNIX filename pattern]')
  end
  local convert = require "sandbox.handlers.convert"
  local name = util.basename(dir)
  if name == "" then name = "spin" end
  local frames = floor(req.body.frames or 32)
  if frames < 1 then frames = 1 end
  local path, st, msg = convert.make_spin(dir, name, frames, 1280, 720)
  if not path then return http.boom(st, msg) end
  return http.json(200, { filename = path, frames = frames })
end

return tus
