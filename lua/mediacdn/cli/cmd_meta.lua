--- mediacdn.cli.cmd_meta: `mediacdn sirv meta get|set|export|import`, over the
-- metadata workflows of mediacdn.sirv.metadata (read_meta, apply_meta with its
-- journal and rate-limit stop, export_meta, import_meta with its dry run).
--
-- `meta set` reads each file's meta, works out what differs from what was asked
-- (metadata.diff) and writes only that (one call; nothing when nothing differs),
-- so a dry run is the same walk without the write.
local metadata = require "mediacdn.sirv.metadata"
local exit = require "mediacdn.cli.exit"
local paths = require "mediacdn.cli.paths"
local session = require "mediacdn.cli.session"

local mediacdn = require "mediacdn"

local ipairs, pairs, tostring, type, next, setmetatable = ipairs, pairs, tostring, type, next, setmetatable
local concat = table.concat
local array_mt = mediacdn.array_mt

-- import_meta prints its own diff unless given somewhere else to write: the
-- command prints through the reporter instead
local NOWHERE = { write = function() return true end }

local M = {}

local PRODUCT_KEYS = { "id", "name", "brand", "category1", "category2" }

local function limit_or_fail(ctx, what, err)
  if type(err) == "table" and err.kind == "rate_limited" then
    ctx:limit_hit(err)
    exit.raise(exit.LIMIT, require("mediacdn.cli.context").limit_message(ctx.limit))
  end
  exit.fail(("%s: %s"):format(what, tostring(err)))
end

local function err_obj(err)
  if type(err) ~= "table" then return { message = tostring(err) } end
  return { kind = err.kind, status = err.status, message = err.message }
end

