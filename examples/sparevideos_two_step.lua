-- The SpareVideos two-step workflow (sparevideos-api.md §4.4): a file counts as
-- stored and converted — and is billed — only once its conversion is asked for.
-- So: upload and store the code first; convert later, when your own record of
-- it is safely written. This script keeps its "database" in a text file.
--
--   lua5.4 examples/sparevideos_two_step.lua store clip.mp4     -- step 1: upload, save the code
--   lua5.4 examples/sparevideos_two_step.lua convert            -- step 2: convert what is saved
--   lua5.4 examples/sparevideos_two_step.lua list | delete CODE
local sv = require("mediacdn.sparevideos").new{}

local DB = os.getenv("SV_CODES_FILE") or "sparevideos-codes.txt"

local function saved()
  local list, f = {}, io.open(DB, "r")
  if f then
    for line in f:lines() do
      local code, state = line:match("^(%S+)%s+(%S+)$")
      if code then list[#list + 1] = { code = code, state = state } end
    end
    f:close()
  end
  return list
end

local function save(list)
  local f = assert(io.open(DB .. ".tmp", "w"))
  for _, e in ipairs(list) do f:write(e.code, " ", e.state, "\n") end
  f:close()
  assert(os.rename(DB .. ".tmp", DB))
end

local cmd = arg[1]
if cmd == "store" then
  local source = arg[2] or error("usage: store <file or URL>")
  local code = assert(sv:upload(source))
  local list = saved()
  list[#list + 1] = { code = code, state = "stored" }
  save(list)                                      -- the code is safe before anything is billed
  print("stored " .. code .. " (not converted yet)")
elseif cmd == "convert" then
  local list = saved()
  for _, e in ipairs(list) do
    if e.state == "stored" then
      local ok, err = sv:convert(e.code)          -- 100031 (already converted) counts as done
      if ok then
        e.state = "converting"
        print("conversion asked for " .. e.code)
      else
        print("cannot convert " .. e.code .. ": " .. tostring(err))
      end
    end
  end
  save(list)
  for _, e in ipairs(list) do
    if e.state == "converting" then
      local info = sv:wait_ready(e.code, { timeout = 600 })
      if info then
        e.state = "ready"
        print(e.code .. " ready: " .. (info.streams.hls and info.streams.hls.file or "?"))
      end
    end
  end
  save(list)
elseif cmd == "list" then
  for f in sv:files() do print(f.code) end        -- every page, each signed afresh
elseif cmd == "delete" then
  local code = arg[2] or error("usage: delete <code>")
  assert(sv:delete{ code })
  print("deleted " .. arg[2])
else
  io.stderr:write("usage: sparevideos_two_step.lua store <file|URL> | convert | list | delete <code>\n")
  os.exit(2)
end
