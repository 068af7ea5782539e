-- sandbox.router: every request enters here (content_by_lua).
--
-- /_sandbox/*  control API (sandbox.control)
-- /v2/*        Sirv REST: count -> latency -> faults -> route -> auth -> rate limit
--              -> query/body validation -> handler -> headers -> send
-- /upload/*    the tus endpoint handed out by getFilesTusUrl (sandbox.handlers.tus)
-- /cdn/*       public file bytes (JWT URLs, zip results)
-- /api/v1/*, /fileservers/upload*, /thumbnail/*, /sv/streams/*   SpareVideos (sandbox.sv)

local config = require "sandbox.config"
local endpoints = require "sandbox.endpoints"
local http = require "sandbox.http"
local auth = require "sandbox.auth"
local ratelimit = require "sandbox.ratelimit"
local faults = require "sandbox.faults"
local counters = require "sandbox.counters"
local schema = require "sandbox.schema"
local util = require "sandbox.util"
local fs = require "sandbox.fs"

local ngx = ngx
local type, pairs, ipairs, tostring, tonumber, floor = type, pairs, ipairs, tostring, tonumber, math.floor
local xpcall, traceback = xpcall, debug.traceback
local sub = string.sub

local router = {}

local handlers = {}
for _, mod in ipairs({ "files", "meta", "search", "jobs", "convert", "account", "tus" }) do
  for name, fn in pairs(require("sandbox.handlers." .. mod).handlers) do
    handlers[name] = fn
  end
end
handlers.postToken = function(req)
  return auth.issue(req.body)
end
router.handlers = handlers

local tus = require "sandbox.handlers.tus"
local control = require "sandbox.control"
local cdn = require "sandbox.handlers.cdn"
local sv = require "sandbox.sv"

local function common_headers(h)
  h["server"] = "Sirv.API"
  if h["cache-control"] == nil then h["cache-control"] = "no-cache" end
  h["access-control-allow-origin"] = "*"
  h["access-control-expose-headers"] = "*"
  return h
end
router.common_headers = common_headers

local function send(res, mode, rule)
  common_headers(res.headers)
  return http.send(res, mode, rule)
end

local function sleep_ms(ms)
  if ms and ms > 0 then ngx.sleep(ms / 1000) end
end

-- query parameters that name a path in the account
local function is_path_param(ep, name)
  if name == "filename" or name == "dirname" then return true end
  if (name == "from" or name == "to") and (ep.name == "postFilesCopy" or ep.name == "postFilesRename") then
    return true
  end
  return false
end

local function child_fails(name, why)
  return 'child "' .. name .. '" fails because ["' .. name .. '" ' .. why .. ']'
end

-- validate and convert the query: args | nil, response
local function check_query(ep)
  local raw = ngx.req.get_uri_args(200)
  local args = {}
  for k, v in pairs(raw) do
    if type(v) == "table" then v = v[1] end
    if v == true then v = "" end
    args[k] = v
  end
  for _, q in ipairs(ep.query or {}) do
    local v = args[q.name]
    if v == nil then
      if q.required then
        return nil, http.bad_request(child_fails(q.name, "is required"))
      end
    elseif is_path_param(ep, q.name) then
      if sub(v, 1, 1) ~= "/" then
        return nil, http.bad_request(child_fails(q.name, 'with value "' .. v .. '" fails to match the UNIX filename pattern'))
      end
      if schema.utf8_len(v) > 1024 then
        return nil, http.bad_request(child_fails(q.name, "length must be less than or equal to 1024 characters long"))
      end
      args[q.name] = fs.normalize(v)
    elseif q.type == "boolean" then
      if v == "true" then args[q.name] = true
      elseif v == "false" then args[q.name] = false
      else return nil, http.bad_request(child_fails(q.name, "must be a boolean")) end
    elseif q.type == "integer" or q.type == "number" then
      local n = tonumber(v)
      if not n or (q.type == "integer" and floor(n) ~= n) then
        return nil, http.bad_request(child_fails(q.name, "must be a number"))
      end
      args[q.name] = n
    elseif q.type == "date" then
      local t = util.parse_iso(v)
      if not t then
        return nil, http.bad_request(child_fails(q.name, "must be a number of milliseconds or valid date string"))
      end
      args[q.name] = t
    end
  end
  return args
end

local function check_body(ep)
  if ep.bodyKind ~= "json" then return nil end
  local body, res = http.read_json(config.max_json_body)
  if res then return nil, res end
  local sch = ep.body
  if body == nil then
    if sch and sch.type == "object" and not (sch.required and #sch.required > 0) then
      return {}
    end
    if sch and sch.type == "array" then
      return nil, http.bad_request('"value" must be an array')
    end
    if sch then return nil, http.bad_request('"value" must be an object') end
    return nil
  end
  if sch then
    local ok, err = schema.validate(sch, body, "value")
    if not ok then return nil, http.bad_request(err) end
  end
  return body
end

local function run_handler(fn, req)
  local ok, res = xpcall(fn, traceback, req)
  if not ok then
    ngx.log(ngx.ERR, "sandbox handler ", req.endpoint and req.endpoint.name or "?", " failed: ", res)
    return http.boom(500, "An internal server error occurred")
  end
  if type(res) ~= "table" then
    return http.empty(200)
  end
  return res
end

-- apply a fault rule; returns a response to send now, or nil plus a send mode
local function apply_fault(rule, ep)
  local a = rule.action
  if a == "status" then
    local status = floor(rule.status)
    local res
    if type(rule.body) == "table" then
      res = http.json(status, rule.body)
    elseif type(rule.body) == "string" then
      res = { status = status, headers = { ["content-type"] = "application/json; charset=utf-8" }, body = rule.body }
    else
      res = http.boom(status)
    end
    if type(rule.headers) == "table" then
      for k, v in pairs(rule.headers) do res.headers[k:lower()] = tostring(v) end
    end
    return res
  elseif a == "expired_token" then
    return auth.expired_response()
  elseif a == "rate_limit" then
    local now = floor(util.now())
    local reset = now + floor(rule.reset_in or 2)
    local bucket = ep and ep.bucket or "rest:global"
    local limit = ratelimit.limit(bucket)
    local info = {
      global = { limit = ratelimit.limit("rest:global"), remaining = 0, reset = reset },
      own = { limit = limit, remaining = 0, reset = reset, type = bucket },
      exhausted = bucket,
    }
    if bucket == "rest:global" then info.global.limit = limit end
    return ratelimit.too_many(info)
  elseif a == "stall" then
    sleep_ms((rule.seconds or 5) * 1000)
  elseif a == "latency" then
    sleep_ms(rule.ms or 0)
  else
    return nil, a   -- reset, truncate, invalid_json, throttle: applied when sending
  end
  return nil
end

local function handle_v2(method, uri)
  local ep = endpoints.find(method == "HEAD" and "GET" or method, uri)
  local stats_key = uri
  local tus_id
  if not ep then
    -- tus protocol on /v2/upload/<id> (HEAD, PATCH, DELETE), and OPTIONS /v2/upload
    tus_id = uri:match("^/v2/upload/([%w]+)$")
    if tus_id or (uri == "/v2/upload" and method == "OPTIONS") then
      stats_key = tus_id and "/v2/upload/{id}" or uri
      ep = endpoints.get("postUpload")
    end
  end
  counters.hit(method, stats_key)
  sleep_ms(config.latency_ms)

  local rule = faults.match(method, uri)
  local mode
  if rule then
    local res
    res, mode = apply_fault(rule, ep)
    if res then return send(res) end
  end

  if not ep then
    return send(http.boom(404, "Not Found"), mode)
  end

  local req = { method = method, uri = uri, endpoint = ep, base = util.base_url() }
  if ep.name ~= "postToken" then
    local payload, res = auth.check()
    if not payload then return send(res, mode) end
    req.token = payload
  end

  local info
  if ep.name == "getAccountLimits" then
    info = { global = ratelimit.peek("rest:global") }
  else
    local ok
    ok, info = ratelimit.take(ep.bucket, ep.counted)
    if not ok then
      counters.limited(info.exhausted)
      return send(ratelimit.too_many(info), mode)
    end
  end

  local res
  local args, qres = check_query(ep)
  if not args then
    res = qres
  else
    req.args = args
    if ep.name == "postUpload" then
      res = tus.v2_upload(req, tus_id)
    else
      local body, bres = check_body(ep)
      if bres then
        res = bres
      else
        req.body = body
        local fn = handlers[ep.name]
        if not fn then
          res = http.boom(501, "Not implemented in the sandbox: " .. ep.name)
        else
          res = run_handler(fn, req)
        end
      end
    end
  end
  ratelimit.headers(info, res.headers)
  if method ~= "GET" and method ~= "HEAD" and res.status < 300 and req.args and type(req.args.filename) == "string" then
    counters.write(method .. " " .. uri, req.args.filename)
  end
  return send(res, mode, rule)
end

-- tus-only fault actions, applied by the tus handler itself
local TUS_ACTIONS = { reset_body = true, lose_upload = true, expired_url = true, corrupt = true }

local function handle_tus(method, uri)
  counters.hit(method, tus.stats_key(uri))
  sleep_ms(config.latency_ms)
  local rule = faults.match(method, uri)
  local mode, tus_rule
  if rule and TUS_ACTIONS[rule.action] then
    tus_rule = rule
  elseif rule then
    local res
    res, mode = apply_fault(rule, nil)
    if res then return http.send(res) end
  end
  local res = tus.handle(method, uri, tus_rule)
  if res == "drop" then return ngx.exit(444) end -- reset_body: close without an answer
  return http.send(res, mode)
end

function router.handle()
  local uri = ngx.var.uri
  local method = ngx.req.get_method()
  if sub(uri, 1, 10) == "/_sandbox/" or uri == "/_sandbox" then
    return http.send(control.handle(method, uri))
  end
  if sub(uri, 1, 4) == "/v2/" then
    return handle_v2(method, uri)
  end
  if sub(uri, 1, 8) == "/upload/" then
    return handle_tus(method, uri)
  end
  if sub(uri, 1, 5) == "/cdn/" then
    counters.hit(method, "/cdn")
    local rule = faults.match(method, uri)
    local mode
    if rule then
      local res
      res, mode = apply_fault(rule, nil)
      if res then return http.send(res) end
    end
    return http.send(cdn.handle(method, uri), mode, rule)
  end
  if sv.owns(uri) then
    return sv.handle(method, uri, apply_fault)
  end
  return send(http.boom(404, "Not Found"))
end

return router
