-- mediacdn.resty.token_store: the Sirv token store over a lua_shared_dict.
--
-- All nginx workers share one bearer token per (base_url, client_id) key, and
-- refresh it under a lock so that N workers answering M concurrent requests
-- fetch one token, not N x M. The contract is docs/internals.md "Token store":
--
--   store:get(key)              -> token, expires_at | nil
--   store:set(key, token, expires_at)
--   store:lock(key, timeout_s)  -> true (caller holds the refresh lock)
--                                | false (another holder finished: re-check get)
--                                | nil, "timeout"
--   store:unlock(key)
--   store:delete(key)
--
-- nginx.conf:   lua_shared_dict mediacdn_tokens 1m;
-- Lua:          local store = require("mediacdn.resty.token_store").new{
--                 dict = "mediacdn_tokens" }
--
-- The lock is `dict:add(lock_key, owner, exptime)` (atomic across workers)
-- plus polling with ngx.sleep; resty.lock is not packaged in Debian. The lock
-- expires on its own (opts.lock_ttl) so a crashed holder cannot wedge the
-- others. lock() must run where ngx.sleep works (rewrite/access/content/
-- timer), the same phases as the resty transport. Tokens are kept in shared
-- memory only; nothing here logs them.

local rawget = rawget
local setmetatable = setmetatable
local tostring = tostring
local tonumber = tonumber
local type = type
local error = error
local format = string.format
local match = string.match
local math_min = math.min

local ngx = rawget(_G, "ngx")
local args = require "mediacdn.args"

local WHO = "mediacdn.resty.token_store.new"
local OPTIONS = { dict = "string", lock_ttl = "number", poll = "number", poll_max = "number" }

local M = {}
local S = {}
S.__index = S

local TOKEN_PREFIX = "mediacdn:token:"
local LOCK_PREFIX = "mediacdn:lock:"

local owner_seq = 0            -- per worker; with the pid it names a lock owner

local function now()
  ngx.update_time()
  return ngx.now()
end

--[[
new{ dict = "mediacdn_tokens", lock_ttl = 30, poll = 0.01, poll_max = 0.1 }
dict      name of a lua_shared_dict declared in nginx.conf (required)
lock_ttl  seconds after which an abandoned refresh lock frees itself
poll      first wait between lock checks; doubles up to poll_max
]]
function M.new(opts)
  if not ngx or not ngx.shared then
    error("mediacdn.resty.token_store needs OpenResty/nginx (ngx.shared)", 2)
  end
  if type(opts) ~= "table" or type(opts.dict) ~= "string" then
    error("mediacdn.resty.token_store.new{dict = NAME}: dict name required", 2)
  end
  args.options(WHO, 1, opts, OPTIONS)
  args.number(WHO, "option 'lock_ttl'", opts.lock_ttl, 0.001, 86400, false, 30)
  args.number(WHO, "option 'poll'", opts.poll, 0.001, 60, false, 0.01)
  args.number(WHO, "option 'poll_max'", opts.poll_max, 0.001, 60, false, 0.1)
  local dict = ngx.shared[opts.dict]
  if not dict then
    error(format("lua_shared_dict '%s' is not declared in nginx.conf "
      .. "(add: lua_shared_dict %s 1m;)", opts.dict, opts.dict), 2)
  end
  return setmetatable({
    dict = dict, name = opts.dict,
    lock_ttl = opts.lock_ttl or 30,
    poll = opts.poll or 0.01, poll_max = opts.poll_max or 0.1,
    held = {},                  -- key -> owner id of the locks this store holds
  }, S)
end

--- get(key) -> token, expires_at | nil
function S:get(key)
  local v = self.dict:get(TOKEN_PREFIX .. key)
  if type(v) ~= "string" then return nil end
  local exp, token = match(v, "^([^|]*)|(.*)$")
  if not exp then return nil end
  return token, tonumber(exp)
end

--[[
set(key, token, expires_at): stored as "expires_at|token"; the dict entry
itself expires a little after expires_at so stale tokens do not pile up.
Returns true | nil, err (e.g. "no memory").
]]
function S:set(key, token, expires_at)
  if type(token) ~= "string" then
    error("token_store:set: token must be a string", 2)
  end
  expires_at = tonumber(expires_at) or 0
  local ttl = 0                                   -- 0: no expiry
  if expires_at > 0 then
    ttl = expires_at - now() + 60
    if ttl <= 0 then
      self.dict:delete(TOKEN_PREFIX .. key)
      return true
    end
  end
  local ok, err = self.dict:set(TOKEN_PREFIX .. key,
    format("%.3f|%s", expires_at, token), ttl)
  if not ok then return nil, err end
  return true
end

--- delete(key): forget the token (after a 401)
function S:delete(key)
  self.dict:delete(TOKEN_PREFIX .. key)
end

--[[
lock(key, timeout_s) -> true | false | nil, "timeout"
true: this caller holds the lock and must call unlock(key) after refreshing.
false: the lock was held by someone else and has been released since: that
holder probably stored a fresh token, so re-check get(key) (and call lock
again if it did not).
]]
function S:lock(key, timeout)
  local dict = self.dict
  local lkey = LOCK_PREFIX .. key
  owner_seq = owner_seq + 1
  local owner = format("%d:%d", ngx.worker.pid(), owner_seq)
  local ok, err = dict:add(lkey, owner, self.lock_ttl)
  if ok then
    self.held[key] = owner
    return true
  end
  if err ~= "exists" then return nil, tostring(err) end

  local deadline = now() + (timeout or 10)
  local wait = self.poll
  while true do
    local left = deadline - now()
    if left <= 0 then return nil, "timeout" end
    ngx.sleep(math_min(wait, left))
    if dict:get(lkey) == nil then return false end
    wait = math_min(wait * 2, self.poll_max)
  end
end

-- unlock(key): release the lock if this store still holds it (an expired
-- lock may have been taken by another caller meanwhile: leave theirs alone).
function S:unlock(key)
  local owner = self.held[key]
  if not owner then return end
  self.held[key] = nil
  local lkey = LOCK_PREFIX .. key
  if self.dict:get(lkey) == owner then
    self.dict:delete(lkey)
  end
end

return M
