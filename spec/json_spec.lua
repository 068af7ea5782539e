-- The JSON bridge (csrc/lua/mc_lua_json.c over cJSON).
local mediacdn = require "mediacdn"
local core = require "mediacdn.core"

-- Resident set size of this process in bytes (Linux), or nil.
local function rss()
  local f = io.open("/proc/self/statm", "r")
  if not f then return nil end
  local _, resident = f:read("*n", "*n")
  f:close()
  return resident and resident * 4096
end

-- Running under AddressSanitizer (scripts/build.sh with MC_SANITIZE=1 and
-- libasan preloaded)? Its allocator keeps freed memory in quarantine, so RSS
-- says nothing there; its leak checker (detect_leaks=1) judges at exit.
-- whether a memory checker holds freed blocks back (ASan's quarantine,
-- valgrind's freed-block list), so RSS says nothing about a leak: the ASan
-- runtime or valgrind's preload is mapped (scripts/check-asan.sh clears
-- LD_PRELOAD once the interpreter has started, so look at the mappings)
local function under_memcheck()
  local f = io.open("/proc/self/maps", "r")
  local maps = f and f:read("*a") or ""
  if f then f:close() end
  return maps:find("libasan", 1, true) ~= nil or maps:find("vgpreload", 1, true) ~= nil
    or (os.getenv("LD_PRELOAD") or ""):find("asan", 1, true) ~= nil
end

