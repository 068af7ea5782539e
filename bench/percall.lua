-- Row: per-call overhead. N sequential sirv:stat calls over keep-alive to the
-- bench upstream (static answers) against bench/c/stat_loop (libcurl easy +
-- cJSON, same requests). 5 rounds, each both sides back to back; the round
-- with the median ratio is reported (noisy shared machines).
--   bench/run.sh runs it under lua5.4 and luajit; alone:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;bench/lib/?.lua;;' LUA_CPATH='build/lua54/?.so;;' \
--     lua5.4 bench/percall.lua [N]
local bench = require "bench"

local N = tonumber(arg and arg[1]) or 5000
local VM = rawget(_G, "jit") and "LuaJIT" or "Lua 5.4"

local up = bench.upstream()
local ok, err = pcall(function()
  local sirv = require("mediacdn.sirv").new{ base_url = up.url, client_id = "bench", client_secret = "bench" }
  for _ = 1, 500 do assert(sirv:stat("/a.jpg")) end          -- token, connection, JIT warm-up
  local rounds, c = {}, nil
  for i = 1, 5 do
    local t = bench.time(function() for _ = 1, N do assert(sirv:stat("/a.jpg")) end end)
    c = bench.run_c("stat_loop", { up.url .. "/v2/files/stat?filename=%2Fa.jpg", N })
    rounds[i] = { ours = N / t, base = c.calls_per_s }
  end
  local m = bench.median_round(rounds)
  bench.row{ name = ("per-call sirv:stat x%d, keep-alive (%s)"):format(N, VM), ours = m.ours,
    base = m.base, base_name = "C libcurl easy + cJSON", unit = "calls/s",
    rss_kb = bench.rss_kb(), base_rss_kb = c.maxrss_kb, target = VM == "LuaJIT" and 0.97 or 0.9 }
end)
up:stop()
if not ok then error(err, 0) end
