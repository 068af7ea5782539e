-- mediacdn.shared.budget_store against a real redis-server: probes for unknown
-- windows, pacing inside a window, atomic bookings from many stores at once,
-- a 429 stopping every store, a new window from Sirv's headers, and the local
-- share while Redis is down. Several store objects stand for several processes.
local redis_server = require "helpers.redis"
local core = require "mediacdn.core"
local mredis = require "mediacdn.redis"
local budget_store = require "mediacdn.shared.budget_store"
local loop = require "mediacdn.loop"

local describe_if = (redis_server.available() and core.redis) and describe or pending

describe_if("shared budget store (Redis)", function()
  local srv

  setup(function() srv = redis_server.start() end)
  teardown(function() redis_server.stop_all() end)
  before_each(function() srv:cli("FLUSHALL") end)

  local function store(extra)
    local o = { redis = mredis.new{ port = srv.port, timeout = 0.3, breaker = { failures = 1, cooldown = 0.2 } },
      account = "acct" }
    for k, v in pairs(extra or {}) do o[k] = v end
    return budget_store.new(o)
  end

  local G = "rest:global"
  local function rate(limit, remaining, reset, t)
    return { type = t or G, limit = limit, remaining = remaining, reset = reset,
      global = t and t ~= G and { type = G, limit = 1000, remaining = 1000, reset = reset } or nil }
  end

  it("lets one probe learn an unknown window while the others wait for it", function()
    local a, b = store(), store()
    assert.same({ 0, "go", "" }, { a:reserve(G) })
    local wait, status, blocked = b:reserve(G)
    assert.is_true(wait > 0)
    assert.equal("probe", status)
    assert.equal("", blocked)
    assert.is_nil(b:snapshot(G).used) -- nothing booked while waiting for the probe
    a:observe(rate(100, 99, math.floor(core.now()) + 60), 200, G)
    assert.equal(0, (b:reserve(G)))
    assert.equal(2, b:snapshot(G).used)
  end)

  it("books atomically: many stores at once never book more than the limit allows", function()
    local stores = {}
    for i = 1, 4 do stores[i] = store{ burst = 1 } end
    stores[1]:observe(rate(50, 50, math.floor(core.now()) + 3600), 200, G)
    local booked, blocked = 0, 0
    local fns = {}
    for i = 1, 4 do
      fns[i] = function()
        for _ = 1, 25 do
          local wait, status = stores[i]:reserve(G)
          if status == "blocked" then blocked = blocked + 1 else booked = booked + 1; assert.equal(0, wait) end
        end
      end
    end
    loop.gather(fns, { concurrency = 4 })
    assert.equal(49, booked) -- 50 less the 1 % safety
    assert.equal(51, blocked)
    assert.equal(49, stores[2]:snapshot(G).used)
  end)

  it("paces what is left evenly over what is left of the window", function()
    local a = store{ burst = 0.05 }
    local reset = math.floor(core.now()) + 20
    a:observe(rate(40, 40, reset), 200, G)
    local waits = {}
    for i = 1, 10 do
      local w, status = a:reserve(G)
      assert.equal(i <= 3 and "go" or "paced", status)
      waits[i] = w
    end
    assert.equal(0, waits[1])
    assert.equal(0, waits[3]) -- the burst allowance: 5 % of 40 = 2 more
    for i = 4, 10 do assert.is_true(waits[i] > waits[i - 1]) end
    -- about (20 s left) / (39 left) apart
    local step = (waits[10] - waits[4]) / 6
    assert.is_true(step > 0.3 and step < 0.8, tostring(step))
  end)

  it("blocks the whole fleet on a 429 until the reset, and a later reset opens a new window", function()
    local a, b = store(), store()
    local reset = math.floor(core.now()) + 30
    a:observe(rate(100, 50, reset, "rest:post:files:search"), 200, "rest:post:files:search")
    a:observe(rate(100, 0, reset, "rest:post:files:search"), 429, "rest:post:files:search")
    local wait, status, btype, reset_at = b:reserve("rest:post:files:search")
    assert.equal("blocked", status)
    assert.equal("rest:post:files:search", btype)
    assert.is_true(wait > 25)
    assert.equal(reset + 1, reset_at) -- the reset plus a second: Sirv rounds down
    -- another bucket (and the global one) is untouched
    assert.equal("go", select(2, b:reserve("rest:post:files:delete")))
    a:observe(rate(100, 99, reset + 3600, "rest:post:files:search"), 200, "rest:post:files:search")
    assert.equal("go", select(2, b:reserve("rest:post:files:search")))
    assert.equal(2, b:snapshot("rest:post:files:search").used)
  end)

  it("takes Sirv's count when it is higher (other users of the account, lost reservations)", function()
    local a = store()
    local reset = math.floor(core.now()) + 60
    a:observe(rate(100, 100, reset), 200, G)
    a:reserve(G)
    a:observe(rate(100, 70, reset), 200, G)
    assert.equal(30, a:snapshot(G).used)
    a:observe(rate(100, 90, reset), 200, G) -- a late answer: the count never goes down
    assert.equal(30, a:snapshot(G).used)
  end)

  it("marks a bucket Sirv does not send as absent (no probes for it)", function()
    local a, b = store(), store()
    local reset = math.floor(core.now()) + 60
    assert.equal(0, (a:reserve("rest:guessed")))
    a:observe(rate(100, 99, reset), 200, "rest:guessed")
    for _ = 1, 3 do assert.equal(0, (b:reserve("rest:guessed"))) end
    assert.equal(-1, b:snapshot("rest:guessed").limit)
  end)

  it("is seeded from getAccountLimits through the shared policy", function()
    local a = store()
    local p = require("mediacdn.shared.policy").wrap(core.policy{}, a,
      { clock = { now = core.now, sleep = function(_, s) core.sleep(s) end } })
    local reset = math.floor(core.now()) + 600
    p:seed{ ["rest:global"] = { count = 40, limit = 100, remaining = 60, reset = reset },
      ["rest:post:files:search"] = { count = 1, limit = 10, remaining = 9, reset = reset },
      ["s3:global"] = { count = 0, limit = 5, remaining = 5, reset = reset } }
    assert.equal(40, a:snapshot(G).used)
    assert.equal(1, a:snapshot("rest:post:files:search").used)
    assert.is_nil(a:snapshot("s3:global").limit)
    assert.equal(60, p:budget(G).remaining) -- the C policy's view too
    assert.equal("send", (p:admit(G, core.now())))
    assert.equal(41, a:snapshot(G).used)
  end)

  it("falls back to a local share of the limit while Redis is down, and resumes", function()
    local events = {}
    local a = store{ fleet_size = 4, burst = 1, on_event = function(ev) events[#events + 1] = ev.action end }
    a:observe(rate(41, 41, math.floor(core.now()) + 3600), 200, G)
    srv:kill()
    local ok, perr = pcall(function()
      local booked = 0
      for _ = 1, 40 do
        local _, status = a:reserve(G)
        if status ~= "blocked" then booked = booked + 1 end
      end
      assert.equal(10, booked) -- (41 - 1 safety) / 4 processes
      assert.same({ "fallback" }, events)
      -- Sirv's headers still rule the local mirror: a 429 blocks this process
      a:observe(rate(41, 0, math.floor(core.now()) + 3600), 429, G)
      assert.equal(G, select(3, a:reserve(G)))
    end)
    srv:restart()
    assert(ok, perr)
    core.sleep(0.3)
    assert.equal(0, (a:reserve(G))) -- Redis came back empty: a probe
    assert.same({ "fallback", "resume" }, events)
  end)
end)
