-- sandbox.sv.upload: the SpareVideos file server (not part of the signed API).
--
--   POST /fileservers/upload?ref=R&token=T   multipart/form-data with a `file` part
--        (streamed to disk), or a `remote_file` URL (multipart or urlencoded, with
--        ref/token also accepted as body fields) that the server fetches (loopback
--        only) while /progress reports it -> {"status":"success","code":...}
--   GET  /fileservers/upload/progress?ref=R  plain text 0..100 (no token)
-- A ref is single use and expires with its upload token (1 h).

local config = require "sandbox.config"
local blob = require "sandbox.blob"
local util = require "sandbox.util"
local fetcher = require "sandbox.fetcher"
local state = require "sandbox.sv.state"
local sign = require "sandbox.sv.sign"
local reply = require "sandbox.sv.reply"
local multipart = require "sandbox.sv.multipart"

local ngx = ngx
local type, tonumber, tostring, min, floor, format = type, tonumber, tostring, math.min, math.floor, string.format

local upload = {}

local SMALL = 64 * 1024

local function first(v)
  if type(v) == "table" then v = v[1] end
  if v == true then return nil end
  return v
end

-- read(n) over the request body: the raw socket when the length is known, else
-- nginx's buffered body (memory or its temp file). Returns read, total_length.
local function body_reader()
  local len = tonumber(ngx.var.http_content_length or "")
  if len then
    local sock, err = ngx.req.socket()
    if not sock then return function() return nil, "cannot read body: " .. tostring(err) end, len end
    sock:settimeouts(60000, 60000, 60000)
    local left = len
    return function(n)
      if left <= 0 then return nil end
      local data, rerr, partial = sock:receive(min(n, left))
      data = data or partial
      if data and #data > 0 then
        left = left - #data
        return data
      end
      return nil, "client aborted the upload: " .. tostring(rerr)
    end, len
  end
  ngx.req.read_body()
  local data = ngx.req.get_body_data()
  if data then
    local done = false
    return function()
      if done then return nil end
      done = true
      return data
    end, #data
  end
  local path = ngx.req.get_body_file()
  local f = path and io.open(path, "rb")
  return function(n)
    if not f then return nil end
    local s = f:read(n)
    if not s then f:close() f = nil end
    return s
  end, nil
end

-- the ref slot for (ref, token): slot | nil, response
local function slot_for(ref, token)
  local slot = type(ref) == "string" and state.refs[ref]
  if not slot then return nil, reply.fail(10002, "Upload not valid: unknown ref") end
  local ok, why = sign.check_upload(token, ref)
  if not ok then return nil, reply.fail(10002, "Upload not valid: " .. why) end
  if slot.used then return nil, reply.fail(10002, "Upload not valid: the ref was used already") end
  return slot
end

local function new_file(slot, w, name)
  local b, err = w.finish()
  if not b then return reply.fail(10001, "Fileserver process error: " .. tostring(err)) end
  local now = state.now()
  local ext = (util.extension(name or "")):sub(2)
  local f = state.add_file({
    code = state.new_code(now), created = now, size = b.size, blob = blob.ref(b),
    extension = ext ~= "" and ext or "mp4", name = name,
  })
  slot.used, slot.code, slot.progress = true, f.code, 100
  return reply.ok({ code = f.code }, { "code" })
end

