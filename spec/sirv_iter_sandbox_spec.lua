-- Iterators against the sandbox: the done-criteria of the iterators issue.
local sandbox = require "helpers.sandbox"
local sirv_mod = require "mediacdn.sirv"

describe("iterators against the sandbox", function()
  local sb, c

  setup(function()
    sb = sandbox.start{}
    sb:seed(2550, "/big")
    sb:seed(2500, "/s2500")
    c = sirv_mod.new{ base_url = sb.url, client_id = "sandbox-client-id", client_secret = "sandbox-client-secret",
      retry = { attempts = 2, base = 0.01, cap = 0.05 } }
  end)

  teardown(function() if sb then sb:stop() end end)

  before_each(function()
    sb:clear_faults()
    sb:control("POST", "/_sandbox/stats/reset", {})
  end)

  it("readdir over 2,550 files returns exactly 2,550 entries over 26 pages", function()
    local n, seen = 0, {}
    for e in c:readdir("/big") do
      n = n + 1
      assert.is_nil(seen[e.path]); seen[e.path] = true
      assert.are.equal("/big/", e.path:sub(1, 5))
    end
    assert.are.equal(2550, n)
    assert.are.equal(26, sb:stats().requests["GET /v2/files/readdir"])
  end)

  it("a search with 2,500 hits returns all 2,500, crossing 1000 through scroll, with no duplicate", function()
    local n, seen = 0, {}
    for hit in c:search{ query = "dirname:\\/s2500" } do
      n = n + 1
      assert.is_nil(seen[hit.path], "duplicate " .. hit.path); seen[hit.path] = true
    end
    assert.are.equal(2500, n)
    local reqs = sb:stats().requests
    assert.is_true((reqs["POST /v2/files/search/scroll"] or 0) >= 15)
  end)

  it("breaking after 3 entries releases the scroll", function()
    local it, st, ctl, cur = c:search{ query = "dirname:\\/s2500" }
    local n = 0
    for _ in it, st, ctl do
      n = n + 1
      if n == 3 then break end
    end
    cur:close()
    assert.is_true(cur.closed)
    assert.is_nil(cur.scroll_id)
    assert.are.same({}, cur.buf)
    assert.is_nil(it(st))
    assert.is_nil(sb:stats().requests["POST /v2/files/search/scroll"])
  end)

  it("a persistent 500 on page 7 raises an error object that says which page and query", function()
    sb:faults{ { path = "/v2/files/readdir", action = "status", status = 500, skip = 6, times = -1 } }
    local n = 0
    local ok, err = pcall(function() for _ in c:readdir("/big") do n = n + 1 end end)
    assert.is_false(ok)
    assert.are.equal(600, n)
    assert.are.equal("transient", err.kind)
    assert.are.equal(500, err.status)
    assert.are.equal(7, err.page)
    assert.are.equal("readdir /big", err.query)
    assert.matches("page 7", tostring(err))
  end)
end)
