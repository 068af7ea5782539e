-- bench/lib/bench.lua: what the benchmark rows share (bench/run.sh runs them).
--
--   local bench = require "bench"            -- LUA_PATH holds bench/lib and spec/
--   local up = bench.upstream()               -- the bench upstream (nginx): up.url, up:stop()
--   local r = bench.run_c("stat_loop", { url, 5000 })  -- a C baseline: {calls_per_s=, ...}
--   bench.run{ "node", "x.mjs" }              -- any command printing key=value: a table
--   bench.run_rss{ "curl", ... }              -- a command's {seconds=, maxrss_kb=}
--   bench.rss_kb()                            -- this process's peak RSS (VmHWM), KiB
--   bench.row{ name=, ours=, base=, base_name=, unit=, higher=true, rss_kb=, base_rss_kb= }
--   bench.time(fn) -> seconds (monotonic)
--
-- A row prints one tab-separated line starting "ROW" that run.sh turns into the
-- table; ratio = ours / baseline when higher is better, baseline / ours when
-- lower is better, so a ratio above 1 always means mediacdn did better.
local util = require "helpers.util"

local M = {}

local shell_quote, read_file, write_file = util.shell_quote, util.read_file, util.write_file

M.root = util.root
M.sleep = util.sleep

-- this process's peak resident set (VmHWM) in KiB
function M.rss_kb()
  local s = read_file("/proc/self/status") or ""
  return tonumber(s:match("VmHWM:%s+(%d+)"))
end

-- peak RSS of another process (KiB)
function M.rss_of(pid)
  local s = read_file("/proc/" .. pid .. "/status") or ""
  return tonumber(s:match("VmHWM:%s+(%d+)"))
end

-- the monotonic clock (mediacdn.core's, loaded on first use: a process that
-- measures a baseline's peak RSS need not load the core)
local clock
local function monotonic()
  if not clock then
    local ok, core = pcall(require, "mediacdn.core")
    clock = ok and core.monotonic or util.now
  end
  return clock()
end
M.now = monotonic

-- the round whose ratio ours/base is the median of rounds {ours=, base=, ...}
-- (each round measures both sides back to back: a shared machine's drift
-- between rounds then cancels out)
function M.median_round(rounds)
  table.sort(rounds, function(a, b) return a.ours / a.base < b.ours / b.base end)
  return rounds[math.floor((#rounds + 1) / 2)]
end

function M.time(fn)
  local t0 = monotonic()
  fn()
  return monotonic() - t0
end

-- run the command ARGV (a list, each word shell-quoted here); returns its
-- key=value output as a table (numbers where the value is one); raises with
-- the output when it fails
function M.run(argv)
  local parts = {}
  for i, a in ipairs(argv) do parts[i] = shell_quote(tostring(a)) end
  local out, rc = util.capture(table.concat(parts, " "))
  if rc ~= 0 then error("bench: " .. argv[1] .. " failed: " .. out, 0) end
  local r = {}
  for k, v in out:gmatch("([%w_]+)=(%S+)") do r[k] = tonumber(v) or v end
  return r
end

-- run a C baseline from build/bench/; returns its key=value output as a table
function M.run_c(name, args)
  local argv = { M.root .. "/build/bench/" .. name }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  return M.run(argv)
end

-- run the command ARGV under build/bench/run_rss: {seconds=, maxrss_kb=} of
-- that process (the way to give a CLI baseline such as curl its peak RSS)
function M.run_rss(argv)
  local args = {}
  for i, a in ipairs(argv) do args[i] = a end
  return M.run_c("run_rss", args)
end

local function fmt(v)
  if type(v) ~= "number" then return tostring(v) end
  if v >= 100 then return ("%.0f"):format(v) end
  if v >= 1 then return ("%.2f"):format(v) end
  return ("%.3g"):format(v)
end

function M.row(r)
  local ratio = r.higher == false and (r.base / r.ours) or (r.ours / r.base)
  print(table.concat({ "ROW", r.name, fmt(r.ours), r.base_name, fmt(r.base), r.unit,
    ("%.2f"):format(ratio), tostring(r.rss_kb or ""), tostring(r.base_rss_kb or ""),
    r.target and ("%.2f"):format(r.target) or "" }, "\t"))
  io.stdout:flush()
end

---------------------------------------------------------------------------
-- the bench upstream: nginx with bench/fixtures/upstream.conf.in

local Upstream = {}
Upstream.__index = Upstream

function Upstream:stop()
  if self.stopped then return end
  self.stopped = true
  util.terminate(self.pid, 5)
  util.sh_ok("rm -rf " .. shell_quote(self.prefix))
end

function Upstream:worker_pid()
  return util.children(self.pid)[1]
end

function M.upstream()
  local fixtures = M.root .. "/bench/fixtures"
  local template = assert(read_file(fixtures .. "/upstream.conf.in"))
  local stat = require("bench_upstream_stat")
  local prefix = util.tmpdir("mediacdn-bench")
  util.sh_ok("mkdir -p " .. shell_quote(prefix .. "/logs") .. " " .. shell_quote(prefix .. "/tmp")
    .. " " .. shell_quote(prefix .. "/conf"))
  for _ = 1, 8 do
    local port = util.free_ports(1)[1]
    local conf = template:gsub("@([%u_]+)@", {
      PREFIX = prefix, FIXTURES = fixtures, PORT = tostring(port), STAT_JSON = stat,
      USER = util.is_root() and "user root;" or "",
    })
    write_file(prefix .. "/conf/nginx.conf", conf)
    os.remove(prefix .. "/logs/nginx.pid")
    local out = util.capture(("env -u LUA_PATH -u LUA_CPATH -u LD_PRELOAD nginx -p %s -c conf/nginx.conf "
      .. "-e logs/error.log >/dev/null 2>&1 & echo $!"):format(shell_quote(prefix)))
    local pid = tonumber(out:match("(%d+)"))
    for _ = 1, 250 do
      if read_file(prefix .. "/logs/nginx.pid") or not util.alive(pid) then break end
      util.sleep(0.02)
    end
    if pid and util.alive(pid) and read_file(prefix .. "/logs/nginx.pid") then
      local self = setmetatable({ pid = pid, prefix = prefix, port = port,
        url = "http://127.0.0.1:" .. port }, Upstream)
      self._guard = util.gc_guard(function() self:stop() end)
      return self
    end
    if pid then util.terminate(pid, 2) end
    local log = read_file(prefix .. "/logs/error.log") or ""
    if not log:find("Address already in use", 1, true) then
      error("bench: the upstream did not start: " .. log, 0)
    end
  end
  error("bench: no free port for the upstream", 0)
end

return M
