-- mediacdn.transport.phase: may the current code use nginx cosockets?
--
-- lua-nginx-module allows ngx.socket.tcp (and ngx.sleep) only in phases that
-- can yield: rewrite, access, content, timer callbacks and the SSL hooks that
-- run on a fake request (ssl_cert, ssl_session_fetch, ssl_client_hello).
-- Everything else (init, init_worker, set, header_filter, body_filter, log,
-- balancer, ssl_session_store, exit_worker) raises "API disabled in the
-- context of ..." — the usual escape is ngx.timer.at(0, fn), whose callback
-- runs in the "timer" phase where cosockets work.
--
-- Outside nginx (plain lua5.4 / luajit) there is no `ngx` and both functions
-- answer as such; nothing here touches ngx at load time.

local rawget = rawget
local type = type
local format = string.format

local M = {}

-- phases (ngx.get_phase() names) where cosockets and ngx.sleep work
local ALLOWED = {
  rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true,
  preread = true,               -- stream subsystem (ngx_stream_lua), same rules
}

-- the directive a user wrote for a phase, for error messages
local DIRECTIVE = {
  init = "init_by_lua*", init_worker = "init_worker_by_lua*",
  set = "set_by_lua*", header_filter = "header_filter_by_lua*",
  body_filter = "body_filter_by_lua*", log = "log_by_lua*",
  balancer = "balancer_by_lua*", ssl_session_store = "ssl_session_store_by_lua*",
  exit_worker = "exit_worker_by_lua*",
}

-- The `ngx` table when running inside nginx, else nil (no global lookups
-- that strict-mode checkers would flag).
local function get_ngx()
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and type(ngx.get_phase) == "function" then
    return ngx
  end
  return nil
end

--- The current nginx phase name, or nil outside nginx.
function M.current()
  local ngx = get_ngx()
  if not ngx then return nil end
  return ngx.get_phase()
end

--- true when running inside nginx (any phase).
function M.in_nginx()
  return get_ngx() ~= nil
end

--- cosockets_allowed() -> ok, phase
-- ok is true when ngx.socket.tcp can be used right now; phase is the nginx
-- phase name (nil outside nginx, where ok is false).
function M.cosockets_allowed()
  local phase = M.current()
  if not phase then return false, nil end
  return ALLOWED[phase] == true, phase
end

--- unavailable_error([phase]) -> string
-- The message shown when a mediacdn call is made where cosockets are
-- disabled. `phase` defaults to the current one.
function M.unavailable_error(phase)
  phase = phase or M.current()
  if not phase then
    return "mediacdn: the resty transport needs OpenResty/nginx (ngx.socket.tcp); "
      .. "outside nginx use the curl transport"
  end
  local directive = DIRECTIVE[phase]
  return format(
    "mediacdn: nginx cosockets are disabled in the '%s' phase%s, so Sirv calls "
      .. "cannot run here without blocking the worker; make the call from a "
      .. "rewrite/access/content handler, or defer it with "
      .. "ngx.timer.at(0, function(premature) ... end)",
    phase, directive and (" (" .. directive .. ")") or "")
end

return M
