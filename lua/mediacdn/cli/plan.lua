--- mediacdn.cli.plan: the sync planner. Pure: compares two listings (walk.lua
-- trees) and says what to transfer, what to check by content and what to delete.
--
--   local p = plan.compare(src, dst, { mode = "up"|"down"|"remote", checksum = bool,
--                                      delete = bool, ignore_times = bool })
--   p.transfers = { {rel=, size=, mtime=, reason="new"|"size"|"newer"|"time"|"forced"} }
--   p.checks    = { {rel=, size=, mtime=} }     -- same size, compare content (--checksum)
--   p.deletes   = { rel, ... }                  -- files only in dst (with delete)
--   p.rmdirs    = { rel, ... }                  -- folders only in dst, deepest first
--   p.same = n (files left alone), p.bytes = bytes to transfer
--   plan.checked(p, item, differs)              -- the outcome of a content check
--   plan.finalize(p)                            -- transfers in path order again
--
-- When files count as the same (README, "How sync compares"):
--   * sizes differ -> transfer; with --checksum equal sizes are compared by content;
--   * up / remote (Sirv cannot keep a file's own modification time, its mtime is the
--     upload or copy time): transfer when the source changed after that, i.e.
--     source mtime > destination mtime;
--   * down (a download sets the local mtime to Sirv's): transfer when the two
--     mtimes are more than a second apart.
local walk = require "mediacdn.cli.walk"

local pairs, floor, abs = pairs, math.floor, math.abs
local sort = table.sort

local M = {}

local MODIFY_WINDOW = 1 -- seconds (local file systems and Sirv keep different precisions)

local function by_rel(a, b) return a.rel < b.rel end

-- Why s (source) must be transferred over d (destination), or nil when it need not.
local function reason(s, d, opts)
  if not d then return "new" end
  if opts.ignore_times then return "forced" end
  if s.size ~= d.size then return "size" end
  if opts.checksum then return "check" end
  if opts.mode == "down" then
    if abs(floor(s.mtime) - floor(d.mtime)) > MODIFY_WINDOW then return "time" end
    return nil
  end
  -- up / remote: a local mtime has whole seconds, Sirv's has milliseconds
  if floor(s.mtime) > d.mtime then return "newer" end
  return nil
end

--- Compare two trees; see the header for the result.
function M.compare(src, dst, opts)
  local p = { transfers = {}, checks = {}, deletes = {}, rmdirs = {}, same = 0, bytes = 0 }
  for rel, s in pairs(src.files) do
    local why = reason(s, dst.files[rel], opts)
    if why == "check" then
      p.checks[#p.checks + 1] = { rel = rel, size = s.size, mtime = s.mtime }
    elseif why then
      p.transfers[#p.transfers + 1] = { rel = rel, size = s.size, mtime = s.mtime, reason = why }
      p.bytes = p.bytes + s.size
    else
      p.same = p.same + 1
    end
  end
  sort(p.transfers, by_rel)
  sort(p.checks, by_rel)
  if opts.delete then
    for rel in pairs(dst.files) do
      if not src.files[rel] then
        -- a download in progress of a file the source has (name.part and its resume
        -- state name.part.json / name.part.rest) is ours: keep it
        local base = opts.mode == "down" and (rel:match("^(.*)%.part$") or rel:match("^(.*)%.part%.json$")
          or rel:match("^(.*)%.part%.rest$"))
        if not (base and src.files[base]) then p.deletes[#p.deletes + 1] = rel end
      end
    end
    sort(p.deletes)
    local extra = {}
    for rel in pairs(dst.dirs) do
      if not src.dirs[rel] then extra[rel] = true end
    end
    p.rmdirs = walk.dirs_deepest_first(extra)
  end
  return p
end

--- Record the outcome of a content check: a file that differs joins the transfers.
function M.checked(p, item, differs)
  if differs then
    p.transfers[#p.transfers + 1] = { rel = item.rel, size = item.size, mtime = item.mtime, reason = "checksum" }
    p.bytes = p.bytes + item.size
  else
    p.same = p.same + 1
  end
end

--- Put the transfers back in path order (after content checks added some).
function M.finalize(p)
  sort(p.transfers, by_rel)
  return p
end

return M
