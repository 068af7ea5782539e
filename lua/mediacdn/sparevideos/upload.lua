--- SpareVideos uploads (§4.1-§4.3, §5): initiate, then the file server POST.
--
--   sv:upload("/path/clip.mp4", opts) -> code | nil, err
--     multipart/form-data with one `file` part, streamed from disk: the request
--     body is { preamble, {path=, offset=0, length=size}, epilogue } (body_parts),
--     so memory does not grow with the file and Content-Length is exact.
--   sv:upload("https://host/clip.mp4", opts) -> code | nil, err
--     the file server fetches the URL (remote_file); meanwhile GET {server}/progress
--     is polled and reported through opts.on_progress (concurrently inside
--     mediacdn.loop and OpenResty, after the POST returns in a blocking script).
-- opts: on_progress(percent), filename, content_type, poll_interval, timeout (remote).
--
-- Each attempt of the POST starts from a fresh initiate (a new ref and upload
-- token: a ref is single-use), so a retry never reuses a consumed slot. Retried:
-- codes 10000/10001/10004/10005, 5xx and transport failures. An attempt cut off
-- after the file server stored the file may leave an orphan that was never
-- converted (and so never billed, §4.4); opts.retry = false never repeats a POST.
local core = require "mediacdn.core"
local errors = require "mediacdn.errors"
local files = require "mediacdn.files"
local mime = require "mediacdn.mime"
local codes = require "mediacdn.sparevideos.codes"
local args = require "mediacdn.args"

local url_escape = core.url_escape
local type, tostring, tonumber, pcall, error = type, tostring, tonumber, pcall, error
local pairs, ipairs, rawget = pairs, ipairs, rawget
local min, max = math.min, math.max

local STALL_POLLS = 10   -- unanswered / unchanged progress polls after the POST before giving up

