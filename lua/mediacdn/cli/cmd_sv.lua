--- mediacdn.cli.cmd_sv: the SpareVideos commands over mediacdn.sparevideos.
--
--   sv upload FILE|URL... [--convert] [--wait] [--sd-only] [--mp4-only] [--timeout S]
--   sv ls [-l]      sv info CODE...      sv rm CODE...
--   sv sign METHOD ACTION [--file-code C] [--thumbnail T] [--codes C1,C2] [--sd-only]
--           [--mp4-only] [--expires-in S | --expires EPOCH] [--url]
--
-- upload prints each file code as soon as the file is stored, before any
-- conversion is asked (the code is what you keep; the conversion is what is
-- billed). sign prints a token for a backend that hands out upload slots or
-- calls the API itself: the fields in the plugin's key order (sparevideos-api.md
-- §2.3), signed by mediacdn.sparevideos.sign (the C core's PHP-exact writer).
local lfs = require "lfs"
local mediacdn = require "mediacdn"
local sparevideos = require "mediacdn.sparevideos"
local exit = require "mediacdn.cli.exit"
local format = require "mediacdn.cli.format"
local runner = require "mediacdn.cli.runner"
local session = require "mediacdn.cli.session"
local loop = require "mediacdn.loop"

local ipairs, pairs, tostring, tonumber, type = ipairs, pairs, tostring, tonumber, type
local pcall, setmetatable = pcall, setmetatable
local concat = table.concat
local floor = math.floor

local M = {}

-- method/action pairs a token can be made for -> the client's OPS entry
local SIGNABLE = {
  ["upload initiate"] = "initiate", ["upload convert"] = "convert", ["file get"] = "file",
  ["file update"] = "update", ["files get"] = "list", ["files delete"] = "delete",
}
-- default lifetimes of a printed token, seconds (the client's own per-call ttl
-- defaults: an upload slot lasts an hour like the plugin's, the rest are short)
local SIGN_TTL = { initiate = 3600, convert = 30, file = 30, update = 30, delete = 120, list = 60 }

local function err_obj(err)
  if type(err) ~= "table" then return { message = tostring(err) } end
  return { kind = err.kind, code = err.code, status = err.status, message = err.message }
end

local function is_url(s)
  return s:match("^https?://[^/]") ~= nil
end

-- The lines that describe a file's streams.
local function stream_lines(info)
  local lines = {}
  local s = type(info.streams) == "table" and info.streams or {}
  for _, kind in ipairs{ "hls", "mpd" } do
    if type(s[kind]) == "table" and s[kind].file then lines[#lines + 1] = ("  %-9s %s"):format(kind, s[kind].file) end
  end
  for _, kind in ipairs{ "mp4", "webm" } do
    if type(s[kind]) == "table" then
      for _, v in ipairs(s[kind]) do
        lines[#lines + 1] = ("  %-9s %s"):format(kind .. " " .. tostring(v.label or ""), tostring(v.file))
      end
    end
  end
  return lines
end

--- sv upload FILE|URL...
function M.upload(ctx)
  local a = ctx.args
  local sources = {}
  for i, src in ipairs(a.sources) do
    if not is_url(src) then
      local mode = lfs.attributes(src, "mode")
      if not mode then exit.usage(("no such local file: %s"):format(src)) end
      if mode ~= "file" then exit.usage(("%s is not a file"):format(src)) end
    end
    sources[i] = src
  end
  local convert = a.convert or a.wait
  if (a.sd_only or a.mp4_only) and not convert then exit.usage("--sd-only and --mp4-only go with --convert") end
  local sv = ctx:sv()
  local r = ctx.reporter
  local stats = runner.stats()
  local jobs = {}
  for i, src in ipairs(sources) do
    local size = not is_url(src) and lfs.attributes(src, "size") or nil
    local job = { verb = "upload", label = src, size = size, what = "upload " .. src }
    job.run = function(_, on_progress)
      local code, err = sv:upload(src, { on_progress = function(pct)
        if size then on_progress(floor(size * pct / 100 + 0.5), size) else on_progress(pct, 100) end
      end })
      if not code then return nil, err end
      job.obj = { action = "upload", source = src, code = code }
      job.text = ("uploaded %s: code %s"):format(src, code)
      if not convert then return true end
      -- the code first, so that it is kept even if the conversion step fails
      r:result(job.text .. (", asking for the conversion"), nil)
      local _, cerr = sv:convert(code, { sd_only = a.sd_only or nil, mp4_only = a.mp4_only or nil })
      if cerr then cerr.message = ("code %s: %s"):format(code, tostring(cerr.message)); return nil, cerr end
      job.obj.converting = true
      job.text = ("conversion asked for %s (%s)"):format(code, src)
      if not a.wait then return true end
      local info, werr = sv:wait_ready(code, { timeout = a.timeout or 1800 })
      if not info then
        werr.message = ("code %s: %s"):format(code, tostring(werr.message)); return nil, werr
      end
      job.obj.streams, job.obj.playtime = info.streams, info.playtime
      job.text = concat({ ("ready %s (%s), %s s"):format(code, src, tostring(info.playtime)) }, "\n")
        .. "\n" .. concat(stream_lines(info), "\n")
      return true
    end
    jobs[i] = job
  end
  r:expect(#jobs, 0)
  session.run(ctx, function()
    runner.run(ctx, jobs, { concurrency = a.transfers or 2, stats = stats })
  end)
  if ctx.mode ~= "json" and (#jobs > 1 or stats.failed > 0) then
    r:summary({ ("%d uploaded, %d failed"):format(stats.done, stats.failed) },
      { action = "summary", uploaded = stats.done, failed = stats.failed })
  elseif ctx.mode == "json" then
    r:summary(nil, { action = "summary", uploaded = stats.done, failed = stats.failed,
      interrupted = ctx.interrupted and true or nil })
  end
  if ctx.interrupted then return exit.for_signal(ctx.interrupted) end
  return stats.failed > 0 and exit.FAILED or exit.OK
end

--- sv ls [-l]
function M.ls(ctx)
  local sv = ctx:sv()
  local r = ctx.reporter
  local failed = 0
  session.run(ctx, function()
    local list = {}
    local ok, err = pcall(function()
      for f in sv:files() do
        if ctx.args.long then list[#list + 1] = f.code
        else r:result(f.code, { code = f.code, page = f.page }) end
      end
    end)
    if not ok then exit.fail("sv ls: " .. tostring(err)) end
    if not ctx.args.long then return end
    local fns = {}
    for i, code in ipairs(list) do fns[i] = function() return sv:file(code) end end
    local infos, errs = loop.gather(fns, { concurrency = 4 })
    for i, code in ipairs(list) do
      local info = infos[i]
      if info then
        local ready = sparevideos.has_streams(info)
        r:result(("%-22s %-5s %8s  %s"):format(code, tostring(info.extension or "-"),
          info.playtime and format.duration(info.playtime) or "-", ready and "ready" or "converting"),
          { code = code, extension = info.extension, playtime = info.playtime, ready = ready })
      elseif type(errs[i]) == "table" and errs[i].code == 100030 then
        r:result(("%-22s %-5s %8s  %s"):format(code, "-", "-", "not converted"), { code = code, ready = false,
          converted = false })
      else
        failed = failed + 1
        r:result(("%s: %s"):format(code, tostring(errs[i])),
          { code = code, status = "failed", error = err_obj(errs[i]) }, true)
      end
    end
  end)
  if ctx.interrupted then return exit.for_signal(ctx.interrupted) end
  return failed > 0 and exit.FAILED or exit.OK
end

--- sv info CODE...
function M.info(ctx)
  local sv = ctx:sv()
  local failed = 0
  for _, code in ipairs(ctx.args.codes) do
    local info, err = sv:file(code)
    if not info then
      failed = failed + 1
      local msg = err.code == 100030 and "not converted yet (sv upload --convert, or the API's convert)"
        or tostring(err)
      ctx.reporter:result(("%s: %s"):format(code, msg), { code = code, status = "failed", error = err_obj(err) }, true)
    else
      local lines = { code, "  extension " .. tostring(info.extension),
        "  playtime  " .. tostring(info.playtime) .. " s",
        "  thumbnail " .. tostring(info.thumbnail) }
      local streams = stream_lines(info)
      if #streams == 0 then lines[#lines + 1] = "  streams   (converting)" end
      for _, l in ipairs(streams) do lines[#lines + 1] = l end
      info.code = code
      ctx.reporter:result(concat(lines, "\n"), info)
    end
  end
  return failed > 0 and exit.FAILED or exit.OK
end

--- sv rm CODE...
function M.rm(ctx)
  local sv = ctx:sv()
  local codes = setmetatable({}, mediacdn.array_mt)
  for i, c in ipairs(ctx.args.codes) do codes[i] = c end
  local ok, err = sv:delete(codes)
  if not ok then
    local done = type(err) == "table" and tonumber(err.deleted) or 0
    exit.fail(("sv rm: %s (%d of %d deleted)"):format(tostring(err), done, #codes))
  end
  ctx.reporter:result(("deleted %d file(s)"):format(#codes), { action = "delete", codes = codes, status = "ok" })
  return exit.OK
end

--- sv sign METHOD ACTION [...]: print a signed token (nothing is sent)
function M.sign(ctx)
  local a = ctx.args
  local opname = SIGNABLE[a.method .. " " .. a.action]
  if not opname then
    local known = {}
    for k in pairs(SIGNABLE) do known[#known + 1] = k end
    table.sort(known)
    exit.usage(("no %s %s call: sign one of %s"):format(a.method, a.action, concat(known, ", ")))
  end
  local need = { convert = "file_code", file = "file_code", update = "file_code" }
  if need[opname] and not a.file_code then exit.usage(("%s %s needs --file-code CODE"):format(a.method, a.action)) end
  if opname == "update" and not a.thumbnail then exit.usage("file update needs --thumbnail NAME") end
  if opname == "delete" and not a.codes then exit.usage("files delete needs --codes C1,C2,...") end
  if (a.sd_only or a.mp4_only) and opname ~= "convert" then
    exit.usage("--sd-only and --mp4-only go with upload convert")
  end
  local keys = ctx:sv_keys()
  local expires = a.expires
  if expires then
    if expires ~= floor(expires) or expires < 0 then exit.usage("--expires takes whole epoch seconds") end
  else
    local ttl = a.expires_in or SIGN_TTL[opname]
    if ttl < 1 or ttl ~= floor(ttl) then exit.usage("--expires-in takes whole seconds (at least 1)") end
    expires = os.time() + ttl
  end
  local op = sparevideos.OPS[opname]
  local x = { sd_only = a.sd_only, mp4_only = a.mp4_only }
  if need[opname] then x.file_code = a.file_code end
  if opname == "update" then x.thumbnail = a.thumbnail end
  if opname == "delete" then
    local list = setmetatable({}, mediacdn.array_mt)
    for c in a.codes:gmatch("[^,%s]+") do list[#list + 1] = c end
    if #list == 0 then exit.usage("--codes needs at least one code") end
    x.codes = list
  end
  local fields = sparevideos.fields(opname, keys.public_key, x, floor(expires))
  local ok, token = pcall(sparevideos.sign, fields, keys.private_key)
  if not ok then exit.usage(tostring(token):gsub("^[^:]*:%d+: ", "")) end
  local obj = { token = token, method = a.method, action = a.action, expires = floor(expires),
    payload = sparevideos.payload(fields) }
  local text = token
  if a.url then
    local base = keys.base_url or "https://devs.sparevideos.com/api/v1"
    obj.url = base:gsub("/+$", "") .. op[2] .. "?token=" .. require("mediacdn.core").url_escape(token)
    obj.http_method = op[1]
    text = op[1] .. " " .. obj.url .. (op[6] and ("   (form body: " .. op[6] .. ")") or "")
  end
  ctx.reporter:result(text, obj)
  return exit.OK
end

return M
