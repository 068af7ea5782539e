--- Sirv's editorial meta, one file at a time: read all of a file's meta as one
-- normalised table, set many fields in one call (what postFilesMeta cannot carry
-- goes through the single-field endpoints), idempotent tag edits, copy meta
-- between files, and the diff between a file's meta and a wanted record.
-- mediacdn.sirv.metadata re-exports the public functions; the fields below the
-- "shared" line serve it and mediacdn.sirv.meta_io.
local core = require "mediacdn.core"
local errors = require "mediacdn.errors"
local schema = require "mediacdn.sirv.schema"
local ENDPOINTS = require "mediacdn.sirv.endpoints"

local array_mt = core.array_mt
local type, pairs, ipairs, next, tostring = type, pairs, ipairs, next, tostring
local setmetatable, error = setmetatable, error
local concat, min = table.concat, math.min

local M = {}

local PRODUCT_KEYS = { "id", "name", "brand", "category1", "category2" }
local SET_FIELDS = { "title", "description", "tags", "product", "approval" }
local CHANGE_FIELDS = { title = "string", description = "string", tags = "tags", product = "table",
  approval = "table", add_tags = "tags", remove_tags = "tags" }

-- What one postFilesMeta call can carry (its schema is stricter than the single setters').
local BULK_TITLE, BULK_DESCRIPTION, BULK_TAG, TAGS_PER_CALL = 256, 1024, 32, 50

-- misc helpers -----------------------------------------------------------------

-- Raise a misuse error at the user's call: level 3 from a public function, 4 from
-- a helper it calls.
local function argerror(fn, n, msg, level)
  error(("sirv:%s: argument #%d %s"):format(fn, n, msg), level or 3)
end

local function check_client(c, fn)
  if type(c) ~= "table" or type(c.call) ~= "function" then
    error(("sirv:%s: self must be a mediacdn.sirv client (use sirv:%s(...))"):format(fn, fn), 3)
  end
end

local function array(t)
  return setmetatable(t or {}, array_mt)
end

-- A JSON value as a Lua value: null and non-strings become nil.
local function str(v)
  if type(v) == "string" then return v end
  return nil
end

local function client_error(msg, op)
  return errors.new{ kind = "client", service = "sirv", operation = op, message = msg }
end

-- A tag list from a string or an array of strings, without duplicates (nil on misuse).
local function tag_list(v)
  if type(v) == "string" then v = { v } end
  if type(v) ~= "table" then return nil end
  local out, seen = array(), {}
  for i = 1, #v do
    local t = v[i]
    if type(t) ~= "string" then return nil end
    if not seen[t] then out[#out + 1], seen[t] = t, true end
  end
  return out
end

-- The elements of a that are not in b, in a's order.
local function minus(a, b)
  local drop, out = {}, array()
  for _, t in ipairs(b) do drop[t] = true end
  for _, t in ipairs(a) do if not drop[t] then out[#out + 1] = t end end
  return out
end

-- Call op with `tags` in chunks of at most 50 (the endpoints' maxItems).
local function tags_in_chunks(client, op, path, tags)
  for i = 1, #tags, TAGS_PER_CALL do
    local chunk = array()
    for j = i, min(i + TAGS_PER_CALL - 1, #tags) do chunk[#chunk + 1] = tags[j] end
    local ok, err = client:call(op, { filename = path, tags = chunk })
    if not ok then return nil, err end
  end
  return true
end

-- A value for a diff line: quoted, control characters escaped.
local function show(v)
  if v == nil then return "(none)" end
  if type(v) ~= "string" then return tostring(v) end
  return '"' .. v:gsub('[%c"\\]', function(c)
    if c == "\n" then return "\\n" end
    if c == '"' or c == "\\" then return "\\" .. c end
    return ("\\%03d"):format(c:byte())
  end) .. '"'
end

-- reading and writing one file's meta ------------------------------------------

--- Normalise a getFilesMeta answer: {title = "", description = "", tags = {...},
-- product = {id=, name=, brand=, category1=, category2=} (only non-empty fields),
-- approval = {approved = bool|nil, comment = string|nil, datetime = string|nil}}.
function M.normalize(raw)
  if type(raw) ~= "table" then raw = {} end
  local rec = { title = str(raw.title) or "", description = str(raw.description) or "",
    tags = array(), product = {}, approval = {} }
  if type(raw.tags) == "table" then
    for _, t in ipairs(raw.tags) do
      if type(t) == "string" then rec.tags[#rec.tags + 1] = t end
    end
  end
  if type(raw.product) == "table" then
    for _, k in ipairs(PRODUCT_KEYS) do
      local v = str(raw.product[k])
      if v and v ~= "" then rec.product[k] = v end
    end
  end
  local a = raw.approval
  if type(a) == "table" then
    if type(a.approved) == "boolean" then rec.approval.approved = a.approved end
    local c = str(a.comment)
    if c and c ~= "" then rec.approval.comment = c end
    rec.approval.datetime = str(a.datetime)
  end
  return rec
end

--- All editorial meta of a file as one table (one getFilesMeta call; see normalize).
function M.read(client, path)
  check_client(client, "read_meta")
  if type(path) ~= "string" then argerror("read_meta", 1, "must be a path string") end
  local raw, err = client:call("getFilesMeta", { filename = path })
  if raw == nil then return nil, err end
  return M.normalize(raw)
end

-- Set `fields` (title, description, tags, product, approval) with one postFilesMeta
-- call. What that call cannot carry (a title over 256 bytes, a description over
-- 1024, more than 50 tags or a tag over 32 bytes) goes through the single-field
-- endpoints; tags then by difference with `current_tags` (read when not given).
local function write_fields(client, path, fields, current_tags)
  local bulk, long_title, long_desc, tags = {}, nil, nil, nil
  for k, v in pairs(fields) do bulk[k] = v end
  if bulk.title and #bulk.title > BULK_TITLE then long_title, bulk.title = bulk.title, nil end
  if bulk.description and #bulk.description > BULK_DESCRIPTION then
    long_desc, bulk.description = bulk.description, nil
  end
  if bulk.tags then
    local fits = #bulk.tags <= TAGS_PER_CALL
    for _, t in ipairs(bulk.tags) do if #t > BULK_TAG then fits = false end end
    if not fits then tags, bulk.tags = bulk.tags, nil end
  end
  if next(bulk) then
    -- a value no endpoint accepts is this file's failure, not a misuse of the call
    local _, verr = schema.check(bulk, ENDPOINTS.postFilesMeta.body, "meta")
    if verr then return nil, client_error(verr, "postFilesMeta") end
    bulk.filename = path
    local ok, err = client:call("postFilesMeta", bulk)
    if not ok then return nil, err end
  end
  if long_title then
    local ok, err = client:call("postFilesMetaTitle", { filename = path, title = long_title })
    if not ok then return nil, err end
  end
  if long_desc then
    local ok, err = client:call("postFilesMetaDescription", { filename = path, description = long_desc })
    if not ok then return nil, err end
  end
  if tags then
    if not current_tags then
      local r, err = client:call("getFilesMetaTags", { filename = path })
      if r == nil then return nil, err end
      current_tags = M.normalize(r).tags
    end
    local ok, err = tags_in_chunks(client, "deleteFilesMetaTags", path, minus(current_tags, tags))
    if not ok then return nil, err end
    ok, err = tags_in_chunks(client, "postFilesMetaTags", path, minus(tags, current_tags))
    if not ok then return nil, err end
  end
  return true
end

-- Check a change table; returns a copy with tag lists normalised (raises on misuse).
local function check_change(change, fn, argn)
  if type(change) ~= "table" then argerror(fn, argn, "must be a change table {title=, tags=, add_tags=, ...}", 4) end
  local out = {}
  for k, v in pairs(change) do
    local want = CHANGE_FIELDS[k]
    if not want then argerror(fn, argn, ("has an unknown field '%s'"):format(tostring(k)), 4) end
    if want == "tags" then
      out[k] = tag_list(v)
      if not out[k] then argerror(fn, argn, ("field '%s' must be a tag string or a list of strings"):format(k), 4) end
    elseif type(v) ~= want then
      argerror(fn, argn, ("field '%s' must be a %s"):format(k, want), 4)
    else
      out[k] = v
    end
  end
  -- product and approval have the same limits everywhere: check them up front
  local props = ENDPOINTS.postFilesMeta.body.properties
  for _, k in ipairs{ "product", "approval" } do
    if out[k] ~= nil then
      local _, err = schema.check(out[k], props[k], k)
      if err then argerror(fn, argn, "is invalid: " .. err, 4) end
    end
  end
  return out
end

-- Apply a checked change: set fields in one call, then remove and add tags.
local function edit(client, path, change)
  local fields = {}
  for _, k in ipairs(SET_FIELDS) do fields[k] = change[k] end
  if next(fields) then
    local ok, err = write_fields(client, path, fields, nil)
    if not ok then return nil, err end
  end
  if change.remove_tags then
    local ok, err = tags_in_chunks(client, "deleteFilesMetaTags", path, change.remove_tags)
    if not ok then return nil, err end
  end
  if change.add_tags then
    local ok, err = tags_in_chunks(client, "postFilesMetaTags", path, change.add_tags)
    if not ok then return nil, err end
  end
  return true
end

--- Change one file's meta: {title=, description=, tags= (replaces all), product=
-- (replaces it), approval = {approved=, comment=}, add_tags=, remove_tags=}. The set
-- fields go in one call; add_tags / remove_tags are idempotent (a tag already there,
-- or already gone, is not an error). Returns true or nil, err.
function M.edit(client, path, change)
  check_client(client, "edit_meta")
  if type(path) ~= "string" then argerror("edit_meta", 1, "must be a path string") end
  return edit(client, path, check_change(change, "edit_meta", 2))
end

--- Copy the meta of `from` onto `to` (two calls: read, write). The target's title,
-- description, tags and product become the source's; its approval too when the
-- source has one. opts.fields: a list limiting what is copied ("title", "tags", ...).
function M.copy(client, from, to, opts)
  check_client(client, "copy_meta")
  if type(from) ~= "string" then argerror("copy_meta", 1, "must be a path string") end
  if type(to) ~= "string" then argerror("copy_meta", 2, "must be a path string") end
  if opts ~= nil and type(opts) ~= "table" then argerror("copy_meta", 3, "must be a table of options") end
  local only
  if opts and opts.fields then
    if type(opts.fields) ~= "table" then argerror("copy_meta", 3, "field 'fields' must be a list of names") end
    only = {}
    for _, f in ipairs(opts.fields) do
      if CHANGE_FIELDS[f] == nil or f == "add_tags" or f == "remove_tags" then
        argerror("copy_meta", 3, ("field 'fields' names an unknown field '%s'"):format(tostring(f)))
      end
      only[f] = true
    end
  end
  local src, err = M.read(client, from)
  if not src then return nil, err end
  local fields = { title = src.title, description = src.description, tags = src.tags, product = src.product }
  if src.approval.approved ~= nil then
    fields.approval = { approved = src.approval.approved, comment = src.approval.comment }
  end
  if only then
    for k in pairs(fields) do if not only[k] then fields[k] = nil end end
  end
  if next(fields) == nil then return true end
  return write_fields(client, to, fields, nil)
end

--- The changes that turn `current` (normalised meta) into `wanted` (a record where
-- only present fields count; "" clears a title, a description or a product field).
-- Returns fields (for postFilesMeta; empty when nothing differs) and readable lines.
function M.diff(current, wanted)
  if type(current) ~= "table" then error("metadata.diff: argument #1 must be a meta table", 2) end
  if type(wanted) ~= "table" then error("metadata.diff: argument #2 must be a meta table", 2) end
  local fields, lines = {}, {}
  for _, k in ipairs{ "title", "description" } do
    local w, c = wanted[k], current[k] or ""
    if w ~= nil and w ~= c then
      fields[k] = w
      lines[#lines + 1] = ("%s: %s -> %s"):format(k, show(c), show(w))
    end
  end
  if wanted.tags ~= nil then
    local cur = current.tags or {}
    local add, remove = minus(wanted.tags, cur), minus(cur, wanted.tags)
    if #add > 0 or #remove > 0 then
      fields.tags = array()
      for i, t in ipairs(wanted.tags) do fields.tags[i] = t end
      local parts = {}
      for _, t in ipairs(add) do parts[#parts + 1] = "+" .. show(t) end
      for _, t in ipairs(remove) do parts[#parts + 1] = "-" .. show(t) end
      lines[#lines + 1] = "tags: " .. concat(parts, " ")
    end
  end
  if wanted.product ~= nil then
    local cur, merged, changed = current.product or {}, {}, false
    for k, v in pairs(cur) do merged[k] = v end
    for _, k in ipairs(PRODUCT_KEYS) do
      local w = wanted.product[k]
      if w ~= nil and w ~= (cur[k] or "") then
        changed = true
        merged[k] = w -- "" clears it, whether Sirv replaces or merges the product
        lines[#lines + 1] = ("product.%s: %s -> %s"):format(k, show(cur[k] or ""), show(w))
      end
    end
    if changed then fields.product = merged end
  end
  if wanted.approval ~= nil then
    local w, c = wanted.approval, current.approval or {}
    local differs = false
    if w.approved ~= nil and w.approved ~= c.approved then
      differs = true
      lines[#lines + 1] = ("approved: %s -> %s"):format(show(c.approved), show(w.approved))
    end
    if w.comment ~= nil and w.comment ~= (c.comment or "") then
      differs = true
      lines[#lines + 1] = ("approval_comment: %s -> %s"):format(show(c.comment or ""), show(w.comment))
    end
    local approved = w.approved
    if approved == nil then approved = c.approved end
    if differs and approved == nil then
      lines[#lines + 1] = "(approval comment not set: the file has no approved value and the row gives none)"
    elseif differs then
      local comment = w.comment
      if comment == nil then comment = c.comment end
      fields.approval = { approved = approved, comment = comment }
    end
  end
  return fields, lines
end

-- shared with mediacdn.sirv.metadata and mediacdn.sirv.meta_io -----------------

M.PRODUCT_KEYS = PRODUCT_KEYS
M.argerror = argerror
M.check_client = check_client
M.check_change = check_change
M.write_fields = write_fields
M.apply_change = edit
M.tag_list = tag_list
M.array = array
M.str = str
M.show = show
M.client_error = client_error

return M
