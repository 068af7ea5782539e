-- spec/helpers/sandbox.lua: start and drive bin/mediacdn-sandbox from busted specs
-- (Lua 5.4 and LuaJIT), without the mediacdn library: HTTP goes through the curl CLI.
--
--   local sandbox = require "helpers.sandbox"
--   local sb = sandbox.start{ latency_ms = 0, hourly_limit = nil, window_seconds = nil,
--                             workers = 1, state = nil, env = { SIRV_CLIENT_ID = "..." } }
--   sb.url, sb.pid, sb.nginx_pid
--   local res = sb:request{ method = "GET", path = "/v2/files/stat",
--                           query = { filename = "/a.jpg" }, token = true }
--   -- res = { status, headers (lower-case names), body, json (decoded or nil),
--   --         curl_rc }
--   sb:token{ expiresIn = 60 }     -- a fresh bearer token (string)
--   sb:control("POST", "/_sandbox/faults", { rules = {...} }) -> status, decoded body
--   sb:faults(rules)  sb:clear_faults()  sb:stats()  sb:seed(n, dir [, opts])
--   sb:parallel({path, ...}, headers) -> answers in completion order {{status=, path=}, ...}
--   sb:config{ scroll_ttl = 1 }  sb:limits{ limits = {...} }  sb:reset()
--   sb:stop()                      -- by pid; waits; idempotent; leaves no process
--   sandbox.stop_all()             -- also runs when the Lua state closes
--
-- The sandbox watches its parent (MEDIACDN_SANDBOX_WATCH_PARENT=1), so it also goes
-- away within a second when the spec process dies without stopping it.

local cjson = require "cjson"
local util = require "helpers.util"

local M = {}

local io_popen, os_remove, os_tmpname = io.popen, os.remove, os.tmpname
local tostring, tonumber, pairs, ipairs, type, setmetatable = tostring, tonumber, pairs, ipairs, type, setmetatable
local format, concat = string.format, table.concat

local live = {}       -- pid -> sandbox object

local Sandbox = {}
Sandbox.__index = Sandbox

local quote, read_file, write_file = util.shell_quote, util.read_file, util.write_file
-- run a shell command: output, exit code
local sh = util.capture
-- is the process alive (a zombie counts as dead); direct children of pid
local alive, children = util.alive, util.children

M.quote, M.read_file, M.write_file, M.sh = quote, read_file, write_file, sh
M.root = util.root
M.sleep = util.sleep
M.alive, M.children = alive, children

local function url_escape(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return format("%%%02X", c:byte()) end))
end
M.url_escape = url_escape

