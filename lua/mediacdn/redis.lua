--- mediacdn.redis: the Redis client the fleet stores use, in every runtime.
--
--   local redis = require("mediacdn.redis").new{
--     host = "127.0.0.1", port = 6379,     -- or path = "/run/redis.sock"
--     password = nil, db = 0, prefix = "mediacdn:",
--     timeout = 0.05,                      -- seconds, for a whole call (connect included)
--     breaker = { failures = 2, cooldown = 2 },
--     on_event = function(ev) end,         -- {type = "redis", action = "down"|"up", reason}
--   }
--   redis:call("SET", "k", "v")          -> reply | nil, err
--   local s = redis.script("return 1")    -- {source, sha}: define once, at load time
--   redis:eval(s, { key1 }, { arg1 })     -> reply | nil, err   (EVALSHA, EVAL on NOSCRIPT)
--   redis:key("a", "b")                   -> prefix .. "a:b"
--   redis:available()                     -> false while the breaker is open
--   redis:now(), redis:sleep(s)           -- the runtime's clock and sleep (yield in loops/nginx)
--   redis.null                            -- a nil bulk reply (== ngx.null == core.null)
--   require("mediacdn.redis").parse_url("redis://:pw@10.0.0.5:6379/2") -> opts for new()
--
-- Which connection: inside nginx, where cosockets work, lua-resty-redis
-- (mediacdn.redis.resty, never blocks a worker); everywhere else the binding's
-- hiredis connection (mediacdn.redis.hiredis: bounded by the timeout, and inside
-- mediacdn.loop it yields between 1 ms polls). err is a mediacdn.Error:
-- kind "timeout" (the deadline passed), "transient" (connect/read/write failed,
-- or the breaker is open: err.breaker = true), "protocol" (an error reply:
-- err.redis_error holds its first word, e.g. "NOSCRIPT"). The password never
-- appears in an error or event.
local errors = require "mediacdn.errors"
local breaker = require "mediacdn.redis.breaker"
local phase = require "mediacdn.transport.phase"

local setmetatable, type, tostring, error, select, pcall, require, pairs, rawget =
  setmetatable, type, tostring, error, select, pcall, require, pairs, rawget
local concat, unpack = table.concat, table.unpack or unpack

local M = {}

local Client = {}
Client.__index = Client
Client.__name = "mediacdn.Redis.Client"

local core_ok, core = pcall(require, "mediacdn.core")
if not core_ok then core = nil end

M.null = core and core.null or (rawget(_G, "ngx") and rawget(_G, "ngx").null)

local function argcheck(cond, msg)
  if not cond then error("mediacdn.redis.new: " .. msg, 3) end
end

-- SHA1 hex of a script: the binding, else nginx's sha1_bin
local function sha1_hex(s)
  if core and core.sha1_hex then return core.sha1_hex(s) end
  local ngx = rawget(_G, "ngx")
  if ngx and ngx.sha1_bin then
    return (ngx.sha1_bin(s):gsub(".", function(c) return ("%02x"):format(c:byte()) end))
  end
  return nil
end

--- 96 random bits as 24 hex digits (lock owners, worker ids): /dev/urandom,
-- else the clock and a table address.
function M.random_id()
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(12)
  if f then f:close() end
  if not bytes or #bytes < 12 then
    bytes = tostring({}) .. ("%.6f"):format(os.clock()) .. tostring(os.time())
  end
  return (bytes:gsub(".", function(c) return ("%02x"):format(c:byte()) end)):sub(1, 24)
end

