-- Drive mediacdn.loop from another event loop (libuv through luv): the loop
-- exposes one fd to watch for readability and a timeout; call l:step() when
-- either fires. Here 20 stat calls run concurrently inside uv.run().
-- Run against a sandbox: SIRV_BASE_URL=http://127.0.0.1:PORT lua5.4 examples/external_loop_luv.lua
local uv = require "luv"
local mloop = require "mediacdn.loop"

local sirv = require("mediacdn.sirv").new{
  client_id = os.getenv("SIRV_CLIENT_ID") or "sandbox-client-id",
  client_secret = os.getenv("SIRV_CLIENT_SECRET") or "sandbox-client-secret",
}
assert(sirv:upload("/external-loop/a.txt", { data = "hello" }))

local l = mloop.new()
local done, in_flight, peak = 0, 0, 0
for i = 1, 20 do
  l:spawn(function()
    in_flight = in_flight + 1
    if in_flight > peak then peak = in_flight end
    local st = assert(sirv:stat("/external-loop/a.txt"))
    in_flight = in_flight - 1
    assert(st.size == 5)
    done = done + 1
    if i == 20 then print("last task finished") end
  end)
end

local poll = uv.new_poll(l:fd())
local timer = uv.new_timer()

-- Run whatever is ready, then re-arm the timer for the loop's next deadline.
local function drive()
  if not l:step() then
    poll:stop(); timer:stop()
    poll:close(); timer:close()
    return
  end
  timer:stop()
  local ms = l:timeout()
  if ms >= 0 then timer:start(ms, 0, drive) end
end

poll:start("r", drive)
drive()
uv.run()
print(("%d concurrent stat calls done under libuv (at most %d in flight at once)"):format(done, peak))
