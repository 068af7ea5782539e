--- mediacdn.sirv.download: resumable downloads to a local path.
--
-- dest.part holds the bytes received so far and dest.part.json what they are
-- ({etag, size} from a HEAD before the body moves). A call that finds a .part
-- of the same ETag asks only for the rest (Range: bytes=N-, If-Range: ETag); a
-- changed file (ETag differs, or the server ignores If-Range with a 200)
-- starts over. The finished file is renamed into place, so dest is either
-- absent or complete. A process killed mid-download leaves .part behind for the
-- next call. The rest is streamed to dest.part.rest and appended in 64 KiB
-- pieces (memory stays bounded).
--
--   M.download(client, path, dest, opts) -> true | nil, err
local core = require "mediacdn.core"
local errors = require "mediacdn.errors"
local progress = require "mediacdn.progress"

local M = {}

local type, pairs, tostring, tonumber, io_open, os_remove, os_rename =
  type, pairs, tostring, tonumber, io.open, os.remove, os.rename
local url_escape, json_encode, json_decode = core.url_escape, core.json_encode, core.json_decode

local OP = "getFilesDownload"

local function local_error(message)
  return errors.new{ kind = "local", service = "sirv", operation = OP, message = message }
end

local function read_state(p)
  local f = io_open(p, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  local v = json_decode(s or "")
  return type(v) == "table" and v or nil
end

local function write_state(p, v)
  local tmp = p .. ".tmp"
  local f, err = io_open(tmp, "wb")
  if not f then return nil, err end
  f:write(assert(json_encode(v)))
  f:close()
  return os_rename(tmp, p)
end

-- append the file `from` to the file `to` in 64 KiB pieces
local function append(from, to)
  local src, err = io_open(from, "rb")
  if not src then return nil, err end
  local dst, derr = io_open(to, "ab")
  if not dst then src:close(); return nil, derr end
  while true do
    local s = src:read(65536)
    if not s then break end
    local ok, werr = dst:write(s)
    if not ok then src:close(); dst:close(); return nil, werr end
  end
  src:close()
  local ok, cerr = dst:close()
  if not ok then return nil, cerr end
  return true
end

-- one request of the download (HEAD or GET) through the client's engine
local function request(client, path, method, headers, sink, extra)
  local spec = {
    operation = OP, method = method, path = "/v2/files/download",
    url = client.base_url .. "/v2/files/download?filename=" .. url_escape(path),
    headers = headers, sink = sink, idempotent = true, auth = true,
    bucket = client.buckets[OP] or "rest:global",
  }
  for k, v in pairs(extra or {}) do spec[k] = v end
  return client.engine:perform(spec)
end

function M.download(client, path, dest, opts)
  local part, state_path, rest = dest .. ".part", dest .. ".part.json", dest .. ".part.rest"
  local head, herr = request(client, path, "HEAD", { Accept = "*/*" })
  if not head then return nil, herr end
  local etag = head.headers["etag"]
  local size = tonumber(head.headers["content-length"] or "")
  local have = core.file_size(part) or 0
  local state = read_state(state_path)
  local resume = etag and size and state and state.etag == etag and state.size == size
    and have > 0 and have <= size
  if not resume then
    os_remove(part)
    have = 0
    if etag and size then
      local ok, werr = write_state(state_path, { etag = etag, size = size, path = path })
      if not ok then return nil, local_error("cannot write " .. state_path .. ": " .. tostring(werr)) end
    end
  end
  local rep = progress.new{ on_progress = opts and opts.on_progress, total = size, start = have,
    interval = opts and opts.progress_interval, clock = function() return client.transport:now() end }
  if not resume or have < size then
    local headers = { Accept = "*/*" }
    if resume then
      headers["Range"] = "bytes=" .. have .. "-"
      headers["If-Range"] = etag
    end
    local res, err = request(client, path, "GET", headers, resume and rest or part,
      { on_progress = rep and function(_, received) rep:set(have + received) end or nil })
    if not res then
      -- whatever arrived of a first transfer stays in .part for the next call
      if resume and core.file_size(rest) then append(rest, part) end
      os_remove(rest)
      return nil, err
    end
    if resume and res.status == 206 then
      local first = tonumber((res.headers["content-range"] or ""):match("^bytes (%d+)%-"))
      if first ~= have then
        os_remove(rest)
        return nil, errors.new{ kind = "protocol", service = "sirv", operation = OP, status = 206,
          message = "the server answered the range from another offset" }
      end
      local ok, aerr = append(rest, part)
      os_remove(rest)
      if not ok then return nil, local_error("cannot extend " .. part .. ": " .. tostring(aerr)) end
    elseif resume then -- 200: the file changed; the whole body is in rest
      os_remove(part)
      local ok, rerr = os_rename(rest, part)
      if not ok then return nil, local_error(tostring(rerr)) end
    end
  end
  local got = core.file_size(part) or 0
  if size and got ~= size then
    return nil, errors.new{ kind = "transient", service = "sirv", operation = OP, retryable = true,
      message = ("the download stopped at %d of %d bytes; call again to continue"):format(got, size) }
  end
  local ok, rerr = os_rename(part, dest)
  if not ok then
    return nil, local_error("cannot move the download into place: " .. tostring(rerr))
  end
  os_remove(state_path)
  if rep then rep:finish(got) end
  return true
end

return M
