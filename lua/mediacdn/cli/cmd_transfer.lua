--- mediacdn.cli.cmd_transfer: `mediacdn sirv cp` and `mediacdn sirv sync`.
--
--   cp SRC DST [-R] [-I] [--checksum] [--dry-run] [--transfers N] [--exclude GLOB]...
--   sync SRC DST [--delete] [--checksum] [--dry-run] [--transfers N] [--exclude GLOB]...
--
-- Either side is local or Sirv (paths.lua); local -> Sirv uploads, Sirv -> local
-- downloads, Sirv -> Sirv copies on the server. Folders: the contents of SRC go
-- into DST (rclone's semantics). Both commands leave alone what is already the
-- same (plan.lua says when); cp -I copies everything; sync --delete also removes
-- what DST has and SRC has not (only when nothing failed). --dry-run lists and
-- changes nothing (it only reads). The work runs in session.lua (Ctrl-C stops
-- cleanly) with runner.lua (N at a time).
--   M.cp(ctx) -> exit code      M.sync(ctx) -> exit code
local lfs = require "lfs"
local core = require "mediacdn.core"
local loop = require "mediacdn.loop"
local exit = require "mediacdn.cli.exit"
local format = require "mediacdn.cli.format"
local glob = require "mediacdn.cli.glob"
local jobs = require "mediacdn.cli.jobs"
local paths = require "mediacdn.cli.paths"
local plan = require "mediacdn.cli.plan"
local runner = require "mediacdn.cli.runner"
local session = require "mediacdn.cli.session"
local walk = require "mediacdn.cli.walk"

local ipairs, tostring, tonumber, type, max = ipairs, tostring, tonumber, type, math.max
local concat = table.concat
local iso_epoch = format.iso_epoch

local M = {}

-- The transfer's direction from its two sides.
local function mode_of(a, b)
  if a.remote and b.remote then return "remote" end
  if a.remote then return "down" end
  return "up"
end

-- Check what can be checked before anything is sent (exit 2 on bad input).
local function validate(ctx, a, b, recursive, is_sync)
  if not a.remote and not b.remote then
    exit.usage(("neither %s nor %s is a Sirv path: Sirv paths start with / (or sirv:/)"):format(a.arg, b.arg))
  end
  local n = ctx.args.transfers
  if n ~= nil and (n < 1 or n ~= math.floor(n)) then exit.usage("--transfers must be a whole number of at least 1") end
  if not a.remote then
    local mode = lfs.attributes(a.path, "mode")
    if not mode then exit.usage(("no such local file or folder: %s"):format(a.path)) end
    if mode == "directory" and not recursive then
      exit.usage(("%s is a folder: use cp -R, or sync"):format(a.path))
    end
    if mode ~= "directory" and is_sync then
      exit.usage(("sync works on folders and %s is a file: use cp"):format(a.path))
    end
  end
  if not b.remote then
    local mode = lfs.attributes(b.path, "mode")
    if mode and mode ~= "directory" and recursive then
      exit.usage(("%s is a file, not a folder to %s into"):format(b.path, is_sync and "sync" or "copy"))
    end
  end
  local above = ctx.args.resumable_above
  if above ~= nil and not format.parse_size(above) then
    exit.usage(("--resumable-above takes a size like 64M, 1G or 500000 (got %s)"):format(tostring(above)))
  end
  if a.remote and b.remote and recursive and (paths.inside(a.path, b.path) or paths.inside(b.path, a.path)) then
    exit.usage(("%s and %s overlap: use two separate folders"):format(a.path, b.path))
  end
end

-- A side's path for a relative path (rel "" is the side's own path).
local function side_path(side, rel)
  if side.remote then return paths.rjoin(side.path, rel) end
  return paths.ljoin(side.path, rel)
end

-- The job that moves item from a to b (uploads from `resumable_above` bytes through tus).
local function transfer_job(sirv, mode, a, b, item, resumable_above)
  local from, to = item.src_path or side_path(a, item.rel), item.dst_path or side_path(b, item.rel)
  if mode == "up" then return jobs.upload(sirv, from, to, item, resumable_above) end
  if mode == "down" then return jobs.download(sirv, from, to, item) end
  return jobs.copy(sirv, from, to, item)
