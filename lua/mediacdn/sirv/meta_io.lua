--- Export and import of Sirv's editorial meta: every file of a source to CSV
-- (RFC 4180, the COLUMNS below, tags joined with ";") or JSON (an array, one
-- object a line), and back: for each record read the file's meta and send only
-- what differs (one call), or print the diff in a dry run. Runs on
-- mediacdn.bulk through mediacdn.sirv.meta_bulk; mediacdn.sirv.metadata
-- re-exports export, import and COLUMNS.
local core = require "mediacdn.core"
local errors = require "mediacdn.errors"
local csv = require "mediacdn.csv"
local bulk = require "mediacdn.bulk"
local meta = require "mediacdn.sirv.meta"
local meta_bulk = require "mediacdn.sirv.meta_bulk"
local args = require "mediacdn.args"

local null = core.null
local json_encode, json_decode = core.json_encode, core.json_decode
local type, pairs, ipairs, next, tostring = type, pairs, ipairs, next, tostring
local concat = table.concat
local argerror, check_client, array, str, show = meta.argerror, meta.check_client, meta.array, meta.str, meta.show
local tag_list, client_error, PRODUCT_KEYS = meta.tag_list, meta.client_error, meta.PRODUCT_KEYS

local M = {}

--- The CSV columns of an export, in order.
M.COLUMNS = { "path", "title", "description", "tags", "approved", "approval_comment",
  "product_id", "product_name", "product_brand", "product_category1", "product_category2" }

local KNOWN_COLUMNS = {}
for _, c in ipairs(M.COLUMNS) do KNOWN_COLUMNS[c] = true end

local function local_error(msg)
  return errors.new{ kind = "local", service = "sirv", message = msg }
end

-- export -------------------------------------------------------------------------

-- A record as a CSV row in M.COLUMNS order.
local function csv_row(path, m)
  local a = m.approval or {}
  local approved = ""
  if a.approved ~= nil then approved = tostring(a.approved) end
  local p = m.product or {}
  return { path, m.title or "", m.description or "", concat(m.tags or {}, ";"), approved, a.comment or "",
    p.id or "", p.name or "", p.brand or "", p.category1 or "", p.category2 or "" }
end

-- A record as one line of JSON with its keys in a stable order.
local function json_line(path, m)
  local product = {}
  for _, k in ipairs(PRODUCT_KEYS) do product[k] = m.product[k] end
  local approval = {}
  for k, v in pairs(m.approval) do approval[k] = v end
  return ('{"path":%s,"title":%s,"description":%s,"tags":%s,"product":%s,"approval":%s}'):format(
    json_encode(path), json_encode(m.title), json_encode(m.description), json_encode(array(m.tags)),
    json_encode(product), json_encode(approval))
end

-- The format named by opts.format, else by the file's extension (csv by default).
local function pick_format(opts, name, fn, argn)
  local f = opts.format
  if f == nil then
    f = (type(name) == "string" and name:lower():match("%.json$")) and "json" or "csv"
  end
  if f ~= "csv" and f ~= "json" then argerror(fn, argn, "field 'format' must be \"csv\" or \"json\"", 4) end
  return f
end

-- An open handle for dest (a path or a handle) and whether we own it.
local function open_dest(dest, fn)
  if type(dest) == "string" then
    args.local_path("sirv:" .. fn, "argument #2 (dest)", dest, 4)
    local h, err = io.open(dest, "wb")
    if not h then return nil, local_error("cannot open " .. dest .. ": " .. tostring(err)) end
    return h, true
  elseif io.type(dest) == "file" or (type(dest) == "table" and type(dest.write) == "function") then
    return dest, false
  end
  argerror(fn, 2, "must be a file path or a file handle", 4)
end

