-- Rows: tus uploads (bench/run.sh row `tus`).
--   1. SIZE MiB (default 256) of random bytes to the real @tus/server with
--      1 MiB chunks: mediacdn.tus against tus-js-client (bench/tus_js_client.mjs,
--      same chunk size, from a file stream) and against a plain C libcurl loop
--      sending the same PATCHes (bench/c/tus_patch_loop.c, built by run.sh).
--      ROUNDS rounds (default 9) after a warm-up upload (Node's JIT), each
--      round all three back to back in a rotating order; each row reports the
--      round with the median ratio, and the peak RSS of both sides (each
--      upload runs in a fresh process).
--   2. PAR MiB (default 64) to the sandbox with 50 ms latency per request:
--      parallel = 4 (concatenation) against sequential, median of 3 rounds.
-- The file and the server's storage live in /dev/shm when it exists (the
-- disk's writeback would add noise). Every upload is checked to have landed
-- whole (the server's stored size).
--   LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;bench/lib/?.lua;;' LUA_CPATH='build/lua54/?.so;;' \
--     lua5.4 bench/tus.lua [SIZE_MIB [PAR_MIB [ROUNDS]]]
-- (run.sh builds build/bench/tus_patch_loop; tus-js-client and @tus/server
-- come from scripts/install-deps.sh.)
local bench = require "bench"

local MiB = 1024 * 1024
local CHUNK = MiB

-- child mode: one mediacdn.tus upload in a fresh process (its own peak RSS)
if arg[1] == "--child" then
  local tus = require "mediacdn.tus"
  local t0 = bench.now()
  local res, err = tus.upload(arg[2], arg[3], { chunk_size = tonumber(arg[4]), journal = false,
    checksum = false, parallel = tonumber(arg[5]), metadata = { filename = "/bench/tus.bin" } })
  if not res then io.stderr:write(tostring(err), "\n"); os.exit(1) end
  -- os.clock: the process's CPU time (user + system)
  print(("seconds=%.4f maxrss_kb=%d cpu_s=%.3f size=%d url=%s"):format(bench.now() - t0, bench.rss_kb(),
    os.clock(), res.size, res.url))
  os.exit(0)
end

local util = require "helpers.util"
local tus_server = require "helpers.tus_server"
local sandbox = require "helpers.sandbox"

local SIZE = math.floor(tonumber(arg[1] or "256") * MiB)
local PAR = math.floor(tonumber(arg[2] or "64") * MiB)
local ROUNDS = tonumber(arg[3] or "9")
local VM = rawget(_G, "jit") and "LuaJIT" or "Lua 5.4"
local q = util.shell_quote

local function make_file(bytes, dir)
  local p = dir and (dir .. "/upload.bin") or util.tmpname(".bin")
  assert(util.sh_ok(("head -c %d /dev/urandom > %s"):format(bytes, q(p))), "bench: cannot write " .. p)
  return p
end

-- one mediacdn.tus upload in a child process under this same VM
local function ours(endpoint, file, parallel, size)
  local r = bench.run{ arg[-1], bench.root .. "/bench/tus.lua", "--child", endpoint, file, CHUNK, parallel }
  assert(r.size == size, "bench: mediacdn.tus reported " .. tostring(r.size) .. " bytes")
  return r
end

---------------------------------------------------------------------------
-- 1. @tus/server: mediacdn.tus vs tus-js-client vs the C PATCH loop

-- a scratch directory in memory (/dev/shm) when there is one, so that the
-- disk's writeback does not decide which side looks faster
local function scratch_dir()
  local out, rc = util.capture("mktemp -d /dev/shm/mediacdn-bench-tus.XXXXXX")
  if rc == 0 then return (out:gsub("%s+$", "")) end
  return util.tmpdir("mediacdn-bench-tus")
end

local function against_tus_server()
  local moddir = bench.root .. "/" .. util.capture("bash " .. q(bench.root .. "/scripts/tus-server-dir.sh"))
    :gsub("%s+$", "")
  local scratch = scratch_dir()
  local server
  local ok, err = pcall(function()
    assert(util.sh_ok("mkdir " .. q(scratch .. "/store")))
    local file = make_file(SIZE, scratch)
    server = tus_server.start{ dir = scratch .. "/store" }
    -- the server kept the whole upload (FileStore: DIR/<id> holds the bytes); then empty it
    local function landed(who)
      local n = util.capture(("find %s -maxdepth 1 -type f -size %dc | wc -l"):format(q(server.dir), SIZE))
      assert(tonumber(n) == 1, "bench: " .. who .. "'s upload did not land whole")
      util.sh_ok("rm -f " .. q(server.dir) .. "/*")
    end
    local sides = {
      ours = function() return ours(server.endpoint, file, 1, SIZE) end,
      js = function() return bench.run{ "node", bench.root .. "/bench/tus_js_client.mjs", moddir,
        server.endpoint, file, CHUNK } end,
      c = function() return bench.run_c("tus_patch_loop", { server.endpoint, file, CHUNK }) end,
    }
    sides.c(); landed("the warm-up")
    local order, js_rounds, c_rounds, rss, version = { "ours", "js", "c" }, {}, {}, {}, nil
    for i = 1, ROUNDS do
      local t, cpu = {}, {}
      for k = 0, 2 do
        local side = order[(i + k - 1) % 3 + 1]
        local r = sides[side]()
        landed(side)
        t[side], cpu[side] = SIZE / MiB / r.seconds, r.cpu_s
        rss[side] = math.max(rss[side] or 0, r.maxrss_kb)
        version = version or r.version
      end
      print(("round %d: mediacdn.tus %.0f, tus-js-client %.0f, C loop %.0f MiB/s; client CPU %.2f / %.2f / %.2f s")
        :format(i, t.ours, t.js, t.c, cpu.ours, cpu.js, cpu.c))
      js_rounds[i] = { ours = t.ours, base = t.js }
      c_rounds[i] = { ours = t.ours, base = t.c }
    end
    local node = util.capture("node --version"):match("v(%d+)") or "?"
    local name = ("tus: %d MiB to @tus/server %s, 1 MiB chunks (%s)"):format(math.floor(SIZE / MiB), server.version, VM)
    local m = bench.median_round(js_rounds)
    bench.row{ name = name, ours = m.ours, base = m.base, unit = "MiB/s",
      base_name = ("tus-js-client %s (Node %s)"):format(version or "?", node),
      rss_kb = rss.ours, base_rss_kb = rss.js, target = 1.0 }
    m = bench.median_round(c_rounds)
    bench.row{ name = name, ours = m.ours, base = m.base, unit = "MiB/s",
      base_name = "C libcurl PATCH loop", rss_kb = rss.ours, base_rss_kb = rss.c, target = 0.95 }
  end)
  if server then server:stop() end
  util.sh_ok("rm -rf " .. q(scratch))
  if not ok then error(err, 0) end
end

---------------------------------------------------------------------------
-- 2. the sandbox at 50 ms per request: parallel = 4 vs sequential

local function parallel_vs_sequential()
  local sb = sandbox.start{ latency_ms = 50 }
  local file = make_file(PAR)
  local ok, err = pcall(function()
    local token = sb:token()
    local function url()
      return sb:request{ path = "/v2/files/tus/url", query = { location = "sandbox" }, token = token }.json.url
    end
    local rounds, rss = {}, {}
    for i = 1, 3 do
      local seq = ours(url(), file, 1, PAR)
      local par = ours(url(), file, 4, PAR)
      print(("round %d: sequential %.2f s, parallel = 4 %.2f s"):format(i, seq.seconds, par.seconds))
      rounds[i] = { ours = seq.seconds / par.seconds, base = 1, par = par.seconds, seq = seq.seconds }
      rss.par = math.max(rss.par or 0, par.maxrss_kb)
      rss.seq = math.max(rss.seq or 0, seq.maxrss_kb)
    end
    local m = bench.median_round(rounds)
    bench.row{ name = ("tus: %d MiB to the sandbox, 50 ms per request, parallel = 4 (%s)")
        :format(math.floor(PAR / MiB), VM),
      ours = m.par, base = m.seq, base_name = "sequential (parallel = 1)", unit = "s", higher = false,
      rss_kb = rss.par, base_rss_kb = rss.seq, target = 3 }
  end)
  sb:stop()
  os.remove(file)
  if not ok then error(err, 0) end
end

against_tus_server()
parallel_vs_sequential()
