-- spec/helpers/httpd.lua — a tiny nginx test server for the transport specs.
--
--   local httpd = require "helpers.httpd"
--   local srv = httpd.start{ tls = true }   -- srv.url, srv.tls_url, srv.cafile
--   ... srv.url .. "/echo" ...
--   srv:stop()                              -- by pid; safe to call twice
--
-- The server runs nginx in the foreground under a temporary prefix, on free
-- loopback ports, with the handlers of spec/fixtures/httpd. Call stop() from a
-- busted teardown so that it also runs when a spec fails; a finalizer stops it
-- as a last resort when the Lua state closes.
local M = {}

local function sh_ok(cmd)
  local a, _, c = os.execute(cmd)
  if type(a) == "number" then return a == 0 end -- Lua 5.1 / LuaJIT
  return a == true and (c == nil or c == 0)
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function write_file(path, s)
  local f = assert(io.open(path, "wb"))
  assert(f:write(s))
  f:close()
end

local function this_dir()
  local src = debug.getinfo(1, "S").source
  local dir = src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/[^/]*$") or "."
  if dir:sub(1, 1) ~= "/" then
    local p = io.popen("pwd")
    local cwd = p:read("*l")
    p:close()
    dir = cwd .. "/" .. dir
  end
  return dir
end

local function sleep(s)
  local ok, core = pcall(require, "mediacdn.core")
  if ok and core.sleep then core.sleep(s) else sh_ok("sleep " .. s) end
end

-- A port nothing listens on right now (bind to 0 when LuaSocket is around).
local function free_port()
  local ok, socket = pcall(require, "socket")
  if ok and socket.bind then
    local s = socket.bind("127.0.0.1", 0)
    if s then
      local _, port = s:getsockname()
      s:close()
      return tonumber(port)
    end
  end
  return math.random(20000, 60000)
end

-- A fresh temporary directory (mktemp -d).
function M.tmpdir()
  local p = assert(io.popen("mktemp -d /tmp/mediacdn-spec.XXXXXX"))
  local dir = p:read("*l")
  p:close()
  assert(dir and dir ~= "", "mktemp failed")
  return dir
end

-- sha1 (hex) of `length` bytes of a file from `offset` (sha1sum).
function M.sha1_file(path, offset, length)
  local cmd
  offset = offset or 0
  if length then
    cmd = ("tail -c +%d %s 2>/dev/null | head -c %d | sha1sum"):format(offset + 1, shell_quote(path), length)
  else
    cmd = ("tail -c +%d %s | sha1sum"):format(offset + 1, shell_quote(path))
  end
  local p = assert(io.popen(cmd))
  local out = p:read("*l")
  p:close()
  return out and out:match("^(%x+)")
end

M.read_file = read_file
M.write_file = write_file
M.sh_ok = sh_ok

local Server = {}
Server.__index = Server

local function alive(pid)
  return sh_ok("kill -0 " .. pid .. " 2>/dev/null")
end

-- Stop nginx by pid (TERM, then KILL after 5 s) and remove the prefix.
function Server:stop()
  if self.stopped then return end
  self.stopped = true
  if self.pid then
    sh_ok("kill -TERM " .. self.pid .. " 2>/dev/null")
    for _ = 1, 250 do
      if not alive(self.pid) then break end
      sleep(0.02)
    end
    if alive(self.pid) then sh_ok("kill -KILL " .. self.pid .. " 2>/dev/null") end
  end
  if self.prefix and self.prefix:match("^/tmp/mediacdn%-spec%.") then
    sh_ok("rm -rf " .. shell_quote(self.prefix))
  end
end

function Server:error_log()
  return read_file(self.prefix .. "/logs/error.log") or ""
end

-- Attach a finalizer that stops the server when the Lua state closes.
local function guard(server)
  if _VERSION == "Lua 5.1" and newproxy then -- LuaJIT: tables have no __gc
    local proxy = newproxy(true)
    getmetatable(proxy).__gc = function() server:stop() end
    server._guard = proxy
  else
    setmetatable(server, { __index = Server, __gc = function(s) s:stop() end })
  end
end

local function make_cert(prefix)
  local key, cert = prefix .. "/key.pem", prefix .. "/cert.pem"
  local cmd = ("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes " ..
    "-keyout %s -out %s -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 " ..
    ">/dev/null 2>&1"):format(shell_quote(key), shell_quote(cert))
  assert(sh_ok(cmd), "openssl could not make a test certificate")
  return key, cert
end

-- Start the server. opts.tls = true adds an https listener (self-signed
-- certificate for 127.0.0.1; srv.cafile is the certificate to trust).
-- whether this process runs as root (nginx then needs `user root;`)
local function is_root()
  local p = io.popen("id -u")
  local uid = p and p:read("*l")
  if p then p:close() end
  return uid == "0"
end

function M.start(opts)
  opts = opts or {}
  local fixture = this_dir() .. "/../fixtures/httpd"
  local template = assert(read_file(fixture .. "/nginx.conf.in"), "missing nginx.conf.in")
  local prefix = M.tmpdir()
  for _, d in ipairs({ "logs", "tmp", "conf" }) do
    assert(sh_ok("mkdir -p " .. shell_quote(prefix .. "/" .. d)))
  end
  local key, cert
  if opts.tls then key, cert = make_cert(prefix) end
  local last_log = ""
  math.randomseed(os.time() + math.floor((os.clock() * 1e6) % 1e6))
  for _ = 1, 8 do
    local port = free_port()
    local tls_port = opts.tls and free_port() or nil
    local tls_listen = ""
    if tls_port then
      tls_listen = ("listen 127.0.0.1:%d ssl; ssl_certificate %s; ssl_certificate_key %s;")
        :format(tls_port, cert, key)
    end
    local conf = template:gsub("@(%u+_?%u*)@", {
      PREFIX = prefix, FIXTURE = fixture, PORT = tostring(port), TLS_LISTEN = tls_listen,
      -- as root, nginx runs workers as nobody, who cannot read a checkout under /root
      USER = is_root() and "user root;" or "",
    })
    write_file(prefix .. "/conf/nginx.conf", conf)
    os.remove(prefix .. "/logs/nginx.pid")
    os.remove(prefix .. "/logs/error.log")
    local p = assert(io.popen(("env -u LUA_PATH -u LUA_CPATH -u LUA_INIT nginx -p %s -c conf/nginx.conf -e logs/error.log >/dev/null 2>&1 & echo $!")
      :format(shell_quote(prefix))))
    local pid = tonumber(p:read("*l"))
    p:close()
    assert(pid, "could not start nginx")
    local server = setmetatable({ pid = pid, prefix = prefix, port = port,
      url = "http://127.0.0.1:" .. port }, Server)
    if tls_port then
      server.tls_port = tls_port
      server.tls_url = "https://127.0.0.1:" .. tls_port
      server.cafile = cert
    end
    -- ready when the pid file exists: nginx writes it after binding
    for _ = 1, 250 do
      if read_file(prefix .. "/logs/nginx.pid") or not alive(pid) then break end
      sleep(0.02)
    end
    if alive(pid) and read_file(prefix .. "/logs/nginx.pid") then
      guard(server)
      return server
    end
    last_log = read_file(prefix .. "/logs/error.log") or ""
    server.prefix = nil -- keep the prefix for the next attempt
    server:stop()
    if not last_log:find("Address already in use", 1, true) then break end
  end
  sh_ok("rm -rf " .. shell_quote(prefix))
  error("nginx test server did not start: " .. last_log)
end

return M