--- meta get PATH...
function M.get(ctx)
  local list = {}
  for i, p in ipairs(ctx.args.paths) do list[i] = paths.remote(p, "PATH") end
  local sirv = ctx:sirv()
  local failed = 0
  for _, p in ipairs(list) do
    local m, err = sirv:read_meta(p)
    if not m then
      if err.kind == "rate_limited" then limit_or_fail(ctx, p, err) end
      failed = failed + 1
      ctx.reporter:result(("%s: %s"):format(p, tostring(err)),
        { path = p, status = "failed", error = err_obj(err) }, true)
    else
      local lines = { p, "  title        " .. m.title, "  description  " .. m.description,
        "  tags         " .. concat(m.tags, ", ") }
      local prod = {}
      for _, k in ipairs(PRODUCT_KEYS) do
        if m.product[k] then prod[#prod + 1] = k .. "=" .. m.product[k] end
      end
      lines[#lines + 1] = "  product      " .. concat(prod, " ")
      local a = m.approval
      local ap = a.approved == nil and "" or (a.approved and "approved" or "not approved")
      if a.comment and a.comment ~= "" then ap = ap .. " (" .. a.comment .. ")" end
      lines[#lines + 1] = "  approval     " .. ap
      ctx.reporter:result(concat(lines, "\n"), { path = p, title = m.title, description = m.description,
        tags = setmetatable(m.tags, array_mt), product = m.product, approval = a })
    end
  end
  return failed > 0 and exit.FAILED or exit.OK
end

-- "a, b,,c" -> {"a", "b", "c"}
local function split_tags(s)
  local out = {}
  for t in s:gmatch("[^,]+") do
    t = t:gsub("^%s+", ""):gsub("%s+$", "")
    if t ~= "" then out[#out + 1] = t end
  end
  return out
end

-- What `meta set` asks for: a wanted record for metadata.diff plus tag edits.
local function wanted_of(a)
  local w, any = {}, false
  if a.title then w.title, any = a.title, true end
  if a.description then w.description, any = a.description, true end
  if a.tags then w.tags, any = split_tags(a.tags), true end
  for _, k in ipairs(PRODUCT_KEYS) do
    local v = a["product_" .. k]
    if v then
      w.product = w.product or {}
      w.product[k], any = v, true
    end
  end
  if a.approved then
    w.approval, any = { approved = a.approved == "yes", comment = a.comment }, true
  elseif a.comment then
    exit.usage("--comment goes with --approved yes|no")
  end
  local add, remove = a.add_tag or {}, a.remove_tag or {}
  if #add > 0 or #remove > 0 then any = true end
  if w.tags and (#add > 0 or #remove > 0) then
    exit.usage("--tags replaces all tags: do not combine it with --add-tag/--remove-tag")
  end
  if not any then
    exit.usage("nothing to set: give --title, --description, --tags, --add-tag, --remove-tag, --approved"
      .. " or --product-*")
  end
  return w, add, remove
end

-- The tags a file should end with after removing and adding.
local function edited_tags(cur, add, remove)
  local drop, out, seen = {}, {}, {}
  for _, t in ipairs(remove) do drop[t] = true end
  for _, t in ipairs(cur) do
    if not drop[t] and not seen[t] then out[#out + 1], seen[t] = t, true end
  end
  for _, t in ipairs(add) do
    if not seen[t] then out[#out + 1], seen[t] = t, true end
  end
  return out
end

--- meta set PATH... | -R FOLDER... | --query Q
function M.set(ctx)
  local a = ctx.args
  local wanted, add, remove = wanted_of(a)
  local n = a.transfers or 4
  if n < 1 or n ~= math.floor(n) then exit.usage("--transfers must be a whole number of at least 1") end
  local sources = {}
  if a.query then
    if #a.paths > 0 then exit.usage("give PATHs or --query, not both") end
    sources[1] = "query"
  else
    if #a.paths == 0 then exit.usage("give the files to change (PATH...), -R FOLDER..., or --query QUERY") end
    local list = {}
    for i, p in ipairs(a.paths) do list[i] = paths.remote(p, "PATH") end
    if a.recursive then sources = list else sources[1] = list end
  end
  local dry = a.dry_run
  local sirv = ctx:sirv()
  local r = ctx.reporter
  local totals = { changed = 0, unchanged = 0, skipped = 0, failed = 0 }
  local function action(c, path)
    local cur, err = metadata.read(c, path)
    if not cur then return nil, err end
    local w = {}
    for k, v in pairs(wanted) do w[k] = v end
    if #add > 0 or #remove > 0 then w.tags = edited_tags(cur.tags, add, remove) end
    local fields, lines = metadata.diff(cur, w)
    if next(fields) == nil then return { changed = false, diff = lines } end
    if not dry then
      local ok, werr = c:edit_meta(path, fields)
      if not ok then return nil, werr end
    end
    return { changed = true, diff = lines }
  end
  local function on_file(rep)
    if rep.skipped then
      totals.skipped = totals.skipped + 1
    elseif rep.ok then
      local res = rep.result
      local what = res.changed and (dry and "would change" or "changed") or "unchanged"
      totals[res.changed and "changed" or "unchanged"] = totals[res.changed and "changed" or "unchanged"] + 1
      local text = what .. " " .. rep.path
      if res.changed then text = text .. ": " .. concat(res.diff, "; ") end
      r:result(text, { action = "meta", path = rep.path, status = dry and "dry-run" or "ok", changed = res.changed,
        diff = setmetatable(res.diff, array_mt) })
    elseif rep.err.kind ~= "rate_limited" then
      totals.failed = totals.failed + 1
      r:result(("failed to change %s: %s"):format(rep.path, tostring(rep.err)),
        { action = "meta", path = rep.path, status = "failed", error = err_obj(rep.err) }, true)
    end
  end
  local list_error
  session.run(ctx, function()
    for _, src in ipairs(sources) do
      if ctx.stopping then break end
      if src == "query" then src = { query = a.query } end  -- apply_meta skips folder hits
      local summary, err = sirv:apply_meta(src, action, { concurrency = n, journal = not dry and a.journal or nil,
        on_limit = ctx.on_limit, recursive = a.recursive, on_file = on_file })
      if not summary then limit_or_fail(ctx, "meta set", err) end
      if summary.stopped then ctx:limit_hit({ reset_at = summary.reset_at }) end
      if summary.error then
        if summary.error.kind == "rate_limited" then ctx:limit_hit(summary.error)
        else list_error = summary.error end
      end
    end
  end)
  local line = ("meta set: %d %s, %d unchanged"):format(totals.changed, dry and "would change" or "changed",
    totals.unchanged)
  if totals.skipped > 0 then line = line .. (", %d skipped (done in an earlier run)"):format(totals.skipped) end
  if totals.failed > 0 then line = line .. (", %d failed"):format(totals.failed) end
  local lines = { line }
  if list_error then lines[#lines + 1] = "stopped: " .. ctx:redact(tostring(list_error)) end
  local obj = { action = "summary", changed = totals.changed, unchanged = totals.unchanged, skipped = totals.skipped,
    failed = totals.failed, dry_run = dry or nil, interrupted = ctx.interrupted and true or nil,
    rate_limited = ctx.limit and true or nil, reset_at = ctx.limit and ctx.limit.reset_at or nil }
  r:summary(lines, obj)
  if ctx.interrupted then return exit.for_signal(ctx.interrupted) end
  if ctx.limit then return exit.LIMIT end
  return (totals.failed > 0 or list_error) and exit.FAILED or exit.OK
end

--- meta export [SOURCE] FILE [-R] [--query Q] [--format csv|json]
function M.export(ctx)
  local a = ctx.args
  local source
  if a.query then
    if a.source then exit.usage("give a SOURCE folder or --query, not both") end
    source = { query = a.query }
  elseif a.source then
    source = paths.remote(a.source, "SOURCE")
  else
    exit.usage("give the SOURCE folder (or --query QUERY) and the FILE to write")
  end
  local dest = a.file == "-" and io.stdout or a.file
  local sirv = ctx:sirv()
  local summary, err
  session.run(ctx, function()
    summary, err = sirv:export_meta(source, dest, { format = a.format, recursive = a.recursive,
      on_limit = ctx.on_limit, concurrency = 4 })
  end)
  if ctx.interrupted then return exit.for_signal(ctx.interrupted) end
  if not summary then limit_or_fail(ctx, "meta export", err) end
  if summary.stopped then ctx:limit_hit({ reset_at = summary.reset_at }) end
  local line = ("meta export: %d file(s) written to %s"):format(summary.done, a.file == "-" and "stdout" or a.file)
  if summary.failed > 0 then line = line .. (", %d failed"):format(summary.failed) end
  if a.file == "-" then ctx.reporter:notice(line)
  else
    ctx.reporter:summary({ line }, { action = "summary", exported = summary.done, failed = summary.failed,
      file = a.file })
  end
  if ctx.limit then return exit.LIMIT end
  if summary.error then exit.fail("meta export: " .. tostring(summary.error)) end
  return summary.failed > 0 and exit.FAILED or exit.OK
end

--- meta import FILE [--dry-run] [--journal FILE] [--format csv|json]
function M.import(ctx)
  local a = ctx.args
  local f = io.open(a.file, "rb")
  if not f then exit.usage(("no such file: %s"):format(a.file)) end
  f:close()
  local n = a.transfers or 4
  local sirv = ctx:sirv()
  local r = ctx.reporter
  local failed = 0
  local function on_file(rep)
    if rep.skipped then return end
    if rep.ok then
      local res = rep.result
      local what = res.changed and (a.dry_run and "would change" or "changed") or "unchanged"
      local text = what .. " " .. rep.path
      if res.changed then text = text .. ": " .. concat(res.diff, "; ") end
      r:result(text, { action = "meta", path = rep.path, status = a.dry_run and "dry-run" or "ok",
        changed = res.changed, diff = setmetatable(res.diff, array_mt) })
    elseif rep.err.kind ~= "rate_limited" then
      failed = failed + 1
      r:result(("failed to change %s: %s"):format(rep.path, tostring(rep.err)),
        { action = "meta", path = rep.path, status = "failed", error = err_obj(rep.err) }, true)
    end
  end
  local summary, err
  session.run(ctx, function()
    summary, err = sirv:import_meta(a.file, { dry_run = a.dry_run, journal = a.journal, format = a.format,
      concurrency = n, on_limit = ctx.on_limit, on_file = on_file, out = NOWHERE })
  end)
  if ctx.interrupted then return exit.for_signal(ctx.interrupted) end
  if not summary then limit_or_fail(ctx, "meta import", err) end
  if summary.stopped then ctx:limit_hit({ reset_at = summary.reset_at }) end
  local line = ("meta import: %d %s, %d unchanged, %d skipped, %d failed"):format(summary.changed,
    a.dry_run and "would change (dry run: nothing was sent)" or "changed",
    summary.done - summary.changed, summary.skipped, failed)
  r:summary({ line }, { action = "summary", changed = summary.changed, unchanged = summary.done - summary.changed,
    skipped = summary.skipped, failed = failed, dry_run = a.dry_run or nil, rate_limited = ctx.limit and true or nil })
  if ctx.limit then return exit.LIMIT end
  if summary.error then exit.fail("meta import: " .. ctx:redact(tostring(summary.error))) end
  return failed > 0 and exit.FAILED or exit.OK
end

return M
