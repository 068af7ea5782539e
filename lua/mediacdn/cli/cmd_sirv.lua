--- mediacdn.cli.cmd_sirv: the Sirv commands that are not transfers:
-- ls, stat, rm, mv, mkdir, search, limits. Each takes the context and returns
-- an exit code (cp and sync: cmd_transfer.lua; meta: cmd_meta.lua).
local exit = require "mediacdn.cli.exit"
local format = require "mediacdn.cli.format"
local paths = require "mediacdn.cli.paths"
local runner = require "mediacdn.cli.runner"
local session = require "mediacdn.cli.session"
local walk = require "mediacdn.cli.walk"
local glob = require "mediacdn.cli.glob"
local jobs = require "mediacdn.cli.jobs"

local ipairs, pairs, tostring, tonumber, type, pcall, error = ipairs, pairs, tostring, tonumber, type, pcall, error
local iso_epoch = format.iso_epoch
local concat, sort = table.concat, table.sort

local M = {}

-- A failed call that ends the command: rate limit -> exit 3, else exit 1.
local function fail(ctx, what, err)
  if type(err) == "table" and err.kind == "rate_limited" then
    ctx:limit_hit(err)
    exit.raise(exit.LIMIT, require("mediacdn.cli.context").limit_message(ctx.limit))
  end
  if type(err) == "table" and err.kind == "not_found" then
    exit.fail(("no such Sirv file or folder: %s"):format(what))
  end
  exit.fail(("%s: %s"):format(what, tostring(err)))
end

-- The JSON object of a listing entry.
local function entry_obj(e, rel)
  return { path = e.path, name = rel, isDirectory = e.isDirectory == true, size = tonumber(e.size) or 0,
    mtime = e.mtime, contentType = e.contentType }
end

-- One listing line.
local function entry_line(e, rel, long)
  local name = rel .. (e.isDirectory and "/" or "")
  if not long then return name end
  return ("%s %12s  %s  %s"):format(e.isDirectory and "d" or "-", e.isDirectory and "-" or tostring(e.size or 0),
    format.date(iso_epoch(e.mtime)), name)
end

