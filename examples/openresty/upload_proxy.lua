-- upload_proxy.lua: receive an upload and stream it on to Sirv.
--
--   curl -T photo.jpg 'http://127.0.0.1:8080/upload?path=/uploads/photo.jpg'
--   -> 201 {"path":"/uploads/photo.jpg","size":123456}
--
-- The request body is copied from the client socket (ngx.req.socket) to a
-- temporary file 64 KiB at a time, so memory does not grow with the upload;
-- sirv:upload(remote, tmp_path) then streams that file to Sirv with its
-- Content-Length, again in 64 KiB pieces over cosockets. Nothing here blocks
-- the worker except the local-disk reads and writes.
--
-- nginx.conf: `content_by_lua_file upload_proxy.lua;` in a location with
-- `client_max_body_size` set for your largest file, `lua_shared_dict
-- mediacdn_tokens 1m;` at http level, and the env lines for the credentials
-- (see nginx.conf next to this file).

local sirv_client = require "mediacdn.sirv"
local token_store = require "mediacdn.resty.token_store"
local json_encode = require("mediacdn").json_encode

local CHUNK = 65536
local READ_TIMEOUT_MS = 60000          -- per chunk from the client

-- Copy the request body (Content-Length bytes) into the open file `out`.
-- Returns bytes | nil, http_status, message.
local function spool_body(out)
  local len = tonumber(ngx.var.http_content_length)
  if not len then
    return nil, 411, "send the file with a Content-Length (not chunked)"
  end
  local sock, err = ngx.req.socket()
  if not sock then
    return nil, 400, "cannot read the request body: " .. tostring(err)
  end
  sock:settimeout(READ_TIMEOUT_MS)
  local left = len
  while left > 0 do
    local data, rerr = sock:receive(left < CHUNK and left or CHUNK)
    if not data then
      return nil, 400, "the upload ended early: " .. tostring(rerr)
    end
    local ok, werr = out:write(data)
    if not ok then
      return nil, 500, "cannot write the temporary file: " .. tostring(werr)
    end
    left = left - #data
  end
  return len
end

-- The whole exchange; returns http_status, document. Never raises for
-- operational failures, so the temporary file is always removed.
local function handle()
  local method = ngx.req.get_method()
  if method ~= "PUT" and method ~= "POST" then
    ngx.header["Allow"] = "PUT, POST"
    return 405, { error = "use PUT or POST" }
  end
  local remote = ngx.var.arg_path and ngx.unescape_uri(ngx.var.arg_path)
  if not remote or remote:sub(1, 1) ~= "/" or remote:find("/$") then
    return 400, { error = "query parameter 'path' must be an absolute file path" }
  end

  local tmp = os.tmpname()
  local out, oerr = io.open(tmp, "wb")
  if not out then
    os.remove(tmp)
    return 500, { error = "cannot create a temporary file: " .. tostring(oerr) }
  end
  local size, status, msg = spool_body(out)
  out:close()
  if not size then
    os.remove(tmp)
    return status, { error = msg }
  end

  -- one client per request is cheap: the token lives in the shared dict, so
  -- all workers share one token and only one of them ever fetches it
  local sirv = sirv_client.new{
    token_store = token_store.new{ dict = "mediacdn_tokens" },
  }
  local ok, err = sirv:upload(remote, tmp)
  os.remove(tmp)
  if not ok then
    -- err is a mediacdn.Error: tostring() is one line and holds no secret
    ngx.log(ngx.WARN, "upload of ", remote, " failed: ", tostring(err))
    local code = (err.kind == "client" or err.kind == "conflict"
      or err.kind == "forbidden" or err.kind == "not_found") and (err.status or 400)
      or 502
    return code, { error = tostring(err), kind = err.kind, status = err.status }
  end
  return 201, { path = remote, size = size }
end

local ok, status, doc = pcall(handle)
if not ok then                          -- a bug or misuse: log it, answer 500
  ngx.log(ngx.ERR, "upload_proxy: ", tostring(status))
  status, doc = 500, { error = "internal error" }
end
ngx.status = status
ngx.header["Content-Type"] = "application/json"
ngx.say(json_encode(doc))
