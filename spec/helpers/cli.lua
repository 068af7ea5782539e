-- spec/helpers/cli.lua: run bin/mediacdn as a subprocess (the way users do) from
-- busted specs, against a sandbox. The command runs under the same interpreter as
-- the spec (MEDIACDN_LUA=lua5.4 or luajit), with a private config path so that no
-- real profile is read.
--
--   local cli = require "helpers.cli"
--   local r = cli.run(sb, { "sirv", "ls", "/" }, { env = {...}, stdin = "..." })
--   -- r.out, r.err, r.rc, r.json (the decoded JSON lines of stdout, when they parse)
--   local p = cli.spawn(sb, { "sirv", "sync", dir, "/x", "-o", "json" })
--   for line in p:lines() do ... p:signal("INT") ... end ; local rc = p:wait()
--   cli.local_tree(dir) -> { [rel] = size }      cli.remote_tree(sb, dir) -> { [rel] = size }
--   cli.write(path, bytes)  cli.mkfiles(dir, n, seed) -> { rel = size }
local cjson = require "cjson"
local util = require "helpers.util"

local M = {}

local quote = util.shell_quote
local concat = table.concat

M.VM = rawget(_G, "jit") and "luajit" or "lua5.4"
M.BIN = util.root .. "/bin/mediacdn"