--- Connection options from a URL: redis://[:password@]host[:port][/db] or
-- unix:///path/to.sock[?db=N] (the form a CLI profile or an environment variable
-- holds). Returns opts for new(), or nil, message.
function M.parse_url(url)
  if type(url) ~= "string" then return nil, "a Redis URL must be a string" end
  local path, q = url:match("^unix://(/[^?]*)%??(.*)$")
  if path then
    return { path = path, db = tonumber(q:match("db=(%d+)")) }
  end
  local rest = url:match("^redis://(.*)$")
  if not rest then return nil, "a Redis URL starts with redis:// or unix://" end
  local auth, hostpart = rest:match("^(.*)@([^@]*)$")
  if not auth then hostpart = rest end
  local password = auth and (auth:match("^[^:]*:(.*)$") or auth) or nil
  local host, port, db = hostpart:match("^([^:/]+):?(%d*)/?(%d*)$")
  if not host then return nil, "cannot read host[:port][/db] in the Redis URL" end
  port = tonumber(port)
  if port and (port < 1 or port > 65535) then return nil, "the Redis port must be 1-65535" end
  return { host = host, port = port, password = password ~= "" and password or nil, db = tonumber(db) }
end

--- A server-side script: define it once (module level) and pass it to eval.
function M.script(source)
  if type(source) ~= "string" then error("mediacdn.redis.script: source must be a string", 2) end
  return { source = source, sha = sha1_hex(source) }
end

--- A client for one Redis server (see the head of this file for opts).
function M.new(opts)
  opts = opts or {}
  argcheck(type(opts) == "table", "opts must be a table")
  argcheck(opts.host == nil or type(opts.host) == "string", "host must be a string")
  argcheck(opts.port == nil or type(opts.port) == "number", "port must be a number")
  argcheck(opts.port == nil or (opts.port >= 1 and opts.port <= 65535 and opts.port % 1 == 0),
    "port must be an integer from 1 to 65535")
  argcheck(opts.path == nil or type(opts.path) == "string", "path must be a string")
  argcheck(opts.password == nil or type(opts.password) == "string", "password must be a string")
  argcheck(opts.db == nil or (type(opts.db) == "number" and opts.db >= 0 and opts.db < 2 ^ 31 and opts.db % 1 == 0),
    "db must be a non-negative integer")
  argcheck(opts.prefix == nil or type(opts.prefix) == "string", "prefix must be a string")
  argcheck(opts.timeout == nil or (type(opts.timeout) == "number" and opts.timeout > 0 and opts.timeout <= 1e9),
    "timeout must be a positive number")
  argcheck(opts.on_event == nil or type(opts.on_event) == "function", "on_event must be a function")
  argcheck(opts.breaker == nil or type(opts.breaker) == "table", "breaker must be a table")
  local conf = {
    host = opts.host or "127.0.0.1", port = opts.port or 6379, path = opts.path,
    password = opts.password, db = opts.db or 0,
    pool_size = opts.pool_size, idle = opts.idle,
  }
  local self = setmetatable({
    conf = conf,
    prefix = opts.prefix or "mediacdn:",
    timeout = opts.timeout or 0.05,
    on_event = opts.on_event,
  }, Client)
  local b = opts.breaker or {}
  self.breaker = breaker.new{
    failures = b.failures, cooldown = b.cooldown,
    now = function() return self:now() end,
    on_change = function(state, reason)
      if state == "open" then self:_emit{ action = "down", reason = reason }
      elseif state == "closed" then self:_emit{ action = "up" } end
    end,
  }
  return self
end

function Client:__tostring()
  local c = self.conf
  return ("mediacdn.Redis.Client(%s)"):format(c.path or (c.host .. ":" .. tostring(c.port)))
end

function Client:_emit(ev)
  if not self.on_event then return end
  ev.type = "redis"
  ev.time = self:now()
  pcall(self.on_event, ev)
end

