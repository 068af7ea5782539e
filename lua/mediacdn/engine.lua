--- The request engine shared by the service clients: one call = a loop of
-- attempts. Before each attempt the C policy core says whether the rate-limit
-- budgets let it go (send / pace / wait for a reset / fail), the service's
-- signer signs it afresh (a bearer token for Sirv; SpareVideos re-signs), and
-- after each the policy core decides what to do (done / retry after N s /
-- re-authenticate / wait for the reset / fail). The engine only carries the
-- decisions out, waiting through the transport (so inside a loop or nginx it
-- yields instead of blocking).
--
-- An engine is built once per client from what it needs and knows nothing of
-- the client object:
--   local eng = require("mediacdn.engine").new{
--     service = "sirv", transport = t, policy = core.policy{...},
--     sign = function(req, intent, attempt, now) return true end, -- or nil, err
--       (now: the transport's clock read just before, or nil: read it if needed)
--     reauth = function(req, intent) end,          -- optional: after a 401
--     classify = function(res, intent) end,        -- optional: nil or a verdict
--     emit = function(ev) end,                     -- optional event sink
--     secrets = function() return { ... } end,     -- redacted from errors/events
--     limits = { timeout=, connect_timeout=, stall_timeout=, transfer_timeout=,
--                max_wait=, rate_limit=, cainfo=, max_body= },
--     buckets = {},                                -- operation -> learned bucket
--     passthrough = false,  -- optional: the intents hold no field but the engine's
--                           -- and the descriptor's, so none is looked for (default true)
--   }
--   local res, err = eng:perform(intent)
--   local err = eng:http_error(intent, res, kind, retryable)
--   eng:emit(ev)                                   -- the sink, with service + time
-- docs/internals.md ("The engine") is the full contract.
local core = require "mediacdn.core"
local errors = require "mediacdn.errors"

local D = core.defaults
local json_decode = core.json_decode
local type, pairs, ipairs, next, tostring, tonumber = type, pairs, ipairs, next, tostring, tonumber
local setmetatable, error = setmetatable, error

local M = {}

local Engine = {}
Engine.__index = Engine
Engine.__name = "mediacdn.Engine"

-- Intent fields the engine consumes itself, and the descriptor fields
-- descriptor() sets itself (from the intent, or a limit); every other field of
-- an intent is passed through to the request descriptor untouched.
local KNOWN = { operation = true, path = true, bucket = true, idempotent = true, auth = true,
  rate_limit = true, max_wait = true, headers = true,
  method = true, url = true, body = true, body_file = true, body_parts = true, sink = true,
  on_progress = true, timeout = true, connect_timeout = true, stall_timeout = true, cainfo = true,
  max_body = true }

-- Event fields that only ever hold names the engine chose (never a secret): the
-- other string fields of an event are redacted.
local EVENT_NAMES = { type = true, operation = true, method = true, path = true, reason = true,
  ratelimit_type = true, kind = true, error = true, action = true }

-- The limits an engine applies to every request (nil fields: core.defaults).
local LIMIT_DEFAULTS = { timeout = D.timeout, connect_timeout = D.connect_timeout,
  stall_timeout = D.stall_timeout, transfer_timeout = D.transfer_timeout }

local function argcheck(cond, msg)
  if not cond then error("mediacdn.engine." .. msg, 3) end
end

local function optional(v, want)
  return v == nil or type(v) == want
end

local function no_secrets() return {} end

--- Build an engine (see the head of this file). Raises on misuse.
function M.new(cfg)
  argcheck(type(cfg) == "table", "new: argument #1 must be a table")
  argcheck(type(cfg.service) == "string", "new: field 'service' must be a string")
  local t = cfg.transport
  argcheck(type(t) == "table" and type(t.request) == "function" and type(t.sleep) == "function"
    and type(t.now) == "function", "new: field 'transport' must have request, sleep and now")
  local p = cfg.policy
  argcheck((type(p) == "userdata" or type(p) == "table") and p.decide ~= nil and p.admit ~= nil,
    "new: field 'policy' must be a core.policy")
  argcheck(type(cfg.sign) == "function", "new: field 'sign' must be a function")
  for _, k in ipairs{ "reauth", "classify", "emit", "secrets" } do
    argcheck(optional(cfg[k], "function"), ("new: field '%s' must be a function"):format(k))
  end
  argcheck(optional(cfg.limits, "table"), "new: field 'limits' must be a table")
  argcheck(optional(cfg.buckets, "table"), "new: field 'buckets' must be a table")
  argcheck(optional(cfg.passthrough, "boolean"), "new: field 'passthrough' must be a boolean")
  local limits = {}
  for k, v in pairs(cfg.limits or {}) do limits[k] = v end
  for k, v in pairs(LIMIT_DEFAULTS) do if limits[k] == nil then limits[k] = v end end
  argcheck(limits.rate_limit == nil or limits.rate_limit == "wait" or limits.rate_limit == "fail",
    "new: limits.rate_limit must be \"wait\" or \"fail\"")
  local core_policy = type(p) == "userdata" and p.observe_type ~= nil or nil
  return setmetatable({
    service = cfg.service, transport = t, policy = p, limits = limits, buckets = cfg.buckets,
    sign = cfg.sign, reauth = cfg.reauth, classify = cfg.classify, sink = cfg.emit,
    secrets = cfg.secrets or no_secrets, passthrough = cfg.passthrough ~= false,
    -- the core policy itself (not a wrapper such as mediacdn.shared.policy,
    -- which books sends its own way and needs observe's figures and the
    -- status) counts a send in admit and observes without building tables
    -- when no event sink wants the figures: fewer calls into C per attempt
    core_policy = core_policy,
    -- the admission options of a call that keeps the engine's limits (most
    -- calls) for a policy that takes them in a table: one table for all of them
    -- (admit only reads it)
    admit_opts = { rate_limit = limits.rate_limit, max_wait = limits.max_wait },
  }, Engine)
