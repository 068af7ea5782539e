-- list_folder.lua: list a Sirv folder as JSON.
--
--   GET /list?dir=/photos
--     -> {"dir":"/photos","entries":[...],"continuation":"..."}   one page
--   GET /list?dir=/photos&continuation=...                        next page
--   GET /list?dir=/photos&all=1[&limit=5000]
--     -> {"dir":"/photos","entries":[...],"truncated":false}      every entry
--
-- One page uses sirv:readdir_page (returns page, err); `all=1` walks every
-- page with the sirv:readdir iterator, which follows Sirv's continuation
-- tokens and raises if a page fails (hence the pcall). Each entry carries its
-- absolute `path` plus Sirv's fields (filename, isDirectory, size, mtime,
-- contentType, meta).

local mediacdn = require "mediacdn"
local sirv_client = require "mediacdn.sirv"
local token_store = require "mediacdn.resty.token_store"

local DEFAULT_LIMIT, MAX_LIMIT = 1000, 100000

local function arg(name)
  local v = ngx.var["arg_" .. name]
  return v and ngx.unescape_uri(v) or nil
end

-- HTTP status for a failed Sirv call
local function status_for(err)
  if err.kind == "not_found" then return 404 end
  if err.kind == "client" or err.kind == "forbidden" then return err.status or 400 end
  if err.kind == "rate_limited" then return 429 end
  return 502
end

local function handle()
  local dir = arg("dir") or "/"
  if dir:sub(1, 1) ~= "/" then
    return 400, { error = "query parameter 'dir' must be an absolute folder path" }
  end
  local sirv = sirv_client.new{
    token_store = token_store.new{ dict = "mediacdn_tokens" },
  }

  if arg("all") ~= "1" then
    local page, err = sirv:readdir_page(dir, arg("continuation"))
    if not page then
      return status_for(err), { error = tostring(err), kind = err.kind }
    end
    return 200, { dir = dir, entries = mediacdn.array(page.contents),
      continuation = page.continuation }
  end

  local limit = math.min(tonumber(arg("limit")) or DEFAULT_LIMIT, MAX_LIMIT)
  local entries, truncated = mediacdn.array(), false
  local ok, err = pcall(function()
    for entry in sirv:readdir(dir) do
      if #entries >= limit then truncated = true break end
      entries[#entries + 1] = entry
    end
  end)
  if not ok then
    if type(err) == "table" and err.kind then        -- a mediacdn.Error
      return status_for(err), { error = tostring(err), kind = err.kind }
    end
    error(err, 0)                                     -- a bug: let it surface
  end
  return 200, { dir = dir, entries = entries, truncated = truncated }
end

local ok, status, doc = pcall(handle)
if not ok then
  ngx.log(ngx.ERR, "list_folder: ", tostring(status))
  status, doc = 500, { error = "internal error" }
end
ngx.status = status
ngx.header["Content-Type"] = "application/json"
ngx.say(mediacdn.json_encode(doc))
