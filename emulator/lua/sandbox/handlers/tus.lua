-- sandbox.handlers.tus: resumable uploads.
--
-- getFilesTusLocations / getFilesTusUrl hand out <base>/upload/<token>, a tus 1.0
-- endpoint (core + creation, creation-with-upload, termination, expiration) whose
-- token carries its own authorisation and expiry. An upload whose metadata names
-- `filename` lands in the account as soon as its last byte arrives.
-- /v2/upload is the unlisted bearer-authorised variant: finished uploads wait for
-- postUploadToSirv (or postVideoToSpin) to be committed.

local config = require "sandbox.config"
local fs = require "sandbox.fs"
local http = require "sandbox.http"
local json = require "sandbox.json"
local util = require "sandbox.util"
local blob = require "sandbox.blob"
local jwt = require "sandbox.jwt"

local ngx = ngx
local tonumber, tostring, pairs, floor, io_open, os_rename, os_remove =
  tonumber, tostring, pairs, math.floor, io.open, os.rename, os.remove
local gmatch, match, lower = string.gmatch, string.match, string.lower

local tus = {}
local H = {}
tus.handlers = H

local MAX_SIZE = 1024 * 1024 * 1024
local EXPIRY = 24 * 3600
local EXTENSIONS = "creation,creation-with-upload,termination,expiration"

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
  h["access-control-expose-headers"] = "Location, Upload-Offset, Upload-Length, Upload-Metadata, Upload-Expires, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size"
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

local function finish(u)
  local id = util.random_id(24)
  local final = blob.dir() .. "/" .. id
  local ok = os_rename(u.file, final)
  if not ok then return nil, "cannot store the upload" end
  u.file = final
  u.blob = blob.ref({ kind = "file", id = id, size = u.length })
  u.done = true
  if u.autocommit and u.meta.filename then
    local path = fs.normalize(u.meta.filename)
    if path then commit(u, path) end
  end
  return true
end

-- append the request body to u; returns response. default_offset: creation-with-upload
-- (a POST with data) may leave out Upload-Offset, which is then 0
local function append(u, base_headers, default_offset)
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
  if u.offset + len > u.length then
    return tus_error(413, "The chunk goes past Upload-Length")
  end
  local f = io_open(u.file, "ab")
  if not f then return tus_error(500, "Cannot open the upload") end
  local written = 0
  local w = {
    write = function(s)
      written = written + #s
      return f:write(s)
    end,
  }
  local ok, err = blob.pump_request(w, len)
  f:close()
  u.offset = u.offset + written
  if not ok then
    ngx.log(ngx.INFO, "sandbox tus: ", err)
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

local function create(location_base, autocommit)
  if ngx.var.http_upload_defer_length then
    return tus_error(400, "Upload-Defer-Length is not supported")
  end
  local length = tonumber(ngx.var.http_upload_length or "")
  if not length or length < 0 or floor(length) ~= length then
    return tus_error(400, "Missing or invalid Upload-Length header")
  end
  if length > MAX_SIZE then
    return tus_error(413, "Upload-Length exceeds the maximum of " .. MAX_SIZE)
  end
  local meta = parse_metadata(ngx.var.http_upload_metadata)
  if autocommit then
    if not meta.filename or meta.filename == "" then
      return tus_error(400, "Upload-Metadata must carry filename (the destination path)")
    end
    if meta.filename:sub(1, 1) ~= "/" then
      return tus_error(400, '"filename" with value "' .. meta.filename .. '" fails to match the UNIX filename pattern')
    end
  end
  local id = util.random_id(32)
  local u = {
    id = id, length = length, offset = 0, meta = meta, raw_meta = ngx.var.http_upload_metadata,
    file = blob.dir() .. "/tus-" .. id .. ".part", created = util.now(), autocommit = autocommit,
  }
  local f = io_open(u.file, "wb")
  if not f then return tus_error(500, "Cannot create the upload") end
  f:close()
  uploads[id] = u
  local h = tus_headers({ location = location_base .. "/" .. id, ["upload-expires"] = expires_header(u) })
  local body_len = tonumber(ngx.var.http_content_length or "") or 0
  if body_len > 0 then
    local res = append(u, h, 0)
    if res.status ~= 204 then return res end
    res.status = 201
    return res
  end
  if length == 0 then finish(u) end
  return { status = 201, headers = h, body = "" }
end

local function on_upload(method, u)
  if not u then return tus_error(404, "No such upload") end
  if method == "HEAD" then
    local h = tus_headers({
      ["upload-offset"] = tostring(u.offset), ["upload-length"] = tostring(u.length),
      ["cache-control"] = "no-store", ["upload-expires"] = expires_header(u),
    })
    if u.raw_meta then h["upload-metadata"] = u.raw_meta end
    return { status = 200, headers = h, body = "" }
  elseif method == "PATCH" then
    if u.done then
      return tus_error(409, "Upload-Offset mismatch: the upload is complete")
    end
    return append(u)
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
      ["tus-version"] = "1.0.0", ["tus-extension"] = EXTENSIONS, ["tus-max-size"] = tostring(MAX_SIZE),
      ["access-control-allow-methods"] = "POST, HEAD, PATCH, DELETE, OPTIONS",
      ["access-control-allow-headers"] = "Authorization, Content-Type, Location, Tus-Extension, Tus-Max-Size, Tus-Resumable, Tus-Version, Upload-Defer-Length, Upload-Length, Upload-Metadata, Upload-Offset",
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

function tus.stats_key(uri)
  if match(uri, "^/upload/[^/]+/[^/]+$") then return "/upload/{token}/{id}" end
  return "/upload/{token}"
end

-- /upload/<token>[/<id>]
function tus.handle(method, uri)
  local token, id = match(uri, "^/upload/([^/]+)/?([^/]*)$")
  if not token then return tus_error(404, "Not Found") end
  local claims = jwt.verify(token, config.signing_key)
  if not claims or claims.aud ~= "tus" then
    return tus_error(401, "Invalid upload URL")
  end
  if util.now() + (config.token_clock_offset or 0) >= (claims.exp or 0) then
    return tus_error(401, "Expired upload URL")
  end
  if method == "OPTIONS" then return options_response() end
  local bad = check_version(method)
  if bad then return bad end
  if id == "" then
    if method ~= "POST" then return tus_error(405, "Method not allowed") end
    return create(util.base_url() .. "/upload/" .. token, true)
  end
  return on_upload(method, uploads[id])
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
    return http.bad_request('child "spinDirname" fails because ["spinDirname" with value "' .. req.body.spinDirname .. '" fails to match the UNIX filename pattern]')
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
