--- mediacdn.tus: a tus 1.0 client for any server (and Sirv's tus flow).
--
--   local tus = require "mediacdn.tus"
--   local result, err = tus.upload(endpoint, "/path/to/file", {
--     chunk_size = 8 * 1024 * 1024,   -- bytes per PATCH (default 8 MiB)
--     parallel = 1,                   -- > 1: that many partial uploads + a final
--                                     --   concatenation where the server has it
--     metadata = { filename = ..., filetype = ... },  -- default: the file's name and type
--     headers = { Authorization = ... },              -- sent with every request
--     checksum = "sha256",            -- "sha256" | "sha1" | false (used where advertised)
--     journal = nil,                  -- nil: ~/.cache/mediacdn/tus; a dir; a store; false
--     on_progress = function(p) end,  -- p.bytes, p.total, p.rate, p.eta, p.done
--     progress_interval = 0.25,
--     destination = nil,              -- journal key part (default: endpoint w/o query + filename)
--     refresh_endpoint = nil,         -- fn(reason) -> new endpoint, when the URL expired
--     transport = nil, retry = {...}, timeout =, connect_timeout =, stall_timeout =,
--     on_event = nil, allow_foreign_location = false,
--   })
--   -- result = { url =, size =, offset =, resumed =, checksum =, parts = }
--
-- The protocol is the C state machine (mediacdn.core.tus_upload, csrc/core/mc_tus.c);
-- requests go through the shared engine (mediacdn.engine); the journal
-- (mediacdn.tus.journal) remembers server URLs by content fingerprint so a new
-- process resumes where the server is. Misuse raises; operational failures
-- return nil, err (mediacdn.Error, service "tus").
local core = require "mediacdn.core"
local errors = require "mediacdn.errors"
local journal = require "mediacdn.tus.journal"
local progress = require "mediacdn.progress"
local run = require "mediacdn.tus.run"
local mime = require "mediacdn.mime"
local args = require "mediacdn.args"

local M = { DEFAULT_CHUNK = 8 * 1024 * 1024 }

local type, pairs, ipairs, error, tostring, floor, ceil, min =
  type, pairs, ipairs, error, tostring, math.floor, math.ceil, math.min
local pcall = pcall

M.memory_store = journal.memory_store
M.file_store = journal.file_store

-- misuse: raised with error level 0 here, re-raised at the caller by M.upload
local function argerr(msg)
  error("tus.upload: " .. msg, 0)
end

local function is_int(v, lo)
  return type(v) == "number" and v == floor(v) and v >= lo and v < 2 ^ 53
end

local function string_map(t, name)
  if t == nil then return {} end
  if type(t) ~= "table" then argerr(("opts.%s must be a table of strings"):format(name)) end
  local out = {}
  for k, v in pairs(t) do
    if type(k) ~= "string" or (type(v) ~= "string" and type(v) ~= "number") then
      argerr(("opts.%s must map strings to strings"):format(name))
    end
    out[k] = tostring(v)
  end
  return out
end

-- validate and normalise the arguments (raises on misuse)
local function check_args(endpoint, source, opts)
  if type(endpoint) ~= "string" or not endpoint:match("^[Hh][Tt][Tt][Pp][Ss]?://[^/]") then
    argerr("endpoint must be an http(s) URL")
  end
  args.local_path("tus.upload", "source", source, 0)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then argerr("opts must be a table") end
  for _, k in ipairs{ "timeout", "connect_timeout", "stall_timeout", "progress_interval" } do
    args.number("tus.upload", "opts." .. k, opts[k], 0, 1e9, false, 0, 0)
  end
  args.number("tus.upload", "opts.max_failures", opts.max_failures, 0, 1e6, true, 0, 0)
  if opts.retry ~= nil and type(opts.retry) ~= "table" then argerr("opts.retry must be a table") end
  if opts.transport ~= nil and (type(opts.transport) ~= "table" or type(opts.transport.request) ~= "function") then
    argerr("opts.transport must be a transport object")
  end
  if opts.allow_foreign_location ~= nil and type(opts.allow_foreign_location) ~= "boolean" then
    argerr("opts.allow_foreign_location must be a boolean")
  end
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.chunk_size = opts.chunk_size or M.DEFAULT_CHUNK
  if not is_int(o.chunk_size, 1) then argerr("opts.chunk_size must be a positive integer (bytes)") end
  o.parallel = opts.parallel or 1
  if not is_int(o.parallel, 1) then argerr("opts.parallel must be a positive integer") end
  if o.parallel > 1024 then argerr("opts.parallel must be at most 1024 (partial uploads)") end
  if opts.checksum == nil then o.checksum = "sha256"
  elseif opts.checksum == false then o.checksum = nil
  elseif opts.checksum ~= "sha256" and opts.checksum ~= "sha1" then
    argerr('opts.checksum must be "sha256", "sha1" or false')
  end
  o.metadata = string_map(opts.metadata, "metadata")
  o.headers = string_map(opts.headers, "headers")
  for k in pairs(o.metadata) do
    if k == "" or k:find("[%s,]") then argerr(("opts.metadata key %q must not hold spaces or commas"):format(k)) end
  end
  if o.metadata.filename == nil then o.metadata.filename = source:match("([^/]+)$") or source end
  if o.metadata.filetype == nil then o.metadata.filetype = mime.guess(o.metadata.filename) end
  progress.check(opts, "tus.upload")
  if opts.destination ~= nil and type(opts.destination) ~= "string" then argerr("opts.destination must be a string") end
  if opts.refresh_endpoint ~= nil and type(opts.refresh_endpoint) ~= "function" then
    argerr("opts.refresh_endpoint must be a function")
  end
  if opts.on_event ~= nil and type(opts.on_event) ~= "function" then argerr("opts.on_event must be a function") end
  o.store = journal.resolve(opts.journal, "tus.upload")
  return o
end

-- the journal key's destination part: never the tokenised URL's query
local function default_destination(endpoint, metadata)
  return "tus:" .. endpoint:gsub("[?#].*$", "") .. "#" .. (metadata.filename or "")
end

local function file_error(path, reason, message)
  local what = reason == "missing" and "no such file"
    or reason == "not_regular" and "not a regular file (a directory?)"
    or reason == "changed" and "the file changed while it was read"
    or "cannot read the file"
  return run.error("local", ("cannot upload %s: %s"):format(path, what), nil,
    { reason = reason, detail = message })
end

-- the common fields of every machine of this upload
local function machine_opts(o, endpoint, extra)
  local mo = {
    endpoint = endpoint, path = o.source, chunk_size = o.chunk_size, checksum = o.checksum,
    headers = o.headers, allow_foreign_location = o.allow_foreign_location,
    retry = o.retry, discover = true, with_upload = true,
    max_failures = o.max_failures, seed = floor((o.clock() * 1e6) % 2 ^ 31) + 1,
  }
  for k, v in pairs(extra) do mo[k] = v end
  return mo
end

-- A journal entry's upload URL under a new endpoint (the same upload, e.g. a
-- Sirv URL minted again with another token).
local function moved(url, old_ep, new_ep)
  if url and old_ep and old_ep ~= new_ep and url:sub(1, #old_ep + 1) == old_ep .. "/" then
    return new_ep .. url:sub(#old_ep + 1)
  end
  return url
end

-- one sequential upload of the whole file with machine m
local function upload_single(ctx, o, m, save, rep)
  local ok, err = run.drive(ctx, m, {
    on_url = function(st) save{ url = st.url, expires = st.expires, caps = m:caps() } end,
    on_offset = function(off) if rep then rep:set(off) end end,
    on_bytes = rep and function(n) rep:set(n) end or nil,
  })
  if not ok then return nil, err end
  local st = m:state()
  return { url = st.url, size = o.size, offset = st.offset, checksum = st.checksum, parts = 1 }
end

-- parallel partial uploads, then the final concatenation
local function upload_parallel(ctx, o, endpoint, caps, layout, save, rep)
  local offsets, machines, fns = {}, {}, {}
  local function total()
    local n = 0
    for i = 1, #layout do n = n + (offsets[i] or 0) end
    return n
  end
  local function persist()
    local parts = {}
    for i, p in ipairs(layout) do parts[i] = { offset = p.offset, length = p.length, url = p.url } end
    save{ parts = parts, caps = caps }
  end
  for i, p in ipairs(layout) do
    machines[i] = core.tus_upload(machine_opts(o, endpoint, {
      upload_url = p.url, offset = p.offset, length = p.length, concat = "partial",
      caps = caps, discover = false,
    }))
    fns[i] = function()
      local ok, err = run.drive(ctx, machines[i], {
        on_url = function(st) p.url = st.url; persist() end,
        on_offset = function(off) offsets[i] = off; if rep then rep:set(total()) end end,
        on_bytes = rep and function(n) offsets[i] = n; rep:set(total()) end or nil,
      })
      if not ok then return nil, err end
      return true
    end
  end
  local _, errs = run.all(fns)
  for i = 1, #layout do
    if errs[i] then
      for _, mm in ipairs(machines) do mm:close() end
      if not errors.is(errs[i]) then error(errs[i], 0) end -- a part raised (e.g. on_progress)
      return nil, errs[i]
    end
  end
  local parts, algo = {}, machines[1]:state().checksum
  for i, mm in ipairs(machines) do
    parts[i] = mm:state().url
    mm:close()
  end
  local fin = core.tus_upload(machine_opts(o, endpoint, {
    concat = "final", parts = parts, length = o.size, metadata = o.metadata, caps = caps,
    discover = false, path = nil,
  }))
  local ok, err = run.drive(ctx, fin, {})
  local st = fin:state()
  fin:close()
  if not ok then return nil, err end
  return { url = st.url, size = o.size, offset = o.size, checksum = algo, parts = #layout }
end

-- split size bytes into n ranges
local function make_layout(size, n)
  local layout, per = {}, ceil(size / n)
  local off = 0
  while off < size do
    local len = min(per, size - off)
    layout[#layout + 1] = { offset = off, length = len }
    off = off + len
  end
  return layout
end

local function upload(endpoint, source, o)
  local t = o.transport or require("mediacdn.transport").default(o)
  o.clock = function() return t:now() end
  o.source = source
  local destination = o.destination or default_destination(endpoint, o.metadata)
  local fp, size, reason = core.tus_fingerprint(source, destination)
  if not fp then return nil, file_error(source, size, reason) end
  o.size = size
  local secrets = {}
  for _, v in pairs(o.headers) do secrets[#secrets + 1] = v end
  local ctx = run.context{
    transport = t, path = source, size = size, refresh_endpoint = o.refresh_endpoint,
    emit = o.on_event,
    engine = o.engine or run.engine{
      transport = t, policy = core.policy{ attempts = o.retry and o.retry.attempts, base = o.retry and o.retry.base,
        cap = o.retry and o.retry.cap, deadline = o.retry and o.retry.deadline or 600 },
      emit = o.on_event, secrets = function() return secrets end, timeout = o.timeout,
      connect_timeout = o.connect_timeout, stall_timeout = o.stall_timeout, cainfo = o.cainfo,
    },
  }
  -- the journal: one writer per entry (a second process gets "conflict")
  local store, lock = o.store, nil
  if store and store.lock then
    local lerr
    lock, lerr = store:lock(fp)
    if not lock then
      if lerr == "busy" then
        return nil, run.error("conflict", "another process is uploading this file to this destination")
      end
      -- an unusable journal (e.g. no writable cache directory for an nginx worker)
      -- costs resumability, not the upload
      if o.on_event then o.on_event{ type = "tus", action = "journal_unavailable", message = tostring(lerr) } end
      store = nil
    end
  end
  local entry = store and store:get(fp) or nil
  if entry and (entry.size ~= size or (entry.expires and entry.expires <= t:now())) then
    store:delete(fp)
    entry = nil
  end
  local created = entry and entry.created or t:now()
  local function save(fields)
    if not store then return end
    local e = { size = size, destination = destination, endpoint = endpoint, created = created,
      fingerprint = fp }
    for k, v in pairs(fields) do e[k] = v end
    local ok, serr = store:set(fp, e)
    if not ok and o.on_event then o.on_event{ type = "tus", action = "journal_error", message = serr } end
  end
  local rep = progress.new{ on_progress = o.on_progress, total = size, interval = o.progress_interval,
    clock = o.clock }
  local function body()
    if entry and entry.parts then -- resume a parallel upload with its layout
      for _, p in ipairs(entry.parts) do p.url = moved(p.url, entry.endpoint, endpoint) end
      return upload_parallel(ctx, o, endpoint, entry.caps, entry.parts, save, rep)
    end
    local m = core.tus_upload(machine_opts(o, endpoint, {
      upload_url = entry and moved(entry.url, entry.endpoint, endpoint), length = size,
      metadata = o.metadata, caps = entry and entry.caps or nil,
      discover = not (entry and entry.caps), with_upload = o.parallel == 1,
    }))
    if o.parallel > 1 and size >= o.parallel and not entry then
      -- discover first: concatenation decides between parallel and sequential
      local step, req = m:next(t:now())
      if step == "request" and req.op == "options" then
        local res, err = ctx.engine:perform{ operation = "tus:options", method = "OPTIONS", url = req.url,
          headers = req.headers, idempotent = true, auth = false, path = "tus" }
        if res then m:feed(res.status, res.headers, t:now())
        elseif err.status then m:feed(err.status, {}, t:now())
        else m:feed_failure(err.kind, err.message) end
      end
      local caps = m:caps()
      if caps.extensions and caps.extensions.concatenation and m:error() == nil then
        m:close()
        return upload_parallel(ctx, o, endpoint, caps, make_layout(size, o.parallel), save, rep)
      end
    end
    local res, err = upload_single(ctx, o, m, save, rep)
    local st = m:state()
    m:close()
    if not res and st.url and store and not ctx.changed then
      save{ url = st.url, expires = st.expires } -- the latest URL: the next run resumes there
    end
    return res, err
  end
  local ok, res, err = pcall(body)
  if store and ok and (res or ctx.changed) then store:delete(fp) end -- done, or the content changed
  if lock then lock:release() end
  if not ok then error(res, 0) end
  if not res then return nil, err end
  res.resumed = entry ~= nil
  if rep then rep:finish(size) end
  return res
end

--- Terminate (DELETE) an upload on a server with the termination extension:
-- true (also when it is already gone) or nil, err. opts: headers, transport.
function M.terminate(upload_url, opts)
  if type(upload_url) ~= "string" or not upload_url:match("^[Hh][Tt][Tt][Pp][Ss]?://[^/]") then
    error("tus.terminate: upload_url must be an http(s) URL", 2)
  end
  opts = opts or {}
  if type(opts) ~= "table" then error("tus.terminate: opts must be a table", 2) end
  local headers = string_map(opts.headers, "headers")
  local t = opts.transport or require("mediacdn.transport").default(opts)
  local m = core.tus_upload{ upload_url = upload_url, path = "", length = 0, chunk_size = 1,
    discover = false, headers = headers }
  m:terminate()
  local ok, err = run.drive({ transport = t, path = "", size = 0,
    engine = opts.engine or run.engine{ transport = t, policy = core.policy{} } }, m, {})
  m:close()
  if not ok then err.operation = "terminate"; return nil, err end
  return true
end

--- Upload the file at `source` to the tus server at `endpoint` (the creation
-- URL). Returns { url, size, offset, resumed, checksum, parts } or nil, err.
function M.upload(endpoint, source, opts)
  local ok, o = pcall(check_args, endpoint, source, opts)
  if not ok then error(o, 2) end
  return upload(endpoint, source, o)
end

return M
