--- mediacdn.loop: a coroutine scheduler over libcurl's multi interface.
--
-- Inside a loop every transfer and sleep yields the calling task instead of
-- blocking, so many requests run at once on one thread:
--
--   loop.run(function() ... end)                     -- blocks until all tasks end
--   local results, errs = loop.gather(fns, { concurrency = 16 })
--
-- Tasks are coroutines. A task waits on one thing at a time: a transfer
-- (loop.request), a timer (loop.sleep) or another task (task:wait()). The
-- loop owns one core.multi(); its fd and timeout let another event loop drive
-- it (loop.new(), l:fd(), l:timeout(), l:step()).
--
-- Errors: a task that raises ends; task:wait() returns false, err (gather
-- puts it in errs[i]). If the function given to loop.run raises, the other
-- tasks are abandoned and run re-raises the error. The error of a spawned
-- task that nothing ever waits for is raised by loop.run (or l:step()) once
-- every task has ended, so it is never lost. Abandoned or cancelled tasks
-- have their coroutine closed (Lua 5.4: coroutine.close, so pending
-- to-be-closed variables run) and their transfers cancelled.
local core = require "mediacdn.core"

local co_create, co_resume, co_yield = coroutine.create, coroutine.resume, coroutine.yield
local co_running, co_status = coroutine.running, coroutine.status
local co_close = coroutine.close -- Lua 5.4 only
local pack = table.pack or function(...) return { n = select("#", ...), ... } end
local unpack = table.unpack or unpack
local floor, ceil, min = math.floor, math.ceil, math.min
local type, error, pairs, pcall, setmetatable, next = type, error, pairs, pcall, setmetatable, next
local monotonic = core.monotonic

local M = {}

local Loop = {}
Loop.__index = Loop

local Task = {}
Task.__index = Task

-- the value a task yields to park itself until something wakes it
local WAIT = setmetatable({}, { __tostring = function() return "mediacdn.loop.WAIT" end })
local NOARGS = { n = 0 }

-- coroutine -> task, for loop.current() (weak: dead coroutines go away)
local tasks_by_co = setmetatable({}, { __mode = "k" })

local function current_task()
  local co = co_running()
  return co and tasks_by_co[co] or nil
end

--- The loop running the calling coroutine, or nil outside any loop.
function M.current()
  local t = current_task()
  return t and t.loop or nil
end

-- ---- timers: a binary min-heap of { at, seq, task, cancelled } ------------

local function heap_less(a, b)
  return a.at < b.at or (a.at == b.at and a.seq < b.seq)
end

local function heap_push(h, e)
  local i = #h + 1
  h[i] = e
  while i > 1 do
    local p = floor(i / 2)
    if not heap_less(h[i], h[p]) then break end
    h[i], h[p] = h[p], h[i]
    i = p
  end
end

local function heap_pop(h)
  local n = #h
  local top = h[1]
  h[1] = h[n]
  h[n] = nil
  n = n - 1
  local i = 1
  while true do
    local l, r, s = 2 * i, 2 * i + 1, i
    if l <= n and heap_less(h[l], h[s]) then s = l end
    if r <= n and heap_less(h[r], h[s]) then s = r end
    if s == i then break end
    h[i], h[s] = h[s], h[i]
    i = s
  end
  return top
end

-- ---- the loop ------------------------------------------------------------

--- A new loop, to drive from another event loop (or with l:run()).
function M.new()
  return setmetatable({
    multi = core.multi(),
    rq_task = {}, rq_args = {}, rq_head = 1, rq_tail = 0, -- ready queue
    timers = {}, seq = 0,
    waiting = {},   -- transfer id -> task
    progress = {},  -- transfer id -> {fn = req.on_progress, up, down}
    tasks = {},     -- live tasks
    ntasks = 0,
    running = false,
    unobserved = {}, -- failed tasks nothing has waited for (yet)
    closed = false,
  }, Loop)
end

-- Queue `task` to be resumed with the values in `args`.
function Loop:_schedule(task, args)
  local i = self.rq_tail + 1
  self.rq_tail = i
  self.rq_task[i] = task
  self.rq_args[i] = args
end

local function check_function(fn, where)
  if type(fn) ~= "function" then
    error(where .. ": a function is required, got " .. type(fn), 3)
  end
end

