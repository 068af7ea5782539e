--- The request engine shared by the service clients: one call = a loop of
-- attempts. Before each attempt it paces against the rate-limit budgets and
-- signs the request afresh (a bearer token for Sirv; SpareVideos re-signs);
-- after each it asks the C policy core what to do (done / retry after N s /
-- re-authenticate / wait for the reset / fail) and does the waiting through
-- the transport, so inside a loop or nginx it yields instead of blocking.
local errors = require "mediacdn.errors"
local json_decode = require("mediacdn.core").json_decode

local M = {}

--- Turn an HTTP error response into a mediacdn.Error.
function M.http_error(client, spec, res, kind, retryable)
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
  return errors.redact_error(errors.new{
    kind = kind, status = res.status, message = message, retryable = retryable,
    service = client.service, operation = spec.operation, code = code,
    request_id = res.headers["x-request-id"] or res.headers["x-amzn-requestid"],
    details = type(decoded) == "table" and decoded or nil,
  }, client:_secrets())
end

local function transport_error(client, spec, terr, kind, retryable)
  return errors.redact_error(errors.new{
    kind = kind, message = terr.message or kind, retryable = retryable,
    service = client.service, operation = spec.operation,
  }, client:_secrets())
end

-- Fail-fast rate-limit error for a bucket we know is empty.
local function rate_error(client, spec, rtype, reset_at, status)
  return errors.new{
    kind = "rate_limited", status = status, retryable = true, service = client.service,
    operation = spec.operation, reset_at = reset_at, ratelimit_type = rtype,
    message = reset_at and ("hourly limit of %s reached; resets at %s"):format(rtype or "the API",
      os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(reset_at))) or
      ("hourly limit of %s reached; the reset time is unknown"):format(rtype or "the API"),
  }
end

-- Wait until the budgets allow the next request (or fail fast in "fail" mode):
-- the C core decides (policy:admit), this carries it out.
local function pace(client, spec)
  local t, policy = client.transport, client.policy
  local action, delay, rtype, reset_at = policy:admit(spec.bucket, t:now(), { rate_limit = client.rate_limit })
  if action == "send" then return true end
  if action == "fail" then return nil, rate_error(client, spec, rtype, reset_at) end
  if action == "wait" then
    client:_emit{ type = "rate_limit", operation = spec.operation, reason = "exhausted",
      ratelimit_type = rtype, delay = delay, reset_at = reset_at }
  else
    client:_emit{ type = "rate_limit", operation = spec.operation, reason = "pacing",
      ratelimit_type = rtype, delay = delay }
  end
  t:sleep(delay)
  return true
end

--- Perform spec with retries. spec: {operation, method, url, headers, body, body_file,
-- sink, bucket, idempotent, auth, timeout}. client provides transport, policy,
-- service, rate_limit, max_wait, _emit, _secrets, _sign(spec, req, attempt) and
-- _reauth(spec, req). Returns the response, or nil, err.
function M.perform(client, spec)
  local t, policy = client.transport, client.policy
  local started = t:now()
  local attempt, reauthed, waits = 0, false, 0
  while true do
    local ok, perr = pace(client, spec)
    if not ok then return nil, perr end
    attempt = attempt + 1
    local req = {
      method = spec.method, url = spec.url, body = spec.body, body_file = spec.body_file,
      sink = spec.sink,
      -- a streamed upload/download may take as long as its size needs: only the stall
      -- limit applies to it, unless the caller set transfer_timeout
      timeout = spec.timeout or ((spec.body_file or spec.sink) and client.transfer_timeout or client.timeout),
      connect_timeout = client.connect_timeout, stall_timeout = spec.stall_timeout or client.stall_timeout,
      cainfo = client.cainfo, max_body = spec.max_body,
      headers = {},
    }
    for k, v in pairs(spec.headers or {}) do req.headers[k] = v end
    local sok, serr = client:_sign(spec, req, attempt)
    if not sok then return nil, serr end
    client:_emit{ type = "request", operation = spec.operation, method = spec.method,
      path = spec.path, attempt = attempt }
    if spec.bucket then policy:consume(spec.bucket) end
    local t0 = t:now()
    local res, terr = t:request(req)
    local now = t:now()
    local outcome = { attempt = attempt, elapsed = now - started, idempotent = spec.idempotent,
      reauthed = reauthed or not spec.auth, rate_limit = client.rate_limit, now = now, waits = waits,
      bucket = spec.bucket }
    if res then
      local rate = policy:observe(res.headers)
      -- learn which bucket an operation really counts against (Sirv names it in
      -- X-RateLimit-Type), so the next call paces against that budget
      if rate and rate.type ~= "rest:global" and rate.type ~= spec.bucket and client.buckets then
        client.buckets[spec.operation] = rate.type
      end
      outcome.status, outcome.headers, outcome.body = res.status, res.headers, res.body
      client:_emit{ type = "response", operation = spec.operation, status = res.status,
        attempt = attempt, elapsed = now - t0, bytes = res.bytes, rate = rate }
    else
      outcome.terr = terr.kind
      -- a failed resolve (6) or connect (7) sent nothing: safe to replay any call
      outcome.nothing_sent = terr.nothing_sent or terr.code == 6 or terr.code == 7
      client:_emit{ type = "response", operation = spec.operation, error = terr.kind,
        message = terr.message, attempt = attempt, elapsed = now - t0 }
    end
    local action, delay, kind, retryable, reset_at, hit_type = policy:decide(outcome)
    if action == "done" then return res end
    if action == "reauth" then
      reauthed = true
      attempt = attempt - 1 -- the replay after a fresh token is not a retry
      client:_reauth(spec, req)
    elseif action == "retry" then
      client:_emit{ type = "retry", operation = spec.operation, attempt = attempt, delay = delay,
        status = res and res.status or nil, kind = kind }
      t:sleep(delay)
    elseif action == "wait" then
      waits = waits + 1
      attempt = attempt - 1 -- waiting out a limit is not a failed attempt
      client:_emit{ type = "rate_limit", operation = spec.operation, reason = "429",
        ratelimit_type = hit_type, delay = delay, reset_at = reset_at }
      t:sleep(delay)
    end
    if action == "fail" then
      if res and res.status == 429 then
        return nil, rate_error(client, spec, hit_type, reset_at, 429)
      end
      if res then return nil, M.http_error(client, spec, res, kind, retryable) end
      return nil, transport_error(client, spec, terr, kind, retryable)
    end
  end
end

return M
