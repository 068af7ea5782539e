--- mediacdn.cli: the `mediacdn` command line (bin/mediacdn calls main).
--
--   local code = require("mediacdn.cli").main(argv [, { out =, err =, tty = }])
--
-- Parses argv (parser.lua), builds the context (context.lua) and runs the command.
-- Every failure becomes one line on stderr and an exit code (exit.lua): a usage
-- error 2 before anything is sent, an operational failure 1, a rate-limit stop 3,
-- a signal 130/143. Secrets are redacted from whatever is printed.
local errors = require "mediacdn.errors"
local exit = require "mediacdn.cli.exit"

local tostring, pairs, xpcall, require = tostring, pairs, xpcall, require
local traceback = debug.traceback

local M = {}

-- command path -> module name, function name
local HANDLERS = {
  ["sirv ls"] = { "mediacdn.cli.cmd_sirv", "ls" },
  ["sirv stat"] = { "mediacdn.cli.cmd_sirv", "stat" },
  ["sirv rm"] = { "mediacdn.cli.cmd_sirv", "rm" },
  ["sirv mv"] = { "mediacdn.cli.cmd_sirv", "mv" },
  ["sirv mkdir"] = { "mediacdn.cli.cmd_sirv", "mkdir" },
  ["sirv search"] = { "mediacdn.cli.cmd_sirv", "search" },
  ["sirv limits"] = { "mediacdn.cli.cmd_sirv", "limits" },
  ["sirv url"] = { "mediacdn.cli.cmd_url", "url" },
  ["sirv cp"] = { "mediacdn.cli.cmd_transfer", "cp" },
  ["sirv sync"] = { "mediacdn.cli.cmd_transfer", "sync" },
  ["sirv meta get"] = { "mediacdn.cli.cmd_meta", "get" },
  ["sirv meta set"] = { "mediacdn.cli.cmd_meta", "set" },
  ["sirv meta export"] = { "mediacdn.cli.cmd_meta", "export" },
  ["sirv meta import"] = { "mediacdn.cli.cmd_meta", "import" },
  ["sv upload"] = { "mediacdn.cli.cmd_sv", "upload" },
  ["sv ls"] = { "mediacdn.cli.cmd_sv", "ls" },
  ["sv info"] = { "mediacdn.cli.cmd_sv", "info" },
  ["sv rm"] = { "mediacdn.cli.cmd_sv", "rm" },
  ["sv sign"] = { "mediacdn.cli.cmd_sv", "sign" },
  ["configure"] = { "mediacdn.cli.cmd_configure", "run" },
}

-- The known command words of argv ("sirv sync"), for pointing at the right --help.
local function command_words(argv)
  local known = {}
  for k in pairs(HANDLERS) do
    local prefix = ""
    for w in k:gmatch("%S+") do
      prefix = prefix == "" and w or (prefix .. " " .. w)
      known[prefix] = true
    end
  end
  local words = ""
  for i = 1, #argv do
    local a = argv[i]
    if a:sub(1, 1) ~= "-" then
      local next_words = words == "" and a or (words .. " " .. a)
      if known[next_words] then words = next_words end -- else an option's value or an argument
    end
  end
  return words
end

local function key_of(args)
  local k = args.command
  if args.sirv_command then k = k .. " " .. args.sirv_command end
  if args.sv_command then k = k .. " " .. args.sv_command end
  if args.meta_command then k = k .. " " .. args.meta_command end
  return k
end

-- One line, no control characters.
local function one_line(s)
  return (tostring(s):gsub("%s*\n%s*", "; "):gsub("[%c]", " "))
end

--- Run the command line; returns the exit code.
function M.main(argv, io_)
  io_ = io_ or {}
  local err_out = io_.err or io.stderr
  local parser = require("mediacdn.cli.parser").build()
  local ok, args = parser:pparse(argv)
  if not ok then
    local words = command_words(argv)
    err_out:write(("mediacdn: %s (see mediacdn %s--help)\n"):format(one_line(args),
      words ~= "" and (words .. " ") or ""))
    return exit.USAGE
  end
  local context = require "mediacdn.cli.context"
  local ctx
  local run_ok, code = xpcall(function()
    ctx = context.new(args, io_)
    local h = HANDLERS[key_of(args)]
    if not h then exit.usage("unknown command: " .. key_of(args)) end
    return require(h[1])[h[2]](ctx)
  end, function(e)
    if exit.is(e) or errors.is(e) then return e end
    return { internal = tostring(e), trace = traceback("", 2) }
  end)
  if run_ok then return code or exit.OK end
  local e = code
  local redact = ctx and function(s) return ctx:redact(s) end or tostring
  if ctx and ctx.reporter then ctx.reporter:close() end
  if exit.is(e) then
    err_out:write("mediacdn: ", one_line(redact(e.message)), "\n")
    return e.code
  end
  if errors.is(e) then -- an iterator raised (a page that failed after the retries)
    if e.kind == "rate_limited" then
      local lim = { reset_at = e.reset_at, type = e.ratelimit_type or "rest:global" }
      err_out:write("mediacdn: ", one_line(context.limit_message(lim)), "\n")
      return exit.LIMIT
    end
    err_out:write("mediacdn: ", one_line(redact(tostring(e))), "\n")
    return exit.FAILED
  end
  err_out:write("mediacdn: internal error: ", one_line(redact(e.internal)), "\n")
  if args.verbose then err_out:write(redact(e.trace), "\n") end
  return exit.FAILED
end

return M
