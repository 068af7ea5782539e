-- Row: a standard upload of an MB-sized file (default 100) with sirv:upload
-- (streamed from disk, Content-Length) to the bench upstream, against the
-- curl CLI's `curl -T` of the same file to the same URL (run under
-- build/bench/run_rss for its peak RSS). Best of 3 each.
--   LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;bench/lib/?.lua;;' LUA_CPATH='build/lua54/?.so;;' \
--     lua5.4 bench/upload.lua [MB]
local bench = require "bench"
local util = require "helpers.util"

local MB = tonumber(arg and arg[1]) or 100
local VM = rawget(_G, "jit") and "LuaJIT" or "Lua 5.4"

local path = util.tmpname(".bin")
do
  local f = assert(io.open(path, "wb"))
  local chunk = string.rep("mediacdn", 131072)
  for _ = 1, MB do f:write(chunk) end
  f:close()
end

local up = bench.upstream()
local ok, err = pcall(function()
  local sirv = require("mediacdn.sirv").new{ base_url = up.url, client_id = "bench", client_secret = "bench",
    timeout = 300 }
  assert(sirv:stat("/a.jpg"))
  local url = up.url .. "/v2/files/upload?filename=%2Fbench.bin"
  local ours, base, base_rss = math.huge, math.huge, 0
  for _ = 1, 3 do
    ours = math.min(ours, bench.time(function() assert(sirv:upload("/bench.bin", path)) end))
    -- curl under build/bench/run_rss: its wall time and peak RSS
    local r = bench.run_rss{ "curl", "-sS", "-f", "-o", "/dev/null", "-H", "Authorization: Bearer bench-token",
      "-H", "Content-Type: application/octet-stream", "-H", "Expect:", "-X", "POST", "-T", path, url }
    base, base_rss = math.min(base, r.seconds), math.max(base_rss, r.maxrss_kb)
  end
  bench.row{ name = ("upload %d MB from disk (%s)"):format(MB, VM), ours = MB / ours, base = MB / base,
    base_name = "curl -T (CLI)", unit = "MB/s", rss_kb = bench.rss_kb(), base_rss_kb = base_rss }
end)
up:stop()
os.remove(path)
if not ok then error(err, 0) end
