-- sandbox.handlers.files: stat, readdir, download, upload, mkdir, copy, rename,
-- delete and fetch.

local fs = require "sandbox.fs"
local blob = require "sandbox.blob"
local media = require "sandbox.media"
local http = require "sandbox.http"
local json = require "sandbox.json"
local util = require "sandbox.util"
local config = require "sandbox.config"
local counters = require "sandbox.counters"
local fetcher = require "sandbox.fetcher"
local events = require "sandbox.events"
local ratelimit = require "sandbox.ratelimit"

local ngx = ngx
local ipairs, tonumber, tostring, floor, min = ipairs, tonumber, tostring, math.floor, math.min
local sub, lower, match = string.sub, string.lower, string.match

local files = {}
local H = {}
files.handlers = H

local PAGE = 100

-- an fs error as a Sirv answer; fs conflicts look like Sirv's RiakFsError
local function fs_error(status, message)
  if status == 409 then
    return http.boom(409, message, { name = "RiakFsError" })
  end
  return http.boom(status, message)
end
files.fs_error = fs_error

local ENTRY_ORDER = { "filename", "mtime", "ctime", "contentType", "size", "isDirectory", "meta" }

-- the stat / readdir view of a node
function files.entry(n, with_name)
  local e = {
    mtime = util.iso(n.mtime),
    size = n.dir and 0 or n.size,
    isDirectory = n.dir,
    meta = n.dir and {} or media.public(n.media),
  }
  if with_name then
    e.filename = n.name
  else
    e.ctime = util.iso(n.ctime)
  end
  if not n.dir then e.contentType = n.ctype end
  return json.ordered(e, ENTRY_ORDER)
end

H.getFilesStat = function(req)
  local n = fs.get(req.args.filename)
  if not n then return http.not_found_file(req.args.filename) end
  return http.json(200, files.entry(n, false))
end

local function encode_cursor(name)
  return util.b64url("c1:" .. name)
end

local function decode_cursor(s)
  local raw = util.b64url_decode(s)
  if not raw or sub(raw, 1, 3) ~= "c1:" then return nil end
  return sub(raw, 4)
end

-- first index in sorted `names` whose name is > last
local function after(names, last)
  local lo, hi = 1, #names + 1
  while lo < hi do
    local mid = floor((lo + hi) / 2)
    if names[mid] <= last then lo = mid + 1 else hi = mid end
  end
  return lo
end

