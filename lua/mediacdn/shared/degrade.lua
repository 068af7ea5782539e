--- The "Redis is down / back" state every shared store keeps (token, budget):
-- installs on a store class
--   store:_emit(action, reason)  -- {type = "shared", component =, action =, reason =} to on_event
--   store:_down(err) -> store.fallback   -- Redis failed: report the switch once
--   store:_up()                  -- Redis answered again: report the resume once
-- A store object has fields on_event, degraded and (optionally) fallback.
local tostring = tostring

local M = {}

function M.install(Store, component)
  function Store:_emit(action, reason)
    if self.on_event then
      self.on_event{ type = "shared", component = component, action = action, reason = reason }
    end
  end

  function Store:_down(err)
    if not self.degraded then
      self.degraded = true
      self:_emit("fallback", tostring(err))
    end
    return self.fallback
  end

  function Store:_up()
    if self.degraded then
      self.degraded = false
      self:_emit("resume")
    end
  end
end

return M