return function(SV, M)
  local argcheck = M.argcheck

  local function local_error(msg)
    return errors.new{ kind = "local", service = "sparevideos", operation = "upload", message = msg }
  end

  -- the URL of the file server POST: {server}?ref=R&token=T (both percent-encoded)
  local function upload_url(init)
    return init.server .. (init.server:find("?", 1, true) and "&" or "?") .. "ref=" .. url_escape(init.ref)
      .. "&token=" .. url_escape(init.token)
  end

  -- {server}/progress?ref=R: /progress goes on the path, a query of server stays (§4.3)
  local function progress_url(server, ref)
    local head, query = server:match("^([^?#]*)%??([^#]*)")
    return head:gsub("/+$", "") .. "/progress?" .. (query ~= "" and (query .. "&") or "") .. "ref=" .. url_escape(ref)
  end

  -- initiate and check what it returned: the init table, or nil, err
  local function initiate(self)
    local doc, err = self:_call("initiate")
    if not doc then return nil, err end
    if type(doc.server) ~= "string" or not doc.server:match("^https?://[^/]") or type(doc.ref) ~= "string"
        or doc.ref == "" or type(doc.token) ~= "string" or doc.token == "" then
      return nil, errors.new{ kind = "protocol", service = "sparevideos", operation = "upload/initiate",
        message = "the initiate answer lacks server, ref or token" }
    end
    self._remember(doc.token)
    return doc
  end

  -- a multipart boundary that no file is expected to contain
  local function boundary(self, seed)
    return "mediacdn-" .. core.sha256_hex(tostring(self.transport:now()) .. seed .. tostring(math.random())):sub(1, 32)
  end

  local function quoted_name(name)
    return (name:gsub('[%c"\\]', "_"))
  end

  -- One progress reading: 0..100, or nil when the answer is not a number.
  local function read_progress(self, server, ref)
    local res = self:_get(progress_url(server, ref), "upload/progress", "/progress")
    if not res then return nil end
    local p = tonumber(((res.body or ""):gsub("^%s+", ""):gsub("%s+$", "")))
    if not p or p ~= p then return nil end
    return max(0, min(100, p))
  end

  -- Poll progress while state.running, reporting changes; ends at 100.
  local function poller(self, state, on_progress, interval)
    return function()
      local t = self.transport
      while state.running do
        if state.server then
          local p = read_progress(self, state.server, state.ref)
          if p and p ~= state.last then
            state.last = p
            if on_progress then on_progress(p) end
          end
          if p == 100 then return end
        end
        t:sleep(interval)
      end
    end
  end

  -- Start f concurrently where the caller can yield: a mediacdn.loop task or an
  -- nginx light thread. Returns a stop function, or nil in a blocking script.
  local function spawn(self, f)
    local loop = require("mediacdn.loop")
    if loop.current() then
      local task = loop.spawn(f)
      return function() if not task:done() then task:cancel() end end
    end
    local ngx = rawget(_G, "ngx")
    if ngx and ngx.thread and self.transport.name == "resty" then
      local th = ngx.thread.spawn(f)
      return function() ngx.thread.kill(th) end
    end
    return nil
  end

  -- Perform the POST; every attempt initiates first (job.prepare). Returns code | nil, err.
  local function post(self, intent, state, job_extra)
    local job = { upload = true }
    for k, v in pairs(job_extra or {}) do job[k] = v end
    job.prepare = function(req)
      local init, err = initiate(self)
      if not init then return nil, err end
      state.server, state.ref, state.last = init.server, init.ref, nil
      req.url = upload_url(init)
      if job.form then req.body = job.form(init) end
      return true
    end
    self._jobs[intent] = job
    local res, err = self.engine:perform(intent)
    if not res then return nil, err end
    local doc, status = codes.envelope(res.body)
    if status ~= "success" or type(doc.code) ~= "string" or doc.code == "" then
      return nil, errors.new{ kind = "protocol", service = "sparevideos", operation = "upload", status = res.status,
        message = "the file server answered without a file code" }
    end
    return doc.code
  end

  -- The transports' body hook (bytes sent) as whole percents for on_progress:
  -- only rises (a retried POST starts again from 0 without going back), stops
  -- at 99 (100 comes once the file server answered with the code).
  local function percent_reporter(on_progress, total)
    local last = 0
    return function(sent)
      local p = total > 0 and math.floor((sent or 0) * 100 / total) or 0
      if p > 99 then p = 99 end
      if p > last then
        last = p
        on_progress(p)
      end
    end
  end

  local function upload_local(self, path, opts)
    local size, serr = files.size(path)
    if not size then return nil, local_error("argument #1 (path_or_url): " .. tostring(serr)) end
    local name = opts.filename or path:match("([^/]*)$")
    if name == "" then return nil, local_error("argument #1 (path_or_url) names a folder, not a file") end
    local b = boundary(self, path)
    local pre = ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\nContent-Type: %s\r\n\r\n")
      :format(b, quoted_name(name), opts.content_type or mime.guess(name))
    local intent = {
      operation = "upload", method = "POST", path = "/fileservers/upload", url = self.base_url,
      headers = { ["Content-Type"] = "multipart/form-data; boundary=" .. b, Accept = "application/json" },
      body_parts = { pre, { path = path, offset = 0, length = size }, "\r\n--" .. b .. "--\r\n" },
      timeout = self.transfer_timeout, idempotent = opts.retry ~= false,
    }
    if opts.on_progress then
      intent.on_progress = percent_reporter(opts.on_progress, #pre + size + #intent.body_parts[3])
      opts.on_progress(0)
    end
    local code, err = post(self, intent, {})
    if not code then return nil, err end
    if opts.on_progress then opts.on_progress(100) end
    return code
  end

  local function upload_remote(self, url, opts)
    local state = { running = true }
    local form = function(init)
      return "remote_file=" .. url_escape(url) .. "&ref=" .. url_escape(init.ref) .. "&token=" .. url_escape(init.token)
    end
    local intent = {
      operation = "upload", method = "POST", path = "/fileservers/upload", url = self.base_url,
      headers = { ["Content-Type"] = "application/x-www-form-urlencoded", Accept = "application/json" },
      body = "", timeout = opts.timeout or 3600, stall_timeout = opts.timeout or 3600,
      idempotent = opts.retry ~= false,
    }
    local interval = opts.poll_interval or self.poll_interval
    local stop = spawn(self, poller(self, state, opts.on_progress, interval))
    local ok, code, err = pcall(post, self, intent, state, { form = form })
    state.running = false
    if stop then stop() end
    if not ok then error(code, 0) end
    if not code then return nil, err end
    -- the POST has returned: follow progress to 100 (§5), bounded
    local t, quiet = self.transport, 0
    while state.last ~= 100 and state.server and quiet < STALL_POLLS do
      local p = read_progress(self, state.server, state.ref)
      if p and p ~= state.last then
        quiet, state.last = 0, p
        if opts.on_progress then opts.on_progress(p) end
      else
        quiet = quiet + 1
      end
      if state.last ~= 100 then t:sleep(min(interval, 1)) end
    end
    return code
  end

  --- An upload slot for someone else to fill (a browser): initiate, signed here.
  -- Returns { server, ref, token, upload_url = server?ref&token, progress_url },
  -- or nil, err. POST a multipart `file` part to upload_url within the hour; the
  -- answer carries the file code. The private key never leaves this process.
  function SV:initiate()
    local init, err = initiate(self)
    if not init then return nil, err end
    return { server = init.server, ref = init.ref, token = init.token, upload_url = upload_url(init),
      progress_url = progress_url(init.server, init.ref) }
  end

  --- Upload a local file (streamed multipart) or a remote http(s) URL (fetched by
  -- the file server). Returns the file code; store it before converting (§4.4).
  function SV:upload(source, opts)
    argcheck(type(source) == "string" and source ~= "", "upload",
      "argument #1 (path_or_url) must be a local file path or an http(s) URL")
    opts = args.options("sparevideos:upload", 2, opts, { on_progress = "function", filename = "string",
      content_type = "string", poll_interval = "number", timeout = "number", retry = "boolean" })
    argcheck(opts.on_progress == nil or type(opts.on_progress) == "function", "upload",
      "option 'on_progress' must be a function")
    for _, k in ipairs{ "filename", "content_type" } do
      argcheck(opts[k] == nil or (type(opts[k]) == "string" and opts[k] ~= ""), "upload",
        ("option '%s' must be a non-empty string"):format(k))
    end
    for _, k in ipairs{ "poll_interval", "timeout" } do
      argcheck(opts[k] == nil or (opts[k] > 0 and opts[k] <= 1e9), "upload",
        ("option '%s' must be a positive number of seconds (at most 1e9)"):format(k))
    end
    if source:match("^[Hh][Tt][Tt][Pp][Ss]?://") then
      argcheck(source:match("^https?://[^/]") ~= nil, "upload", "argument #1 (path_or_url) is not a valid http(s) URL")
      return upload_remote(self, source, opts)
    end
    argcheck(not source:find("\0", 1, true), "upload", "argument #1 (path_or_url) contains a NUL byte")
    return upload_local(self, source, opts)
  end

  M.progress_url = progress_url
  M.upload_url = upload_url
end
