--- mediacdn.redis.hiredis: Redis connections for plain Lua (5.4, LuaJIT) over the
-- binding's pollable hiredis connection (core.redis, csrc/redis).
--
--   local pool = require("mediacdn.redis.hiredis").new{ host =, port =, path =,
--                                                       password =, db = }
--   pool:call(timeout_s, "SET", "k", "v") -> value | nil, message, kind
--   pool:close()
--
-- kind: "timeout" (the deadline passed), "io" (connect/read/write failed),
-- "redis" (an error reply; the connection stays usable).
--
-- Every call (connect, AUTH, SELECT and the command together) ends within
-- timeout_s. Outside mediacdn.loop the call waits in poll() up to the deadline.
-- Inside a loop it never blocks the thread for more than SPIN_MS at a time: it
-- polls the socket for at most 1 ms, then yields (loop.sleep) so the other
-- tasks run, and polls again — a healthy Redis answers within the first poll
-- (loopback: ~0.05 ms), a stalled one costs the other tasks nothing but these
-- 1 ms slices, and the caller gets "timeout" at its deadline (plus however long
-- the loop's other tasks run before it is resumed: the scheduler is cooperative). (hiredis' own
-- async API would need the loop to watch a second fd; the slices give the same
-- bound without touching the scheduler.)
--
-- Connections are pooled per object: a task takes an idle connection (or
-- opens one), so concurrent tasks never share a socket, and returns it after
-- a clean reply. A connection that timed out or failed is closed (its state
-- is unknown) and the next call opens a fresh one.
local core = require "mediacdn.core"

local setmetatable, type, tostring = setmetatable, type, tostring
local min = math.min
local monotonic = core.monotonic

local M = {}

M.available = type(core.redis) == "function"

local SPIN_MS = 1          -- longest poll inside a loop before yielding
local YIELD_S = 0.001      -- the loop sleep between polls
local MAX_IDLE = 32        -- idle connections kept per pool

local Pool = {}
Pool.__index = Pool

-- mediacdn.loop, if it has been loaded (it requires nothing of ours)
local function current_loop()
  local loop = package.loaded["mediacdn.loop"]
  if type(loop) == "table" and loop.current() then return loop end
  return nil
end

--- A connection pool for one Redis server. opts: host, port, path (unix
-- socket), password, db.
function M.new(opts)
  if not M.available then
    error("mediacdn.redis.hiredis: the binding was built without hiredis (install libhiredis-dev and rebuild)", 2)
  end
  return setmetatable({ opts = opts, idle = {}, closed = false }, Pool)
end

-- Wait until conn has a reply or the deadline passes.
local function wait_reply(conn, deadline)
  local loop = current_loop()
  while true do
    local left = deadline - monotonic()
    if left <= 0 then return nil, "timed out", "timeout" end
    local ms = left * 1000
    if loop then ms = min(ms, SPIN_MS) end
    local n, err = conn:step(ms)
    if not n then return nil, err, "io" end
    if n > 0 then return true end
    if loop then
      local rest = deadline - monotonic()
      if rest > 0 then loop.sleep(min(YIELD_S, rest)) end
    end
  end
end

-- Send one command and read its reply before the deadline.
local function roundtrip(conn, deadline, ...)
  local ok, err = conn:send(...)
  if not ok then return nil, err, "io" end
  local got, werr, kind = wait_reply(conn, deadline)
  if not got then return nil, werr, kind end
  return conn:reply()
end

-- A connected connection (idle or new, with AUTH/SELECT done), or nil, err, kind.
function Pool:_acquire(deadline)
  local idle = self.idle
  while #idle > 0 do
    local conn = idle[#idle]
    idle[#idle] = nil
    if conn:alive() then return conn end
    conn:close()
  end
  local o = self.opts
  local conn = core.redis()
  local ok, err
  if o.path then ok, err = conn:connect_unix(o.path) else ok, err = conn:connect(o.host, o.port) end
  if not ok then
    conn:close()
    return nil, err, "io"
  end
  local setup = {}
  if o.password then setup[#setup + 1] = { "AUTH", o.password } end
  if o.db and o.db ~= 0 then setup[#setup + 1] = { "SELECT", o.db } end
  for i = 1, #setup do
    local res, serr, kind = roundtrip(conn, deadline, setup[i][1], setup[i][2])
    if res == nil then
      conn:close()
      -- never echo the password: name the step instead
      local why = kind == "redis" and tostring(serr):match("^%S+") or tostring(serr)
      return nil, setup[i][1] .. " failed: " .. why, kind
    end
  end
  return conn
end

--- Run one command; every step ends within timeout_s. Returns the reply, or
-- nil, message, kind ("timeout" | "io" | "redis").
function Pool:call(timeout, ...)
  if self.closed then return nil, "the Redis client is closed", "io" end
  local deadline = monotonic() + timeout
  local conn, err, kind = self:_acquire(deadline)
  if not conn then return nil, err, kind end
  local res, rerr, rkind = roundtrip(conn, deadline, ...)
  if res == nil and rkind ~= "redis" then
    conn:close() -- timed out or broken: the reply may still come, so the socket goes
    return nil, rerr, rkind
  end
  if #self.idle < MAX_IDLE and not self.closed then self.idle[#self.idle + 1] = conn else conn:close() end
  if res == nil then return nil, rerr, rkind end
  return res
end

--- Close every idle connection (connections in use close when returned).
function Pool:close()
  self.closed = true
  for i = #self.idle, 1, -1 do
    self.idle[i]:close()
    self.idle[i] = nil
  end
end

return M
