-- sandbox.faults: fault rules set through /_sandbox/faults.
--
-- rule = { path = "/v2/files/stat" (exact, or a prefix when it ends in "*"),
--          method = "GET"?, skip = 0, times = 1 (-1: forever), action = ..., ...,
--          probability = 1 (0..1: a matching request is spoiled with this chance;
--          one that is spared goes on to the next rule and is not counted) }
-- actions: status (status=, body=?, headers=?), expired_token, rate_limit (reset_in=),
--          reset, stall (seconds=), truncate, invalid_json, latency (ms=), throttle (rate=);
--          on /upload/* only: reset_body (bytes=), lose_upload, expired_url, corrupt

local json = require "sandbox.json"

local type, ipairs, pairs, floor, random = type, ipairs, pairs, math.floor, math.random

local faults = {}

local actions = {
  status = true, expired_token = true, rate_limit = true, reset = true, stall = true,
  truncate = true, invalid_json = true, latency = true, throttle = true,
  -- tus endpoint only (/upload/*), see sandbox.handlers.tus
  reset_body = true, lose_upload = true, expired_url = true, corrupt = true,
}
faults.actions = actions

local rules = {}
local next_id = 1

local function check_rule(r, i)
  local where = "rules[" .. i .. "]"
  if type(r) ~= "table" then return nil, where .. " must be an object" end
  if type(r.path) ~= "string" or r.path == "" then return nil, where .. ".path must be a string" end
  if r.method ~= nil and type(r.method) ~= "string" then return nil, where .. ".method must be a string" end
  if not actions[r.action] then
    return nil, where .. ".action must be one of status, expired_token, rate_limit, reset, stall, truncate, "
      .. "invalid_json, latency, throttle, reset_body, lose_upload, expired_url, corrupt"
  end
  for _, k in ipairs({ "skip", "times", "status", "reset_in", "seconds", "ms", "bytes", "rate", "probability" }) do
    if r[k] ~= nil and type(r[k]) ~= "number" then return nil, where .. "." .. k .. " must be a number" end
  end
  if r.probability ~= nil and not (r.probability >= 0 and r.probability <= 1) then
    return nil, where .. ".probability must be a number from 0 to 1"
  end
  if r.action == "throttle" and (type(r.rate) ~= "number" or r.rate <= 0) then
    return nil, where .. ".rate must be a number of bytes per second > 0"
  end
  if r.action == "status" and (r.status == nil or r.status < 100 or r.status > 599) then
    return nil, where .. ".status must be an HTTP status (100..599)"
  end
  return true
end

-- add rules (an array); returns the stored rules or nil, message
function faults.add(list)
  if type(list) ~= "table" then return nil, "rules must be an array" end
  for i, r in ipairs(list) do
    local ok, err = check_rule(r, i)
    if not ok then return nil, err end
  end
  local added = json.array()
  for _, r in ipairs(list) do
    local rule = {}
    for k, v in pairs(r) do rule[k] = v end
    rule.id = next_id
    next_id = next_id + 1
    rule.method = r.method and r.method:upper() or nil
    rule.skip = floor(r.skip or 0)
    rule.times = floor(r.times or 1)
    rule.matched = 0
    rule.fired = 0
    rules[#rules + 1] = rule
    added[#added + 1] = rule
  end
  return added
end

function faults.clear()
  rules = {}
end

function faults.list()
  local out = json.array()
  for i, r in ipairs(rules) do out[i] = r end
  return out
end

local function path_matches(pattern, uri)
  if pattern:sub(-1) == "*" then
    return uri:sub(1, #pattern - 1) == pattern:sub(1, -2)
  end
  return uri == pattern
end

-- the rule that fires for this request, if any (counts it)
function faults.match(method, uri)
  for _, r in ipairs(rules) do
    if r.times ~= 0 and (r.method == nil or r.method == method) and path_matches(r.path, uri)
      and (r.probability == nil or random() < r.probability) then
      r.matched = r.matched + 1
      if r.skip > 0 then
        r.skip = r.skip - 1
      else
        if r.times > 0 then r.times = r.times - 1 end
        r.fired = r.fired + 1
        return r
      end
    end
  end
  return nil
end

return faults
