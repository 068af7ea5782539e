--- A service-neutral bulk runner: run one piece of work per item of a source
-- (a list, a pull function, any generic-for iterator) in batches, `concurrency`
-- at a time through mediacdn.loop, with a journal of finished items (a re-run
-- skips them), one report per item in source order, and rate-limit awareness:
-- at a limit the run stops (reporting when the limit resets) or waits for the
-- reset, as the C policy core decides. The Sirv metadata workflows run on it;
-- it knows nothing of any service.
--
--   local bulk = require "mediacdn.bulk"
--   local open, restartable = bulk.opener({ "/a.jpg", "/b.jpg" })
--   local summary, err = bulk.run{
--     open = open, restartable = restartable,
--     work = function(item) return value | nil, err end,   -- item = {path=, item=}
--     policy = client.policy, clock = client.transport,     -- decide / admit; now / sleep
--     on_limit = "stop" | "wait", max_wait = s, bucket = "rest:global",
--     concurrency = 8, journal = "run.journal", on_file = fn, on_wait = fn, emit = fn,
--     path_of = fn, skip = fn, service = "sirv",
--     -- or journal = a shared journal (mediacdn.shared.journal): N processes split the
--     -- job, each item claimed before it runs (mediacdn.shared.claims); event = fn
--   }
-- docs/internals.md ("The bulk runner") gives every field and the summary.
local errors = require "mediacdn.errors"
local claims = require "mediacdn.shared.claims"
local args = require "mediacdn.args"

local type, ipairs, next, tostring = type, ipairs, next, tostring
local setmetatable, getmetatable, pcall, error = setmetatable, getmetatable, pcall, error
local max, floor = math.max, math.floor
local unpack = table.unpack or unpack

local M = {}

local DEFAULT_CONCURRENCY = 8

local Source = {}
Source.__index = Source
Source.__name = "mediacdn.bulk.Source"

-- errors ---------------------------------------------------------------------------

local function local_error(msg, service)
  return errors.new{ kind = "local", service = service, message = msg }
end

-- Any raised or returned failure as a mediacdn.Error.
local function as_error(e, service)
  if errors.is(e) then return e end
  if e == nil then e = "failed" end
  return local_error(tostring(e), service)
end

-- sources ------------------------------------------------------------------------

--- Wrap a generic-for iterator (all its values: f, s, ctl, closing) as a source.
function M.from(f, s, ctl, closing)
  if type(f) ~= "function" then error("bulk.from: argument #1 must be an iterator function", 2) end
  local src = setmetatable({}, Source)
  src.pull = function()
    local v = f(s, ctl)
    ctl = v
    return v
  end
  src.close = function()
    if closing ~= nil then
      local c = (type(closing) == "table" or type(closing) == "userdata") and closing.close
      if c then c(closing) end
      closing = nil
    end
  end
  return src
end

--- A source from a pull function (next item, or nil at the end) and an optional close.
function M.source(pull, close)
  if type(pull) ~= "function" then error("bulk.source: argument #1 must be a pull function", 2) end
  return setmetatable({ pull = pull, close = close }, Source)
end

-- A list as a pull function.
local function list_pull(list)
  local i = 0
  return function()
    i = i + 1
    return list[i]
  end
end

--- Whether t is an array (or empty): a list source.
function M.is_list(t)
  return type(t) == "table" and (t[1] ~= nil or next(t) == nil)
end

--- An opener for a generic source: a Source (bulk.from / bulk.source), a pull
-- function or a list. Returns open() -> Source and whether re-opening restarts
-- the same sequence (lists do; functions and iterators do not), or nil when v is
-- none of these.
function M.opener(v)
  if type(v) == "function" then
    return function() return M.source(v) end, false
  elseif type(v) == "table" and getmetatable(v) == Source then
    return function() return v end, false
  elseif M.is_list(v) then
    return function() return M.source(list_pull(v)) end, true
  end
  return nil
end

-- The path of an item: a string, or its `path` field.
local function default_path(v)
  if type(v) == "string" then return v end
  if type(v) == "table" and type(v.path) == "string" then return v.path end
  return nil
end

-- the journal: one finished path a line ----------------------------------------

