-- sandbox.events: account events (postAccountEventsSearch / Seen). The sandbox
-- records one for every failed remote fetch, as Sirv does (module "fetching").

local json = require "sandbox.json"
local util = require "sandbox.util"

local ipairs = ipairs

local events = {}

local list = {}

function events.reset()
  list = {}
end

-- add an event: fields module, type, level, filename and a module object
function events.add(ev)
  local now = util.now()
  ev.notify = ev.notify ~= false
  ev._seen = false
  ev._submitted = util.iso(now)
  ev._accountId = "sandboxaccount0000000000000000000"
  ev._id = util.sha1_hex(util.random_id(32) .. now)
  list[#list + 1] = ev
  if #list > 1000 then table.remove(list, 1) end
  return ev
end

function events.search(filter)
  local out = json.array()
  for i = #list, 1, -1 do
    local ev = list[i]
    if (not filter.module or ev.module == filter.module)
      and (not filter.type or ev.type == filter.type)
      and (not filter.filename or ev.filename == filter.filename)
      and (not filter.level or ev.level == filter.level) then
      out[#out + 1] = ev
    end
  end
  return out
end

function events.seen(ids)
  local want = {}
  for _, id in ipairs(ids) do want[id] = true end
  local n = 0
  for _, ev in ipairs(list) do
    if want[ev._id] then
      ev._seen = true
      n = n + 1
    end
  end
  return n
end

function events.export()
  return list
end

function events.import(l)
  list = l or {}
end

return events
