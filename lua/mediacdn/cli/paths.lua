--- mediacdn.cli.paths: which command-line arguments are Sirv paths and which are
-- local ones, and joining them.
--
-- The rule (README, "Paths"): `sirv:/x` is always a Sirv path and `file:x` always
-- a local one; otherwise a path that starts with "/" is a Sirv path and anything
-- else (`./dir`, `dir`, `../x`, `~/x`) is local. When the other argument of cp or
-- sync is written `sirv:...`, a bare `/home/me/x` is taken as local, so local
-- absolute paths stay easy to write. Two bare absolute paths are ambiguous (a
-- server-side copy, or a download to /home/...?): cp and sync refuse them and
-- ask for sirv: or file:.
--
--   paths.arg(s) -> {remote = bool, path = "...", explicit = bool} | raises exit.usage
--   paths.pair(src, dst) -> a, b   (cp/sync: applies the two rules above)
--   paths.remote(s, what) -> "/normalised"   (a Sirv-only argument; raises on a bad one)
--   paths.rjoin("/a", "b/c") -> "/a/b/c"   paths.ljoin("dir", "b/c") -> "dir/b/c"
--   paths.basename("/a/b.jpg") -> "b.jpg"   paths.inside(a, b) -> b is a or below a
local exit = require "mediacdn.cli.exit"

local os_getenv = os.getenv
local type = type

local M = {}

-- "/a//b/" -> "/a/b"; nil for a path Sirv cannot have.
local function normalize_remote(p)
  p = p:gsub("//+", "/")
  if #p > 1 and p:sub(-1) == "/" then p = p:sub(1, -2) end
  for seg in p:gmatch("[^/]+") do
    if seg == "." or seg == ".." then return nil end
  end
  return p
end

local function expand_home(p)
  if p == "~" or p:sub(1, 2) == "~/" then
    local home = os_getenv("HOME")
    if home then return home .. p:sub(2) end
  end
  return p
end

--- Classify one argument.
function M.arg(s)
  if type(s) ~= "string" or s == "" then exit.usage("an empty path is not a path") end
  if s:sub(1, 5) == "sirv:" then
    local p = s:sub(6)
    if p:sub(1, 1) ~= "/" then
      exit.usage(("Sirv path %s must start with / (sirv:/%s)"):format(s, p))
    end
    local n = normalize_remote(p)
    if not n then exit.usage(("Sirv path %s must not contain . or .. segments"):format(s)) end
    return { remote = true, path = n, explicit = true, arg = s }
  end
  if s:sub(1, 5) == "file:" then
    local p = s:sub(6)
    if p == "" then exit.usage("file: needs a path (file:./dir)") end
    return { remote = false, path = expand_home(p), explicit = true, arg = s }
  end
  if s:sub(1, 1) == "/" then
    local n = normalize_remote(s)
    if not n then exit.usage(("Sirv path %s must not contain . or .. segments"):format(s)) end
    return { remote = true, path = n, arg = s, local_path = s }
  end
  return { remote = false, path = expand_home(s), arg = s }
end

--- Classify the SRC and DST of cp or sync (a bare /x facing a sirv: path is local).
function M.pair(src, dst)
  local a, b = M.arg(src), M.arg(dst)
  if a.explicit and a.remote and b.remote and not b.explicit then
    b = { remote = false, path = b.local_path, arg = b.arg }
  elseif b.explicit and b.remote and a.remote and not a.explicit then
    a = { remote = false, path = a.local_path, arg = a.arg }
  elseif a.remote and b.remote and not a.explicit and not b.explicit then
    exit.usage(("both %s and %s start with /: write sirv:%s for a Sirv path and file:%s for a local"
      .. " one (sirv: on both copies on the server)"):format(src, dst, dst, dst))
  end
  return a, b
end

--- A Sirv-only argument (ls, rm, stat, ...): its normalised path.
function M.remote(s, what)
  local a = M.arg(s)
  if not a.remote then
    exit.usage(("%s %s is not a Sirv path: Sirv paths start with / (did you mean /%s?)"):format(
      what or "path", s, (s:gsub("^%./", ""))))
  end
  return a.path
end

--- Join a Sirv folder and a relative path.
function M.rjoin(dir, rel)
  if rel == nil or rel == "" then return dir end
  if dir == "/" then return "/" .. rel end
  return dir .. "/" .. rel
end

--- Join a local folder and a relative path.
function M.ljoin(dir, rel)
  if rel == nil or rel == "" then return dir end
  if dir:sub(-1) == "/" then return dir .. rel end
  return dir .. "/" .. rel
end

function M.basename(p)
  local s = p:gsub("/+$", "")
  return s:match("([^/]*)$")
end

--- Whether Sirv path b is a or inside a.
function M.inside(a, b)
  if a == b or a == "/" then return true end
  return b:sub(1, #a + 1) == a .. "/"
end

return M
