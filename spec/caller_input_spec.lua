-- Caller input (issue 18 §5): every public entry point checks its arguments
-- before anything is sent. Each refused input is proven to raise an error that
-- names the function and the argument AND to send nothing: the clients run on
-- the fake transport (which records every request, including a token fetch),
-- the Redis-backed stores on a counting stand-in for a Redis client, the bulk
-- runner and mediacdn.loop on work functions that count their calls. Accepted
-- inputs next to them still go out, so every check here can fail.
-- The table of rules is in docs/internals.md ("Caller input").
local sirv_mod = require "mediacdn.sirv"
local sv_mod = require "mediacdn.sparevideos"
local fake_mod = require "mediacdn.transport.fake"
local tus = require "mediacdn.tus"
local bulk = require "mediacdn.bulk"
local loop = require "mediacdn.loop"
local progress = require "mediacdn.progress"
local core = require "mediacdn.core"

local NAN, INF = 0 / 0, math.huge
local CODE = "1488633857-11PYNC"

local function json(body)
  return { status = 200, headers = { ["content-type"] = "application/json" }, body = body }
end
local TOKEN = json('{"token":"tok-caller-input","expiresIn":1200}')

local function sirv_client(fake, opts)
  opts = opts or {}
  opts.client_id, opts.client_secret = "id-ci", "secret-ci"
  opts.base_url, opts.transport = "https://api.example.test", fake
  return sirv_mod.new(opts)
end

local function sv_client(fake, opts)
  opts = opts or {}
  opts.public_key, opts.private_key = "pk-ci", "sk-ci"
  opts.base_url, opts.transport = "https://sv.example.test/api/v1", fake
  return sv_mod.new(opts)
end

-- A temporary file holding `data`; removed by the caller.
local function temp_file(data)
  local p = os.tmpname()
  local f = assert(io.open(p, "wb"))
  f:write(data or "abc")
  f:close()
  return p
end

