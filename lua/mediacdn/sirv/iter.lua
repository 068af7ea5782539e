--- Iterators over paginated Sirv listings: readdir (continuation pages, optional
-- lazy recursion), search (from/size, switching to scroll past what offset paging
-- reaches, keeping the scroll alive for slow consumers) and account events.
--
-- Each is a generic-for iterator with a closing value (Lua 5.4 closes it on
-- break or error) and a cursor with close() and __gc (LuaJIT). A page that fails
-- after retries RAISES the error object, annotated with the page number and the
-- query or folder: an iterator never ends early in silence. One page is held at a time.
local errors = require "mediacdn.errors"
local args = require "mediacdn.args"

local M = {}

local Cursor = {}
Cursor.__index = Cursor
Cursor.__name = "mediacdn.Cursor"

local newproxy = rawget(_G, "newproxy") -- LuaJIT / 5.1: tables have no __gc

local function new_cursor(fields)
  fields.buf, fields.idx, fields.pages, fields.closed = {}, 1, 0, false
  local cur = setmetatable(fields, Cursor)
  if newproxy then
    -- a userdata sentinel that dies with the cursor and closes it
    local sentinel = newproxy(true)
    getmetatable(sentinel).__gc = function() cur:close() end
    cur._gc = sentinel
  end
  return cur
end

--- Release the cursor: drop the buffered page and any scroll context. Idempotent.
function Cursor:close()
  if self.closed then return end
  self.closed = true
  self.buf, self.scroll_id, self.stack = {}, nil, nil
  if self.on_close then self.on_close(self) end
end
Cursor.__close = Cursor.close
Cursor.__gc = Cursor.close

-- Raise a page failure as an error object that says where it happened.
local function raise_page(cur, err)
  if not errors.is(err) then
    err = errors.new{ kind = "local", message = tostring(err), service = "sirv" }
  end
  err.page = cur.pages
  err.query = cur.describe
  cur:close()
  error(err, 0)
end

--- The generic-for step: next item, fetching a page when the buffer is empty.
function Cursor.next(cur)
  while true do
    if cur.closed then return nil end
    local item = cur.buf[cur.idx]
    if item ~= nil then
      cur.buf[cur.idx] = nil
      cur.idx = cur.idx + 1
      cur.count = (cur.count or 0) + 1
      if cur.after_item then cur:after_item(item) end
      return item
    end
    if cur.exhausted then cur:close(); return nil end
    cur.pages = cur.pages + 1
    local items, err = cur:fetch()
    if items == nil then raise_page(cur, err) end
    cur.buf, cur.idx = items, 1
  end
end

local function iterate(cur)
  return Cursor.next, cur, nil, cur
end

-- readdir ------------------------------------------------------------------

