--- mediacdn.shared: what a fleet of processes shares through Redis, set up from
-- a client's `shared` option.
--
--   require("mediacdn.sirv").new{ ...,
--     shared = {
--       redis = { host =, port =, path =, password =, db =, prefix = "mediacdn:",
--                 timeout = 0.05, breaker = { failures = 2, cooldown = 2 } },
--                 -- or "redis://:pw@host:port/db", or an existing mediacdn.redis client
--       fleet_size = 4,      -- processes sharing the account (the local share
--                            -- of a budget while Redis is down)
--       token = { lock_ttl = 30, refresh_ahead = 0.25, cache = 1 },  -- or false
--       budget = { safety = 0.01, burst = 0.9, slack = 1 },             -- or false
--     } }
--
-- attach(client, opts, key, emit) returns { redis = <mediacdn.redis client>,
-- token_store = <store> | nil, budget_store = <store> | nil, fleet_size = N },
-- and puts the fleet budget in front of client.policy (mediacdn.shared.policy):
-- call it once the client has its policy and transport, before its engine is
-- built. key names the account (the client's token key). Events from Redis
-- (type "redis": down / up) and from the stores (type "shared": fallback /
-- resume) go to emit.
local mredis = require "mediacdn.redis"

local type, error, pairs, tostring = type, error, pairs, tostring

local M = {}

local function argcheck(cond, msg)
  if not cond then error("mediacdn.sirv.new: shared." .. msg, 4) end
end

--- Build the shared stores for `client` (with transport, policy, rate_limit,
-- max_wait); key names the account (the client's token key), emit sends events.
function M.attach(client, opts, key, emit)
  argcheck(type(opts) == "table", "must be a table (shared = { redis = {...} })")
  local r = opts.redis
  if type(r) == "string" then
    local parsed, perr = mredis.parse_url(r)
    argcheck(parsed ~= nil, "redis: " .. tostring(perr))
    r = parsed
  end
  argcheck(type(r) == "table", "redis must be a table of connection options, a URL or a mediacdn.redis client")
  local fleet_size = opts.fleet_size or 1
  argcheck(type(fleet_size) == "number" and fleet_size >= 1 and fleet_size % 1 == 0,
    "fleet_size must be a positive integer")
  local redis
  if type(r.eval) == "function" then
    redis = r
  else
    local ro = {}
    for k, v in pairs(r) do ro[k] = v end
    ro.on_event = ro.on_event or emit
    redis = mredis.new(ro)
  end
  local out = { redis = redis, fleet_size = fleet_size }
  local t = opts.token
  argcheck(t == nil or t == false or type(t) == "table", "token must be a table or false")
  if t ~= false then
    t = t or {}
    out.token_store = require("mediacdn.shared.token_store").new{
      redis = redis, lock_ttl = t.lock_ttl, refresh_ahead = t.refresh_ahead, cache = t.cache,
      on_event = emit,
    }
  end
  local b = opts.budget
  argcheck(b == nil or b == false or type(b) == "table", "budget must be a table or false")
  if b ~= false then
    b = b or {}
    out.budget_store = require("mediacdn.shared.budget_store").new{
      redis = redis, account = key, fleet_size = fleet_size,
      safety = b.safety, burst = b.burst, slack = b.slack, on_event = emit,
    }
    -- admission through the fleet budget; every other decision stays the C policy's
    client.policy = require("mediacdn.shared.policy").wrap(client.policy, out.budget_store,
      { clock = client.transport, emit = emit })
  end
  return out
end

return M
