--- mediacdn.shared.journal: a bulk job's journal in Redis, so several machines can
-- split one job (apply_meta, sync, bulk uploads) and do every item once.
--
--   local j = require("mediacdn.shared.journal").new{
--     redis = <mediacdn.redis client>, job = "tag-spring-2026",
--     lease = 30,          -- seconds a claim lasts without renewal (> the longest item)
--     keep = 7 * 86400,    -- seconds the done set lives after its last write
--   }
--   j:claim(item)    -> "yours" | "done" | "busy" | nil, err
--   j:complete(item) -> true | nil, err    -- done for everyone; the claim goes
--   j:release(item)  -> true | nil, err    -- give a claim back (the item failed here)
--   j:renew(item)    -> true | false (the claim was lost) | nil, err
--   j:count()        -> items done | nil, err
--
-- Items are strings (paths). Keys: <prefix>{job:<job>}:done (a set of items)
-- and <prefix>{job:<job>}:claim:<item> (the claiming worker's id, PX lease).
-- Every operation is one script, atomic in Redis: claim answers "done" for an
-- item in the done set, "yours" when the lease was free, "busy" while a claim
-- holds it (this worker's too: one worker's tasks never share an item). complete
-- adds to the done set and drops the claim only if it is still this worker's.
--
-- Semantics: an item is done once unless a worker dies (or stalls past its
-- lease) in the middle of it: its lease expires and another worker takes the
-- item, which may then be written twice — at most the items the dead worker
-- held (its concurrency). Renew long items before their lease runs out.
-- Failure policy: the journal never guesses — when Redis fails the caller gets
-- nil, err and pauses (the bulk runner waits and says so); it never runs an
-- item it could not claim.
local mredis = require "mediacdn.redis"
local args = require "mediacdn.args"

local setmetatable, type, tostring, error, floor = setmetatable, type, tostring, error, math.floor

local M = {}

-- KEYS: done, claim. ARGV: item, worker, lease ms
local CLAIM = mredis.script([[
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 'done' end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return 'yours' end
return 'busy'
]])

-- KEYS: done, claim. ARGV: item, worker, keep ms
local COMPLETE = mredis.script([[
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return 1
]])

-- KEYS: claim. ARGV: worker
local RELEASE = mredis.script([[
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
]])

-- KEYS: claim. ARGV: worker, lease ms
local RENEW = mredis.script([[
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
]])

local Journal = {}
Journal.__index = Journal
Journal.__name = "mediacdn.shared.Journal"

function M.new(opts)
  if type(opts) ~= "table" or type(opts.redis) ~= "table" or type(opts.redis.eval) ~= "function" then
    error("mediacdn.shared.journal.new: opts.redis must be a mediacdn.redis client", 2)
  end
  if type(opts.job) ~= "string" or opts.job == "" then
    error("mediacdn.shared.journal.new: opts.job must be a non-empty string (names the job)", 2)
  end
  local lease = opts.lease or 30
  if type(lease) ~= "number" or not (lease > 0 and lease <= 1e6) then
    error("mediacdn.shared.journal.new: opts.lease must be a positive number of seconds", 2)
  end
  args.number("mediacdn.shared.journal.new", "opts.keep", opts.keep, 1, 1e9, false, 0)
  if opts.worker ~= nil and (type(opts.worker) ~= "string" or opts.worker == "") then
    args.raise("mediacdn.shared.journal.new", "opts.worker", "a non-empty string", opts.worker, 2)
  end
  return setmetatable({
    redis = opts.redis, job = opts.job,
    worker = opts.worker or mredis.random_id(),
    lease_ms = floor(lease * 1000),
    keep_ms = floor((opts.keep or 7 * 86400) * 1000),
  }, Journal)
end

function Journal:_keys(item)
  local tag = "{job:" .. self.job .. "}"
  return self.redis:key(tag, "done"), self.redis:key(tag, "claim", item)
end

local function check_item(item, fn)
  if type(item) ~= "string" then error("journal:" .. fn .. ": item must be a string", 3) end
end

function Journal:claim(item)
  check_item(item, "claim")
  local done, claim = self:_keys(item)
  local res, err = self.redis:eval(CLAIM, { done, claim }, { item, self.worker, self.lease_ms })
  if res == nil then return nil, err end
  return tostring(res)
end

function Journal:complete(item)
  check_item(item, "complete")
  local done, claim = self:_keys(item)
  local res, err = self.redis:eval(COMPLETE, { done, claim }, { item, self.worker, self.keep_ms })
  if res == nil then return nil, err end
  return true
end

function Journal:release(item)
  check_item(item, "release")
  local _, claim = self:_keys(item)
  local res, err = self.redis:eval(RELEASE, { claim }, { self.worker })
  if res == nil then return nil, err end
  return true
end

function Journal:renew(item)
  check_item(item, "renew")
  local _, claim = self:_keys(item)
  local res, err = self.redis:eval(RENEW, { claim }, { self.worker, self.lease_ms })
  if res == nil then return nil, err end
  return res == 1
end

function Journal:count()
  local done = self:_keys("")
  return self.redis:call("SCARD", done)
end

return M
