--- mediacdn.args: the argument checks the public functions share, so that
-- misuse raises before anything is sent (issue 18 §5). Each check raises
-- "<fn>: <what> must be <rule> (got <value>)" naming the function and the
-- argument, e.g. "sirv:download: argument #1 (path) must be an absolute path
-- starting with '/' (got \"a.jpg\")", and returns the value when it passes.
--
--   local args = require "mediacdn.args"
--   args.remote_path("sirv:download", "argument #1 (path)", path)   -- Sirv path
--   args.local_path("sirv:download", "argument #2 (dest)", dest)    -- a file name here
--   args.number("sirv:wait_job", "option 'timeout'", v, 0, nil, false, nil)  -- v or nil
--   args.code("sparevideos:file", "argument #1 (code)", code)       -- SpareVideos file code
--   local o = args.options("sirv:readdir", 2, opts, { recursive = "boolean" })
--
-- `level` (last argument of each, default 3) is the error level seen from the
-- check: 3 points at the caller of the public function that called the check;
-- 0 adds no position (for a check under pcall whose message is raised again).
-- The rules are in docs/internals.md ("Caller input").
local type, error, tostring, pairs, huge, floor = type, error, tostring, pairs, math.huge, math.floor
local concat, sort = table.concat, table.sort

local M = {}

-- Largest number of anything (bytes, items, seconds) a caller may pass: past 2^53
-- a double holds no exact integer, and no real size or count comes near it.
M.MAX = 2 ^ 53

-- A short, printable rendering of a refused value for the message.
local function show(v)
  if type(v) == "string" then
    local s = v:sub(1, 40):gsub("[%c\128-\255]", function(c) return ("\\%d"):format(c:byte()) end)
    return '"' .. s .. (#v > 40 and '..."' or '"')
  end
  if type(v) == "number" then return v ~= v and "nan" or ("%.14g"):format(v) end
  return type(v)
end

local function raise(fn, what, rule, v, level)
  level = level or 3
  error(("%s: %s must be %s (got %s)"):format(fn, what, rule, show(v)), level == 0 and 0 or level + 1)
end
M.raise = raise -- raise(fn, what, rule, v, level): level as for error() at the caller

--- A local file name: a non-empty string without a NUL byte (C would cut it there).
function M.local_path(fn, what, v, level)
  if type(v) ~= "string" or v == "" or v:find("\0", 1, true) then
    raise(fn, what, "a local file path (a non-empty string without NUL bytes)", v, level)
  end
  return v
end

--- A Sirv path: a string starting with "/" and holding no NUL byte (the rule
-- sirv:call applies to paths in queries and bodies).
function M.remote_path(fn, what, v, level)
  if type(v) ~= "string" or v:byte(1) ~= 47 or v:find("\0", 1, true) then
    raise(fn, what, "an absolute path starting with '/' without NUL bytes", v, level)
  end
  return v
end

--- A finite number within [lo, hi] (either may be nil; hi defaults to M.MAX),
-- a whole number when `integer`. nil passes when `default` is given (returned then).
function M.number(fn, what, v, lo, hi, integer, default, level)
  if v == nil and default ~= nil then return default end
  hi = hi or M.MAX
  if type(v) ~= "number" or v ~= v or v == huge or v == -huge or (lo and v < lo) or v > hi
      or (integer and v ~= floor(v)) then
    local kind = integer and "an integer" or "a number"
    local range = lo and (hi < M.MAX and (" between %.14g and %.14g"):format(lo, hi) or (" >= %.14g"):format(lo))
      or (" <= %.14g"):format(hi)
    raise(fn, what, kind .. range, v, level)
  end
  return v
end

--- A SpareVideos file code. The API calls codes opaque (observed:
-- "<10 digits>-<6 alphanumerics>"); accepted: 1 to 128 visible ASCII characters
-- (no space, control byte, NUL or non-ASCII byte), which covers every code the
-- service issues and refuses what cannot be one.
function M.code(fn, what, v, level)
  if type(v) ~= "string" or #v < 1 or #v > 128 or v:find("[^\33-\126]") then
    raise(fn, what, "a file code (1-128 visible ASCII characters, e.g. \"1488633857-11PYNC\")", v, level)
  end
  return v
end

-- the names of a `known` table, sorted, for a message
local function names(known)
  local out = {}
  for k in pairs(known) do out[#out + 1] = k end
  sort(out)
  return concat(out, ", ")
end

--- An options table: nil gives {}; otherwise a table whose keys are all in
-- `known` (name -> Lua type name, or "any") and whose values have that type.
-- known = nil checks only that opts is a table.
function M.options(fn, argn, opts, known, level)
  level = level or 3
  if opts == nil then return {} end
  if type(opts) ~= "table" then raise(fn, ("argument #%d"):format(argn), "a table of options", opts, level) end
  if known then
    for k, v in pairs(opts) do
      local want = known[k]
      if want == nil then
        error(("%s: argument #%d has an unknown option '%s' (known: %s)"):format(fn, argn, tostring(k), names(known)),
          level)
      end
      if want ~= "any" and type(v) ~= want then
        raise(fn, ("option '%s'"):format(k), ("a %s"):format(want), v, level)
      end
    end
  end
  return opts
end

return M
