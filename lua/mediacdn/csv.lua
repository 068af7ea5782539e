--- RFC 4180 CSV: a writer and a streaming reader, no dependencies.
--   local csv = require "mediacdn.csv"
--   csv.encode_row{ "a", "b,c" }                 --> 'a,"b,c"\r\n'
--   local w = csv.writer(io.stdout); w:write{ "x", "y" }
--   local r = csv.reader(io.open("in.csv"))     -- or csv.reader("a,b\r\n1,2\r\n")
--   while true do
--     local row, err = r:read()                  -- row: array of strings; nil at the end
--     if not row then assert(not err, err) break end
--   end
-- Fields holding a comma, a double quote, CR or LF (or leading/trailing blanks)
-- are quoted and inner quotes doubled. The reader accepts CRLF and bare LF line
-- ends, quoted fields spanning lines, and an optional UTF-8 BOM; a quote left
-- open at the end of input is an error ("line N: unterminated quoted field").
local concat, type, tostring, setmetatable = table.concat, type, tostring, setmetatable

local M = {}

local Reader = {}
Reader.__index = Reader
Reader.__name = "mediacdn.csv.Reader"

local Writer = {}
Writer.__index = Writer
Writer.__name = "mediacdn.csv.Writer"

-- One field, quoted when it must be.
local function encode_field(v)
  if v == nil then return "" end
  local s = tostring(v)
  if s:find('[,"\r\n]') or s:find("^%s") or s:find("%s$") then
    return '"' .. s:gsub('"', '""') .. '"'
  end
  return s
end

--- One record as text (fields are tostring'ed; nil is empty), ending with eol (CRLF).
function M.encode_row(fields, eol)
  if type(fields) ~= "table" then error("csv.encode_row: argument #1 must be a table of fields", 2) end
  local out = {}
  for i = 1, #fields do out[i] = encode_field(fields[i]) end
  -- a record of one empty field must still be visible as a line
  if #fields == 1 and out[1] == "" then out[1] = '""' end
  return concat(out, ",") .. (eol or "\r\n")
end

--- A writer over a file handle (or anything with :write).
function M.writer(handle, eol)
  if type(handle) ~= "table" and io.type(handle) ~= "file" then
    error("csv.writer: argument #1 must be a file handle", 2)
  end
  return setmetatable({ handle = handle, eol = eol or "\r\n" }, Writer)
end

--- Write one record; returns true or nil, message (from the handle).
function Writer:write(fields)
  local ok, err = self.handle:write(M.encode_row(fields, self.eol))
  if not ok then return nil, err end
  return true
end

-- A line source over a string: returns lines without their LF, nil at the end.
local function string_lines(s)
  local pos = 1
  return function()
    if pos > #s then return nil end
    local nl = s:find("\n", pos, true)
    local line
    if nl then line, pos = s:sub(pos, nl - 1), nl + 1
    else line, pos = s:sub(pos), #s + 1 end
    return line
  end
end

--- A reader over a file handle or a string.
function M.reader(src)
  local next_line
  if type(src) == "string" then next_line = string_lines(src)
  elseif io.type(src) == "file" or (type(src) == "table" and src.read) then
    next_line = function() return src:read("l") end
  else
    error("csv.reader: argument #1 must be a string or a file handle", 2)
  end
  return setmetatable({ next_line = next_line, line = 0, first = true }, Reader)
end

-- The next physical line, without a trailing CR (nil at the end of input).
function Reader:_line()
  local l = self.next_line()
  if l == nil then return nil end
  self.line = self.line + 1
  if self.first then
    self.first = false
    if l:sub(1, 3) == "\239\187\191" then l = l:sub(4) end -- UTF-8 BOM
  end
  return (l:gsub("\r$", ""))
end

--- The next record as an array of strings; nil at the end; nil, message when malformed.
-- Blank lines are skipped.
function Reader:read()
  local l
  repeat
    l = self:_line()
    if l == nil then return nil end
  until l ~= ""
  local start_line = self.line
  local fields, buf, pos = {}, {}, 1
  local quoted = false
  while true do
    if quoted then
      local q = l:find('"', pos, true)
      if not q then
        -- the quoted field goes on with the next line (its line break is data)
        buf[#buf + 1] = l:sub(pos) .. "\n"
        l = self:_line()
        if l == nil then
          return nil, ("line %d: unterminated quoted field"):format(start_line)
        end
        pos = 1
      elseif l:sub(q + 1, q + 1) == '"' then
        buf[#buf + 1] = l:sub(pos, q) -- a doubled quote is one quote
        pos = q + 2
      else
        buf[#buf + 1] = l:sub(pos, q - 1)
        quoted, pos = false, q + 1
        local c = l:sub(pos, pos)
        if c ~= "," and c ~= "" then
          return nil, ("line %d: unexpected character after a closing quote"):format(self.line)
        end
      end
    else
      local c = l:sub(pos, pos)
      if c == '"' and #buf == 0 then
        quoted, pos = true, pos + 1
      else
        local comma = l:find(",", pos, true)
        buf[#buf + 1] = l:sub(pos, (comma or #l + 1) - 1)
        fields[#fields + 1] = concat(buf)
        buf = {}
        if not comma then return fields end
        pos = comma + 1
      end
    end
  end
end

--- Every record of a string: rows (array of arrays), or nil, message.
function M.decode(s)
  if type(s) ~= "string" then error("csv.decode: argument #1 must be a string", 2) end
  local r, rows = M.reader(s), {}
  while true do
    local row, err = r:read()
    if not row then
      if err then return nil, err end
      return rows
    end
    rows[#rows + 1] = row
  end
end

return M
