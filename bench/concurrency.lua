-- Rows: concurrency. 8 x C stat calls through mediacdn.loop at C in flight
-- (C = 16, 64, 256), each answered after 20 ms by the bench upstream, against
-- bench/c/multi_conc (curl_multi, same requests, same C). The row also names
-- the loop's speed-up over the same calls one after another (measured on 20
-- sequential calls).
--   LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;bench/lib/?.lua;;' LUA_CPATH='build/lua54/?.so;;' \
--     lua5.4 bench/concurrency.lua [LATENCY_MS]
local bench = require "bench"
local loop = require "mediacdn.loop"

local LAT = tonumber(arg and arg[1]) or 20
local VM = rawget(_G, "jit") and "LuaJIT" or "Lua 5.4"

local up = bench.upstream()
local ok, err = pcall(function()
  local base = up.url .. "/lat/" .. LAT
  local sirv = require("mediacdn.sirv").new{ base_url = base, client_id = "bench", client_secret = "bench" }
  assert(sirv:stat("/a.jpg"))
  local seq = bench.time(function() for _ = 1, 20 do assert(sirv:stat("/a.jpg")) end end) / 20
  for _, conc in ipairs({ 16, 64, 256 }) do
    local m = conc * 8
    local fns = {}
    for i = 1, m do fns[i] = function() return sirv:stat("/a.jpg") end end
    local results
    local t = bench.time(function() results = loop.gather(fns, { concurrency = conc }) end)
    for i = 1, m do assert(results[i], "a call failed") end
    local c = bench.run_c("multi_conc", { base .. "/v2/files/stat?filename=%2Fa.jpg", m, conc })
    bench.row{ name = ("loop: %d stat calls, %d in flight, %d ms latency (%s; %.0fx sequential)")
      :format(m, conc, LAT, VM, seq * m / t), ours = m / t, base = c.calls_per_s,
      base_name = "C curl_multi + cJSON", unit = "calls/s", rss_kb = bench.rss_kb(),
      base_rss_kb = c.maxrss_kb }
  end
end)
up:stop()
if not ok then error(err, 0) end
