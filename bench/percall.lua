-- Row: per-call overhead. N sequential sirv:stat calls over keep-alive to the
-- bench upstream (static answers) against bench/c/stat_loop (libcurl easy +
-- cJSON, same requests). 5 rounds, each both sides back to back; the round
-- with the median ratio is reported (noisy shared machines).
--   bench/run.sh runs it under lua5.4 and luajit; alone:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;bench/lib/?.lua;;' LUA_CPATH='build/lua54/?.so;;' \
--     lua5.4 bench/percall.lua [N]
-- Instructions per call instead of time (deterministic; needs valgrind and
-- build/bench/stat_loop, which bench/run.sh builds): with the same paths,
--     lua5.4 bench/percall.lua --instr       (or luajit, with build/luajit)
-- counts user-space instructions with callgrind for 100 and for 600 calls of
-- each side and prints the difference / 500: the cost of one more call, free
-- of start-up. (--worker URL N is what it runs under valgrind.)
local bench = require "bench"

local VM = rawget(_G, "jit") and "LuaJIT" or "Lua 5.4"

-- N stat calls after 50 that warm up (token, connection, JIT)
local function worker(url, n)
  local sirv = require("mediacdn.sirv").new{ base_url = url, client_id = "bench", client_secret = "bench" }
  for _ = 1, 50 do assert(sirv:stat("/a.jpg")) end
  for _ = 1, n do assert(sirv:stat("/a.jpg")) end
end

-- user-space instructions of the command (callgrind's total)
local function instructions(cmd)
  local util = require "helpers.util"
  local out = util.tmpname()
  local log, rc = util.capture(("valgrind --tool=callgrind --callgrind-out-file=%s %s 2>&1 >/dev/null")
    :format(util.shell_quote(out), cmd))
  local text = util.read_file(out) or ""
  os.remove(out)
  local total = tonumber(text:match("\nsummary: (%d+)") or text:match("\ntotals: (%d+)"))
  if rc ~= 0 or not total then error("bench: callgrind failed: " .. log, 0) end
  return total
end

local function instr_mode(up)
  local util = require "helpers.util"
  local N1, N2 = 100, 600
  local vm = util.shell_quote(arg[-1] or (VM == "LuaJIT" and "luajit" or "lua5.4"))
  local me = util.shell_quote(bench.root .. "/bench/percall.lua")
  local per = {}
  for side, cmd in pairs{
    ours = ("%s %s --worker %s "):format(vm, me, util.shell_quote(up.url)),
    base = util.shell_quote(bench.root .. "/build/bench/stat_loop") .. " "
      .. util.shell_quote(up.url .. "/v2/files/stat?filename=%2Fa.jpg") .. " ",
  } do
    per[side] = (instructions(cmd .. N2) - instructions(cmd .. N1)) / (N2 - N1)
  end
  print(("per-call sirv:stat, user-space instructions (%s): mediacdn %.0f, C libcurl easy + cJSON %.0f, ratio %.2f")
    :format(VM, per.ours, per.base, per.base / per.ours))
end

if arg and arg[1] == "--worker" then
  worker(arg[2], tonumber(arg[3]))
  return
end

local up = bench.upstream()
local ok, err = pcall(function()
  if arg and arg[1] == "--instr" then return instr_mode(up) end
  local N = tonumber(arg and arg[1]) or 5000
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
