-- SpareVideos from a plain script: upload a video, convert it, wait for the
-- streams, print them. Keys and endpoint come from SPAREVIDEOS_PUBLIC_KEY /
-- SPAREVIDEOS_PRIVATE_KEY / SPAREVIDEOS_BASE_URL (a sandbox: <its URL>/api/v1).
--
--   lua5.4 examples/sparevideos_upload.lua clip.mp4          -- a local file (streamed)
--   lua5.4 examples/sparevideos_upload.lua https://host/v.mp4 -- fetched by SpareVideos
local sv = require("mediacdn.sparevideos").new{
  on_event = function(ev)
    if ev.type == "retry" then
      io.stderr:write(("retrying %s (attempt %d) in %.2f s\n"):format(ev.operation, ev.attempt, ev.delay))
    end
  end,
}

local source = arg[1] or error("usage: sparevideos_upload.lua <file or URL>")

local code, err = sv:upload(source, {
  on_progress = function(pct) io.stderr:write(("upload: %.0f %%\n"):format(pct)) end,
})
if not code then
  io.stderr:write("upload failed: ", tostring(err), "\n")   -- e.g. local, transient, client (10002)
  os.exit(1)
end
print("file code: " .. code)        -- store it now: the conversion is what gets billed

local _, already = assert(sv:convert(code))   -- asking twice is fine (already == true)
if already then print("(conversion had been asked before)") end

local info, werr = sv:wait_ready(code, { timeout = 1800 })   -- polls with backoff
if not info then
  io.stderr:write("not ready: ", tostring(werr), "\n")
  os.exit(2)
end
print(("%s, %s s"):format(info.extension, tostring(info.playtime)))
for _, s in ipairs(info.streams.mp4 or {}) do print(("mp4 %sp  %s"):format(s.label, s.file)) end
if info.streams.hls then print("hls      " .. info.streams.hls.file) end
for _, t in ipairs(assert(sv:thumbnails(code))) do
  if t.selected then print("thumbnail " .. t.url) end
end
print("poster   " .. sv:thumbnail_url(code, { size = 480 }))
