-- The Redis clients against a real redis-server: the binding's mediacdn.Redis
-- userdata, the pooled hiredis connection, the mediacdn.redis facade (EVALSHA
-- with NOSCRIPT fallback, errors, AUTH/SELECT) and the failure policy (timeouts,
-- the circuit breaker, a killed and restarted server, a stalled server inside
-- mediacdn.loop). Runs under Lua 5.4 and LuaJIT.
local redis_server = require "helpers.redis"
local core = require "mediacdn.core"
local mredis = require "mediacdn.redis"
local loop = require "mediacdn.loop"

local describe_if = (redis_server.available() and core.redis) and describe or pending

describe_if("Redis clients", function()
  local srv

  setup(function() srv = redis_server.start() end)
  teardown(function() redis_server.stop_all() end)
  before_each(function() srv:cli("FLUSHALL") end)

  local function client(extra)
    local o = { port = srv.port, timeout = 0.5, breaker = { failures = 2, cooldown = 0.2 } }
    for k, v in pairs(extra or {}) do o[k] = v end
    return mredis.new(o)
  end

  describe("mediacdn.Redis (binding)", function()
    it("pipelines commands and converts every reply type", function()
      local r = core.redis()
      assert.is_true(r:connect("127.0.0.1", srv.port))
      r:send("SET", "a", 12)
      r:send("GET", "a")
      r:send("GET", "missing")
      r:send("EVAL", "return {1, 'x', {2}}", 0)
      r:send("NOSUCHCOMMAND")
      assert.equal(5, r:pending())
      local replies = {}
      while #replies < 5 do
        local n = assert(r:step(200))
        for _ = 1, n do replies[#replies + 1] = { r:reply() } end
      end
      assert.same({ "OK" }, replies[1])
      assert.same({ "12" }, replies[2])
      assert.equal(core.null, replies[3][1])
      assert.same({ 1, "x", { 2 } }, replies[4][1])
      assert.is_nil(replies[5][1])
      assert.matches("^ERR unknown command", replies[5][2])
      assert.equal("redis", replies[5][3])
      assert.equal(0, r:pending())
      assert.equal("ready", r:state())
      r:close()
      r:close() -- idempotent
      assert.matches("closed", tostring(r))
      assert.has_error(function() r:send("PING") end)
    end)

    it("reports a refused connection and a server that hung up", function()
      local r = core.redis()
      local dead = require("helpers.util").free_ports(1)[1]
      local ok = r:connect("127.0.0.1", dead)
      if ok then -- the refusal arrives with the first poll
        local n, err = r:step(500)
        assert.is_nil(n)
        assert.matches("connect", err)
      end
      assert.equal("closed", r:state())
      assert.is_true(r:connect("127.0.0.1", srv.port))
      r:send("PING")
      while r:step(200) == 0 do end
      assert.equal("PONG", r:reply())
      assert.is_true(r:alive())
      srv:cli("CLIENT", "KILL", "TYPE", "normal")
      local gone = false
      for _ = 1, 100 do
        if not r:alive() then gone = true break end
        core.sleep(0.01)
      end
      assert.is_true(gone)
      assert.equal("closed", r:state())
      r:close()
    end)

    it("hashes scripts as Redis does", function()
      assert.equal(srv:cli("SCRIPT", "LOAD", "return 1"), core.sha1_hex("return 1"))
    end)
  end)

  describe("mediacdn.redis", function()
    it("runs commands and turns error replies into protocol errors", function()
      local c = client()
      assert.equal("OK", c:call("SET", c:key("x"), "1"))
      assert.equal(2, c:call("INCR", c:key("x")))
      assert.equal(mredis.null, c:call("GET", c:key("none")))
      local res, err = c:call("INCR", c:key("none"), "extra")
      assert.is_nil(res)
      assert.equal("protocol", err.kind)
      assert.equal("ERR", err.redis_error)
      assert.equal("redis", err.service)
      assert.equal("2", srv:cli("GET", "mediacdn:x"))
      c:close()
    end)

    it("runs scripts by EVALSHA and reloads them after SCRIPT FLUSH", function()
      local c = client()
      local s = mredis.script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
      assert.equal(5, c:eval(s, { c:key("n") }, { 5 }))
      assert.equal("1", srv:cli("SCRIPT", "EXISTS", s.sha))
      srv:cli("SCRIPT", "FLUSH")
      assert.equal("0", srv:cli("SCRIPT", "EXISTS", s.sha))
      assert.equal(7, c:eval(s, { c:key("n") }, { 2 }))
      assert.equal("1", srv:cli("SCRIPT", "EXISTS", s.sha))
      -- the second call after the flush goes by sha again
      srv:cli("CONFIG", "RESETSTAT")
      assert.equal(8, c:eval(s, { c:key("n") }, { 1 }))
      local stats = srv:cli("INFO", "commandstats")
      assert.matches("cmdstat_evalsha:calls=1", stats, 1, true)
      assert.is_nil(stats:find("cmdstat_eval:", 1, true))
    end)

    it("authenticates, selects the db, and never shows the password", function()
      srv:cli("CONFIG", "SET", "requirepass", "s3cret-pw")
      local ok, perr = pcall(function()
        local c = mredis.new{ port = srv.port, password = "s3cret-pw", db = 3, timeout = 0.5 }
        assert.equal("OK", c:call("SET", "in3", "yes"))
        local bad = mredis.new{ port = srv.port, password = "wrong-pw-x", timeout = 0.5 }
        local res, err = bad:call("GET", "in3")
        assert.is_nil(res)
        assert.is_nil(tostring(err):find("wrong-pw-x", 1, true))
        assert.matches("AUTH", tostring(err))
        c:close(); bad:close()
      end)
      srv:cli("-a", "s3cret-pw", "CONFIG", "SET", "requirepass", "")
      assert(ok, perr)
      assert.equal("yes", srv:cli("-n", "3", "GET", "in3"))
    end)

    it("keeps concurrent loop tasks on separate connections", function()
      local c = client()
      local fns = {}
      for i = 1, 40 do
        fns[i] = function()
          assert(c:call("SET", c:key("k", i), "v" .. i))
          return c:call("GET", c:key("k", i))
        end
      end
      local results, errs = loop.gather(fns, { concurrency = 40 })
      for i = 1, 40 do
        assert.is_nil(errs[i])
        assert.equal("v" .. i, results[i])
      end
      c:close()
    end)

    it("times out on a stalled server, lets other loop tasks run meanwhile, then opens the breaker", function()
      local events = {}
      local c = client{ timeout = 0.3, on_event = function(ev) events[#events + 1] = ev.action end }
      assert(c:call("PING"))
      srv:pause()
      local ok, perr = pcall(function()
        local ticks, errs_seen = 0, {}
        loop.run(function()
          local ticker = loop.spawn(function()
            for _ = 1, 1000 do
              ticks = ticks + 1
              loop.sleep(0.005)
              if #errs_seen >= 3 then return end
            end
          end)
          for _ = 1, 3 do
            local ticks_before = ticks
            local res, err = c:call("PING")
            assert.is_nil(res)
            errs_seen[#errs_seen + 1] = err
            if #errs_seen <= 2 then
              -- the stalled call yielded: the ticker ran while it waited
              assert.is_true(ticks > ticks_before)
            end
          end
          ticker:wait()
        end)
        assert.equal("timeout", errs_seen[1].kind)
        assert.equal("timeout", errs_seen[2].kind)
        -- two failures opened the breaker: the third call did not wait for Redis
        assert.equal("transient", errs_seen[3].kind)
        assert.is_true(errs_seen[3].breaker)
        assert.same({ "down" }, events)
      end)
      srv:resume()
      assert(ok, perr)
      core.sleep(0.3) -- the cool-down (0.2 s +- 20 %)
      assert.equal("PONG", c:call("PING"))
      assert.same({ "down", "up" }, events)
      c:close()
    end)

    it("survives a killed and restarted server (no hang, fresh connections)", function()
      local c = client{ timeout = 0.2 }
      assert(c:call("SET", c:key("before"), "1"))
      srv:kill()
      local res, err = c:call("GET", c:key("before"))
      assert.is_nil(res)
      assert.is_true(err.kind == "transient" or err.kind == "timeout")
      srv:restart()
      local back
      for _ = 1, 50 do
        back = c:call("PING")
        if back then break end
        core.sleep(0.05)
      end
      assert.equal("PONG", back)
      -- the restart lost the key (no persistence) and the script cache: scripts still run
      assert.equal(mredis.null, c:call("GET", c:key("before")))
      assert.equal(1, c:eval(mredis.script("return 1"), {}, {}))
      c:close()
    end)

    it("reads connection options from a URL", function()
      assert.same({ host = "10.0.0.5", port = 6379, password = "p:w", db = 2 },
        mredis.parse_url("redis://:p:w@10.0.0.5:6379/2"))
      assert.same({ host = "localhost" }, mredis.parse_url("redis://localhost"))
      assert.same({ path = "/run/r.sock", db = 1 }, mredis.parse_url("unix:///run/r.sock?db=1"))
      assert.is_nil(mredis.parse_url("http://x"))
      assert.is_nil(mredis.parse_url("redis://h:99999"))
      local opts = mredis.parse_url("redis://127.0.0.1:" .. srv.port .. "/4")
      opts.timeout = 0.5
      local c = mredis.new(opts)
      assert.equal("OK", c:call("SET", "via-url", "1"))
      assert.equal("1", srv:cli("-n", "4", "GET", "via-url"))
    end)

    it("rejects bad options with the argument's name", function()
      assert.has_error(function() mredis.new{ timeout = 0 } end,
        "mediacdn.redis.new: timeout must be a positive number")
      assert.has_error(function() mredis.new{ port = "x" } end, "mediacdn.redis.new: port must be a number")
      assert.has_error(function() client():eval("return 1") end)
    end)
  end)
end)
