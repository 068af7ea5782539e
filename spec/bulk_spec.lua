-- mediacdn.bulk on its own (no service): sources, reports in order, the journal,
-- and rate limits decided by the policy core (stop with reset_at, or wait for
-- the reset), with the fake transport as a virtual clock.
local bulk = require "mediacdn.bulk"
local core = require "mediacdn.core"
local errors = require "mediacdn.errors"
local fake_mod = require "mediacdn.transport.fake"
local util = require "helpers.util"

local function limited(reset_at)
  return errors.new{ kind = "rate_limited", service = "x", reset_at = reset_at, ratelimit_type = "q" }
end

-- A run over `source` with a virtual clock and a policy; extra fields override.
local function run(source, work, extra)
  local clock = fake_mod.new()
  local open, restartable = bulk.opener(source)
  local r = { open = open, restartable = restartable, work = work, policy = core.policy{},
    clock = clock, concurrency = 1, service = "x" }
  for k, v in pairs(extra or {}) do r[k] = v end
  return bulk.run(r), clock
end

describe("mediacdn.bulk", function()
  it("runs work over a list, a pull function and an iterator, reports in source order", function()
    local seen = {}
    local sum = run({ "a", { path = "b" }, "c" }, function(item)
      seen[#seen + 1] = item.path
      if item.path == "b" then return nil, errors.new{ kind = "client", message = "no" } end
      return item.path:upper()
    end)
    assert.are.same({ "a", "b", "c" }, seen)
    assert.are.equal(2, sum.done)
    assert.are.equal(1, sum.failed)
    assert.is_true(sum.complete)
    assert.are.equal("A", sum.files[1].result)
    assert.are.equal("no", sum.files[2].err.message)
    local i = 0
    local sum2 = run(function() i = i + 1 return i <= 4 and ("p" .. i) or nil end, function() return true end)
    assert.are.equal(4, sum2.done)
    local list = { "x", "y" }
    local sum3 = run(bulk.from(ipairs(list)), function() return true end, { path_of = function(v) return v end })
    assert.are.equal(2, sum3.done)
  end)

  it("skips what skip() rejects and journals finished paths for the next run", function()
    local j = util.tmpname()
    local sum = run({ "a", "dir/", "b" }, function() return true end,
      { journal = j, skip = function(v) return v:sub(-1) == "/" end })
    assert.are.equal(2, sum.done)
    assert.are.same({ "a", "b" }, util.read_lines(j))
    local again = run({ "a", "b", "c" }, function() return true end, { journal = j })
    assert.are.equal(2, again.skipped)
    assert.are.equal(1, again.done)
    os.remove(j)
  end)

  it("stops at a rate limit with the reset the policy reports, leaving the rest unstarted", function()
    local calls = 0
    local sum = run({ "a", "b", "c" }, function(item)
      calls = calls + 1
      if item.path == "b" then return nil, limited(1700000100.2) end
      return true
    end, { on_limit = "stop" })
    assert.is_true(sum.stopped)
    assert.is_false(sum.complete)
    assert.are.equal(1700000101, sum.reset_at) -- whole seconds
    assert.are.equal(1, sum.done)
    assert.are.equal(1, sum.limited)
    assert.are.equal(2, calls) -- "c" never started
  end)

  it("waits for the reset in \"wait\" mode, as long as the policy says, then goes on", function()
    local hits, waits = 0, {}
    local sum, clock = run({ "a", "b" }, function(item)
      if item.path == "b" and hits == 0 then
        hits = 1
        return nil, limited(1700000060)
      end
      return true
    end, { on_limit = "wait", on_wait = function(delay, reset_at) waits[#waits + 1] = { delay, reset_at } end })
    assert.is_true(sum.complete)
    assert.are.equal(2, sum.done)
    assert.are.equal(1, #waits)
    assert.is_near(60.1, waits[1][1], 1e-6)
    assert.are.equal(1700000060, waits[1][2])
    assert.is_near(60.1, clock.slept, 1e-6)
  end)

  it("stops instead of waiting past max_wait, and after the policy's number of waits", function()
    local sum = run({ "a" }, function() return nil, limited(1700000000 + 120) end,
      { on_limit = "wait", max_wait = 60 })
    assert.is_true(sum.stopped)
    local n = 0
    local sum2 = run({ "a" }, function() n = n + 1 return nil, limited(nil) end, { on_limit = "wait" })
    assert.is_true(sum2.stopped)
    assert.is_nil(sum2.reset_at) -- unknown: none is invented
    assert.are.equal(core.defaults.max_rate_waits + 1, n)
  end)

  it("waits before a batch for a budget the policy knows is empty", function()
    local policy = core.policy{}
    policy:seed{ ["rest:global"] = { limit = 10, remaining = 0, reset = 1700000030 } }
    local waited
    local sum = run({ "a" }, function() return true end, { policy = policy, bucket = "rest:global",
      on_limit = "wait", on_wait = function(d) waited = d end })
    assert.are.equal(1, sum.done)
    assert.are.equal(30, waited)
    local stopped = run({ "a" }, function() return true end, { policy = policy, bucket = "rest:global" })
    assert.is_true(stopped.stopped)
    assert.are.equal(0, stopped.done)
    assert.are.equal(1700000030, stopped.reset_at)
  end)

  it("checks shared options and its own arguments", function()
    assert.has_error(function() bulk.check_opts({ concurrency = 0 }, "cli:tag", 2) end,
      "cli:tag: argument #2 field 'concurrency' must be a positive integer")
    assert.has_error(function() bulk.check_opts(5, "cli:tag", 1) end, "cli:tag: argument #1 must be a table of options")
    assert.are.same({}, bulk.check_opts(nil, "cli:tag", 1))
    assert.has_error(function() bulk.run{ open = function() end } end)
    assert.has_error(function() bulk.run{ open = function() end, work = function() end } end)
    assert.is_nil(bulk.opener(42))
  end)
end)
