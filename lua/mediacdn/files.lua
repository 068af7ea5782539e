--- Local file helpers that keep memory bounded (64 KiB at a time).
local M = {}

local CHUNK = 65536

--- Size of a local file, or nil, message.
function M.size(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, "cannot open local file: " .. tostring(err) end
  local size = f:seek("end")
  f:close()
  if not size then return nil, "cannot read the size of " .. path end
  return size
end

--- Copy what is left of an open handle into a temporary file, in chunks.
-- Returns tmp_path, size, or nil, nil, message.
function M.spool(handle)
  local tmp = os.tmpname()
  local out, err = io.open(tmp, "wb")
  if not out then
    os.remove(tmp)
    return nil, nil, "cannot create a temporary file: " .. tostring(err)
  end
  local size = 0
  while true do
    local chunk, rerr = handle:read(CHUNK)
    if not chunk then
      if rerr then -- a read error is not the end of the file: never upload a truncated copy
        out:close(); os.remove(tmp)
        return nil, nil, "cannot read the source handle: " .. tostring(rerr)
      end
      break
    end
    local ok, werr = out:write(chunk)
    if not ok then
      out:close(); os.remove(tmp)
      return nil, nil, "cannot write a temporary file: " .. tostring(werr)
    end
    size = size + #chunk
  end
  out:close()
  return tmp, size
end

--- Copy a file's bytes into an open handle, in chunks. Returns true or nil, message.
function M.copy_to_handle(path, handle)
  local f, err = io.open(path, "rb")
  if not f then return nil, "cannot reopen the download: " .. tostring(err) end
  while true do
    local chunk = f:read(CHUNK)
    if not chunk then break end
    local ok, werr = handle:write(chunk)
    if not ok then f:close(); return nil, "cannot write to the destination: " .. tostring(werr) end
  end
  f:close()
  return true
end

return M
