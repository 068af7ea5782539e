-- spec/helpers/util.lua: small shell, file and process utilities shared by the
-- spec helpers (httpd, rig, sandbox) and the specs. Plain Lua: runs under
-- Lua 5.4 and LuaJIT, needs nothing but a POSIX shell (and /proc on Linux).
--
--   local util = require "helpers.util"
--   local out, rc = util.capture("ls /tmp")     -- output (stdout + stderr), exit code
--   local ok, out = util.run("nginx -t")        -- success, output
--   util.sh_ok("rm -rf " .. util.shell_quote(dir))

local M = {}

local io_open, io_popen, os_execute, os_remove, os_tmpname =
  io.open, io.popen, os.execute, os.remove, os.tmpname
local tostring, tonumber, type, select, ipairs, pcall, require =
  tostring, tonumber, type, select, ipairs, pcall, require
local setmetatable, getmetatable = setmetatable, getmetatable
local concat = table.concat
local random, randomseed, floor = math.random, math.randomseed, math.floor
local newproxy = newproxy                        -- LuaJIT / Lua 5.1 only

local have_system, system = pcall(require, "system") -- lua-system (a busted dependency)
if not have_system then system = nil end

---------------------------------------------------------------------------
-- shell

-- s as one single-quoted shell word
local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.shell_quote = shell_quote

-- run a shell command; returns its output (stdout and stderr) and its exit
-- code (a number; nil if the shell died). The code travels in the output:
-- LuaJIT's popen close() does not report it.
local function capture(cmd)
  local p = assert(io_popen("{ " .. cmd .. "\n} 2>&1; echo \"__rc=$?\"", "r"))
  local out = p:read("*a") or ""
  p:close()
  local body, rc = out:match("^(.-)__rc=(%d+)%s*$")
  return body or out, tonumber(rc)
end
M.capture = capture

-- run a shell command; returns success (exit code 0) and its output
local function run(cmd)
  local out, rc = capture(cmd)
  return rc == 0, out
end
M.run = run

-- run a shell command with os.execute (output not captured); returns success
local function sh_ok(cmd)
  local a, _, c = os_execute(cmd)
  if type(a) == "number" then return a == 0 end -- Lua 5.1 / LuaJIT
  return a == true and (c == nil or c == 0)
end
M.sh_ok = sh_ok

---------------------------------------------------------------------------
-- files

-- the whole file, or nil plus io.open's message when it cannot be opened
local function read_file(path)
  local f, err = io_open(path, "rb")
  if not f then return nil, err end
  local s = f:read("*a")
  f:close()
  return s
end
M.read_file = read_file

-- write data to path (replacing it); raises on any error
local function write_file(path, data)
  local f = assert(io_open(path, "wb"))
  assert(f:write(data))
  f:close()
end
M.write_file = write_file

