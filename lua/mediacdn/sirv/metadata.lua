--- Metadata workflows over Sirv's editorial meta (title, description, tags,
-- product, approval): read all of a file's meta as one table, set many fields in
-- one call, idempotent tag edits, copy meta between files, apply a change (or a
-- function) to every file of a folder, a search, a list or an iterator with
-- bounded concurrency, a report per file, rate-limit awareness and a journal,
-- and export / import (CSV or JSON) with a dry-run diff.
--
-- Every function takes the client first, so each one is also a client method
-- once installed (`require("mediacdn.sirv.metadata").install(Sirv)`):
--   sirv:read_meta(path)                  -> meta | nil, err
--   sirv:edit_meta(path, change)          -> true | nil, err
--   sirv:copy_meta(from, to, opts)        -> true | nil, err
--   sirv:apply_meta(source, action, opts) -> summary | nil, err
--   sirv:export_meta(source, dest, opts)  -> summary | nil, err
--   sirv:import_meta(src, opts)           -> summary | nil, err
-- See docs/metadata.md for the shapes of meta, change, source and summary.
local core = require "mediacdn.core"
local errors = require "mediacdn.errors"
local csv = require "mediacdn.csv"
local schema = require "mediacdn.sirv.schema"
local ENDPOINTS = require "mediacdn.sirv.endpoints"

local null, array_mt = core.null, core.array_mt
local json_encode, json_decode = core.json_encode, core.json_decode
local type, pairs, ipairs, next, tostring, tonumber = type, pairs, ipairs, next, tostring, tonumber
local setmetatable, getmetatable, pcall, error = setmetatable, getmetatable, pcall, error
local concat, max, min, floor = table.concat, math.max, math.min, math.floor

local M = {}

--- The CSV columns of an export, in order.
M.COLUMNS = { "path", "title", "description", "tags", "approved", "approval_comment",
  "product_id", "product_name", "product_brand", "product_category1", "product_category2" }

local PRODUCT_KEYS = { "id", "name", "brand", "category1", "category2" }
local SET_FIELDS = { "title", "description", "tags", "product", "approval" }
local CHANGE_FIELDS = { title = "string", description = "string", tags = "tags", product = "table",
  approval = "table", add_tags = "tags", remove_tags = "tags" }
local KNOWN_COLUMNS = {}
for _, c in ipairs(M.COLUMNS) do KNOWN_COLUMNS[c] = true end

