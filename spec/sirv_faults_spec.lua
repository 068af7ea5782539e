-- The Sirv client against the sandbox with injected faults: the done-criteria
-- of the Sirv client issue (401 mid-run, 429 wait/fail, 503 twice, truncated
-- JSON) plus resets, stalls, hourly limits and secret redaction.
local sandbox = require "helpers.sandbox"
local sirv_mod = require "mediacdn.sirv"

local ID, SECRET = "sandbox-client-id", "sandbox-client-secret"

describe("sirv client against the sandbox with faults", function()
  local sb
  local events

  setup(function()
    sb = sandbox.start{}
  end)

  teardown(function()
    if sb then sb:stop() end
  end)

  before_each(function()
    sb:clear_faults()
    events = {}
  end)

  local function client(opts)
    opts = opts or {}
    opts.base_url, opts.client_id, opts.client_secret = sb.url, ID, SECRET
    opts.on_event = opts.on_event or function(ev) events[#events + 1] = ev end
    opts.retry = opts.retry or { attempts = 5, base = 0.05, cap = 0.2 }
    return sirv_mod.new(opts)
  end

  local function count_events(kind)
    local n = 0
    for _, ev in ipairs(events) do if ev.type == kind then n = n + 1 end end
    return n
  end

  -- The index and event of the last 429 response.
  local function last_429()
    local at, ev
    for i, e in ipairs(events) do
      if e.type == "response" and e.status == 429 then at, ev = i, e end
    end
    return at, ev
  end

  local function upload(c, path, data)
    assert(c:upload(path, { data = data or "x" }))
  end

  it("a 401 in the middle of a run causes exactly one token fetch and the call succeeds", function()
    local c = client()
    upload(c, "/faults/a.txt", "hello")
    for _ = 1, 3 do assert(c:stat("/faults/a.txt")) end
    sb:control("POST", "/_sandbox/stats/reset", {})
    sb:faults{ { path = "/v2/files/stat", action = "expired_token", times = 1 } }
    for _ = 1, 5 do
      local st, err = c:stat("/faults/a.txt")
      assert.is_table(st, tostring(err))
      assert.are.equal(5, st.size)
    end
    assert.are.equal(1, sb:stats().token_requests)
  end)

  it("a 429 with its reset 2 s ahead: mode wait waits once, until that reset, then succeeds", function()
    local c = client()
    upload(c, "/faults/b.txt")
    sb:faults{ { path = "/v2/files/stat", action = "rate_limit", reset_in = 2, times = 1 } }
    local st, err = c:stat("/faults/b.txt")
    assert.is_table(st, tostring(err))
    assert.are.equal(1, count_events("rate_limit"))
    local at, res429 = last_429()
    local wait_at, wait
    for i, ev in ipairs(events) do if ev.type == "rate_limit" then wait_at, wait = i, ev end end
    assert.is_true(wait_at > at) -- the wait follows the 429
    assert.are.equal("429", wait.reason)
    assert.are.equal(res429.rate.reset, wait.reset_at) -- the reset the server sent
    assert.is_true(wait.delay > 0 and wait.delay <= 2.1 + 1e-6, "delay " .. wait.delay)
    assert.are.equal(200, events[#events].status) -- and the replay succeeded
  end)

  it("a 429 with its reset 2 s ahead: mode fail returns rate_limited with reset_at", function()
    local c = client{ rate_limit = "fail" }
    upload(c, "/faults/c.txt")
    sb:faults{ { path = "/v2/files/stat", action = "rate_limit", reset_in = 2, times = 1 } }
    local st, err = c:stat("/faults/c.txt")
    assert.is_nil(st)
    assert.are.equal("rate_limited", err.kind)
    assert.are.equal(429, err.status)
    local _, res429 = last_429()
    assert.are.equal(res429.rate.reset, err.reset_at)
    assert.are.equal(res429.rate.type, err.ratelimit_type)
    assert.are.equal(0, count_events("rate_limit")) -- no wait in mode fail
  end)

  it("503 twice then 200 succeeds after 2 retries", function()
    local c = client()
    upload(c, "/faults/d.txt")
    sb:faults{ { path = "/v2/files/stat", action = "status", status = 503, times = 2 } }
    events = {}
    assert(c:stat("/faults/d.txt"))
    assert.are.equal(2, count_events("retry"))
  end)

  it("truncated JSON gives kind protocol and no crash", function()
    local c = client()
    upload(c, "/faults/e.txt")
    sb:faults{ { path = "/v2/files/stat", action = "truncate", times = 1 } }
    local st, err = c:stat("/faults/e.txt")
    assert.is_nil(st)
    assert.are.equal("protocol", err.kind)
    sb:faults{ { path = "/v2/files/stat", action = "invalid_json", times = 1 } }
    st, err = c:stat("/faults/e.txt")
    assert.is_nil(st)
    assert.are.equal("protocol", err.kind)
    assert(c:stat("/faults/e.txt"))
  end)

  it("a connection reset mid-body on a GET is retried", function()
    local c = client()
    upload(c, "/faults/f.txt", string.rep("z", 100000))
    sb:faults{ { path = "/v2/files/download", method = "GET", action = "reset", times = 1 } }
    local dest = os.tmpname()
    assert(c:download("/faults/f.txt", dest))
    local f = assert(io.open(dest, "rb"))
    assert.are.equal(100000, #f:read("*a"))
    f:close()
    os.remove(dest)
    assert.are.equal(1, count_events("retry"))
  end)

  it("a stalled server gives kind timeout, then recovers", function()
    local c = client{ timeout = 1, retry = { attempts = 1 } }
    upload(c, "/faults/g.txt")
    sb:faults{ { path = "/v2/files/stat", action = "stall", seconds = 3, times = 1 } }
    local st, err = c:stat("/faults/g.txt")
    assert.is_nil(st)
    assert.are.equal("timeout", err.kind)
    assert.is_true(err.retryable)
  end)

  it("a 500 on a non-idempotent copy is not replayed", function()
    local c = client()
    upload(c, "/faults/h.txt")
    sb:control("POST", "/_sandbox/stats/reset", {})
    sb:faults{ { path = "/v2/files/copy", action = "status", status = 500, times = 1 } }
    local ok, err = c:copy("/faults/h.txt", "/faults/h2.txt")
    assert.is_nil(ok)
    assert.are.equal("transient", err.kind)
    assert.are.equal(1, sb:stats().requests["POST /v2/files/copy"])
  end)

  it("404 is returned with Sirv's message and never retried", function()
    local c = client()
    sb:control("POST", "/_sandbox/stats/reset", {})
    local st, err = c:stat("/faults/missing.jpg")
    assert.is_nil(st)
    assert.are.equal("not_found", err.kind)
    assert.are.equal(404, err.status)
    assert.matches("missing.jpg", err.message)
    assert.are.equal(1, sb:stats().requests["GET /v2/files/stat"])
  end)

  it("never shows the client secret or the bearer token in events or errors of a full run", function()
    local seen = {}
    local function collect(v)
      if type(v) == "table" then
        for k, x in pairs(v) do seen[#seen + 1] = tostring(k); collect(x) end
      else
        seen[#seen + 1] = tostring(v)
      end
    end
    local c = client{ on_event = function(ev) collect(ev) end, retry = { attempts = 2, base = 0.01 } }
    upload(c, "/faults/s.txt")
    sb:faults{
      { path = "/v2/files/stat", action = "expired_token", times = 1 },
      { path = "/v2/files/readdir", action = "status", status = 500, times = 3 },
      { path = "/v2/files/meta", action = "truncate", times = 1 },
    }
    for _, call in ipairs{
      function() return c:stat("/faults/s.txt") end,
      function() return c:readdir_page("/faults") end,
      function() return c:meta("/faults/s.txt") end,
      function() return c:stat("/nope") end,
      function() return c:call("getFilesStat", { filename = "/faults/s.txt" }) end,
    } do
      local r, err = call()
      collect(r)
      if err then collect(err); seen[#seen + 1] = tostring(err) end
    end
    local tokens = {}
    local tok = c.auth.store:get(c.auth.key)
    assert.is_string(tok)
    tokens[#tokens + 1] = tok
    local all = table.concat(seen, "\n")
    assert.is_nil(all:find(SECRET, 1, true), "client secret leaked")
    for _, t in ipairs(tokens) do assert.is_nil(all:find(t, 1, true), "token leaked") end
  end)
end)

describe("sirv client against a sandbox with a small hourly limit", function()
  local sb
  setup(function() sb = sandbox.start{ hourly_limit = 6, window_seconds = 3 } end)
  teardown(function() if sb then sb:stop() end end)

  it("mode fail stops at the limit with rate_limited; mode wait continues after the reset", function()
    local c = sirv_mod.new{ base_url = sb.url, client_id = ID, client_secret = SECRET, rate_limit = "fail",
      pacing = false }
    local ok_count, err
    ok_count = 0
    for i = 1, 10 do
      local st, e = c:stat("/")
      if not st then err = e break end
      ok_count = i
    end
    assert.is_true(ok_count >= 1 and ok_count <= 6, "succeeded " .. ok_count)
    assert.are.equal("rate_limited", err.kind)
    assert.is_number(err.reset_at)
    local w = sirv_mod.new{ base_url = sb.url, client_id = ID, client_secret = SECRET, rate_limit = "wait" }
    for _ = 1, 8 do assert(w:stat("/")) end
  end)
end)
