-- Bounded memory of sirv:readdir: iterate 10,000 entries of one folder (100 pages)
-- and print the process's peak RSS (VmHWM) and RSS (VmRSS) after 1,000 and after
-- 10,000 entries. Pagination holds one page at a time, so the two peaks should not
-- differ by more than a page's worth (measured at the end: the Lua heap a held page
-- takes plus its JSON body, rounded up to whole 4 KiB memory pages). It also prints
-- the peak every 1,000 entries, so a plateau (GC warm-up) is told from a leak:
-- under LuaJIT the heap reaches its steady size only after a few thousand entries.
-- Run: LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='build/lua54/?.so;;' lua5.4 bench/readdir_rss.lua [N]
local sandbox = require "helpers.sandbox"
local core = require "mediacdn.core"

local N = tonumber(arg and arg[1]) or 10000
local FIRST = 1000
local DIR = "/rss"

-- VmHWM and VmRSS of this process, in KiB.
local function rss()
  local f = assert(io.open("/proc/self/status", "r"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmHWM:%s*(%d+)")), tonumber(s:match("VmRSS:%s*(%d+)"))
end

-- The memory one readdir page takes while held: Lua heap plus the JSON text.
local function page_worth(sirv)
  collectgarbage("collect")
  local before = collectgarbage("count")
  local page = assert(sirv:readdir_page(DIR))
  local held = collectgarbage("count") - before
  local text = #core.json_encode(page.contents)
  assert(#page.contents == 100, "a readdir page holds 100 entries")
  return math.ceil((held + text / 1024) / 4) * 4, #page.contents
end

local sb = sandbox.start{}
local ok, err = pcall(function()
  local t0 = core.monotonic()
  local seeded = sb:seed(N, DIR)
  assert(seeded.created == N, "seeding failed")
  local seed_time = core.monotonic() - t0
  local sirv = require("mediacdn.sirv").new{ base_url = sb.url,
    client_id = "sandbox-client-id", client_secret = "sandbox-client-secret" }

  local n, at_first = 0, nil
  local bytes, trail, heap = 0, {}, {}
  t0 = core.monotonic()
  for entry in sirv:readdir(DIR) do
    n = n + 1
    bytes = bytes + #entry.path -- touch each entry; keep nothing
    if n == FIRST then at_first = { rss() } end
    if n % 1000 == 0 then
      trail[#trail + 1] = tostring((rss()))
      heap[#heap + 1] = ("%.0f"):format(collectgarbage("count"))
    end
  end
  local walk = core.monotonic() - t0
  local at_last = { rss() }
  assert(n == N, ("iterated %d entries, expected %d"):format(n, N))
  local worth = page_worth(sirv)
  local diff = at_last[1] - at_first[1]

  print(("readdir of %d entries (%d pages) in %.2f s; seeding took %.2f s")
    :format(n, math.ceil(n / 100), walk, seed_time))
  print(("after %5d entries: peak RSS (VmHWM) %d KiB, RSS %d KiB"):format(FIRST, at_first[1], at_first[2]))
  print(("after %5d entries: peak RSS (VmHWM) %d KiB, RSS %d KiB"):format(n, at_last[1], at_last[2]))
  print(("peak RSS every 1,000 entries (KiB): %s"):format(table.concat(trail, " ")))
  -- the live Lua heap: flat when nothing is retained; under LuaJIT it swings with the
  -- collector's cycle (pause 200 %: up to twice the live heap), which is what the RSS
  -- peak then follows until it has seen a full cycle
  print(("Lua heap every 1,000 entries (KiB): %s"):format(table.concat(heap, " ")))
  print(("peak difference: %d KiB; one page's worth: %d KiB"):format(diff, worth))
  print(diff <= worth and "PASS: memory does not grow with the number of entries"
    or "FAIL: peak RSS grew by more than a page's worth")
end)
sb:stop()
if not ok then error(err, 0) end
