-- sandbox: nginx phase entry points.
--   init_by_lua:        require("sandbox").init()          (master: config, endpoints)
--   init_worker_by_lua: require("sandbox").init_worker()   (state, persistence)
--   exit_worker_by_lua: require("sandbox").exit_worker()
--   content_by_lua:     require("sandbox").handle()

local sandbox = {}

function sandbox.init()
  local config = require "sandbox.config"
  local endpoints = require "sandbox.endpoints"
  config.load_env()
  endpoints.load()
  -- load every module in the master so workers share the compiled code
  require "sandbox.router"
end

function sandbox.init_worker()
  local ngx = ngx
  local config = require "sandbox.config"
  local blob = require "sandbox.blob"
  local fs = require "sandbox.fs"
  local persist = require "sandbox.persist"
  math.randomseed(ngx.now() * 1000 + ngx.worker.pid())
  blob.init(config.state_dir)
  fs.reset()
  local ok, err = pcall(persist.load)
  if not ok then ngx.log(ngx.ERR, "sandbox: cannot load state: ", err) end
  persist.start_timer()
end

function sandbox.exit_worker()
  local persist = require "sandbox.persist"
  pcall(persist.save)
end

function sandbox.handle()
  return require("sandbox.router").handle()
end

return sandbox
