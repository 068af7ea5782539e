-- Sirv image URLs built per second: mediacdn.sirv.url.build (validated,
-- escaped, sorted, in C) against a plain Lua builder that joins the same
-- options unescaped with table.concat (what hand-written code does, and gets
-- wrong). Prints both rates and the cost ratio (the issue's goal: <= 2x).
-- Run under each VM:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/lua54/?.so;;' lua5.4 bench/url_build.lua [N]
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/luajit/?.so;;' luajit bench/url_build.lua [N]
local url = require "mediacdn.sirv.url"

local N = tonumber(arg and arg[1]) or 200000
local clock, concat, pairs, tostring = os.clock, table.concat, pairs, tostring

local BASE, PATH = "https://demo.sirv.com", "/products/shoe.jpg"
local SETS = {
  { name = "5 flat options", opts = { w = 300, h = 200, format = "webp", q = 80, ["scale.option"] = "fill" } },
  { name = "2 options", opts = { w = 640, format = "webp" } },
  { name = "8 options, text", opts = { w = 800, h = 600, format = "webp", q = 75, ["crop.type"] = "face",
    text = "Summer sale", ["text.color"] = "ffffff", ["text.size"] = 20 } },
}

-- the baseline: join name=value pairs as they come, no checks, no escaping
local function naive(base, path, opts)
  local parts, n = {}, 0
  for k, v in pairs(opts) do
    n = n + 1
    parts[n] = k .. "=" .. tostring(v)
  end
  return base .. path .. "?" .. concat(parts, "&")
end

-- seconds for N calls of fn, best of 3 runs (CPU time)
local function time(fn, opts)
  local best = math.huge
  for _ = 1, 3 do
    local t0 = clock()
    for i = 1, N do
      opts.w = 100 + i % 50 -- a different URL each time, as in a handler
      fn(BASE, PATH, opts)
    end
    local t = clock() - t0
    if t < best then best = t end
  end
  return best
end

local vm = rawget(_G, "jit") and jit.version or _VERSION
print(("%s, %d URLs per run, best of 3"):format(vm, N))
for _, s in ipairs(SETS) do
  local tb = time(url.build, s.opts)
  local tn = time(naive, s.opts)
  print(("%-16s url.build %9.0f URLs/s   table.concat %9.0f URLs/s   cost ratio %.2fx (goal <= 2x)")
    :format(s.name, N / tb, N / tn, tb / tn))
end