--- Export the meta of every file of `source` (as for apply_meta) to `dest` (a path
-- or a handle) as CSV (M.COLUMNS; tags joined with ";") or JSON (an array with one
-- object per line). One getFilesMeta call per file, `concurrency` at a time, written
-- in source order. opts: format, and apply_meta's options except journal.
function M.export(client, source, dest, opts)
  check_client(client, "export_meta")
  opts = bulk.check_opts(opts, "sirv:export_meta", 3)
  if opts.journal then argerror("export_meta", 3, "field 'journal' is not supported by export_meta") end
  local format = pick_format(opts, dest, "export_meta", 3)
  local open, restartable = meta_bulk.opener(source, opts, "export_meta")
  local h, owned = open_dest(dest, "export_meta")
  if not h then return nil, owned end
  local first, werr = true, nil
  local function put(s)
    if werr then return end
    local ok, e = h:write(s)
    if not ok then werr = local_error("cannot write the export: " .. tostring(e)) end
  end
  if format == "csv" then put(csv.encode_row(M.COLUMNS)) else put("[\n") end
  local function emit(rep)
    if not rep.ok then return end
    if format == "csv" then
      put(csv.encode_row(csv_row(rep.path, rep.result)))
    else
      put((first and "" or ",\n") .. json_line(rep.path, rep.result))
      first = false
    end
  end
  local summary, err = meta_bulk.run(client, open, restartable,
    function(c, item) return meta.read(c, item.path) end, opts, emit)
  if format == "json" then put(first and "]\n" or "\n]\n") end
  if owned then h:close() elseif h.flush then h:flush() end
  if not summary then return nil, err end
  summary.error = summary.error or werr
  if werr then summary.complete = false end
  return summary
end

