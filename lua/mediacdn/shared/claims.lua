--- mediacdn.shared.claims: the bulk runner's side of a shared journal
-- (mediacdn.shared.journal), so N processes split one job.
--
-- mediacdn.bulk calls these when its `journal` is a journal object:
--   claims.claim(ctx, path)  -> "yours" | "done" | "busy" | nil (the run must stop)
--   claims.finish(ctx, path, ok)  -- complete (ok) or give the claim back
--   claims.drain(ctx, run_items)  -- at the end: the items other workers held
--
-- ctx fields used: claims (the journal), clock (now, sleep), summary, ended,
-- halted, deferred (items met "busy"), pause_max (seconds), event (a sink for
-- {type = "shared", component = "journal", action = "pause"|"resume", reason}).
--
-- Failure policy: while Redis cannot answer, claiming pauses (backing off up
-- to 5 s between tries, with a "pause" event, then "resume") instead of
-- running items it could not claim; after pause_max seconds the run stops with
-- the error. A completion that cannot be recorded is retried the same way; if
-- that fails too, the item's lease expires and another worker redoes it.
local min, max = math.min, math.max

local M = {}

local function event(ctx, action, reason)
  if ctx.event then
    ctx.event{ type = "shared", component = "journal", action = action, reason = reason }
  end
end

-- Call fn() -> value | nil, err until it answers, pausing in between; nil, err
-- after pause_max seconds. The run reports one "pause" when its first caller
-- starts waiting and one "resume" when a call goes through again.
local function with_pause(ctx, fn)
  local wait, paused = 0.25, 0
  while true do
    local v, err = fn()
    if v ~= nil then
      if ctx.journal_paused then
        ctx.journal_paused = false
        event(ctx, "resume")
      end
      return v
    end
    if not ctx.journal_paused then
      ctx.journal_paused = true
      event(ctx, "pause", tostring(err))
    end
    if paused >= ctx.pause_max then return nil, err end
    ctx.clock:sleep(wait)
    paused = paused + wait
    wait = min(wait * 2, 5)
  end
end

function M.claim(ctx, path)
  local st, err = with_pause(ctx, function() return ctx.claims:claim(path) end)
  if not st then
    ctx.summary.error, ctx.ended = err, true
    return nil
  end
  return st
end

function M.finish(ctx, path, ok)
  if ok then
    with_pause(ctx, function() return ctx.claims:complete(path) end)
  else
    ctx.claims:release(path) -- on failure the lease expires by itself
  end
end

--- Run the items other workers held when we met them: claim each again until it
-- is done (by them: reported as skipped) or ours (their lease expired: we run
-- it). run_items(list) runs and records a list of items; record_skip(item)
-- records a skipped one. Polls a few times per lease.
function M.drain(ctx, run_items, record_skip)
  local poll = max(0.05, min(2, ctx.claims.lease_ms / 1000 / 5))
  while #ctx.deferred > 0 and not ctx.halted and not ctx.ended do
    local list, mine = ctx.deferred, {}
    ctx.deferred = {}
    for _, item in ipairs(list) do
      local st = M.claim(ctx, item.path)
      if st == nil then return end
      if st == "yours" then mine[#mine + 1] = item
      elseif st == "done" then item.skipped = true; record_skip(item)
      else ctx.deferred[#ctx.deferred + 1] = item end
    end
    if #mine > 0 then run_items(mine) end
    if #mine == 0 and #ctx.deferred > 0 then ctx.clock:sleep(poll) end
  end
end

return M