end

-- List one side; a listing stopped by the rate limit or failed ends the command.
local function list_side(ctx, sirv, side, matcher, role)
  if not side.remote then
    return walk.local_tree(side.path, matcher, function(m) ctx.reporter:warn(m) end)
  end
  local tree, err = walk.remote_tree(sirv, side.path, matcher, ctx.args.transfers or 4)
  if tree then return tree end
  if type(err) == "table" and err.kind == "rate_limited" then
    ctx:limit_hit(err)
    return nil
  end
  if type(err) == "table" and err.status == 400 and err.dirname == side.path then
    exit.fail(("%s %s is a file, not a folder"):format(role, side.path))
  end
  exit.fail(("cannot list %s: %s"):format(side.path, tostring(err)))
end

-- Compare same-size files by content (--checksum), N at a time.
local function run_checks(ctx, sirv, a, b, p)
  if #p.checks == 0 then return end
  local fns = {}
  for i, item in ipairs(p.checks) do
    fns[i] = function()
      if ctx.stopping then return nil end
      return jobs.differs(sirv, { remote = a.remote, path = item.src_path or side_path(a, item.rel) },
        { remote = b.remote, path = item.dst_path or side_path(b, item.rel) })
    end
  end
  local results, errs = loop.gather(fns, { concurrency = ctx.args.transfers or 4 })
  for i, item in ipairs(p.checks) do
    if results[i] == nil then
      local err = errs[i]
      if type(err) == "table" and err.kind == "rate_limited" then ctx:limit_hit(err)
      elseif err ~= nil then
        ctx.check_failures = (ctx.check_failures or 0) + 1
        ctx.reporter:result(("failed to compare %s: %s"):format(item.rel, tostring(err)),
          { action = "check", path = item.rel, status = "failed", error = { message = tostring(err) } }, true)
      end
    else
      plan.checked(p, item, results[i])
    end
  end
  plan.finalize(p)
end