--- ls [-l] [-R] PATH
function M.ls(ctx)
  local path = paths.remote(ctx.args.path, "PATH")
  local sirv = ctx:sirv()
  local r, long = ctx.reporter, ctx.args.long
  local count = 0
  session.run(ctx, function()
    local ok, err = pcall(function()
      for e in sirv:readdir(path, { recursive = ctx.args.recursive }) do
        local rel = e.path:sub(#path + (path == "/" and 1 or 2))
        count = count + 1
        r:result(entry_line(e, rel, long), entry_obj(e, rel))
      end
    end)
    if ok then return end
    if type(err) == "table" and err.status == 400 and count == 0 then
      -- not a folder: show the file itself
      local st, serr = sirv:stat(path)
      if not st then fail(ctx, path, serr) end
      st.path = path
      r:result(entry_line(st, path, long), entry_obj(st, path))
      return
    end
    if type(err) == "table" then fail(ctx, path, err) end
    error(err, 0)
  end)
  if ctx.interrupted then return exit.for_signal(ctx.interrupted) end
  return exit.OK
end

--- stat PATH...
function M.stat(ctx)
  local list = {}
  for i, p in ipairs(ctx.args.path) do list[i] = paths.remote(p, "PATH") end
  local sirv = ctx:sirv()
  local failed = 0
  for _, p in ipairs(list) do
    local st, err = sirv:stat(p)
    if not st then
      if type(err) == "table" and err.kind == "rate_limited" then fail(ctx, p, err) end
      failed = failed + 1
      ctx.reporter:result(("%s: %s"):format(p, err.kind == "not_found" and "no such file or folder" or tostring(err)),
        { path = p, status = "failed", error = { kind = err.kind, status = err.status, message = err.message } }, true)
    else
      local lines = { p }
      local kind = st.isDirectory and "folder" or ("file (" .. tostring(st.contentType or "?") .. ")")
      lines[#lines + 1] = "  type      " .. kind
      if not st.isDirectory then
        lines[#lines + 1] = ("  size      %s (%s)"):format(tostring(st.size), format.size(st.size))
      end
      lines[#lines + 1] = "  modified  " .. format.clock(iso_epoch(st.mtime) or 0, 0)
        .. "  (" .. tostring(st.mtime) .. ")"
      if st.ctime then lines[#lines + 1] = "  created   " .. format.clock(iso_epoch(st.ctime) or 0, 0) end
      local m = type(st.meta) == "table" and st.meta or {}
      if tonumber(m.width) and tonumber(m.height) then
        lines[#lines + 1] = ("  image     %d x %d"):format(m.width, m.height)
      end
      if tonumber(m.duration) then lines[#lines + 1] = ("  duration  %ss"):format(tostring(m.duration)) end
      st.path = p
      ctx.reporter:result(concat(lines, "\n"), st)
    end
  end
  return failed > 0 and exit.FAILED or exit.OK
end

--- rm [-R] [--dry-run] PATH...
function M.rm(ctx)
  local list = {}
  for i, p in ipairs(ctx.args.paths) do
    list[i] = paths.remote(p, "PATH")
    if list[i] == "/" then exit.usage("refusing to delete the root folder /") end
  end
  local sirv = ctx:sirv()
  local stats, dry = runner.stats(), ctx.args.dry_run
  local n = ctx.args.transfers or 4
  session.run(ctx, function()
    for _, p in ipairs(list) do
      if ctx.stopping then break end
      local st, err = sirv:stat(p)
      if not st then
        if err.kind == "rate_limited" then ctx:limit_hit(err); break end
        stats.failed = stats.failed + 1
        stats.failures[#stats.failures + 1] = { job = { what = "delete " .. p }, err = err }
        ctx.reporter:result(("failed to delete %s: %s"):format(p, err.kind == "not_found" and "no such file or folder"
          or tostring(err)), { action = "delete", path = p, status = "failed", error = { kind = err.kind } }, true)
      elseif st.isDirectory and ctx.args.recursive then
        local tree, terr = walk.remote_tree(sirv, p, glob.compile{}, n)
        if not tree then
          if terr.kind == "rate_limited" then ctx:limit_hit(terr); break end
          fail(ctx, p, terr)
        end
        local files, dirs = {}, {}
        local rels = {}
        for rel in pairs(tree.files) do rels[#rels + 1] = rel end
        sort(rels)
        for _, rel in ipairs(rels) do files[#files + 1] = jobs.delete_remote(sirv, paths.rjoin(p, rel), rel) end
        for _, rel in ipairs(walk.dirs_deepest_first(tree.dirs)) do
          dirs[#dirs + 1] = jobs.rmdir_remote(sirv, paths.rjoin(p, rel), rel)
        end
        dirs[#dirs + 1] = jobs.rmdir_remote(sirv, p, p)
        if dry then
          for _, group in ipairs{ files, dirs } do
            for _, j in ipairs(group) do
              ctx.reporter:result("would " .. j.what, { action = j.obj.action, path = j.obj.path, status = "dry-run" })
            end
          end
        else
          runner.run(ctx, files, { concurrency = n, stats = stats })
          if stats.failed == 0 and not ctx.stopping then runner.run(ctx, dirs, { concurrency = 1, stats = stats }) end
        end
      elseif dry then
        ctx.reporter:result("would delete " .. p, { action = "delete", path = p, status = "dry-run" })
      else
        local job = jobs.delete_remote(sirv, p)
        local run = job.run
        job.run = function()
          local ok, derr = run()
          if not ok and derr.kind == "conflict" then
            derr.message = p .. " is a folder that is not empty: use rm -R"
          end
          return ok, derr
        end
        runner.run(ctx, { job }, { concurrency = 1, stats = stats })
      end
    end
  end)
  if ctx.interrupted then return exit.for_signal(ctx.interrupted) end
  if ctx.limit then return exit.LIMIT end
  return stats.failed > 0 and exit.FAILED or exit.OK
end

--- mv SRC DST
function M.mv(ctx)
  local src, dst = paths.remote(ctx.args.src, "SRC"), paths.remote(ctx.args.dst, "DST")
  if src == "/" then exit.usage("cannot move the root folder /") end
  local sirv = ctx:sirv()
  if ctx.args.dst:sub(-1) == "/" then
    dst = paths.rjoin(dst, paths.basename(src))
  else
    local st = sirv:stat(dst)
    if st and st.isDirectory then dst = paths.rjoin(dst, paths.basename(src)) end
  end
  if paths.inside(src, dst) and src ~= dst then exit.usage(("cannot move %s into itself (%s)"):format(src, dst)) end
  local ok, err = sirv:rename(src, dst)
  if not ok then fail(ctx, "move " .. src .. " -> " .. dst, err) end
  ctx.reporter:result(("moved %s -> %s"):format(src, dst),
    { action = "move", source = src, destination = dst, status = "ok" })
  return exit.OK
end

--- mkdir [-p] PATH...
function M.mkdir(ctx)
  local list = {}
  for i, p in ipairs(ctx.args.paths) do list[i] = paths.remote(p, "PATH") end
  local sirv = ctx:sirv()
  local failed = 0
  for _, p in ipairs(list) do
    local ok, err = sirv:mkdir(p)
    if ok then
      ctx.reporter:result("created " .. p, { action = "mkdir", path = p, status = "ok" })
    elseif err.kind == "conflict" and ctx.args.parents then
      ctx.reporter:result(nil, { action = "mkdir", path = p, status = "exists" })
    elseif err.kind == "rate_limited" then
      fail(ctx, p, err)
    else
      failed = failed + 1
      local why = err.kind == "conflict" and "it already exists (-p ignores that)" or tostring(err)
      ctx.reporter:result(("cannot create %s: %s"):format(p, why),
        { action = "mkdir", path = p, status = "failed", error = { kind = err.kind, message = err.message } }, true)
    end
  end
  return failed > 0 and exit.FAILED or exit.OK
end

--- search QUERY [-l] [--sort FIELD[:asc|desc]] [--limit N]
function M.search(ctx)
  local a = ctx.args
  local params = { query = a.query }
  if a.sort then
    local field, dir = a.sort:match("^([^:]+):?(%a*)$")
    dir = dir ~= "" and dir:lower() or "asc"
    if not field or (dir ~= "asc" and dir ~= "desc") then
      exit.usage("--sort takes FIELD, FIELD:asc or FIELD:desc (e.g. mtime:desc)")
    end
    params.sort = { [field] = dir }
  end
  if a.limit ~= nil and (a.limit < 1 or a.limit ~= math.floor(a.limit)) then
    exit.usage("--limit must be a whole number of at least 1")
  end
  local sirv = ctx:sirv()
  local n = 0
  session.run(ctx, function()
    local ok, err = pcall(function()
      for hit in sirv:search(params) do
        local s = type(hit._source) == "table" and hit._source or {}
        n = n + 1
        local line = hit.path
        if a.long then
          line = ("%12s  %s  %s"):format(tostring(s.size or "-"), format.date(iso_epoch(s.mtime)), tostring(hit.path))
        end
        ctx.reporter:result(line, { path = hit.path, size = s.size, mtime = s.mtime, contentType = s.contentType,
          isDirectory = s.isDirectory })
        if a.limit and n >= a.limit then break end
      end
    end)
    if not ok then
      if type(err) == "table" then fail(ctx, "search", err) end
      error(err, 0)
    end
  end)
  if ctx.interrupted then return exit.for_signal(ctx.interrupted) end
  return exit.OK
end

--- limits [-a]
function M.limits(ctx)
  local sirv = ctx:sirv()
  local l, err = sirv:limits()
  if not l then fail(ctx, "limits", err) end
  local names = {}
  for name, b in pairs(l) do
    if type(b) == "table" and (ctx.args.all or name == "rest:global" or (tonumber(b.count) or 0) > 0) then
      names[#names + 1] = name
    end
  end
  sort(names)
  local rows = { { "BUCKET", "LIMIT", "USED", "REMAINING", "RESETS" } }
  local now = os.time()
  for _, name in ipairs(names) do
    local b = l[name]
    local reset = tonumber(b.reset)
    local used = tonumber(b.count) or ((tonumber(b.limit) or 0) - (tonumber(b.remaining) or 0))
    local when = "-"
    if reset and used > 0 and reset > now then
      when = ("%s (in %s)"):format(format.clock(reset, now), format.duration(reset - now))
    end
    rows[#rows + 1] = { name, tostring(b.limit or "-"), tostring(used), tostring(b.remaining or "-"), when }
    ctx.reporter:result(nil, { bucket = name, limit = b.limit, used = used, remaining = b.remaining, reset = reset })
  end
  if ctx.mode ~= "json" then
    for _, line in ipairs(format.table(rows, { align = { "l", "r", "r", "r", "l" } })) do ctx.reporter:result(line) end
  end
  return exit.OK
end

return M
