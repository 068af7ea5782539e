--- mediacdn.tus.run: drives mediacdn.core TusUpload state machines over the
-- shared request engine. The machine decides (what to send, how to read each
-- answer, when to give up); this module only moves its requests through the
-- engine (which owns retries, rate limits and transports), checks the file
-- still is what was fingerprinted before each chunk, and reports URL and
-- offset changes to the caller (journal, progress).
--
--   local ctx = run.context{ transport =, engine =, path =, size =, emit =,
--                            refresh_endpoint = fn | nil, timeout = }
--   local ok, err = run.drive(ctx, machine, { on_url = fn(state), on_offset = fn(offset) })
--   run.all(fns) -> results, errs      -- concurrently: nginx threads or mediacdn.loop
local core = require "mediacdn.core"
local errors = require "mediacdn.errors"
local engine = require "mediacdn.engine"
local loop = require "mediacdn.loop"
local phase = require "mediacdn.transport.phase"

local M = {}

local pairs, ipairs, tostring, tonumber, rawget = pairs, ipairs, tostring, tonumber, rawget
local file_size = core.file_size

local MAX_REFRESH = 3   -- re-minted endpoints per upload

--- A tus error (kind from the machine or the engine).
function M.error(kind, message, status, extra)
  local e = errors.new{ kind = kind, message = message, status = status, service = "tus",
    operation = "upload", retryable = kind == "transient" or kind == "timeout" or kind == "conflict" }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

--- The shared engine for tus requests (no signing: a tus endpoint carries its
-- own authorisation in headers or in the URL).
function M.engine(o)
  return engine.new{
    service = "tus", transport = o.transport, policy = o.policy,
    emit = o.emit, secrets = o.secrets,
    sign = function() return true end,
    limits = { timeout = o.timeout, connect_timeout = o.connect_timeout,
      stall_timeout = o.stall_timeout, transfer_timeout = o.transfer_timeout,
      max_wait = o.max_wait, rate_limit = "wait", cainfo = o.cainfo },
  }
end

function M.context(o)
  return o
end

-- one request of the machine through the engine; feeds the outcome back.
-- on_bytes(n): the upload's bytes so far while a body moves (transport progress)
local function send(ctx, m, req, on_bytes)
  local progress
  if on_bytes and req.body_file then
    local base = tonumber(req.headers["Upload-Offset"] or "0") or 0
    progress = function(sent) on_bytes(base + sent) end
  end
  local res, err = ctx.engine:perform{
    operation = "tus:" .. req.op, method = req.method, url = req.url, path = "tus",
    headers = req.headers, body_file = req.body_file, idempotent = req.idempotent,
    auth = false, on_progress = progress,
  }
  local now = ctx.transport:now()
  if res then
    m:feed(res.status, res.headers, now)
  elseif err.status then
    m:feed(err.status, err.headers or {}, now)
  else
    m:feed_failure(err.kind or "transient", err.message or "transfer failed")
  end
end

--- Drive machine m to its end. hooks.on_url(state) when the upload URL changes,
-- hooks.on_offset(offset) when the confirmed offset moves, hooks.on_bytes(n)
-- while a body is on its way (n: this upload's bytes sent so far). Returns true or
-- nil, err (a mediacdn.Error; the machine's own state stays readable).
function M.drive(ctx, m, hooks)
  local t = ctx.transport
  local last_url, last_offset = m:state().url, nil
  local refreshed = 0
  while true do
    local step, req = m:next(t:now())
    if step == "done" then
      local st = m:state()
      if hooks.on_offset and st.offset ~= last_offset then hooks.on_offset(st.offset) end
      return true
    end
    if step == "failed" then
      local kind, status, message = m:error()
      -- a pre-authorised URL that expired: mint another and go on where the server is
      if (kind == "auth" or kind == "forbidden") and ctx.refresh_endpoint and refreshed < MAX_REFRESH then
        refreshed = refreshed + 1
        local ep, rerr = ctx.refresh_endpoint(kind)
        if not ep then return nil, rerr end
        m:rebase(ep)
        if ctx.emit then ctx.emit{ type = "tus", action = "refresh_endpoint", attempt = refreshed } end
      else
        return nil, M.error(kind, message, status, { note = m:state().note })
      end
    else
      if req.delay and req.delay > 0 then t:sleep(req.delay) end
      local size = req.body_file and file_size(ctx.path)
      if req.body_file and size ~= ctx.size then
        m:fail("local", ("%s changed during the upload (it was %s bytes, now %s)")
          :format(ctx.path, tostring(ctx.size), tostring(size or "unreadable")))
        ctx.changed = true
      else
        send(ctx, m, req, hooks.on_bytes)
        local st = m:state()
        if ctx.emit and st.note ~= "" then ctx.emit{ type = "tus", action = st.note, op = req.op } end
        if st.url ~= last_url then
          last_url = st.url
          if hooks.on_url then hooks.on_url(st) end
        end
        if st.offset ~= last_offset then
          last_offset = st.offset
          if hooks.on_offset then hooks.on_offset(st.offset) end
        end
      end
    end
  end
end

--- Run fns concurrently: nginx light threads where cosockets work, else
-- mediacdn.loop tasks (a loop of their own outside one). results, errs.
function M.all(fns)
  if phase.in_nginx() and phase.cosockets_allowed() then
    local ngx_thread = rawget(_G, "ngx").thread
    local threads, results, errs = {}, {}, {}
    for i, fn in ipairs(fns) do threads[i] = ngx_thread.spawn(fn) end
    for i, th in ipairs(threads) do
      local ok, r, e = ngx_thread.wait(th)
      if not ok then errs[i] = r elseif r == nil then errs[i] = e else results[i] = r end
    end
    return results, errs
  end
  return loop.gather(fns, { concurrency = #fns })
end

return M
