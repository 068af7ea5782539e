--- Metadata workflows over Sirv's editorial meta (title, description, tags,
-- product, approval): read all of a file's meta as one table, set many fields in
-- one call, idempotent tag edits, copy meta between files, apply a change (or a
-- function) to every file of a folder, a search, a list or an iterator with
-- bounded concurrency, a report per file, rate-limit awareness and a journal,
-- and export / import (CSV or JSON) with a dry-run diff.
--
-- Every function takes the client first, so each one is also a client method
-- once installed (`require("mediacdn.sirv.metadata").install(Sirv)`):
--   sirv:read_meta(path)                  -> meta | nil, err
--   sirv:edit_meta(path, change)          -> true | nil, err
--   sirv:copy_meta(from, to, opts)        -> true | nil, err
--   sirv:apply_meta(source, action, opts) -> summary | nil, err
--   sirv:export_meta(source, dest, opts)  -> summary | nil, err
--   sirv:import_meta(src, opts)           -> summary | nil, err
-- See docs/metadata.md for the shapes of meta, change, source and summary.
--
-- This module is the public face; the work is done by mediacdn.sirv.meta (one
-- file's meta), mediacdn.sirv.meta_io (export / import), mediacdn.sirv.meta_bulk
-- (Sirv sources) and the service-neutral runner mediacdn.bulk.
local bulk = require "mediacdn.bulk"
local meta = require "mediacdn.sirv.meta"
local meta_io = require "mediacdn.sirv.meta_io"
local meta_bulk = require "mediacdn.sirv.meta_bulk"

local type, error = type, error

local M = {
  COLUMNS = meta_io.COLUMNS,   -- the CSV columns of an export, in order
  normalize = meta.normalize,  -- a getFilesMeta answer as one normalised table
  read = meta.read,
  edit = meta.edit,
  copy = meta.copy,
  diff = meta.diff,            -- fields and readable lines that turn current into wanted
  from = bulk.from,            -- wrap a generic-for iterator as a source
  export = meta_io.export,
  import = meta_io.import,
}

--- Apply `action` to every file of `source`. action: a change table (see edit_meta)
-- or function(sirv, path, item) -> truthy | nil, err. source: a folder path (with
-- opts.recursive), {query=, sort=} (a search), a list of paths or entries, a pull
-- function, or metadata.from(iterator). opts: concurrency (8), journal (path),
-- on_limit ("stop" | "wait"; default from the client's rate_limit), max_wait,
-- on_file(report), on_wait(delay, reset_at), folders (also folders). Returns the
-- summary {done, failed, skipped, limited, stopped, reset_at, complete, error, files}.
function M.apply(client, source, action, opts)
  meta.check_client(client, "apply_meta")
  opts = bulk.check_opts(opts, "sirv:apply_meta", 3)
  local work
  if type(action) == "function" then
    work = function(c, item) return action(c, item.path, item.item) end
  else
    local change = meta.check_change(action, "apply_meta", 2)
    work = function(c, item) return meta.apply_change(c, item.path, change) end
  end
  local open, restartable = meta_bulk.opener(source, opts, "apply_meta")
  return meta_bulk.run(client, open, restartable, work, opts, nil)
end

--- Install the workflows as client methods: read_meta, edit_meta, copy_meta,
-- apply_meta, export_meta, import_meta. Idempotent; returns the class.
function M.install(Sirv)
  if type(Sirv) ~= "table" then error("metadata.install: argument #1 must be the client class", 2) end
  Sirv.read_meta = M.read
  Sirv.edit_meta = M.edit
  Sirv.copy_meta = M.copy
  Sirv.apply_meta = M.apply
  Sirv.export_meta = M.export
  Sirv.import_meta = M.import
  return Sirv
end

return M