local function encode_query(q)
  if not q then return "" end
  local keys = {}
  for k in pairs(q) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    parts[#parts + 1] = url_escape(k) .. "=" .. url_escape(q[k])
  end
  if #parts == 0 then return "" end
  return "?" .. concat(parts, "&")
end

---------------------------------------------------------------------------
-- start / stop

-- start{ port=, state=, latency_ms=, hourly_limit=, window_seconds=, workers=, env= }
function M.start(opts)
  opts = opts or {}
  local args = { quote(M.root .. "/bin/mediacdn-sandbox"), "--port", tostring(opts.port or 0) }
  local function flag(name, v)
    if v ~= nil then
      args[#args + 1] = name
      args[#args + 1] = quote(v)
    end
  end
  flag("--state", opts.state)
  flag("--latency-ms", opts.latency_ms)
  flag("--hourly-limit", opts.hourly_limit)
  flag("--window-seconds", opts.window_seconds)
  flag("--workers", opts.workers)
  local env = { "MEDIACDN_SANDBOX_WATCH_PARENT=1" }
  for k, v in pairs(opts.env or {}) do env[#env + 1] = k .. "=" .. quote(v) end
  local errfile = os_tmpname()
  local cmd = "echo $$; exec env " .. concat(env, " ") .. " " .. concat(args, " ") .. " 2>" .. quote(errfile)
  local p = assert(io_popen(cmd, "r"))
  local pid = tonumber(p:read("*l"))
  local url = p:read("*l")
  if not pid or not url or not url:match("^http://127%.0%.0%.1:%d+$") then
    p:close()
    local err = read_file(errfile) or ""
    os_remove(errfile)
    error("mediacdn-sandbox did not start: " .. tostring(url) .. "\n" .. err, 2)
  end
  local sb = setmetatable({
    url = url, pid = pid, pipe = p, errfile = errfile, tmp = {},
    client_id = opts.env and opts.env.SIRV_CLIENT_ID or "sandbox-client-id",
    client_secret = opts.env and opts.env.SIRV_CLIENT_SECRET or "sandbox-client-secret",
  }, Sandbox)
  local kids = children(pid)
  sb.nginx_pid = kids[1]
  if sb.nginx_pid then sb.nginx_workers = children(sb.nginx_pid) end
  live[pid] = sb
  return sb
end

function Sandbox:stop()
  if self.stopped then return true end
  self.stopped = true
  live[self.pid] = nil
  util.terminate(self.pid, 10)
  -- whatever nginx left (should be nothing: the script stops it)
  local leftovers = { self.nginx_pid }
  for _, w in ipairs(self.nginx_workers or {}) do leftovers[#leftovers + 1] = w end
  for _, pid in pairs(leftovers) do
    if alive(pid) then sh("kill -KILL " .. pid .. " 2>/dev/null") end
  end
  if self.pipe then
    self.pipe:close()
    self.pipe = nil
  end
  os_remove(self.errfile)
  for _, f in ipairs(self.tmp) do os_remove(f) end
  return true
end

function M.stop_all()
  for _, sb in pairs(live) do sb:stop() end
end

-- stop everything when the Lua state closes (Lua 5.4 busted: os.exit(code, true));
-- a table's __gc: LuaJIT skips it (the sandbox then goes with its watched parent)
M._sentinel = setmetatable({}, { __gc = function() M.stop_all() end })

---------------------------------------------------------------------------
-- HTTP through curl

local function parse_headers(text)
  -- keep the last header block (after any 100 Continue)
  local last
  for block in (text .. "\r\n\r\n"):gmatch("(HTTP/[^\r\n]*\r\n.-)\r\n\r\n") do last = block end
  local headers, status = {}, nil
  if not last then return headers, nil end
  for line in last:gmatch("[^\r\n]+") do
    if not status then
      status = tonumber(line:match("^HTTP/%S+%s+(%d+)"))
    else
      local k, v = line:match("^([^:]+):%s*(.-)%s*$")
      if k then
        k = k:lower()
        headers[k] = headers[k] and (headers[k] .. ", " .. v) or v
      end
    end
  end
  return headers, status
end

-- request{ method, path, query, headers, body (string), json (table), body_file (path),
--          token (string | true: a fresh one), timeout, output (path to store the body) }
function Sandbox:request(r)
  local method = r.method or "GET"
  local url = self.url .. (r.path or "/") .. encode_query(r.query)
  local hfile, bfile = os_tmpname(), r.output or os_tmpname()
  local args = { "curl", "-sS", "-g", "-X", method, "-D", quote(hfile), "-o", quote(bfile),
    "-w", quote("%{http_code}"), "-H", quote("Expect:"),
    "--max-time", tostring(r.timeout or 30) }
  if method == "HEAD" then args[#args + 1] = "--head" end
  local headers = {}
  for k, v in pairs(r.headers or {}) do headers[k:lower()] = v end
  if r.token then
    local tok = r.token == true and self:token() or r.token
    headers["authorization"] = "Bearer " .. tok
  end
  local infile
  if r.json ~= nil then
    r.body = type(r.json) == "string" and r.json or cjson.encode(r.json)
    headers["content-type"] = headers["content-type"] or "application/json"
  end
  if r.body ~= nil then
    infile = os_tmpname()
    write_file(infile, r.body)
    args[#args + 1] = "--data-binary"
    args[#args + 1] = quote("@" .. infile)
    headers["content-type"] = headers["content-type"] or "application/octet-stream"
  elseif r.body_file then
    args[#args + 1] = "-T"
    args[#args + 1] = quote(r.body_file)
  end
  for k, v in pairs(headers) do
    args[#args + 1] = "-H"
    args[#args + 1] = quote(k .. ": " .. v)
  end
  args[#args + 1] = quote(url)
  local out, rc = sh(concat(args, " "))
  local res = { curl_rc = rc }
  local code = out:match("(%d%d%d)%s*$")
  res.headers, res.status = parse_headers(read_file(hfile) or "")
  res.status = res.status or tonumber(code)
  if rc ~= 0 then res.curl_error = out end
  if not r.output then
    res.body = read_file(bfile) or ""
    os_remove(bfile)
    if res.body ~= "" then
      local ok, v = pcall(cjson.decode, res.body)
      if ok then res.json = v end
    end
  end
  os_remove(hfile)
  if infile then os_remove(infile) end
  return res
end

-- a fresh token (and the response) from POST /v2/token
function Sandbox:token(extra)
  local body = { clientId = self.client_id, clientSecret = self.client_secret }
  for k, v in pairs(extra or {}) do body[k] = v end
  local res = self:request{ method = "POST", path = "/v2/token", json = body }
  if res.status ~= 200 or not res.json then
    error("token request failed: " .. tostring(res.status) .. " " .. tostring(res.body), 2)
  end
  return res.json.token, res
end

-- GET the paths all at once (curl --parallel); returns the answers in the order
-- they completed: { {status = 200, path = "/v2/..."}, ... }. The order, not the
-- time taken, is what specs assert (no timings on shared machines).
function Sandbox:parallel(paths, headers)
  local args = { "curl", "-sS", "--no-progress-meter", "-g", "--parallel", "--parallel-immediate",
    "--parallel-max", tostring(#paths), "-w", quote("%{http_code} %{url_effective}\\n") }
  for k, v in pairs(headers or {}) do
    args[#args + 1] = "-H"
    args[#args + 1] = quote(k .. ": " .. v)
  end
  for _, p in ipairs(paths) do
    args[#args + 1] = "-o"
    args[#args + 1] = "/dev/null"
    args[#args + 1] = quote(self.url .. p)
  end
  local out = sh(concat(args, " "))
  local done, base = {}, #self.url
  for code, url in out:gmatch("(%d%d%d) (%S+)") do
    done[#done + 1] = { status = tonumber(code), path = url:sub(base + 1) }
  end
  return done
end

---------------------------------------------------------------------------
-- control API

function Sandbox:control(method, path, tbl)
  local res = self:request{ method = method, path = path, json = tbl }
  return res.status, res.json, res
end

local function checked(sb, method, path, tbl)
  local status, body, res = sb:control(method, path, tbl)
  if status ~= 200 then
    error(format("%s %s -> %s %s", method, path, tostring(status), tostring(res.body)), 3)
  end
  return body
end

function Sandbox:faults(rules) return checked(self, "POST", "/_sandbox/faults", { rules = rules }) end
function Sandbox:clear_faults() return checked(self, "DELETE", "/_sandbox/faults") end
function Sandbox:stats() return checked(self, "GET", "/_sandbox/stats") end
function Sandbox:reset_stats() return checked(self, "POST", "/_sandbox/stats/reset") end
function Sandbox:reset() return checked(self, "POST", "/_sandbox/reset") end
function Sandbox:config(t) return checked(self, t and "POST" or "GET", "/_sandbox/config", t) end
function Sandbox:limits(t) return checked(self, t and "POST" or "GET", "/_sandbox/limits", t) end
function Sandbox:reset_limits() return checked(self, "POST", "/_sandbox/limits/reset") end

function Sandbox:seed(n, dir, opts)
  local body = { count = n, dirname = dir or "/seed" }
  for k, v in pairs(opts or {}) do body[k] = v end
  return checked(self, "POST", "/_sandbox/seed", body)
end

return M
