-- spec/helpers/rig.lua: an nginx "rig" that runs mediacdn inside real
-- handlers, for specs that run under busted outside nginx (lua5.4, luajit).
--
--   local rig = require "helpers.rig"
--   local r = rig.start{ workers = 2, env = { SIRV_BASE_URL = url } }
--   local status, body = r:request{ path = "/t/transport_cases/request",
--                                   json = { req = {...} } }
--   r:stop()                 -- by pid; also stops the workers; idempotent
--
-- nginx gets a temp prefix with the config from spec/fixtures/rig/nginx.conf
-- (or opts.conf), free loopback ports, the checkout's lua/ on
-- lua_package_path and build/luajit/ (the LuaJIT build of mediacdn.core) on
-- lua_package_cpath. Requests from the spec go through the curl CLI, so the
-- helper needs nothing but a shell, curl, openssl and nginx.
--
-- Processes: nginx daemonizes; its master pid comes from logs/nginx.pid. stop()
-- sends TERM to that pid, waits, then KILLs the master and the worker pids it
-- had (found by parent pid) if they linger. Every started rig is also stopped
-- by rig.stop_all() and by the rig object's __gc, so a failing spec leaves no
-- process behind.

local json = require "dkjson"              -- (a busted dependency)
local util = require "helpers.util"

local M = {}

local started = setmetatable({}, { __mode = "k" })   -- live rigs

local Rig = {}
Rig.__index = Rig

local shell_quote, read_file, write_file = util.shell_quote, util.read_file, util.write_file
-- run a shell command; returns ok, output (stdout and stderr)
local sh = util.run
-- n distinct free ports (free now; nginx may still lose a race: start retries)
local pick_ports = util.free_ports

M.quote = shell_quote
M.read_file, M.write_file = read_file, write_file
M.root = util.root
M.sleep, M.now = util.sleep, util.now
M.pick_ports = pick_ports

-- TLS material: a CA, a server certificate for 127.0.0.1/localhost signed by
-- it, and an unrelated self-signed certificate
local function make_tls(dir)
  local ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
  local cmds = {
    ("openssl req -x509 %s -keyout %s/ca.key -out %s/ca.pem -days 2 "
      .. "-subj /CN=mediacdn-rig-ca"):format(ec, dir, dir),
    ("openssl req %s -keyout %s/server.key -out %s/server.csr "
      .. "-subj /CN=localhost"):format(ec, dir, dir),
    ("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > %s/san.ext"):format(dir),
    ("openssl x509 -req -in %s/server.csr -CA %s/ca.pem -CAkey %s/ca.key "
      .. "-CAcreateserial -days 2 -extfile %s/san.ext -out %s/server.pem")
      :format(dir, dir, dir, dir, dir),
    ("openssl req -x509 %s -keyout %s/untrusted.key -out %s/untrusted.pem "
      .. "-days 2 -subj /CN=localhost -addext "
      .. "subjectAltName=DNS:localhost,IP:127.0.0.1"):format(ec, dir, dir),
  }
  for _, c in ipairs(cmds) do
    local ok, out = sh(c)
    if not ok then error("rig: openssl failed: " .. c .. "\n" .. out, 0) end
  end
end

-- fill ${NAME} placeholders; unknown names are an error
local function render(template, vars)
  return (template:gsub("%${([%w_]+)}", function(k)
    local v = vars[k]
    if v == nil then error("rig: no value for ${" .. k .. "} in the config", 0) end
    return tostring(v)
  end))
end

-- a new rig object with an empty temp prefix (registered for stop_all)
local function new_rig(opts)
  local prefix = util.tmpdir("mediacdn-rig")
  sh("chmod 755 " .. prefix)
  local self = setmetatable({ prefix = prefix, opts = opts }, Rig)
  started[self] = true
  self._gc = util.gc_guard(function() self:stop() end)
  return self
end

-- a new rig set up by setup(self); when setup fails, the rig is stopped and
-- the error raised again at the caller of rig.start / rig.start_example
local function build(opts, setup)
  local self = new_rig(opts)
  local ok, err = pcall(setup, self)
  if not ok then
    self:stop()
    error(err, 3)
  end
  return self
end

