--- mediacdn.cli.runner: run a list of jobs (uploads, downloads, copies, deletes,
-- meta edits...) N at a time through mediacdn.loop.gather, feeding the reporter
-- and keeping the counts a command's summary and exit code come from.
--
--   local stats = runner.run(ctx, jobs, { concurrency = 4, stats = runner.stats() })
--   job = { verb = "upload", label = "a/b.jpg", size = n,
--           run = function(job, on_progress) -> true | nil, err,
--           text = "uploaded ./a -> /r/a (1.2 KiB)",    -- the line for a success
--           what = "upload ./a -> /r/a",               -- for a failure line
--           obj = { action = "upload", source =, destination =, bytes = } }  -- json
--   stats = { done = n, failed = n, limited = n, not_started = n, bytes = n,
--             failures = { {job =, err =} } }   -- opts.stats: keep counting into that
--                                               -- table (readable after an interrupt)
--
-- on_progress(p) takes the tus/download progress table {bytes, total, rate, eta}
-- (or bytes, total). A rate_limited failure is not counted as failed: it stops
-- the run (ctx:limit_hit) and the job is left for the next run. Once ctx.stopping
-- is set no new job starts. A job that raises a non-error value (a bug) fails
-- that job with the message.
local loop = require "mediacdn.loop"
local errors = require "mediacdn.errors"
local exit = require "mediacdn.cli.exit"

local type, tostring, pairs, ipairs, pcall, error = type, tostring, pairs, ipairs, pcall, error

local M = {}

-- A copy of a job's JSON object with the outcome added.
local function outcome(job, status, err)
  local o = {}
  for k, v in pairs(job.obj or {}) do o[k] = v end
  o.status = status
  if err then
    if errors.is(err) then
      o.error = { kind = err.kind, status = err.status, message = err.message }
    else
      o.error = { kind = "local", message = tostring(err) }
    end
  end
  return o
end

--- Fresh counters.
function M.stats()
  return { done = 0, failed = 0, limited = 0, not_started = 0, bytes = 0, failures = {} }
end

--- Run the jobs; returns the stats (see the header).
function M.run(ctx, jobs, opts)
  local r = ctx.reporter
  local stats = opts and opts.stats or M.stats()
  local fns = {}
  for i, job in ipairs(jobs) do
    fns[i] = function()
      if ctx.stopping or ctx.interrupted then
        stats.not_started = stats.not_started + 1
        return true
      end
      local t = r:start{ verb = job.verb, label = job.label, size = job.size }
      local function on_progress(p, total)
        if type(p) == "table" then r:update(t, p.bytes, p.total, p.rate)
        else r:update(t, p, total) end
      end
      local ok, res, err = pcall(job.run, job, on_progress)
      if not ok then
        if exit.is(res) then error(res, 0) end -- a usage error found late ends the command
        res, err = nil, res
      end
      if res then
        r:finish(t, true)
        stats.done = stats.done + 1
        stats.bytes = stats.bytes + (job.size or 0)
        local o = outcome(job, "ok")
        if type(res) == "table" and res.resumed ~= nil then -- a tus upload: did it continue an earlier one?
          o.resumed = res.resumed
        end
        r:result(job.text .. (o.resumed and " (resumed)" or ""), o)
      elseif type(err) == "table" and err.kind == "rate_limited" then
        r:finish(t, nil) -- not done, not failed: the next run does it
        stats.limited = stats.limited + 1
        ctx:limit_hit(err)
        r:result(nil, outcome(job, "rate_limited", err))
      else
        r:finish(t, false)
        stats.failed = stats.failed + 1
        stats.failures[#stats.failures + 1] = { job = job, err = err }
        r:result(("failed to %s: %s"):format(job.what or job.label, tostring(err)), outcome(job, "failed", err), true)
      end
      return true
    end
  end
  if #fns > 0 then
    local _, errs = loop.gather(fns, { concurrency = opts and opts.concurrency or 4 })
    for _, e in pairs(errs) do error(e, 0) end -- only a usage error escapes a job
  end
  return stats
end

return M
