-- bench/tus.lua — tus throughput, in one run, as ratios against baselines
-- measured in the same run (a command that prints figures; not a test):
--   1. SIZE MiB (default 1024) to the real @tus/server with 1 MiB chunks:
--      mediacdn.tus vs tus-js-client (same chunk size) vs a plain C libcurl loop
--      sending the same PATCHes (bench/tus_curl_loop.c, compiled here);
--      plus mediacdn's peak RSS. Goals: >= 1.0x tus-js-client, >= 0.95x the C
--      loop, peak RSS <= 24 MiB.
--   2. the sandbox with 50 ms latency per request, PAR_MIB (default 64) MiB:
--      parallel = 4 (concatenation) vs sequential. Goal >= 3x.
-- Run: LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='build/lua54/?.so;;' \
--        lua5.4 bench/tus.lua [SIZE_MIB [PAR_MIB]]
local core = require "mediacdn.core"

local MiB = 1024 * 1024

-- child mode: one mediacdn upload in a fresh process (clean peak RSS)
if arg[1] == "--child" then
  local tus = require "mediacdn.tus"
  local t0 = core.monotonic()
  local res, err = tus.upload(arg[2], arg[3], { chunk_size = tonumber(arg[4]), journal = false,
    checksum = false, parallel = tonumber(arg[5] or "1"), metadata = { filename = "/bench/tus.bin" } })
  if not res then io.stderr:write(tostring(err), "\n"); os.exit(1) end
  local f = assert(io.open("/proc/self/status"))
  local hwm = f:read("*a"):match("VmHWM:%s+(%d+)")
  f:close()
  print(("seconds %.3f rss_kb %s"):format(core.monotonic() - t0, hwm))
  os.exit(0)
end

local util = require "helpers.util"
local tus_server = require "helpers.tus_server"
local sandbox = require "helpers.sandbox"

local SIZE = tonumber(arg[1] or "1024") * MiB
local PAR = tonumber(arg[2] or "64") * MiB
local CHUNK = MiB
local q = util.shell_quote
local vm = arg[-1] or "lua5.4"

local function make_file(bytes)
  local p = util.tmpname(".bin")
  assert(util.sh_ok(("head -c %d /dev/urandom > %s"):format(bytes, q(p))))
  return p
end

local function run(cmd)
  local out, rc = util.capture(cmd)
  local s, rss = out:match("seconds ([%d.]+)"), out:match("rss_kb (%d+)")
  assert(rc == 0 and s, "failed: " .. cmd .. "\n" .. out)
  return tonumber(s), tonumber(rss)
end

local function child(endpoint, file, chunk, parallel)
  return run(("env LUA_PATH=%s LUA_CPATH=%s %s bench/tus.lua --child %s %s %d %d"):format(
    q(package.path), q(package.cpath), q(vm), q(endpoint), q(file), chunk, parallel or 1))
end

print(("== 1. %d MiB to @tus/server, %d KiB chunks (%s)")
  :format(math.floor(SIZE / MiB), math.floor(CHUNK / 1024), _VERSION))
local file = make_file(SIZE)
local loop_bin = util.tmpname("")
assert(util.sh_ok(("cc -O2 -o %s bench/tus_curl_loop.c -lcurl"):format(q(loop_bin))))
local server = tus_server.start()
local moddir = util.capture("bash scripts/tus-server-dir.sh"):gsub("%s+$", "")
util.write_file(moddir .. "/.tus_js_client.mjs", assert(util.read_file("bench/tus_js_client.mjs")))
local function clean() util.sh_ok("rm -f " .. q(server.dir) .. "/*") end

-- best of ROUNDS alternating runs, after a warm-up of the server (Node's JIT)
local ROUNDS = 2
local ok, err = pcall(function()
  run(("%s %s %s %d"):format(q(loop_bin), q(server.endpoint), q(file), CHUNK))
  clean()
  local ours, rss, js, js_rss, c = math.huge, 0, math.huge, 0, math.huge
  for _ = 1, ROUNDS do
    local s1, r1 = child(server.endpoint, file, CHUNK)
    clean()
    local s2, r2 = run(("cd %s && node .tus_js_client.mjs %s %s %d")
      :format(q(moddir), q(server.endpoint), q(file), CHUNK))
    clean()
    local s3 = run(("%s %s %s %d"):format(q(loop_bin), q(server.endpoint), q(file), CHUNK))
    clean()
    ours, js, c = math.min(ours, s1), math.min(js, s2), math.min(c, s3)
    rss, js_rss = math.max(rss, r1), math.max(js_rss, r2)
  end
  local mb = SIZE / MiB
  print(("best of %d alternating runs each, after a warm-up upload"):format(ROUNDS))
  print(("mediacdn.tus    %7.2f s  %6.0f MiB/s  peak RSS %5.1f MiB"):format(ours, mb / ours, rss / 1024))
  print(("tus-js-client   %7.2f s  %6.0f MiB/s  peak RSS %5.1f MiB"):format(js, mb / js, js_rss / 1024))
  print(("C libcurl loop  %7.2f s  %6.0f MiB/s"):format(c, mb / c))
  print(("ratio vs tus-js-client: %.2fx (goal >= 1.0)   vs C loop: %.2fx (goal >= 0.95)   RSS goal <= 24 MiB: %s")
    :format(js / ours, c / ours, rss / 1024 <= 24 and "met" or "missed"))
end)
server:stop()
os.remove(file); os.remove(loop_bin)
if not ok then error(err, 0) end

print(("== 2. %d MiB to the sandbox, 50 ms latency per request, 1 MiB chunks"):format(math.floor(PAR / MiB)))
local sb = sandbox.start{ latency_ms = 50 }
ok, err = pcall(function()
  local token = sb:token()
  local function url()
    return sb:request{ path = "/v2/files/tus/url", query = { location = "sandbox" }, token = token }.json.url
  end
  local pfile = make_file(PAR)
  local seq = child(url(), pfile, CHUNK, 1)
  local par = child(url(), pfile, CHUNK, 4)
  os.remove(pfile)
  print(("sequential      %7.2f s"):format(seq))
  print(("parallel = 4    %7.2f s"):format(par))
  print(("speed-up: %.2fx (goal >= 3)"):format(seq / par))
end)
sb:stop()
if not ok then error(err, 0) end
