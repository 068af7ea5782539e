-- Row: JSON decoding of a 1,000-hit search page (Sirv's postFilesSearch shape)
-- with mediacdn.json_decode (arrays marked, null as mediacdn.null) against
-- lua-cjson's decode of the same text. Best of 5 rounds of K decodes each;
-- the peak RSS of each side from a fresh process that loads and runs only it.
--   LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;bench/lib/?.lua;;' LUA_CPATH='build/lua54/?.so;;' \
--     lua5.4 bench/json_decode.lua [K]
local bench = require "bench"

-- child mode (--rss mediacdn|cjson K): only that decoder loaded and run, for
-- its own peak RSS
local child = arg and arg[1] == "--rss" and arg[2]
local K = tonumber(arg and (child and arg[3] or arg[1])) or 50
local VM = rawget(_G, "jit") and "LuaJIT" or "Lua 5.4"

-- a page like Sirv's: hits with _index/_id/_score/_source (file fields, meta, tags)
local hits = {}
for i = 1, 1000 do
  hits[i] = ('{"_index":"sirv-files","_type":"_doc","_id":"%032x","_score":1.%d,"_source":{'
    .. '"accountId":"acc000000000000000000001","filename":"/photos/2024/img_%05d.jpg",'
    .. '"dirname":"/photos/2024","basename":"img_%05d.jpg","extension":".jpg","id":"%032x",'
    .. '"ctime":"2024-01-%02dT10:00:00.000Z","mtime":"2024-02-%02dT11:30:00.000Z",'
    .. '"size":%d,"contentType":"image/jpeg","isDirectory":false,'
    .. '"meta":{"width":%d,"height":%d,"format":"JPEG","duration":null,'
    .. '"title":"Photo number %d","description":"","tags":["summer","sale","t%d"]}}}')
    :format(i, i % 1000, i, i, i * 7, i % 28 + 1, i % 28 + 1, 10000 + i * 37, 640 + i % 500,
      480 + i % 300, i, i % 10)
end
local text = '{"hits":[' .. table.concat(hits, ",") .. '],"total":12345,"_relation":"eq",'
  .. '"scrollId":"FGluY2x1ZGVfY29udGV4dF91dWlkDXF1ZXJ5QW5kRmV0Y2gBFmZh"}'

local function best(fn)
  local b = math.huge
  for _ = 1, 5 do
    collectgarbage("collect")
    b = math.min(b, bench.time(function() for _ = 1, K do fn(text) end end))
  end
  return b / K
end

if child then
  local decode = child == "cjson" and require("cjson").decode or require("mediacdn").json_decode
  for _ = 1, K do assert(#decode(text).hits == 1000) end
  print(("maxrss_kb=%d"):format(bench.rss_kb()))
  os.exit(0)
end

local mediacdn = require "mediacdn"
local cjson = require "cjson"
assert(#mediacdn.json_decode(text).hits == 1000)
assert(#cjson.decode(text).hits == 1000)
local ours = best(mediacdn.json_decode)
local base = best(cjson.decode)
-- peak RSS: each decoder alone in a fresh process under this VM
local function rss_of(which)
  return bench.run{ arg[-1], bench.root .. "/bench/json_decode.lua", "--rss", which, K }.maxrss_kb
end
bench.row{ name = ("JSON decode, 1,000-hit search page, %d KB (%s)"):format(math.floor(#text / 1024), VM),
  ours = ours * 1000, base = base * 1000, base_name = "lua-cjson decode", unit = "ms/page",
  higher = false, rss_kb = rss_of("mediacdn"), base_rss_kb = rss_of("cjson") }
