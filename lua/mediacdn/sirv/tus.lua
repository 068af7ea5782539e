--- mediacdn.sirv.tus: Sirv's resumable upload flow over mediacdn.tus.
--
--   GET /v2/files/tus/locations     -> the CDN upload locations (parsed defensively)
--   GET /v2/files/tus/url?location=&expiresIn=  -> a pre-authorised tus endpoint
--   tus 1.0 against that URL, chunks of at most 1 MiB (Sirv's cap), metadata
--   filename = the destination path; an expired URL is minted again and the
--   upload continues where the server has it; then wait until stat sees the
--   file (Sirv relays it to the account 1-4 s after the last byte).
--
--   M.upload(client, remote, path, opts) -> result | nil, err
--   opts: location = "auto" | id, chunk_size (<= 1 MiB), parallel, checksum, journal,
--         on_progress, progress_interval, wait_visible (seconds, default 30; false: no wait),
--         max_size (default 1 GiB)
--   result: { url, size, offset, resumed, checksum, parts, location, stat }
--   M.nearest(client) -> location id: each location's round trip (one OPTIONS
--   to a freshly minted URL) measured once per client; the fastest wins.
local core = require "mediacdn.core"
local errors = require "mediacdn.errors"
local tus = require "mediacdn.tus"
local mime = require "mediacdn.mime"
local args = require "mediacdn.args"

local M = {
  THRESHOLD = 300 * 1024 * 1024,   -- sirv:upload switches to tus above this
  MAX_SIZE = 1024 * 1024 * 1024,   -- Sirv's tus cap: 1 GB
  CHUNK = 1024 * 1024,             -- Sirv's chunk cap: 1 MB
}

local type, pairs, ipairs, tostring, min, max, ceil = type, pairs, ipairs, tostring, math.min, math.max, math.ceil

local function sirv_error(kind, message, extra)
  local e = errors.new{ kind = kind, message = message, service = "sirv", operation = "tusUpload",
    retryable = kind == "timeout" or kind == "transient" }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

-- the client's engine for tus requests (auth = false: no bearer, the URL carries its token)
local function client_engine(client)
  return client.engine
end