-- fetch remote_file into a new file; progress follows the bytes received
local function fetch_remote(slot, url)
  if type(url) ~= "string" or not url:match("^https?://") then
    return reply.fail(10002, "Upload not valid: remote_file must be an http(s) URL")
  end
  slot.used = true -- a second POST on this ref is refused while this one runs
  local w, err = blob.writer()
  if not w then return reply.fail(10001, "Fileserver process error: " .. tostring(err)) end
  local total, got = nil, 0
  local res = fetcher.get(url, {
    on_headers = function(r) total = tonumber(r.headers["content-length"] or "") end,
    sink = function(chunk)
      w.write(chunk)
      got = got + #chunk
      if total and total > 0 then slot.progress = min(99.9, floor(got * 1000 / total) / 10) end
      if config.sv_fetch_rate > 0 then ngx.sleep(#chunk / config.sv_fetch_rate) end
    end,
  })
  if res.error or res.code ~= 200 or got == 0 then
    w.abort()
    slot.used = false
    return reply.fail(10001, "Fileserver process error: cannot fetch remote_file (" ..
      tostring(res.error or res.code) .. ")")
  end
  return new_file(slot, w, url:match("^[^?#]*"):match("([^/]*)$"))
end

local function post()
  local q = ngx.req.get_uri_args(20)
  local ref, token = first(q.ref), first(q.token)
  local ctype = ngx.var.content_type or ""
  local boundary = multipart.boundary(ctype)
  if not boundary then
    -- urlencoded: a remote_file upload (small body)
    ngx.req.read_body()
    local args = ngx.req.get_post_args(20) or {}
    ref, token = ref or first(args.ref), token or first(args.token)
    local slot, res = slot_for(ref, token)
    if not slot then return res end
    if not first(args.remote_file) then return reply.fail(10002, "Upload not valid: no file or remote_file") end
    return fetch_remote(slot, first(args.remote_file))
  end
  local read, total = body_reader()
  local slot, bad
  if ref and token then
    slot, bad = slot_for(ref, token)   -- checked before any byte is stored
  end
  local fields, w, name, received = {}, nil, nil, 0
  -- a small form field read so far (its chunks are joined once the part ends)
  local function field(k)
    local v = fields[k]
    return type(v) == "table" and table.concat(v) or v
  end
  local ok, perr = multipart.parse(read, boundary, function(part)
    if part.name == "file" and part.filename and not bad then
      if not slot then -- ref/token as body fields before the file part
        slot, bad = slot_for(ref or field("ref"), token or field("token"))
        if not slot then return nil end
      end
      local werr
      w, werr = blob.writer()
      if not w then bad = reply.fail(10001, "Fileserver process error: " .. tostring(werr)) return nil end
      name = part.filename
      return function(chunk)
        w.write(chunk)
        received = received + #chunk
        if total and total > 0 then slot.progress = min(99.9, floor(received * 1000 / total) / 10) end
      end
    elseif part.name and not part.filename then
      local acc = {}
      fields[part.name] = acc
      local size = 0
      return function(chunk)
        size = size + #chunk
        if size <= SMALL then acc[#acc + 1] = chunk end
      end
    end
    return nil
  end)
  for k, v in pairs(fields) do fields[k] = table.concat(v) end
  if not ok then
    if w then w.abort() end
    return reply.fail(10000, "Upload not executed: " .. tostring(perr))
  end
  if bad then
    if w then w.abort() end
    return bad
  end
  if w then
    if w.size() == 0 then
      w.abort()
      return reply.fail(10002, "Upload not valid: the file is empty")
    end
    return new_file(slot, w, name)
  end
  if fields.remote_file then
    if not slot then
      slot, bad = slot_for(ref or fields.ref, token or fields.token)
      if not slot then return bad end
    end
    return fetch_remote(slot, fields.remote_file)
  end
  return reply.fail(10002, "Upload not valid: no file or remote_file")
end

local function progress()
  local ref = first(ngx.req.get_uri_args(20).ref)
  local slot = ref and state.refs[ref]
  local p = slot and slot.progress or 0
  local text = p == floor(p) and format("%d", p) or format("%.1f", p)
  return reply.text(200, text)
end

function upload.handle(method, uri)
  if uri == "/fileservers/upload" and method == "POST" then return post() end
  if uri == "/fileservers/upload/progress" and (method == "GET" or method == "HEAD") then return progress() end
  return reply.text(404, "Not found")
end

return upload
