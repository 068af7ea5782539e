-- Fault rules with a probability (emulator/lua/sandbox/faults.lua): a random
-- mix of faults on one path, as scripts/soak.sh sets them. Asserts counts
-- only (what fired, what passed), never a duration.
local sandbox = require "helpers.sandbox"

describe("sandbox fault rules with a probability", function()
  local sb

  setup(function() sb = sandbox.start{} end)
  teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:clear_faults() end)

  -- the status of n stat calls (fresh token, no retries: the curl CLI)
  local function statuses(n)
    local tok, out = sb:token(), {}
    for i = 1, n do
      out[i] = sb:request{ path = "/v2/files/stat", query = { filename = "/none.jpg" }, token = tok }.status
    end
    return out
  end

  local function count(list, v)
    local n = 0
    for _, x in ipairs(list) do if x == v then n = n + 1 end end
    return n
  end

  it("never fires at 0 and always fires at 1", function()
    sb:faults{
      { path = "/v2/files/stat", action = "status", status = 500, times = -1, probability = 0 },
      { path = "/v2/files/stat", action = "status", status = 503, times = -1, probability = 1 },
    }
    local st = statuses(20)
    assert.are.equal(20, count(st, 503))
    local list = select(2, sb:control("GET", "/_sandbox/faults")).rules
    assert.are.equal(0, list[1].fired)
    assert.are.equal(20, list[2].fired)
  end)

  it("spoils about the given share and lets a spared request reach the next rule", function()
    sb:faults{
      { path = "/v2/files/stat", action = "status", status = 503, times = -1, probability = 0.5 },
      { path = "/v2/files/stat", action = "status", status = 502, times = -1, probability = 0.5 },
    }
    local st = statuses(120)
    local n503, n502, n404 = count(st, 503), count(st, 502), count(st, 404)
    assert.are.equal(120, n503 + n502 + n404)   -- nothing else: a spared request is served
    -- expected 60 / 30 / 30; a binomial this far off has a chance below 1e-6
    assert.is_true(n503 >= 30 and n503 <= 90, "503: " .. n503)
    assert.is_true(n502 >= 8 and n502 <= 55, "502: " .. n502)
    assert.is_true(n404 >= 8 and n404 <= 55, "404: " .. n404)
    local list = select(2, sb:control("GET", "/_sandbox/faults")).rules
    assert.are.equal(n503, list[1].fired)
    assert.are.equal(n502, list[2].fired)
    assert.are.equal(n503, list[1].matched)               -- spared requests are not counted
  end)

  it("rejects a probability outside 0..1", function()
    for _, p in ipairs({ -0.1, 1.5, "half" }) do
      local status, body = sb:control("POST", "/_sandbox/faults",
        { rules = { { path = "/v2/*", action = "status", status = 503, probability = p } } })
      assert.are.equal(400, status)
      assert.matches("probability", body.message)
    end
  end)
end)
