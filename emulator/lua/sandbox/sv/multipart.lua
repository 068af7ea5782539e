-- sandbox.sv.multipart: a streaming multipart/form-data reader. The body is read in
-- chunks through read(n) and each part's bytes go to a sink as they arrive, so a
-- large file part never sits in memory (only one chunk plus a delimiter's length).
--
--   multipart.boundary(content_type) -> boundary | nil
--   multipart.parse(read, boundary, on_part) -> true | nil, message
--     read(n)          -> string (up to n bytes) | nil at the end / on error (, message)
--     on_part(part)    -> sink(chunk) | nil (the part is discarded)
--                        part = { name =, filename =, content_type = }

local find, sub, lower, match = string.find, string.sub, string.lower, string.match

local multipart = {}

local CHUNK = 65536
local MAX_HEADER = 16384

function multipart.boundary(ctype)
  if not ctype or not find(lower(ctype), "^%s*multipart/form%-data") then return nil end
  local b = match(ctype, '[Bb][Oo][Uu][Nn][Dd][Aa][Rr][Yy]="([^"]+)"') or match(ctype, "[Bb][Oo][Uu][Nn][Dd][Aa][Rr][Yy]=([^;%s]+)")
  if not b or #b > 70 then return nil end
  return b
end

local function parse_headers(text)
  local part = {}
  for line in (text .. "\r\n"):gmatch("(.-)\r\n") do
    local k, v = match(line, "^([^:]+):%s*(.-)%s*$")
    if k then
      k = lower(k)
      if k == "content-disposition" then
        part.name = match(v, ';%s*name="([^"]*)"') or match(v, ";%s*name=([^;%s]+)")
        part.filename = match(v, ';%s*filename="([^"]*)"') or match(v, ";%s*filename=([^;%s]+)")
      elseif k == "content-type" then
        part.content_type = v
      end
    end
  end
  return part
end

function multipart.parse(read, boundary, on_part)
  local dash = "--" .. boundary
  local delim = "\r\n" .. dash
  local buf = ""
  local eof = false
  -- append more input to buf; false at the end
  local function more()
    if eof then return false end
    local s, err = read(CHUNK)
    if not s or s == "" then
      eof = true
      if err then return nil, err end
      return false
    end
    buf = buf .. s
    return true
  end
  -- the first delimiter (a preamble before it is ignored)
  while true do
    local a = find(buf, dash, 1, true)
    if a then
      buf = sub(buf, a + #dash)
      break
    end
    if #buf > MAX_HEADER then return nil, "no multipart boundary found" end
    local ok, err = more()
    if not ok then return nil, err or "no multipart boundary found" end
  end
  while true do
    -- after a delimiter: "--" ends the body, CRLF starts a part
    while #buf < 2 do
      local ok, err = more()
      if not ok then return nil, err or "truncated multipart body" end
    end
    if sub(buf, 1, 2) == "--" then return true end
    if sub(buf, 1, 2) ~= "\r\n" then return nil, "malformed multipart delimiter" end
    buf = sub(buf, 3)
    -- part headers
    local hend
    while true do
      hend = find(buf, "\r\n\r\n", 1, true)
      if hend then break end
      if #buf > MAX_HEADER then return nil, "multipart part headers too large" end
      local ok, err = more()
      if not ok then return nil, err or "truncated multipart headers" end
    end
    local part = parse_headers(sub(buf, 1, hend - 1))
    buf = sub(buf, hend + 4)
    local sink = on_part(part)
    -- part body up to the next delimiter; keep a tail that may hold its start
    while true do
      local a = find(buf, delim, 1, true)
      if a then
        if sink and a > 1 then sink(sub(buf, 1, a - 1)) end
        buf = sub(buf, a + #delim)
        break
      end
      local keep = #delim - 1
      if #buf > keep then
        if sink then sink(sub(buf, 1, #buf - keep)) end
        buf = sub(buf, #buf - keep + 1)
      end
      local ok, err = more()
      if not ok then return nil, err or "truncated multipart body" end
    end
  end
end

return multipart
