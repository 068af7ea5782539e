--- Sirv REST API client. Every documented method is callable by name through
-- sirv:call(name, params) (the methods are data: mediacdn.sirv.endpoints);
-- the ergonomic methods (stat, upload, readdir, ...) live in mediacdn.sirv.methods
-- and are thin wrappers over call.
local core = require "mediacdn.core"
local errors = require "mediacdn.errors"
local engine = require "mediacdn.engine"
local schema = require "mediacdn.sirv.schema"
local auth = require "mediacdn.sirv.auth"
local ENDPOINTS = require "mediacdn.sirv.endpoints"
local copts = require "mediacdn.client_options"
local args = require "mediacdn.args"

local url_escape, json_encode, json_decode = core.url_escape, core.json_encode, core.json_decode
local type, pairs, ipairs, tostring, setmetatable, error = type, pairs, ipairs, tostring, setmetatable, error
local byte, find, concat = string.byte, string.find, table.concat
local D = core.defaults
local huge = math.huge

local M = {}

local Sirv = {}
Sirv.__index = Sirv
Sirv.__name = "mediacdn.Sirv"
M.Client = Sirv

local DEFAULT_BASE = "https://api.sirv.com"
local CONVERSION_TIMEOUT = 600 -- the synchronous conversions take minutes before answering
local WHO = "mediacdn.sirv.new" -- names the function in option errors
-- params that carry request plumbing rather than Sirv fields
local RAW_KEYS = { body = true, body_file = true, content_type = true, sink = true, headers = true }

local function argcheck(cond, fn, msg)
  if not cond then error(("mediacdn.sirv.%s: %s"):format(fn, msg), 3) end
end