-- import -------------------------------------------------------------------------

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- A CSV row (by header) as a wanted record; an unusable value sets `invalid`.
local function row_record(header, row)
  local rec = {}
  for i, col in ipairs(header) do
    local v = row[i]
    if v ~= nil then
      if col == "path" then rec.path = trim(v)
      elseif col == "title" or col == "description" then rec[col] = v
      elseif col == "tags" then
        local tags = array()
        for t in v:gmatch("[^;]+") do
          t = trim(t)
          if t ~= "" then tags[#tags + 1] = t end
        end
        rec.tags = tag_list(tags)
      elseif col == "approved" then
        local b = trim(v):lower()
        rec.approval = rec.approval or {}
        if b == "true" or b == "yes" or b == "1" then rec.approval.approved = true
        elseif b == "false" or b == "no" or b == "0" then rec.approval.approved = false
        elseif b ~= "" then rec.invalid = ("approved must be true or false (got %s)"):format(show(v)) end
      elseif col == "approval_comment" then
        rec.approval = rec.approval or {}
        rec.approval.comment = v
      else
        rec.product = rec.product or {}
        rec.product[col:sub(9)] = v
      end
    end
  end
  return rec
end

-- A JSON object as a wanted record (null or absent fields are left alone).
local function json_record(o)
  if type(o) ~= "table" then return { invalid = "an item is not an object" } end
  local rec = { path = str(o.path) }
  for _, k in ipairs{ "title", "description" } do
    if o[k] ~= nil and o[k] ~= null then
      rec[k] = str(o[k])
      if not rec[k] then rec.invalid = k .. " must be a string" end
    end
  end
  if o.tags ~= nil and o.tags ~= null then
    rec.tags = tag_list(o.tags)
    if not rec.tags then rec.invalid = "tags must be a list of strings" end
  end
  if type(o.product) == "table" then
    rec.product = {}
    for _, k in ipairs(PRODUCT_KEYS) do
      local v = o.product[k]
      if v == null then v = nil end
      if v ~= nil and type(v) ~= "string" then rec.invalid = "product." .. k .. " must be a string" end
      rec.product[k] = str(v) or "" -- a key the object lacks is an empty field
    end
  end
  if type(o.approval) == "table" then
    local a = o.approval
    rec.approval = { comment = str(a.comment) }
    if type(a.approved) == "boolean" then
      rec.approval.approved = a.approved
      rec.approval.comment = rec.approval.comment or "" -- a full approval: no comment is none
    end
  end
  return rec
end

-- The records of an import file as a source (CSV streams; JSON is read whole).
local function import_source(src, format, name)
  local h, owned = src, false
  if type(src) == "string" then
    local f, err = io.open(src, "rb")
    if not f then return nil, local_error("cannot open " .. src .. ": " .. tostring(err)) end
    h, owned = f, true
  end
  local close = function() if owned then h:close() end end
  if format == "json" then
    local text = h:read("a") or ""
    close()
    local doc, jerr = json_decode(text, #text + 1)
    if type(doc) ~= "table" or not bulk.is_list(doc) then
      return nil, local_error(("%s: not a JSON array of records: %s"):format(name, tostring(jerr or "wrong shape")))
    end
    local recs = {}
    for i, o in ipairs(doc) do recs[i] = json_record(o) end
    local i = 0
    return bulk.source(function() i = i + 1 return recs[i] end)
  end
  local reader = csv.reader(h)
  local header, err = reader:read()
  if not header then
    close()
    return nil, local_error(("%s: %s"):format(name, err or "empty file: no header row"))
  end
  local has_path = false
  for i, col in ipairs(header) do
    col = trim(col):lower()
    header[i] = col
    if col == "path" then has_path = true end
    if not KNOWN_COLUMNS[col] then
      close()
      return nil, local_error(("%s: unknown column '%s' (known: %s)"):format(name, col, concat(M.COLUMNS, ",")))
    end
  end
  if not has_path then close(); return nil, local_error(name .. ": no 'path' column") end
  local pull_row = function()
    local row, rerr = reader:read()
    if row then return row_record(header, row) end
    if rerr then error(local_error(name .. ": " .. rerr), 0) end
    return nil
  end
  return bulk.source(pull_row, close)
end

-- Print a file's diff (or its error) to out.
local function print_report(out, rep, dry)
  if not rep.ok then
    out:write(("%s: error: %s\n"):format(rep.path, tostring(rep.err)))
  elseif rep.result and rep.result.changed then
    out:write(rep.path, dry and " (dry run)\n" or "\n")
    for _, l in ipairs(rep.result.diff) do out:write("  ", l, "\n") end
  end
end

--- Import meta from a file written by export_meta (or by hand): for each record,
-- read the file's current meta and send only what differs (one call), a column
-- that is absent leaving that field alone. opts.dry_run: send nothing, print a diff
-- per file to opts.out (default io.stdout). opts.out in a real run prints what is
-- applied. Also apply_meta's options (a journal is ignored in a dry run).
-- Each report's result is {changed = bool, diff = {lines}}.
function M.import(client, src, opts)
  check_client(client, "import_meta")
  if type(src) ~= "string" and io.type(src) ~= "file" then
    argerror("import_meta", 1, "must be a file path or handle")
  end
  if type(src) == "string" then args.local_path("sirv:import_meta", "argument #1 (src)", src) end
  opts = bulk.check_opts(opts, "sirv:import_meta", 2)
  local format = pick_format(opts, src, "import_meta", 2)
  local dry = opts.dry_run == true
  local out = opts.out or (dry and io.stdout) or nil
  local name = type(src) == "string" and src or "input"
  local source, err = import_source(src, format, name)
  if not source then return nil, err end
  local run_opts = {}
  for k, v in pairs(opts) do run_opts[k] = v end
  if dry then run_opts.journal = nil end
  local changed = 0
  local function work(c, item)
    local rec = item.item
    if rec.invalid then return nil, client_error(item.path .. ": " .. rec.invalid, "postFilesMeta") end
    local cur, rerr = meta.read(c, item.path)
    if not cur then return nil, rerr end
    local fields, lines = meta.diff(cur, rec)
    if next(fields) == nil then return { changed = false, diff = lines } end
    if not dry then
      local ok, werr = meta.write_fields(c, item.path, fields, cur.tags)
      if not ok then return nil, werr end
    end
    return { changed = true, diff = lines, dry_run = dry or nil }
  end
  local function emit(rep)
    if rep.ok and rep.result and rep.result.changed then changed = changed + 1 end
    if out and not rep.skipped then print_report(out, rep, dry) end
  end
  local summary, rerr = meta_bulk.run(client, function() return source end, false, work, run_opts, emit)
  if not summary then source.close(); return nil, rerr end
  summary.changed = changed
  if out then
    out:write(("%s: %d of %d files %s, %d failed%s\n"):format(dry and "dry run" or "import", changed,
      summary.done + summary.failed + summary.limited, dry and "would change" or "changed", summary.failed,
      summary.stopped and " (stopped at the rate limit)" or ""))
  end
  return summary
end

return M