-- the size of a file in bytes, nil when it cannot be opened
local function file_size(path)
  local f = io_open(path, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end
M.file_size = file_size

-- the non-empty lines of a file, or nil plus a message when it cannot be read
local function read_lines(path)
  local text, err = read_file(path)
  if not text then return nil, err end
  local out = {}
  for l in text:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end
M.read_lines = read_lines

-- a fresh temporary file name (no file created), with an optional suffix
local function tmpname(suffix)
  local p = os_tmpname()
  os_remove(p)
  return p .. (suffix or "")
end
M.tmpname = tmpname

-- a fresh temporary directory /tmp/<name>.XXXXXX (mktemp -d; default name
-- "mediacdn-spec"); raises when mktemp fails
local function tmpdir(name)
  local out, rc = capture("mktemp -d " .. shell_quote("/tmp/" .. (name or "mediacdn-spec") .. ".XXXXXX"))
  local dir = out:gsub("%s+$", "")
  assert(rc == 0 and dir ~= "", "mktemp failed: " .. out)
  return dir
end
M.tmpdir = tmpdir

-- the checkout root: two levels above this file (spec/helpers/), made absolute
-- (the current directory when this file's path is unknown)
local function root_dir()
  local src = debug.getinfo(1, "S").source
  local pwd = capture("pwd"):gsub("%s+$", "")
  if src:sub(1, 1) ~= "@" then return pwd end
  local dir = src:sub(2):match("^(.*)/[^/]*$") or "."
  if dir:sub(1, 1) ~= "/" then
    dir = dir == "." and pwd or (pwd .. "/" .. dir:gsub("^%./", ""))
  end
  local root = dir:match("^(.*)/spec/helpers/?$")
  if root then return root ~= "" and root or "/" end
  return dir .. "/../.."
end
M.root = root_dir()

---------------------------------------------------------------------------
-- time

-- sleep s seconds (lua-system, else mediacdn.core, else the sleep command)
local function sleep(s)
  if system and system.sleep then
    system.sleep(s)
    return
  end
  local ok, core = pcall(require, "mediacdn.core")
  if ok and type(core) == "table" and core.sleep then
    core.sleep(s)
  else
    sh_ok("sleep " .. tostring(s))
  end
end
M.sleep = sleep

-- the wall clock in seconds (sub-second with lua-system)
local function now()
  if system and system.gettime then return system.gettime() end
  return os.time()
end
M.now = now

---------------------------------------------------------------------------
-- processes

-- is the process alive (a zombie counts as dead); kill -0 where there is no /proc
local function alive(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  if stat then
    local state = stat:match("^%d+ %b() (%S)")
    return state ~= nil and state ~= "Z" and state ~= "X"
  end
  if read_file("/proc/self/stat") then return false end
  return sh_ok("kill -0 " .. pid .. " 2>/dev/null")
end
M.alive = alive

-- direct children of pid (numbers), from /proc
local function children(pid)
  local out = {}
  local list = capture("ls /proc")
  for d in list:gmatch("%d+") do
    local stat = read_file("/proc/" .. d .. "/stat")
    local ppid = stat and stat:match("^%d+ %b() %S (%d+)")
    if ppid and tonumber(ppid) == tonumber(pid) then out[#out + 1] = tonumber(d) end
  end
  return out
end
M.children = children

-- stop a process by pid: TERM, wait up to `timeout` seconds (default 5) for it
-- to go, then KILL. Returns true when it went before the KILL.
local function terminate(pid, timeout)
  capture("kill -TERM " .. pid .. " 2>/dev/null")
  local deadline = now() + (timeout or 5)
  while alive(pid) and now() < deadline do sleep(0.02) end
  if not alive(pid) then return true end
  capture("kill -KILL " .. pid .. " 2>/dev/null")
  return false
end
M.terminate = terminate

-- an object whose collection (also when the Lua state closes) calls fn; keep
-- it referenced for as long as fn must not run. LuaJIT: tables have no __gc.
local function gc_guard(fn)
  if newproxy then
    local proxy = newproxy(true)
    getmetatable(proxy).__gc = function() fn() end
    return proxy
  end
  return setmetatable({}, { __gc = function() fn() end })
end
M.gc_guard = gc_guard

-- whether this process runs as root (nginx then needs `user root;`)
local function is_root()
  return (run("test \"$(id -u)\" = 0"))
end
M.is_root = is_root

---------------------------------------------------------------------------
-- network

-- ports some socket is listening on (TCP, v4 and v6), from /proc/net
local function listening_ports()
  local used = {}
  for _, file in ipairs{ "/proc/net/tcp", "/proc/net/tcp6" } do
    local text = read_file(file) or ""
    for port, state in text:gmatch("%s[%x:]+:(%x%x%x%x)%s+[%x:]+%s+(%x%x)") do
      if state == "0A" then used[tonumber(port, 16)] = true end
    end
  end
  return used
end

local seeded = false

-- n distinct loopback ports nothing listens on right now, as a list (a
-- server may still lose a race for one: callers retry on "Address in use")
local function free_ports(n)
  if not seeded then
    seeded = true
    randomseed(floor(now() * 1000 + os.clock() * 1e6) % 2147483647)
  end
  local used = listening_ports()
  local ports, seen = {}, {}
  while #ports < (n or 1) do
    local p = random(20000, 59999)
    if not used[p] and not seen[p] then
      seen[p] = true
      ports[#ports + 1] = p
    end
  end
  return ports
end
M.free_ports = free_ports

-- percent-decode %XX escapes (a '+' stays a '+')
local function url_unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end
M.url_unescape = url_unescape

---------------------------------------------------------------------------
-- misc

-- an in-memory output handle: write(...) like a file (returns itself),
-- text() for all that was written
local function buffer()
  local b = { parts = {} }
  function b:write(...)
    for i = 1, select("#", ...) do self.parts[#self.parts + 1] = tostring(select(i, ...)) end
    return self
  end
  function b:text() return concat(self.parts) end
  return b
end
M.buffer = buffer

return M
