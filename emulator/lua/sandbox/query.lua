--- sandbox.query: the sandbox's search language, Elasticsearch/Lucene
--- `query_string` syntax evaluated over Sirv search docs.
--
--   local q = require "sandbox.query"
--   local match, err = q.compile('extension:.jpg AND -dirname:\\/.Trash', { now = os.time() })
--   if match(doc) then ... end
--   q.sort(docs, { mtime = "desc", ["filename.raw"] = "asc" })
--   hit.sort = q.sort_values(doc, sort)
--
-- Runs under Lua 5.1 (LuaJIT), 5.2, 5.3 and 5.4. Pure Lua, no dependencies.
-- (cjson is used only for q.null if it loads.)
--
-- This file is the public face and the notes; the work is split into
-- sandbox/query/: lexer.lua (string -> tokens), parser.lua (tokens -> AST),
-- eval.lua (AST -> doc predicate), with util.lua, dates.lua and regex.lua under
-- them and sort.lua for sorting.
--
-- SEMANTICS (the sandbox README takes these notes from here)
--
-- Syntax is Lucene's classic QueryParser, as used by Elasticsearch `query_string`:
--  * `field:value`, `field:"a phrase"`, `field:(a OR b)` (the field applies to
--    the whole group), bare terms, and `_exists_:field`.
--  * A backslash escapes the next character (`\/`, `\ `, `\:`, `\*`, ...), and
--    `\uXXXX` is a code point. An unescaped `/` starts a regular expression
--    `/.../`, exactly as in Elasticsearch, so slashes in paths must be
--    written `\/`.
--  * Wildcards `*` (any run) and `?` (one character) work in terms. `field:*`
--    means the field exists and is not empty. `*` alone and `*:*` match all.
--  * `AND` `&&`, `OR` `||`, `NOT` `!`, prefix `+` (must) and `-` (must not),
--    parentheses. Adjacent clauses default to OR. Operators are combined the
--    way Lucene does it, not by precedence: `a AND b OR c` means `+a +b c`,
--    i.e. a and b are required and c is optional. Use parentheses. A group
--    made only of negative clauses matches everything except them, so
--    `-dirname:\/.Trash` works on its own.
--  * Ranges: `[a TO b]` (inclusive), `{a TO b}` (exclusive), mixed
--    `[a TO b}`, open ends with `*`, and `field:>x`, `>=x`, `<x`, `<=x`.
--  * Regular expressions `/.../` match the whole value or token. Supported:
--    `. * + ? {n,m} | ( ) [..] [^..] \d \w \s "literal" @ # <n-m>`. The
--    complement `~` and intersection `&` operators are rejected. Matching
--    backtracks; a pathological pattern gives up after 100,000 steps per
--    value and counts as no match.
--  * Fuzzy `term~` (AUTO edit distance: 0/1/2 for lengths <3/<6/more) and
--    `term~N` (N <= 2), counted as optimal-string-alignment distance.
--    Phrase slop `"a b"~N` is approximated: all words within #words+N
--    tokens, in any order. Boosts `^N` are parsed and ignored.
--  * Errors (unbalanced parentheses, quotes, brackets, a dangling operator,
--    a bad value for a typed field) return nil plus a message that ends
--    "at position N". N is a 1-based byte offset.
--
-- How values match, by field (`a.b.c` walks nested tables; if any element of
-- an array matches, the array matches; JSON null/absent never matches):
--  * keyword fields `filename dirname basename extension contentType
--    meta.tags`: a case-insensitive match on the WHOLE value (`dirname:\/a`
--    matches only docs directly in /a). Wildcards and regexes also match the
--    whole value, case-insensitively. Ranges compare the lower-cased strings.
--  * `<field>.raw` / `<field>.keyword`: the same, but case-sensitive.
--  * text fields `meta.title meta.description`: tokenised into lower-case
--    words (runs of letters, digits, `_` and non-ASCII bytes). A term matches
--    a word, a phrase or a multi-word term matches consecutive words, and a
--    wildcard, regex or fuzzy term matches any single word.
--  * number fields `size meta.width meta.height meta.duration`: numeric
--    equality and numeric ranges. A non-numeric value, a wildcard or a regex
--    is an error (as in Elasticsearch).
--  * date fields `ctime mtime`: ISO 8601 (UTC unless an offset is given) or
--    epoch millis, with date math `now`, `now-30d`, `now+1h`, `now/d`,
--    `2020-01-01||+1M/M` (units y M w d h H m s). Rounding follows ES: a
--    partial date such as `2020-12-31` covers the whole day, so
--    `mtime:2021-05-12` matches that day and `[2020-01-01 TO 2020-12-31]`
--    covers the whole of 2020. `now` is opts.now (epoch seconds) or os.time().
--  * boolean fields `isDirectory meta.approval.approved`: `true` / `false`;
--    anything else is an error. A missing field matches neither value.
--  * every other field (`meta.product.*`, `meta.EXIF.*`, `meta.format`, ...)
--    is typed by the doc's value: numbers and booleans as above, strings
--    that start with yyyy-mm-dd as dates (when the query value is a date),
--    other strings by word (as for text fields) OR by whole value (as for
--    keyword fields). A field name may contain `*` (`meta.EXIF.\*:canon`).
--  * bare terms (no field) look in filename, basename, meta.title,
--    meta.description and meta.tags, by word or by whole value, ignoring
--    case. `aurora`, `aurora.jpg`, `img_*` and `"REST API"` all find
--    `/REST API Examples/aurora.jpg`-style files.
--
-- Sorting, q.sort(docs, sort):
--  * sort is nil or {} (default: filename ascending), a map
--    {field = "asc"|"desc"|{order=, missing="_first"|"_last"}}, or an
--    ES-style array {{mtime="desc"}, "filename.raw"} whose order is kept.
--    A map has no key order, so its keys are taken alphabetically, but
--    unique keys (filename*, id, _id) go last: {mtime="desc",
--    ["filename.raw"]="asc"} sorts by mtime first, then filename.
--  * Dates sort as epoch millis, booleans as 0/1, strings byte-wise (`.raw`
--    or not: text fields are sortable here, unlike ES). Arrays use their
--    min (asc) or max (desc). Missing values go last unless
--    missing="_first". Ties are broken by filename, then input position,
--    so the result is deterministic.
--  * q.sort returns docs, or nil plus a message for an invalid order value.
--  * q.sort_values(doc, sort [, null]) returns the per-key values for a
--    hit's "sort" array (dates as epoch millis). A missing value is `null`
--    (default q.null: cjson.null when cjson loads, otherwise a sentinel).