-- fn(client) must raise an error holding every plain string in `wants`, and
-- the fake transport must have seen no request.
local function refused(make, fn, wants, label)
  local fake = fake_mod.new()
  fake:route(function() return json("{}") end) -- anything sent would be answered
  local c = make(fake)
  local ok, err = pcall(fn, c)
  assert.is_false(ok, "accepted: " .. label)
  for _, w in ipairs(type(wants) == "table" and wants or { wants }) do
    assert.is_truthy(tostring(err):find(w, 1, true), label .. ": '" .. w .. "' not in: " .. tostring(err))
  end
  assert.are.equal(0, #fake.requests, label .. ": a request was sent")
end

local BAD_PATHS = {
  { "rel/a.jpg", "relative" }, { "/a\0b.jpg", "NUL byte" }, { 42, "number" }, { "", "empty" },
}

describe("caller input: Sirv paths", function()
  -- method -> how to call it with path p (the path is the argument the error names)
  local calls = {
    stat = function(c, p) return c:stat(p) end,
    readdir_page = function(c, p) return c:readdir_page(p) end,
    readdir = function(c, p) return c:readdir(p) end,
    delete = function(c, p) return c:delete(p) end,
    copy = function(c, p) return c:copy(p, "/b.jpg") end,
    ["copy (to)"] = function(c, p) return c:copy("/a.jpg", p) end,
    rename = function(c, p) return c:rename(p, "/b.jpg") end,
    ["rename (to)"] = function(c, p) return c:rename("/a.jpg", p) end,
    mkdir = function(c, p) return c:mkdir(p) end,
    meta = function(c, p) return c:meta(p) end,
    set_meta = function(c, p) return c:set_meta(p, { title = "t" }) end,
    title = function(c, p) return c:title(p) end,
    set_title = function(c, p) return c:set_title(p, "t") end,
    description = function(c, p) return c:description(p) end,
    set_description = function(c, p) return c:set_description(p, "d") end,
    product = function(c, p) return c:product(p) end,
    set_product = function(c, p) return c:set_product(p, { id = "x" }) end,
    tags = function(c, p) return c:tags(p) end,
    add_tags = function(c, p) return c:add_tags(p, { "a" }) end,
    remove_tags = function(c, p) return c:remove_tags(p, { "a" }) end,
    approval = function(c, p) return c:approval(p) end,
    set_approval = function(c, p) return c:set_approval(p, true) end,
    options = function(c, p) return c:options(p) end,
    poi = function(c, p) return c:poi(p) end,
    delete_poi = function(c, p) return c:delete_poi(p, "face") end,
    jwt = function(c, p) return c:jwt(p, { key = "k", expiresIn = 60 }) end,
    video_to_spin = function(c, p) return c:video_to_spin(p) end,
    spin_to_video = function(c, p) return c:spin_to_video(p) end,
    upload = function(c, p) return c:upload(p, { data = "x" }) end,
    ["upload (resumable)"] = function(c, p) return c:upload(p, "/etc/hostname", { resumable = true }) end,
    download = function(c, p) return c:download(p, os.tmpname() .. ".ci") end,
    ["download (handle)"] = function(c, p) return c:download(p, io.tmpfile()) end,
    fetch = function(c, p) return c:fetch("https://example.com/a.jpg", p) end,
    zip = function(c, p) return c:zip({ "/a.jpg", p }) end,
    batch_delete = function(c, p) return c:batch_delete({ p }) end,
    read_meta = function(c, p) return c:read_meta(p) end,
    edit_meta = function(c, p) return c:edit_meta(p, { title = "t" }) end,
    copy_meta = function(c, p) return c:copy_meta(p, "/b.jpg") end,
    apply_meta = function(c, p) return c:apply_meta(p, { title = "t" }) end,
    export_meta = function(c, p) return c:export_meta(p, io.tmpfile()) end,
  }
  -- a path that is not a string raises naming the method; a bad string in a
  -- query raises where sirv:call builds it, naming the operation's parameter
  for name, call in pairs(calls) do
    it(("sirv:%s refuses a relative, NUL-holding, non-string or empty path"):format(name), function()
      local method = name:match("^(%S+)")
      for _, bad in ipairs(BAD_PATHS) do
        refused(sirv_client, function(c) return call(c, bad[1]) end, "must", name .. " / " .. bad[2])
      end
      -- the type error always names the method
      refused(sirv_client, function(c) return call(c, 42) end, "sirv:" .. method, name)
    end)
  end

  it("names the argument where the method checks the path itself", function()
    refused(sirv_client, function(c) return c:download("rel.jpg", "x") end,
      { "sirv:download: argument #1 (path) must be an absolute path", '(got "rel.jpg")' }, "download")
    refused(sirv_client, function(c) return c:upload("/a\0b", "x") end,
      "sirv:upload: argument #1 (path) must be an absolute path", "upload")
    refused(sirv_client, function(c) return c:readdir("dir") end, "sirv:readdir: argument #1 (dir)", "readdir")
    refused(sirv_client, function(c) return c:zip({ "/a.jpg", "b.jpg" }) end,
      "sirv:zip: argument #1 (paths[2]) must be an absolute path", "zip")
    refused(sirv_client, function(c) return c:batch_delete({}) end,
      "sirv:batch_delete: argument #1 must be a non-empty list of paths", "batch_delete")
    refused(sirv_client, function(c) return c:apply_meta("folder", { title = "t" }) end,
      "sirv:apply_meta: argument #1 (source) must be an absolute path", "apply_meta")
    refused(sirv_client, function(c) return c:apply_meta({ "/a.jpg", "b.jpg" }, { title = "t" }) end,
      "sirv:apply_meta: argument #1 (source[2]) must be an absolute path", "apply_meta list")
    refused(sirv_client, function(c) return c:export_meta({ { path = "/a\0" } }, io.tmpfile()) end,
      "sirv:export_meta: argument #1 (source[1])", "export_meta list")
    -- a path in a query: the one check, where sirv:call builds it (sirv:stat's hot path)
    refused(sirv_client, function(c) return c:stat("rel") end,
      "sirv:call('getFilesStat'): parameter 'filename' must be an absolute path", "stat")
  end)

  it("refuses local paths that C would cut at a NUL byte", function()
    refused(sirv_client, function(c) return c:upload("/a.jpg", "a\0b") end,
      "sirv:upload: argument #2 (source) must be a local file path", "upload source")
    refused(sirv_client, function(c) return c:upload("/a.jpg", "") end,
      "sirv:upload: argument #2 (source)", "upload empty source")
    refused(sirv_client, function(c) return c:download("/a.jpg", "out\0.jpg") end,
      "sirv:download: argument #2 (dest) must be a local file path", "download dest")
    refused(sirv_client, function(c) return c:export_meta("/d", "out\0.csv") end,
      "sirv:export_meta: argument #2 (dest)", "export dest")
    refused(sirv_client, function(c) return c:import_meta("in\0.csv") end,
      "sirv:import_meta: argument #1 (src)", "import src")
    refused(sirv_client, function(c) return c:apply_meta({ "/a.jpg" }, { title = "t" }, { journal = "j\0" }) end,
      "sirv:apply_meta: argument #3 field 'journal' must be a local file path", "journal")
  end)

  it("still sends good paths: stat, a download to a path and one to a handle", function()
    local fake = fake_mod.new()
    local c = sirv_client(fake)
    fake:push(TOKEN):push(json('{"size":3}'))
    assert.are.equal(3, c:stat("/dir/\195\188 a.jpg").size)
    assert.are.equal(2, #fake.requests)
    local dest = os.tmpname()
    fake:push{ status = 200, headers = { ["content-length"] = "3", etag = '"e1"' } }
      :push{ status = 200, headers = { ["content-length"] = "3", etag = '"e1"' }, body = "abc" }
    assert.is_true(c:download("/dir/a.jpg", dest))
    assert.are.equal(4, #fake.requests)
    local f = assert(io.open(dest, "rb"))
    assert.are.equal("abc", f:read("a"))
    f:close()
    os.remove(dest)
  end)
end)

describe("caller input: Sirv numbers and option tables", function()
  local cases = {
    { "wait_job timeout NaN", function(c) return c:wait_job("zip", "j1", { timeout = NAN }) end,
      "sirv:wait_job: option 'timeout' must be a number between 0 and 1000000000 (got nan)" },
    { "wait_job timeout inf", function(c) return c:wait_job("zip", "j1", { timeout = INF }) end,
      "sirv:wait_job: option 'timeout'" },
    { "wait_job interval 0", function(c) return c:wait_job("zip", "j1", { interval = 0 }) end,
      "sirv:wait_job: option 'interval'" },
    { "wait_job opts not a table", function(c) return c:wait_job("zip", "j1", 5) end,
      "sirv:wait_job: argument #3 must be a table of options" },
    { "wait_job empty id", function(c) return c:wait_job("zip", "") end, "sirv:wait_job: argument #2" },
    { "search size 0", function(c) return c:search{ query = "a", size = 0 } end, "sirv:search: field 'size'" },
    { "search size 1.5", function(c) return c:search{ query = "a", size = 1.5 } end,
      "sirv:search: field 'size' must be an integer" },
    { "search size NaN", function(c) return c:search{ query = "a", size = NAN } end, "sirv:search: field 'size'" },
    { "search query not a string", function(c) return c:search{ query = 5 } end, "sirv:search: field 'query'" },
    { "search scroll_ttl inf", function(c) return c:search({ query = "a" }, { scroll_ttl = INF }) end,
      "sirv:search: option 'scroll_ttl'" },
    { "search unknown option", function(c) return c:search({ query = "a" }, { scrol_ttl = 5 }) end,
      "sirv:search: argument #2 has an unknown option 'scrol_ttl'" },
    { "readdir unknown option", function(c) return c:readdir("/d", { recursve = true }) end,
      "sirv:readdir: argument #2 has an unknown option 'recursve' (known: recursive)" },
    { "readdir recursive not boolean", function(c) return c:readdir("/d", { recursive = "yes" }) end,
      "sirv:readdir: option 'recursive' must be a boolean" },
    { "readdir opts not a table", function(c) return c:readdir("/d", 5) end, "sirv:readdir: argument #2" },
    { "upload opts not a table", function(c) return c:upload("/a.jpg", { data = "x" }, 5) end,
      "sirv:upload: argument #3 must be a table" },
    { "upload progress_interval inf", function(c)
      return c:upload("/a.jpg", { data = "x" }, { progress_interval = INF, on_progress = print }) end,
      "sirv:upload: opts.progress_interval" },
    { "upload tus_threshold NaN", function(c) return c:upload("/a.jpg", { data = "x" }, { tus_threshold = NAN }) end,
      "sirv:upload: option 'tus_threshold'" },
    { "upload content_type empty", function(c) return c:upload("/a.jpg", { data = "x" }, { content_type = "" }) end,
      "sirv:upload: option 'content_type'" },
    { "tus chunk_size 1.5", function(c) return c:upload("/a.jpg", "/etc/hostname", { resumable = true, chunk_size = 1.5 }) end,
      "sirv:upload: option 'chunk_size' must be an integer" },
    { "tus parallel 1e9", function(c) return c:upload("/a.jpg", "/etc/hostname", { resumable = true, parallel = 1e9 }) end,
      "sirv:upload: option 'parallel' must be an integer between 1 and 1024" },
    { "tus wait_visible NaN", function(c) return c:upload("/a.jpg", "/etc/hostname", { resumable = true, wait_visible = NAN }) end,
      "sirv:upload: option 'wait_visible'" },
    { "tus max_size -1", function(c) return c:upload("/a.jpg", "/etc/hostname", { resumable = true, max_size = -1 }) end,
      "sirv:upload: option 'max_size'" },
    { "tus checksum md5", function(c) return c:upload("/a.jpg", "/etc/hostname", { resumable = true, checksum = "md5" }) end,
      "sirv:upload: option 'checksum'" },
    { "tus location empty", function(c) return c:upload("/a.jpg", "/etc/hostname", { resumable = true, location = "" }) end,
      "sirv:upload: option 'location'" },
    { "tus journal number", function(c) return c:upload("/a.jpg", "/etc/hostname", { resumable = true, journal = 5 }) end,
      "sirv:upload: option 'journal'" },
    { "download opts not a table", function(c) return c:download("/a.jpg", "x", 5) end,
      "sirv:download: argument #3 must be a table" },
    { "options set not a table", function(c) return c:options("/a", 5) end, "sirv:options: argument #2 must be a table" },
    { "poi set not a table", function(c) return c:poi("/a.jpg", "face") end, "sirv:poi: argument #2 must be a table" },
    { "jwt opts not a table", function(c) return c:jwt("/a.jpg", 5) end, "sirv:jwt: argument #2 must be a table" },
    { "zip opts not a table", function(c) return c:zip({ "/a.jpg" }, "x") end, "sirv:zip: argument #2" },
    { "zip wait not a boolean", function(c) return c:zip({ "/a.jpg" }, { wait = "yes" }) end,
      "sirv:zip: option 'wait' must be a boolean" },
    { "fetch url not a URL", function(c) return c:fetch("a.jpg", "/a.jpg") end,
      "sirv:fetch: argument #1 (url) must be an http(s) URL" },
    { "delete_poi without a name", function(c) return c:delete_poi("/a.jpg") end,
      "sirv:delete_poi: argument #2 (name)" },
    { "user id not a string", function(c) return c:user(5) end, "sirv:user: argument #1 (id)" },
    { "budget type not a string", function(c) return c:budget(5) end, "sirv:budget: argument #1" },
    { "apply_meta concurrency inf", function(c) return c:apply_meta({ "/a.jpg" }, { title = "t" }, { concurrency = INF }) end,
      "sirv:apply_meta: argument #3 field 'concurrency'" },
    { "apply_meta max_wait NaN", function(c) return c:apply_meta({ "/a.jpg" }, { title = "t" }, { max_wait = NAN }) end,
      "sirv:apply_meta: argument #3 field 'max_wait'" },
    { "call query number inf", function(c) return c:call("getFilesTusUrl", { location = "x", expiresIn = INF }) end,
      "sirv:call('getFilesTusUrl'): parameter 'expiresIn' must be a finite number" },
    { "call query number NaN", function(c) return c:stats("http", { from = NAN }) end,
      "sirv:call('getStatsHttp'): parameter 'from' must be a finite number" },
    { "search_page body NaN", function(c) return c:search_page{ query = "a", size = NAN } end,
      "sirv:call('postFilesSearch'): cannot encode the body" },
    { "call sink with a NUL byte", function(c) return c:call("getFilesDownload", { filename = "/a", sink = "o\0" }) end,
      "sirv:call('getFilesDownload'): sink must be a local file path" },
    { "call body_file path with a NUL byte", function(c)
      return c:call("postFilesUpload", { filename = "/a", body_file = { path = "a\0b", length = 1 } }) end,
      "sirv:call('postFilesUpload'): body_file.path must be a local file path" },
    { "call body_file offset -1", function(c)
      return c:call("postFilesUpload", { filename = "/a", body_file = { path = "/etc/hostname", offset = -1 } }) end,
      "sirv:call('postFilesUpload'): body_file.offset must be an integer >= 0" },
    { "call body_file length inf", function(c)
      return c:call("postFilesUpload", { filename = "/a", body_file = { path = "/etc/hostname", length = INF } }) end,
      "body_file.length" },
    { "signed_url NUL in path", function(c)
      return c:signed_url("/a\0b.jpg", { key = "k", expires_in = 60, via = "api" }) end, "NUL" },
    { "signed_url expires_in inf", function(c)
      return c:signed_url("/a.jpg", { key = "k", expires_in = INF, via = "api" }) end, "sirv:signed_url: opts.expires_in" },
  }
  for _, case in ipairs(cases) do
    it("refuses " .. case[1], function()
      refused(sirv_client, case[2], case[3], case[1])
    end)
  end

  it("refuses absurd client options at new(), naming them", function()
    local bad = {
      { { timeout = INF }, "mediacdn.sirv.new: option 'timeout'" },
      { { timeout = NAN }, "mediacdn.sirv.new: option 'timeout' must be a number" },
      { { connect_timeout = -1 }, "option 'connect_timeout'" },
      { { max_wait = 1e300 }, "option 'max_wait'" },
      { { cainfo = "ca\0.pem" }, "mediacdn.sirv.new: option 'cainfo' must be a local file path" },
      { { cainfo = "" }, "option 'cainfo'" },
      { { retry = { base = NAN } }, "mediacdn.sirv.new: option 'retry.base'" },
      { { retry = { cap = INF } }, "option 'retry.cap'" },
      { { retry = { attempts = 1.5 } }, "option 'retry.attempts' must be an integer" },
      { { retry = { deadline = -1 } }, "option 'retry.deadline'" },
      { { pacing = { threshold = 2 } }, "option 'pacing.threshold'" },
      { { pacing = { max_delay = INF } }, "option 'pacing.max_delay'" },
    }
    for _, b in ipairs(bad) do
      local fake = fake_mod.new()
      local ok, err = pcall(sirv_client, fake, b[1])
      assert.is_false(ok)
      assert.is_truthy(tostring(err):find(b[2], 1, true), tostring(err))
      assert.are.equal(0, #fake.requests)
    end
    assert.is_table(sirv_client(fake_mod.new(), { timeout = 1e9, cainfo = "/etc/ssl/certs/ca-certificates.crt" }))
  end)

  it("still polls a job with sane numbers", function()
    local fake = fake_mod.new()
    local c = sirv_client(fake)
    fake:push(TOKEN):push(json('{"progress":50}')):push(json('{"progress":100,"result":[]}'))
    assert.are.equal(100, c:wait_job("zip", "j1", { timeout = 60, interval = 1 }).progress)
    assert.are.equal(3, #fake.requests)
  end)
end)

describe("caller input: SpareVideos codes, numbers and options", function()
  local BAD_CODES = { "", "a b", "a\0b", "\255\254", ("x"):rep(129), 42, "c\n" }
  local code_calls = {
    convert = function(c, code) return c:convert(code) end,
    file = function(c, code) return c:file(code) end,
    update_file = function(c, code) return c:update_file(code, { thumbnail = "t.jpg" }) end,
    wait_ready = function(c, code) return c:wait_ready(code) end,
    thumbnails = function(c, code) return c:thumbnails(code) end,
    thumbnail_url = function(c, code) return c:thumbnail_url(code, { size = 240 }) end,
  }
  for name, call in pairs(code_calls) do
    it(("sv:%s refuses what cannot be a file code"):format(name), function()
      for _, bad in ipairs(BAD_CODES) do
        refused(sv_client, function(c) return call(c, bad) end,
          ("sparevideos:%s: argument #1 (code) must be a file code"):format(name), name .. " " .. tostring(bad))
      end
    end)
  end

  it("sv:delete refuses a bad code in the list, naming the item", function()
    for _, bad in ipairs(BAD_CODES) do
      refused(sv_client, function(c) return c:delete{ CODE, bad } end,
        "sparevideos:delete: argument #1 (codes): item 2 must be a file code", "delete " .. tostring(bad))
    end
  end)

  local cases = {
    { "files_page page inf", function(c) return c:files_page{ page = INF } end, "sparevideos:files_page: option 'page'" },
    { "files_page page 1.5", function(c) return c:files_page{ page = 1.5 } end, "option 'page' must be an integer" },
    { "files_page unknown option", function(c) return c:files_page{ pg = 2 } end,
      "sparevideos:files_page: argument #1 has an unknown option 'pg'" },
    { "files page inf", function(c) return c:files{ page = INF } end, "sparevideos:files: option 'page'" },
    { "files page 0.5", function(c) return c:files{ page = 0.5 } end, "sparevideos:files: option 'page'" },
    { "thumbnail_url size inf", function(c) return c:thumbnail_url(CODE, { size = INF }) end,
      "sparevideos:thumbnail_url: option 'size' (pixels)" },
    { "thumbnail_url size 1e9", function(c) return c:thumbnail_url(CODE, { size = 1e9 }) end, "option 'size' (pixels)" },
    { "thumbnail_url unknown option", function(c) return c:thumbnail_url(CODE, { sise = 240 }) end,
      "unknown option 'sise'" },
    { "wait_ready timeout inf", function(c) return c:wait_ready(CODE, { timeout = INF }) end,
      "sparevideos:wait_ready: option 'timeout'" },
    { "wait_ready interval NaN", function(c) return c:wait_ready(CODE, { interval = NAN }) end,
      "sparevideos:wait_ready: option 'interval'" },
    { "wait_ready unknown option", function(c) return c:wait_ready(CODE, { tiemout = 5 }) end,
      "sparevideos:wait_ready: argument #2 has an unknown option 'tiemout'" },
    { "upload timeout inf", function(c) return c:upload("https://host/a.mp4", { timeout = INF }) end,
      "sparevideos:upload: option 'timeout'" },
    { "upload unknown option", function(c) return c:upload("clip.mp4", { retries = 2 }) end,
      "sparevideos:upload: argument #2 has an unknown option 'retries'" },
    { "upload retry not boolean", function(c) return c:upload("clip.mp4", { retry = "no" }) end,
      "sparevideos:upload: option 'retry' must be a boolean" },
    { "upload NUL path", function(c) return c:upload("clip\0.mp4") end, "sparevideos:upload: argument #1" },
    { "convert opts not a table", function(c) return c:convert(CODE, 5) end, "sparevideos:convert: argument #2" },
    { "update_file unknown option", function(c) return c:update_file(CODE, { thumbnail = "t.jpg", x = 1 }) end,
      "sparevideos:update_file: argument #2 has an unknown option 'x'" },
  }
  for _, case in ipairs(cases) do
    it("refuses " .. case[1], function() refused(sv_client, case[2], case[3], case[1]) end)
  end

  it("refuses absurd client options at new()", function()
    for _, b in ipairs{ { { ttl = { file = INF } }, "ttl.file" }, { { ttl = { list = 1e12 } }, "ttl.list" },
        { { poll_interval = INF }, "option 'poll_interval'" },
        { { retry = { cap = INF } }, "sparevideos:new: option 'retry.cap'" }, { { timeout = NAN }, "option 'timeout'" } } do
      local fake = fake_mod.new()
      local ok, err = pcall(sv_client, fake, b[1])
      assert.is_false(ok)
      assert.is_truthy(tostring(err):find(b[2], 1, true), tostring(err))
      assert.are.equal(0, #fake.requests)
    end
  end)

  it("still sends a real code", function()
    local fake = fake_mod.new()
    local c = sv_client(fake)
    fake:push(json('{"status":"success","extension":"mp4","streams":[]}'))
    assert.is_table(c:file(CODE))
    assert.are.equal(1, #fake.requests)
    assert.are.equal("https://sv.example.test/thumbnail/" .. CODE .. "/240/default.jpg",
      c:thumbnail_url(CODE, { size = 240 }))
  end)
end)

describe("caller input: mediacdn.tus.upload", function()
  local file
  before_each(function() file = temp_file("0123456789") end)
  after_each(function() os.remove(file) end)

  local EP = "https://tus.example.test/files"
  local function up(source, opts)
    local fake = fake_mod.new()
    fake:route(function() return { status = 204, headers = {} } end)
    opts.transport, opts.journal = fake, false
    local ok, err = pcall(tus.upload, EP, source, opts)
    return ok, tostring(err), #fake.requests
  end

  it("refuses bad options and sources before any request", function()
    local bad = {
      { "a\0b", {}, "tus.upload: source must be a local file path" },
      { nil, { timeout = INF }, "tus.upload: opts.timeout" },
      { nil, { stall_timeout = NAN }, "tus.upload: opts.stall_timeout" },
      { nil, { connect_timeout = -1 }, "tus.upload: opts.connect_timeout" },
      { nil, { progress_interval = INF }, "tus.upload: opts.progress_interval" },
      { nil, { max_failures = 1e300 }, "tus.upload: opts.max_failures" },
      { nil, { chunk_size = 2 ^ 60 }, "tus.upload: opts.chunk_size" },
      { nil, { parallel = 1e9 }, "tus.upload: opts.parallel must be at most 1024" },
      { nil, { retry = 5 }, "tus.upload: opts.retry must be a table" },
      { nil, { allow_foreign_location = "yes" }, "tus.upload: opts.allow_foreign_location" },
    }
    for _, b in ipairs(bad) do
      local ok, err, sent = up(b[1] or file, b[2])
      assert.is_false(ok)
      assert.is_truthy(err:find(b[3], 1, true), err)
      assert.are.equal(0, sent)
    end
    local ok, err = pcall(tus.upload, EP, file, { transport = 5 })
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find("opts.transport must be a transport object", 1, true))
  end)
end)

describe("caller input: progress, bulk and loop", function()
  it("mediacdn.progress refuses bad reporter options", function()
    local clock = function() return 0 end
    for _, b in ipairs{
      { 5, "progress.new: argument #1" },
      { { on_progress = print }, "progress.new: on_progress and clock must be functions" },
      { { on_progress = print, clock = clock, total = NAN }, "progress.new: opts.total" },
      { { on_progress = print, clock = clock, interval = INF }, "progress.new: opts.interval" },
      { { on_progress = print, clock = clock, start = -1 }, "progress.new: opts.start" },
    } do
      local ok, err = pcall(progress.new, b[1])
      assert.is_false(ok)
      assert.is_truthy(tostring(err):find(b[2], 1, true), tostring(err))
    end
    local ok, err = pcall(progress.check, { progress_interval = NAN }, "f")
    assert.is_false(ok)
    assert.matches("progress_interval", tostring(err))
    assert.is_table(progress.new{ on_progress = print, clock = clock, total = 10, interval = 0 })
  end)

  it("bulk.run refuses bad numbers before any work runs", function()
    local runs = 0
    local base = function()
      local open = bulk.opener({ "/a", "/b" })
      return { open = open, work = function() runs = runs + 1; return true end, policy = core.policy{},
        clock = fake_mod.new() }
    end
    for _, b in ipairs{ { "concurrency", INF }, { "concurrency", 0 }, { "concurrency", 1.5 },
        { "max_wait", NAN }, { "on_limit", "later" }, { "journal", 5 }, { "journal", "j\0" } } do
      local r = base()
      r[b[1]] = b[2]
      local ok, err = pcall(bulk.run, r)
      assert.is_false(ok, b[1])
      assert.is_truthy(tostring(err):find("bulk.run: field '" .. b[1] .. "'", 1, true), tostring(err))
    end
    assert.are.equal(0, runs)
    assert.are.equal(2, bulk.run(base()).done)
    assert.are.equal(2, runs)
  end)

  it("loop.gather refuses an infinite or fractional concurrency before running anything", function()
    local runs = 0
    local fns = { function() runs = runs + 1 end }
    for _, c in ipairs{ INF, NAN, 0, 2.5 } do
      local ok, err = pcall(loop.gather, fns, { concurrency = c })
      assert.is_false(ok)
      assert.matches("loop.gather: opts.concurrency", tostring(err))
    end
    assert.are.equal(0, runs)
    loop.gather(fns, { concurrency = 4 })
    assert.are.equal(1, runs)
  end)
end)

describe("caller input: the Redis-backed stores' constructors", function()
  -- a stand-in for a mediacdn.redis client that counts what would reach Redis
  local calls
  local redis = {
    eval = function() calls = calls + 1; return nil, "no" end,
    call = function() calls = calls + 1; return nil, "no" end,
    key = function(_, ...) return table.concat({ "t", ... }, ":") end,
    now = function() return 0 end, sleep = function() end, available = function() return true end,
  }
  before_each(function() calls = 0 end)

  local function refuses(mod, opts, want)
    local ok, err = pcall(require(mod).new, opts)
    assert.is_false(ok, want)
    assert.is_truthy(tostring(err):find(want, 1, true), tostring(err))
  end

  it("budget_store.new", function()
    local m, b = "mediacdn.shared.budget_store", { redis = redis, account = "acct" }
    local function with(k, v) local o = {} for kk, vv in pairs(b) do o[kk] = vv end o[k] = v return o end
    refuses(m, with("fleet_size", NAN), "budget_store.new: opts.fleet_size")
    refuses(m, with("fleet_size", INF), "opts.fleet_size")
    refuses(m, with("fleet_size", 2.5), "opts.fleet_size must be an integer")
    refuses(m, with("safety", 1), "opts.safety")
    refuses(m, with("burst", NAN), "opts.burst")
    refuses(m, with("slack", -1), "opts.slack")
    refuses(m, with("on_event", 5), "opts.on_event must be a function")
    assert.is_table(require(m).new(with("fleet_size", 4)))
    assert.are.equal(0, calls)
  end)

  it("token_store.new", function()
    local m = "mediacdn.shared.token_store"
    refuses(m, { redis = redis, lock_ttl = NAN }, "token_store.new: opts.lock_ttl")
    refuses(m, { redis = redis, lock_ttl = 0 }, "opts.lock_ttl")
    refuses(m, { redis = redis, refresh_ahead = 1.5 }, "opts.refresh_ahead")
    refuses(m, { redis = redis, cache = INF }, "opts.cache")
    refuses(m, { redis = redis, poll = -1 }, "opts.poll")
    refuses(m, { redis = redis, fallback = 5 }, "opts.fallback")
    assert.is_table(require(m).new{ redis = redis, lock_ttl = 0.2, cache = 0 })
    assert.are.equal(0, calls)
  end)

  it("journal.new", function()
    local m = "mediacdn.shared.journal"
    refuses(m, { redis = redis, job = "j", lease = NAN }, "journal.new: opts.lease")
    refuses(m, { redis = redis, job = "j", lease = INF }, "opts.lease")
    refuses(m, { redis = redis, job = "j", keep = -1 }, "journal.new: opts.keep")
    refuses(m, { redis = redis, job = "j", worker = "" }, "opts.worker")
    refuses(m, { redis = redis, job = "" }, "opts.job")
    assert.is_table(require(m).new{ redis = redis, job = "j", lease = 5 })
    assert.are.equal(0, calls)
  end)

  it("mediacdn.redis.new (the connection the stores use)", function()
    local mredis = require "mediacdn.redis"
    for _, b in ipairs{ { { timeout = INF }, "timeout" }, { { timeout = NAN }, "timeout" },
        { { port = 1e9 }, "port must be an integer" }, { { port = 1.5 }, "port" }, { { db = 0.5 }, "db" } } do
      local ok, err = pcall(mredis.new, b[1])
      assert.is_false(ok)
      assert.is_truthy(tostring(err):find("mediacdn.redis.new: " .. b[2], 1, true), tostring(err))
    end
    assert.is_table(mredis.new{ port = 6380, db = 2, timeout = 0.05 })
  end)

  it("policy.wrap", function()
    local p = require "mediacdn.shared.policy"
    assert.has_error(function() p.wrap(5, {}, { clock = fake_mod.new() }) end,
      "mediacdn.shared.policy.wrap: argument #1 must be a core.policy")
    assert.has_error(function() p.wrap(core.policy{}, 5, { clock = fake_mod.new() }) end,
      "mediacdn.shared.policy.wrap: argument #2 must be a budget store (mediacdn.shared.budget_store)")
  end)
end)

describe("caller input: the transports' new(opts)", function()
  it("curl and resty refuse what the binding would refuse at the first request", function()
    for _, name in ipairs{ "curl", "resty" } do
      local t = require("mediacdn.transport." .. name)
      for _, b in ipairs{ { { timeout = INF }, "opts.timeout" }, { { timeout = NAN }, "opts.timeout" },
          { { stall_timeout = -1 }, "opts.stall_timeout" }, { { max_body = 0 }, "opts.max_body" },
          { { max_body = NAN }, "opts.max_body" }, { { cainfo = "a\0b" }, "opts.cainfo" }, { 5, "opts must be a table" } } do
        local ok, err = pcall(t.new, b[1])
        assert.is_false(ok)
        assert.is_truthy(tostring(err):find(("transport.%s.new: %s"):format(name, b[2]), 1, true), tostring(err))
      end
    end
    assert.is_table(require("mediacdn.transport.curl").new{ timeout = 5, max_body = 1024 })
  end)
end)

describe("caller input: the binding's tus_upload and file_digest", function()
  -- mediacdn.tus checks its options first; the binding under it must not
  -- convert an out-of-range double to an integer either (undefined behaviour)
  it("core.tus_upload raises for out-of-range numbers, naming the option", function()
    local cases = {
      { { offset = 1e300 }, "option 'offset' must be an integer from 0 to" },
      { { offset = -1 }, "option 'offset' must be an integer from 0 to" },
      { { length = -2 }, "option 'length' must be an integer from -1 to" },
      { { chunk_size = 0 }, "option 'chunk_size' must be an integer from 1 to" },
      { { chunk_size = 1.5 }, "option 'chunk_size' must be an integer from 1 to" },
      { { max_failures = 1e30 }, "option 'max_failures' must be an integer from 0 to" },
      { { max_recreate = NAN }, "option 'max_recreate' must be an integer from -1 to" },
      { { seed = -INF }, "option 'seed' must be an integer from 0 to" },
      { { retry = { base = NAN } }, "tus_upload retry: option 'base' must be a number from 0 to" },
      { { retry = { cap = 1e300 } }, "tus_upload retry: option 'cap' must be a number from 0 to" },
      { { offset = "0" }, "option 'offset' must be a number" },
    }
    for _, c in ipairs(cases) do
      local cfg = { endpoint = "http://127.0.0.1:1/files", path = "/dev/null" }
      for k, v in pairs(c[1]) do cfg[k] = v end
      local ok, err = pcall(core.tus_upload, cfg)
      assert.is_false(ok)
      assert.is_truthy(tostring(err):find(c[2], 1, true), tostring(err))
    end
    local u = core.tus_upload{ endpoint = "http://127.0.0.1:1/files", path = "/dev/null",
      offset = 0, length = 0, chunk_size = 1, max_failures = 3, seed = 7, retry = { base = 0, cap = 1 } }
    assert.is_not_nil(u)
    u:close()
  end)

  it("core.file_digest refuses a range it cannot hold", function()
    for _, r in ipairs{ { 1e300, 1 }, { -1, 1 }, { 0, INF }, { 0, 0.5 }, { NAN, 1 } } do
      local ok, err = pcall(core.file_digest, "/dev/null", r[1], r[2])
      assert.is_false(ok)
      assert.is_truthy(tostring(err):find("an integer from 0 to 2^53", 1, true), tostring(err))
    end
  end)
end)

describe("caller input: the clients' option tables", function()
  it("sirv.new and sparevideos.new refuse an option they do not have, naming it", function()
    local sirv = require "mediacdn.sirv"
    local sv = require "mediacdn.sparevideos"
    local ok, err = pcall(sirv.new, { client_id = "a", client_secret = "b", bse_url = "http://127.0.0.1:1" })
    assert.is_false(ok)
    assert.matches("mediacdn.sirv.new: argument #1 has an unknown option 'bse_url' (known: ", tostring(err), 1, true)
    assert.matches("base_url", tostring(err), 1, true)
    ok, err = pcall(function() sirv.new{ client_id = "a", client_secret = "b", Timeout = 1 } end)
    assert.is_false(ok)
    assert.matches("caller_input_spec.lua:%d+: mediacdn.sirv.new: argument #1 has an unknown option 'Timeout'", tostring(err))
    ok, err = pcall(sv.new, { public_key = "a", private_key = "b", timout = 5 })
    assert.is_false(ok)
    assert.matches("sparevideos:new: argument #1 has an unknown option 'timout'", tostring(err), 1, true)
    -- every documented option, and the transport's own, are options
    assert.is_table(sirv.new{ client_id = "a", client_secret = "b", base_url = "http://127.0.0.1:1",
      token_ttl = 60, timeout = 5, connect_timeout = 1, stall_timeout = 5, transfer_timeout = 0,
      retry = { attempts = 2 }, rate_limit = "fail", max_wait = 10, pacing = false,
      on_event = function() end, transport = "curl", cainfo = "/etc/ssl/certs/ca-certificates.crt",
      alias = "acme", jwt_key = "k", max_body = 1000, keepalive_timeout = 5, pool_size = 4 })
    assert.is_table(sv.new{ public_key = "a", private_key = "b", base_url = "http://127.0.0.1:1",
      thumbnail_base = "http://127.0.0.1:1/t", ttl = { list = 60 }, poll_interval = 1, timeout = 5 })
  end)
end)
