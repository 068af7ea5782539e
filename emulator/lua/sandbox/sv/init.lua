-- sandbox.sv: the SpareVideos side of the sandbox (sparevideos-api.md).
--
--   /api/v1/*            the signed API (sandbox.sv.api)
--   /fileservers/upload  the upload file server and its /progress (sandbox.sv.upload)
--   /thumbnail/*         thumbnails; /sv/streams/* the stream files (sandbox.sv.media)
-- Every request is counted (/_sandbox/stats), delayed by latency_ms and subject to
-- the fault rules of /_sandbox/faults (sandbox.faults matches by path, so a rule
-- for "/api/v1/me/files" or "/fileservers/*" applies here). A rule with action
-- expired_token answers SpareVideos' 401 envelope. The SpareVideos clock
-- (config.sv_clock_offset) also shows in the Date header.

local config = require "sandbox.config"
local http = require "sandbox.http"
local counters = require "sandbox.counters"
local faults = require "sandbox.faults"
local state = require "sandbox.sv.state"
local reply = require "sandbox.sv.reply"

local ngx = ngx
local sub, floor = string.sub, math.floor

local sv = {}

local api, upload, media  -- loaded on first use (they require this module's peers)

-- does this request belong to SpareVideos?
function sv.owns(uri)
  return sub(uri, 1, 8) == "/api/v1/" or sub(uri, 1, 19) == "/fileservers/upload"
    or sub(uri, 1, 11) == "/thumbnail/" or sub(uri, 1, 12) == "/sv/streams/"
end

local function stats_key(uri)
  if sub(uri, 1, 11) == "/thumbnail/" then return "/thumbnail" end
  if sub(uri, 1, 12) == "/sv/streams/" then return "/sv/streams" end
  return uri
end

local function route(method, uri)
  if sub(uri, 1, 8) == "/api/v1/" then
    api = api or require "sandbox.sv.api"
    return api.handle(method, uri)
  elseif sub(uri, 1, 19) == "/fileservers/upload" then
    upload = upload or require "sandbox.sv.upload"
    return upload.handle(method, uri)
  end
  media = media or require "sandbox.sv.media"
  if method ~= "GET" and method ~= "HEAD" then return reply.text(405, "Method not allowed") end
  if sub(uri, 1, 11) == "/thumbnail/" then return media.thumbnail(uri) end
  return media.stream(uri)
end

-- handle one request; apply_fault(rule, endpoint) is the router's (shared with Sirv)
function sv.handle(method, uri, apply_fault)
  counters.hit(method, stats_key(uri))
  if config.latency_ms > 0 then ngx.sleep(config.latency_ms / 1000) end
  if config.sv_clock_offset ~= 0 then
    ngx.header["Date"] = ngx.http_time(floor(state.now()))
  end
  local rule = faults.match(method, uri)
  local mode
  if rule then
    if rule.action == "expired_token" then
      -- the token is consumed as if checked: record it, then refuse it
      local token = ngx.req.get_uri_args(20).token
      if type(token) == "table" then token = token[1] end
      state.record(method .. " " .. uri, type(token) == "string" and token:match("%.(%x+)$") or nil, nil, "fault: expired")
      return http.send(reply.fail(401, "Not authorized: token expired"))
    end
    local res
    res, mode = apply_fault(rule, nil)
    if res then
      if sub(uri, 1, 8) == "/api/v1/" then
        local token = ngx.req.get_uri_args(20).token
        if type(token) == "table" then token = token[1] end
        state.record(method .. " " .. uri, type(token) == "string" and token:match("%.(%x+)$") or nil, nil,
          "fault: " .. rule.action)
      end
      return http.send(res)
    end
  end
  local ok, res = xpcall(route, debug.traceback, method, uri)
  if not ok then
    ngx.log(ngx.ERR, "sandbox sv handler failed: ", res)
    res = reply.fail(500)
  end
  if mode and sub(uri, 1, 8) == "/api/v1/" then
    -- the call was checked, but its answer will be cut off: say so in the record
    local seen = state.seen[method .. " " .. uri]
    if seen and #seen > 0 then seen[#seen].verdict = "fault: " .. mode end
  end
  return http.send(res, mode)
end

return sv
