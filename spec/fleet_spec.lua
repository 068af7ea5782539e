-- The fleet done-criteria (issue 17): 6 plain-Lua processes and one nginx with 4
-- workers share one Sirv account (the sandbox, with a small limit, a short
-- window and a short token lifetime) through one real redis-server.
--   1. every member tries to make more calls than the budget allows: the sandbox
--      answers no 429, each window that ran its course is used to >= 90 %, and
--      the fleet fetches one token per token lifetime;
--   2. Redis is killed in the middle and restarted: every process ends by itself
--      (no hang), none crashes, the 429s stay within the documented bound, and
--      sharing resumes;
--   3. apply_meta over 3,000 files by 3 processes (a shared journal), one
--      SIGKILLed half way: every file is tagged, each written once except the
--      few the killed one held (its concurrency: 4).
-- Workers: spec/fixtures/fleet/worker.lua (plain Lua, the VM running this spec)
-- and spec/fixtures/rig/fleet_cases.lua (nginx). Counts, not durations, are asserted.
local redis_server = require "helpers.redis"
local sandbox = require "helpers.sandbox"
local rig = require "helpers.rig"
local util = require "helpers.util"
local core = require "mediacdn.core"
local cjson = require "cjson"

local function resty_redis_installed()
  return io.open("/usr/share/lua/5.1/nginx/redis.lua") ~= nil
    or io.open("/usr/share/lua/5.1/resty/redis.lua") ~= nil
end

local describe_if = (redis_server.available() and core.redis and resty_redis_installed()) and describe or pending

local VM = rawget(_G, "jit") and "luajit" or "lua5.4"
local WINDOW, LIMIT, TOKEN_TTL = 4, 60, 8
local PROCS, NGINX_WORKERS, NGINX_REQUESTS, CONC = 6, 4, 4, 2
local FLEET = PROCS + NGINX_WORKERS

