-- The Redis clients inside nginx (4 workers, lua-resty-redis cosockets) against
-- a real redis-server, and Sirv clients in those workers plus one plain-Lua
-- client sharing a single token through Redis. Handlers:
-- spec/fixtures/rig/redis_cases.lua.
local redis_server = require "helpers.redis"
local sandbox = require "helpers.sandbox"
local rig = require "helpers.rig"
local core = require "mediacdn.core"
local sirv_mod = require "mediacdn.sirv"

local function resty_redis_installed()
  return io.open("/usr/share/lua/5.1/nginx/redis.lua") ~= nil
    or io.open("/usr/share/lua/5.1/resty/redis.lua") ~= nil
end

local describe_if = (redis_server.available() and resty_redis_installed()) and describe or pending

describe_if("Redis inside nginx (4 workers)", function()
  local srv, sb, r

  setup(function()
    srv = redis_server.start()
    sb = sandbox.start{}
    r = rig.start{ workers = 4, env = {
      MC_REDIS_PORT = srv.port, SIRV_BASE_URL = sb.url,
      SIRV_CLIENT_ID = sb.client_id, SIRV_CLIENT_SECRET = sb.client_secret,
    } }
  end)
  teardown(function()
    if r then r:stop() end
    if sb then sb:stop() end
    redis_server.stop_all()
    rig.stop_all()
  end)
  before_each(function()
    srv:cli("FLUSHALL")
    sb:reset_stats()
  end)

  local function get(path)
    local status, v, raw = r:json{ path = path }
    assert.equal(200, status, raw)
    return v
  end

  it("runs commands and scripts over cosockets", function()
    local v = get("/t/redis_cases/basics")
    assert.equal("resty", v.pool)
    assert.equal("OK", v.set)
    assert.equal(42, v.incr)
    assert.is_true(v.null)
    assert.equal(3, v.eval1)
    assert.equal(7, v.eval2) -- after SCRIPT FLUSH: the NOSCRIPT fallback
    assert.equal("protocol", v.err.kind)
    assert.equal("ERR", v.err.redis_error)
    assert.equal("42", srv:cli("GET", "mediacdn:rig:x"))
  end)

  it("hands the token store's lock from one light thread to another", function()
    local v = get("/t/redis_cases/lock")
    assert.is_true(v.first)
    assert.is_false(v.waiter)
  end)

  it("shares one token among the 4 workers and a plain-Lua client", function()
    local paths = {}
    for i = 1, 80 do paths[i] = "/t/redis_cases/sirv?i=" .. i end
    local _, statuses, bodies = r:parallel(paths, 40)
    local pids, n = {}, 0
    for i, body in ipairs(bodies) do
      assert.equal(200, statuses[i])
      local v = rig.json.decode(body)
      assert.is_true(v.ok, body)
      assert.equal("resty", v.transport)
      if not pids[v.pid] then pids[v.pid], n = true, n + 1 end
    end
    assert.is_true(n >= 2, "only one worker answered")
    assert.equal(1, sb:stats().token_requests)
    local c = sirv_mod.new{ base_url = sb.url, client_id = sb.client_id, client_secret = sb.client_secret,
      shared = { redis = { port = srv.port, timeout = 0.3 } } }
    assert(c:call("getAccountLimits"))
    assert.equal(1, sb:stats().token_requests)
  end)

  it("a stalled Redis costs a timeout, never a hung worker, and the token falls back", function()
    assert.is_true(get("/t/redis_cases/sirv").ok) -- a token in Redis and in each worker's fallback
    srv:pause()
    local ok, perr = pcall(function()
      local paths = {}
      for i = 1, 24 do paths[i] = (i % 2 == 0 and "/t/redis_cases/ping?i=" or "/t/redis_cases/sirv?i=") .. i end
      local _, statuses, bodies = r:parallel(paths, 24)
      assert.equal(24, #statuses)
      for i, body in ipairs(bodies) do
        assert.equal(200, statuses[i], body)
        local v = rig.json.decode(body)
        if i % 2 == 0 then
          assert.is_false(v.ok, body) -- Redis did not answer: a timeout or the open breaker
          assert.is_true(v.err.kind == "timeout" or (v.err.kind == "transient" and v.err.breaker == true), body)
        else
          assert.is_true(v.ok, body) -- the Sirv call went on with the fallback token
        end
      end
      -- nginx kept serving while Redis stalled
      assert.equal(200, (r:request{ path = "/t/rig_dispatch/ping" }))
    end)
    srv:resume()
    assert(ok, perr)
    core.sleep(0.6) -- the breakers' cool-down
    local back = false
    for _ = 1, 20 do
      if get("/t/redis_cases/ping").ok then back = true break end
      core.sleep(0.1)
    end
    assert.is_true(back)
  end)
end)
