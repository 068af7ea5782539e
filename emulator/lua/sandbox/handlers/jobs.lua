-- sandbox.handlers.jobs: the asynchronous jobs, batch delete and zip.
-- A job finishes config.job_seconds after it was started (an nginx timer does
-- the work then, polled or not). Polling answers
--   in progress: {"progress": 0..99}
--   finished:    {"progress": 100, "result": [...]}
-- batch delete result items: {filename, success, error?}; zip: [{filename, size, url}]
-- with url on this sandbox (GET /_sandbox/zip/<id>/<name>, no auth).

local fs = require "sandbox.fs"
local http = require "sandbox.http"
local json = require "sandbox.json"
local util = require "sandbox.util"
local config = require "sandbox.config"
local blob = require "sandbox.blob"
local zip = require "sandbox.zip"

local ngx = ngx
local ipairs, pairs, floor, min, os_date, pcall = ipairs, pairs, math.floor, math.min, os.date, pcall

local jobs = {}
local H = {}
jobs.handlers = H

local list = {}   -- id -> job

function jobs.reset()
  for _, j in pairs(list) do
    if j.blob then blob.unref(j.blob) end
  end
  list = {}
end

function jobs.get(id)
  return list[id]
end

local function finish_delete(job)
  local result = json.array()
  for _, name in ipairs(job.filenames) do
    local path = fs.normalize(name)
    local item = { filename = name }
    if not path then
      item.success = false
      item.error = "Path must start with /"
    else
      local n, _, msg = fs.remove_tree(path)
      item.success = n ~= nil
      if not n then item.error = msg end
    end
    result[#result + 1] = item
  end
  job.result = result
end

local function finish_zip(job)
  local entries = {}
  local seen = {}
  local function add(n, name)
    if n.dir then
      for _, child in ipairs(fs.list(n)) do
        add(n.children[child], name .. "/" .. child)
      end
    elseif not seen[name] then
      seen[name] = true
      entries[#entries + 1] = { name = name, blob = n.blob, mtime = n.mtime }
    end
  end
  for _, name in ipairs(job.filenames) do
    local path = fs.normalize(name)
    local n = path and fs.get(path)
    if n then add(n, n.name ~= "" and n.name or "root") end
  end
  local w = blob.writer()
  local size = zip.build(entries, w)
  local b = w.finish()
  job.blob = blob.ref(b)
  job.result = json.array({
    { filename = job.zip_name, size = size, url = job.base .. "/_sandbox/zip/" .. job.id .. "/" .. util.url_escape(job.zip_name) },
  })
end

local function finish(premature, job)
  if premature or list[job.id] ~= job or job.done then return end
  local ok, err = pcall(job.kind == "zip" and finish_zip or finish_delete, job)
  if not ok then
    ngx.log(ngx.ERR, "sandbox: job ", job.id, " failed: ", err)
    job.result = json.array()
    job.error = "Job failed"
  end
  job.done = true
end

local function start(kind, body, base)
  local now = util.now()
  local job = {
    id = util.random_id(32), kind = kind, created = now, seconds = config.job_seconds,
    filenames = body.filenames, base = base,
  }
  if kind == "zip" then
    job.zip_name = body.zipFilename or ("Sirv " .. os_date("!%B %d, %Y", floor(now)) .. ".zip")
  end
  list[job.id] = job
  local ok, err = ngx.timer.at(job.seconds, finish, job)
  if not ok then
    ngx.log(ngx.ERR, "sandbox: cannot start a job timer: ", err)
    finish(false, job)
  end
  return http.json(200, { id = job.id })
end

local function poll(req)
  local job = list[req.args.id]
  if not job then
    return http.boom(404, "Job not found: " .. req.args.id)
  end
  if not job.done and util.now() >= job.created + job.seconds + 1 then
    finish(false, job)   -- the timer is late (busy worker): finish now
  end
  if not job.done then
    local p = job.seconds > 0 and floor((util.now() - job.created) / job.seconds * 100) or 99
    return http.json(200, { progress = min(99, p) })
  end
  local out = { progress = 100, result = job.result }
  if job.error then out.error = job.error end
  return http.json(200, out)
end

H.postFilesBatchDelete = function(req)
  return start("delete", req.body, req.base)
end

H.getFilesBatchDelete = function(req)
  return poll(req)
end

H.postFilesZip = function(req)
  return start("zip", req.body, req.base)
end

H.getFilesZip = function(req)
  return poll(req)
end

return jobs