-- Why a file is transferred, in words (plan.lua's reasons).
local REASONS = { new = "new", size = "size differs", newer = "modified since the upload",
  time = "modification time differs", checksum = "content differs", forced = "-I" }

-- Print what a dry run would do.
local function dry_run(ctx, sirv, mode, a, b, p)
  local r = ctx.reporter
  for _, item in ipairs(p.transfers) do
    local j = transfer_job(sirv, mode, a, b, item)
    local obj = j.obj
    obj.status = "dry-run"
    r:result(("would %s (%s, %s)"):format(j.what, format.size(item.size), REASONS[item.reason] or item.reason), obj)
  end
  for _, rel in ipairs(p.deletes) do
    local path = side_path(b, rel)
    r:result("would delete " .. path, { action = "delete", path = path, status = "dry-run" })
  end
  for _, rel in ipairs(p.rmdirs) do
    local path = side_path(b, rel)
    r:result("would remove folder " .. path, { action = "rmdir", path = path, status = "dry-run" })
  end
end

-- Deletes after the transfers, only when everything before went well.
local function deletions(ctx, sirv, b, p, stats, clean)
  if #p.deletes + #p.rmdirs == 0 then return end
  if not clean or stats.failed > 0 or ctx.stopping or (ctx.check_failures or 0) > 0 then
    ctx.reporter:notice(("not deleting %d extra file(s) in %s: not everything was copied"):format(#p.deletes, b.path))
    return
  end
  local list = {}
  for _, rel in ipairs(p.deletes) do
    local path = side_path(b, rel)
    list[#list + 1] = b.remote and jobs.delete_remote(sirv, path, rel) or jobs.delete_local(path, rel)
  end
  local before = stats.done
  runner.run(ctx, list, { concurrency = ctx.args.transfers or 4, stats = stats })
  stats.deleted = stats.done - before
  -- folders one by one, deepest first (a folder must be empty to go)
  local dirs = {}
  for _, rel in ipairs(p.rmdirs) do
    local path = side_path(b, rel)
    dirs[#dirs + 1] = b.remote and jobs.rmdir_remote(sirv, path, rel) or jobs.rmdir_local(path, rel)
  end
  before = stats.done
  runner.run(ctx, dirs, { concurrency = 1, stats = stats })
  stats.rmdirs = stats.done - before
end

-- The plan for one file (cp without -R, or SRC a file): item paths are absolute.
local function single_plan(ctx, sirv, mode, a, b)
  local src
  if a.remote then
    local st, err = sirv:stat(a.path)
    if not st then
      if type(err) == "table" and err.kind == "rate_limited" then ctx:limit_hit(err); return nil end
      exit.fail(("cannot read %s: %s"):format(a.path, tostring(err)))
    end
    if st.isDirectory then exit.usage(("%s is a folder: use cp -R, or sync"):format(a.path)) end
    src = { size = tonumber(st.size) or 0, mtime = iso_epoch(st.mtime) or 0 }
  else
    local attr = lfs.attributes(a.path)
    src = { size = attr.size, mtime = attr.modification }
  end
  local name = paths.basename(a.path)
  local dst_path, dst = b.path, nil
  if b.remote then
    local st = b.arg:sub(-1) ~= "/" and sirv:stat(dst_path) or nil
    if b.arg:sub(-1) == "/" or (st and st.isDirectory) then
      dst_path = paths.rjoin(b.path, name)
      st = sirv:stat(dst_path)
    end
    if st then dst = { size = tonumber(st.size) or 0, mtime = iso_epoch(st.mtime) or 0 } end
  else
    if b.arg:sub(-1) == "/" or lfs.attributes(dst_path, "mode") == "directory" then
      dst_path = paths.ljoin(b.path, name)
    end
    local attr = lfs.attributes(dst_path)
    if attr and attr.mode == "directory" then exit.usage(("%s is a folder"):format(dst_path)) end
    if attr then dst = { size = attr.size, mtime = attr.modification } end
  end
  local p = plan.compare({ files = { [name] = src }, dirs = {} }, { files = { [name] = dst }, dirs = {} },
    { mode = mode, checksum = ctx.args.checksum, ignore_times = ctx.args.ignore_times })
  for _, list in ipairs{ p.transfers, p.checks } do
    for _, item in ipairs(list) do item.src_path, item.dst_path = a.path, dst_path end
  end
  return p
end

-- The summary lines and object of a run.
local function summarize(ctx, mode, p, stats, started, dry)
  local verb = ({ up = "Uploaded", down = "Downloaded", remote = "Copied" })[mode]
  local secs = core.monotonic() - started
  local obj = { action = "summary", transferred = stats.done - (stats.deleted or 0) - (stats.rmdirs or 0),
    bytes = stats.bytes, deleted = stats.deleted or 0, unchanged = p and p.same or 0,
    failed = stats.failed + (ctx.check_failures or 0), not_started = 0,
    seconds = format.num(math.floor(secs * 1000) / 1000), dry_run = dry or nil,
    interrupted = ctx.interrupted and true or nil, rate_limited = ctx.limit and true or nil,
    reset_at = ctx.limit and ctx.limit.reset_at or nil }
  -- what the plan had and this run did not do (stopped, interrupted, rate-limited)
  obj.not_started = math.max(0, (p and #p.transfers or 0) - obj.transferred - stats.failed)
  if dry then
    obj.not_started = 0
    obj.transferred, obj.bytes = p and #p.transfers or 0, p and p.bytes or 0
    obj.deleted = p and (#p.deletes + #p.rmdirs) or 0
    return { ("Dry run: would %s %d file(s) (%s), delete %d, leave %d unchanged; nothing was changed"):format(
      ({ up = "upload", down = "download", remote = "copy" })[mode], obj.transferred, format.size(obj.bytes),
      obj.deleted, obj.unchanged) }, obj
  end
  local parts = { ("%s %d file(s) (%s)"):format(verb, obj.transferred, format.size(obj.bytes)) }
  if obj.deleted + (stats.rmdirs or 0) > 0 then
    parts[#parts + 1] = ("deleted %d file(s)"):format(obj.deleted)
    if (stats.rmdirs or 0) > 0 then parts[#parts] = parts[#parts] .. (" and %d folder(s)"):format(stats.rmdirs) end
  end
  parts[#parts + 1] = ("%d unchanged"):format(obj.unchanged)
  if obj.failed > 0 then parts[#parts + 1] = ("%d failed"):format(obj.failed) end
  if obj.not_started > 0 then parts[#parts + 1] = ("%d not done"):format(obj.not_started) end
  local line = concat(parts, ", ") .. (" in %s"):format(format.duration(secs))
  if stats.bytes > 0 and secs > 0 then line = line .. (" (%s)"):format(format.rate(stats.bytes / max(secs, 0.001))) end
  local lines = { line }
  if ctx.interrupted then
    lines[#lines + 1] = "Interrupted: finished files stay finished; run the same command again to do the rest"
  elseif ctx.limit then
    lines[#lines + 1] = require("mediacdn.cli.context").limit_message(ctx.limit)
  end
  for _, f in ipairs(stats.failures) do
    lines[#lines + 1] = ("failed: %s: %s"):format(f.job.what or f.job.label, ctx:redact(tostring(f.err)))
  end
  return lines, obj
end

-- The exit code of a finished (or stopped) run.
local function code_of(ctx, stats)
  if ctx.interrupted then return exit.for_signal(ctx.interrupted) end
  if ctx.limit then return exit.LIMIT end
  if stats.failed > 0 or (ctx.check_failures or 0) > 0 then return exit.FAILED end
  return exit.OK
end

-- cp and sync: validate, then list, plan, (check), transfer, delete.
local function run(ctx, opts)
  local args = ctx.args
  local a, b = paths.pair(args.src, args.dst)
  validate(ctx, a, b, opts.recursive, opts.sync)
  local matcher = glob.compile(args.exclude)
  local mode = mode_of(a, b)
  local sirv = ctx:sirv()
  local stats, p, dry = runner.stats(), nil, args.dry_run
  local started = core.monotonic()
  local recursive = opts.recursive
  session.run(ctx, function()
    if recursive and a.remote and not opts.sync then
      -- cp -R of a Sirv file copies that one file
      local st = sirv:stat(a.path)
      if st and not st.isDirectory then recursive = false end
    end
    local tree_a, tree_b
    ctx.reporter:phase(("Comparing %s with %s"):format(a.arg, b.arg))
    if recursive then
      tree_a = list_side(ctx, sirv, a, matcher, "SRC")
      if not tree_a then return end
      if a.remote and tree_a.missing then exit.fail(("no such Sirv folder: %s"):format(a.path)) end
      tree_b = list_side(ctx, sirv, b, matcher, "DST")
      if not tree_b then return end
      for _, e in ipairs(tree_a.errors) do
        ctx.check_failures = (ctx.check_failures or 0) + 1
        ctx.reporter:result("failed: " .. e, { action = "list", status = "failed", error = { message = e } }, true)
      end
      p = plan.compare(tree_a, tree_b, { mode = mode, checksum = args.checksum, delete = opts.delete,
        ignore_times = args.ignore_times })
    else
      p = single_plan(ctx, sirv, mode, a, b)
      if not p then return end
    end
    run_checks(ctx, sirv, a, b, p)
    if dry then return dry_run(ctx, sirv, mode, a, b, p) end
    if mode == "down" and recursive then
      local ok, err = jobs.mkdir_p(b.path)
      if not ok then exit.fail(err) end
    end
    local list_ = {}
    local above = args.resumable_above and format.parse_size(args.resumable_above)
    for i, item in ipairs(p.transfers) do list_[i] = transfer_job(sirv, mode, a, b, item, above) end
    ctx.reporter:expect(#list_, p.bytes)
    runner.run(ctx, list_, { concurrency = args.transfers or 4, stats = stats })
    if opts.delete then deletions(ctx, sirv, b, p, stats, #tree_a.errors == 0) end
  end)
  local lines, obj = summarize(ctx, mode, p, stats, started, dry)
  ctx.reporter:summary(lines, obj)
  return code_of(ctx, stats)
end

function M.cp(ctx)
  return run(ctx, { recursive = ctx.args.recursive, sync = false })
end

function M.sync(ctx)
  return run(ctx, { recursive = true, sync = true, delete = ctx.args.delete })
end

return M
