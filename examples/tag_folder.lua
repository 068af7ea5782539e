--- Tag every file of a Sirv folder, safely re-runnable.
--
--   lua5.4 examples/tag_folder.lua FOLDER TAG [--journal FILE] [--wait] [--recursive]
--                                  [--concurrency N] [--untag]
--
-- Credentials and endpoint come from the environment (SIRV_CLIENT_ID,
-- SIRV_CLIENT_SECRET, SIRV_BASE_URL; against the sandbox:
-- SIRV_BASE_URL=$(bin/mediacdn-sandbox ...) and the sandbox credentials).
--
-- By default the run stops cleanly when the hourly API limit is reached and
-- prints when it resets; the journal (FOLDER's name + ".journal" unless given)
-- lists every finished file, so running the same command again after the reset
-- carries on where it stopped. --wait sleeps through the reset instead.
local sirv_mod = require "mediacdn.sirv"
local metadata = require "mediacdn.sirv.metadata"

local function usage()
  io.stderr:write("usage: tag_folder.lua FOLDER TAG [--journal FILE] [--wait] [--recursive]"
    .. " [--concurrency N] [--untag]\n")
  os.exit(2)
end

-- FOLDER TAG and the flags.
local function parse(argv)
  local o = { concurrency = 8 }
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "--journal" then i = i + 1; o.journal = argv[i]
    elseif a == "--concurrency" then i = i + 1; o.concurrency = tonumber(argv[i])
    elseif a == "--wait" then o.wait = true
    elseif a == "--recursive" then o.recursive = true
    elseif a == "--untag" then o.untag = true
    elseif a:sub(1, 2) == "--" then usage()
    elseif not o.folder then o.folder = a
    elseif not o.tag then o.tag = a
    else usage() end
    i = i + 1
  end
  if not o.folder or not o.tag or not o.concurrency then usage() end
  o.journal = o.journal or ((o.folder:gsub("[^%w]+", "_"):gsub("^_", "")) .. (o.untag and ".untag" or "") .. ".journal")
  return o
end

local function main(argv)
  local o = parse(argv)
  metadata.install(sirv_mod.Client) -- a no-op once mediacdn.sirv installs it itself
  -- stopping at the limit: no pacing, or the last 10% of the budget would be spread
  -- over the rest of the hour instead of being used at once
  local copts = { rate_limit = o.wait and "wait" or "fail" }
  if not o.wait then copts.pacing = false end
  local sirv = sirv_mod.new(copts)
  local change = o.untag and { remove_tags = o.tag } or { add_tags = o.tag }
  local n = 0
  local summary, err = sirv:apply_meta(o.folder, change, {
    journal = o.journal, concurrency = o.concurrency, recursive = o.recursive,
    on_limit = o.wait and "wait" or "stop",
    on_file = function(rep)
      n = n + 1
      if not rep.ok then io.stderr:write(rep.path, ": ", tostring(rep.err), "\n") end
      if n % 100 == 0 then io.stderr:write(("... %d files\n"):format(n)) end
    end,
    on_wait = function(delay) io.stderr:write(("rate limit reached: waiting %.0f s\n"):format(delay)) end,
  })
  if not summary then
    io.stderr:write("tag_folder: ", tostring(err), "\n")
    return 1
  end
  print(("%d tagged, %d already done (journal %s), %d failed, %d hit the limit"):format(
    summary.done, summary.skipped, o.journal, summary.failed, summary.limited))
  if summary.error then
    print("stopped by an error: " .. tostring(summary.error))
    return 1
  end
  if summary.stopped then
    print(("stopped at the hourly limit; it resets at %s UTC: run the same command again then")
      :format(os.date("!%Y-%m-%d %H:%M:%S", math.floor(summary.reset_at or os.time()))))
    return 3
  end
  return summary.failed == 0 and 0 or 1
end

os.exit(main(arg))
