--- The ergonomic Sirv methods: thin wrappers over sirv:call, each documented
-- in the README. Installed onto the client class by mediacdn.sirv.
local errors = require "mediacdn.errors"
local mime = require "mediacdn.mime"
local files = require "mediacdn.files"
local sirv_tus = require "mediacdn.sirv.tus"
local sirv_download = require "mediacdn.sirv.download"
local progress = require "mediacdn.progress"
local args = require "mediacdn.args"
local null = require("mediacdn.core").null

return function(Sirv)
  -- The type of a path that goes into a query: sirv:call checks its content
  -- (absolute, no NUL byte) once, where the query is built.
  local function check_path(fn, v, argn)
    if type(v) ~= "string" then
      error(("sirv:%s: argument #%d must be a path string (got %s)"):format(fn, argn or 1, type(v)), 3)
    end
  end

  -- A path that does not go through a checked query (or goes elsewhere first).
  local function remote_path(fn, v, argn, name, level)
    return args.remote_path("sirv:" .. fn, ("argument #%d (%s)"):format(argn, name or "path"), v, level or 4)
  end

  -- A table of set fields (options, poi, jwt): a table.
  local function check_table(fn, v, argn)
    if type(v) ~= "table" then
      error(("sirv:%s: argument #%d must be a table (got %s)"):format(fn, argn, type(v)), 3)
    end
  end

  -- Join a folder and a basename into an absolute path.
  local function join(dir, name)
    if dir:sub(-1) == "/" then return dir .. name end
    return dir .. "/" .. name
  end

  --- Info about a file or folder: {mtime, ctime, contentType, size, isDirectory, meta}.
  function Sirv:stat(path)
    check_path("stat", path)
    return self:_call_single("getFilesStat", path)
  end

  --- One page of a folder: {contents = {...}, continuation = "..."|nil}; each entry
  -- carries its absolute `path`.
  function Sirv:readdir_page(dir, continuation)
    check_path("readdir_page", dir)
    if continuation ~= nil and type(continuation) ~= "string" then
      error("sirv:readdir_page: argument #2 must be a continuation string or nil", 2)
    end
    local page, err = self:call("getFilesReaddir", { dirname = dir, continuation = continuation })
    if not page then return nil, err end
    if type(page) ~= "table" then return nil, errors.not_a_page("sirv", "getFilesReaddir") end
    page.contents = page.contents or {}
    for _, e in ipairs(page.contents) do e.path = join(dir, e.filename) end
    if page.continuation == "" or page.continuation == null then page.continuation = nil end
    return page
  end

  --- One page of search results (postFilesSearch params); each hit gets `path`.
  function Sirv:search_page(params)
    if type(params) ~= "table" then error("sirv:search_page: argument #1 must be a table", 2) end
    local page, err = self:call("postFilesSearch", params)
    if not page then return nil, err end
    if type(page) ~= "table" then return nil, errors.not_a_page("sirv", "postFilesSearch") end
    for _, h in ipairs(page.hits or {}) do
      if type(h._source) == "table" then h.path = h._source.filename end
    end
    return page
  end

  --- Upload a file. source: a local path, {data = "bytes"} or an open file handle.
  -- opts.content_type overrides the type guessed from the name; opts.on_progress /
  -- progress_interval report the bytes sent; opts.resumable (or a local file above
  -- opts.tus_threshold, 300 MiB) goes through tus (mediacdn.sirv.tus).
  function Sirv:upload(remote, source, opts)
    remote_path("upload", remote, 1) -- a tus upload sends other requests first
    opts = opts or {}
    if type(opts) ~= "table" then error("sirv:upload: argument #3 must be a table of options", 2) end
    if type(source) == "string" then args.local_path("sirv:upload", "argument #2 (source)", source) end
    if opts.content_type ~= nil and (type(opts.content_type) ~= "string" or opts.content_type == "") then
      error("sirv:upload: option 'content_type' must be a non-empty string", 2)
    end
    args.number("sirv:upload", "option 'tus_threshold'", opts.tus_threshold, 0, nil, false, 0)
    progress.check(opts, "sirv:upload")
    -- tus: asked for, or a local file above Sirv's standard-upload size
    if type(source) == "string" and opts.resumable ~= false then
      local size = opts.resumable and 0 or files.size(source)
      if opts.resumable or (size and size > (opts.tus_threshold or sirv_tus.THRESHOLD)) then
        return sirv_tus.upload(self, remote, source, opts)
      end
    elseif opts.resumable then
      error("sirv:upload: opts.resumable needs a local file path as argument #2", 2)
    end
    local params = { filename = remote, content_type = opts.content_type or mime.guess(remote) }
    local tmp
    if type(source) == "string" then
      local size, err = files.size(source)
      if not size then
        return nil, errors.new{ kind = "local", service = "sirv", operation = "postFilesUpload", message = err }
      end
      params.body_file = { path = source, offset = 0, length = size }
    elseif type(source) == "table" and type(source.data) == "string" then
      params.body = source.data
    elseif io.type(source) == "file" then
      local size, err
      tmp, size, err = files.spool(source)
      if not tmp then
        return nil, errors.new{ kind = "local", service = "sirv", operation = "postFilesUpload", message = err }
      end
      params.body_file = { path = tmp, offset = 0, length = size }
    else
      error("sirv:upload: argument #2 must be a local path, {data = string} or a file handle", 2)
    end
    local rep = progress.new{ on_progress = opts.on_progress, interval = opts.progress_interval,
      total = params.body_file and params.body_file.length or #params.body,
      clock = function() return self.transport:now() end }
    if rep then params.on_progress = function(sent) rep:set(sent) end end
    local ok, err
    if not tmp then
      ok, err = self:call("postFilesUpload", params)
    else
      -- the spooled copy goes away even if the call raises
      local pok
      pok, ok, err = pcall(self.call, self, "postFilesUpload", params)
      os.remove(tmp)
      if not pok then error(ok, 0) end
    end
    if ok and rep then rep:finish(rep.total) end
    return ok, err
  end

  --- Download a file to dest (a local path or an open file handle), streamed:
  -- memory does not grow with the file. A path is written atomically and resumes
  -- a cut transfer. opts: on_progress, progress_interval.
  function Sirv:download(path, dest, opts)
    remote_path("download", path, 1) -- a download to a path builds its own requests
    opts = opts or {}
    if type(opts) ~= "table" then error("sirv:download: argument #3 must be a table of options", 2) end
    progress.check(opts, "sirv:download")
    if type(dest) == "string" then
      args.local_path("sirv:download", "argument #2 (dest)", dest)
      -- resumable: dest.part continues where a cut (or killed) transfer stopped
      return sirv_download.download(self, path, dest, opts)
    elseif io.type(dest) == "file" then
      local tmp = os.tmpname()
      local rep = progress.new{ on_progress = opts.on_progress, interval = opts.progress_interval,
        clock = function() return self.transport:now() end }
      local ok, err = self:call("getFilesDownload", { filename = path, sink = tmp,
        on_progress = rep and function(_, received) rep:set(received) end or nil })
      if ok and rep then rep:finish(files.size(tmp)) end
      if ok then
        local cok, cerr = files.copy_to_handle(tmp, dest)
        if not cok then
          err = errors.new{ kind = "local", service = "sirv", operation = "getFilesDownload", message = cerr }
          ok = nil
        end
      end
      os.remove(tmp)
      return ok, err
    end
    error("sirv:download: argument #2 must be a local path or a file handle", 2)
  end

  --- Delete one file or an empty folder.
  function Sirv:delete(path)
    check_path("delete", path)
    return self:call("postFilesDelete", { filename = path })
  end

  function Sirv:copy(from, to)
    check_path("copy", from); check_path("copy", to, 2)
    return self:call("postFilesCopy", { from = from, to = to })
  end

  function Sirv:rename(from, to)
    check_path("rename", from); check_path("rename", to, 2)
    return self:call("postFilesRename", { from = from, to = to })
  end

  --- Create a folder. An existing path returns nil, err with kind "conflict".
  function Sirv:mkdir(path)
    check_path("mkdir", path)
    return self:call("postFilesMkdir", { dirname = path })
  end

  --- Import remote URLs: fetch(url, filename) or fetch{{url=, filename=}, ...}.
  -- Returns Sirv's per-item results (check each item's `success`).
  function Sirv:fetch(url_or_items, filename)
    local items = url_or_items
    if type(url_or_items) == "string" then
      if not url_or_items:match("^[Hh][Tt][Tt][Pp][Ss]?://[^/]") then
        args.raise("sirv:fetch", "argument #1 (url)", "an http(s) URL", url_or_items, 2)
      end
      check_path("fetch", filename, 2)
      items = { { url = url_or_items, filename = filename } }
    elseif type(items) ~= "table" then
      error("sirv:fetch: argument #1 must be a URL or a list of {url=, filename=}", 2)
    end
    return self:call("postFilesFetch", items)
  end

  -- editorial meta -----------------------------------------------------------

  --- All meta of a file as one table {title, description, tags, product, approval}.
  function Sirv:meta(path)
    check_path("meta", path)
    return self:call("getFilesMeta", { filename = path })
  end

  --- Set many meta fields in one call: {title=, description=, tags=, product=, approval=}.
  function Sirv:set_meta(path, fields)
    check_path("set_meta", path)
    if type(fields) ~= "table" then error("sirv:set_meta: argument #2 must be a table", 2) end
    local p = { filename = path }
    for k, v in pairs(fields) do p[k] = v end
    return self:call("postFilesMeta", p)
  end

  -- getter/setter pairs over one field each
  local function field_pair(getter, setter, op_get, op_set, field)
    Sirv[getter] = function(self, path)
      check_path(getter, path)
      local r, err = self:call(op_get, { filename = path })
      if r == nil then return nil, err end
      if type(r) == "table" and field and r[field] ~= nil then return r[field] end
      return r
    end
    Sirv[setter] = function(self, path, value)
      check_path(setter, path)
      local p = { filename = path }
      if field then p[field] = value
      else
        if type(value) ~= "table" then error(("sirv:%s: argument #2 must be a table"):format(setter), 2) end
        for k, v in pairs(value) do p[k] = v end
      end
      return self:call(op_set, p)
    end
  end
  field_pair("title", "set_title", "getFilesMetaTitle", "postFilesMetaTitle", "title")
  field_pair("description", "set_description", "getFilesMetaDescription", "postFilesMetaDescription", "description")
  field_pair("product", "set_product", "getFilesMetaProduct", "postFilesMetaProduct", nil)

  --- Tags of a file (an array of strings).
  function Sirv:tags(path)
    check_path("tags", path)
    local r, err = self:call("getFilesMetaTags", { filename = path })
    if r == nil then return nil, err end
    return type(r) == "table" and r.tags or r
  end

  --- Add tags (idempotent: a tag already there stays once).
  function Sirv:add_tags(path, tags)
    check_path("add_tags", path)
    if type(tags) == "string" then tags = { tags } end
    return self:call("postFilesMetaTags", { filename = path, tags = tags })
  end

  --- Remove tags (idempotent: a missing tag is not an error).
  function Sirv:remove_tags(path, tags)
    check_path("remove_tags", path)
    if type(tags) == "string" then tags = { tags } end
    return self:call("deleteFilesMetaTags", { filename = path, tags = tags })
  end

  --- Approval flag: {approved = bool, comment = "..."}.
  function Sirv:approval(path)
    check_path("approval", path)
    return self:call("getFilesMetaApproval", { filename = path })
  end

  function Sirv:set_approval(path, approved, comment)
    check_path("set_approval", path)
    if type(approved) ~= "boolean" then error("sirv:set_approval: argument #2 must be a boolean", 2) end
    return self:call("postFilesMetaApproval", { filename = path, approved = approved, comment = comment })
  end

  -- folder options, points of interest, protected URLs -------------------------

  --- Folder options; with a table, sets them.
  function Sirv:options(path, set)
    check_path("options", path)
    if set == nil then return self:call("getFilesOptions", { filename = path }) end
    check_table("options", set, 2)
    local p = { filename = path }
    for k, v in pairs(set) do p[k] = v end
    return self:call("postFilesOptions", p)
  end

  --- Points of interest of an image; poi(path, {name=, x=, y=, width=, height=}) sets one.
  function Sirv:poi(path, set)
    check_path("poi", path)
    if set == nil then return self:call("getFilesPoi", { filename = path }) end
    check_table("poi", set, 2)
    local p = { filename = path }
    for k, v in pairs(set) do p[k] = v end
    return self:call("postFilesPoi", p)
  end

  function Sirv:delete_poi(path, name)
    check_path("delete_poi", path)
    if type(name) ~= "string" or name == "" then -- without a name the call is another one
      error("sirv:delete_poi: argument #2 (name) must be a point-of-interest name", 2)
    end
    return self:call("deleteFilesPoi", { filename = path, name = name })
  end

  --- A JWT-protected URL: jwt(path, {key=, alias=, expiresIn=, secureParams=, insecureParams=}).
  function Sirv:jwt(path, opts)
    check_path("jwt", path)
    if opts ~= nil then check_table("jwt", opts, 2) end
    local p = { filename = path }
    for k, v in pairs(opts or {}) do p[k] = v end
    return self:call("postFilesJwt", p)
  end

  --- Convert a video to a spin (synchronous, slow): returns Sirv's result table.
  function Sirv:video_to_spin(path, opts)
    check_path("video_to_spin", path)
    return self:call("postFilesVideo2Spin", { filename = path, options = opts })
  end

  function Sirv:spin_to_video(path, opts)
    check_path("spin_to_video", path)
    return self:call("postFilesSpin2Video", { filename = path, options = opts })
  end

  -- asynchronous jobs ------------------------------------------------------

  local JOB_POLL = { zip = "getFilesZip", batch_delete = "getFilesBatchDelete" }

  local function job_done(r)
    if type(r) ~= "table" then return true end
    local p = tonumber(r.progress)
    if p then return p >= 100 end
    return next(r) == nil or r.result ~= nil
  end

  --- Poll a job until it is done, backing off from 0.5 s to 5 s between polls.
  -- kind: "zip" | "batch_delete". opts.timeout (default 300 s).
  function Sirv:wait_job(kind, id, opts)
    local op = JOB_POLL[kind]
    if not op then error("sirv:wait_job: kind must be \"zip\" or \"batch_delete\"", 2) end
    if type(id) ~= "string" or id == "" then error("sirv:wait_job: argument #2 must be a job id string", 2) end
    opts = args.options("sirv:wait_job", 3, opts)
    local t = self.transport
    local deadline = t:now() + args.number("sirv:wait_job", "option 'timeout'", opts.timeout, 0, 1e9, false, 300)
    local delay = args.number("sirv:wait_job", "option 'interval'", opts.interval, 0.01, 1e9, false, 0.5)
    while true do
      local r, err = self:call(op, { id = id })
      if r == nil then return nil, err end
      if job_done(r) then return r end
      if t:now() + delay > deadline then
        return nil, errors.new{ kind = "timeout", service = "sirv", operation = op,
          message = ("job %s not finished after %s s"):format(id, tostring(opts.timeout or 300)) }
      end
      t:sleep(delay)
      delay = math.min(delay * 1.5, 5)
    end
  end

  local function start_job(self, op, kind, paths, extra, opts)
    if type(paths) ~= "table" or paths[1] == nil then
      error(("sirv:%s: argument #1 must be a non-empty list of paths"):format(kind), 3)
    end
    for i = 1, #paths do remote_path(kind, paths[i], 1, ("paths[%d]"):format(i), 5) end
    opts = args.options("sirv:" .. kind, 2, opts, nil, 4)
    if opts.wait ~= nil and type(opts.wait) ~= "boolean" then
      error(("sirv:%s: option 'wait' must be a boolean"):format(kind), 3)
    end
    local p = { filenames = paths }
    for k, v in pairs(extra) do p[k] = v end
    local r, err = self:call(op, p)
    if not r then return nil, err end
    if type(r) ~= "table" or type(r.id) ~= "string" then return nil, errors.not_a_page("sirv", op) end
    if opts and opts.wait then return self:wait_job(kind, r.id, opts) end
    return r
  end

  --- Start a ZIP job ({id}); with opts.wait, wait and return {progress=100, result={...}}.
  function Sirv:zip(paths, opts)
    return start_job(self, "postFilesZip", "zip", paths, { zipFilename = type(opts) == "table" and opts.name or nil },
      opts)
  end

  --- Start a batch delete job ({id}); with opts.wait, wait for it.
  function Sirv:batch_delete(paths, opts)
    return start_job(self, "postFilesBatchDelete", "batch_delete", paths, {}, opts)
  end

  -- account ------------------------------------------------------------------

  function Sirv:account() return self:call("getAccount") end
  function Sirv:storage() return self:call("getAccountStorage") end
  function Sirv:users() return self:call("getAccountUsers") end
  function Sirv:billing_plan() return self:call("getBillingPlan") end
  function Sirv:user(id)
    if type(id) ~= "string" or id == "" then error("sirv:user: argument #1 (id) must be a user id string", 2) end
    return self:call("getUser", { userId = id })
  end

  --- API limits per bucket; also seeds the client's rate-limit budgets.
  function Sirv:limits()
    local r, err = self:call("getAccountLimits")
    if type(r) == "table" then self.policy:seed(r) end
    return r, err
  end

  --- The client's current view of a budget ({limit, remaining, reset}) or all of them.
  function Sirv:budget(type_name)
    if type_name ~= nil and type(type_name) ~= "string" then
      error("sirv:budget: argument #1 must be a rate-limit type string (e.g. \"rest:global\") or nil", 2)
    end
    if type_name then return self.policy:budget(type_name) end
    return self.policy:budgets()
  end

  local STATS = { http = "getStatsHttp", storage = "getStatsStorage", spins_views = "getStatsSpinsViews" }

  --- Statistics: stats("http"|"storage"|"spins_views", {from=, to=, alias=}).
  function Sirv:stats(kind, range)
    local op = STATS[kind]
    if not op then error("sirv:stats: kind must be \"http\", \"storage\" or \"spins_views\"", 2) end
    return self:call(op, range or {})
  end

  --- Account events matching {module=, type=, filename=, level=} (one array).
  function Sirv:events_page(filter)
    return self:call("postAccountEventsSearch", filter or {})
  end

  -- iterators (mediacdn.sirv.iter) -------------------------------------------

  local iter = require "mediacdn.sirv.iter"

  --- for entry in sirv:readdir(dir, {recursive = true}) do print(entry.path) end
  function Sirv:readdir(dir, opts) return iter.readdir(self, dir, opts) end

  --- for hit in sirv:search{query = "extension:.jpg"} do print(hit.path) end
  function Sirv:search(params, opts) return iter.search(self, params, opts) end

  --- for ev in sirv:events{level = "error"} do print(ev.module) end
  function Sirv:events(filter) return iter.events(self, filter) end
end
