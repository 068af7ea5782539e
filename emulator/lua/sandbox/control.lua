-- sandbox.control: the /_sandbox/* control API (no auth, loopback clients only).
--
--   GET  /_sandbox/health                 {ok, files, version}
--   POST /_sandbox/faults {rules=[...]}   add fault rules; GET lists; DELETE clears
--   GET  /_sandbox/stats                  {requests = {["GET /v2/files/stat"]=n}, token_requests, total}
--   POST /_sandbox/stats/reset           (also the rate-limit 429 counts and the write log)
--   GET  /_sandbox/writes                 {["POST /v2/files/meta/tags"] = {[filename] = n}}: successful writes
--   GET  /_sandbox/windows                {closed = [{bucket, start, count, limit}], open = [...], window_seconds}
--   GET  /_sandbox/limits                 every bucket, window_seconds, overrides
--   POST /_sandbox/limits {limits={...}, window_seconds=N}; DELETE drops overrides
--   POST /_sandbox/limits/reset           every window restarts now
--   POST /_sandbox/seed {count, dirname, seed?, subdirs?, meta?}
--   POST /_sandbox/reset                  forget files, meta, jobs, tokens, faults, counters
--   GET|POST /_sandbox/config {latency_ms, scroll_ttl, job_seconds, window_seconds, token_clock_offset}
--   GET  /_sandbox/zip/<job id>/<name>    a finished zip job's archive
--   /_sandbox/sv/*                        SpareVideos: seed, tokens, files, reset (sandbox.sv.control)

local config = require "sandbox.config"
local http = require "sandbox.http"
local json = require "sandbox.json"
local fs = require "sandbox.fs"
local blob = require "sandbox.blob"
local faults = require "sandbox.faults"
local counters = require "sandbox.counters"
local ratelimit = require "sandbox.ratelimit"
local events = require "sandbox.events"
local auth = require "sandbox.auth"
local seed = require "sandbox.seed"
local util = require "sandbox.util"
local persist = require "sandbox.persist"

local ngx = ngx
local type, pairs, tostring, floor = type, pairs, tostring, math.floor
local sub, match = string.sub, string.match

local control = {}

-- The library's version, read from the one place it is written (the C core's
-- defaults header, three folders above this file); the sandbox does not load
-- the binding. "unknown" when the sandbox runs away from its source tree.
local function library_version()
  local src = debug.getinfo(1, "S").source
  local dir = type(src) == "string" and match(src, "^@(.*)/emulator/lua/sandbox/[^/]+$")
  local f = dir and io.open(dir .. "/csrc/core/mc_defaults.h", "r")
  if not f then return "unknown" end
  local text = f:read("*a")
  f:close()
  return match(text, '#define%s+MC_VERSION%s+"([^"]+)"') or "unknown"
end

control.version = library_version()

local function ok(value)
  return http.json(200, value or { ok = true })
end

local function body_table()
  local b, res = http.read_json(64 * 1024 * 1024)
  if res then return nil, res end
  if b == nil then return {} end
  if type(b) ~= "table" then return nil, http.bad_request("body must be a JSON object") end
  return b
end

local function loopback(addr)
  return addr and (sub(addr, 1, 4) == "127." or addr == "::1" or addr == "unix:")
end

function control.reset_all()
  fs.reset()
  blob.remove_all()
  require("sandbox.handlers.jobs").reset()
  require("sandbox.handlers.search").reset()
  require("sandbox.handlers.tus").reset()
  require("sandbox.handlers.account").reset()
  require("sandbox.sv.state").reset()
  events.reset()
  faults.clear()
  counters.reset()
  counters.reset_transfer()
  ratelimit.reset_windows()
  auth.rotate()
  persist.save(true)
end

local routes = {}

routes["GET /_sandbox/health"] = function()
  local files = fs.totals()
  return ok({ ok = true, version = control.version, files = files })
end

routes["POST /_sandbox/faults"] = function()
  local b, res = body_table()
  if not b then return res end
  local list = b.rules or (json.is_array(b) and b) or nil
  if list == nil then return http.bad_request("body must be {rules = [...]}") end
  local added, err = faults.add(list)
  if not added then return http.bad_request(err) end
  return ok({ added = added, rules = faults.list() })
end

routes["GET /_sandbox/faults"] = function()
  return ok({ rules = faults.list() })
end

routes["DELETE /_sandbox/faults"] = function()
  faults.clear()
  return ok({ rules = json.array() })
end

routes["GET /_sandbox/stats"] = function()
  return ok(counters.snapshot())
end

routes["GET /_sandbox/writes"] = function()
  return ok(counters.writes())
end

routes["GET /_sandbox/windows"] = function()
  return ok(ratelimit.history())
end

routes["POST /_sandbox/stats/reset"] = function()
  counters.reset()
  return ok(counters.snapshot())
end

local function limits_view()
  local overrides = {}
  for k, v in pairs(ratelimit.overrides()) do overrides[k] = v end
  return {
    limits = ratelimit.snapshot(),
    window_seconds = config.window_seconds,
    hourly_limit = config.hourly_limit,
    overrides = overrides,
  }
end

routes["GET /_sandbox/limits"] = function()
  return ok(limits_view())
end

routes["POST /_sandbox/limits"] = function()
  local b, res = body_table()
  if not b then return res end
  local limits = b.limits
  if limits ~= nil and (type(limits) ~= "table" or json.is_array(limits)) then
    return http.bad_request("limits must be an object {bucket = n}")
  end
  for k, v in pairs(limits or {}) do
    if type(v) ~= "number" or v < 0 then return http.bad_request("limits." .. tostring(k) .. " must be a number >= 0") end
    limits[k] = floor(v)
  end
  local w = b.window_seconds
  if w ~= nil and (type(w) ~= "number" or w < 1) then return http.bad_request("window_seconds must be a number >= 1") end
  if b.hourly_limit ~= nil then
    if b.hourly_limit == json.null or b.hourly_limit == false then
      config.hourly_limit = nil
    elseif type(b.hourly_limit) == "number" and b.hourly_limit >= 0 then
      config.hourly_limit = floor(b.hourly_limit)
    else
      return http.bad_request("hourly_limit must be a number >= 0 or null")
    end
  end
  ratelimit.set(limits, w)
  return ok(limits_view())
end

routes["DELETE /_sandbox/limits"] = function()
  ratelimit.clear_overrides()
  return ok(limits_view())
end

routes["POST /_sandbox/limits/reset"] = function()
  ratelimit.reset_windows()
  return ok(limits_view())
end

routes["POST /_sandbox/seed"] = function()
  local b, res = body_table()
  if not b then return res end
  local t0 = util.now()
  local out, err, st = seed.run(b)
  if not out then return http.boom(st or 400, err) end
  out.seconds = util.now() - t0
  return ok(out)
end

routes["GET /_sandbox/tus"] = function()
  return ok(require("sandbox.handlers.tus").knobs())
end

routes["POST /_sandbox/tus"] = function()
  local b, res = body_table()
  if not b then return res end
  local view, err = require("sandbox.handlers.tus").set_knobs(b)
  if not view then return http.bad_request(err) end
  return ok(view)
end

routes["POST /_sandbox/reset"] = function()
  control.reset_all()
  return ok({ ok = true })
end

routes["GET /_sandbox/config"] = function()
  return ok(config.public())
end

routes["POST /_sandbox/config"] = function()
  local b, res = body_table()
  if not b then return res end
  for k, v in pairs(b) do
    local knob = config.runtime_knobs[k]
    if not knob then return http.bad_request('"' .. tostring(k) .. '" is not a runtime knob') end
    if type(v) ~= "number" or v < knob.min or v > knob.max then
      return http.bad_request(k .. " must be a number in " .. knob.min .. ".." .. knob.max)
    end
  end
  for k, v in pairs(b) do config[k] = v end
  return ok(config.public())
end

local function zip_download(uri)
  local id = match(uri, "^/_sandbox/zip/([%w]+)")
  local job = id and require("sandbox.handlers.jobs").get(id)
  if not job or not job.blob then return http.boom(404, "No such archive") end
  return {
    status = 200,
    headers = {
      ["content-type"] = "application/zip",
      ["content-disposition"] = 'attachment; filename="' .. job.zip_name:gsub('"', "") .. '"',
    },
    source = blob.source(job.blob),
  }
end

function control.handle(method, uri)
  if not loopback(ngx.var.remote_addr) then
    return http.boom(403, "The control API answers loopback clients only")
  end
  if uri:sub(-1) == "/" and #uri > 10 then uri = uri:sub(1, -2) end
  if sub(uri, 1, 14) == "/_sandbox/zip/" and (method == "GET" or method == "HEAD") then
    return zip_download(uri)
  end
  if sub(uri, 1, 13) == "/_sandbox/sv/" then
    return require("sandbox.sv.control").handle(method, uri)
  end
  local fn = routes[method .. " " .. uri]
  if not fn then
    return http.boom(404, "No control endpoint " .. method .. " " .. uri)
  end
  return fn()
end

return control