H.getFilesReaddir = function(req)
  local dirname = req.args.dirname
  local d = fs.get(dirname)
  if not d then return http.not_found_file(dirname) end
  if not d.dir then return http.boom(400, "Not a directory: " .. dirname) end
  local names = fs.list(d)
  local start = 1
  if req.args.continuation and req.args.continuation ~= "" then
    local last = decode_cursor(req.args.continuation)
    if not last then return http.bad_request('child "continuation" fails because ["continuation" is not a valid continuation token]') end
    start = after(names, last)
  end
  local contents = json.array()
  local stop = min(#names, start + PAGE - 1)
  for i = start, stop do
    contents[#contents + 1] = files.entry(d.children[names[i]], true)
  end
  local body = { contents = contents }
  if stop < #names then
    body.continuation = encode_cursor(names[stop])
  end
  return http.json(200, body)
end

local function etag(n)
  return '"' .. sub(util.sha1_hex(n.id .. ":" .. tostring(n.mtime) .. ":" .. n.size), 1, 27) .. '"'
end

-- file bytes with Content-Type, ETag, Last-Modified, ranges; used by /cdn too
function files.serve(n)
  local headers = {
    ["content-type"] = n.ctype or "application/octet-stream",
    ["etag"] = etag(n),
    ["last-modified"] = util.http_date(n.mtime),
    ["cache-control"] = "max-age=86400",
    ["accept-ranges"] = "bytes",
  }
  local size = n.size
  local inm = ngx.var.http_if_none_match
  if inm and inm == headers.etag then
    return { status = 304, headers = headers, body = "" }
  end
  local range = ngx.var.http_range
  -- If-Range: the range only while the file is still the one the client saw
  local if_range = ngx.var.http_if_range
  if range and if_range and if_range ~= headers.etag and if_range ~= headers["last-modified"] then
    range = nil
  end
  if range then
    local a, b = match(range, "^bytes=(%d*)%-(%d*)$")
    if a then
      local first, last
      if a == "" then
        local suffix = tonumber(b) or 0
        first, last = size - suffix, size - 1
        if first < 0 then first = 0 end
      else
        first = tonumber(a)
        last = b ~= "" and tonumber(b) or size - 1
      end
      if last > size - 1 then last = size - 1 end
      if first >= size or first > last then
        headers["content-range"] = "bytes */" .. size
        headers["content-type"] = nil
        return { status = 416, headers = headers, body = "" }
      end
      headers["content-range"] = "bytes " .. first .. "-" .. last .. "/" .. size
      counters.transfer(last - first + 1)
      return { status = 206, headers = headers, source = blob.source(n.blob, first, last - first + 1) }
    end
  end
  counters.transfer(size)
  return { status = 200, headers = headers, source = blob.source(n.blob) }
end

H.getFilesDownload = function(req)
  local n = fs.get(req.args.filename)
  if not n then return http.not_found_file(req.args.filename) end
  if n.dir then return http.boom(400, "Is a directory: " .. req.args.filename) end
  return files.serve(n)
end

-- the content type an upload is stored with: the request's, unless it is a
-- generic one a client sends by default, then a guess from the extension
local generic_types = {
  ["application/x-www-form-urlencoded"] = true,
  ["application/octet-stream"] = true,
  ["multipart/form-data"] = true,
  [""] = true,
}
function files.content_type(header, path)
  local ct = header and lower(match(header, "^%s*([^;%s]+)") or "") or ""
  if generic_types[ct] then
    return util.mime_for(path)
  end
  if util.extension(path) == ".spin" or util.extension(path) == ".view" then
    return "application/json"
  end
  return ct
end

-- store a finished blob at path (after an upload, fetch or tus upload)
function files.store(path, b, ctype)
  local m = media.for_upload(ctype, blob.head(b, 65536))
  return fs.write_file(path, { blob = b, ctype = ctype, media = m })
end

H.postFilesUpload = function(req)
  local path = req.args.filename
  if path == "/" then return http.bad_request("Cannot upload to the root folder") end
  local existing = fs.get(path)
  if existing and existing.dir then return fs_error(409, "Path is a directory: " .. path) end
  local len = tonumber(ngx.var.http_content_length or "")
  if len and len > config.max_upload then
    return http.boom(413, "Payload content length greater than maximum allowed: " .. config.max_upload)
  end
  local b, err = blob.from_request()
  if not b then
    return http.boom(400, "Upload failed: " .. tostring(err))
  end
  local n, st, msg = files.store(path, b, files.content_type(ngx.var.http_content_type, path))
  if not n then
    blob.unref(blob.ref(b))
    return fs_error(st, msg)
  end
  return http.empty(200)
end

H.postFilesMkdir = function(req)
  local d, st, msg = fs.mkdir(req.args.dirname)
  if not d then return fs_error(st, msg) end
  return http.empty(200)
end

H.postFilesCopy = function(req)
  local n, st, msg = fs.copy(req.args.from, req.args.to)
  if not n then return fs_error(st, msg) end
  return http.empty(200)
end

H.postFilesRename = function(req)
  local n, st, msg = fs.rename(req.args.from, req.args.to)
  if not n then return fs_error(st, msg) end
  return http.empty(200)
end

H.postFilesDelete = function(req)
  local n, st, msg = fs.remove(req.args.filename)
  if not n then return fs_error(st, msg) end
  return http.empty(200)
end

---------------------------------------------------------------------------
-- fetch

local function fetch_one(item, remote_addr)
  local now = util.now()
  local path = fs.normalize(item.filename)
  local attempt = {
    url = item.url,
    initiator = { type = "api", remoteAddr = remote_addr, date = util.iso(now) },
  }
  local result = {
    filename = item.filename, success = false, attempted = false,
    attempts = json.array({ attempt }),
    retryAfter = util.iso(now + 86400),
  }
  ratelimit.count("fetch:file")
  local existing = fs.get(path)
  if existing and existing.dir then
    attempt.error = { name = "Error", message = "Path is a directory: " .. path }
    attempt.date = util.iso(util.now())
    return result
  end
  local w = blob.writer()
  local res = fetcher.get(item.url, { auth = item.auth, sink = w.write })
  attempt.timing = res.timing
  attempt.date = util.iso(util.now())
  if res.code then
    attempt.statusCode = res.code
    local headers = { result = { version = res.version, code = res.code, reason = res.reason } }
    for _, kv in ipairs(res.order) do headers[kv[1]] = kv[2] end
    attempt.headers = headers
  end
  if res.error or res.code ~= 200 then
    w.abort()
    attempt.error = {
      name = "Error",
      message = res.error or ("Request not successful: expected status code 200 but got " .. tostring(res.code)),
    }
    events.add({
      module = "fetching", type = "http", level = "error", filename = item.filename,
      fetching = {
        url = item.url, statusCode = res.code, maxFilesize = 2097152,
        contentLength = res.headers and res.headers["content-length"] or nil,
        error = attempt.error.message,
      },
      initiator = attempt.initiator,
    })
    return result
  end
  local b = w.finish()
  local ct = res.headers["content-type"]
  local n, _, msg = files.store(path, b, files.content_type(ct, path))
  if not n then
    blob.unref(blob.ref(b))
    attempt.error = { name = "Error", message = msg }
    return result
  end
  result.success = true
  return result
end

H.postFilesFetch = function(req)
  local out = json.array()
  local addr = ngx.var.remote_addr
  for i, item in ipairs(req.body) do
    out[i] = fetch_one(item, addr)
  end
  return http.json(200, out)
end

return files
