-- sandbox.endpoints: the 60 Sirv methods as data, read from
-- emulator/data/sirv-endpoints.json (a copy of shared/api/sirv-endpoints.json).
--
-- endpoints.find(verb, path) -> entry | nil
-- entry: the JSON object plus `bucket` (own rate bucket name or nil),
-- `counted` (counts against rest:global) and `query_by_name`.

local json = require "sandbox.json"

local io_open, ipairs, error, tostring = io.open, ipairs, error, tostring

local endpoints = {}

local by_route = {}    -- "GET /v2/files/stat" -> entry
local by_name = {}     -- "getFilesStat" -> entry
local list = {}

local function emulator_dir()
  local src = debug.getinfo(1, "S").source
  local file = src:sub(1, 1) == "@" and src:sub(2) or src
  local dir = file:match("^(.*)/lua/sandbox/endpoints%.lua$")
  return dir or "."
end

endpoints.dir = emulator_dir()

-- which bucket a method uses, from its rateLimitBucket text
local function classify(e)
  local b = e.rateLimitBucket
  if b == json.null or b == nil then
    -- token and download: no headers, not counted. tus helpers: counted on the global
    -- bucket (they are ordinary REST calls; the data gives no bucket)
    if e.name == "postToken" or e.name == "getFilesDownload" or e.name == "postUpload" then
      return nil, false
    end
    return nil, true
  end
  if b == "rest:global" or b:find("^global only") then
    return nil, true
  end
  return b, true
end

function endpoints.load(path)
  path = path or (endpoints.dir .. "/data/sirv-endpoints.json")
  local f, err = io_open(path, "rb")
  if not f then error("sandbox: cannot read " .. path .. ": " .. tostring(err)) end
  local text = f:read("*a")
  f:close()
  local data, derr = json.decode(text)
  if not data then error("sandbox: bad endpoints JSON: " .. derr) end
  by_route, by_name, list = {}, {}, {}
  for _, e in ipairs(data) do
    e.bucket, e.counted = classify(e)
    e.query_by_name = {}
    for _, q in ipairs(e.query or {}) do e.query_by_name[q.name] = q end
    if e.body == json.null then e.body = nil end
    by_route[e.verb .. " " .. e.path] = e
    by_name[e.name] = e
    list[#list + 1] = e
  end
  return #list
end

function endpoints.find(verb, path)
  return by_route[verb .. " " .. path]
end

function endpoints.get(name)
  return by_name[name]
end

function endpoints.all()
  return list
end

-- is there any method at this path (for 404 vs 405-like answers)
function endpoints.path_known(path)
  for _, e in ipairs(list) do
    if e.path == path then return true end
  end
  return false
end

return endpoints
