--- The Sirv side of the bulk workflows (apply_meta, export_meta, import_meta):
-- what a source is for Sirv (a folder walked with readdir, a search, or any
-- generic source of mediacdn.bulk), the path of an entry or a search hit, and a
-- run of mediacdn.bulk over a client: its policy decides at the limits, and with
-- on_limit = "stop" the work goes through a view of the client that fails fast.
local bulk = require "mediacdn.bulk"
local meta = require "mediacdn.sirv.meta"
local args = require "mediacdn.args"

local type, setmetatable, tostring = type, setmetatable, tostring
local argerror, str = meta.argerror, meta.str

local M = {}

--- An opener for `source` (raises on misuse, naming argument #1 of sirv:<fn>):
-- returns open(c) -> Source and whether re-opening restarts the same sequence
-- (folders, searches and lists do; iterators and pull functions do not).
function M.opener(source, opts, fn)
  if type(source) == "string" then
    -- a misuse raises here, not in the walk (where it would become the run's error)
    args.remote_path("sirv:" .. fn, "argument #1 (source)", source, 4)
    local ro = { recursive = opts.recursive == true }
    return function(c) return bulk.from(c:readdir(source, ro)) end, true
  end
  local open, restartable = bulk.opener(source)
  if open and bulk.is_list(source) then
    -- a list is in memory: its paths are checked before the first call (an item
    -- without a path still ends the run with summary.error, as from any source)
    for i = 1, #source do
      local v = source[i]
      local p = type(v) == "table" and v.path or v
      if type(p) == "string" then args.remote_path("sirv:" .. fn, ("argument #1 (source[%d])"):format(i), p, 4) end
    end
  end
  if open then return function() return open() end, restartable end
  if type(source) == "table" and (source.query ~= nil or source.sort ~= nil) then
    local params = { query = source.query, sort = source.sort, size = source.size }
    return function(c) return bulk.from(c:search(params)) end, true
  end
  argerror(fn, 1, "must be a folder path, a list of paths, a search {query=}, "
    .. "a pull function or metadata.from(iterator)", 4)
end

-- The path of an item a source yields (a path string, an entry or a search hit).
local function item_path(item)
  if type(item) == "string" then return item end
  if type(item) == "table" then
    if type(item.path) == "string" then return item.path end
    if type(item.filename) == "string" and item.filename:sub(1, 1) == "/" then return item.filename end
    if type(item._source) == "table" then return str(item._source.filename) end
  end
  return nil
end

-- Is a source's item a folder: a readdir/stat entry flags it itself, a search
-- hit in its _source (the search index holds folders too).
local function is_folder(item)
  if type(item) ~= "table" then return false end
  if item.isDirectory == true then return true end
  return type(item._source) == "table" and item._source.isDirectory == true
end

-- With on_limit = "stop", a client in "wait" mode must not sleep on a budget it
-- knows is empty: a view of it with rate_limit = "fail" makes every call it
-- makes fail fast with rate_limited (same engine, token and budgets).
local function fail_fast_view(client)
  if client.rate_limit == "fail" then return client end
  return setmetatable({ rate_limit = "fail" },
    { __index = client, __tostring = function() return tostring(client) end })
end

--- Run work(client, item) -> value | nil, err over every item of a source (see
-- mediacdn.bulk.run). opts are the checked options of the public call; emit
-- receives each report in order. Returns the summary, or nil, err.
function M.run(client, open, restartable, work, opts, emit)
  local mode = opts.on_limit or (client.rate_limit == "fail" and "stop" or "wait")
  local c = mode == "stop" and fail_fast_view(client) or client
  local folders = opts.folders == true
  local journal = opts.journal
  if type(journal) == "table" then
    -- a shared journal (issue 17): {job =, lease =} over the client's shared Redis
    if not (client.shared and client.shared.redis) then
      argerror("apply_meta", 3, "field 'journal' as a table needs a client made with shared = { redis = ... }", 4)
    end
    if type(journal.claim) ~= "function" then
      journal = require("mediacdn.shared.journal").new{ redis = client.shared.redis, job = journal.job,
        lease = journal.lease }
    end
  end
  return bulk.run{
    open = function() return open(c) end, restartable = restartable,
    work = function(item) return work(c, item) end,
    emit = emit, on_file = opts.on_file, on_wait = opts.on_wait,
    journal = journal, concurrency = opts.concurrency,
    event = client.engine and function(ev) client.engine:emit(ev) end,
    on_limit = mode, max_wait = opts.max_wait, policy = client.policy, clock = client.transport,
    bucket = "rest:global", service = "sirv", path_of = item_path,
    skip = function(v) return not folders and is_folder(v) end,
  }
end

return M
