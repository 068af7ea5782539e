--- mediacdn.cli.session: run a command's work inside mediacdn.loop, so that its
-- requests overlap, with two helpers beside it: a watcher that turns SIGINT and
-- SIGTERM into a clean stop, and the ticker that redraws the progress block.
--
--   local a, b = session.run(ctx, function() ... return a, b end)
--   -- after a signal: ctx.interrupted = "INT" | "TERM" and run returns nothing
--
-- How a stop works: the signals are read from a signalfd (core.signal_watch),
-- never delivered as such, so nothing is cut in the middle of a Lua or C step.
-- The watcher polls ten times a second; on a signal it cancels the work task,
-- which aborts the transfers in flight (mediacdn.loop cancels their curl
-- handles and the gather workers under the task). What finished stays finished;
-- a download in flight leaves its `.part` file. The watch is closed at once, so
-- a second Ctrl-C ends the process the ordinary way.
local core = require "mediacdn.core"
local loop = require "mediacdn.loop"

local pack = table.pack or function(...) return { n = select("#", ...), ... } end
local unpack = table.unpack or unpack
local error, pcall = error, pcall

local M = {}

local POLL = 0.1 -- seconds between looks at the signal queue

--- Watch INT and TERM while fn runs; returns fn's results (nothing after a signal).
function M.run(ctx, fn)
  local watch
  if core.signal_watch and not ctx.no_signals then
    watch = core.signal_watch{ "INT", "TERM" }  -- nil, message: run unprotected
  end
  local result
  local ok, err = pcall(loop.run, function()
    local work = loop.spawn(function() result = pack(fn()) end)
    while not work:done() do
      loop.sleep(POLL)
      local sig = watch and watch:pending()
      if sig then
        ctx.interrupted = sig
        watch:close()
        watch = nil
        work:cancel()
        break
      end
      if ctx.reporter then ctx.reporter:tick() end
    end
    if not ctx.interrupted then
      local wok, werr = work:wait()
      if not wok then error(werr, 0) end
    end
  end)
  if watch then watch:close() end
  if ctx.reporter then ctx.reporter:close() end
  if not ok then error(err, 0) end
  if ctx.interrupted or not result then return end
  return unpack(result, 1, result.n)
end

return M