describe_if("fleet sharing through Redis (6 processes + nginx x4)", function()
  local srv, sb, r, dir
  local started = {}     -- every background pid, killed in teardown if a test failed before its own wait

  setup(function()
    dir = util.tmpdir("mediacdn-fleet")
    srv = redis_server.start()
    sb = sandbox.start{}
    r = rig.start{ workers = NGINX_WORKERS, env = {
      FLEET_REDIS_PORT = srv.port, FLEET_TOKEN_TTL = TOKEN_TTL, FLEET_FLEET_SIZE = FLEET,
      SIRV_BASE_URL = sb.url, SIRV_CLIENT_ID = sb.client_id, SIRV_CLIENT_SECRET = sb.client_secret,
    } }
  end)
  teardown(function()
    for _, pid in ipairs(started) do
      if util.alive(pid) then util.run("kill -KILL " .. pid) end
    end
    if r then r:stop() end
    if sb then sb:stop() end
    redis_server.stop_all()
    rig.stop_all()
    if dir then util.run("rm -rf " .. util.shell_quote(dir)) end
  end)

  local function fresh(limits)
    srv:cli("FLUSHALL")
    sb:reset()
    sb:reset_stats()
    sb:control("DELETE", "/_sandbox/limits")
    sb:limits{ limits = limits or {}, window_seconds = limits and WINDOW or 3600 }
  end

  -- start a worker process in the background; returns its pid and output file
  local function spawn(name, vars)
    local out = dir .. "/" .. name .. ".json"
    os.remove(out)
    local envs = {
      "SIRV_BASE_URL=" .. util.shell_quote(sb.url), "SIRV_CLIENT_ID=" .. util.shell_quote(sb.client_id),
      "SIRV_CLIENT_SECRET=" .. util.shell_quote(sb.client_secret), "FLEET_REDIS_PORT=" .. srv.port,
      "FLEET_OUT=" .. util.shell_quote(out), "FLEET_CONCURRENCY=" .. CONC,
    }
    for k, v in pairs(vars) do envs[#envs + 1] = k .. "=" .. util.shell_quote(v) end
    local cmd = ("cd %s && env %s %s spec/fixtures/fleet/worker.lua >%s 2>&1 </dev/null & echo $!")
      :format(util.shell_quote(util.root), table.concat(envs, " "), VM, util.shell_quote(out .. ".log"))
    local pid = tonumber((util.capture(cmd)):match("(%d+)%s*$"))
    assert(pid, "could not start " .. name)
    started[#started + 1] = pid
    return { pid = pid, out = out, name = name }
  end

  -- nginx members: NGINX_REQUESTS concurrent handler runs through curl, in the background
  local function spawn_nginx(seconds)
    local list = {}
    for i = 1, NGINX_REQUESTS do
      local out = dir .. "/nginx-" .. i .. ".json"
      os.remove(out)
      local pid = tonumber((util.capture(("curl -s -o %s --max-time 120 '%s/t/fleet_cases/run?seconds=%d&conc=%d' "
        .. ">/dev/null 2>&1 </dev/null & echo $!"):format(util.shell_quote(out), r.url, seconds, CONC))):match("(%d+)%s*$"))
      assert(pid, "could not start nginx-" .. i)
      started[#started + 1] = pid
      list[#list + 1] = { pid = pid, out = out, name = "nginx-" .. i }
    end
    return list
  end

  -- wait until every member ended (bounded); returns their decoded outputs
  local function wait_all(members, bound)
    local deadline = util.now() + bound
    for _, m in ipairs(members) do
      while util.alive(m.pid) and util.now() < deadline do util.sleep(0.1) end
      if util.alive(m.pid) then
        util.run("kill -KILL " .. m.pid)
        error(m.name .. " did not end by itself (a hang)", 2)
      end
    end
    local outs = {}
    for _, m in ipairs(members) do
      local text = util.read_file(m.out)
      assert(text and text ~= "", m.name .. " wrote no summary (crashed?): " .. tostring(util.read_file(m.out .. ".log")))
      outs[#outs + 1] = cjson.decode(text)
    end
    return outs
  end

  local function sum(outs, f)
    local n = 0
    for _, o in ipairs(outs) do n = n + (f(o) or 0) end
    return n
  end

  -- the rest:global windows that ran their whole course inside [t0, t1]
  local function full_windows(t0, t1)
    local _, w = sb:control("GET", "/_sandbox/windows")
    local out = {}
    for _, win in ipairs(w.closed or {}) do
      if win.bucket == "rest:global" and win.start >= t0 and win.start + WINDOW <= t1 then out[#out + 1] = win end
    end
    return out
  end

  local function start_fleet(seconds)
    local members = {}
    for i = 1, PROCS do
      members[#members + 1] = spawn("proc-" .. i, { FLEET_MODE = "calls", FLEET_SECONDS = seconds,
        FLEET_TOKEN_TTL = TOKEN_TTL, FLEET_FLEET_SIZE = FLEET })
    end
    for _, m in ipairs(spawn_nginx(seconds)) do members[#members + 1] = m end
    return members
  end

  it("paces the whole fleet inside the budget and fetches one token per lifetime", function()
    fresh{ ["rest:global"] = LIMIT }
    local seconds = 13
    local t0 = core.now()
    local outs = wait_all(start_fleet(seconds), seconds + 60)
    local t1 = t0 + seconds
    local stats = sb:stats()
    local windows = full_windows(t0, t1)
    local calls = sum(outs, function(o) return o.calls end)
    local fallbacks = sum(outs, function(o) return o.fallbacks or (o.seen and o.seen.fallbacks) end)
    print(("\n    fleet of %d: %d calls, %d served, %d x 429, %d token fetches, %d fallbacks, %d full windows:")
      :format(FLEET, calls, stats.requests["GET /v2/account"] or 0, stats.rate_limited_total, stats.token_requests,
        fallbacks, #windows))
    for _, w in ipairs(windows) do print(("      window at +%.1f s: %d of %d"):format(w.start - t0, w.count, w.limit)) end
    assert.equal(0, stats.rate_limited_total)
    assert.is_true(#windows >= 2, "fewer than 2 full windows")
    for _, w in ipairs(windows) do
      assert.is_true(w.count >= 0.9 * w.limit, ("a window used %d of %d"):format(w.count, w.limit))
    end
    -- every member wanted more than the budget gave: they were held back (paced or
    -- stopped until a reset) again and again
    assert.is_true(sum(outs, function(o) return o.held or (o.seen and o.seen.held) end) > FLEET)
    -- an 8 s token is usable 6 s and refreshed when a quarter of that is left (4.5 s)
    -- a member whose Redis call timed out (a loaded machine) falls back to its own
    -- fetch by design (the failure policy): at most one extra fetch per such member
    local lifetimes = math.ceil((core.now() - t0) / 4.5) + 1
    local fell_back = sum(outs, function(o)
      local n = o.fallbacks or (o.seen and o.seen.fallbacks) or 0
      return n > 0 and 1 or 0
    end)
    assert.is_true(stats.token_requests <= lifetimes + fell_back,
      ("%d token fetches for at most %d lifetimes (+%d members that fell back)")
        :format(stats.token_requests, lifetimes, fell_back))
  end)

  it("survives Redis killed and restarted mid-run, and shares again", function()
    fresh{ ["rest:global"] = LIMIT }
    local seconds = 15
    local t0 = core.now()
    local members = start_fleet(seconds)
    -- down for longer than a window and its slack, so every member meets the outage
    util.sleep(3)
    srv:kill()
    util.sleep(6)
    srv:restart()
    local outs = wait_all(members, seconds + 60)
    local stats = sb:stats()
    local fallbacks = sum(outs, function(o) return o.fallbacks or (o.seen and o.seen.fallbacks) end)
    local slowest = 0
    for _, o in ipairs(outs) do if (o.max_redis_ms or 0) > slowest then slowest = o.max_redis_ms end end
    print(("\n    Redis down 6 s of %d: %d x 429 (bound %d), %d served, %d token fetches, %d fallbacks reported by the plain-Lua members")
      :format(seconds, stats.rate_limited_total, FLEET * CONC, stats.requests["GET /v2/account"] or 0,
        stats.token_requests, fallbacks))
    print(("      the longest Redis call of a plain-Lua member: %.1f ms (timeout 50 ms)"):format(slowest))
    -- documented bound: each member can meet at most one 429 per in-flight request
    -- before it stops itself until the reset (its local share, Sirv's headers in charge)
    assert.is_true(stats.rate_limited_total <= FLEET * CONC)
    for _, o in ipairs(outs) do assert.is_true((o.ok or 0) > 0) end
    assert.is_true(fallbacks >= 1)
    -- sharing resumed: the fleet wrote its budget and token into the new Redis
    local keys = srv:cli("--scan", "--pattern", "mediacdn:*")
    assert.matches(":budget:rest:global", keys, 1, true)
    assert.matches(":token", keys, 1, true)
    print(("      %.1f s in all"):format(core.now() - t0))
  end)

  it("applies meta over 3,000 files with 3 processes, one killed half way: every file once", function()
    fresh(nil)
    sb:seed(3000, "/fleet")
    local job = "tag-" .. require("mediacdn.redis").random_id()
    local members = {}
    for i = 1, 3 do
      members[i] = spawn("meta-" .. i, { FLEET_MODE = "meta", FLEET_DIR = "/fleet", FLEET_JOB = job,
        FLEET_LEASE = 3, FLEET_TAG = "fleet", FLEET_CONCURRENCY = 4 })
    end
    -- SIGKILL the first one once half of the files are tagged
    local killed = false
    for _ = 1, 1200 do
      local n = (sb:stats().requests["POST /v2/files/meta/tags"] or 0)
      if n >= 1500 then
        util.run("kill -KILL " .. members[1].pid)
        killed = true
        break
      end
      util.sleep(0.05)
    end
    assert.is_true(killed, "the run never got half way")
    local outs = wait_all({ members[2], members[3] }, 120)
    local _, writes = sb:control("GET", "/_sandbox/writes")
    local tagged = writes["POST /v2/files/meta/tags"] or {}
    local files, twice, most = 0, 0, 0
    for _, n in pairs(tagged) do
      files = files + 1
      if n > 1 then twice = twice + 1 end
      if n > most then most = n end
    end
    print(("\n    3,000 files: %d tagged, %d written twice (the killed process held up to 4), done %d + %d by the survivors")
      :format(files, twice, outs[1].done or -1, outs[2].done or -1))
    assert.equal(3000, files)
    assert.is_true(twice <= 4, twice .. " files were written twice")
    assert.is_true(most <= 2)
    for _, o in ipairs(outs) do assert.is_true(o.complete, cjson.encode(o)) end
  end)
end)
