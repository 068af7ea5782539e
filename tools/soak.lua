--[[
tools/soak.lua — the fault soak (issue 18 §3). Runs mixed operations against
the sandbox while it injects random faults, once over the blocking transport
(libcurl easy, one caller) and once over mediacdn.loop (curl multi, N tasks),
then compares the sandbox's final state with the state the operations meant to
leave, and prints per transport and in total:

  operations, faults met, retries, failed (then reconciled), lost, duplicated,
  mismatched                        -- the last three must be 0 (exit 1 if not)

  scripts/soak.sh [--ops 10000] [--seed N] [--concurrency 16] [--large-kb 2048]
                  [--transports blocking,loop] [--vm lua5.4|luajit]
  (LUA_PATH needs lua/ and spec/ (helpers.sandbox); LUA_CPATH the core build)

Faults (sandbox fault rules with a probability, on every request):
about 10 % 5xx (500/502/503/504), 2 % 429 with a 1 s reset, 1 % connection
reset after the server acted (response cut mid-body), 1 % "Expired token" 401,
0.3 % stalls longer than the client's stall limit.

The model: each task owns a folder (/soak/<transport>/t<k>) and a table of the
files it holds there (content sha256 and size, title, tags). A call that
succeeds updates the model. A call that fails (after the client's own
retries) has an unknown outcome: the task reads the server's state of the
paths involved and takes what it finds when it is one of the two legal
outcomes (done / not done); anything else is counted: both rename ends
present = duplicated, neither = lost, other content or meta = mismatched.
Read operations check what they read against the model (download: content;
search: the set of files in the folder). At the end, with faults off, every
folder is listed and every file downloaded and its meta read: a model file
missing is lost, a file the model does not hold is duplicated, any other
difference is mismatched.

A stalled request is still carried out by the server after the client gave
up on it; a task whose call met a timeout waits for the stall to end before
its next operation, so a late write of an earlier attempt cannot be mistaken
for a lost update (any client has that race; it is not what is measured).

Operations: small upload (new or overwrite), large upload (streamed from a
file), download, stat, meta edit (title; add or remove a tag), search,
rename, copy, delete, tus upload (Sirv's resumable flow, 256 KiB chunks);
SpareVideos upload and delete (the same fault mix on /api/v1/*, the
SpareVideos file server and the tus endpoint /upload/*). A SpareVideos file whose code never
came back (a failed upload call, or a POST attempt cut off after the file
server stored it: the API gives no way to learn that code) is counted as an
orphan; more orphans than such calls and attempts is a duplication.
]]

local sandbox = require "helpers.sandbox"
local core = require "mediacdn.core"
local loop = require "mediacdn.loop"
local sirv_mod = require "mediacdn.sirv"
local sv_mod = require "mediacdn.sparevideos"

local unpack = table.unpack or unpack
local floor, random, format, concat = math.floor, math.random, string.format, table.concat
local pairs, ipairs, tostring, tonumber, pcall, type = pairs, ipairs, tostring, tonumber, pcall, type
local sha256 = core.sha256_hex
local now = core.monotonic

local STALL = 3            -- stall fault seconds (> the client's stall limit)
local CLIENT_STALL = 1.5   -- client stall_timeout

---------------------------------------------------------------------------
-- options

local opt = { ops = 10000, seed = os.time(), concurrency = 16, large_kb = 2048,
              transports = { "blocking", "loop" }, stall = 0.003 }
do
  local i = 1
  while arg and arg[i] do
    local k, v = arg[i], arg[i + 1]
    if k == "--ops" then opt.ops = assert(tonumber(v), "--ops N")
    elseif k == "--seed" then opt.seed = assert(tonumber(v), "--seed N")
    elseif k == "--concurrency" then opt.concurrency = assert(tonumber(v), "--concurrency N")
    elseif k == "--large-kb" then opt.large_kb = assert(tonumber(v), "--large-kb N")
    elseif k == "--stall-probability" then opt.stall = assert(tonumber(v), "--stall-probability P")
    elseif k == "--transports" then
      opt.transports = {}
      for t in v:gmatch("[^,]+") do
        assert(t == "blocking" or t == "loop", "--transports: blocking and/or loop")
        opt.transports[#opt.transports + 1] = t
      end
    else error("soak: unknown argument " .. tostring(k), 0) end
    i = i + 2
  end
end
math.randomseed(opt.seed)

---------------------------------------------------------------------------
-- content: a pool of random bytes; each content is a unique header + a slice

local POOL
do
  local parts, chunk = {}, {}
  for _ = 1, 1024 * 1024 do
    chunk[#chunk + 1] = random(0, 255)
    if #chunk == 4096 then parts[#parts + 1] = string.char(unpack(chunk)) chunk = {} end
  end
  POOL = concat(parts)
end

local serial = 0
local function content(size)
  serial = serial + 1
  local head = format("soak-%d-%d\n", opt.seed, serial)
  local need = size - #head
  local out = { head }
  while need > 0 do
    local n = math.min(need, #POOL)
    local at = random(1, #POOL - n + 1)
    out[#out + 1] = POOL:sub(at, at + n - 1)
    need = need - n
  end
  return concat(out)
end

local function read_all(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function write_all(path, data)
  local f = assert(io.open(path, "wb"))
  assert(f:write(data))
  f:close()
end

---------------------------------------------------------------------------
-- counters of one transport run

local function new_stats(name)
  return { name = name, ops = 0, by_op = {}, failed = 0, failed_kinds = {}, retries = 0,
           waits_429 = 0, reauths = 0, timeouts = 0, lost = 0, duplicated = 0, mismatched = 0,
           notes = {}, seen = {}, sv_retried_posts = 0, sv_failed_uploads = 0, sv_orphans = 0 }
end

-- record a finding (lost / duplicated / mismatched) with a short note; one
-- wrong path counts once per kind, however often it is seen again
local function finding(st, what, note, path)
  local key = what .. "\0" .. (path or note)
  if st.seen[key] then return end
  st.seen[key] = true
  st[what] = st[what] + 1
  if #st.notes < 20 then st.notes[#st.notes + 1] = what .. ": " .. note end
end

---------------------------------------------------------------------------
-- a client whose events are counted against the task that made the call

local task_of = setmetatable({}, { __mode = "k" })  -- coroutine -> task

-- count one event of either client against the run (and the task that met it)
local function counter(st)
  return function(ev)
    if ev.type == "retry" then
      st.retries = st.retries + 1
      if ev.service == "sparevideos" and ev.operation == "upload" then
        st.sv_retried_posts = st.sv_retried_posts + 1
      end
    elseif ev.type == "rate_limit" and ev.reason == "429" then st.waits_429 = st.waits_429 + 1
    elseif ev.type == "token" and ev.action == "invalidate" then st.reauths = st.reauths + 1
    elseif ev.type == "response" and ev.error == "timeout" then
      st.timeouts = st.timeouts + 1
      local t = task_of[coroutine.running() or 0]
      if t then t.timed_out = true end
    end
  end
end

-- the SpareVideos client of a run (the sandbox's key pair)
local function new_sv(url, st)
  return sv_mod.new{
    base_url = url .. "/api/v1", public_key = "sandbox-public-key", private_key = "sandbox-private-key",
    timeout = 20, stall_timeout = CLIENT_STALL, max_wait = 30,
    retry = { attempts = 8, base = 0.05, cap = 1, deadline = 120 },
    on_event = counter(st),
  }
end

local function new_client(url, st)
  return sirv_mod.new{
    base_url = url, client_id = "sandbox-client-id", client_secret = "sandbox-client-secret",
    timeout = 20, stall_timeout = CLIENT_STALL, max_wait = 30,
    retry = { attempts = 8, base = 0.05, cap = 1, deadline = 120 },
    on_event = counter(st),
  }
end

---------------------------------------------------------------------------
-- a task: one folder, its model, its operations

local Task = {}
Task.__index = Task

local function new_task(client, sv, dir, st, nops)
  local t = setmetatable({ c = client, sv = sv, dir = dir, st = st, nops = nops, files = {}, list = {},
                           index = {}, n = 0, tmp = os.tmpname(), videos = {}, vlist = {} }, Task)
  return t
end

function Task:put(path, entry)
  if not self.files[path] then
    self.list[#self.list + 1] = path
    self.index[path] = #self.list
  end
  self.files[path] = entry
end

function Task:drop(path)
  local i = self.index[path]
  if not i then return end
  local last = self.list[#self.list]
  self.list[i], self.index[last] = last, i
  self.list[#self.list] = nil
  self.index[path], self.files[path] = nil, nil
end

function Task:pick()
  if #self.list == 0 then return nil end
  return self.list[random(1, #self.list)]
end

function Task:fresh(ext)
  self.n = self.n + 1
  return format("%s/f%d%s", self.dir, self.n, ext or ".bin")
end

local function copy_entry(e)
  local tags = {}
  for k in pairs(e.tags) do tags[k] = true end
  return { sha = e.sha, size = e.size, title = e.title, tags = tags, ed = e.ed }
end

-- sleep in a loop task (yields) or in a plain script (blocks)
local function pause(s) loop.sleep(s) end

-- retry a read until the server answers it (faults are on): value | "absent"
function Task:probe(fn)
  for _ = 1, 30 do
    local v, err = fn()
    if v ~= nil then return v end
    if err and err.kind == "not_found" then return "absent" end
    pause(0.2)
  end
  error("soak: the sandbox did not answer a read in 30 tries", 0)
end

-- sha256 of a remote file, or "absent"
function Task:remote_sha(path)
  return self:probe(function()
    local ok, err = self.c:download(path, self.tmp)
    if not ok then return nil, err end
    return sha256(read_all(self.tmp) or "")
  end)
end

-- {title, tags = set} of a remote file, or "absent"
function Task:remote_meta(path)
  return self:probe(function()
    local m, err = self.c:meta(path)
    if not m then return nil, err end
    local tags = {}
    for _, tg in ipairs(type(m.tags) == "table" and m.tags or {}) do tags[tg] = true end
    local title = type(m.title) == "string" and m.title ~= "" and m.title or nil
    return { title = title, tags = tags }
  end)
end

local function same_tags(a, b)
  for k in pairs(a) do if not b[k] then return false end end
  for k in pairs(b) do if not a[k] then return false end end
  return true
end

---------------------------------------------------------------------------
-- operations: each returns nothing; a failed call reconciles the model

local ops = {}

-- note a failed call (its outcome is then read back from the server); when
-- an attempt of it timed out, the server may still be carrying it out: wait
-- for the stall to end before reading the outcome back
function Task:failed(err)
  self.st.failed = self.st.failed + 1
  local k = tostring(err and err.kind)
  self.st.failed_kinds[k] = (self.st.failed_kinds[k] or 0) + 1
  if self.timed_out then
    pause(STALL + 0.5)
    self.timed_out = false
  end
end

-- kind: "small" ({data=} in memory), "large" (streamed from a file) or
-- "tus" (Sirv's tus flow: resumable, 256 KiB chunks)
local function upload(t, kind)
  local large = kind ~= "small"
  local path = (large or random() < 0.5 or #t.list == 0) and t:fresh() or t:pick()
  local old = t.files[path]
  local data = content(large and opt.large_kb * 1024 or random(1, 64 * 1024))
  local ok, err
  if large then
    local src = t.tmp .. ".src"
    write_all(src, data)
    if kind == "tus" then
      ok, err = t.c:upload(path, src, { resumable = true, journal = false, chunk_size = 256 * 1024 })
    else
      ok, err = t.c:upload(path, src)
    end
    os.remove(src)
  else
    ok, err = t.c:upload(path, { data = data })
  end
  local e = old and copy_entry(old) or { tags = {} }
  e.sha, e.size = sha256(data), #data
  if ok then t:put(path, e) return end
  t:failed(err)
  local sha = t:remote_sha(path)
  if sha == e.sha then t:put(path, e)
  elseif (old and sha == old.sha) or (not old and sha == "absent") then return
  else
    finding(t.st, "mismatched", "upload " .. path .. " left other content", path)
    if sha == "absent" then t:drop(path) end
  end
end

ops.upload_small = function(t) upload(t, "small") end
ops.upload_large = function(t) upload(t, "large") end
ops.upload_tus = function(t) upload(t, "tus") end

ops.download = function(t)
  local path = t:pick()
  if not path then return ops.upload_small(t) end
  local ok, err = t.c:download(path, t.tmp)
  if not ok then t:failed(err) return end
  local sha = sha256(read_all(t.tmp) or "")
  if sha ~= t.files[path].sha then finding(t.st, "mismatched", "download " .. path, path) end
end

ops.stat = function(t)
  local path = t:pick()
  if not path then return ops.upload_small(t) end
  local st, err = t.c:stat(path)
  if not st then t:failed(err) return end
  if st.size ~= t.files[path].size then
    finding(t.st, "mismatched",
      format("stat %s: size %s, meant %d", path, tostring(st.size), t.files[path].size), path)
  end
end

ops.meta = function(t)
  local path = t:pick()
  if not path then return ops.upload_small(t) end
  local e = t.files[path]
  local ok, err, want
  local r = random()
  if r < 0.4 then
    want = { title = format("title %d", random(1, 1e6)), tags = e.tags }
    ok, err = t.c:set_meta(path, { title = want.title })
  elseif r < 0.8 or not next(e.tags) then
    local tag = "tag" .. random(1, 20)
    want = { title = e.title, tags = copy_entry(e).tags }
    want.tags[tag] = true
    ok, err = t.c:add_tags(path, { tag })
  else
    local tag = next(e.tags)
    want = { title = e.title, tags = copy_entry(e).tags }
    want.tags[tag] = nil
    ok, err = t.c:remove_tags(path, { tag })
  end
  if not ok then
    t:failed(err)
    local m = t:remote_meta(path)
    if m == "absent" then finding(t.st, "lost", "meta edit: " .. path .. " gone", path) t:drop(path) return end
    if m.title == want.title and same_tags(m.tags, want.tags) then ok = true
    elseif not (m.title == e.title and same_tags(m.tags, e.tags)) then
      finding(t.st, "mismatched", "meta edit " .. path .. " left other meta", path)
      e.title, e.tags = m.title, m.tags
      return
    end
  end
  if ok then e.title, e.tags, e.ed = want.title, want.tags, true end
end

ops.search = function(t)
  local q = "dirname:" .. t.dir:gsub("/", "\\/")
  local seen = {}
  local ok, err = pcall(function()
    for hit in t.c:search{ query = q } do
      if hit.path and not (hit._source and hit._source.isDirectory) then seen[hit.path] = true end
    end
  end)
  if not ok then t:failed(type(err) == "table" and err or { kind = "raised" }) return end
  for p in pairs(t.files) do
    if not seen[p] then finding(t.st, "mismatched", "search misses " .. p, p) return end
  end
  for p in pairs(seen) do
    if not t.files[p] then finding(t.st, "mismatched", "search shows " .. p, p) return end
  end
end

ops.rename = function(t)
  local from = t:pick()
  if not from then return ops.upload_small(t) end
  local to = t:fresh()
  local ok, err = t.c:rename(from, to)
  local e = t.files[from]
  if not ok then
    t:failed(err)
    local a = t:probe(function() return t.c:stat(from) end)
    local b = t:probe(function() return t.c:stat(to) end)
    if a ~= "absent" and b ~= "absent" then
      finding(t.st, "duplicated", "rename " .. from .. " -> " .. to .. ": both exist", to)
      t:put(to, copy_entry(e))
      return
    elseif a == "absent" and b == "absent" then
      finding(t.st, "lost", "rename " .. from .. " -> " .. to .. ": neither exists", from)
      t:drop(from)
      return
    elseif a ~= "absent" then
      return                                    -- not done
    end
  end
  t:drop(from)
  t:put(to, e)
end

ops.copy = function(t)
  local from = t:pick()
  if not from then return ops.upload_small(t) end
  local to = t:fresh()
  local ok, err = t.c:copy(from, to)
  if not ok then
    t:failed(err)
    if t:probe(function() return t.c:stat(to) end) == "absent" then return end
  end
  local e = copy_entry(t.files[from])
  if not e.ed then e.title, e.tags = nil, {} end
  t:put(to, e)
end

ops.delete = function(t)
  local path = t:pick()
  if not path then return ops.upload_small(t) end
  local ok, err = t.c:delete(path)
  if not ok then
    t:failed(err)
    if t:probe(function() return t.c:stat(path) end) ~= "absent" then return end
  end
  t:drop(path)
end

-- SpareVideos: upload a small "video" (its code joins the model) ...
ops.sv_upload = function(t)
  local data = content(random(1, 32 * 1024))
  local src = t.tmp .. ".mp4"
  write_all(src, data)
  local code, err = t.sv:upload(src)
  os.remove(src)
  if not code then
    -- the outcome is unknown: a file the server stored stays as an orphan
    -- (SpareVideos has no way to learn its code); the final count allows for it
    t:failed(err)
    t.st.sv_failed_uploads = t.st.sv_failed_uploads + 1
    return
  end
  t.videos[code] = #data
  t.vlist[#t.vlist + 1] = code
end

-- ... and delete one (a failed delete is read back with sv:file)
ops.sv_delete = function(t)
  if #t.vlist == 0 then return ops.sv_upload(t) end
  local i = random(1, #t.vlist)
  local code = t.vlist[i]
  local ok, err = t.sv:delete{ code }
  if not ok then
    t:failed(err)
    local gone = t:probe(function() return t.sv:file(code) end) == "absent"
    if not gone then return end
  end
  t.vlist[i] = t.vlist[#t.vlist]
  t.vlist[#t.vlist] = nil
  t.videos[code] = nil
end

local MIX = {
  { "upload_small", 25 }, { "upload_large", 3 }, { "download", 15 }, { "stat", 10 },
  { "meta", 15 }, { "search", 5 }, { "rename", 10 }, { "copy", 5 }, { "delete", 12 },
  { "sv_upload", 4 }, { "sv_delete", 2 }, { "upload_tus", 2 },
}
local MIX_TOTAL = 0
for _, m in ipairs(MIX) do MIX_TOTAL = MIX_TOTAL + m[2] end

local function pick_op()
  local r = random() * MIX_TOTAL
  for _, m in ipairs(MIX) do
    r = r - m[2]
    if r <= 0 then return m[1] end
  end
  return MIX[1][1]
end

-- run this task's operations
function Task:run()
  task_of[coroutine.running() or 0] = self
  for _ = 1, self.nops do
    local name = pick_op()
    self.st.ops = self.st.ops + 1
    self.st.by_op[name] = (self.st.by_op[name] or 0) + 1
    self.timed_out = false
    ops[name](self)
    if self.timed_out then pause(STALL + 0.5) end   -- let a stalled attempt land
  end
  os.remove(self.tmp)
end

---------------------------------------------------------------------------
-- final comparison (faults off): listing, content and meta of every file

local function verify(client, tasks, st)
  local t0 = tasks[1]
  for _, t in ipairs(tasks) do
    local found = {}
    local ok, err = pcall(function()
      for e in client:readdir(t.dir) do
        if not e.isDirectory then found[e.path] = true end
      end
    end)
    if not ok and not (type(err) == "table" and err.kind == "not_found") then
      error("soak: cannot list " .. t.dir .. ": " .. tostring(err), 0)
    end
    for path, e in pairs(t.files) do
      if not found[path] then
        finding(st, "lost", path .. " is missing", path)
      else
        t.c = client
        local sha = t0.remote_sha(t, path)
        if sha ~= e.sha then finding(st, "mismatched", path .. ": other content", path) end
        local m = t0.remote_meta(t, path)
        if m == "absent" or m.title ~= e.title or not same_tags(m.tags, e.tags) then
          finding(st, "mismatched", path .. ": other meta", path)
        end
      end
    end
    for path in pairs(found) do
      if not t.files[path] then finding(st, "duplicated", path .. " was never meant to exist", path) end
    end
    os.remove(t.tmp)
  end
end

-- SpareVideos codes an earlier run expected or counted as orphans
local sv_known = {}

-- the sandbox's SpareVideos files against the codes the uploads returned: a
-- returned code missing is lost; a file whose code never came back is an
-- orphan of a failed upload call or of a POST attempt cut off after the store
-- (SpareVideos cannot tell its code; never converted, so never billed) -- more
-- of those than such calls and attempts is a duplication
local function verify_sv(sb, tasks, st)
  local status, body = sb:control("GET", "/_sandbox/sv/files")
  if status ~= 200 or type(body) ~= "table" then error("soak: cannot list the SpareVideos files", 0) end
  local found, expected, extra = {}, {}, 0
  for _, f in ipairs(body.files or {}) do found[f.code] = f.size end
  for _, t in ipairs(tasks) do
    for code, size in pairs(t.videos) do expected[code] = size end
  end
  for code, size in pairs(expected) do
    if not found[code] then finding(st, "lost", "video " .. code .. " is missing", code)
    elseif found[code] ~= size then finding(st, "mismatched", "video " .. code .. ": other size", code) end
    sv_known[code] = true
  end
  for code in pairs(found) do
    if not sv_known[code] then
      extra = extra + 1
      sv_known[code] = true
    end
  end
  local allowance = st.sv_failed_uploads + st.sv_retried_posts
  st.sv_orphans = math.min(extra, allowance)
  if extra > allowance then
    finding(st, "duplicated", ("%d videos more than failed uploads and retried POSTs (%d) can leave")
      :format(extra - allowance, allowance))
  end
end

---------------------------------------------------------------------------
-- faults

-- the same mix on Sirv (/v2/*), the SpareVideos API (/api/v1/*) and its
-- upload file server (/fileservers/*)
local function fault_rules()
  local rules = {}
  local function add(r) rules[#rules + 1] = r end
  for _, all in ipairs({ "/v2/*", "/api/v1/*", "/fileservers/*", "/upload/*" }) do
    add{ path = all, action = "status", status = 503, probability = 0.04, times = -1 }
    add{ path = all, action = "status", status = 500, probability = 0.02, times = -1 }
    add{ path = all, action = "status", status = 502, probability = 0.02, times = -1 }
    add{ path = all, action = "status", status = 504, probability = 0.02, times = -1 }
    local upload_server = all == "/fileservers/*" or all == "/upload/*"
    if not upload_server then             -- the upload servers send no rate limits
      add{ path = all, action = "rate_limit", reset_in = 1, probability = 0.02, times = -1 }
    end
    add{ path = all, action = "reset", probability = 0.01, times = -1 }
    add{ path = all, action = "stall", seconds = STALL, probability = opt.stall, times = -1 }
    -- Sirv's token endpoint never answers "Expired token" (the real one does not)
    if all == "/v2/*" then add{ path = "/v2/token", action = "latency", ms = 0, times = -1 } end
    if not upload_server then
      add{ path = all, action = "expired_token", probability = 0.01, times = -1 }
    end
  end
  return rules
end

-- faults that fired, by kind, from the sandbox's rule counters
local function faults_met(sb)
  local _, body = sb:control("GET", "/_sandbox/faults")
  local by, total = {}, 0
  for _, r in ipairs(body and body.rules or {}) do
    if r.action ~= "latency" then
      local k = r.action == "status" and format("%d", r.status) or r.action
      by[k] = (by[k] or 0) + floor(r.fired)
      total = total + floor(r.fired)
    end
  end
  return total, by
end

local function kv(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  for i, k in ipairs(keys) do keys[i] = k .. " " .. t[k] end
  return concat(keys, ", ")
end

---------------------------------------------------------------------------
-- one transport run

local function run_transport(sb, name, nops)
  local st = new_stats(name)
  local client, sv = new_client(sb.url, st), new_sv(sb.url, st)
  local ntasks = name == "loop" and opt.concurrency or 1
  local tasks = {}
  for k = 1, ntasks do
    local share = floor(nops / ntasks) + (k <= nops % ntasks and 1 or 0)
    tasks[k] = new_task(client, sv, format("/soak/%s/t%d", name, k), st, share)
  end
  sb:clear_faults()
  sb:faults(fault_rules())
  local t0 = now()
  if name == "loop" then
    loop.run(function()
      local running = {}
      for k, t in ipairs(tasks) do running[k] = loop.spawn(function() t:run() end) end
      for _, task in ipairs(running) do
        local ok, err = task:wait()
        if not ok then error(err, 0) end
      end
    end)
  else
    tasks[1]:run()
  end
  st.elapsed = now() - t0
  st.faults, st.faults_by = faults_met(sb)
  sb:clear_faults()
  core.sleep(STALL + 0.5)            -- stalled requests still in the server land now
  verify(new_client(sb.url, new_stats("verify")), tasks, st)
  verify_sv(sb, tasks, st)
  return st
end

local function report(st)
  print(format("soak %-8s: %d operations (%s) in %.0f s", st.name, st.ops, kv(st.by_op), st.elapsed))
  print(format("soak %-8s: faults met %d (%s); retries %d, 429 waits %d, re-auths %d, timeouts %d",
    st.name, st.faults, kv(st.faults_by), st.retries, st.waits_429, st.reauths, st.timeouts))
  print(format("soak %-8s: failed then reconciled %d (%s); SpareVideos orphans %d (of %d failed uploads "
    .. "and %d retried POSTs)", st.name, st.failed, kv(st.failed_kinds), st.sv_orphans, st.sv_failed_uploads,
    st.sv_retried_posts))
  for _, n in ipairs(st.notes) do print("  " .. n) end
  print(format("soak %-8s: lost %d, duplicated %d, mismatched %d", st.name, st.lost, st.duplicated, st.mismatched))
end

---------------------------------------------------------------------------
-- main

local sb = sandbox.start{ workers = 1 }
local ok, err = pcall(function()
  sb:reset()
  local big = 100000000
  sb:limits{ limits = { ["rest:global"] = big, ["rest:post:files:search"] = big,
    ["rest:post:files:search:scroll"] = big, ["rest:post:files:upload"] = big,
    ["rest:post:files:delete"] = big } }
  print(format("soak: %d operations over %s, seed %d, loop concurrency %d, large uploads %d KB, %s",
    opt.ops, concat(opt.transports, " + "), opt.seed, opt.concurrency, opt.large_kb,
    rawget(_G, "jit") and "LuaJIT" or _VERSION))
  local total = { ops = 0, faults = 0, retries = 0, failed = 0, lost = 0, duplicated = 0, mismatched = 0 }
  for i, name in ipairs(opt.transports) do
    local n = floor(opt.ops / #opt.transports) + (i <= opt.ops % #opt.transports and 1 or 0)
    local st = run_transport(sb, name, n)
    report(st)
    for k in pairs(total) do total[k] = total[k] + st[k] end
  end
  print(format("soak total: operations %d, faults met %d, retries %d, failed then reconciled %d, "
    .. "lost %d, duplicated %d, mismatched %d", total.ops, total.faults, total.retries, total.failed,
    total.lost, total.duplicated, total.mismatched))
  return total.lost + total.duplicated + total.mismatched
end)
sb:stop()
if not ok then io.stderr:write(tostring(err), "\n") os.exit(2) end
os.exit(err == 0 and 0 or 1)