-- The engine, the token cache and the closures that hold the client's secrets:
-- the client secret and the latest bearer token live only in these closures
-- and the token store, never in a field of the client.
local function wire(self, opts, secret, retry)
  local deadline = retry.deadline or D.retry_deadline
  -- a refresh (with its retries) ends within the retry deadline: waiters wait that long
  local lock_timeout = deadline + D.token_lock_slack
  local key = "sirv:" .. core.sha256_hex(self.base_url .. "\0" .. self.client_id):sub(1, 24)
  local eng, tokens, last_token
  -- fleets (issue 17): the token and the budgets shared through Redis; the fleet
  -- budget goes in front of self.policy before the engine takes it
  self.shared = opts.shared and require("mediacdn.shared").attach(self, opts.shared, key,
    function(ev) if eng then eng:emit(ev) end end) or nil
  local store = opts.token_store or (self.shared and self.shared.token_store)
    or auth.local_store(self.transport, lock_timeout)
  local on_event = self.on_event

  -- Strings that must never appear in an error, log line or event.
  local function secrets()
    local s = { secret }
    local tok = store:get(key)
    if tok then s[#s + 1] = tok end
    if last_token then s[#s + 1] = last_token end
    return s
  end

  -- POST /v2/token (called by auth under its refresh lock).
  local function fetch_token()
    local body = { clientId = self.client_id, clientSecret = secret }
    if self.token_ttl ~= D.token_ttl then body.expiresIn = math.floor(self.token_ttl) end
    local started = self.transport:now()
    local res, err = eng:perform{
      operation = "postToken", method = "POST", path = "/v2/token",
      url = self.base_url .. "/v2/token", body = json_encode(body),
      headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" },
      idempotent = true, auth = false,
    }
    if not res then
      if err.status == 401 or err.status == 400 then
        err.kind = "auth"
        err.message = "the API credentials were rejected: " .. tostring(err.message)
      end
      return nil, err
    end
    local doc, jerr = json_decode(res.body or "")
    if type(doc) ~= "table" or type(doc.token) ~= "string" then
      return nil, errors.new{ kind = "protocol", service = "sirv", operation = "postToken",
        status = res.status, message = "token response is not valid: " .. tostring(jerr or "no token field") }
    end
    eng:emit{ type = "token", action = "fetch", expires_in = doc.expiresIn,
      elapsed = self.transport:now() - started }
    return doc
  end

  -- Attach the bearer token to an attempt (now: the engine's clock read, or
  -- nil). The header string is made once per token.
  local bearer
  local function sign(req, intent, _, now)
    if intent.auth == false then return true end
    local token, err = tokens:token(now)
    if not token then return nil, err end
    if token ~= last_token then
      last_token, bearer = token, "Bearer " .. token
    end
    req.headers["Authorization"] = bearer
    return true
  end

  -- After a 401: drop that token so the replay fetches a new one.
  local function reauth(req)
    local h = req.headers["Authorization"]
    if h then tokens:invalidate(h:sub(8)) end
    eng:emit{ type = "token", action = "invalidate" }
  end

  tokens = auth.new{ store = store, key = key, clock = self.transport, lock_timeout = lock_timeout,
    fetch = fetch_token }
  eng = engine.new{
    service = "sirv", transport = self.transport, policy = self.policy, sign = sign, reauth = reauth,
    emit = on_event, secrets = secrets, buckets = self.buckets,
    limits = copts.limits(self, self.rate_limit),
    -- every intent of this client (sirv:call, download, tus, the token) holds
    -- only the engine's and the descriptor's fields
    passthrough = false,
  }
  return eng, tokens
end

-- The options of sirv.new beside the common ones (mediacdn.client_options).
local OPTIONS = copts.names{ "client_id", "client_secret", "base_url", "token_ttl", "rate_limit",
  "pacing", "token_store", "shared", "alias", "cdn_base", "jwt_key" }

--- Create a client. See the README for every option.
function M.new(opts)
  opts = opts or {}
  argcheck(type(opts) == "table", "new", "argument #1 must be a table of options")
  copts.known(opts, WHO, OPTIONS)
  local id = opts.client_id or os.getenv("SIRV_CLIENT_ID")
  local secret = opts.client_secret or os.getenv("SIRV_CLIENT_SECRET")
  argcheck(type(id) == "string" and id ~= "", "new",
    "client_id is required (option client_id or env SIRV_CLIENT_ID)")
  argcheck(type(secret) == "string" and secret ~= "", "new",
    "client_secret is required (option client_secret or env SIRV_CLIENT_SECRET)")
  local base = opts.base_url or os.getenv("SIRV_BASE_URL") or DEFAULT_BASE
  argcheck(type(base) == "string" and base:match("^https?://"), "new", "base_url must be an http(s) URL")
  local retry = copts.retry(opts, WHO)
  local mode = opts.rate_limit or "wait"
  argcheck(mode == "wait" or mode == "fail", "new", "option 'rate_limit' must be \"wait\" or \"fail\"")
  argcheck(opts.on_event == nil or type(opts.on_event) == "function", "new", "option 'on_event' must be a function")
  local pacing = copts.pacing(opts, WHO)

  local self = setmetatable({
    service = "sirv",
    base_url = base:gsub("/+$", ""),
    client_id = id,
    token_ttl = copts.number(opts, "token_ttl", D.token_ttl, WHO, 5, 604800),
    rate_limit = mode,
    on_event = opts.on_event,
    buckets = {}, -- operation -> rate-limit bucket learned from responses
    _built = {}, -- endpoint -> {[value] = intent or URL}: what single-parameter calls built
  }, Sirv)
  for k, v in pairs(copts.transfer(opts, WHO)) do self[k] = v end -- timeouts, max_wait, cainfo
  self.transport = copts.transport(opts, WHO)
  -- nil fields take the policy core's defaults (core.defaults)
  self.policy = core.policy{
    attempts = retry.attempts, base = retry.base, cap = retry.cap, deadline = retry.deadline,
    rate_limit = mode, max_wait = self.max_wait,
    pace_threshold = pacing == false and 0 or (pacing and pacing.threshold) or nil,
    pace_max_delay = pacing and pacing.max_delay or nil,
  }
  self.engine, self.auth = wire(self, opts, secret, retry)
  require("mediacdn.sirv.urls").configure(self, opts) -- alias, cdn_base, jwt_key (image URLs)
  return self
end

function Sirv:__tostring()
  return ("mediacdn.Sirv(%s)"):format(self.base_url)
end

-- Query parameters that name a file or folder: absolute, no NUL byte (the
-- same rule the body schema applies to paths). from/to are paths only for
-- copy and rename (elsewhere they are dates).
local PATH_QUERY = { filename = true, dirname = true }
local PATH_QUERY_OPS = { postFilesCopy = { from = true, to = true }, postFilesRename = { from = true, to = true } }

-- What a call needs to know of an endpoint beyond its data, worked out once
-- per endpoint (the per-call path only looks these up): the query parameter
-- names, which of them are paths, and whether it is a slow synchronous
-- conversion.
local FACTS = setmetatable({}, { __mode = "k" })

local function facts(ep)
  local f = FACTS[ep]
  if f then return f end
  local ops = PATH_QUERY_OPS[ep.name]
  f = { names = {}, paths = {}, array_body = ep.body ~= nil and ep.body.type == "array",
    no_bucket = ep.name == "getAccountLimits",
    auth = ep.name ~= "postToken" and nil, -- (false: the token call is not signed)
    conversion = ep.name == "postFilesVideo2Spin" or ep.name == "postFilesSpin2Video"
      or ep.name:match("^postFilesSpin2") ~= nil }
  for _, q in ipairs(ep.query) do
    f.names[q.name] = true
    f.paths[q.name] = PATH_QUERY[q.name] or (ops ~= nil and ops[q.name] == true) or nil
  end
  if #ep.query == 1 then -- one parameter: what is built for a value is kept (sirv:call)
    f.single = ep.query[1].name
    -- a call with nothing but that parameter (no body, no binary answer, no
    -- conversion timeout, a bucket): its whole intent is kept
    f.plain = ep.body_kind == "none" and ep.response_kind ~= "binary" and not f.conversion
      and not f.no_bucket
  end
  FACTS[ep] = f
  return f
end

local MAX_BUILT = 256 -- URLs kept per endpoint and client (then forgotten, all at once)

-- Build the query string of an endpoint from params (raises on misuse).
local function build_query(ep, f, params)
  local query, n, parts = nil, 0, nil
  for _, q in ipairs(ep.query) do
    local v = params[q.name]
    if v == nil then
      if q.required then
        error(("sirv:call('%s'): parameter '%s' is required"):format(ep.name, q.name), 5)
      end
    else
      local tv = type(v)
      if tv ~= "string" then -- (a string costs this one test, as before)
        if tv == "number" then
          if v ~= v or v == huge or v == -huge then -- would be sent as "nan" / "inf"
            error(("sirv:call('%s'): parameter '%s' must be a finite number"):format(ep.name, q.name), 5)
          end
        elseif tv ~= "boolean" then
          error(("sirv:call('%s'): parameter '%s' must be a string (got %s)"):format(ep.name, q.name, tv), 5)
        end
      end
      if q.type == "string" and tv ~= "string" then v = tostring(v) end
      if f.paths[q.name] and (tv ~= "string" or byte(v, 1) ~= 47 or find(v, "\0", 1, true)) then
        error(("sirv:call('%s'): parameter '%s' must be an absolute path starting with '/' and holding "
          .. "no NUL byte"):format(ep.name, q.name), 5)
      end
      local part = q.name .. "=" .. url_escape(tostring(v))
      n = n + 1
      if n == 1 then
        query = part -- one parameter (most calls): no table
      else
        if n == 2 then parts = { query } end
        parts[n] = part
      end
    end
  end
  if n == 0 then return "" end
  return "?" .. (n == 1 and query or concat(parts, "&"))
end

-- The URL of a call (raises on misuse).
local function build_url(self, ep, f, params)
  return self.base_url .. ep.path .. build_query(ep, f, params)
end

-- Keep what a call to a single-parameter endpoint built for a string value (a
-- pure function of the value, checked when first built), per client: the
-- intent of a plain call, else the URL. sirv:call looks it up first.
local function keep_built(self, ep, f, params, v)
  local sv = params[f.single]
  if type(sv) ~= "string" or #sv > 1024 then return end
  local cache = self._built
  local built = cache[ep]
  if not built or built.n >= MAX_BUILT then
    built = { n = 0 }
    cache[ep] = built
  end
  built[sv] = v
  built.n = built.n + 1
end

-- The request body of an endpoint from params (raises on misuse).
local function build_body(ep, f, params, spec)
  if ep.body_kind == "json" then
    local doc
    if f.array_body then
      doc = params
    else
      doc = {}
      for k, v in pairs(params) do
        if not f.names[k] and not RAW_KEYS[k] then doc[k] = v end
      end
    end
    local checked, err = schema.check(doc, ep.body, "body")
    if err then error(("sirv:call('%s'): %s"):format(ep.name, err), 4) end
    local text, jerr = json_encode(checked)
    if not text then error(("sirv:call('%s'): cannot encode the body: %s"):format(ep.name, jerr), 4) end
    spec.body = text
    spec.headers["Content-Type"] = "application/json"
  elseif ep.body_kind == "binary" then
    if params.body_file then
      local bf = params.body_file
      if type(bf) ~= "table" or type(bf.path) ~= "string" then
        error(("sirv:call('%s'): body_file must be {path=, offset=, length=}"):format(ep.name), 4)
      end
      -- what the binding refuses, refused before the token is fetched
      local fn = ("sirv:call('%s')"):format(ep.name)
      args.local_path(fn, "body_file.path", bf.path, 4)
      args.number(fn, "body_file.offset", bf.offset, 0, nil, true, 0, 4)
      args.number(fn, "body_file.length", bf.length, 0, nil, true, 0, 4)
      spec.body_file = { path = bf.path, offset = bf.offset or 0, length = bf.length }
    elseif params.body ~= nil then
      if type(params.body) ~= "string" then
        error(("sirv:call('%s'): body must be a string of bytes"):format(ep.name), 4)
      end
      spec.body = params.body
    elseif ep.name ~= "postUpload" then -- a tus creation may carry no data
      error(("sirv:call('%s'): body or body_file is required"):format(ep.name), 4)
    end
    spec.headers["Content-Type"] = params.content_type or "application/octet-stream"
    -- extra protocol headers (e.g. Tus-Resumable / Upload-Length for postUpload)
    if params.headers ~= nil then
      if type(params.headers) ~= "table" then
        error(("sirv:call('%s'): headers must be a table of strings"):format(ep.name), 4)
      end
      for k, v in pairs(params.headers) do
        if type(k) ~= "string" or (type(v) ~= "string" and type(v) ~= "number") then
          error(("sirv:call('%s'): headers must map names to strings"):format(ep.name), 4)
        end
        spec.headers[k] = tostring(v)
      end
    end
  end
end

-- Check that every param is known to the endpoint (raises on misuse).
local function check_names(ep, f, params)
  if f.array_body then return end
  for k in pairs(params) do
    local known = f.names[k]
      or (RAW_KEYS[k] and (ep.body_kind == "binary" or (ep.response_kind == "binary" and k == "sink")))
      or (k == "on_progress" and (ep.body_kind == "binary" or ep.response_kind == "binary"))
      or (ep.body_kind == "json" and ep.body and (ep.body.additionalProperties ~= false
          or (ep.body.properties and ep.body.properties[k] ~= nil)))
    if not known then
      error(("sirv:call('%s'): unknown parameter '%s'"):format(ep.name, tostring(k)), 4)
    end
  end
end

-- Turn a successful response into the documented result.
local function decode_result(ep, spec, res)
  local body = res.body
  if ep.response_kind == "binary" then
    if spec.sink then return true end
    return body
  end
  if body == nil or body == "" then
    -- an empty success that names a created resource (the tus endpoint's 201)
    local loc = res.headers["location"]
    if loc then return { location = loc, upload_offset = tonumber(res.headers["upload-offset"]) } end
    return true
  end
  local doc, jerr = json_decode(body)
  if doc == nil then
    return nil, errors.new{ kind = "protocol", service = "sirv", operation = ep.name, status = res.status,
      message = "the server sent invalid JSON: " .. tostring(jerr) }
  end
  -- mkdir answers an existing path with {name="RiakFsError", message=...}, even under 200
  if type(doc) == "table" and doc.name and doc.message and doc.statusCode == nil and ep.response_kind == "empty" then
    return nil, errors.new{ kind = "conflict", service = "sirv", operation = ep.name, status = res.status,
      message = tostring(doc.message), details = doc }
  end
  return doc
end

-- The headers of a call without a body (read only: the engine copies them).
local ACCEPT_JSON = { Accept = "application/json" }

-- Perform a call's intent; the documented result, or nil, err.
local function perform(eng, ep, spec)
  local res, err = eng:perform(spec)
  if not res then return nil, err end
  return decode_result(ep, spec, res)
end

-- The bucket and the rate-limit mode a call of `name` goes with now (the mode
-- nil when it is the engine's default, as an intent then holds it).
local function call_mode(self, name, ep)
  local rate_limit = self.rate_limit -- a view of the client may fail fast (see sirv.meta_bulk)
  if rate_limit == self.engine.limits.rate_limit then rate_limit = nil end
  return self.buckets[name] or ep.bucket or "rest:global", rate_limit
end

--- Call any documented Sirv method by name with one flat params table.
-- Returns the decoded JSON, true for an empty success, or nil, err.
function Sirv:call(name, params)
  local ep = ENDPOINTS[name]
  if not ep then error(("sirv:call: unknown operation '%s'"):format(tostring(name)), 2) end
  if params == nil then params = {} end
  if type(params) ~= "table" then error(("sirv:call('%s'): params must be a table"):format(name), 2) end
  local f = FACTS[ep] or facts(ep)
  check_names(ep, f, params)
  local eng = self.engine
  local bucket, rate_limit = call_mode(self, name, ep)
  local single, url = f.single, nil
  if single then -- what this client built before for this value
    local built = self._built[ep]
    local hit = built and built[params[single]]
    if f.plain then
      -- the intent itself (the engine only reads it: concurrent calls may
      -- share it), while the bucket and the mode it holds are still the call's
      if hit and hit.bucket == bucket and hit.rate_limit == rate_limit then
        return perform(eng, ep, hit)
      end
      url = hit and hit.url
    else
      url = hit
    end
  end
  if not url then
    url = build_url(self, ep, f, params)
    if single and not f.plain then keep_built(self, ep, f, params, url) end
  end
  local has_body = ep.body_kind ~= "none"
  -- (the fields that would repeat the engine's defaults stay nil: auth = true,
  -- idempotent = false, the client's rate_limit)
  local spec = {
    operation = name, method = ep.verb, path = ep.path, url = url,
    headers = has_body and { Accept = "application/json" } or ACCEPT_JSON,
    bucket = bucket, idempotent = ep.idempotent or nil, auth = f.auth, rate_limit = rate_limit,
  }
  if f.plain then keep_built(self, ep, f, params, spec) end
  if has_body then build_body(ep, f, params, spec) end
  if ep.response_kind == "binary" and params.sink ~= nil then
    args.local_path(("sirv:call('%s')"):format(name), "sink", params.sink)
    spec.sink = params.sink
  end
  if params.on_progress ~= nil then -- the transport reports body bytes (binary methods)
    if type(params.on_progress) ~= "function" then
      error(("sirv:call('%s'): on_progress must be a function"):format(name), 2)
    end
    spec.on_progress = params.on_progress
  end
  if f.no_bucket then spec.bucket = nil end -- costs no quota (seed 001)
  if f.conversion then
    -- synchronous conversions take minutes before the first response byte
    spec.timeout = math.max(self.timeout, CONVERSION_TIMEOUT)
    spec.stall_timeout = spec.timeout
  end
  return perform(eng, ep, spec)
end

--- sirv:call(name, { [p] = value }) for an endpoint whose only parameter is
-- p (the ergonomic methods' path: no params table once the client kept the
-- call's intent for that value).
function Sirv:_call_single(name, value)
  local ep = ENDPOINTS[name]
  local f = FACTS[ep] or facts(ep)
  local built = f.plain and self._built[ep]
  local hit = built and built[value]
  if hit then
    local bucket, rate_limit = call_mode(self, name, ep)
    if hit.bucket == bucket and hit.rate_limit == rate_limit then return perform(self.engine, ep, hit) end
  end
  return self:call(name, { [f.single] = value })
end

require("mediacdn.sirv.methods")(Sirv)
require("mediacdn.sirv.metadata").install(Sirv)
require("mediacdn.sirv.urls").install(Sirv)

return M