local parser = require "sandbox.query.parser"
local eval = require "sandbox.query.eval"
local sort = require "sandbox.query.sort"

local type, pcall, error, setmetatable = type, pcall, error, setmetatable
local floor, os_time = math.floor, os.time

local M = {}

do
  local ok, cjson = pcall(require, "cjson")
  M.null = ok and type(cjson) == "table" and cjson.null
    or setmetatable({}, { __tostring = function() return "null" end })
end

--- Compile a query string into match(doc) -> boolean, or return nil, message.
-- opts.now: the epoch seconds that `now` means (default os.time()).
function M.compile(query, opts)
  if query == nil then return eval.match_all end
  if type(query) ~= "string" then return nil, "query must be a string" end
  local now = floor(((opts and opts.now) or os_time()) * 1000)
  local ok, res = pcall(function() return eval.compile_node(parser.parse(query), now) end)
  if ok then return res end
  if type(res) == "table" and res.query_error then return nil, res.query_error end
  error(res, 0)
end

--- Sort docs in place by a Sirv sort object; returns docs, or nil, message.
M.sort = sort.sort_docs

--- The values a hit reports in its "sort" array; missing values are `null` (default q.null).
function M.sort_values(doc, spec, null)
  if null == nil then null = M.null end
  return sort.sort_values(doc, spec, null)
end

return M
