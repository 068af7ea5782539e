-- mediacdn.loop: the coroutine scheduler over core.multi().
--
--   busted --lua=lua5.4 --cpath='build/lua54/?.so' \
--     --lpath='lua/?.lua;lua/?/init.lua;spec/?.lua' spec/loop_spec.lua
--   (and --lua=luajit --cpath='build/luajit/?.so')
local httpd = require "helpers.httpd"
local core = require "mediacdn.core"
local loop = require "mediacdn.loop"
local curl = require "mediacdn.transport.curl"

local now = core.monotonic

local function json(res)
  assert(res, "no response")
  return assert(core.json_decode(res.body))
end

describe("mediacdn.loop", function()
  local srv

  setup(function()
    srv = httpd.start()
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  describe("run", function()
    it("returns the function's results", function()
      local a, b, c = loop.run(function(x, y) return x + y, "two", nil end, 1, 2)
      assert.equal(3, a)
      assert.equal("two", b)
      assert.is_nil(c)
    end)

    it("raises the function's error (tables too)", function()
      local ok, err = pcall(loop.run, function() error("boom", 0) end)
      assert.is_false(ok)
      assert.equal("boom", err)
      local e = { kind = "x" }
      ok, err = pcall(loop.run, function() error(e) end)
      assert.is_false(ok)
      assert.equal(e, err)
    end)

    it("knows the current loop only inside", function()
      assert.is_nil(loop.current())
      local inside = loop.run(function() return loop.current() end)
      assert.is_table(inside)
      assert.is_nil(loop.current())
    end)

    it("runs nested run() inside the same loop", function()
      local l1, l2 = loop.run(function()
        local outer = loop.current()
        return outer, loop.run(function() return loop.current() end)
      end)
      assert.equal(l1, l2)
    end)

    it("waits for spawned tasks before returning", function()
      local finished = false
      loop.run(function()
        loop.spawn(function()
          loop.sleep(0.05)
          finished = true
        end)
      end)
      assert.is_true(finished)
    end)

    it("rejects a non-function", function()
      assert.has_error(function() loop.run(42) end)
      assert.has_error(function() loop.spawn(function() end) end) -- outside a loop
    end)
  end)

  describe("sleep", function()
    it("yields inside a loop: two sleeps overlap", function()
      local span = {}
      loop.run(function()
        local function sleeper(name)
          return function()
            span[name] = { from = now() }
            loop.sleep(0.2)
            span[name].to = now()
          end
        end
        local a = loop.spawn(sleeper("a"))
        local b = loop.spawn(sleeper("b"))
        a:wait()
        b:wait()
      end)
      -- each began before the other ended (one after another they would not)
      assert.is_true(span.b.from < span.a.to)
      assert.is_true(span.a.from < span.b.to)
    end)

    it("wakes timers in deadline order", function()
      local order = {}
      loop.run(function()
        for _, d in ipairs({ 0.06, 0.02, 0.04, 0 }) do
          loop.spawn(function()
            loop.sleep(d)
            order[#order + 1] = d
          end)
        end
      end)
      assert.same({ 0, 0.02, 0.04, 0.06 }, order)
    end)

    it("blocks outside a loop", function()
      local deadline = now() + 0.05
      loop.sleep(0.05)
      assert.is_true(now() >= deadline) -- returned after its deadline, not before
      assert.is_nil(loop.current())
    end)

    it("rejects bad durations", function()
      assert.has_error(function() loop.sleep(-1) end)
      assert.has_error(function() loop.sleep("1") end)
    end)
  end)

  describe("tasks", function()
    it("wait() returns pcall-style results", function()
      loop.run(function()
        local good = loop.spawn(function(x) loop.sleep(0.01) return x * 2, "ok" end, 21)
        local bad = loop.spawn(function() loop.sleep(0.01) error("bad", 0) end)
        assert.same({ true, 42, "ok" }, { good:wait() })
        assert.same({ false, "bad" }, { bad:wait() })
        assert.is_true(good:done())
        -- waiting again after the end is fine
        assert.same({ true, 42, "ok" }, { good:wait() })
      end)
    end)

    it("raises the error of a task nothing waited for once all tasks end", function()
      local other_done = false
      local ok, err = pcall(loop.run, function()
        loop.spawn(function() loop.sleep(0.1) other_done = true end)
        loop.spawn(function() error("orphan failed", 0) end)
        loop.sleep(0.02)
        return "main done"
      end)
      assert.is_false(ok)
      assert.equal("orphan failed", err)
      assert.is_true(other_done)
    end)

    it("does not raise a task error that something waited for later", function()
      local v = loop.run(function()
        local t = loop.spawn(function() error("seen", 0) end)
        loop.sleep(0.02) -- t fails before anything waits for it
        local ok, err = t:wait()
        assert.is_false(ok)
        return err
      end)
      assert.equal("seen", v)
    end)

    it("cancels a task and its in-flight transfer", function()
      loop.run(function()
        local multi = loop.current().multi
        local slow = loop.spawn(function()
          return loop.request({ url = srv.url .. "/delay?ms=5000" })
        end)
        loop.sleep(0.05)
        assert.equal(1, multi:count())
        assert.is_true(slow:cancel())
        assert.equal(0, multi:count())        -- the transfer is gone with its task
        assert.is_false(slow:cancel())
        assert.same({ false, "cancelled" }, { slow:wait() })
      end)
    end)

    it("abandons and closes pending tasks when run() fails", function()
      local closed = false
      local multi
      local ok, err = pcall(loop.run, function()
        multi = loop.current().multi
        loop.spawn(function()
          loop.request({ url = srv.url .. "/delay?ms=5000" })
        end)
        if _VERSION == "Lua 5.4" then
          -- a to-be-closed variable of an abandoned task is closed
          local body = assert(load([[
            local loop, mark = ...
            local guard <close> = setmetatable({}, { __close = mark })
            loop.sleep(10)
          ]]))
          loop.spawn(body, loop, function() closed = true end)
        end
        loop.sleep(0.05)
        error("main failed", 0)
      end)
      assert.is_false(ok)
      assert.equal("main failed", err)
      -- the in-flight transfer was aborted: the loop's multi handle is closed
      assert.equal("mediacdn.Multi (closed)", tostring(multi))
      if _VERSION == "Lua 5.4" then assert.is_true(closed) end
    end)

    it("closes a task that raised (Lua 5.4 to-be-closed variables)", function()
      if _VERSION ~= "Lua 5.4" then return pending("to-be-closed variables need Lua 5.4") end
      local closed = false
      local body = assert(load([[
        local loop, mark = ...
        local guard <close> = setmetatable({}, { __close = mark })
        loop.sleep(0.01)
        error("task failed", 0)
      ]]))
      loop.run(function()
        local t = loop.spawn(body, loop, function() closed = true end)
        assert.same({ false, "task failed" }, { t:wait() })
      end)
      assert.is_true(closed)
    end)

    it("detects tasks waiting for each other", function()
      local ok, err = pcall(loop.run, function()
        local t1, t2
        t1 = loop.spawn(function() loop.sleep(0) t2:wait() end)
        t2 = loop.spawn(function() loop.sleep(0) t1:wait() end)
      end)
      assert.is_false(ok)
      assert.matches("deadlock", err)
    end)

    it("tolerates a bare coroutine.yield() in a task", function()
      local v = loop.run(function()
        coroutine.yield()
        loop.sleep(0)
        coroutine.yield("ignored")
        return "done"
      end)
      assert.equal("done", v)
    end)
  end)

  describe("gather", function()
    it("returns results and errors in order", function()
      local fns = {
        function() loop.sleep(0.06) return "a" end,
        function() loop.sleep(0.01) error("b failed", 0) end,
        function() return nil, "c soft error" end,
        function() loop.sleep(0.03) return "d" end,
        function() return false end,
      }
      local results, errs = loop.gather(fns)
      assert.equal("a", results[1])
      assert.is_nil(results[2])
      assert.equal("b failed", errs[2])
      assert.is_nil(results[3])
      assert.equal("c soft error", errs[3])
      assert.equal("d", results[4])
      assert.equal(false, results[5])
      assert.is_nil(errs[1])
      assert.is_nil(errs[4])
      assert.is_nil(errs[5])
    end)

    it("honours opts.concurrency", function()
      local active, peak = 0, 0
      local fns = {}
      for i = 1, 12 do
        fns[i] = function()
          active = active + 1
          if active > peak then peak = active end
          loop.sleep(0.01)
          active = active - 1
          return i
        end
      end
      local results = loop.gather(fns, { concurrency = 3 })
      assert.equal(3, peak)
      for i = 1, 12 do assert.equal(i, results[i]) end
    end)

    it("works inside a loop and with no functions", function()
      local r = loop.run(function()
        local results = loop.gather({ function() return 1 end, function() return 2 end })
        local empty, errs = loop.gather({})
        assert.same({}, empty)
        assert.same({}, errs)
        return results
      end)
      assert.same({ 1, 2 }, r)
    end)

    it("rejects bad arguments", function()
      assert.has_error(function() loop.gather("x") end)
      assert.has_error(function() loop.gather({ 1 }) end)
      assert.has_error(function() loop.gather({}, { concurrency = 0 }) end)
      assert.has_error(function() loop.gather({}, { concurrency = 1.5 }) end)
    end)
  end)

  describe("requests", function()
    it("runs 50 requests to a 200 ms endpoint concurrently", function()
      local t = curl.new()
      local fns, in_flight, peak = {}, 0, 0
      for i = 1, 50 do
        fns[i] = function()
          in_flight = in_flight + 1
          if in_flight > peak then peak = in_flight end
          local res, err = t:request({ url = srv.url .. "/delay?ms=200&i=" .. i })
          in_flight = in_flight - 1
          if not res then return nil, err end
          return res.status
        end
      end
      local results, errs = loop.gather(fns, { concurrency = 50 })
      for i = 1, 50 do
        assert.is_nil(errs[i])
        assert.equal(200, results[i])
      end
      assert.equal(50, peak) -- all 50 transfers were in flight at once
      t:close()
    end)

    it("returns transport errors as nil, terr", function()
      local res, err = loop.run(function()
        return loop.request({ url = "http://127.0.0.1:1/" })
      end)
      assert.is_nil(res)
      assert.equal("transient", err.kind)
      res, err = loop.run(function()
        return loop.request({ url = srv.url .. "/delay?ms=2000", timeout = 0.2 })
      end)
      assert.is_nil(res)
      assert.equal("timeout", err.kind)
    end)

    it("reuses connections between sequential requests in a loop", function()
      local a, b = loop.run(function()
        local r1 = json(loop.request({ url = srv.url .. "/echo" }))
        local r2 = json(loop.request({ method = "POST", url = srv.url .. "/echo", body = "x" }))
        return r1, r2
      end)
      assert.equal(a.connection, b.connection)
    end)

    it("keeps request bodies alive while the transfer runs", function()
      local bodies = loop.run(function()
        local fns = {}
        for i = 1, 10 do
          fns[i] = function()
            local res = loop.request({ method = "POST", url = srv.url .. "/echo",
              body = ("%d:"):format(i) .. string.rep("q", 20000) })
            return json(res).body
          end
        end
        loop.spawn(function()
          for _ = 1, 20 do collectgarbage("collect") loop.sleep(0.001) end
        end)
        return (loop.gather(fns))
      end)
      for i = 1, 10 do assert.equal(("%d:"):format(i) .. string.rep("q", 20000), bodies[i]) end
    end)

    it("raises on a malformed req, naming the field", function()
      local ok, err = pcall(loop.run, function() return loop.request({ url = srv.url, body = 5 }) end)
      assert.is_false(ok)
      assert.matches("req.body must be a string", err)
      ok, err = pcall(loop.request, { url = {} }) -- outside a loop too
      assert.is_false(ok)
      assert.matches("req.url must be a string", err)
    end)

    it("performs a blocking request outside a loop", function()
      local res = assert(loop.request({ url = srv.url .. "/echo" }))
      assert.equal(200, res.status)
    end)

    it("sinks to a file inside a loop", function()
      local dir = httpd.tmpdir()
      local path = dir .. "/out"
      local res = loop.run(function()
        return loop.request({ url = srv.url .. "/bytes?n=500000", sink = path })
      end)
      assert.is_nil(res.body)
      assert.equal(500000, res.bytes)
      assert.equal(res.headers["x-body-sha1"], httpd.sha1_file(path))
      httpd.sh_ok("rm -rf '" .. dir .. "'")
    end)
  end)

  describe("loop.new driven by another event loop", function()
    -- wait until fd is readable or timeout_ms pass: LuaSocket's select when
    -- it is installed, else plain sleeping for the timeout (capped)
    local function poll(fd, timeout_ms)
      local ok, socket = pcall(require, "socket")
      local secs = timeout_ms < 0 and 0.05 or math.min(timeout_ms / 1000, 0.05)
      if ok and socket.select then
        socket.select({ { getfd = function() return fd end } }, nil, secs)
      else
        core.sleep(secs)
      end
    end

    it("runs tasks through fd/timeout/step/alive", function()
      local l = loop.new()
      assert.is_false(l:alive())
      assert.is_number(l:fd())
      local results = {}
      local tasks = {}
      for i = 1, 5 do
        tasks[i] = l:spawn(function()
          local res = assert(loop.request({ url = srv.url .. "/delay?ms=100" }))
          loop.sleep(0.01)
          results[i] = res.status
          return i
        end)
      end
      assert.is_true(l:alive())
      assert.equal(0, l:timeout())
      local steps, t0 = 0, now()
      while l:alive() and now() - t0 < 10 do
        poll(l:fd(), l:timeout())
        l:step()
        steps = steps + 1
      end
      assert.is_false(l:alive())
      for i = 1, 5 do
        assert.equal(200, results[i])
        assert.same({ true, i }, { tasks[i]:wait() })
      end
      assert.is_true(steps > 1)
      assert.equal(-1, l:timeout())
      l:close()
      l:close()
      assert.has_error(function() l:step() end)
    end)

    it("raises from step() the error of a task nobody waits for", function()
      local l = loop.new()
      l:spawn(function() error("lost", 0) end)
      local ok, err = pcall(l.step, l)
      assert.is_false(ok)
      assert.equal("lost", err)
      assert.is_false(l:alive())
      l:close()
    end)

    it("refuses to step from inside itself", function()
      local l = loop.new()
      local inner_ok
      l:spawn(function() inner_ok = pcall(l.step, l) end)
      l:run()
      assert.is_false(inner_ok)
      l:close()
    end)
  end)
end)
