-- Rows: OpenResty. (1) per-call: one handler making N sequential sirv:stat
-- calls over keep-alive (resty transport) to the bench upstream, against a
-- bare cosocket HTTP/1.1 exchange + cjson in the same kind of handler; (2) 50
-- concurrent handler calls, each one stat through an upstream that answers
-- after 200 ms, against 50 concurrent bare cosocket exchanges. nginx (one
-- worker) comes from the spec rig (spec/helpers/rig.lua).
--   LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;bench/lib/?.lua;;' LUA_CPATH='build/lua54/?.so;;' \
--     lua5.4 bench/openresty.lua [N]
local bench = require "bench"
local rig = require "helpers.rig"

local N = tonumber(arg and arg[1]) or 5000

local up = bench.upstream()
local r
local ok, err = pcall(function()
  r = rig.start{ workers = 1, log_level = "warn", server = ([=[
    location ~ ^/bench/(\w+)$ {
      content_by_lua_block {
        local m = package.loaded.bench_resty or dofile("%s/bench/fixtures/bench_resty.lua")
        package.loaded.bench_resty = m
        m[ngx.var[1]]()
      }
    }]=]):format(bench.root) }
  local function get(path)
    local status, v, raw = r:json{ path = path, timeout = 600 }
    assert(status == 200 and v, raw)
    return v
  end
  local url = up.url
  local rounds, orss, brss = {}, 0, 0
  for i = 1, 5 do
    local a = get(("/bench/percall?n=%d&url=%s"):format(N, url))
    local b = get(("/bench/bare?n=%d&url=%s"):format(N, url))
    rounds[i] = { ours = a.calls_per_s, base = b.calls_per_s }
    orss, brss = a.rss_kb, b.rss_kb
  end
  local m = bench.median_round(rounds)
  bench.row{ name = ("OpenResty: sirv:stat x%d in one handler, keep-alive"):format(N), ours = m.ours,
    base = m.base, base_name = "bare cosocket + cjson", unit = "calls/s", rss_kb = orss, base_rss_kb = brss,
    target = 0.9 }

  local lat = up.url .. "/lat/200"
  get("/bench/one_sirv?url=" .. lat)                       -- token, warm
  get("/bench/one_bare?url=" .. lat)
  local function batch(fn)
    local paths = {}
    for i = 1, 50 do paths[i] = "/bench/" .. fn .. "?url=" .. lat end
    local elapsed, statuses = r:parallel(paths, 50)
    for i = 1, 50 do assert(statuses[i] == 200, "a handler failed") end
    return elapsed
  end
  local t_ours, t_base = math.huge, math.huge
  for _ = 1, 3 do
    t_ours = math.min(t_ours, batch("one_sirv"))
    t_base = math.min(t_base, batch("one_bare"))
  end
  bench.row{ name = "OpenResty: 50 concurrent handler calls, 200 ms upstream latency",
    ours = t_ours * 1000, base = t_base * 1000, base_name = "bare cosockets", unit = "ms (all 50)", higher = false }
end)
if r then r:stop() end
up:stop()
if not ok then error(err, 0) end
