-- Quickstart: get a token, upload a few files, list the folder, stat a file.
-- Credentials and endpoint come from SIRV_CLIENT_ID / SIRV_CLIENT_SECRET /
-- SIRV_BASE_URL (scripts/quickstart.sh points them at a local sandbox).
local sirv = require("mediacdn.sirv").new{
  client_id = os.getenv("SIRV_CLIENT_ID") or "sandbox-client-id",
  client_secret = os.getenv("SIRV_CLIENT_SECRET") or "sandbox-client-secret",
  on_event = function(ev)
    if ev.type == "token" and ev.action == "fetch" then
      print(("token: fetched, valid for %s s (%.0f ms)"):format(tostring(ev.expires_in), ev.elapsed * 1000))
    end
  end,
}

-- a few local files to upload
local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p '" .. dir .. "'")
local files = {
  { "hello.txt", "Hello from mediacdn!\n" },
  { "data.json", '{"answer": 42}\n' },
  { "pixel.png", "\137PNG\r\n\26\n" .. string.rep("\0", 64) },
}
for _, f in ipairs(files) do
  local h = assert(io.open(dir .. "/" .. f[1], "wb"))
  h:write(f[2])
  h:close()
end

for _, f in ipairs(files) do
  local ok, err = sirv:upload("/quickstart/" .. f[1], dir .. "/" .. f[1])
  if not ok then error("upload failed: " .. tostring(err)) end
  print("uploaded /quickstart/" .. f[1])
end

print("listing /quickstart:")
for entry in sirv:readdir("/quickstart") do
  print(("  %-28s %6d bytes  %s"):format(entry.path, entry.size, entry.contentType or "folder"))
end

local st, err = sirv:stat("/quickstart/hello.txt")
if not st then error("stat failed: " .. tostring(err)) end
print(("stat /quickstart/hello.txt: size=%d type=%s mtime=%s"):format(st.size, st.contentType, st.mtime))

for _, f in ipairs(files) do os.remove(dir .. "/" .. f[1]) end
os.remove(dir)
print("quickstart done")