end

function Engine:__tostring()
  return ("mediacdn.Engine(%s)"):format(self.service)
end

--- Send an event to the sink: adds service and time, redacts its strings.
function Engine:emit(ev)
  if not self.sink then return end
  ev.service = self.service
  ev.time = self.transport:now()
  local secrets
  for k, v in pairs(ev) do
    if type(v) == "string" and not EVENT_NAMES[k] then
      secrets = secrets or self.secrets()
      ev[k] = errors.redact(v, secrets)
    end
  end
  self.sink(ev)
end

--- Turn an HTTP response into a redacted mediacdn.Error.
function Engine:http_error(intent, res, kind, retryable)
  local body = res.body
  local decoded = (body and #body > 0) and json_decode(body) or nil
  local message
  if type(decoded) == "table" then
    message = decoded.message or decoded.error or decoded.msg
  end
  if type(message) ~= "string" then
    message = (body and #body > 0 and #body < 300) and body or ("HTTP " .. tostring(res.status))
  end
  message = message:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "") -- tostring(err) stays one line
  local code = type(decoded) == "table" and tonumber(decoded.code) or nil
  local headers = res.headers or {}
  return errors.redact_error(errors.new{
    kind = kind, status = res.status, message = message, retryable = retryable == true,
    service = self.service, operation = intent.operation, code = code,
    request_id = headers["x-request-id"] or headers["x-amzn-requestid"],
    details = type(decoded) == "table" and decoded or nil,
  }, self.secrets())
end

local function transport_error(self, intent, terr, kind, retryable)
  return errors.redact_error(errors.new{
    kind = kind, message = terr.message or kind, retryable = retryable,
    service = self.service, operation = intent.operation,
  }, self.secrets())
end

-- A rate-limit error as the policy core described it (bucket, reset time).
local function rate_error(self, intent, rtype, reset_at, status)
  return errors.new{
    kind = "rate_limited", status = status, retryable = true, service = self.service,
    operation = intent.operation, reset_at = reset_at, ratelimit_type = rtype,
    message = reset_at and ("hourly limit of %s reached; resets at %s"):format(rtype or "the API",
      os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(reset_at))) or
      ("hourly limit of %s reached; the reset time is unknown"):format(rtype or "the API"),
  }
end

-- The error of a failed service verdict (classify).
local function verdict_error(self, intent, res, v)
  local e = self:http_error(intent, res, v.kind, v.retryable)
  if v.message ~= nil then e.message = errors.redact(tostring(v.message), self.secrets()) end
  if v.code ~= nil then e.code = v.code end
  return e
end

-- Carry out an admission that is not "send" (action, delay, rtype, reset_at:
-- the policy's answer): sleep first (pacing, or an empty bucket in "wait"
-- mode), or fail fast. Returns true, or nil, err.
local function admit_slow(self, intent, action, delay, rtype, reset_at)
  if action == "fail" then return nil, rate_error(self, intent, rtype, reset_at) end
  if action == "wait" then
    self:emit{ type = "rate_limit", operation = intent.operation, reason = "exhausted",
      ratelimit_type = rtype, delay = delay, reset_at = reset_at }
  else
    self:emit{ type = "rate_limit", operation = intent.operation, reason = "pacing",
      ratelimit_type = rtype, delay = delay }
  end
  self.transport:sleep(delay)
  return true
