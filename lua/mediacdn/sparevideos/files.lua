--- The SpareVideos file list (paginated, each page signed afresh) and delete.
--   sv:files_page{ page = N } | sv:files_page{ url = next_page_url }
--     -> { codes = {...}, current_page, last_page, next_page_url } | nil, err
--   for f in sv:files() do print(f.code) end     -- every page; a failing page raises
--   sv:delete{ code, ... }                       -- true | nil, err (err.deleted)
-- Pagination follows nextPageUrl (§6): only on the API's own origin (a token is
-- never sent elsewhere), with any token in it replaced by a fresh one; a page
-- number or URL that repeats, or pages past lastPage, raise a protocol error.
local errors = require "mediacdn.errors"
local core = require "mediacdn.core"
local iter = require "mediacdn.sirv.iter"
local args = require "mediacdn.args"

local type, tonumber, tostring, ipairs, setmetatable = type, tonumber, tostring, ipairs, setmetatable
local array_mt = core.array_mt

local DELETE_BATCH = 100   -- codes per delete call: keeps the token (and URL) small

return function(SV, M)
  local argcheck = M.argcheck

  local function protocol(msg)
    return errors.new{ kind = "protocol", service = "sparevideos", operation = "files/get", message = msg }
  end

  -- a page URL without its token parameter
  local function strip_token(url)
    local head, query = url:match("^([^?#]*)%??([^#]*)")
    local keep = {}
    for part in query:gmatch("[^&]+") do
      if not part:match("^token=") and not part:match("^token$") then keep[#keep + 1] = part end
    end
    return #keep > 0 and (head .. "?" .. table.concat(keep, "&")) or head
  end

  --- One page of the file list: opts.page (1-based) or opts.url (a nextPageUrl).
  function SV:files_page(opts)
    opts = args.options("sparevideos:files_page", 1, opts, { page = "number", url = "string" })
    local url
    if opts.url ~= nil then
      argcheck(type(opts.url) == "string", "files_page", "option 'url' must be a string")
      if not M.same_origin(opts.url, self.base_url) then
        return nil, protocol("nextPageUrl points to another host; no token is sent there")
      end
      url = strip_token(opts.url)
    elseif opts.page ~= nil then
      args.number("sparevideos:files_page", "option 'page'", opts.page, 1, nil, true)
      url = self.base_url .. "/me/files" .. (opts.page > 1 and ("?page=" .. math.floor(opts.page)) or "")
    end
    local doc, err = self:_call("list", nil, url)
    if not doc then return nil, err end
    if type(doc.codes) ~= "table" then return nil, protocol("the file list page has no codes") end
    for _, c in ipairs(doc.codes) do
      if type(c) ~= "string" then return nil, protocol("the file list page holds a code that is not a string") end
    end
    local nxt = doc.nextPageUrl
    return {
      codes = doc.codes, current_page = tonumber(doc.currentPage), last_page = tonumber(doc.lastPage),
      next_page_url = (type(nxt) == "string" and nxt ~= "") and nxt or nil,
    }
  end

  -- the cursor step: the next page's items (tables with .code)
  local function fetch(cur)
    local page, err = cur.client:files_page(cur.next)
    if not page then return nil, err end
    local cp = page.current_page or cur.expect
    if cur.seen_pages[cp] or (cur.next.url and cur.seen_urls[cur.next.url]) then
      return nil, protocol(("page %s came twice: the server's pagination loops"):format(tostring(cp)))
    end
    cur.seen_pages[cp] = true
    if cur.next.url then cur.seen_urls[cur.next.url] = true end
    if page.last_page and cp > page.last_page then
      return nil, protocol(("page %d is past lastPage %d"):format(cp, page.last_page))
    end
    local items = {}
    for i, c in ipairs(page.codes) do items[i] = { code = c, page = cp } end
    if page.last_page == nil or cp >= page.last_page then
      cur.exhausted = true
    elseif page.next_page_url then
      cur.next = { url = page.next_page_url }
    else
      cur.next = { page = cp + 1 } -- no nextPageUrl although pages remain (§6 step 6)
    end
    cur.expect = cp + 1
    return items
  end

  --- for f in sv:files(opts) do ... end: every file over every page (f.code, f.page).
  -- opts.page: start there. A page that fails (after retries) or repeats raises.
  function SV:files(opts)
    opts = args.options("sparevideos:files", 1, opts, { page = "number" })
    args.number("sparevideos:files", "option 'page'", opts.page, 1, nil, true, 1)
    local cur = iter.new_cursor{ client = self, fetch = fetch, next = { page = opts.page or 1 },
      expect = opts.page or 1, seen_pages = {}, seen_urls = {}, describe = "sparevideos files" }
    return iter.iterate(cur)
  end

  --- Delete files: codes is a non-empty list of file codes (sent in batches of 100,
  -- inside the signed token). true, or nil, err with err.deleted = codes deleted
  -- by earlier batches.
  function SV:delete(list)
    argcheck(type(list) == "table", "delete", "argument #1 (codes) must be a list of file codes")
    argcheck(#list > 0, "delete", "argument #1 (codes) must not be empty")
    for i = 1, #list do args.code("sparevideos:delete", ("argument #1 (codes): item %d"):format(i), list[i]) end
    local done = 0
    for first = 1, #list, DELETE_BATCH do
      local batch = setmetatable({}, array_mt)
      for i = first, math.min(#list, first + DELETE_BATCH - 1) do batch[#batch + 1] = list[i] end
      self:_precheck("delete", "delete", { codes = batch }, { codes = "argument #1 (codes)" })
      local doc, err = self:_call("delete", { codes = batch })
      if not doc then
        err.deleted = done
        return nil, err
      end
      done = done + #batch
    end
    return true
  end
end