describe("mediacdn JSON", function()
  it("decodes objects, arrays, null and numbers", function()
    local v = assert(mediacdn.json_decode('{"a":[1,2.5,null,{}],"b":[],"c":"x\\u00fc","d":true}'))
    assert.are.equal(1, v.a[1])
    assert.are.equal(2.5, v.a[2])
    assert.are.equal(mediacdn.null, v.a[3])
    assert.are.same({}, v.a[4])
    assert.are.equal(mediacdn.array_mt, getmetatable(v.a))
    assert.are.equal(mediacdn.array_mt, getmetatable(v.b))
    assert.are.equal("xü", v.c)
    assert.is_true(v.d)
  end)

  it("keeps an empty array an array and an empty table an object on encode", function()
    assert.are.equal('{"a":[],"b":{}}', (mediacdn.json_encode({ a = mediacdn.array(), b = {} }):gsub('("b":{}),("a":%[%])', "%2,%1")))
    assert.are.equal("[1,2,3]", mediacdn.json_encode({ 1, 2, 3 }))
    assert.are.equal("null", mediacdn.json_encode(mediacdn.null))
  end)

  it("round-trips a decoded document", function()
    local text = '{"x":[{"y":null,"z":[]}],"n":-12.75}'
    local again = mediacdn.json_decode(mediacdn.json_encode(mediacdn.json_decode(text)))
    assert.are.equal(-12.75, again.n)
    assert.are.equal(mediacdn.null, again.x[1].y)
    assert.are.equal(mediacdn.array_mt, getmetatable(again.x[1].z))
  end)

  it("rejects truncated, invalid, trailing-garbage and NUL input with a message", function()
    for _, bad in ipairs{ '{"a":[1,2', '{"a":}', '[1] x', '', 'nul', '{"a":"b"\0}' } do
      local v, err = mediacdn.json_decode(bad)
      assert.is_nil(v)
      assert.is_string(err)
    end
    local _, err = mediacdn.json_decode('{"a":[1,2')
    assert.matches("truncated", err)
  end)

  -- json_decode builds tables from the parser's events: members wait on the
  -- Lua stack until their container ends, big containers are made early, and
  -- a parent is made when too much waits (LuaJIT allows 8,000 slots)
  it("decodes big, wide and deep documents, escapes and repeated keys", function()
    local nums = {}
    for i = 1, 70000 do nums[i] = tostring(i) end
    local big = assert(core.json_decode("[" .. table.concat(nums, ",") .. "]"))
    assert.are.equal(70000, #big)
    assert.are.equal(69999, big[69999])
    assert.are.equal(mediacdn.array_mt, getmetatable(big))
    local members = {}
    for i = 1, 40000 do members[i] = ('"k%d":%d'):format(i % 35000, i) end
    local obj = assert(core.json_decode("{" .. table.concat(members, ",") .. "}"))
    assert.are.equal(34999, obj.k34999)
    assert.are.equal(39999, obj.k4999)   -- a repeated key keeps its last value
    local n = 0
    for _ in pairs(obj) do n = n + 1 end
    assert.are.equal(35000, n)
    -- 1000 levels, each holding 100 members before its child
    local row, orow = table.concat(nums, ",", 1, 100), {}
    for i = 1, 100 do orow[i] = ('"m%d":%d'):format(i, i) end
    orow = table.concat(orow, ",")
    local levels = {}
    for d = 1, 1000 do levels[d] = (d % 2 == 0) and ("[" .. row .. ",") or ("{" .. orow .. ',"z":') end
    local closing = {}
    for d = 1000, 1, -1 do closing[#closing + 1] = (d % 2 == 0) and "]" or "}" end
    local deep = assert(core.json_decode(table.concat(levels) .. "0" .. table.concat(closing)))
    local depth, x = 0, deep
    while type(x) == "table" do
      depth = depth + 1
      if getmetatable(x) == mediacdn.array_mt then
        assert.are.equal(101, #x); assert.are.equal(100, x[100]); x = x[101]
      else
        assert.are.equal(100, x.m100); x = x.z
      end
    end
    assert.are.equal(1000, depth)
    assert.are.equal(0, x)
    -- escapes, long ones too; a \u escape with bad hex digits is refused
    local long = assert(core.json_decode('["' .. string.rep("ab\\n", 400) .. '\\u00e9"]'))[1]
    assert.are.equal(string.rep("ab\\n", 400):gsub("\\n", "\n") .. "\195\169", long)
    local nothing, why = core.json_decode('["ab\\uzzzzcd"]')  -- cJSON cut it to "ab" without a word
    assert.is_nil(nothing)
    assert.matches("invalid \\u escape at byte 4", why, 1, true)
    assert.are.equal("\240\159\152\128", core.json_decode('"\\ud83d\\ude00"'))
    -- integers stay integers where the VM has them; other numbers are floats
    local v = assert(core.json_decode("[1,-0,2.5,1e2,9007199254740993,1e400]"))
    if math.type then
      assert.are.equal("integer", math.type(v[1]))
      assert.are.equal("integer", math.type(v[4]))
      assert.are.equal("float", math.type(v[3]))
      assert.are.equal("float", math.type(v[5]))
    end
    assert.are.equal(100, v[4])
    assert.are.equal(math.huge, v[6])
    -- invalid input after values were made: nil and the offset
    local r, err = core.json_decode('{"a":[1,2,{"b":x}]}')
    assert.is_nil(r)
    assert.are.equal("invalid JSON at byte 15", err)
  end)

  it("rejects nesting deeper than 1000 levels without crashing", function()
    local deep = string.rep("[", 1001) .. string.rep("]", 1001)
    local v, err = mediacdn.json_decode(deep)
    assert.is_nil(v)
    assert.is_string(err)
    assert.is_table(mediacdn.json_decode(string.rep("[", 900) .. string.rep("]", 900)))
  end)

  it("rejects input over the size limit", function()
    local v, err = mediacdn.json_decode('"' .. string.rep("a", 2000) .. '"', 1000)
    assert.is_nil(v)
    assert.matches("too large", err)
  end)

  it("refuses to encode functions, NaN, cycles and mixed tables", function()
    local cyc = {}; cyc.self = cyc
    for _, bad in ipairs{ { f = print }, { n = 0 / 0 }, cyc, { 1, 2, x = 3 }, { [1] = 1, [3] = 3 } } do
      local s, err = mediacdn.json_encode(bad)
      assert.is_nil(s)
      assert.is_string(err)
    end
  end)

  -- a raise while the decoded tree is turned into Lua values (here: the Lua
  -- stack runs out half way down a deep document) must not leak the tree
  it("frees the parsed tree when building the Lua value raises half way", function()
    local doc = '["' .. string.rep("x", 1024 * 1024) .. '",'
      .. string.rep("[", 900) .. string.rep("]", 900) .. "]"
    -- a recursion with big frames (90 registers each) that eats the stack of
    -- a fresh coroutine, then decodes at its bottom
    local regs = {}
    for i = 1, 90 do regs[i] = "r" .. i end
    local dive = assert(load("local dive, n, leaf = ... local " .. table.concat(regs, ", ")
      .. " if n == 0 then return leaf() end local v = dive(dive, n - 1, leaf) return v"))
    -- "overflow": the recursion ran out first; "mid": json_decode raised; "ok"
    local function try(depth)
      local entered, returned = false, false
      local co = coroutine.create(function()
        return dive(dive, depth, function()
          entered = true
          local v = core.json_decode(doc)
          returned = true
          return v
        end)
      end)
      if coroutine.resume(co) then return "ok" end
      return (entered and not returned) and "mid" or "overflow"
    end
    -- the depth where the recursion itself overflows, then just above it
    local lo, hi = 1, 200000
    while lo < hi do
      local m = math.floor((lo + hi) / 2)
      if try(m) == "overflow" then hi = m else lo = m + 1 end
    end
    local depth
    for d = lo - 1, math.max(1, lo - 200), -1 do
      local r = try(d)
      if r == "mid" then depth = d break end
      if r == "ok" then break end
    end
    assert.is_number(depth, "no depth makes json_decode raise half way")
    collectgarbage()
    collectgarbage()
    local before, heap_before = rss(), collectgarbage("count")
    local raised = 0
    for _ = 1, 50 do
      if try(depth) == "mid" then raised = raised + 1 end
    end
    collectgarbage()
    collectgarbage()
    assert.equal(50, raised) -- 50 documents of over 1 MiB each abandoned half way
    -- what a raise leaves is the collector's: the Lua heap is back where it was
    -- (the decoder owns no C memory while it builds; check-asan and
    -- check-valgrind watch the C side)
    local heap_growth = (collectgarbage("count") - heap_before) * 1024
    assert.is_true(heap_growth < 4 * 1024 * 1024, ("Lua heap grew by %d bytes"):format(heap_growth))
    if before and not under_memcheck() then
      -- leaked in C, 50 copies of the string would hold over 50 MB; the
      -- allocator may keep some freed pages, so only a leak's size fails here
      assert.is_true(rss() - before < 48 * 1024 * 1024, ("RSS grew by %d bytes"):format(rss() - before))
    end
    -- and the bridge still works
    assert.same({ 1 }, { (core.json_decode("[1]"))[1] })
  end)

  it("raises on a wrong argument type", function()
    assert.has_error(function() mediacdn.json_decode(42) end, "mediacdn.json_decode: argument #1 must be a string")
  end)
end)
