--- SpareVideos client: signed tokens (PHP-exact, in the C core), the upload →
-- conversion → streams flow, file info, thumbnails, the file list and delete.
--
--   local sv = require("mediacdn.sparevideos").new{ public_key =, private_key =, base_url = }
--   local code = assert(sv:upload("clip.mp4"))      -- or an http(s) URL
--   assert(sv:convert(code))                         -- 100031 (already converted) is success
--   local info = assert(sv:wait_ready(code))          -- info.streams.mp4[1].file ...
--   for f in sv:files() do print(f.code) end
--   assert(sv:delete{ code })
--   local token = require("mediacdn.sparevideos").sign(fields, private_key)
--
-- Every call runs on the shared request engine (mediacdn.engine): one attempt loop
-- with the C policy core's retry decisions, the same transports (curl, the
-- mediacdn.loop multi, resty cosockets), errors and events as the Sirv client.
-- The engine calls back here to sign each attempt afresh (a new token whose
-- expires comes from a clock corrected by the server's Date header) and to read
-- SpareVideos' {"status":"error","error":N} answers, which arrive with HTTP 200,
-- into verdicts (mediacdn.sparevideos.codes). The private key and the tokens live
-- only in closures and are redacted from every error and event.
local core = require "mediacdn.core"
local errors = require "mediacdn.errors"
local engine = require "mediacdn.engine"
local codes = require "mediacdn.sparevideos.codes"
local args = require "mediacdn.args"

local copts = require "mediacdn.client_options"
local sv_sign, sv_payload, url_escape = core.sv_sign, core.sv_payload, core.url_escape
local type, pairs, ipairs, tostring, tonumber, error, pcall = type, pairs, ipairs, tostring, tonumber, error, pcall
local setmetatable, next, floor, abs = setmetatable, next, math.floor, math.abs

local M = {}

local SV = {}
SV.__index = SV
SV.__name = "mediacdn.SpareVideos"
M.Client = SV

local WHO = "sparevideos:new" -- names the function in option errors
local DEFAULT_BASE = "https://devs.sparevideos.com/api/v1"
local DEFAULT_THUMBS = "https://static.sparevideos.com/thumbnail"
-- token lifetimes (sparevideos-api.md §9 item 19), seconds
local DEFAULT_TTL = { initiate = 3600, convert = 30, file = 30, update = 30, delete = 120, list = 60 }
local MAX_TTL = 366 * 86400 -- a token valid longer than a year is a mistake
local SKEW_MIN = 2     -- a Date header is whole seconds: smaller differences are noise
local RECENT = 8       -- tokens remembered for redaction

-- The signed calls: HTTP method, path under base_url, signed method/action, ttl key,
-- form body (the plugin's _method override for POSTs).
local OPS = {
  initiate = { "GET", "/upload/initiate", "upload", "initiate", "initiate" },
  convert = { "GET", "/upload/conversion/initiate", "upload", "convert", "convert" },
  file = { "GET", "/me/file", "file", "get", "file" },
  update = { "POST", "/me/file", "file", "update", "update", "_method=PUT" },
  list = { "GET", "/me/files", "files", "get", "list" },
  delete = { "POST", "/me/files", "files", "delete", "delete", "_method=DELETE" },
}
M.OPS = OPS

local function argcheck(cond, fn, msg, level)
  if not cond then error(("sparevideos:%s: %s"):format(fn, msg), (level or 2) + 1) end
end
M.argcheck = argcheck

--- Sign an ordered list of {key, value} pairs with private_key: the token
-- (P "." H). Values: strings, integers, booleans, lists of strings marked with
-- mediacdn.array_mt. Raises on misuse, naming the field.
function M.sign(fields, private_key)
  if type(private_key) ~= "string" or private_key == "" then
    error("mediacdn.sparevideos.sign: argument #2 (private_key) must be a non-empty string", 2)
  end
  if type(fields) ~= "table" then
    error("mediacdn.sparevideos.sign: argument #1 (fields) must be a list of {key, value} pairs", 2)
  end
  local ok, res = pcall(sv_sign, fields, private_key)
  if not ok then error("mediacdn.sparevideos.sign: argument #1 (" .. tostring(res) .. ")", 2) end
  return res
end

--- The PHP json_encode text that sign() signs (for inspection and tests).
function M.payload(fields)
  local ok, res = pcall(sv_payload, fields)
  if not ok then error("mediacdn.sparevideos.payload: argument #1 (" .. tostring(res) .. ")", 2) end
  return res
end

-- The signature fields of a call, in the plugin's key order (§2.3):
-- algo, method, action, [file_code], public_key, [thumbnail], expires, [codes],
-- [convert_sd_only], [convert_mp4_only] (the options only when true).
local function fields_of(op, pk, x, expires)
  local f = { { "algo", "sha256" }, { "method", op[3] }, { "action", op[4] } }
  if x.file_code ~= nil then f[#f + 1] = { "file_code", x.file_code } end
  f[#f + 1] = { "public_key", pk }
  if x.thumbnail ~= nil then f[#f + 1] = { "thumbnail", x.thumbnail } end
  f[#f + 1] = { "expires", expires }
  if x.codes ~= nil then f[#f + 1] = { "codes", x.codes } end
  if x.sd_only then f[#f + 1] = { "convert_sd_only", true } end
  if x.mp4_only then f[#f + 1] = { "convert_mp4_only", true } end
  return f
end

--- The signature fields of operation opname (a key of M.OPS) in the service's key
-- order, for a backend that signs a call for someone else (the CLI's `sv sign`):
-- x holds file_code, thumbnail, codes (a list marked with array_mt), sd_only, mp4_only.
function M.fields(opname, public_key, x, expires)
  local op = OPS[opname]
  if not op then error("mediacdn.sparevideos.fields: unknown operation " .. tostring(opname), 2) end
  return fields_of(op, public_key, x or {}, expires)
end

local function origin(url)
  return url:match("^(https?://[^/?#]+)")
end

-- Check a nextPageUrl / server URL against the API base: same scheme and host.
function M.same_origin(a, b)
  local oa, ob = origin(a or ""), origin(b or "")
  return oa ~= nil and ob ~= nil and oa:lower() == ob:lower()
end

-- The engine and the closures that hold the private key and the recent tokens.
local function wire(self, private_key)
  local recent = {}   -- the last tokens signed or received (and their two parts)
  local jobs = setmetatable({}, { __mode = "k" }) -- intent -> how to sign it
  local eng
  self._jobs = jobs

  local function remember(token)
    recent[#recent + 1] = token
    local p, h = token:match("^(.*)%.(%x+)$")
    if p then
      recent[#recent + 1] = p
      recent[#recent + 1] = h
    end
    while #recent > RECENT * 3 do table.remove(recent, 1) end
  end
  self._remember = remember

  local function secrets()
    local s = { private_key }
    for i = 1, #recent do s[#s + 1] = recent[i] end
    return s
  end

  -- A fresh token for this attempt (engine hook). Unsigned requests pass as they are;
  -- a job with `prepare` (the upload POST) builds its URL itself.
  local function sign(req, intent, attempt)
    local job = jobs[intent]
    if not job or job.unsigned then return true end
    if job.prepare then return job.prepare(req, attempt) end
    -- expires from the skew-corrected clock; each attempt of a call gets a later one
    -- than the last, so a retry always carries a new signature
    local exp = floor(self.transport:now() + self.skew) + job.ttl
    if job.last_exp and exp <= job.last_exp then exp = job.last_exp + 1 end
    job.last_exp = exp
    local token = sv_sign(fields_of(job.op, self.public_key, job.x, exp), private_key)
    remember(token)
    req.url = job.url .. (job.url:find("?", 1, true) and "&" or "?") .. "token=" .. url_escape(token)
    if job.op[6] then
      req.body = job.op[6]
      req.headers["Content-Type"] = "application/x-www-form-urlencoded"
    end
    return true
  end

  -- Learn the clock skew from Date, then read the SpareVideos envelope (engine hook).
  local function classify(res, intent)
    local server = codes.http_date(res.headers and res.headers["date"])
    if server then
      local d = server - self.transport:now()
      self.skew = abs(d) > SKEW_MIN and d or 0
    end
    local job = jobs[intent]
    if not job or job.raw then return nil end
    local doc, status = codes.envelope(res.body)
    if status ~= "error" then return nil end
    local code = tonumber(doc.error)
    if code == codes.ALREADY_CONVERTED and job.op == OPS.convert then return nil end -- success (§4.4)
    return codes.verdict(doc, job.upload)
  end

  local function reauth(_, intent)
    eng:emit{ type = "token", action = "resign", operation = intent.operation, skew = self.skew }
  end

  eng = engine.new{
    service = "sparevideos", transport = self.transport, policy = self.policy,
    sign = sign, reauth = reauth, classify = classify, emit = self.on_event, secrets = secrets,
    limits = copts.limits(self, "wait"),
  }
  return eng
end

-- The options of sparevideos.new beside the common ones (mediacdn.client_options).
local OPTIONS = copts.names{ "public_key", "private_key", "base_url", "thumbnail_base", "ttl",
  "poll_interval" }

--- Create a client. See the README for every option.
function M.new(opts)
  opts = opts or {}
  argcheck(type(opts) == "table", "new", "argument #1 must be a table of options")
  copts.known(opts, WHO, OPTIONS)
  local pk = opts.public_key or os.getenv("SPAREVIDEOS_PUBLIC_KEY")
  local sk = opts.private_key or os.getenv("SPAREVIDEOS_PRIVATE_KEY")
  argcheck(type(pk) == "string" and pk ~= "", "new",
    "public_key is required (option public_key or env SPAREVIDEOS_PUBLIC_KEY)")
  argcheck(type(sk) == "string" and sk ~= "", "new",
    "private_key is required (option private_key or env SPAREVIDEOS_PRIVATE_KEY)")
  local base = opts.base_url or os.getenv("SPAREVIDEOS_BASE_URL") or DEFAULT_BASE
  argcheck(type(base) == "string" and base:match("^https?://[^/]"), "new", "base_url must be an http(s) URL")
  base = base:gsub("/+$", "")
  local thumbs = opts.thumbnail_base or os.getenv("SPAREVIDEOS_THUMBNAIL_BASE")
  if thumbs == nil then
    -- the real service serves thumbnails from another host; anything else (the
    -- sandbox, a proxy) serves them beside the API
    thumbs = base == DEFAULT_BASE and DEFAULT_THUMBS or (origin(base) .. "/thumbnail")
  end
  argcheck(type(thumbs) == "string" and thumbs:match("^https?://"), "new", "thumbnail_base must be an http(s) URL")
  local retry = copts.retry(opts, WHO)
  argcheck(opts.on_event == nil or type(opts.on_event) == "function", "new", "option 'on_event' must be a function")
  local ttl = {}
  for k, v in pairs(DEFAULT_TTL) do ttl[k] = v end
  argcheck(opts.ttl == nil or type(opts.ttl) == "table", "new", "option 'ttl' must be a table")
  for k, v in pairs(opts.ttl or {}) do
    argcheck(DEFAULT_TTL[k] ~= nil, "new",
      ("ttl.%s is not a token kind (initiate, convert, file, update, delete, list)"):format(tostring(k)))
    argcheck(type(v) == "number" and v >= 1 and v <= MAX_TTL and v == floor(v), "new",
      ("ttl.%s must be a positive integer number of seconds (at most a year)"):format(k))
    ttl[k] = v
  end
  local self = setmetatable({
    service = "sparevideos",
    base_url = base,
    thumbnail_base = thumbs:gsub("/+$", ""),
    public_key = pk,
    ttl = ttl,
    skew = 0,
    poll_interval = copts.number(opts, "poll_interval", 2, WHO, 0.01),
    on_event = opts.on_event,
  }, SV)
  for k, v in pairs(copts.transfer(opts, WHO)) do self[k] = v end -- timeouts, max_wait, cainfo
  self.transport = copts.transport(opts, WHO)
  self.policy = core.policy{
    attempts = retry.attempts, base = retry.base, cap = retry.cap, deadline = retry.deadline,
    rate_limit = "wait", max_wait = self.max_wait,
  }
  self.engine = wire(self, sk)
  return self
end

function SV:__tostring()
  return ("mediacdn.SpareVideos(%s)"):format(self.base_url)
end

-- Raise on a value the signer would refuse, naming the method's argument: the C
-- signer's "fields[4] ('file_code'): ..." becomes "argument #1 (code): ...".
function SV:_precheck(fn, opname, x, names)
  local ok, msg = pcall(sv_payload, fields_of(OPS[opname], self.public_key, x, 0))
  if ok then return end
  local key, rest = tostring(msg):match("^fields%[%d+%] %('([^']+)'%): (.*)$")
  if key and names[key] then error(("sparevideos:%s: %s: %s"):format(fn, names[key], rest), 3) end
  error(("sparevideos:%s: %s"):format(fn, tostring(msg)), 3)
end

--- Perform a signed call: the decoded success object, or nil, err.
-- x: the signed extras {file_code=, thumbnail=, codes=, sd_only=, mp4_only=};
-- url: overrides the endpoint URL (a page URL of the file list).
function SV:_call(opname, x, url, operation)
  local op = OPS[opname]
  local intent = {
    operation = operation or (op[3] .. "/" .. op[4]), method = op[1], path = "/api/v1" .. op[2],
    url = url or (self.base_url .. op[2]), headers = { Accept = "application/json" },
    idempotent = true, -- every signed call is safe to repeat (§7: update and delete are idempotent)
  }
  self._jobs[intent] = { op = op, x = x or {}, ttl = self.ttl[op[5]], url = intent.url }
  local res, err = self.engine:perform(intent)
  if not res then return nil, err end
  local doc, status = codes.envelope(res.body)
  if status ~= "success" and not (status == "error" and tonumber(doc.error) == codes.ALREADY_CONVERTED) then
    return nil, errors.new{ kind = "protocol", service = "sparevideos", operation = intent.operation,
      status = res.status, message = "the server answered without the expected JSON envelope" }
  end
  return doc
end

--- Perform an unsigned GET (thumbnails, progress): the response, or nil, err.
function SV:_get(url, operation, path)
  local intent = { operation = operation, method = "GET", path = path, url = url, idempotent = true }
  self._jobs[intent] = { unsigned = true, raw = true }
  return self.engine:perform(intent)
end

-- A file code argument (mediacdn.args.code: 1-128 visible ASCII characters).
local function check_code(fn, code, n)
  args.code("sparevideos:" .. fn, ("argument #%d (code)"):format(n or 1), code, 4)
end
M.check_code = check_code

--- Check the key pair (the plugin does the same): true, or nil, err.
function SV:verify_credentials()
  local doc, err = self:_call("initiate")
  if not doc then return nil, err end
  return true
end

--- Ask for the conversion of an uploaded file. opts: sd_only, mp4_only (booleans).
-- Returns code, already (true when it had been asked before: code 100031).
function SV:convert(code, opts)
  check_code("convert", code)
  opts = args.options("sparevideos:convert", 2, opts)
  for k, v in pairs(opts) do
    argcheck(k == "sd_only" or k == "mp4_only", "convert",
      ("unknown option '%s' (sd_only, mp4_only)"):format(tostring(k)))
    argcheck(type(v) == "boolean", "convert", ("option '%s' must be a boolean"):format(k))
  end
  local x = { file_code = code, sd_only = opts.sd_only, mp4_only = opts.mp4_only }
  self:_precheck("convert", "convert", x, { file_code = "argument #1 (code)" })
  local doc, err = self:_call("convert", x)
  if not doc then return nil, err end
  return code, doc.status == "error"
end

-- trim the stray spaces the seed's examples show around URLs (§4.5)
local function trim_urls(t, depth)
  if depth > 4 then return end
  for k, v in pairs(t) do
    if type(v) == "string" and (k == "file" or k == "thumbnail") then t[k] = v:match("^%s*(.-)%s*$")
    elseif type(v) == "table" then trim_urls(v, depth + 1) end
  end
end

--- File information: {extension, playtime, thumbnail, streams}, streams empty
-- until the conversion is done. Returns the table, or nil, err (code 100030 when
-- the conversion was never asked).
function SV:file(code)
  check_code("file", code)
  self:_precheck("file", "file", { file_code = code }, { file_code = "argument #1 (code)" })
  local doc, err = self:_call("file", { file_code = code })
  if not doc then return nil, err end
  doc.status = nil
  trim_urls(doc, 0)
  return doc
end

--- Choose the thumbnail: opts.thumbnail is a file name from sv:thumbnails(code).
function SV:update_file(code, opts)
  check_code("update_file", code)
  argcheck(type(opts) == "table" and type(opts.thumbnail) == "string" and opts.thumbnail ~= "", "update_file",
    "argument #2 must be {thumbnail = <file name from sv:thumbnails(code)>}")
  args.options("sparevideos:update_file", 2, opts, { thumbnail = "string" })
  local x = { file_code = code, thumbnail = opts.thumbnail }
  self:_precheck("update_file", "update", x,
    { file_code = "argument #1 (code)", thumbnail = "argument #2 (thumbnail)" })
  local doc, err = self:_call("update", x)
  if not doc then return nil, err end
  return true
end

--- Has a file info table playable streams?
function M.has_streams(info)
  local s = type(info) == "table" and info.streams
  return type(s) == "table" and next(s) ~= nil
end

--- Poll the file info with backoff until streams appear. opts: timeout (1800 s),
-- interval (5 s), factor (1.5), cap (60 s). Returns the file info, or nil, err
-- (kind "timeout" when the deadline passes first).
function SV:wait_ready(code, opts)
  check_code("wait_ready", code)
  opts = args.options("sparevideos:wait_ready", 2, opts,
    { timeout = "number", interval = "number", factor = "number", cap = "number" })
  for _, k in ipairs{ "timeout", "interval", "factor", "cap" } do
    local v = opts[k]
    argcheck(v == nil or (v > 0 and v <= 1e9), "wait_ready",
      ("option '%s' must be a positive number (at most 1e9)"):format(k))
  end
  local t = self.transport
  local deadline = t:now() + (opts.timeout or 1800)
  local delay, factor, cap = opts.interval or 5, opts.factor or 1.5, opts.cap or 60
  local polls = 0
  while true do
    local info, err = self:file(code)
    polls = polls + 1
    if info and M.has_streams(info) then return info end
    if not info and err.code ~= codes.NOT_CONVERTED then return nil, err end
    local left = deadline - t:now()
    if left <= 0 then
      return nil, errors.new{ kind = "timeout", service = "sparevideos", operation = "file/get",
        code = err and err.code or nil, retryable = true,
        message = ("file %s has no streams after %d polls"):format(code, polls) }
    end
    self.engine:emit{ type = "poll", operation = "file/get", attempt = polls, delay = math.min(delay, left),
      reason = err and "not converted" or "converting" }
    t:sleep(math.min(delay, left))
    delay = math.min(delay * factor, cap)
  end
end

require("mediacdn.sparevideos.media")(SV, M)
require("mediacdn.sparevideos.files")(SV, M)
require("mediacdn.sparevideos.upload")(SV, M)

return M