-- What one postFilesMeta call can carry (its schema is stricter than the single setters').
local BULK_TITLE, BULK_DESCRIPTION, BULK_TAG, TAGS_PER_CALL = 256, 1024, 32, 50
local DEFAULT_CONCURRENCY, MAX_WAITS = 8, 20

local Source = {}
Source.__index = Source
Source.__name = "mediacdn.sirv.metadata.Source"

-- misc helpers -----------------------------------------------------------------

-- Raise a misuse error at the user's call: level 3 from a public function, 4 from
-- a helper it calls.
local function argerror(fn, n, msg, level)
  error(("sirv:%s: argument #%d %s"):format(fn, n, msg), level or 3)
end

local function check_client(c, fn)
  if type(c) ~= "table" or type(c.call) ~= "function" then
    error(("sirv:%s: self must be a mediacdn.sirv client (use sirv:%s(...))"):format(fn, fn), 3)
  end
end

local function array(t)
  return setmetatable(t or {}, array_mt)
end

-- A JSON value as a Lua value: null and non-strings become nil.
local function str(v)
  if type(v) == "string" then return v end
  return nil
end

local function local_error(msg, op)
  return errors.new{ kind = "local", service = "sirv", operation = op, message = msg }
end

local function client_error(msg, op)
  return errors.new{ kind = "client", service = "sirv", operation = op, message = msg }
end

-- Any raised or returned failure as a mediacdn.Error.
local function as_error(e, op)
  if errors.is(e) then return e end
  if e == nil then e = "failed" end
  return local_error(tostring(e), op)
end

-- A tag list from a string or an array of strings, without duplicates (nil on misuse).
local function tag_list(v)
  if type(v) == "string" then v = { v } end
  if type(v) ~= "table" then return nil end
  local out, seen = array(), {}
  for i = 1, #v do
    local t = v[i]
    if type(t) ~= "string" then return nil end
    if not seen[t] then out[#out + 1], seen[t] = t, true end
  end
  return out
end

-- The elements of a that are not in b, in a's order.
local function minus(a, b)
  local drop, out = {}, array()
  for _, t in ipairs(b) do drop[t] = true end
  for _, t in ipairs(a) do if not drop[t] then out[#out + 1] = t end end
  return out
end

-- Call op with `tags` in chunks of at most 50 (the endpoints' maxItems).
local function tags_in_chunks(client, op, path, tags)
  for i = 1, #tags, TAGS_PER_CALL do
    local chunk = array()
    for j = i, min(i + TAGS_PER_CALL - 1, #tags) do chunk[#chunk + 1] = tags[j] end
    local ok, err = client:call(op, { filename = path, tags = chunk })
    if not ok then return nil, err end
  end
  return true
end

-- A value for a diff line: quoted, control characters escaped.
local function show(v)
  if v == nil then return "(none)" end
  if type(v) ~= "string" then return tostring(v) end
  return '"' .. v:gsub('[%c"\\]', function(c)
    if c == "\n" then return "\\n" end
    if c == '"' or c == "\\" then return "\\" .. c end
    return ("\\%03d"):format(c:byte())
  end) .. '"'
end

-- reading and writing one file's meta ------------------------------------------

--- Normalise a getFilesMeta answer: {title = "", description = "", tags = {...},
-- product = {id=, name=, brand=, category1=, category2=} (only non-empty fields),
-- approval = {approved = bool|nil, comment = string|nil, datetime = string|nil}}.
function M.normalize(raw)
  if type(raw) ~= "table" then raw = {} end
  local rec = { title = str(raw.title) or "", description = str(raw.description) or "",
    tags = array(), product = {}, approval = {} }
  if type(raw.tags) == "table" then
    for _, t in ipairs(raw.tags) do
      if type(t) == "string" then rec.tags[#rec.tags + 1] = t end
    end
  end
  if type(raw.product) == "table" then
    for _, k in ipairs(PRODUCT_KEYS) do
      local v = str(raw.product[k])
      if v and v ~= "" then rec.product[k] = v end
    end
  end
  local a = raw.approval
  if type(a) == "table" then
    if type(a.approved) == "boolean" then rec.approval.approved = a.approved end
    local c = str(a.comment)
    if c and c ~= "" then rec.approval.comment = c end
    rec.approval.datetime = str(a.datetime)
  end
  return rec
end

--- All editorial meta of a file as one table (one getFilesMeta call; see normalize).
function M.read(client, path)
  check_client(client, "read_meta")
  if type(path) ~= "string" then argerror("read_meta", 1, "must be a path string") end
  local raw, err = client:call("getFilesMeta", { filename = path })
  if raw == nil then return nil, err end
  return M.normalize(raw)
end

-- Set `fields` (title, description, tags, product, approval) with one postFilesMeta
-- call. What that call cannot carry (a title over 256 bytes, a description over
-- 1024, more than 50 tags or a tag over 32 bytes) goes through the single-field
-- endpoints; tags then by difference with `current_tags` (read when not given).
local function write_fields(client, path, fields, current_tags)
  local bulk, long_title, long_desc, tags = {}, nil, nil, nil
  for k, v in pairs(fields) do bulk[k] = v end
  if bulk.title and #bulk.title > BULK_TITLE then long_title, bulk.title = bulk.title, nil end
  if bulk.description and #bulk.description > BULK_DESCRIPTION then
    long_desc, bulk.description = bulk.description, nil
  end
  if bulk.tags then
    local fits = #bulk.tags <= TAGS_PER_CALL
    for _, t in ipairs(bulk.tags) do if #t > BULK_TAG then fits = false end end
    if not fits then tags, bulk.tags = bulk.tags, nil end
  end
  if next(bulk) then
    -- a value no endpoint accepts is this file's failure, not a misuse of the call
    local _, verr = schema.check(bulk, ENDPOINTS.postFilesMeta.body, "meta")
    if verr then return nil, client_error(verr, "postFilesMeta") end
    bulk.filename = path
    local ok, err = client:call("postFilesMeta", bulk)
    if not ok then return nil, err end
  end
  if long_title then
    local ok, err = client:call("postFilesMetaTitle", { filename = path, title = long_title })
    if not ok then return nil, err end
  end
  if long_desc then
    local ok, err = client:call("postFilesMetaDescription", { filename = path, description = long_desc })
    if not ok then return nil, err end
  end
  if tags then
    if not current_tags then
      local r, err = client:call("getFilesMetaTags", { filename = path })
      if r == nil then return nil, err end
      current_tags = M.normalize(r).tags
    end
    local ok, err = tags_in_chunks(client, "deleteFilesMetaTags", path, minus(current_tags, tags))
    if not ok then return nil, err end
    ok, err = tags_in_chunks(client, "postFilesMetaTags", path, minus(tags, current_tags))
    if not ok then return nil, err end
  end
  return true
end

-- Check a change table; returns a copy with tag lists normalised (raises on misuse).
local function check_change(change, fn, argn)
  if type(change) ~= "table" then argerror(fn, argn, "must be a change table {title=, tags=, add_tags=, ...}", 4) end
  local out = {}
  for k, v in pairs(change) do
    local want = CHANGE_FIELDS[k]
    if not want then argerror(fn, argn, ("has an unknown field '%s'"):format(tostring(k)), 4) end
    if want == "tags" then
      out[k] = tag_list(v)
      if not out[k] then argerror(fn, argn, ("field '%s' must be a tag string or a list of strings"):format(k), 4) end
    elseif type(v) ~= want then
      argerror(fn, argn, ("field '%s' must be a %s"):format(k, want), 4)
    else
      out[k] = v
    end
  end
  -- product and approval have the same limits everywhere: check them up front
  local props = ENDPOINTS.postFilesMeta.body.properties
  for _, k in ipairs{ "product", "approval" } do
    if out[k] ~= nil then
      local _, err = schema.check(out[k], props[k], k)
      if err then argerror(fn, argn, "is invalid: " .. err, 4) end
    end
  end
  return out
end

-- Apply a checked change: set fields in one call, then remove and add tags.
local function edit(client, path, change)
  local fields = {}
  for _, k in ipairs(SET_FIELDS) do fields[k] = change[k] end
  if next(fields) then
    local ok, err = write_fields(client, path, fields, nil)
    if not ok then return nil, err end
  end
  if change.remove_tags then
    local ok, err = tags_in_chunks(client, "deleteFilesMetaTags", path, change.remove_tags)
    if not ok then return nil, err end
  end
  if change.add_tags then
    local ok, err = tags_in_chunks(client, "postFilesMetaTags", path, change.add_tags)
    if not ok then return nil, err end
  end
  return true
end

--- Change one file's meta: {title=, description=, tags= (replaces all), product=
-- (replaces it), approval = {approved=, comment=}, add_tags=, remove_tags=}. The set
-- fields go in one call; add_tags / remove_tags are idempotent (a tag already there,
-- or already gone, is not an error). Returns true or nil, err.
function M.edit(client, path, change)
  check_client(client, "edit_meta")
  if type(path) ~= "string" then argerror("edit_meta", 1, "must be a path string") end
  return edit(client, path, check_change(change, "edit_meta", 2))
end

--- Copy the meta of `from` onto `to` (two calls: read, write). The target's title,
-- description, tags and product become the source's; its approval too when the
-- source has one. opts.fields: a list limiting what is copied ("title", "tags", ...).
function M.copy(client, from, to, opts)
  check_client(client, "copy_meta")
  if type(from) ~= "string" then argerror("copy_meta", 1, "must be a path string") end
  if type(to) ~= "string" then argerror("copy_meta", 2, "must be a path string") end
  if opts ~= nil and type(opts) ~= "table" then argerror("copy_meta", 3, "must be a table of options") end
  local only
  if opts and opts.fields then
    if type(opts.fields) ~= "table" then argerror("copy_meta", 3, "field 'fields' must be a list of names") end
    only = {}
    for _, f in ipairs(opts.fields) do
      if CHANGE_FIELDS[f] == nil or f == "add_tags" or f == "remove_tags" then
        argerror("copy_meta", 3, ("field 'fields' names an unknown field '%s'"):format(tostring(f)))
      end
      only[f] = true
    end
  end
  local src, err = M.read(client, from)
  if not src then return nil, err end
  local fields = { title = src.title, description = src.description, tags = src.tags, product = src.product }
  if src.approval.approved ~= nil then
    fields.approval = { approved = src.approval.approved, comment = src.approval.comment }
  end
  if only then
    for k in pairs(fields) do if not only[k] then fields[k] = nil end end
  end
  if next(fields) == nil then return true end
  return write_fields(client, to, fields, nil)
end

--- The changes that turn `current` (normalised meta) into `wanted` (a record where
-- only present fields count; "" clears a title, a description or a product field).
-- Returns fields (for postFilesMeta; empty when nothing differs) and readable lines.
function M.diff(current, wanted)
  if type(current) ~= "table" then error("metadata.diff: argument #1 must be a meta table", 2) end
  if type(wanted) ~= "table" then error("metadata.diff: argument #2 must be a meta table", 2) end
  local fields, lines = {}, {}
  for _, k in ipairs{ "title", "description" } do
    local w, c = wanted[k], current[k] or ""
    if w ~= nil and w ~= c then
      fields[k] = w
      lines[#lines + 1] = ("%s: %s -> %s"):format(k, show(c), show(w))
    end
  end
  if wanted.tags ~= nil then
    local cur = current.tags or {}
    local add, remove = minus(wanted.tags, cur), minus(cur, wanted.tags)
    if #add > 0 or #remove > 0 then
      fields.tags = array()
      for i, t in ipairs(wanted.tags) do fields.tags[i] = t end
      local parts = {}
      for _, t in ipairs(add) do parts[#parts + 1] = "+" .. show(t) end
      for _, t in ipairs(remove) do parts[#parts + 1] = "-" .. show(t) end
      lines[#lines + 1] = "tags: " .. concat(parts, " ")
    end
  end
  if wanted.product ~= nil then
    local cur, merged, changed = current.product or {}, {}, false
    for k, v in pairs(cur) do merged[k] = v end
    for _, k in ipairs(PRODUCT_KEYS) do
      local w = wanted.product[k]
      if w ~= nil and w ~= (cur[k] or "") then
        changed = true
        merged[k] = w -- "" clears it, whether Sirv replaces or merges the product
        lines[#lines + 1] = ("product.%s: %s -> %s"):format(k, show(cur[k] or ""), show(w))
      end
    end
    if changed then fields.product = merged end
  end
  if wanted.approval ~= nil then
    local w, c = wanted.approval, current.approval or {}
    local differs = false
    if w.approved ~= nil and w.approved ~= c.approved then
      differs = true
      lines[#lines + 1] = ("approved: %s -> %s"):format(show(c.approved), show(w.approved))
    end
    if w.comment ~= nil and w.comment ~= (c.comment or "") then
      differs = true
      lines[#lines + 1] = ("approval_comment: %s -> %s"):format(show(c.comment or ""), show(w.comment))
    end
    local approved = w.approved
    if approved == nil then approved = c.approved end
    if differs and approved == nil then
      lines[#lines + 1] = "(approval comment not set: the file has no approved value and the row gives none)"
    elseif differs then
      local comment = w.comment
      if comment == nil then comment = c.comment end
      fields.approval = { approved = approved, comment = comment }
    end
  end
  return fields, lines
end

-- sources: what apply / export iterate -------------------------------------------

--- Wrap a generic-for iterator (all its values: f, s, ctl, closing) as a source:
--   sirv:apply_meta(metadata.from(sirv:readdir("/dir")), change)
function M.from(f, s, ctl, closing)
  if type(f) ~= "function" then error("metadata.from: argument #1 must be an iterator function", 2) end
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

-- A list as a pull function.
local function list_pull(list)
  local i = 0
  return function()
    i = i + 1
    return list[i]
  end
end

local function is_list(t)
  return t[1] ~= nil or next(t) == nil
end

-- An opener for `source`: returns a function(client) -> Source, and whether
-- re-opening restarts the same sequence (folders, searches and lists do; iterators
-- do not).
local function opener(source, opts, fn)
  local ts = type(source)
  if ts == "string" then
    local ro = { recursive = opts.recursive == true }
    return function(c) return M.from(c:readdir(source, ro)) end, true
  elseif ts == "function" then
    return function() return setmetatable({ pull = source }, Source) end, false
  elseif ts == "table" and getmetatable(source) == Source then
    return function() return source end, false
  elseif ts == "table" and (source.query ~= nil or source.sort ~= nil) then
    local params = { query = source.query, sort = source.sort, size = source.size }
    return function(c) return M.from(c:search(params)) end, true
  elseif ts == "table" and is_list(source) then
    return function() return setmetatable({ pull = list_pull(source) }, Source) end, true
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
local function journal_open(path)
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
  if not h then return nil, local_error("cannot open the journal: " .. tostring(err)) end
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

-- With on_limit = "stop", a client in "wait" mode must not sleep on a budget it
-- knows is empty: a view of it with rate_limit = "fail" makes the engine return
-- rate_limited at once (same transport, token and budgets).
local function fail_fast_view(client)
  if client.rate_limit == "fail" then return client end
  return setmetatable({ rate_limit = "fail" }, { __index = client, __tostring = function() return tostring(client) end })
end

-- Stop, remembering the latest reset time seen.
local function halt(ctx, reset_at)
  ctx.halted = true
  reset_at = reset_at and math.ceil(reset_at)
  ctx.summary.stopped = true
  if reset_at and (not ctx.summary.reset_at or reset_at > ctx.summary.reset_at) then
    ctx.summary.reset_at = reset_at
  end
end

-- After a rate_limited error: wait until the reset (on_limit "wait") and return
-- true, or stop the run and return false.
local function on_limit(ctx, err)
  local t = ctx.client.transport
  local reset_at = err.reset_at or (t:now() + 1)
  local delay = max(reset_at - t:now(), 0)
  if ctx.on_limit ~= "wait" or delay > ctx.max_wait or ctx.halted then
    halt(ctx, reset_at)
    return false
  end
  delay = delay + 0.25 -- a reset header is rounded down to the second
  if ctx.on_wait then ctx.on_wait(delay, reset_at) end
  t:sleep(delay)
  return true
end

-- Before a batch: a budget known to be empty waits or stops the run up front.
local function check_budget(ctx)
  local ok, b = pcall(ctx.client.budget, ctx.client, "rest:global")
  if not ok or type(b) ~= "table" then return true end
  local now = ctx.client.transport:now()
  if tonumber(b.remaining) == 0 and tonumber(b.reset) and b.reset > now then
    return on_limit(ctx, { reset_at = b.reset })
  end
  return true
end

-- One file's task: run the work, journal a success, wait out or stop at a limit.
local function task(ctx, item)
  return function()
    if ctx.halted then return { path = item.path, not_started = true } end
    local waits = 0
    while true do
      local value, err = ctx.work(ctx.client, item)
      if value ~= nil and value ~= false then
        if ctx.journal then
          ctx.journal:write(journal_escape(item.path) .. "\n")
          ctx.journal:flush()
        end
        return { path = item.path, ok = true, result = value }
      end
      err = as_error(err or ("the action returned " .. tostring(value)), nil)
      -- whole seconds, as Sirv sends them (and tostring(err) formats them with %d)
      if type(err.reset_at) == "number" then err.reset_at = math.ceil(err.reset_at) end
      waits = waits + 1
      if err.kind ~= "rate_limited" or waits > MAX_WAITS or not on_limit(ctx, err) then
        if err.kind == "rate_limited" then halt(ctx, err.reset_at) end
        return { path = item.path, ok = false, err = err }
      end
    end
  end
end

-- The next item to process, or nil when the source is done, stopped or failed
-- (a failed source ends the run after the items already pulled).
local function pull(ctx)
  while not ctx.halted and not ctx.ended do
    local ok, v = pcall(ctx.src.pull)
    if not ok then
      local err = as_error(v)
      if err.kind == "rate_limited" and ctx.restartable and ctx.on_limit == "wait" then
        -- a page hit the limit: wait, then walk again from the start, skipping what we saw
        if not on_limit(ctx, err) then return nil end
        if ctx.src.close then pcall(ctx.src.close) end
        ctx.src = ctx.open(ctx.client)
      else
        if err.kind == "rate_limited" then halt(ctx, err.reset_at)
        else ctx.summary.error, ctx.ended = err, true end
        return nil
      end
    elseif v == nil then
      ctx.exhausted = true
      return nil
    else
      local path = item_path(v)
      if not path then
        ctx.summary.error, ctx.ended = local_error("the source yielded an item without a path"), true
        return nil
      end
      local folder = type(v) == "table" and v.isDirectory == true and not ctx.folders
      if folder or (ctx.seen and ctx.seen[path]) then
        -- a folder, or met again after a restart: not a file for us
      elseif ctx.done and ctx.done[path] then
        if ctx.seen then ctx.seen[path] = true end
        return { path = path, item = v, skipped = true }
      else
        if ctx.seen then ctx.seen[path] = true end
        return { path = path, item = v }
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

-- Check the options every runner shares (raises on misuse).
local function check_run_opts(opts, fn, argn)
  if opts == nil then return {} end
  if type(opts) ~= "table" then argerror(fn, argn, "must be a table of options", 4) end
  local c = opts.concurrency
  if c ~= nil and (type(c) ~= "number" or c < 1 or c ~= floor(c)) then
    argerror(fn, argn, "field 'concurrency' must be a positive integer", 4)
  end
  if opts.on_limit ~= nil and opts.on_limit ~= "stop" and opts.on_limit ~= "wait" then
    argerror(fn, argn, "field 'on_limit' must be \"stop\" or \"wait\"", 4)
  end
  if opts.journal ~= nil and type(opts.journal) ~= "string" then
    argerror(fn, argn, "field 'journal' must be a file path", 4)
  end
  for _, k in ipairs{ "on_file", "on_wait" } do
    if opts[k] ~= nil and type(opts[k]) ~= "function" then
      argerror(fn, argn, ("field '%s' must be a function"):format(k), 4)
    end
  end
  if opts.out ~= nil and (type(opts.out) ~= "table" and io.type(opts.out) ~= "file") then
    argerror(fn, argn, "field 'out' must be a file handle", 4)
  end
  if opts.max_wait ~= nil and type(opts.max_wait) ~= "number" then
    argerror(fn, argn, "field 'max_wait' must be a number of seconds", 4)
  end
  return opts
end

-- Run work(client, item) -> value | nil, err over every item of a source in
-- batches, `concurrency` at a time. Returns the summary, or nil, err when the
-- journal cannot be opened.
local function run(client, open, restartable, work, opts, emit)
  local mode = opts.on_limit or (client.rate_limit == "fail" and "stop" or "wait")
  local ctx = {
    client = mode == "stop" and fail_fast_view(client) or client,
    open = open, restartable = restartable, work = work, emit = emit,
    on_limit = mode, on_file = opts.on_file, on_wait = opts.on_wait, folders = opts.folders == true,
    max_wait = opts.max_wait or client.max_wait or 3600,
    summary = { done = 0, failed = 0, skipped = 0, limited = 0, stopped = false, complete = false, files = {} },
  }
  if opts.journal then
    local done, h = journal_open(opts.journal)
    if not done then return nil, h end
    ctx.done, ctx.journal = done, h
  end
  if mode == "wait" and restartable then ctx.seen = {} end
  local n = opts.concurrency or DEFAULT_CONCURRENCY
  local batch_size = max(n * 8, 16)
  ctx.src = open(ctx.client)
  local ok, perr = pcall(function()
    while not (ctx.halted or ctx.ended or ctx.exhausted) and check_budget(ctx) do
      local batch, fns = {}, {}
      while #fns < batch_size do
        local item = pull(ctx)
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
            -- the action raised: an error object fails this file; anything else is a
            -- bug that stops the run (after this batch)
            local e = errs[k]
            rep = { path = item.path, ok = false, err = as_error(e) }
            if not errors.is(e) then ctx.summary.error, ctx.halted = rep.err, true end
          end
          if not rep.not_started then record(ctx, rep, item) end
        end
      end
      if #fns < batch_size then break end -- the source ended (or the run stops)
    end
  end)
  if ctx.src.close then pcall(ctx.src.close) end
  if ctx.journal then ctx.journal:close() end
  if not ok then error(perr, 0) end
  ctx.summary.complete = ctx.exhausted == true and not ctx.halted and not ctx.summary.error
  return ctx.summary
end

-- apply --------------------------------------------------------------------------

--- Apply `action` to every file of `source`. action: a change table (see edit_meta)
-- or function(sirv, path, item) -> truthy | nil, err. source: a folder path (with
-- opts.recursive), {query=, sort=} (a search), a list of paths or entries, a pull
-- function, or metadata.from(iterator). opts: concurrency (8), journal (path),
-- on_limit ("stop" | "wait"; default from the client's rate_limit), max_wait,
-- on_file(report), on_wait(delay, reset_at), folders (also folders). Returns the
-- summary {done, failed, skipped, limited, stopped, reset_at, complete, error, files}.
function M.apply(client, source, action, opts)
  check_client(client, "apply_meta")
  opts = check_run_opts(opts, "apply_meta", 3)
  local work
  if type(action) == "function" then
    work = function(c, item) return action(c, item.path, item.item) end
  else
    local change = check_change(action, "apply_meta", 2)
    work = function(c, item) return edit(c, item.path, change) end
  end
  local open, restartable = opener(source, opts, "apply_meta")
  return run(client, open, restartable, work, opts, nil)
end

-- export -------------------------------------------------------------------------

-- A record as a CSV row in M.COLUMNS order.
local function csv_row(path, m)
  local a = m.approval or {}
  local approved = ""
  if a.approved ~= nil then approved = tostring(a.approved) end
  local p = m.product or {}
  return { path, m.title or "", m.description or "", concat(m.tags or {}, ";"), approved, a.comment or "",
    p.id or "", p.name or "", p.brand or "", p.category1 or "", p.category2 or "" }
end

-- A record as one line of JSON with its keys in a stable order.
local function json_line(path, m)
  local product = {}
  for _, k in ipairs(PRODUCT_KEYS) do product[k] = m.product[k] end
  local approval = {}
  for k, v in pairs(m.approval) do approval[k] = v end
  return ('{"path":%s,"title":%s,"description":%s,"tags":%s,"product":%s,"approval":%s}'):format(
    json_encode(path), json_encode(m.title), json_encode(m.description), json_encode(array(m.tags)),
    json_encode(product), json_encode(approval))
end

-- The format named by opts.format, else by the file's extension (csv by default).
local function pick_format(opts, name, fn, argn)
  local f = opts.format
  if f == nil then
    f = (type(name) == "string" and name:lower():match("%.json$")) and "json" or "csv"
  end
  if f ~= "csv" and f ~= "json" then argerror(fn, argn, "field 'format' must be \"csv\" or \"json\"", 4) end
  return f
end

-- An open handle for dest (a path or a handle) and whether we own it.
local function open_dest(dest, fn)
  if type(dest) == "string" then
    local h, err = io.open(dest, "wb")
    if not h then return nil, local_error("cannot open " .. dest .. ": " .. tostring(err)) end
    return h, true
  elseif io.type(dest) == "file" or (type(dest) == "table" and type(dest.write) == "function") then
    return dest, false
  end
  argerror(fn, 2, "must be a file path or a file handle", 4)
end

--- Export the meta of every file of `source` (as for apply_meta) to `dest` (a path
-- or a handle) as CSV (M.COLUMNS; tags joined with ";") or JSON (an array with one
-- object per line). One getFilesMeta call per file, `concurrency` at a time, written
-- in source order. opts: format, and apply_meta's options except journal.
function M.export(client, source, dest, opts)
  check_client(client, "export_meta")
  opts = check_run_opts(opts, "export_meta", 3)
  if opts.journal then argerror("export_meta", 3, "field 'journal' is not supported by export_meta") end
  local format = pick_format(opts, dest, "export_meta", 3)
  local open, restartable = opener(source, opts, "export_meta")
  local h, owned = open_dest(dest, "export_meta")
  if not h then return nil, owned end
  local first, werr = true, nil
  local function put(s)
    if werr then return end
    local ok, e = h:write(s)
    if not ok then werr = local_error("cannot write the export: " .. tostring(e)) end
  end
  if format == "csv" then put(csv.encode_row(M.COLUMNS)) else put("[\n") end
  local function emit(rep)
    if not rep.ok then return end
    if format == "csv" then
      put(csv.encode_row(csv_row(rep.path, rep.result)))
    else
      put((first and "" or ",\n") .. json_line(rep.path, rep.result))
      first = false
    end
  end
  local summary, err = run(client, open, restartable,
    function(c, item) return M.read(c, item.path) end, opts, emit)
  if format == "json" then put(first and "]\n" or "\n]\n") end
  if owned then h:close() elseif h.flush then h:flush() end
  if not summary then return nil, err end
  summary.error = summary.error or werr
  if werr then summary.complete = false end
  return summary
end

-- import -------------------------------------------------------------------------

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- A CSV row (by header) as a wanted record; an unusable value sets `invalid`.
local function row_record(header, row)
  local rec = {}
  for i, col in ipairs(header) do
    local v = row[i]
    if v ~= nil then
      if col == "path" then rec.path = trim(v)
      elseif col == "title" or col == "description" then rec[col] = v
      elseif col == "tags" then
        local tags = array()
        for t in v:gmatch("[^;]+") do
          t = trim(t)
          if t ~= "" then tags[#tags + 1] = t end
        end
        rec.tags = tag_list(tags)
      elseif col == "approved" then
        local b = trim(v):lower()
        rec.approval = rec.approval or {}
        if b == "true" or b == "yes" or b == "1" then rec.approval.approved = true
        elseif b == "false" or b == "no" or b == "0" then rec.approval.approved = false
        elseif b ~= "" then rec.invalid = ("approved must be true or false (got %s)"):format(show(v)) end
      elseif col == "approval_comment" then
        rec.approval = rec.approval or {}
        rec.approval.comment = v
      else
        rec.product = rec.product or {}
        rec.product[col:sub(9)] = v
      end
    end
  end
  return rec
end

-- A JSON object as a wanted record (null or absent fields are left alone).
local function json_record(o)
  if type(o) ~= "table" then return { invalid = "an item is not an object" } end
  local rec = { path = str(o.path) }
  for _, k in ipairs{ "title", "description" } do
    if o[k] ~= nil and o[k] ~= null then
      rec[k] = str(o[k])
      if not rec[k] then rec.invalid = k .. " must be a string" end
    end
  end
  if o.tags ~= nil and o.tags ~= null then
    rec.tags = tag_list(o.tags)
    if not rec.tags then rec.invalid = "tags must be a list of strings" end
  end
  if type(o.product) == "table" then
    rec.product = {}
    for _, k in ipairs(PRODUCT_KEYS) do
      local v = o.product[k]
      if v == null then v = nil end
      if v ~= nil and type(v) ~= "string" then rec.invalid = "product." .. k .. " must be a string" end
      rec.product[k] = str(v) or "" -- a key the object lacks is an empty field
    end
  end
  if type(o.approval) == "table" then
    local a = o.approval
    rec.approval = { comment = str(a.comment) }
    if type(a.approved) == "boolean" then
      rec.approval.approved = a.approved
      rec.approval.comment = rec.approval.comment or "" -- a full approval: no comment is none
    end
  end
  return rec
end

-- The records of an import file as a source (CSV streams; JSON is read whole).
local function import_source(src, format, name)
  local h, owned = src, false
  if type(src) == "string" then
    local f, err = io.open(src, "rb")
    if not f then return nil, local_error("cannot open " .. src .. ": " .. tostring(err)) end
    h, owned = f, true
  end
  local close = function() if owned then h:close() end end
  if format == "json" then
    local text = h:read("a") or ""
    close()
    local doc, jerr = json_decode(text, #text + 1)
    if type(doc) ~= "table" or not is_list(doc) then
      return nil, local_error(("%s: not a JSON array of records: %s"):format(name, tostring(jerr or "wrong shape")))
    end
    local recs = {}
    for i, o in ipairs(doc) do recs[i] = json_record(o) end
    return setmetatable({ pull = list_pull(recs), close = function() end }, Source)
  end
  local reader = csv.reader(h)
  local header, err = reader:read()
  if not header then
    close()
    return nil, local_error(("%s: %s"):format(name, err or "empty file: no header row"))
  end
  local has_path = false
  for i, col in ipairs(header) do
    col = trim(col):lower()
    header[i] = col
    if col == "path" then has_path = true end
    if not KNOWN_COLUMNS[col] then
      close()
      return nil, local_error(("%s: unknown column '%s' (known: %s)"):format(name, col, concat(M.COLUMNS, ",")))
    end
  end
  if not has_path then close(); return nil, local_error(name .. ": no 'path' column") end
  local pull_row = function()
    local row, rerr = reader:read()
    if row then return row_record(header, row) end
    if rerr then error(local_error(name .. ": " .. rerr), 0) end
    return nil
  end
  return setmetatable({ pull = pull_row, close = close }, Source)
end

-- Print a file's diff (or its error) to out.
local function print_report(out, rep, dry)
  if not rep.ok then
    out:write(("%s: error: %s\n"):format(rep.path, tostring(rep.err)))
  elseif rep.result and rep.result.changed then
    out:write(rep.path, dry and " (dry run)\n" or "\n")
    for _, l in ipairs(rep.result.diff) do out:write("  ", l, "\n") end
  end
end

--- Import meta from a file written by export_meta (or by hand): for each record,
-- read the file's current meta and send only what differs (one call), a column
-- that is absent leaving that field alone. opts.dry_run: send nothing, print a diff
-- per file to opts.out (default io.stdout). opts.out in a real run prints what is
-- applied. Also apply_meta's options (a journal is ignored in a dry run).
-- Each report's result is {changed = bool, diff = {lines}}.
function M.import(client, src, opts)
  check_client(client, "import_meta")
  if type(src) ~= "string" and io.type(src) ~= "file" then argerror("import_meta", 1, "must be a file path or handle") end
  opts = check_run_opts(opts, "import_meta", 2)
  local format = pick_format(opts, src, "import_meta", 2)
  local dry = opts.dry_run == true
  local out = opts.out or (dry and io.stdout) or nil
  local name = type(src) == "string" and src or "input"
  local source, err = import_source(src, format, name)
  if not source then return nil, err end
  local run_opts = {}
  for k, v in pairs(opts) do run_opts[k] = v end
  if dry then run_opts.journal = nil end
  local changed = 0
  local function work(c, item)
    local rec = item.item
    if rec.invalid then return nil, client_error(item.path .. ": " .. rec.invalid, "postFilesMeta") end
    local cur, rerr = M.read(c, item.path)
    if not cur then return nil, rerr end
    local fields, lines = M.diff(cur, rec)
    if next(fields) == nil then return { changed = false, diff = lines } end
    if not dry then
      local ok, werr = write_fields(c, item.path, fields, cur.tags)
      if not ok then return nil, werr end
    end
    return { changed = true, diff = lines, dry_run = dry or nil }
  end
  local function emit(rep)
    if rep.ok and rep.result and rep.result.changed then changed = changed + 1 end
    if out and not rep.skipped then print_report(out, rep, dry) end
  end
  local summary, rerr = run(client, function() return source end, false, work, run_opts, emit)
  if not summary then source.close(); return nil, rerr end
  summary.changed = changed
  if out then
    out:write(("%s: %d of %d files %s, %d failed%s\n"):format(dry and "dry run" or "import", changed,
      summary.done + summary.failed + summary.limited, dry and "would change" or "changed", summary.failed,
      summary.stopped and " (stopped at the rate limit)" or ""))
  end
  return summary
end

-- installation -------------------------------------------------------------------

--- Install the workflows as client methods: read_meta, edit_meta, copy_meta,
-- apply_meta, export_meta, import_meta. Idempotent; returns the class.
function M.install(Sirv)
  if type(Sirv) ~= "table" then error("metadata.install: argument #1 must be the client class", 2) end
  Sirv.read_meta = M.read
  Sirv.edit_meta = M.edit
  Sirv.copy_meta = M.copy
  Sirv.apply_meta = M.apply
  Sirv.export_meta = M.export
  Sirv.import_meta = M.import
  return Sirv
end

return M
