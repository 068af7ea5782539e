--- mediacdn.cli.glob: --exclude patterns (rclone's filter syntax, the common part).
--
--   `*` any run of characters but "/", `**` anything (also "/"), `?` one character
--   but "/", `[abc]` / `[!abc]` a class, `{jpg,png}` alternatives.
--   A pattern that starts with "/" is anchored at the top of the transfer;
--   otherwise it matches the end of a path at any folder boundary
--   (`*.tmp` excludes a.tmp and x/y/a.tmp, `cache/**` every cache folder's content).
--   A pattern ending in "/" names folders: `build/` leaves out build folders whole.
--
--   local m = glob.compile{ "*.tmp", "/private/**" }   -- raises exit.usage on a bad one
--   m:file("x/a.tmp") -> true (excluded)     m:dir("private") -> true (do not walk it)
-- Paths are relative to the top of the transfer, with "/" separators.
local exit = require "mediacdn.cli.exit"

local ipairs, type = ipairs, type

local M = {}

local Matcher = {}
Matcher.__index = Matcher

-- "{a,b}c" -> {"ac", "bc"} (nested braces work; an unmatched brace is literal).
local function expand(p)
  local open = p:find("{", 1, true)
  if not open then return { p } end
  local depth, i, parts, start = 0, open, {}, open + 1
  while i <= #p do
    local c = p:sub(i, i)
    if c == "{" then depth = depth + 1
    elseif c == "}" then
      depth = depth - 1
      if depth == 0 then break end
    elseif c == "," and depth == 1 then
      parts[#parts + 1] = p:sub(start, i - 1)
      start = i + 1
    end
    i = i + 1
  end
  if depth ~= 0 then exit.usage(("--exclude %s: unmatched {"):format(p)) end
  parts[#parts + 1] = p:sub(start, i - 1)
  local out = {}
  for _, alt in ipairs(parts) do
    for _, e in ipairs(expand(p:sub(1, open - 1) .. alt .. p:sub(i + 1))) do out[#out + 1] = e end
  end
  return out
end

-- A glob (no braces) as an anchored Lua pattern.
local function to_pattern(g, orig)
  local out, i = { "^" }, 1
  while i <= #g do
    local c = g:sub(i, i)
    if c == "*" then
      if g:sub(i + 1, i + 1) == "*" then
        out[#out + 1] = ".*"
        i = i + 1
      else
        out[#out + 1] = "[^/]*"
      end
    elseif c == "?" then
      out[#out + 1] = "[^/]"
    elseif c == "[" then
      local close = g:find("]", i + 2, true)
      if not close then exit.usage(("--exclude %s: unmatched ["):format(orig)) end
      local body = g:sub(i + 1, close - 1)
      local neg = body:sub(1, 1) == "!" or body:sub(1, 1) == "^"
      if neg then body = body:sub(2) end
      body = body:gsub("[%%%]%^]", "%%%0")
      out[#out + 1] = "[" .. (neg and "^" or "") .. body .. "]"
      i = close
    elseif c:match("[%^%$%(%)%%%.%]%+%-]") then
      out[#out + 1] = "%" .. c
    else
      out[#out + 1] = c
    end
    i = i + 1
  end
  out[#out + 1] = "$"
  return table.concat(out)
end

--- Compile a list of patterns (raises exit.usage on a malformed one).
function M.compile(list)
  local m = setmetatable({ files = {}, dirs = {} }, Matcher)
  for _, raw in ipairs(list or {}) do
    if type(raw) ~= "string" or raw == "" then exit.usage("--exclude needs a pattern") end
    for _, g in ipairs(expand(raw)) do
      local anchored = g:sub(1, 1) == "/"
      if anchored then g = g:sub(2) end
      local dir_only = g:sub(-1) == "/"
      if dir_only then g = g:sub(1, -2) end
      if g == "" then exit.usage(("--exclude %s matches nothing"):format(raw)) end
      local e = { pat = to_pattern(g, raw), anchored = anchored }
      if dir_only then
        m.dirs[#m.dirs + 1] = e
      else
        m.files[#m.files + 1] = e
        local prefix = g:match("^(.*)/%*%*$")
        if prefix and prefix ~= "" then
          m.dirs[#m.dirs + 1] = { pat = to_pattern(prefix, raw), anchored = anchored }
        end
      end
    end
  end
  m.empty = #m.files == 0 and #m.dirs == 0
  return m
end

-- Whether entry e matches rel (whole, or a suffix at a "/" when not anchored).
local function matches(e, rel)
  if rel:find(e.pat) then return true end
  if e.anchored then return false end
  local i = 1
  while true do
    local s = rel:find("/", i, true)
    if not s then return false end
    if rel:sub(s + 1):find(e.pat) then return true end
    i = s + 1
  end
end

--- Whether a folder (relative path) is left out with everything in it.
function Matcher:dir(rel)
  for _, e in ipairs(self.dirs) do
    if matches(e, rel) then return true end
  end
  return false
end

--- Whether a file (relative path) is left out.
function Matcher:file(rel)
  if self.empty then return false end
  for _, e in ipairs(self.files) do
    if matches(e, rel) then return true end
  end
  if #self.dirs > 0 then
    local i = 1
    while true do
      local s = rel:find("/", i, true)
      if not s then break end
      if self:dir(rel:sub(1, s - 1)) then return true end
      i = s + 1
    end
  end
  return false
end

return M
