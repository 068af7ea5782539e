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
local util = require "helpers.util"

local M = {}

local sh_ok, shell_quote, read_file, write_file = util.sh_ok, util.shell_quote, util.read_file, util.write_file
local sleep, alive = util.sleep, util.alive

-- A fresh temporary directory (mktemp -d /tmp/mediacdn-spec.XXXXXX).
function M.tmpdir()
  return util.tmpdir("mediacdn-spec")
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

-- A header the echo server saw (its /echo answer's `headers`), by
-- case-insensitive name; nil when it saw none.
function M.seen(echo, name)
  for k, v in pairs(echo.headers) do
    if k:lower() == name:lower() then return v end
  end
  return nil
end

M.read_file = read_file
M.write_file = write_file
M.sh_ok = sh_ok

local Server = {}
Server.__index = Server

-- Stop nginx by pid (TERM, then KILL after 5 s) and remove the prefix.
function Server:stop()
  if self.stopped then return end
  self.stopped = true
  if self.pid then util.terminate(self.pid, 5) end
  if self.prefix and self.prefix:match("^/tmp/mediacdn%-spec%.") then
    sh_ok("rm -rf " .. shell_quote(self.prefix))
  end
end

function Server:error_log()
  return read_file(self.prefix .. "/logs/error.log") or ""
end

-- Attach a finalizer that stops the server when the Lua state closes.
local function guard(server)
  server._guard = util.gc_guard(function() server:stop() end)
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
-- opts.fixture: another directory of nginx.conf.in and handlers (default
-- spec/fixtures/httpd; spec/helpers/hostile_server.lua uses its own).
function M.start(opts)
  opts = opts or {}
  local fixture = opts.fixture or (util.root .. "/spec/fixtures/httpd")
  local template = assert(read_file(fixture .. "/nginx.conf.in"), "missing nginx.conf.in")
  local prefix = M.tmpdir()
  for _, d in ipairs({ "logs", "tmp", "conf" }) do
    assert(sh_ok("mkdir -p " .. shell_quote(prefix .. "/" .. d)))
  end
  local key, cert
  if opts.tls then key, cert = make_cert(prefix) end
  local last_log = ""
  for _ = 1, 8 do
    local ports = util.free_ports(opts.tls and 2 or 1)
    local port = ports[1]
    local tls_port = opts.tls and ports[2] or nil
    local tls_listen = ""
    if tls_port then
      tls_listen = ("listen 127.0.0.1:%d ssl; ssl_certificate %s; ssl_certificate_key %s;")
        :format(tls_port, cert, key)
    end
    local conf = template:gsub("@(%u+_?%u*)@", {
      PREFIX = prefix, FIXTURE = fixture, PORT = tostring(port), TLS_LISTEN = tls_listen,
      -- as root, nginx runs workers as nobody, who cannot read a checkout under /root
      USER = util.is_root() and "user root;" or "",
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
