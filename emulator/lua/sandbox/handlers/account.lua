-- sandbox.handlers.account: account, limits, storage, users, billing plan, events,
-- user and the statistics views.

local fs = require "sandbox.fs"
local http = require "sandbox.http"
local json = require "sandbox.json"
local util = require "sandbox.util"
local ratelimit = require "sandbox.ratelimit"
local counters = require "sandbox.counters"
local events = require "sandbox.events"

local ipairs, pairs, type, floor, tostring = ipairs, pairs, type, math.floor, tostring

local account = {}
local H = {}
account.handlers = H

local PLAN_BYTES = 100000000000
local BURST_BYTES = 500000000000

local users = {
  { userId = "sandboxuser000000000000001", role = "primaryOwner", email = "owner@sandbox.invalid", firstName = "Sandbox", lastName = "Owner" },
  { userId = "sandboxuser000000000000002", role = "owner", email = "dev@sandbox.invalid", firstName = "Sandbox", lastName = "Developer" },
  { userId = "sandboxuser000000000000003", role = "contributor", email = "ci@sandbox.invalid", firstName = "Sandbox", lastName = "CI" },
}

local settings   -- the mutable part of getAccount
local spin_views = {}

function account.reset()
  settings = {
    dateCreated = util.iso(util.now()),
    fileSizeLimit = 50000000,
    fetching = {
      enabled = false, type = "http",
      http = { auth = { enabled = false }, url = "http://127.0.0.1/" },
      maxFilesize = 2097152,
    },
    minify = { enabled = false },
    aliases = { sandbox = { prefix = "/", cdn = true } },
  }
  spin_views = {}
end

account.reset()

function account.export()
  return settings
end

function account.import(s)
  if type(s) == "table" then settings = s end
end

-- deep merge b into a (objects only; arrays and scalars replace)
local function merge(a, b)
  for k, v in pairs(b) do
    if type(v) == "table" and not json.is_array(v) and v ~= json.null and type(a[k]) == "table" then
      merge(a[k], v)
    else
      a[k] = util.deepcopy(v)
    end
  end
  return a
end

H.getAccount = function(req)
  local host = req.base:gsub("^%a+://", "")
  local out = util.deepcopy(settings)
  out.alias = "sandbox"
  out.cdnTempURL = host .. "/cdn"
  out.cdnURL = host .. "/cdn"
  out.status = { status = "active", details = {} }
  return http.json(200, out)
end

H.postAccount = function(req)
  merge(settings, req.body)
  fs.changed()
  return http.empty(200)
end

H.postAccountFetching = function(req)
  merge(settings.fetching, req.body)
  fs.changed()
  return http.empty(200)
end

H.getAccountLimits = function()
  return http.json(200, ratelimit.snapshot())
end

local function storage_now()
  local files, bytes = fs.totals()
  return {
    plan = PLAN_BYTES, burstable = BURST_BYTES, extra = 0, used = bytes, files = files,
    quotaExceededDate = json.null,
  }
end

H.getAccountStorage = function()
  return http.json(200, storage_now())
end

H.getAccountUsers = function()
  local out = json.array()
  for i, u in ipairs(users) do out[i] = { userId = u.userId, role = u.role } end
  return http.json(200, out)
end

H.getUser = function(req)
  for _, u in ipairs(users) do
    if u.userId == req.args.userId then
      return http.json(200, {
        email = u.email, firstName = u.firstName, lastName = u.lastName,
        dateCreated = settings.dateCreated, s3Secret = "****************************",
      })
    end
  end
  return http.boom(404, "User not found: " .. req.args.userId)
end

H.getBillingPlan = function()
  return http.json(200, {
    dateActive = "2024-01-01T00:00:00.000Z",
    id = "Business_5_v2",
    period = "month",
    name = "Business 5",
    description = "The complete set of features, with large allowances and no branding",
    price = { month = 19, year = 209, quarter = 57 },
    storage = PLAN_BYTES,
    burstableStorage = BURST_BYTES,
  })
end

H.postAccountEventsSearch = function(req)
  return http.json(200, events.search(req.body or {}))
end

H.postAccountEventsSeen = function(req)
  events.seen(req.body)
  return http.empty(200)
end

---------------------------------------------------------------------------
-- statistics

local MAX_DAYS = 400

-- day starts (epoch s) from..to, default the last month
local function day_range(args)
  local now = util.now()
  local from = args.from or (util.day_start(now) - 30 * 86400)
  local to = args.to or now
  if to < from then return nil, http.bad_request('child "to" fails because ["to" must be larger than or equal to "from"]') end
  local first = util.day_start(from)
  if (to - first) / 86400 > MAX_DAYS then
    return nil, http.bad_request("The date range is too large (at most " .. MAX_DAYS .. " days)")
  end
  local days = {}
  local d = first
  while d <= to do
    days[#days + 1] = d
    d = d + 86400
  end
  return days
end

H.getStatsHttp = function(req)
  local days, res = day_range(req.args)
  if not days then return res end
  local out = {}
  for _, d in ipairs(days) do
    local t = counters.transfer_day(d)
    out[tostring(floor(d * 1000))] = { total = { count = t and t.count or 0, size = t and t.size or 0 } }
  end
  return http.json(200, out)
end

H.getStatsStorage = function(req)
  local days, res = day_range(req.args)
  if not days then return res end
  local out = {}
  local snap = storage_now()
  for _, d in ipairs(days) do
    out[tostring(floor(d * 1000))] = util.copy(snap)
  end
  return http.json(200, out)
end

-- a view of a .spin through /cdn becomes a spin "viewerReady" event
function account.spin_view(path, referer, agent)
  spin_views[#spin_views + 1] = {
    ["@timestamp"] = util.iso(util.now()),
    t = util.now(),
    referer = referer or "",
    user_agent = agent or "",
    event = { origin = path, type = "spin", name = "viewerReady", data = { rows = 1, columns = 16 } },
    geoip = { country_code2 = "ZZ", country_name = "Sandbox" },
  }
  if #spin_views > 1000 then table.remove(spin_views, 1) end
end

H.getStatsSpinsViews = function(req)
  local now = util.now()
  local from = req.args.from or (now - 86400)
  local to = req.args.to or now
  if to < from then return http.bad_request('child "to" fails because ["to" must be larger than or equal to "from"]') end
  if to - from > 5 * 86400 then
    return http.bad_request("The date range must not exceed 5 days")
  end
  local out = json.array()
  for _, v in ipairs(spin_views) do
    if v.t >= from and v.t <= to then
      local e = util.copy(v)
      e.t = nil
      out[#out + 1] = e
    end
  end
  return http.json(200, out)
end

return account