--- Start a task running fn(...) in this loop; returns the task.
function Loop:spawn(fn, ...)
  check_function(fn, "spawn")
  if self.closed then error("spawn: the loop is closed", 2) end
  local task = setmetatable({ co = co_create(fn), loop = self }, Task)
  tasks_by_co[task.co] = task
  self.tasks[task] = true
  self.ntasks = self.ntasks + 1
  self:_schedule(task, pack(...))
  return task
end

-- Bookkeeping shared by a task's end and its abandonment.
function Loop:_retire(task)
  task.finished = true
  self.tasks[task] = nil
  self.ntasks = self.ntasks - 1
  tasks_by_co[task.co] = nil
  local waiters = task.waiters
  task.waiters = nil
  if waiters then
    for i = 1, #waiters do self:_schedule(waiters[i], NOARGS) end
  end
  return waiters and #waiters > 0
end

-- The task's coroutine returned or raised.
function Loop:_finish(task, r)
  if r[1] then
    task.ok = true
    task.result = pack(unpack(r, 2, r.n))
  else
    task.ok = false
    task.err = r[2]
    if co_close then co_close(task.co) end -- an errored coroutine keeps its tbc variables open
  end
  local waited = self:_retire(task)
  if not task.ok and not waited and not task.observed then
    self.unobserved[#self.unobserved + 1] = task
  end
end

-- Stop a task that has not finished: cancel what it waits for, close its
-- coroutine, and wake whoever waits for it (they see `false, reason`).
function Loop:_abandon(task, reason)
  if task.finished then return end
  task.ok = false
  task.err = reason
  task.cancelled = true
  if task.wait_id then
    self.multi:cancel(task.wait_id)
    self.waiting[task.wait_id] = nil
    self.progress[task.wait_id] = nil
    task.wait_id = nil
  end
  if task.timer then
    task.timer.cancelled = true
    task.timer = nil
  end
  if task.children then
    for child in pairs(task.children) do self:_abandon(child, reason) end
  end
  self:_retire(task)
  if co_close and co_status(task.co) == "suspended" then co_close(task.co) end
end

-- Resume one task and handle what it did.
function Loop:_resume(task, args)
  local r = pack(co_resume(task.co, unpack(args, 1, args.n)))
  if task.finished then return end -- abandoned while it ran (the loop was closed)
  if co_status(task.co) == "dead" then
    self:_finish(task, r)
  elseif r[2] ~= WAIT then
    self:_schedule(task, NOARGS) -- a bare coroutine.yield(): just let others run
  end
end

-- Resume the tasks queued now (not those they queue: I/O gets its turn).
function Loop:_run_ready()
  local last = self.rq_tail
  while self.rq_head <= last do
    local i = self.rq_head
    local task, args = self.rq_task[i], self.rq_args[i]
    self.rq_task[i], self.rq_args[i] = nil, nil
    self.rq_head = i + 1
    if not task.finished then self:_resume(task, args) end
  end
  if self.rq_head > self.rq_tail then -- empty: restart the indices
    self.rq_head, self.rq_tail = 1, 0
  end
end

function Loop:_timer_ms()
  local h = self.timers
  while h[1] and h[1].cancelled do heap_pop(h) end
  if not h[1] then return -1 end
  local left = h[1].at - monotonic()
  return left <= 0 and 0 or ceil(left * 1000)
end

function Loop:_fire_timers()
  local h, now = self.timers, monotonic()
  while h[1] and h[1].at <= now do
    local e = heap_pop(h)
    local task = e.task
    if not e.cancelled and not task.finished then
      task.timer = nil
      self:_schedule(task, NOARGS)
    end
  end
end

-- Wait up to wait_ms in the multi and wake the tasks whose transfers ended.
function Loop:_poll(wait_ms)
  local multi = self.multi
  multi:step(wait_ms)
  if next(self.progress) then self:_report_progress() end
  while true do
    local id, res, terr = multi:done()
    if id == nil then break end
    local task = self.waiting[id]
    self.waiting[id] = nil
    if task then
      task.wait_id = nil
      self:_schedule(task, pack(res, terr))
    end
  end
end

--- Milliseconds until l:step() has work without fd activity; 0 when it has
-- work now, -1 when only fd activity can bring any.
function Loop:timeout()
  if self.closed then return -1 end
  if self.rq_head <= self.rq_tail then return 0 end
  local t, m = self:_timer_ms(), self.multi:timeout()
  if t < 0 then return m end
  if m < 0 then return t end
  return min(t, m)
end

-- One round: run ready tasks, wait (when blocking) for I/O or a timer,
-- then run whatever that woke.
function Loop:_iterate(block)
  self:_run_ready()
  local wait = 0
  if block and self.ntasks > 0 then
    wait = self:timeout()
    if wait < 0 then
      if self.multi:count() > 0 then
        wait = 1000
      else
        error(("mediacdn.loop: deadlock: %d task(s) wait for each other"):format(self.ntasks), 0)
      end
    end
  end
  self:_poll(wait)
  self:_fire_timers()
  self:_run_ready()
end

local function enter(self, where)
  if self.closed then error(where .. ": the loop is closed", 3) end
  if self.running then error(where .. ": the loop is already running", 3) end
  self.running = true
end

-- Once no task is left: the first failed task nothing waited for, if any.
local function take_unobserved(self)
  if self.ntasks > 0 then return nil end
  local list = self.unobserved
  self.unobserved = {}
  for i = 1, #list do
    if not list[i].observed then return list[i] end
  end
  return nil
end

--- Drive from another event loop: call when l:fd() is readable or l:timeout()
-- ms have passed. Never blocks. Returns whether tasks remain. When the last
-- task has ended, raises the error of a task nothing waited for.
function Loop:step()
  enter(self, "step")
  local ok, err = pcall(self._iterate, self, false)
  self.running = false
  if not ok then error(err, 0) end
  local failed = take_unobserved(self)
  if failed then error(failed.err, 0) end
  return self.ntasks > 0
end

--- Run until no task is left (blocking).
function Loop:run()
  enter(self, "run")
  local ok, err = pcall(function()
    while self.ntasks > 0 do self:_iterate(true) end
  end)
  self.running = false
  if not ok then
    self:close()
    error(err, 0)
  end
  local failed = take_unobserved(self)
  if failed then error(failed.err, 0) end
end

--- The epoll descriptor to watch for readability.
function Loop:fd()
  return self.multi:fd()
end

--- Whether tasks remain.
function Loop:alive()
  return self.ntasks > 0
end

--- Abandon every task and release the multi handle (idempotent).
function Loop:close()
  if self.closed then return end
  local tasks = {}
  for t in pairs(self.tasks) do tasks[#tasks + 1] = t end
  for i = 1, #tasks do self:_abandon(tasks[i], "loop closed") end
  self.closed = true
  self.multi:close()
end

function Loop:_sleep(task, seconds)
  self.seq = self.seq + 1
  local e = { at = monotonic() + seconds, seq = self.seq, task = task }
  task.timer = e
  heap_push(self.timers, e)
  return co_yield(WAIT)
end

function Loop:_request(task, req)
  local id, terr = self.multi:add(req)
  if not id then return nil, terr end
  self.waiting[id] = task
  task.wait_id = id
  if req.on_progress ~= nil then
    if type(req.on_progress) ~= "function" then
      self.multi:cancel(id)
      self.waiting[id], task.wait_id = nil, nil
      error("transport:request: req.on_progress must be a function", 3)
    end
    self.progress[id] = { fn = req.on_progress, up = -1, down = -1 }
  end
  local res, err = co_yield(WAIT)
  self.progress[id] = nil
  if task.progress_error ~= nil then -- the callback raised: so does the request
    local e = task.progress_error
    task.progress_error = nil
    error(e, 0)
  end
  return res, err
end

-- Report the byte counts of running transfers to their req.on_progress. A
-- callback that raises cancels its transfer; the waiting request raises it.
function Loop:_report_progress()
  local multi = self.multi
  for id, p in pairs(self.progress) do
    local up, down = multi:progress(id)
    if up and (up ~= p.up or down ~= p.down) then
      p.up, p.down = up, down
      local ok, err = pcall(p.fn, up, down)
      if not ok then
        local task = self.waiting[id]
        multi:cancel(id)
        self.progress[id] = nil
        self.waiting[id] = nil
        if task then
          task.wait_id = nil
          task.progress_error = err
          self:_schedule(task, pack(nil, { kind = "local", message = "on_progress raised" }))
        end
      end
    end
  end
end

-- ---- tasks ---------------------------------------------------------------

--- Wait for the task to end (from another task of the same loop, or after
-- it ended). Returns true, results... or false, err (like pcall).
function Task:wait()
  self.observed = true
  if not self.finished then
    local me = current_task()
    if not me or me.loop ~= self.loop then
      error("task:wait: call it from a task of the same loop", 2)
    end
    if me == self then error("task:wait: a task cannot wait for itself", 2) end
    local w = self.waiters or {}
    self.waiters = w
    w[#w + 1] = me
    co_yield(WAIT)
  end
  if self.ok then return true, unpack(self.result, 1, self.result.n) end
  return false, self.err
end

--- Cancel a task that has not finished: its transfer is aborted and its
-- coroutine closed. Returns true if it was still running.
function Task:cancel()
  if self.finished then return false end
  if co_running() == self.co then error("task:cancel: a task cannot cancel itself", 2) end
  self.observed = true
  self.loop:_abandon(self, "cancelled")
  return true
end

--- Whether the task has ended (returned, raised or was cancelled).
function Task:done()
  return self.finished == true
end

-- ---- module functions ------------------------------------------------------

--- Run fn(...) as a task until it and every task it spawned end; returns
-- fn's results or raises its error. Inside a loop it just calls fn(...).
function M.run(fn, ...)
  check_function(fn, "loop.run")
  if current_task() then return fn(...) end
  local l = M.new()
  local main = l:spawn(fn, ...)
  main.observed = true
  enter(l, "run")
  local ok, err = pcall(function()
    while l.ntasks > 0 and not (main.finished and not main.ok) do
      l:_iterate(true)
    end
  end)
  l.running = false
  local failed = ok and main.ok and take_unobserved(l)
  l:close()
  if not ok then error(err, 0) end
  if not main.ok then error(main.err, 0) end
  if failed then error(failed.err, 0) end
  return unpack(main.result, 1, main.result.n)
end

--- Start a concurrent task in the current loop; returns it.
function M.spawn(fn, ...)
  local t = current_task()
  if not t then error("loop.spawn: not inside a loop (use loop.run or loop.new)", 2) end
  return t.loop:spawn(fn, ...)
end

--- Sleep: yields inside a loop, blocks outside.
function M.sleep(seconds)
  if type(seconds) ~= "number" or seconds ~= seconds or seconds < 0 or seconds == math.huge then
    error("loop.sleep: seconds must be a non-negative number", 2)
  end
  local t = current_task()
  if not t then return core.sleep(seconds) end
  t.loop:_sleep(t, seconds)
end

--- Perform a transfer: yields inside a loop; outside, a one-off blocking
-- transfer. Returns res | nil, terr (docs/internals.md).
function M.request(req)
  local t = current_task()
  if t then return t.loop:_request(t, req) end
  local easy = core.easy() -- a raise below leaves it to __gc
  local res, terr = easy:perform(req)
  easy:close()
  return res, terr
end

--- Run fns concurrently (at most opts.concurrency at a time) and return
-- results, errs with results[i]/errs[i] for fns[i]: a function that raises
-- puts its error in errs[i]; one that returns nil, err puts err there too.
-- Outside a loop it runs one until all are done.
function M.gather(fns, opts)
  if type(fns) ~= "table" then error("loop.gather: fns must be a table of functions", 2) end
  local n = fns.n or #fns
  for i = 1, n do
    if type(fns[i]) ~= "function" then
      error(("loop.gather: fns[%d] is not a function"):format(i), 2)
    end
  end
  if opts ~= nil and type(opts) ~= "table" then error("loop.gather: opts must be a table", 2) end
  local conc = opts and opts.concurrency
  if conc ~= nil and (type(conc) ~= "number" or conc < 1 or conc ~= floor(conc) or conc == math.huge) then
    error("loop.gather: opts.concurrency must be a positive integer", 2)
  end
  local me = current_task()
  if not me then return M.run(M.gather, fns, opts) end
  local results, errs = {}, {}
  if n == 0 then return results, errs end
  conc = min(conc or n, n)
  local next_i = 1
  local function worker()
    while next_i <= n do
      local i = next_i
      next_i = i + 1
      local r = pack(pcall(fns[i]))
      if not r[1] then
        errs[i] = r[2] == nil and "error (nil)" or r[2]
      else
        results[i] = r[2]
        if r[2] == nil and r[3] ~= nil then errs[i] = r[3] end
      end
    end
  end
  local l, workers = me.loop, {}
  me.children = me.children or {}
  for w = 1, conc do
    local t = l:spawn(worker)
    t.observed = true
    me.children[t] = true
    workers[w] = t
  end
  for w = 1, conc do
    workers[w]:wait()
    me.children[workers[w]] = nil
  end
  return results, errs
end

return M
