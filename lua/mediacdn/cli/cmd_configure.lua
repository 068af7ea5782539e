--- mediacdn.cli.cmd_configure: `mediacdn configure [--profile NAME]` asks for each
-- setting of config.KEYS and writes the profile file (private: 0700 folder, 0600
-- file). Enter keeps the current value. On a terminal a secret is read without
-- echo (sh's stty, restored even on Ctrl-C); from a pipe, answers are read line
-- by line. A secret is never shown, not even the current one ("[set]").
local config = require "mediacdn.cli.config"
local exit = require "mediacdn.cli.exit"

local io_popen, os_execute, ipairs = io.popen, os.execute, ipairs

local M = {}

local function stdin_is_tty()
  local a, _, c = os_execute("test -t 0")
  return (a == true or a == 0) and (c == nil or c == 0)
end

-- One line from stdin without echo (terminal), or nil at the end of input.
local function read_hidden()
  local p = io_popen("sh -c 'trap \"stty echo\" EXIT INT TERM; stty -echo; IFS= read -r l && printf \"%s\\n\" \"$l\"'")
  if not p then return nil end
  local line = p:read("*l")
  p:close()
  io.stderr:write("\n")
  return line
end

function M.run(ctx)
  local a = ctx.args
  local name = a.profile or "default"
  if not name:match("^[%w_.%-]+$") then exit.usage("a profile name is letters, digits, _ . or -") end
  local path = config.path{ config = a.config }
  local profiles = config.load(path) or {}
  local cur = profiles[name] or {}
  local tty = stdin_is_tty()
  local err = io.stderr
  if tty then err:write(("Profile '%s' in %s (Enter keeps a value)\n"):format(name, path)) end
  for _, k in ipairs(config.KEYS) do
    local shown
    if k.secret then shown = cur[k.key] and "set" or "not set"
    else shown = cur[k.key] or k.default or "not set" end
    err:write(("%s [%s]: "):format(k.prompt, shown))
    err:flush()
    local line
    if k.secret and tty then line = read_hidden() else line = io.read("*l") end
    if not tty then err:write("\n") end
    if line then
      line = line:gsub("^%s+", ""):gsub("%s+$", "")
      if line:find("[%c]") then exit.usage(k.prompt .. ": control characters are not allowed") end
      if line ~= "" then cur[k.key] = line end
    end
  end
  local base = cur.sirv_base_url
  if base and not base:match("^https?://") then
    exit.usage(("the Sirv API URL must start with http:// or https:// (got %s)"):format(base))
  end
  profiles[name] = cur
  local ok, werr = config.save(path, profiles)
  if not ok then exit.fail(werr) end
  ctx.reporter:result(("wrote profile '%s' to %s (mode 0600)"):format(name, path),
    { action = "configure", profile = name, file = path, status = "ok" })
  return exit.OK
end

return M
