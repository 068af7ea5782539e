--- mediacdn.redis.resty: Redis connections inside nginx over cosockets
-- (lua-resty-redis; Debian ships it as lua-nginx-redis, module "nginx.redis").
--
--   local pool = require("mediacdn.redis.resty").new{ host =, port =, path =,
--                                                     password =, db =,
--                                                     pool_size = 32, idle = 60 }
--   pool:call(timeout_s, "SET", "k", "v") -> value | nil, message, kind
--
-- Same contract as mediacdn.redis.hiredis. Each call takes a connection from
-- the worker's keepalive pool (named after the server and db), runs the
-- command and puts it back; AUTH and SELECT run only on a new connection.
-- Every step gets what is left of timeout_s, so the whole call ends within
-- it. Cosockets never block the worker; they work where ngx.sleep works
-- (rewrite, access, content, timer).
local rawget, setmetatable, type, tostring = rawget, setmetatable, type, tostring
local pcall, require, ipairs = pcall, require, ipairs
local max, ceil = math.max, math.ceil

local ngx = rawget(_G, "ngx")

local M = {}

local redis -- resty.redis (newer OpenResty) or nginx.redis (Debian)

local function load_client()
  if redis ~= nil then return redis end
  for _, name in ipairs{ "resty.redis", "nginx.redis" } do
    local ok, mod = pcall(require, name)
    if ok and type(mod) == "table" then
      redis = mod
      return redis
    end
  end
  redis = false
  return redis
end

--- Whether lua-resty-redis can be loaded here (inside nginx only).
function M.available()
  return ngx ~= nil and load_client() ~= false
end

local Pool = {}
Pool.__index = Pool

function M.new(opts)
  if not M.available() then
    error("mediacdn.redis.resty: needs nginx with lua-resty-redis (Debian: lua-nginx-redis)", 2)
  end
  local name = opts.path and ("unix:" .. opts.path) or (tostring(opts.host) .. ":" .. tostring(opts.port))
  return setmetatable({
    opts = opts,
    pool_name = "mediacdn:" .. name .. ":" .. tostring(opts.db or 0),
    pool_size = opts.pool_size or 32,
    idle_ms = (opts.idle or 60) * 1000,
  }, Pool)
end

local function now()
  ngx.update_time()
  return ngx.now()
end

-- milliseconds left until deadline (at least 1: 0 would mean "no timeout")
local function left_ms(deadline)
  return max(1, ceil((deadline - now()) * 1000))
end

local function kind_of(err)
  return err == "timeout" and "timeout" or "io"
end

-- arrays may hold error replies as {false, message}: use our {err = message}
local function normalize(v)
  if type(v) == "table" then
    for i = 1, #v do
      local e = v[i]
      if type(e) == "table" and e[1] == false and type(e[2]) == "string" then v[i] = { err = e[2] } end
    end
  end
  return v
end

--- Run one command within timeout_s: value | nil, message, kind.
function Pool:call(timeout, cmd, ...)
  local deadline = now() + timeout
  local o = self.opts
  local red = redis:new()
  red:set_timeout(left_ms(deadline))
  local ok, err
  if o.path then
    ok, err = red:connect("unix:" .. o.path, { pool = self.pool_name })
  else
    ok, err = red:connect(o.host, o.port, { pool = self.pool_name })
  end
  if not ok then return nil, "connect: " .. tostring(err), kind_of(err) end
  if (red:get_reused_times() or 0) == 0 then
    if o.password then
      red:set_timeout(left_ms(deadline))
      local r, aerr = red:auth(o.password)
      if not r then
        red:close()
        local why = r == false and tostring(aerr):match("^%S+") or tostring(aerr)
        return nil, "AUTH failed: " .. why, r == false and "redis" or kind_of(aerr)
      end
    end
    if o.db and o.db ~= 0 then
      red:set_timeout(left_ms(deadline))
      local r, serr = red:select(o.db)
      if not r then
        red:close()
        return nil, "SELECT failed: " .. tostring(serr), r == false and "redis" or kind_of(serr)
      end
    end
  end
  red:set_timeout(left_ms(deadline))
  local res, rerr = red[cmd:lower()](red, ...)
  if res == nil then
    red:close() -- a timed-out or broken connection never goes back to the pool
    return nil, tostring(rerr), kind_of(rerr)
  end
  red:set_keepalive(self.idle_ms, self.pool_size)
  if res == false then return nil, tostring(rerr), "redis" end
  return normalize(res)
end

function Pool:close() end -- connections live in the worker's keepalive pool

return M
