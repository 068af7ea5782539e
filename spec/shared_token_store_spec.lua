-- mediacdn.shared.token_store against a real redis-server (the store contract,
-- compare-and-delete, the refresh lock, refresh-ahead election, fallback and
-- resume), then Sirv clients sharing one token through it against the sandbox
-- (one fetch for many clients, a 401, a Redis outage). Each client has its own
-- store object and lock owner, as separate processes would.
local redis_server = require "helpers.redis"
local sandbox = require "helpers.sandbox"
local core = require "mediacdn.core"
local mredis = require "mediacdn.redis"
local token_store = require "mediacdn.shared.token_store"
local sirv_mod = require "mediacdn.sirv"
local loop = require "mediacdn.loop"

local describe_if = (redis_server.available() and core.redis) and describe or pending

describe_if("shared token store (Redis)", function()
  local srv, sb

  setup(function()
    srv = redis_server.start()
    sb = sandbox.start{}
  end)
  teardown(function()
    if sb then sb:stop() end
    redis_server.stop_all()
  end)
  before_each(function()
    srv:cli("FLUSHALL")
    sb:clear_faults()
    sb:reset_stats()
  end)

  local function rclient(extra)
    local o = { port = srv.port, timeout = 0.3, breaker = { failures = 1, cooldown = 0.2 } }
    for k, v in pairs(extra or {}) do o[k] = v end
    return mredis.new(o)
  end

  local function store(extra)
    local o = { redis = rclient(), cache = 0 }
    for k, v in pairs(extra or {}) do o[k] = v end
    return token_store.new(o)
  end

  describe("contract", function()
    it("stores a token with its expiry and a Redis TTL, and forgets past ones", function()
      local a, b = store(), store()
      local now = core.now()
      assert.is_nil(a:get("acct"))
      a:set("acct", "tok|with|bars", now + 100)
      local tok, exp = b:get("acct")
      assert.equal("tok|with|bars", tok)
      assert.is_true(math.abs(exp - (now + 100)) < 0.01)
      local pttl = tonumber((srv:cli("PTTL", "mediacdn:{acct}:token")))
      assert.is_true(pttl > 90000 and pttl <= 100000)
      a:set("acct", "old", now - 1)
      assert.is_nil(b:get("acct"))
      assert.equal("0", srv:cli("EXISTS", "mediacdn:{acct}:token"))
    end)

    it("deletes after a 401 only the token that failed", function()
      local a, b = store(), store()
      a:set("acct", "token-A", core.now() + 100)
      b:set("acct", "token-B", core.now() + 100)  -- another process refreshed meanwhile
      a:delete("acct", "token-A")                  -- a late 401 on A
      assert.equal("token-B", b:get("acct"))
      a:delete("acct", "token-B")
      assert.is_nil(b:get("acct"))
      b:set("acct", "token-C", core.now() + 100)
      a:delete("acct")                             -- no token: unconditional
      assert.is_nil(b:get("acct"))
    end)

    it("gives the refresh lock to one caller; the others wait, time out, or hear it was released", function()
      local a, b = store(), store()
      local order = {}
      -- a lock belongs to the caller (coroutine) that took it: lock and unlock in one task
      loop.run(function()
        assert.is_true(a:lock("acct", 1))
        local r1, r2 = b:lock("acct", 0.1)
        assert.is_nil(r1)
        assert.equal("timeout", r2)
        b:unlock("acct") -- not the owner: leaves a's lock alone
        assert.is_not.equal("0", (srv:cli("EXISTS", "mediacdn:{acct}:lock")))
        local waiter = loop.spawn(function()
          local got = b:lock("acct", 2)
          order[#order + 1] = "waiter:" .. tostring(got)
        end)
        loop.sleep(0.1)
        order[#order + 1] = "unlock"
        a:unlock("acct")
        waiter:wait()
      end)
      assert.same({ "unlock", "waiter:false" }, order)
      assert.equal("0", srv:cli("EXISTS", "mediacdn:{acct}:lock"))
    end)

    it("an abandoned lock frees itself after lock_ttl", function()
      local a = store{ lock_ttl = 0.2 }
      local b = store()
      assert.is_true(a:lock("acct", 1))
      assert.is_false(b:lock("acct", 3))
      assert.is_true(b:lock("acct", 1))
      b:unlock("acct")
    end)

    it("elects exactly one refresher ahead of expiry; the others keep the valid token", function()
      local stores = {}
      for i = 1, 5 do stores[i] = store{ refresh_ahead = 0.9 } end
      local now = core.now()
      stores[1]:set("acct", "tok-1", now + 1) -- the refresh point is now + 0.1 s
      local fresh_before = select(2, stores[2]:get("acct"))
      assert.is_true(fresh_before > core.now())
      core.sleep(0.15)
      local stale, fresh = 0, 0
      for i = 1, 5 do
        local tok, exp = stores[i]:get("acct")
        assert.equal("tok-1", tok)
        if exp < core.now() then stale = stale + 1 else fresh = fresh + 1 end
      end
      assert.equal(1, stale)
      assert.equal(4, fresh)
      -- the elected caller holds the lock already; nobody else gets it
      local elected
      for i = 1, 5 do if stores[i]:lock("acct", 0.05) == true then elected = elected or i end end
      assert.is_number(elected)
      stores[elected]:set("acct", "tok-2", core.now() + 100)
      stores[elected]:unlock("acct")
      for i = 1, 5 do
        local tok, exp = stores[i]:get("acct")
        assert.equal("tok-2", tok)
        assert.is_true(exp > core.now())
      end
    end)

    it("falls back to the per-process store (with the last token read) and resumes", function()
      local events = {}
      local a = store{ on_event = function(ev) events[#events + 1] = ev.action end }
      a:set("acct", "shared-tok", core.now() + 100)
      assert.equal("shared-tok", a:get("acct"))
      srv:kill()
      local ok, perr = pcall(function()
        -- the fleet's token is still known locally: no new fetch needed
        assert.equal("shared-tok", a:get("acct"))
        assert.is_true(a:lock("acct", 1))
        a:set("acct", "local-tok", core.now() + 100)
        a:unlock("acct")
        assert.equal("local-tok", a:get("acct"))
        assert.same({ "fallback" }, events)
      end)
      srv:restart()
      assert(ok, perr)
      core.sleep(0.3) -- breaker cool-down
      assert.is_nil(a:get("acct")) -- Redis came back empty
      assert.same({ "fallback", "resume" }, events)
    end)
  end)

  describe("Sirv clients sharing the token", function()
    local function client(events, extra)
      local o = {
        base_url = sb.url, client_id = sb.client_id, client_secret = sb.client_secret,
        retry = { attempts = 5, base = 0.05, cap = 0.2 },
        shared = { redis = { port = srv.port, timeout = 0.3, breaker = { failures = 1, cooldown = 0.3 } } },
        on_event = function(ev) if events then events[#events + 1] = ev end end,
      }
      for k, v in pairs(extra or {}) do o[k] = v end
      return sirv_mod.new(o)
    end

    local function count(events, pred)
      local n = 0
      for _, ev in ipairs(events) do if pred(ev) then n = n + 1 end end
      return n
    end

    it("six clients calling at once fetch one token", function()
      local events, clients = {}, {}
      for i = 1, 6 do clients[i] = client(events) end
      local fns = {}
      for i = 1, 6 do
        for _ = 1, 4 do
          fns[#fns + 1] = function() return clients[i]:call("getAccountLimits") end
        end
      end
      local results, errs = loop.gather(fns, { concurrency = 24 })
      for i = 1, #fns do
        assert.is_nil(errs[i])
        assert.is_table(results[i])
      end
      assert.equal(1, sb:stats().token_requests)
      assert.equal(1, count(events, function(ev) return ev.type == "token" and ev.action == "fetch" end))
    end)

    it("refreshes a short-lived token ahead of expiry, once per lifetime for all clients", function()
      local events, clients = {}, {}
      for i = 1, 4 do clients[i] = client(events, { token_ttl = 6 }) end
      local t0 = core.now()
      local calls = 0
      loop.gather({
        function() for _ = 1, 60 do calls = calls + 1; assert(clients[1]:call("getAccountLimits")); loop.sleep(0.1) end end,
        function() for _ = 1, 60 do calls = calls + 1; assert(clients[2]:call("getAccountLimits")); loop.sleep(0.1) end end,
        function() for _ = 1, 60 do calls = calls + 1; assert(clients[3]:call("getAccountLimits")); loop.sleep(0.1) end end,
        function() for _ = 1, 60 do calls = calls + 1; assert(clients[4]:call("getAccountLimits")); loop.sleep(0.1) end end,
      }, { concurrency = 4 })
      local elapsed = core.now() - t0
      local fetches = sb:stats().token_requests
      -- a 6 s token is usable 4.5 s and refreshed when a quarter of that is left
      -- (~3.4 s): the fleet fetches once per refresh interval, never once per client
      local bound = math.ceil(elapsed / 3.3) + 1
      assert.is_true(fetches >= 2, "the token was never refreshed")
      assert.is_true(fetches <= bound, ("%d fetches in %.1f s (bound %d)"):format(fetches, elapsed, bound))
      assert.equal(240, calls)
      -- every call was served: nobody failed while the token was refreshed
      assert.equal(0, count(events, function(ev) return ev.type == "retry" end))
    end)

    it("after a 401, one client drops the token and one new token serves everyone", function()
      local events = {}
      -- the Redis options as a URL (as a CLI profile or an env variable holds them)
      local a = client(events, { shared = { redis = "redis://127.0.0.1:" .. srv.port .. "/0" } })
      local b = client(events)
      assert(a:call("getAccountLimits"))
      assert(b:call("getAccountLimits"))
      assert.equal(1, sb:stats().token_requests)
      sb:faults{ { path = "/v2/account", action = "expired_token", times = 1 } }
      assert(a:call("getAccount"))
      assert(b:call("getAccount"))
      assert(a:call("getAccountLimits"))
      assert.equal(2, sb:stats().token_requests)
    end)

    it("keeps working while Redis is down, then shares again", function()
      local events = {}
      -- no per-process cache: every call reads the token from Redis (or falls back)
      local shared = { redis = { port = srv.port, timeout = 0.3, breaker = { failures = 1, cooldown = 0.3 } },
        token = { cache = 0 } }
      local a, b = client(events, { shared = shared }), client(events, { shared = shared })
      assert(a:call("getAccountLimits"))
      assert(b:call("getAccountLimits"))
      srv:kill()
      local ok, perr = pcall(function()
        for _ = 1, 5 do
          assert(a:call("getAccountLimits"))
          assert(b:call("getAccountLimits"))
        end
        -- both kept the fleet's token: an outage costs no fetch here
        assert.equal(1, sb:stats().token_requests)
        assert.is_true(count(events, function(ev) return ev.type == "redis" and ev.action == "down" end) >= 1)
        assert.is_true(count(events, function(ev) return ev.type == "shared" and ev.action == "fallback" end) >= 1)
      end)
      srv:restart()
      assert(ok, perr)
      core.sleep(0.4)
      -- Redis came back empty: the fleet fetches one token and shares it again
      assert(a:call("getAccountLimits"))
      assert(b:call("getAccountLimits"))
      assert.equal(2, sb:stats().token_requests)
      sb:faults{ { path = "/v2/account", action = "expired_token", times = 1 } }
      assert(a:call("getAccount"))
      assert(b:call("getAccount"))
      assert.equal(3, sb:stats().token_requests)
      assert.is_true(count(events, function(ev) return ev.type == "shared" and ev.action == "resume" end) >= 1)
      assert.is_not.equal("0", srv:cli("DBSIZE"))
    end)
  end)
end)
