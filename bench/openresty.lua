-- Rows: OpenResty. (1) per-call: one handler making N sequential sirv:stat
-- calls over keep-alive (resty transport) to the bench upstream, against a
-- bare cosocket HTTP/1.1 exchange + cjson in the same kind of handler; (2) 50
-- concurrent handler calls, each one stat through an upstream that answers
-- after 200 ms, against 50 concurrent bare cosocket exchanges. nginx (one
-- worker) comes from the spec rig (spec/helpers/rig.lua): one per side, so each side's peak
-- RSS is its own worker's.
--   LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;bench/lib/?.lua;;' LUA_CPATH='build/lua54/?.so;;' \
--     lua5.4 bench/openresty.lua [N]
local bench = require "bench"
local rig = require "helpers.rig"

local N = tonumber(arg and arg[1]) or 5000

local up = bench.upstream()
-- one nginx per side (one worker each), so that each row's peak RSS is that
-- side's own worker: mediacdn's handlers run in `ours`, the bare ones in `bare`
local ours, bare
local ok, err = pcall(function()
  local function start()
    return rig.start{ workers = 1, log_level = "warn", server = ([=[
    location ~ ^/bench/(\w+)$ {
      content_by_lua_block {
        local m = package.loaded.bench_resty or dofile("%s/bench/fixtures/bench_resty.lua")
        package.loaded.bench_resty = m
        m[ngx.var[1]]()
      }
    }]=]):format(bench.root) }
  end
  ours, bare = start(), start()
  local function get(r, path)
    local status, v, raw = r:json{ path = path, timeout = 600 }
    assert(status == 200 and v, raw)
    return v
  end
  local url = up.url
  local rounds = {}
  for i = 1, 5 do
    local a = get(ours, ("/bench/percall?n=%d&url=%s"):format(N, url))
    local b = get(bare, ("/bench/bare?n=%d&url=%s"):format(N, url))
    rounds[i] = { ours = a.calls_per_s, base = b.calls_per_s }
  end
  local m = bench.median_round(rounds)
  bench.row{ name = ("OpenResty: sirv:stat x%d in one handler, keep-alive"):format(N), ours = m.ours,
    base = m.base, base_name = "bare cosocket + cjson", unit = "calls/s",
    rss_kb = get(ours, "/bench/rss").rss_kb, base_rss_kb = get(bare, "/bench/rss").rss_kb, target = 0.9 }

  local lat = up.url .. "/lat/200"
  get(ours, "/bench/one_sirv?url=" .. lat)                 -- token, warm
  get(bare, "/bench/one_bare?url=" .. lat)
  local function batch(r, fn)
    local paths = {}
    for i = 1, 50 do paths[i] = "/bench/" .. fn .. "?url=" .. lat end
    local elapsed, statuses = r:parallel(paths, 50)
    for i = 1, 50 do assert(statuses[i] == 200, "a handler failed") end
    return elapsed
  end
  local t_ours, t_base = math.huge, math.huge
  for _ = 1, 3 do
    t_ours = math.min(t_ours, batch(ours, "one_sirv"))
    t_base = math.min(t_base, batch(bare, "one_bare"))
  end
  -- (peak RSS: the per-call row ran in the same workers first, so these are
  -- the workers' peaks over both rows)
  bench.row{ name = "OpenResty: 50 concurrent handler calls, 200 ms upstream latency",
    ours = t_ours * 1000, base = t_base * 1000, base_name = "bare cosockets", unit = "ms (all 50)", higher = false,
    rss_kb = get(ours, "/bench/rss").rss_kb, base_rss_kb = get(bare, "/bench/rss").rss_kb }
end)
if ours then ours:stop() end
if bare then bare:stop() end
up:stop()
if not ok then error(err, 0) end