-- A path on one line: backslash, CR and LF escaped C-style (paths keep their "%").
local ESC = { ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r" }
local UNESC = { ["\\"] = "\\", n = "\n", r = "\r" }

local function journal_escape(p)
  return (p:gsub("[\\\r\n]", ESC))
end

local function journal_unescape(l)
  return (l:gsub("\\(.)", UNESC))
end

-- Read the journal's paths into a set and open it for appending.
local function journal_open(path, service)
  local done, text = {}, ""
  local f = io.open(path, "rb")
  if f then
    text = f:read("a") or ""
    f:close()
  end
  for line in text:gmatch("[^\n]+") do
    line = line:gsub("\r$", "")
    if line ~= "" and line:sub(1, 1) ~= "#" then done[journal_unescape(line)] = true end
  end
  local h, err = io.open(path, "ab")
  if not h then return nil, local_error("cannot open the journal: " .. tostring(err), service) end
  -- a line torn by a crash must not glue onto the next path
  if text ~= "" and text:sub(-1) ~= "\n" then h:write("\n") end
  return done, h
end

-- the scheduler ----------------------------------------------------------------

local loop_absent = false

-- mediacdn.loop when it exists (raising if it exists but fails to load), else nil.
local function get_loop()
  local mod = package.loaded["mediacdn.loop"]
  if mod == nil and not loop_absent then
    local ok, m = pcall(require, "mediacdn.loop")
    if ok then mod = m
    elseif tostring(m):find("module 'mediacdn.loop' not found", 1, true) then loop_absent = true
    else error(m, 0) end
  end
  if type(mod) == "table" and type(mod.gather) == "function" then return mod end
  return nil
end

-- Run fns, at most n at a time; results[i] or errs[i] (raised) for fns[i].
local function gather(fns, n)
  local loop = n > 1 and get_loop()
  if loop then return loop.gather(fns, { concurrency = n }) end
  local results, errs = {}, {}
  for i, fn in ipairs(fns) do
    local ok, r = pcall(fn)
    if ok then results[i] = r else errs[i] = r end
  end
  return results, errs
end

-- rate limits: the policy core decides, the runner carries it out -----------------

-- Stop, remembering the latest reset time seen.
local function halt(ctx, reset_at)
  ctx.halted = true
  ctx.summary.stopped = true
  if reset_at and (not ctx.summary.reset_at or reset_at > ctx.summary.reset_at) then
    ctx.summary.reset_at = reset_at
  end
end

-- Sleep `delay` before going on (announced through on_wait).
local function wait(ctx, delay, reset_at)
  if ctx.on_wait then ctx.on_wait(delay, reset_at) end
  ctx.clock:sleep(delay)
end

-- After a rate_limited error (its reset_at, if known): ask the policy whether to
-- wait (and wait) or to stop the run. `waits` counts the waits already spent on
-- the same item; may_wait = false stops in any case. Returns true after a wait,
-- false when the run stops.
local function on_limit(ctx, err, waits, may_wait)
  local mode = (may_wait ~= false and ctx.on_limit == "wait" and not ctx.halted) and "wait" or "fail"
  local action, delay, _, _, reset_at = ctx.policy:decide{ status = 429, reset_at = err.reset_at,
    bucket = err.ratelimit_type, now = ctx.clock:now(), waits = waits, rate_limit = mode,
    max_wait = ctx.max_wait }
  if action ~= "wait" then
    halt(ctx, reset_at)
    return false
  end
  wait(ctx, delay, reset_at)
  return true
end

-- Before a batch: a budget known to be empty waits or stops the run up front.
local function check_budget(ctx)
  if not ctx.bucket then return true end
  -- a shared policy books a request on admit: a check that sends nothing peeks
  local check = ctx.policy.peek or ctx.policy.admit
  local action, delay, _, reset_at = check(ctx.policy, ctx.bucket, ctx.clock:now(),
    { rate_limit = ctx.on_limit == "wait" and "wait" or "fail", max_wait = ctx.max_wait })
  if action == "fail" then
    halt(ctx, reset_at)
    return false
  end
  if action == "wait" then wait(ctx, delay, reset_at) end
  return true -- pacing is the engine's business, per request
end

-- the run --------------------------------------------------------------------------

-- One item's task: run the work, journal a success, wait out or stop at a limit.
local function task(ctx, item)
  return function()
    if ctx.halted then
      if ctx.claims then claims.finish(ctx, item.path, false) end
      return { path = item.path, not_started = true }
    end
    local waits = 0
    while true do
      local value, err = ctx.work(item)
      if value ~= nil and value ~= false then
        if ctx.claims then claims.finish(ctx, item.path, true) end
        if ctx.journal then
          ctx.journal:write(journal_escape(item.path) .. "\n")
          ctx.journal:flush()
        end
        return { path = item.path, ok = true, result = value }
      end
      err = as_error(err or ("the action returned " .. tostring(value)), ctx.service)
      if err.kind ~= "rate_limited" or not on_limit(ctx, err, waits) then
        if ctx.claims then claims.finish(ctx, item.path, false) end
        return { path = item.path, ok = false, err = err }
      end
      waits = waits + 1
    end
  end
end

-- The next item to process, or nil when the source is done, stopped or failed
-- (a failed source ends the run after the items already pulled).
local function pull(ctx)
  while not ctx.halted and not ctx.ended do
    local ok, v = pcall(ctx.src.pull)
    if not ok then
      local err = as_error(v, ctx.service)
      if err.kind == "rate_limited" and ctx.restartable and ctx.on_limit == "wait" then
        -- a page hit the limit: wait, then walk again from the start, skipping what we saw
        if not on_limit(ctx, err, 0) then return nil end
        if ctx.src.close then pcall(ctx.src.close) end
        ctx.src = ctx.open()
      else
        if err.kind == "rate_limited" then on_limit(ctx, err, 0, false) -- cannot walk again
        else ctx.summary.error, ctx.ended = err, true end
        return nil
      end
    elseif v == nil then
      ctx.exhausted = true
      return nil
    else
      local path = ctx.path_of(v)
      if not path then
        ctx.summary.error, ctx.ended = local_error("the source yielded an item without a path", ctx.service), true
        return nil
      end
      -- pass over what is not an item for us (a folder, say) or was met before a restart
      if not ((ctx.skip and ctx.skip(v)) or (ctx.seen and ctx.seen[path])) then
        if ctx.seen then ctx.seen[path] = true end
        if ctx.claims then
          -- a shared journal: run it only if it is ours; one held elsewhere comes back at the end
          local st = claims.claim(ctx, path)
          if st == nil then return nil end
          if st ~= "busy" then return { path = path, item = v, skipped = st == "done" or nil } end
          ctx.deferred[#ctx.deferred + 1] = { path = path, item = v }
        else
          -- a journaled item is reported as skipped
          return { path = path, item = v, skipped = (ctx.done and ctx.done[path]) or nil }
        end
      end
    end
  end
  return nil
end

-- Record a finished report in order: counts, files, callbacks.
local function record(ctx, rep, item)
  local s = ctx.summary
  if rep.skipped then s.skipped = s.skipped + 1
  elseif rep.ok then s.done = s.done + 1
  elseif rep.err.kind == "rate_limited" then s.limited = s.limited + 1 -- left for the next run
  else s.failed = s.failed + 1 end
  s.files[#s.files + 1] = rep
  if ctx.emit then ctx.emit(rep, item) end
  if ctx.on_file then ctx.on_file(rep) end
end

-- Pull (or take from `items`), run and record one batch; returns whether the
-- source may have more.
local function run_batch(ctx, n, batch_size, items)
  local batch, fns = {}, {}
  local i = 0
  while #fns < batch_size do
    local item
    if items then i = i + 1; item = items[i] else item = pull(ctx) end
    if not item then break end
    batch[#batch + 1] = item
    if not item.skipped then fns[#fns + 1] = task(ctx, item) end
  end
  local results, errs = {}, {}
  if #fns > 0 then results, errs = gather(fns, n) end
  local k = 0
  for _, item in ipairs(batch) do
    if item.skipped then
      record(ctx, { path = item.path, ok = true, skipped = true }, item)
    else
      k = k + 1
      local rep = results[k]
      if type(rep) ~= "table" then
        -- the work raised: an error object fails this item; anything else is a
        -- bug that stops the run (after this batch)
        local e = errs[k]
        rep = { path = item.path, ok = false, err = as_error(e, ctx.service) }
        if not errors.is(e) then ctx.summary.error, ctx.halted = rep.err, true end
      end
      if not rep.not_started then record(ctx, rep, item) end
    end
  end
  return #fns >= batch_size -- fewer: the source ended (or the run stops)
end

--- Check the options every bulk run shares (raises on misuse, as
-- "<label>: argument #<argn> field ..."). Returns opts, or {} for nil.
function M.check_opts(opts, label, argn, level)
  level = (level or 2) + 1
  local function bad(msg) error(("%s: argument #%d %s"):format(label, argn, msg), level + 1) end
  if opts == nil then return {} end
  if type(opts) ~= "table" then bad("must be a table of options") end
  local c = opts.concurrency
  if c ~= nil and (type(c) ~= "number" or c < 1 or c ~= floor(c) or c > args.MAX) then
    bad("field 'concurrency' must be a positive integer")
  end
  if opts.on_limit ~= nil and opts.on_limit ~= "stop" and opts.on_limit ~= "wait" then
    bad("field 'on_limit' must be \"stop\" or \"wait\"")
  end
  if opts.journal ~= nil and type(opts.journal) ~= "string" and type(opts.journal) ~= "table" then
    bad("field 'journal' must be a file path or a shared journal {job =, lease =}")
  end
  if type(opts.journal) == "string" then
    args.local_path(label, ("argument #%d field 'journal'"):format(argn), opts.journal, level + 1)
  end
  for _, k in ipairs{ "on_file", "on_wait" } do
    if opts[k] ~= nil and type(opts[k]) ~= "function" then bad(("field '%s' must be a function"):format(k)) end
  end
  if opts.out ~= nil and (type(opts.out) ~= "table" and io.type(opts.out) ~= "file") then
    bad("field 'out' must be a file handle")
  end
  local mw = opts.max_wait
  if mw ~= nil and (type(mw) ~= "number" or not (mw >= 0 and mw <= 1e9)) then
    bad("field 'max_wait' must be a number of seconds (0 to 1e9)")
  end
  return opts
end

--- Run work over every item of a source in batches (see the head of this file).
-- Returns the summary {done, failed, skipped, limited, stopped, reset_at,
-- complete, error, files}, or nil, err when the journal cannot be opened.
function M.run(r)
  if type(r) ~= "table" or type(r.open) ~= "function" or type(r.work) ~= "function" then
    error("bulk.run: argument #1 must be a table with open and work functions", 2)
  end
  if r.policy == nil or r.policy.decide == nil or type(r.clock) ~= "table" then
    error("bulk.run: fields 'policy' (a core.policy) and 'clock' (a transport) are required", 2)
  end
  args.number("bulk.run", "field 'concurrency'", r.concurrency, 1, nil, true, DEFAULT_CONCURRENCY)
  if r.on_limit ~= nil and r.on_limit ~= "stop" and r.on_limit ~= "wait" then
    args.raise("bulk.run", "field 'on_limit'", '"stop" or "wait"', r.on_limit, 2)
  end
  args.number("bulk.run", "field 'max_wait'", r.max_wait, 0, 1e9, false, 0)
  if r.journal ~= nil and r.journal ~= false and type(r.journal) ~= "string" and type(r.journal) ~= "table" then
    args.raise("bulk.run", "field 'journal'", "a file path or a shared journal", r.journal, 2)
  end
  if type(r.journal) == "string" then args.local_path("bulk.run", "field 'journal'", r.journal) end
  local ctx = {
    open = r.open, restartable = r.restartable == true, work = r.work, emit = r.emit,
    on_limit = r.on_limit or "stop", on_file = r.on_file, on_wait = r.on_wait, max_wait = r.max_wait,
    policy = r.policy, clock = r.clock, bucket = r.bucket, service = r.service,
    path_of = r.path_of or default_path, skip = r.skip,
    summary = { done = 0, failed = 0, skipped = 0, limited = 0, stopped = false, complete = false, files = {} },
  }
  if type(r.journal) == "table" then
    ctx.claims, ctx.deferred, ctx.event = r.journal, {}, r.event
    ctx.pause_max = r.pause_max or 300
  elseif r.journal then
    local done, h = journal_open(r.journal, r.service)
    if not done then return nil, h end
    ctx.done, ctx.journal = done, h
  end
  if ctx.on_limit == "wait" and ctx.restartable then ctx.seen = {} end
  local n = r.concurrency or DEFAULT_CONCURRENCY
  local batch_size = max(n * 8, 16)
  ctx.src = r.open()
  local ok, perr = pcall(function()
    while not (ctx.halted or ctx.ended or ctx.exhausted) and check_budget(ctx) do
      if not run_batch(ctx, n, batch_size) then break end
    end
    if ctx.claims and ctx.exhausted then
      claims.drain(ctx, function(list)
        for first = 1, #list, batch_size do
          run_batch(ctx, n, batch_size, { unpack(list, first, math.min(#list, first + batch_size - 1)) })
        end
      end, function(item) record(ctx, { path = item.path, ok = true, skipped = true }, item) end)
    end
  end)
  if ctx.src.close then pcall(ctx.src.close) end
  if ctx.journal then ctx.journal:close() end
  if not ok then error(perr, 0) end
  ctx.summary.complete = ctx.exhausted == true and not ctx.halted and not ctx.summary.error
    and not (ctx.deferred and #ctx.deferred > 0)
  return ctx.summary
end

return M