end

-- The policy's admission before an attempt at time now: action, delay,
-- ratelimit_type, reset_at (see core.policy's admit).
local function admission(self, intent, mode, max_wait, now)
  if self.core_policy then -- the options as arguments: no table, no field read in C
    return self.policy:admit(intent.bucket, now, mode, max_wait, true)
  end
  local opts = self.admit_opts
  if mode ~= opts.rate_limit or max_wait ~= opts.max_wait then
    opts = { rate_limit = mode, max_wait = max_wait }
  end
  return self.policy:admit(intent.bucket, now, opts)
end

-- The request descriptor of one attempt (headers copied: the signer sets its own).
local function descriptor(self, intent)
  local L = self.limits
  local headers = {}
  local ih = intent.headers
  if ih then -- (next itself: one call fewer than pairs)
    local k, v = next(ih)
    while k ~= nil do
      headers[k] = v
      k, v = next(ih, k)
    end
  end
  local body_file, body_parts, sink = intent.body_file, intent.body_parts, intent.sink
  -- a streamed upload/download may take as long as its size needs: only the stall
  -- limit applies to it, unless the caller set transfer_timeout
  local streamed = body_file or body_parts or sink
  -- the fields every descriptor has, in one constructor; the optional ones
  -- only when set (storing a nil costs as much as a field)
  local req = { method = intent.method, url = intent.url, headers = headers,
    timeout = intent.timeout or (streamed and L.transfer_timeout or L.timeout),
    connect_timeout = intent.connect_timeout or L.connect_timeout,
    stall_timeout = intent.stall_timeout or L.stall_timeout }
  if streamed then
    if body_file ~= nil then req.body_file = body_file end
    if body_parts ~= nil then req.body_parts = body_parts end
    if sink ~= nil then req.sink = sink end
  end
  local v = intent.body
  if v ~= nil then req.body = v end
  v = intent.on_progress
  if v ~= nil then req.on_progress = v end
  v = intent.cainfo or L.cainfo
  if v ~= nil then req.cainfo = v end
  v = intent.max_body or L.max_body
  if v ~= nil then req.max_body = v end
  -- any other field of the intent goes through untouched (unless this engine's
  -- callers promised to hold none: then no walk over the intent)
  if self.passthrough then
    for k, x in pairs(intent) do
      if not KNOWN[k] then req[k] = x end
    end
  end
  return req
end

-- The outcome of an attempt the policy core decides on (mc_outcome's fields).
local function new_outcome(intent, attempt, elapsed, now, reauthed, mode, max_wait, waits)
  return { attempt = attempt, elapsed = elapsed, idempotent = intent.idempotent,
    reauthed = reauthed or intent.auth == false, rate_limit = mode, max_wait = max_wait,
    now = now, waits = waits, bucket = intent.bucket }
end

-- Check a service verdict (a misuse of classify raises).
local function check_verdict(v)
  if type(v) ~= "table" or not errors.KINDS[v.kind] then
    error("mediacdn.engine: classify must return nil or a verdict {kind = <error kind>, ...}", 0)
  end
  return v
end

--- Perform an intent with retries. Returns the response, or nil, err.
function Engine:perform(intent)
  if type(intent) ~= "table" then argcheck(false, "perform: argument #1 must be an intent table") end
  if type(intent.method) ~= "string" then argcheck(false, "perform: intent.method must be a string") end
  if type(intent.url) ~= "string" then argcheck(false, "perform: intent.url must be a string") end
  local t, policy = self.transport, self.policy
  local mode = intent.rate_limit or self.limits.rate_limit
  local max_wait = intent.max_wait or self.limits.max_wait
  local started
  local attempt, reauthed, waits = 0, false, 0
  while true do
    -- one clock read before each attempt: the call's start (the first), the
    -- admission's now and, unless admit slept, the signer's
    local now0 = t:now()
    started = started or now0
    local admitted, pause, ptype, preset = admission(self, intent, mode, max_wait, now0)
    local slept = admitted ~= "send"
    if slept then
      local ok, aerr = admit_slow(self, intent, admitted, pause, ptype, preset)
      if not ok then return nil, aerr end
    end
    attempt = attempt + 1
    local req = descriptor(self, intent)
    -- (the clock read for admit, as the signer's now unless admit slept since;
    -- a wrapper policy may wait inside its admit: then the signer reads it)
    local sok, serr = self.sign(req, intent, attempt, not slept and self.core_policy and now0 or nil)
    if not sok then return nil, serr end
    if self.sink then -- (no event table is built for an engine without a sink)
      self:emit{ type = "request", operation = intent.operation, method = intent.method,
        path = intent.path, attempt = attempt }
    end
    -- (the core policy counted the send in admit)
    if intent.bucket and not self.core_policy then policy:consume(intent.bucket) end
    -- the clock is read around the transfer only when something uses it (an
    -- event, or a decision below): a plain 2xx needs neither read
    local sink = self.sink
    local t0 = sink and t:now()
    local res, terr = t:request(req)
    local now = sink and t:now()
    local verdict, outcome
    if res then
      -- status and bucket let a shared policy (mediacdn.shared.policy) correct the
      -- fleet's mirror on every response, 2xx included; the C policy ignores them
      local rate, rtype
      if self.core_policy and not sink then
        rtype = policy:observe_type(res.headers)
      else
        rate = policy:observe(res.headers, res.status, intent.bucket)
        rtype = rate and rate.type
      end
      -- learn which bucket an operation really counts against (Sirv names it in
      -- X-RateLimit-Type), so the next call paces against that budget
      if rtype and rtype ~= "rest:global" and rtype ~= intent.bucket and self.buckets
          and intent.operation then
        self.buckets[intent.operation] = rtype
      end
      if sink then
        self:emit{ type = "response", operation = intent.operation, status = res.status,
          attempt = attempt, elapsed = now - t0, bytes = res.bytes, rate = rate }
      end
      if self.classify then verdict = self.classify(res, intent) end
      -- a 2xx the service does not overrule is done (the first rule of the
      -- policy core's mc_decide): no outcome to build, no call to make
      local status = res.status
      if verdict == nil and status >= 200 and status < 300 then return res end
      now = now or t:now()
      outcome = new_outcome(intent, attempt, now - started, now, reauthed, mode, max_wait, waits)
      outcome.headers, outcome.body = res.headers, res.body
      if verdict == nil then
        outcome.status = res.status
      else
        -- a service-level answer: decided like the HTTP status it amounts to
        check_verdict(verdict)
        if verdict.kind == "rate_limited" then
          outcome.status, outcome.reset_at = 429, verdict.reset_at
        elseif verdict.reauth then
          outcome.status = 401
        elseif verdict.retryable then
          outcome.terr, outcome.nothing_sent = "transient", verdict.safe == true
        else
          outcome.status = 400
        end
      end
    else
      now = now or t:now()
      outcome = new_outcome(intent, attempt, now - started, now, reauthed, mode, max_wait, waits)
      outcome.terr = terr.kind
      -- a failed resolve (6) or connect (7) sent nothing: safe to replay any call
      outcome.nothing_sent = terr.nothing_sent or terr.code == 6 or terr.code == 7
      if sink then
        self:emit{ type = "response", operation = intent.operation, error = terr.kind,
          message = terr.message, attempt = attempt, elapsed = now - t0 }
      end
    end
    local action, delay, kind, retryable, reset_at, hit_type = policy:decide(outcome)
    if action == "done" then return res end
    if action == "reauth" then
      reauthed = true
      attempt = attempt - 1 -- the replay after a fresh token is not a retry
      if self.reauth then self.reauth(req, intent) end
    elseif action == "retry" then
      self:emit{ type = "retry", operation = intent.operation, attempt = attempt, delay = delay,
        status = res and res.status or nil, kind = verdict and verdict.kind or kind }
      t:sleep(delay)
    elseif action == "wait" then
      waits = waits + 1
      attempt = attempt - 1 -- waiting out a limit is not a failed attempt
      self:emit{ type = "rate_limit", operation = intent.operation, reason = "429",
        ratelimit_type = hit_type, delay = delay, reset_at = reset_at }
      t:sleep(delay)
    else -- fail
      if kind == "rate_limited" then
        return nil, rate_error(self, intent, hit_type, reset_at, res and res.status or nil)
      end
      if verdict then return nil, verdict_error(self, intent, res, verdict) end
      if res then return nil, self:http_error(intent, res, kind, retryable) end
      return nil, transport_error(self, intent, terr, kind, retryable)
    end
  end
end

return M
