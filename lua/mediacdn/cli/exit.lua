--- mediacdn.cli.exit: the command line's exit codes and the error that ends a
-- command early with one of them.
--
--   exit.OK 0 · exit.FAILED 1 (some items failed, each listed) · exit.USAGE 2 (bad
--   input: nothing was sent) · exit.LIMIT 3 (stopped at the hourly rate limit) ·
--   exit.INTERRUPTED 130 (SIGINT; SIGTERM gives 143)
--
--   exit.usage("remote path must start with /")   -- raises; main prints it, exits 2
--   exit.fail("...")                               -- raises; exits 1
--   exit.raise(code, msg)   exit.is(e) -> bool
local setmetatable, getmetatable, error, tostring = setmetatable, getmetatable, error, tostring

local M = { OK = 0, FAILED = 1, USAGE = 2, LIMIT = 3, INTERRUPTED = 130, TERMINATED = 143 }

local Exit = {}
Exit.__index = Exit
Exit.__name = "mediacdn.cli.Exit"
Exit.__tostring = function(e) return e.message end

--- Raise the error that ends the command with `code` after printing `message`
-- (one line) to stderr.
function M.raise(code, message)
  error(setmetatable({ code = code, message = tostring(message) }, Exit), 0)
end

--- Bad input: exit 2.
function M.usage(message)
  M.raise(M.USAGE, message)
end

--- An operational failure of the whole command: exit 1.
function M.fail(message)
  M.raise(M.FAILED, message)
end

function M.is(e)
  return getmetatable(e) == Exit
end

--- The exit code of a signal name ("INT" -> 130, "TERM" -> 143).
function M.for_signal(name)
  if name == "TERM" then return M.TERMINATED end
  if name == "HUP" then return 129 end
  if name == "QUIT" then return 131 end
  return M.INTERRUPTED
end

return M