-- The connection pool for the running context: resty where cosockets work
-- (never hiredis there: it would block the worker), else hiredis (plain Lua,
-- and nginx's init phases); nil, message when neither can run here.
function Client:_pool()
  if phase.cosockets_allowed() then
    local resty = require "mediacdn.redis.resty"
    if resty.available() then
      self.resty_pool = self.resty_pool or resty.new(self.conf)
      return self.resty_pool
    end
    -- a request handler must never block its worker: no hiredis here
    return nil, "lua-resty-redis is not installed (Debian: lua-nginx-redis); "
      .. "the blocking hiredis client is not used inside nginx request handlers"
  end
  local hiredis = require "mediacdn.redis.hiredis"
  if hiredis.available then
    self.hiredis_pool = self.hiredis_pool or hiredis.new(self.conf)
    return self.hiredis_pool
  end
  return nil, phase.in_nginx() and "no Redis client can run in this nginx phase (lua-resty-redis "
    .. "needs cosockets; mediacdn.core was built without hiredis)"
    or "mediacdn.core was built without hiredis (install libhiredis-dev and rebuild)"
end

local function redis_error(kind, cmd, message, extra)
  local e = errors.new{ kind = kind, service = "redis", operation = cmd, message = message,
    retryable = kind ~= "protocol" }
  if extra then for k, v in pairs(extra) do e[k] = v end end
  return e
end

-- Run cmd through the breaker: reply | nil, err.
function Client:_call(cmd, ...)
  if not self.breaker:allow() then
    return nil, redis_error("transient", cmd, "Redis is unavailable (circuit open)", { breaker = true })
  end
  local pool, perr = self:_pool()
  if not pool then
    self.breaker:failure(perr)
    return nil, redis_error("transient", cmd, perr)
  end
  local ok, res, msg, kind = pcall(pool.call, pool, self.timeout, cmd, ...)
  if not ok then -- a raise in a client library: count it as a failure, never let it escape
    self.breaker:failure(tostring(res))
    return nil, redis_error("transient", cmd, tostring(res))
  end
  if res == nil then
    if kind == "redis" then
      self.breaker:success() -- Redis answered: it is up
      return nil, redis_error("protocol", cmd, msg, { redis_error = tostring(msg):match("^(%S+)") })
    end
    self.breaker:failure(msg)
    return nil, redis_error(kind == "timeout" and "timeout" or "transient", cmd, msg)
  end
  self.breaker:success()
  return res
end

--- One command: reply | nil, err.
function Client:call(cmd, ...)
  if type(cmd) ~= "string" then error("redis:call: the command name must be a string", 2) end
  return self:_call(cmd, ...)
end

--- Run a script (from M.script) with keys and args (lists): EVALSHA, and EVAL
-- when Redis does not know the script yet (restart, failover, SCRIPT FLUSH).
function Client:eval(script, keys, args)
  if type(script) ~= "table" or type(script.source) ~= "string" then
    error("redis:eval: script must come from mediacdn.redis.script(source)", 2)
  end
  keys, args = keys or {}, args or {}
  local argv, n = {}, 0
  for i = 1, #keys do n = n + 1; argv[n] = keys[i] end
  for i = 1, #args do n = n + 1; argv[n] = args[i] end
  if script.sha then
    local res, err = self:_call("EVALSHA", script.sha, #keys, unpack(argv, 1, n))
    if res ~= nil or err.redis_error ~= "NOSCRIPT" then return res, err end
  end
  return self:_call("EVAL", script.source, #keys, unpack(argv, 1, n))
end

--- prefix .. parts joined by ":".
function Client:key(...)
  return self.prefix .. concat({ ... }, ":", 1, select("#", ...))
end

--- false while the breaker refuses calls (Redis is known to be down).
function Client:available()
  return self.breaker.state ~= "open" or self:now() >= self.breaker.open_until
end

--- Epoch seconds (float) in the running context.
function Client:now()
  local ngx = rawget(_G, "ngx")
  if ngx and ngx.now then
    ngx.update_time()
    return ngx.now()
  end
  return core.now()
end

--- Sleep, yielding where the runtime can (nginx, mediacdn.loop).
function Client:sleep(s)
  local ngx = rawget(_G, "ngx")
  if ngx and phase.cosockets_allowed() then return ngx.sleep(s) end
  return require("mediacdn.loop").sleep(s)
end

function Client:close()
  if self.hiredis_pool then self.hiredis_pool:close() end
end

return M
