-- mediacdn.shared.journal against a real redis-server: claims, completion,
-- leases that expire when a worker dies, renewal, and several workers splitting
-- one job so each item is done exactly once.
local redis_server = require "helpers.redis"
local core = require "mediacdn.core"
local mredis = require "mediacdn.redis"
local journal = require "mediacdn.shared.journal"
local loop = require "mediacdn.loop"

local describe_if = (redis_server.available() and core.redis) and describe or pending

describe_if("shared journal (Redis)", function()
  local srv

  setup(function() srv = redis_server.start() end)
  teardown(function() redis_server.stop_all() end)
  before_each(function() srv:cli("FLUSHALL") end)

  local function worker(extra)
    local o = { redis = mredis.new{ port = srv.port, timeout = 0.3 }, job = "job1", lease = 5 }
    for k, v in pairs(extra or {}) do o[k] = v end
    return journal.new(o)
  end

  it("claims, completes and remembers items across workers", function()
    local a, b = worker(), worker()
    assert.equal("yours", a:claim("/x.jpg"))
    assert.equal("busy", a:claim("/x.jpg")) -- a second task of the same worker
    assert.equal("busy", b:claim("/x.jpg"))
    assert.is_true(a:complete("/x.jpg"))
    assert.equal("done", b:claim("/x.jpg"))
    assert.equal("done", a:claim("/x.jpg"))
    assert.equal(1, a:count())
    assert.equal("0", (srv:cli("EXISTS", "mediacdn:{job:job1}:claim:/x.jpg")))
    -- another job is another journal
    assert.equal("yours", worker{ job = "job2" }:claim("/x.jpg"))
  end)

  it("gives an item back on release, and only its owner can", function()
    local a, b = worker(), worker()
    assert.equal("yours", a:claim("/y.jpg"))
    assert.is_true(b:release("/y.jpg"))      -- not b's: nothing happens
    assert.equal("busy", b:claim("/y.jpg"))
    assert.is_true(a:release("/y.jpg"))
    assert.equal("yours", b:claim("/y.jpg"))
  end)

  it("lets another worker take an item once the holder's lease expires (it died)", function()
    local dead = worker{ lease = 0.2 }
    local b = worker()
    assert.equal("yours", dead:claim("/z.jpg"))
    assert.equal("busy", b:claim("/z.jpg"))
    core.sleep(0.3)
    assert.equal("yours", b:claim("/z.jpg"))
    assert.is_false(dead:renew("/z.jpg")) -- its claim is gone
    assert.is_true(b:renew("/z.jpg"))
    assert.is_true(b:complete("/z.jpg"))
    assert.is_true(dead:complete("/z.jpg")) -- a late completion is harmless
    assert.equal(1, b:count())
  end)

  it("splits one job among workers: every item done exactly once", function()
    local items = {}
    for i = 1, 300 do items[i] = ("/job/%04d.jpg"):format(i) end
    local done_by = {}
    local fns = {}
    for _ = 1, 3 do
      local j = worker()
      for c = 1, 4 do -- 4 concurrent tasks per worker, all walking the same list
        fns[#fns + 1] = function()
          for i = 1, #items do
            if j:claim(items[i]) == "yours" then
              done_by[items[i]] = (done_by[items[i]] or 0) + 1
              if i % 7 == 0 then loop.sleep(0.001) end
              assert(j:complete(items[i]))
            end
          end
          return c
        end
      end
    end
    local _, errs = loop.gather(fns, { concurrency = #fns })
    for i = 1, #fns do assert.is_nil(errs[i]) end
    for i = 1, #items do assert.equal(1, done_by[items[i]], items[i]) end
    assert.equal(300, worker():count())
  end)

  it("lets bulk runs in several workers split one job, taking over a dead worker's items", function()
    local bulk = require "mediacdn.bulk"
    local items = {}
    for i = 1, 200 do items[i] = ("/bulk/%03d.jpg"):format(i) end
    -- a worker that died holding three items (its leases run out)
    local dead = worker{ lease = 0.3 }
    for i = 10, 12 do assert.equal("yours", dead:claim(items[i])) end
    local runs, worked = {}, {}
    local policy = core.policy{}
    local clock = { now = core.now, sleep = function(_, s) loop.sleep(s) end }
    local fns = {}
    for w = 1, 2 do
      fns[w] = function()
        local open, restartable = bulk.opener(items)
        runs[w] = bulk.run{
          open = open, restartable = restartable, concurrency = 4, policy = policy, clock = clock,
          journal = worker{ lease = 2 },
          work = function(item)
            worked[item.path] = (worked[item.path] or 0) + 1
            loop.sleep(0.001)
            return true
          end,
        }
        return runs[w]
      end
    end
    local _, errs = loop.gather(fns, { concurrency = 2 })
    assert.is_nil(errs[1])
    assert.is_nil(errs[2])
    for i = 1, #items do assert.equal(1, worked[items[i]], items[i]) end
    assert.equal(200, runs[1].done + runs[2].done)
    -- each run reports every item once: run here, or done by the other worker
    for w = 1, 2 do assert.equal(200, runs[w].done + runs[w].skipped) end
    assert.is_true(runs[1].done > 0 and runs[2].done > 0)
    assert.is_true(runs[1].complete and runs[2].complete)
    assert.equal(200, worker():count())
  end)

  it("pauses a bulk run while Redis stalls, says so, and goes on when it answers", function()
    local bulk = require "mediacdn.bulk"
    local items = {}
    for i = 1, 60 do items[i] = ("/pause/%02d.jpg"):format(i) end
    local events, worked, paused = {}, {}, false
    local clock = { now = core.now, sleep = function(_, s) loop.sleep(s) end }
    local j = journal.new{ redis = mredis.new{ port = srv.port, timeout = 0.1,
      breaker = { failures = 1, cooldown = 0.2 } }, job = "pause", lease = 5 }
    local summary
    loop.run(function()
      local open, restartable = bulk.opener(items)
      summary = bulk.run{
        open = open, restartable = restartable, concurrency = 2, policy = core.policy{}, clock = clock,
        journal = j, event = function(ev) events[#events + 1] = ev.action end,
        work = function(item)
          worked[item.path] = (worked[item.path] or 0) + 1
          if item.path == items[20] and not paused then
            paused = true
            srv:pause() -- Redis stops answering in the middle of the run
            loop.spawn(function() loop.sleep(1.5); srv:resume() end)
          end
          return true
        end,
      }
    end)
    srv:resume()
    assert.same({ "pause", "resume" }, { events[1], events[2] })
    assert.is_true(summary.complete)
    assert.equal(60, summary.done)
    for i = 1, #items do assert.equal(1, worked[items[i]], items[i]) end
    assert.equal(60, j:count())
  end)

  it("reports Redis failures instead of guessing", function()
    local a = worker()
    srv:kill()
    local ok, perr = pcall(function()
      local res, err = a:claim("/w.jpg")
      assert.is_nil(res)
      assert.is_true(err.kind == "transient" or err.kind == "timeout")
    end)
    srv:restart()
    assert(ok, perr)
  end)
end)
