-- The latency a fleet pays per Sirv call for sharing state through Redis: each
-- shared store against its per-process counterpart, on a real redis-server over
-- loopback (started here on a free port and stopped by pid). Prints median and
-- p99 per operation in milliseconds and the added median (goal: < 0.3 ms).
--   token   the store read a call makes before signing (cache = 0: every call asks Redis)
--   budget  reserve before + observe after a call (the fleet budget vs the same algorithm locally)
--   journal claim + complete of one bulk item (Redis vs appending a line to a local journal file)
-- Run: LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='build/lua54/?.so;;' \
--        lua5.4 bench/shared_stores.lua [N]
local redis_server = require "helpers.redis"
local core = require "mediacdn.core"
local mredis = require "mediacdn.redis"
local auth = require "mediacdn.sirv.auth"
local token_store = require "mediacdn.shared.token_store"
local budget_store = require "mediacdn.shared.budget_store"
local budget_algo = require "mediacdn.shared.budget_algo"
local journal = require "mediacdn.shared.journal"

local N = tonumber(arg and arg[1]) or 3000
local mono = core.monotonic

-- seconds per call of fn(i), N times: sorted list
local function measure(fn)
  for i = 1, 50 do fn(-i) end -- warm up (connections, script cache)
  local t = {}
  for i = 1, N do
    local t0 = mono()
    fn(i)
    t[i] = mono() - t0
  end
  table.sort(t)
  return t
end

local function pct(t, p) return t[math.max(1, math.ceil(#t * p))] * 1000 end

local rows, added = {}, {}
local function row(name, localt, redist)
  added[name] = pct(redist, 0.5) - pct(localt, 0.5)
  rows[#rows + 1] = ("%-8s local  median %.4f ms  p99 %.4f ms | redis  median %.4f ms  p99 %.4f ms"
    .. " | added median %.4f ms")
    :format(name, pct(localt, 0.5), pct(localt, 0.99), pct(redist, 0.5), pct(redist, 0.99),
      pct(redist, 0.5) - pct(localt, 0.5))
end

local srv = redis_server.start()
local ok, err = pcall(function()
  local redis = mredis.new{ port = srv.port, timeout = 0.5 }
  local clock = { now = function() return core.now() end, sleep = function(_, s) core.sleep(s) end }

  -- token
  local lstore = auth.local_store(clock, 30)
  local rstore = token_store.new{ redis = redis, cache = 0 }
  lstore:set("acct", "tok", core.now() + 3600)
  rstore:set("acct", "tok", core.now() + 3600)
  row("token", measure(function() lstore:get("acct") end), measure(function() rstore:get("acct") end))

  -- budget: a window that never runs out during the bench
  local reset = math.floor(core.now()) + 3600
  local rate = { type = "rest:global", limit = 10 * N + 1000, remaining = 10 * N + 1000, reset = reset }
  local A = budget_algo.algo
  local lb, o = {}, { safety = 0.01, burst = 1, slack = 1, share = 1 }
  A.observe(lb, rate.limit, rate.remaining, reset, core.now(), false, 1)
  local bstore = budget_store.new{ redis = redis, account = "bench", burst = 1 }
  bstore:observe(rate, 200, "rest:global")
  row("budget", measure(function()
    A.reserve(lb, nil, core.now(), 1, o)
    A.observe(lb, rate.limit, rate.remaining, reset, core.now(), false, 1)
  end), measure(function()
    bstore:reserve("rest:global")
    bstore:observe(rate, 200, "rest:global")
  end))

  -- journal
  local path = os.tmpname()
  local fh = assert(io.open(path, "ab"))
  local j = journal.new{ redis = redis, job = "bench-" .. mredis.random_id() }
  row("journal", measure(function(i)
    fh:write("/bench/item-", i, ".jpg\n")
    fh:flush()
  end), measure(function(i)
    local item = "/bench/item-" .. i .. ".jpg"
    assert(j:claim(item) == "yours")
    assert(j:complete(item))
  end))
  fh:close()
  os.remove(path)
  redis:close()
end)
srv:stop()
if not ok then error(err, 0) end
print(("%d calls each, loopback redis-server, %s"):format(N, jit and jit.version or _VERSION))
for _, r in ipairs(rows) do print(r) end
print(("per Sirv call (token read without cache + budget reserve/observe): added median %.4f ms (goal < 0.3 ms)")
  :format(added.token + added.budget))