--[[
Start nginx on prefix `nginx_prefix` with conf file `conf_path` (relative to
it), rewriting the config for fresh ports until one set binds:
make_conf(ports) -> text. exports: "NAME='value' ..." for nginx's environment.
]]
function Rig:_launch(nginx_prefix, conf_path, nports, make_conf, exports)
  for attempt = 1, 6 do
    local ports = pick_ports(nports)
    write_file(nginx_prefix .. "/" .. conf_path, make_conf(ports))
    os.remove(nginx_prefix .. "/logs/nginx.pid")
    local ok, out = sh(("cd %s && env %s nginx -p %s/ -c %s -e logs/error.log </dev/null")
      :format(shell_quote(nginx_prefix), exports or "", shell_quote(nginx_prefix), conf_path))
    if ok then
      -- the master writes its pid after daemonizing
      for _ = 1, 250 do
        local pid = tonumber(read_file(nginx_prefix .. "/logs/nginx.pid") or "")
        if pid then self.pid = pid break end
        M.sleep(0.02)
      end
      if not self.pid then error("rig: nginx started but wrote no pid file", 0) end
      self:_watchdog()
      self.pid_file = nginx_prefix .. "/logs/nginx.pid"
      self.log_file = nginx_prefix .. "/logs/error.log"
      return ports
    end
    local log = read_file(nginx_prefix .. "/logs/error.log") or ""
    if not (out .. log):find("Address already in use", 1, true) or attempt == 6 then
      error("rig: nginx failed to start:\n" .. out .. "\n" .. log:sub(-3000), 0)
    end
  end
end

--[[
A watchdog shell that stops nginx (TERM to the master, by pid) once this Lua
process is gone: busted killed, crashed or timed out before any teardown.
stop() ends the watchdog first (by its pid).
]]
function Rig:_watchdog()
  local cleanup = os.getenv("MC_RIG_KEEP") and "" or ("; sleep 2; rm -rf " .. self.prefix)
  -- alive = /proc entry present and not a zombie (a killed process may wait
  -- a while for its new parent to reap it)
  local ok, out = sh(("p=$PPID; setsid sh -c 'while [ -e /proc/'$p'/status ] && ! grep -q "
    .. "\"^State:[[:space:]]*Z\" /proc/'$p'/status 2>/dev/null; do sleep 0.5; done; "
    .. "kill -TERM %d 2>/dev/null%s' >/dev/null 2>&1 </dev/null & echo $!")
    :format(self.pid, cleanup))
  self.watchdog = ok and tonumber(out:match("(%d+)%s*$")) or nil
end

