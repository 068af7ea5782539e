-- The command line in a fleet: a profile's (or the environment's) Redis URL makes
-- separate `mediacdn` processes share one Sirv token through a real redis-server.
local sandbox = require "helpers.sandbox"
local cli = require "helpers.cli"
local redis_server = require "helpers.redis"

describe("mediacdn command line in a fleet", function()
  local sb, srv
  setup(function()
    sb = sandbox.start{}
    srv = redis_server.start()
  end)
  teardown(function()
    if srv then srv:stop() end
    sb:stop()
  end)

  it("shares one token across processes through MEDIACDN_REDIS_URL", function()
    local env = { MEDIACDN_REDIS_URL = srv.url, MEDIACDN_FLEET_SIZE = "3" }
    for i = 1, 3 do
      local r = cli.run(sb, { "sirv", "mkdir", "/fleet-" .. i }, { env = env })
      assert.equal(0, r.rc, r.err)
    end
    -- three processes, one token: the later two found it in Redis
    assert.equal(1, sb:stats().token_requests)
    local keys = srv:cli("--scan")
    assert.is_true(#keys > 0, "nothing was stored in Redis")
  end)

  it("refuses a fleet size that is not a whole number, sending nothing", function()
    local before = sb:stats().total
    local r = cli.run(sb, { "sirv", "mkdir", "/fleet-x" },
      { env = { MEDIACDN_REDIS_URL = srv.url, MEDIACDN_FLEET_SIZE = "two" } })
    assert.equal(2, r.rc)
    assert.matches("fleet_size must be a whole number", r.err)
    assert.equal(before, sb:stats().total)
  end)
end)