-- The environment assignments for a run against sb.
local function env_words(sb, extra)
  local env = {
    MEDIACDN_LUA = M.VM,
    MEDIACDN_CONFIG = "/nonexistent/mediacdn-spec/config",
    MEDIACDN_PROFILE = "",
    COLUMNS = "100",
    -- tus journals (resumable uploads) of the specs' runs, not the user's ~/.cache
    XDG_CACHE_HOME = (os.getenv("TMPDIR") or "/tmp") .. "/mediacdn-cli-spec-cache",
  }
  if sb then
    env.SIRV_BASE_URL = sb.url
    env.SIRV_CLIENT_ID = sb.client_id
    env.SIRV_CLIENT_SECRET = sb.client_secret
  end
  for k, v in pairs(extra or {}) do env[k] = v end
  local unset, words = {}, {}
  for k, v in pairs(env) do
    if v == false then unset[#unset + 1] = "-u " .. k -- env's options come first
    else words[#words + 1] = k .. "=" .. quote(v) end
  end
  return concat(unset, " ") .. " " .. concat(words, " ")
end
M.env_words = env_words

local function command_line(sb, args, opts)
  local q = {}
  for i, a in ipairs(args) do q[i] = quote(a) end
  return "env " .. env_words(sb, opts and opts.env) .. " " .. quote(M.BIN) .. " " .. concat(q, " ")
end
M.command_line = command_line

-- The JSON objects of the lines of s (nil for a line that is not JSON).
local function json_lines(s)
  local out, all = {}, true
  for line in s:gmatch("[^\n]+") do
    local ok, v = pcall(cjson.decode, line)
    if ok and type(v) == "table" then out[#out + 1] = v else all = false end
  end
  return out, all
end
M.json_lines = json_lines

--- Run the command to its end: { out, err, rc, json, all_json }.
function M.run(sb, args, opts)
  opts = opts or {}
  local out, err, rcf = util.tmpname(), util.tmpname(), util.tmpname()
  local input = "/dev/null"
  if opts.stdin then
    input = util.tmpname()
    util.write_file(input, opts.stdin)
  end
  local cmd = ("(cd %s && %s) <%s >%s 2>%s; echo $? >%s"):format(quote(opts.cwd or util.root),
    command_line(sb, args, opts), quote(input), quote(out), quote(err), quote(rcf))
  util.sh_ok(cmd)
  local r = { out = util.read_file(out) or "", err = util.read_file(err) or "",
    rc = tonumber((util.read_file(rcf) or ""):match("%d+")) }
  r.json, r.all_json = json_lines(r.out)
  for _, f in ipairs{ out, err, rcf } do os.remove(f) end
  if opts.stdin then os.remove(input) end
  return r
end

local Proc = {}
Proc.__index = Proc

--- Start the command; read its stdout line by line while it runs.
function M.spawn(sb, args, opts)
  opts = opts or {}
  local pidf, rcf, errf = util.tmpname(), util.tmpname(), util.tmpname()
  -- the inner sh records its pid and becomes the command (exec): that pid is the
  -- command's, and it runs in the foreground (signals not ignored)
  local inner = ("echo $$ >%s; exec %s 2>%s"):format(quote(pidf), command_line(sb, args, opts), quote(errf))
  local cmd = ("cd %s && sh -c %s </dev/null; echo $? >%s"):format(quote(opts.cwd or util.root), quote(inner), quote(rcf))
  local p = assert(io.popen(cmd, "r"))
  return setmetatable({ pipe = p, pidf = pidf, rcf = rcf, errf = errf, collected = {} }, Proc)
end

function Proc:pid()
  if self._pid then return self._pid end
  for _ = 1, 500 do
    local s = util.read_file(self.pidf)
    local pid = s and tonumber(s:match("%d+"))
    if pid then self._pid = pid; return pid end
    util.sleep(0.01)
  end
  error("the command did not start")
end

--- The lines of stdout as they come.
function Proc:lines()
  return function()
    local l = self.pipe:read("*l")
    if l then self.collected[#self.collected + 1] = l end
    return l
  end
end

function Proc:signal(name)
  util.sh_ok("kill -" .. name .. " " .. self:pid())
end

--- Wait for the end: exit code, all stdout lines, stderr.
function Proc:wait()
  for _ in self:lines() do end
  self.pipe:close()
  local rc = tonumber((util.read_file(self.rcf) or ""):match("%d+"))
  local err = util.read_file(self.errf) or ""
  for _, f in ipairs{ self.pidf, self.rcf, self.errf } do os.remove(f) end
  return rc, self.collected, err
end

--- { [rel] = size } of the files under a local folder.
function M.local_tree(dir)
  local out = util.capture("cd " .. quote(dir) .. " && find . -type f -printf '%P\\t%s\\n'")
  local t = {}
  for rel, size in out:gmatch("([^\t\n]+)\t(%d+)") do t[rel] = tonumber(size) end
  return t
end

--- { [rel] = size } of the files under a Sirv folder, read with the sandbox's own
-- HTTP (not the command under test).
function M.remote_tree(sb, dir)
  local t, token = {}, sb:token()
  local function walk(d, prefix)
    local cont
    repeat
      local res = sb:request{ path = "/v2/files/readdir", query = { dirname = d, continuation = cont }, token = token }
      assert(res.status == 200, "readdir " .. d .. ": " .. tostring(res.status) .. " " .. tostring(res.body))
      for _, e in ipairs(res.json.contents) do
        local rel = prefix .. e.filename
        if e.isDirectory then walk(d .. "/" .. e.filename, rel .. "/") else t[rel] = e.size end
      end
      cont = res.json.continuation
    until cont == nil or cont == cjson.null
  end
  walk(dir, "")
  return t
end

function M.write(path, data)
  local dir = path:match("^(.*)/[^/]*$")
  if dir then util.sh_ok("mkdir -p " .. quote(dir)) end
  util.write_file(path, data)
end

--- n files of mixed sizes (0 B .. ~256 KiB, a few of 1-2 MiB) in nested folders
-- under dir, deterministic for a seed. Returns { [rel] = size }.
function M.mkfiles(dir, n, seed)
  math.randomseed(seed or 7)
  local t = {}
  for i = 1, n do
    local size
    if i % 25 == 0 then size = 1048576 + math.random(0, 1048576)
    elseif i % 7 == 0 then size = 0
    else size = math.random(1, 262144) end
    local rel = ("d%d/s%d/file %04d.bin"):format(i % 5, i % 3, i)
    if i % 4 == 0 then rel = ("top-%04d.dat"):format(i) end
    local chunk = ("%08d"):format(i)
    M.write(dir .. "/" .. rel, chunk:rep(math.floor(size / 8) + 1):sub(1, size))
    t[rel] = size
  end
  return t
end

return M