--- Location ids from getFilesTusLocations: a list of strings or of objects with
-- id / name, or a map of id -> anything (the shape is undocumented).
function M.location_ids(doc)
  local ids = {}
  if type(doc) ~= "table" then return ids end
  local list = doc.locations or doc
  if list[1] ~= nil then
    for _, v in ipairs(list) do
      if type(v) == "string" then ids[#ids + 1] = v
      elseif type(v) == "table" and type(v.id or v.name) == "string" then ids[#ids + 1] = v.id or v.name end
    end
  else
    for k in pairs(list) do if type(k) == "string" then ids[#ids + 1] = k end end
    table.sort(ids)
  end
  return ids
end

-- a pre-authorised upload URL at `location`, valid long enough for `size` bytes
local function mint(client, location, size)
  -- at a pessimistic 256 KiB/s plus ten minutes, at least Sirv's default hour
  local ttl = min(604800, max(3600, ceil(size / (256 * 1024)) + 600))
  local doc, err = client:call("getFilesTusUrl", { location = location, expiresIn = ttl })
  if not doc then return nil, err end
  if type(doc) ~= "table" or type(doc.url) ~= "string" or not doc.url:match("^https?://") then
    return nil, sirv_error("protocol", "getFilesTusUrl answered without an upload URL")
  end
  return doc.url
end

--- The nearest location (smallest OPTIONS round trip), measured once per client.
function M.nearest(client)
  if client._tus_nearest then return client._tus_nearest end
  local doc, err = client:call("getFilesTusLocations", {})
  if not doc then return nil, err end
  local ids = M.location_ids(doc)
  if #ids == 0 then return nil, sirv_error("protocol", "getFilesTusLocations listed no location") end
  local eng, t = client_engine(client), client.transport
  local best, best_rtt
  for _, id in ipairs(ids) do
    local url = mint(client, id, 0)
    if url then
      local t0 = t:now()
      local res = eng:perform{ operation = "tus:probe", method = "OPTIONS", url = url, path = "tus",
        headers = { ["Tus-Resumable"] = "1.0.0" }, idempotent = true, auth = false }
      local rtt = t:now() - t0
      if res and (not best_rtt or rtt < best_rtt) then best, best_rtt = id, rtt end
    end
  end
  if not best then return nil, sirv_error("transient", "no tus location answered") end
  client._tus_nearest = best
  client.engine:emit{ type = "tus", action = "nearest_location", location = best, rtt = best_rtt }
  return best
end

-- wait until stat sees the upload (404 until Sirv has relayed it)
local function wait_visible(client, remote, size, limit)
  local t = client.transport
  local deadline, delay = t:now() + limit, 0.25
  while true do
    local st, err = client:stat(remote)
    if st and (st.size == nil or st.size == size) then return st end
    if not st and err.status ~= 404 then return nil, err end
    if t:now() + delay > deadline then
      return nil, sirv_error("timeout",
        ("the upload finished but %s is not visible after %s s"):format(remote, tostring(limit)))
    end
    t:sleep(delay)
    delay = min(delay * 2, 2)
  end
end

-- Check the tus options before the first request (locations, a minted URL)
-- goes out; raises at the caller of sirv:upload.
local function check_opts(opts)
  local fn = "sirv:upload"
  if opts.location ~= nil and (type(opts.location) ~= "string" or opts.location == "") then
    args.raise(fn, "option 'location'", '"auto" or a location id string', opts.location, 4)
  end
  args.number(fn, "option 'chunk_size'", opts.chunk_size, 1, nil, true, 0, 5)
  args.number(fn, "option 'parallel'", opts.parallel, 1, 1024, true, 0, 5)
  args.number(fn, "option 'max_size'", opts.max_size, 0, nil, false, 0, 5)
  if opts.wait_visible ~= false then
    args.number(fn, "option 'wait_visible'", opts.wait_visible, 0, 1e9, false, 0, 5)
  end
  local c = opts.checksum
  if c ~= nil and c ~= false and c ~= "sha256" and c ~= "sha1" then
    args.raise(fn, "option 'checksum'", '"sha256", "sha1" or false', c, 4)
  end
  local j = opts.journal
  if j ~= nil and j ~= false and type(j) ~= "string" and type(j) ~= "table" then
    args.raise(fn, "option 'journal'", "a directory path, a store {get, set, delete} or false", j, 4)
  end
end

function M.upload(client, remote, path, opts)
  check_opts(opts)
  local size, reason, detail = core.file_size(path)
  if not size then
    return nil, sirv_error("local", ("cannot upload %s: %s"):format(path, tostring(detail)), { reason = reason })
  end
  local cap = opts.max_size or M.MAX_SIZE
  if size > cap then
    return nil, sirv_error("client", ("%s is %d bytes: Sirv takes at most %d through tus"):format(path, size, cap))
  end
  local location = opts.location or "auto"
  if location == "auto" then
    local lerr
    location, lerr = M.nearest(client)
    if not location then return nil, lerr end
  end
  local url, merr = mint(client, location, size)
  if not url then return nil, merr end
  local res, err = tus.upload(url, path, {
    chunk_size = min(opts.chunk_size or M.CHUNK, M.CHUNK), parallel = opts.parallel,
    checksum = opts.checksum, journal = opts.journal, on_progress = opts.on_progress,
    progress_interval = opts.progress_interval,
    metadata = { filename = remote, filetype = opts.content_type or mime.guess(remote) },
    destination = "sirv:" .. client.base_url .. "#" .. client.client_id .. ":" .. remote,
    refresh_endpoint = function() return mint(client, location, size) end,
    transport = client.transport, engine = client_engine(client),
    on_event = client.on_event and function(ev) client.engine:emit(ev) end or nil,
  })
  if not res then
    err.service, err.operation = "sirv", "tusUpload"
    return nil, err
  end
  res.location = location
  if opts.wait_visible ~= false then
    local st, verr = wait_visible(client, remote, size, opts.wait_visible or 30)
    if not st then verr.url = res.url; return nil, verr end
    res.stat = st
  end
  return res
end

return M