-- "env NAME=value;" lines and shell exports for opts.env / opts.pass_env
local function env_config(opts, extra)
  local lines, exports = {}, {}
  local envs = {}
  for k, v in pairs(extra or {}) do envs[k] = v end
  for k, v in pairs(opts.env or {}) do envs[k] = v end
  for k, v in pairs(envs) do lines[#lines + 1] = ("env %s=%s;"):format(k, v) end
  for k, v in pairs(opts.pass_env or {}) do
    lines[#lines + 1] = ("env %s;"):format(k)
    exports[#exports + 1] = k .. "=" .. shell_quote(v)
  end
  return table.concat(lines, "\n"), table.concat(exports, " ")
end

--[[
rig.start(opts) -> rig
  workers    worker_processes (default 2)
  env        { NAME = value } -> `env NAME=value;` (visible to os.getenv)
  pass_env   { NAME = value } -> set in nginx's environment and `env NAME;`
  http       extra http{} config text        server  extra rig server{} text
  conf       config template path (default spec/fixtures/rig/nginx.conf)
  log_level  error_log level (default "info")
  user       add `user root;` when running as root (default true)
rig fields: url, upstream_url, tls_url, untrusted_url, port, prefix, pid
]]
function M.start(opts)
  opts = opts or {}
  local rig = build(opts, function(self)
    local prefix = self.prefix
    for _, d in ipairs{ "conf", "logs", "tmp", "static", "recv", "tls", "work" } do
      sh("mkdir -p " .. prefix .. "/" .. d)
    end
    sh("chmod 777 " .. prefix .. "/recv " .. prefix .. "/work")
    make_tls(prefix .. "/tls")
    local template = assert(read_file(opts.conf or (M.root .. "/spec/fixtures/rig/nginx.conf")),
      "rig: cannot read the config template")
    local is_root = util.is_root()
    local ports = self:_launch(prefix, "conf/nginx.conf", 4, function(p)
      local env = env_config(opts, { RIG_UPSTREAM_URL = "http://127.0.0.1:" .. p[2] })
      return render(template, {
        USER = (opts.user ~= false and is_root) and "user root;" or "",
        WORKERS = opts.workers or 2, LOG_LEVEL = opts.log_level or "info",
        ENV = env, ROOT = M.root, PREFIX = prefix,
        HTTP = opts.http or "", SERVER = opts.server or "",
        PORT = p[1], UPSTREAM_PORT = p[2], TLS_PORT = p[3], UNTRUSTED_PORT = p[4],
      })
    end, select(2, env_config(opts)))
    self.port, self.upstream_port, self.tls_port, self.untrusted_port =
      ports[1], ports[2], ports[3], ports[4]
    self.url = "http://127.0.0.1:" .. self.port
    self.upstream_url = "http://127.0.0.1:" .. self.upstream_port
    self.tls_url = "https://127.0.0.1:" .. self.tls_port
    self.untrusted_url = "https://127.0.0.1:" .. self.untrusted_port
    self:_wait_ready("/t/rig_dispatch/ping", 200)
  end)
  return rig
end

--[[
rig.start_example(opts) -> rig running examples/openresty/nginx.conf as
shipped, except its `listen 127.0.0.1:8080;` (a free port) and its
environment (opts.pass_env, e.g. the SIRV_* variables). The prefix mirrors
the checkout (examples/openresty/ with lua/ and build/ two levels up, as
symlinks) so the config's $prefix-relative paths resolve unchanged.
]]
function M.start_example(opts)
  opts = opts or {}
  local rig = build(opts, function(self)
    local top = self.prefix
    local ex = top .. "/examples/openresty"
    sh("mkdir -p " .. ex .. "/logs " .. ex .. "/tmp && chmod -R 755 " .. top)
    for _, link in ipairs{ "lua", "build" } do
      sh(("ln -s %s/%s %s/%s"):format(M.root, link, top, link))
    end
    for _, f in ipairs{ "upload_proxy.lua", "list_folder.lua", "sirv_images.lua", "sparevideos_uploads.lua" } do
      sh(("ln -s %s/examples/openresty/%s %s/%s"):format(M.root, f, ex, f))
    end
    local conf = assert(read_file(M.root .. "/examples/openresty/nginx.conf"))
    local _, exports = env_config(opts)
    local ports = self:_launch(ex, "nginx.conf", 1, function(p)
      local text, n = conf:gsub("listen 127%.0%.0%.1:8080;", "listen 127.0.0.1:" .. p[1] .. ";")
      assert(n == 1, "rig: examples/openresty/nginx.conf no longer listens on 127.0.0.1:8080")
      -- as root, nginx runs workers as nobody, who cannot read a checkout under /root
      if util.is_root() then text = "user root;\n" .. text end
      return text
    end, exports)
    self.port = ports[1]
    self.url = "http://127.0.0.1:" .. self.port
    self:_wait_ready("/rig-ready-probe", nil)       -- any answer (404) will do
  end)
  return rig
end

-- wait until a worker answers (workers start a little after the master)
-- want: the status to wait for (nil: any HTTP answer)
function Rig:_wait_ready(path, want)
  for _ = 1, 250 do
    local status = self:request{ path = path, timeout = 5 }
    if (want and status == want) or (not want and status > 0) then return end
    M.sleep(0.02)
  end
  error("rig: nginx did not answer on " .. self.url .. "\n" .. self:log():sub(-3000), 0)
end

--[[
rig:request{ path= | url=, method=, json= (table, sent as JSON), body=,
  body_file=, headers={}, timeout= } -> status, body, headers_text
Runs the curl CLI; status 0 when no HTTP answer came.
]]
function Rig:request(o)
  local url = o.url or (self.url .. o.path)
  local out = os.tmpname()
  local hdr = os.tmpname()
  local args = { "curl", "-s", "-o", shell_quote(out), "-D", shell_quote(hdr),
    "-w", "'%{http_code}'", "--max-time", tostring(o.timeout or 60) }
  if o.method then args[#args + 1] = "-X " .. shell_quote(o.method) end
  for k, v in pairs(o.headers or {}) do
    args[#args + 1] = "-H " .. shell_quote(k .. ": " .. v)
  end
  local tmp_in
  if o.json ~= nil then
    tmp_in = os.tmpname()
    write_file(tmp_in, json.encode(o.json))
    args[#args + 1] = "-H 'Content-Type: application/json' --data-binary @" .. shell_quote(tmp_in)
  elseif o.body ~= nil then
    tmp_in = os.tmpname()
    write_file(tmp_in, o.body)
    args[#args + 1] = "--data-binary @" .. shell_quote(tmp_in)
  elseif o.body_file then
    args[#args + 1] = "--data-binary @" .. shell_quote(o.body_file)
  end
  args[#args + 1] = shell_quote(url)
  local _, code = sh(table.concat(args, " "))
  local body = read_file(out)
  local headers = read_file(hdr)
  os.remove(out); os.remove(hdr)
  if tmp_in then os.remove(tmp_in) end
  return tonumber(code:match("(%d+)%s*$")) or 0, body, headers
end

-- rig:json(o) -> status, decoded (nil when the body is not JSON), raw body
function Rig:json(o)
  local status, body = self:request(o)
  local v = body and json.decode(body, 1, json.null) or nil
  return status, v, body
end

--[[
rig:parallel(paths, concurrency) -> elapsed seconds, statuses, bodies
GETs all paths at once (curl --parallel) and times the whole batch.
]]
function Rig:parallel(paths, concurrency)
  local dir = util.tmpdir("mediacdn-rig")
  local cfg = {}
  for i, p in ipairs(paths) do
    cfg[#cfg + 1] = ('url = "%s%s"\noutput = "%s/%d"\nwrite-out = "%%{http_code}\\n"')
      :format(self.url, p, dir, i)
  end
  write_file(dir .. "/curl.cfg", table.concat(cfg, "\n") .. "\n")
  local t0 = util.now()
  local _, out = sh(("curl -s --parallel --parallel-immediate --parallel-max %d "
    .. "--max-time 60 -K %s 2>/dev/null"):format(concurrency or #paths, shell_quote(dir .. "/curl.cfg")))
  local elapsed = util.now() - t0
  local statuses, bodies = {}, {}
  for code in out:gmatch("(%d%d%d)") do statuses[#statuses + 1] = tonumber(code) end
  for i = 1, #paths do bodies[i] = read_file(dir .. "/" .. i) end
  sh("rm -rf " .. shell_quote(dir))
  return elapsed, statuses, bodies
end

-- the error log so far (for diagnostics)
function Rig:log()
  return read_file(self.log_file or (self.prefix .. "/logs/error.log")) or ""
end

--- Stop nginx by pid (TERM, then KILL) and remove the prefix. Idempotent.
function Rig:stop()
  if self.stopped then return end
  self.stopped = true
  started[self] = nil
  if self.watchdog then sh("kill " .. self.watchdog .. " 2>/dev/null") end
  local pid = self.pid or tonumber(read_file(self.pid_file or
    (self.prefix .. "/logs/nginx.pid")) or "")
  if pid then
    local kids = util.children(pid)              -- the workers
    util.terminate(pid, 5)
    for _, k in ipairs(kids) do
      if util.alive(k) then sh("kill -KILL " .. k) end
    end
  end
  if not os.getenv("MC_RIG_KEEP") then
    sh("rm -rf " .. shell_quote(self.prefix))
  end
end

--- Stop every rig still running (call from a spec's teardown as a backstop).
function M.stop_all()
  for r in pairs(started) do r:stop() end
end

--- How many handler calls were in flight at once, from the `started` and
-- `finished` times (ngx.now()) each handler's JSON body reports. A worker that
-- blocked on an upstream call would serve one at a time: with W workers a peak
-- above W proves the calls overlapped (no wall-clock bound needed).
function M.peak_in_flight(bodies)
  local events = {}
  for _, body in ipairs(bodies) do
    local v = json.decode(body)
    events[#events + 1] = { v.started, 1 }
    events[#events + 1] = { v.finished, -1 }
  end
  table.sort(events, function(a, b)
    if a[1] ~= b[1] then return a[1] < b[1] end
    return a[2] < b[2] -- an end before a start at the same instant
  end)
  local now_in, peak = 0, 0
  for _, e in ipairs(events) do
    now_in = now_in + e[2]
    if now_in > peak then peak = now_in end
  end
  return peak
end

M.json = json
return M