local function readdir_fetch(cur)
  while true do
    if not cur.dir then
      local nextdir = table.remove(cur.stack)
      if not nextdir then cur.exhausted = true; return {} end
      cur.dir, cur.continuation = nextdir, nil
    end
    local page, err = cur.client:readdir_page(cur.dir, cur.continuation)
    if not page then
      err.dirname = cur.dir
      return nil, err
    end
    cur.continuation = page.continuation
    if not cur.continuation then cur.dir = nil end
    if cur.recursive then
      -- sub-folders are walked after this folder's pages: lazily, one page at a time
      for i = #page.contents, 1, -1 do
        local e = page.contents[i]
        if e.isDirectory then cur.stack[#cur.stack + 1] = e.path end
      end
    end
    if not cur.dir and #cur.stack == 0 then cur.exhausted = true end
    if #page.contents > 0 or cur.exhausted then return page.contents end
  end
end

--- for entry in sirv:readdir(dir, {recursive = bool}) do ... end
function M.readdir(client, dir, opts)
  -- checked here, not at the first page: a misuse raises at the call
  args.remote_path("sirv:readdir", "argument #1 (dir)", dir, 4)
  opts = args.options("sirv:readdir", 2, opts, { recursive = "boolean" }, 4)
  local cur = new_cursor{ client = client, fetch = readdir_fetch, dir = dir, stack = {},
    recursive = opts.recursive == true, describe = "readdir " .. dir }
  return iterate(cur)
end

-- search -------------------------------------------------------------------

local OFFSET_LIMIT = 1000 -- from + size beyond this needs scroll

local function with_paths(hits)
  for _, h in ipairs(hits) do
    if type(h._source) == "table" then h.path = h._source.filename end
  end
  return hits
end

local function search_body(cur, extra)
  local b = { query = cur.query, sort = cur.sort }
  for k, v in pairs(extra) do b[k] = v end
  return b
end

-- Start a scroll and skip the hits already delivered (first `skip`), checking that
-- the hit before the resume point is the one we delivered last: no duplicates, no gaps.
local function start_scroll(cur, skip)
  local client = cur.client
  local page, err = client:call("postFilesSearch", search_body(cur, { size = cur.size, scroll = true }))
  if not page then return nil, err end
  if type(page) ~= "table" then return nil, errors.not_a_page("sirv", "postFilesSearch") end
  cur.scroll_id = page.scrollId
  cur.last_call = client.transport:now()
  local hits = page.hits or {}
  while skip > 0 do
    local take = math.min(skip, #hits)
    if #hits == 0 or (take == skip and cur.last_id and hits[take]._id ~= cur.last_id) then
      return nil, errors.new{ kind = "conflict", service = "sirv", operation = "postFilesSearchScroll",
        message = "search results changed while re-establishing the scroll; restart the search" }
    end
    skip = skip - take
    if skip == 0 and take < #hits then
      local rest = {}
      for i = take + 1, #hits do rest[#rest + 1] = hits[i] end
      return rest
    end
    -- the skip ended exactly at a page boundary (or goes on): read the next page
    page, err = client:call("postFilesSearchScroll", { scrollId = cur.scroll_id })
    if not page then return nil, err end
    if type(page) ~= "table" then return nil, errors.not_a_page("sirv", "postFilesSearchScroll") end
    cur.scroll_id = page.scrollId or cur.scroll_id
    cur.last_call = client.transport:now()
    hits = page.hits or {}
  end
  return hits
end

local function search_fetch(cur)
  local client = cur.client
  if cur.mode == "offset" then
    if cur.from + cur.size > OFFSET_LIMIT and cur.from < cur.total then
      cur.mode = "scroll"
    else
      local page, err = client:call("postFilesSearch", search_body(cur, { from = cur.from, size = cur.size }))
      if not page then return nil, err end
      if type(page) ~= "table" then return nil, errors.not_a_page("sirv", "postFilesSearch") end
      cur.total = tonumber(page.total) or 0
      local hits = page.hits or {}
      cur.from = cur.from + #hits
      if #hits == 0 or cur.from >= cur.total then cur.exhausted = true
      elseif cur.total > OFFSET_LIMIT or page._relation == "gte" then
        cur.mode = "scroll" -- more than offset paging reaches: continue through scroll
      end
      return with_paths(hits)
    end
  end
  local hits, err
  local idle = cur.scroll_id and (client.transport:now() - (cur.last_call or 0)) or 0
  if not cur.scroll_id or idle > cur.scroll_ttl - 5 then
    -- no scroll yet, or the consumer was slow and Sirv has dropped the context
    -- (it keeps it ~30 s between calls): re-establish it where we left off
    hits, err = start_scroll(cur, cur.count or 0)
  else
    local page
    page, err = client:call("postFilesSearchScroll", { scrollId = cur.scroll_id })
    if page ~= nil and type(page) ~= "table" then
      page, err = nil, errors.not_a_page("sirv", "postFilesSearchScroll")
    end
    if page then
      cur.scroll_id = page.scrollId or cur.scroll_id
      cur.last_call = client.transport:now()
      hits = page.hits or {}
    elseif err.status == 404 or (err.status == 400 and tostring(err.message):lower():find("scroll")) then
      hits, err = start_scroll(cur, cur.count or 0) -- expired under us: one re-establish
    end
  end
  if not hits then return nil, err end
  if #hits == 0 then cur.exhausted = true end
  return with_paths(hits)
end

local function remember_last(cur, item)
  cur.last_id = item._id
end

--- for hit in sirv:search{query = "...", sort = {...}, size = 100} do ... end
-- opts.scroll_ttl: seconds Sirv keeps a scroll context (default 30).
function M.search(client, params, opts)
  if type(params) ~= "table" then error("sirv:search: argument #1 must be a table {query=, sort=}", 3) end
  opts = args.options("sirv:search", 2, opts, { scroll_ttl = "number" }, 4)
  for k in pairs(params) do
    if k ~= "query" and k ~= "sort" and k ~= "size" then
      error(("sirv:search: unknown field '%s' (the iterator pages by itself)"):format(tostring(k)), 3)
    end
  end
  if params.query ~= nil and type(params.query) ~= "string" then
    error("sirv:search: field 'query' must be a string", 3)
  end
  if params.sort ~= nil and type(params.sort) ~= "table" then error("sirv:search: field 'sort' must be a table", 3) end
  args.number("sirv:search", "field 'size'", params.size, 1, nil, true, 100, 4)
  args.number("sirv:search", "option 'scroll_ttl'", opts.scroll_ttl, 6, 86400, false, 30, 4)
  local cur = new_cursor{ client = client, fetch = search_fetch, mode = "offset", from = 0, total = 0,
    query = params.query, sort = params.sort or { ["filename.raw"] = "asc" },
    size = math.min(params.size or 100, 100), scroll_ttl = opts.scroll_ttl or 30,
    after_item = remember_last, describe = "search " .. tostring(params.query) }
  return iterate(cur)
end

-- events -------------------------------------------------------------------

local function events_fetch(cur)
  local list, err = cur.client:events_page(cur.filter)
  if not list then return nil, err end
  cur.exhausted = true -- Sirv returns all matching events in one array
  return type(list) == "table" and list or {}
end

--- for ev in sirv:events{module=, type=, filename=, level=} do ... end
function M.events(client, filter)
  if filter ~= nil and type(filter) ~= "table" then error("sirv:events: argument #1 must be a table", 3) end
  local cur = new_cursor{ client = client, fetch = events_fetch, filter = filter or {},
    describe = "events" }
  return iterate(cur)
end

-- for other paginated listings (mediacdn.sparevideos): a cursor over fields with
-- fetch(cur) -> items | nil, err (set cur.exhausted on the last page), and its for-loop
M.new_cursor, M.iterate = new_cursor, iterate
return M
