-- 400 stat calls against a sandbox with 20 ms added latency: one after another
-- (blocking libcurl, the baseline) vs. inside mediacdn.loop at concurrency 16.
-- Prints both times and the speed-up ratio (the issue asks for at least 10x).
-- Run: LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='build/lua54/?.so;;' \
--        lua5.4 bench/loop_concurrency.lua [N] [CONCURRENCY]
local sandbox = require "helpers.sandbox"
local core = require "mediacdn.core"
local loop = require "mediacdn.loop"

local N = tonumber(arg and arg[1]) or 400
local CONC = tonumber(arg and arg[2]) or 16

local sb = sandbox.start{ latency_ms = 20 }
local ok, err = pcall(function()
  local sirv = require("mediacdn.sirv").new{ base_url = sb.url,
    client_id = "sandbox-client-id", client_secret = "sandbox-client-secret" }
  assert(sirv:upload("/bench/stat.txt", { data = "x" }))

  local t0 = core.monotonic()
  for _ = 1, N do assert(sirv:stat("/bench/stat.txt")) end
  local sequential = core.monotonic() - t0

  local fns = {}
  for i = 1, N do fns[i] = function() return sirv:stat("/bench/stat.txt") end end
  local t1 = core.monotonic()
  local results, errs = loop.gather(fns, { concurrency = CONC })
  local concurrent = core.monotonic() - t1
  local failures = 0
  for i = 1, N do if not results[i] then failures = failures + 1; print("error:", tostring(errs[i])) end end

  print(("%d stat calls, 20 ms added latency"):format(N))
  print(("sequential (blocking libcurl): %.2f s  (%.1f ms/call)"):format(sequential, sequential / N * 1000))
  print(("mediacdn.loop, concurrency %d: %.2f s  (%d failures)"):format(CONC, concurrent, failures))
  print(("speed-up: %.1fx (target >= 10x)"):format(sequential / concurrent))
end)
sb:stop()
if not ok then error(err, 0) end
