-- Upload a 200 MB file to a local sandbox with sirv:upload and print the Lua
-- process's peak RSS, next to the same upload by the curl CLI (the baseline).
-- Run: LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='build/lua54/?.so;;' lua5.4 bench/upload_rss.lua [MB]
local sandbox = require "helpers.sandbox"
local core = require "mediacdn.core"

local MB = tonumber(arg and arg[1]) or 200

local function status_kb(field)
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("*a")
  f:close()
  return tonumber(s:match(field .. ":%s+(%d+)"))
end

local path = os.tmpname()
do -- write the test file in 1 MiB chunks (memory stays flat)
  local f = assert(io.open(path, "wb"))
  local chunk = string.rep("mediacdn", 131072)
  for _ = 1, MB do f:write(chunk) end
  f:close()
end

local sb = sandbox.start{}
local ok, err = pcall(function()
  local sirv = require("mediacdn.sirv").new{ base_url = sb.url,
    client_id = "sandbox-client-id", client_secret = "sandbox-client-secret", timeout = 300 }
  assert(sirv:stat("/") or true) -- fetch the token before measuring
  local before = status_kb("VmHWM")
  local t0 = core.monotonic()
  assert(sirv:upload("/bench/upload.bin", path))
  local ours = core.monotonic() - t0
  local peak = status_kb("VmHWM")
  local st = assert(sirv:stat("/bench/upload.bin"))
  assert(st.size == MB * 1048576, "size mismatch: " .. tostring(st.size))

  -- baseline: the curl CLI streaming the same file (-T, POST)
  local token = assert(sirv.auth:token())
  local hdr = os.tmpname()
  local h = assert(io.open(hdr, "w"))
  h:write("Authorization: Bearer " .. token .. "\nContent-Type: application/octet-stream\n")
  h:close()
  local t1 = core.monotonic()
  local rc = os.execute(("curl -s -o /dev/null -X POST -H @%s -T %s "
    .. "'%s/v2/files/upload?filename=%%2Fbench%%2Fcurl.bin'")
    :format(hdr, path, sb.url))
  local curl_t = core.monotonic() - t1
  os.remove(hdr)

  print(("file: %d MB"):format(MB))
  print(("mediacdn sirv:upload: %.2f s (%.0f MB/s)"):format(ours, MB / ours))
  print(("curl CLI baseline:   %.2f s (%.0f MB/s)  [%s]"):format(curl_t, MB / curl_t, tostring(rc)))
  print(("time ratio mediacdn/curl: %.2f"):format(ours / curl_t))
  print(("Lua process peak RSS (VmHWM): %.1f MB (before upload %.1f MB) — limit 40 MB: %s")
    :format(peak / 1024, before / 1024, peak / 1024 < 40 and "OK" or "OVER"))
end)
sb:stop()
os.remove(path)
if not ok then error(err, 0) end
