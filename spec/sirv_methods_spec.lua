-- One spec per documented Sirv method, through sirv:call against the sandbox,
-- plus the ergonomic wrappers. A method without a case here fails the suite.
local sandbox = require "helpers.sandbox"
local sirv_mod = require "mediacdn.sirv"
local mediacdn = require "mediacdn"

local ID, SECRET = "sandbox-client-id", "sandbox-client-secret"

describe("every Sirv method against the sandbox", function()
  local sb, c, ctx

  setup(function()
    sb = sandbox.start{}
    sb:control("POST", "/_sandbox/config", { job_seconds = 0.3 })
    c = sirv_mod.new{ base_url = sb.url, client_id = ID, client_secret = SECRET }
    ctx = {}
    assert(c:upload("/m/a.jpg", { data = string.rep("a", 1000) }))
    assert(c:upload("/m/b.jpg", { data = "bbbb" }))
    assert(c:upload("/m/v.mp4", { data = string.rep("v", 5000) }))
    assert(c:upload("/m/s.spin", { data = '{"layers":{}}' }))
    assert(c:upload("/m/del/x.txt", { data = "x" }))
  end)

  teardown(function() if sb then sb:stop() end end)

  local function ok(name, params)
    local r, err = c:call(name, params)
    assert.is_not_nil(r, name .. ": " .. tostring(err))
    return r
  end

  local CASES = {
    postToken = function()
      local r = ok("postToken", { clientId = ID, clientSecret = SECRET, expiresIn = 60 })
      assert.is_string(r.token); assert.are.equal(60, r.expiresIn)
    end,
    getAccount = function() assert.is_string(ok("getAccount").alias) end,
    postAccount = function() assert.is_true(ok("postAccount", { minify = { enabled = true } })) end,
    getAccountLimits = function() assert.is_table(ok("getAccountLimits")["rest:global"]) end,
    getAccountStorage = function() assert.is_number(ok("getAccountStorage").used) end,
    getAccountUsers = function()
      local users = ok("getAccountUsers")
      assert.is_true(#users >= 1)
      ctx.user = users[1].userId
    end,
    getBillingPlan = function() assert.is_table(ok("getBillingPlan")) end,
    postAccountEventsSearch = function()
      local evs = ok("postAccountEventsSearch", { level = "info" })
      assert.are.equal(mediacdn.array_mt, getmetatable(evs))
      ctx.event = evs[1] and evs[1]._id
    end,
    postAccountEventsSeen = function()
      assert.is_true(ok("postAccountEventsSeen", { ctx.event or "no-such-event" }))
    end,
    getUser = function()
      if not ctx.user then ctx.user = ok("getAccountUsers")[1].userId end
      assert.is_table(ok("getUser", { userId = ctx.user }))
    end,
    getStatsHttp = function() assert.is_table(ok("getStatsHttp", { from = "2024-01-01", to = "2024-01-03" })) end,
    getStatsSpinsViews = function() assert.is_table(ok("getStatsSpinsViews", { from = "2024-01-01", to = "2024-01-03" })) end,
    getStatsStorage = function() assert.is_table(ok("getStatsStorage", { from = "2024-01-01", to = "2024-01-03" })) end,
    getFilesReaddir = function()
      local r = ok("getFilesReaddir", { dirname = "/m" })
      assert.is_true(#r.contents >= 4)
    end,
    getFilesStat = function() assert.are.equal(1000, ok("getFilesStat", { filename = "/m/a.jpg" }).size) end,
    getFilesDownload = function() assert.are.equal("bbbb", ok("getFilesDownload", { filename = "/m/b.jpg" })) end,
    postFilesUpload = function()
      assert.is_true(ok("postFilesUpload", { filename = "/m/up load ü.txt", body = "hi", content_type = "text/plain" }))
      assert.are.equal("text/plain", c:stat("/m/up load ü.txt").contentType)
    end,
    postFilesMkdir = function()
      assert.is_true(ok("postFilesMkdir", { dirname = "/m/newdir" }))
      local r, err = c:call("postFilesMkdir", { dirname = "/m/newdir" })
      assert.is_nil(r); assert.are.equal("conflict", err.kind)
    end,
    postFilesCopy = function()
      assert.is_true(ok("postFilesCopy", { from = "/m/b.jpg", to = "/m/copy/b.jpg" }))
      assert.are.equal(4, c:stat("/m/copy/b.jpg").size)
    end,
    postFilesRename = function()
      assert.is_true(ok("postFilesRename", { from = "/m/copy/b.jpg", to = "/m/copy/c.jpg" }))
      local r, err = c:stat("/m/copy/b.jpg")
      assert.is_nil(r); assert.are.equal("not_found", err.kind)
    end,
    postFilesDelete = function()
      assert(c:upload("/m/gone.jpg", { data = "g" }))
      assert.is_true(ok("postFilesDelete", { filename = "/m/gone.jpg" }))
      local r, err = c:call("postFilesDelete", { filename = "/m/gone.jpg" })
      assert.is_nil(r); assert.are.equal(404, err.status)
    end,
    postFilesFetch = function()
      local r = ok("postFilesFetch", { { url = sb.url .. "/cdn/m/b.jpg", filename = "/m/fetched.jpg" },
        { url = "https://unreachable.invalid/x.jpg", filename = "/m/nope.jpg" } })
      assert.are.equal(2, #r)
      assert.is_boolean(r[1].success)
      assert.is_false(r[2].success)
    end,
    postFilesBatchDelete = function()
      local r = ok("postFilesBatchDelete", { filenames = { "/m/del/" } })
      ctx.batch = r.id; assert.is_string(r.id)
    end,
    getFilesBatchDelete = function()
      if not ctx.batch then ctx.batch = ok("postFilesBatchDelete", { filenames = { "/m/del/" } }).id end
      assert.is_table(ok("getFilesBatchDelete", { id = ctx.batch }))
      assert.is_table(c:wait_job("batch_delete", ctx.batch, { timeout = 20 }))
      local r, err = c:stat("/m/del/x.txt")
      assert.is_nil(r); assert.are.equal("not_found", err.kind)
    end,
    postFilesZip = function()
      local r = ok("postFilesZip", { filenames = { "/m/a.jpg", "/m/b.jpg" }, zipFilename = "two.zip" })
      ctx.zip = r.id; assert.is_string(r.id)
    end,
    getFilesZip = function()
      if not ctx.zip then ctx.zip = ok("postFilesZip", { filenames = { "/m/a.jpg" } }).id end
      assert.is_table(ok("getFilesZip", { id = ctx.zip }))
      local done = assert(c:wait_job("zip", ctx.zip, { timeout = 20 }))
      assert.are.equal(100, done.progress)
      assert.is_string(done.result[1].url)
    end,
    postFilesSearch = function()
      local r = ok("postFilesSearch", { query = "extension:.jpg AND dirname:\\/m", sort = { ["filename.raw"] = "asc" } })
      assert.is_true(r.total >= 2)
      assert.are.equal("/m/a.jpg", r.hits[1]._source.filename)
    end,
    postFilesSearchScroll = function()
      local first = ok("postFilesSearch", { query = "dirname:\\/m", scroll = true, size = 1 })
      assert.is_string(first.scrollId)
      local nxt = ok("postFilesSearchScroll", { scrollId = first.scrollId })
      assert.is_table(nxt.hits)
    end,
    getFilesMeta = function() assert.is_table(ok("getFilesMeta", { filename = "/m/a.jpg" })) end,
    postFilesMeta = function()
      assert.is_true(ok("postFilesMeta", { filename = "/m/a.jpg", title = "T", description = "D",
        tags = { "one", "two" }, approval = { approved = true } }))
      local m = c:meta("/m/a.jpg")
      assert.are.equal("T", m.title); assert.are.same({ "one", "two" }, { m.tags[1], m.tags[2] })
    end,
    getFilesMetaTitle = function() assert.is_table(ok("getFilesMetaTitle", { filename = "/m/a.jpg" })) end,
    postFilesMetaTitle = function()
      assert.is_true(ok("postFilesMetaTitle", { filename = "/m/a.jpg", title = "New title" }))
      assert.are.equal("New title", c:title("/m/a.jpg"))
    end,
    getFilesMetaDescription = function() assert.is_table(ok("getFilesMetaDescription", { filename = "/m/a.jpg" })) end,
    postFilesMetaDescription = function()
      assert.is_true(ok("postFilesMetaDescription", { filename = "/m/a.jpg", description = "Desc" }))
      assert.are.equal("Desc", c:description("/m/a.jpg"))
    end,
    getFilesMetaTags = function() assert.is_table(ok("getFilesMetaTags", { filename = "/m/a.jpg" })) end,
    postFilesMetaTags = function()
      assert.is_true(ok("postFilesMetaTags", { filename = "/m/b.jpg", tags = { "x", "y" } }))
      assert.is_true(c:add_tags("/m/b.jpg", { "x" })) -- idempotent
      assert.are.same({ "x", "y" }, c:tags("/m/b.jpg"))
    end,
    deleteFilesMetaTags = function()
      assert.is_true(ok("deleteFilesMetaTags", { filename = "/m/b.jpg", tags = { "x" } }))
      assert.is_true(c:remove_tags("/m/b.jpg", "not-there"))
      local tags = c:tags("/m/b.jpg")
      for _, t in ipairs(tags) do assert.are_not.equal("x", t) end
    end,
    getFilesMetaProduct = function() assert.is_table(ok("getFilesMetaProduct", { filename = "/m/a.jpg" })) end,
    postFilesMetaProduct = function()
      assert.is_true(ok("postFilesMetaProduct", { filename = "/m/a.jpg", id = "SKU-1", brand = "Acme" }))
      assert.are.equal("Acme", c:product("/m/a.jpg").brand)
    end,
    getFilesMetaApproval = function() assert.is_table(ok("getFilesMetaApproval", { filename = "/m/a.jpg" })) end,
    postFilesMetaApproval = function()
      assert.is_true(ok("postFilesMetaApproval", { filename = "/m/a.jpg", approved = false, comment = "no" }))
      assert.is_false(c:approval("/m/a.jpg").approved)
    end,
    getFilesOptions = function() assert.is_table(ok("getFilesOptions", { filename = "/m", withInherited = true })) end,
    postFilesOptions = function()
      assert.is_true(ok("postFilesOptions", { filename = "/m", scanSpins = false }))
      assert.is_false(c:options("/m").scanSpins)
    end,
    getFilesPoi = function() assert.is_table(ok("getFilesPoi", { filename = "/m/a.jpg" })) end,
    postFilesPoi = function()
      assert.is_true(ok("postFilesPoi", { filename = "/m/a.jpg", name = "face", x = 0.5, y = 0.5, width = 0.1, height = 0.1 }))
    end,
    deleteFilesPoi = function() assert.is_true(ok("deleteFilesPoi", { filename = "/m/a.jpg", name = "face" })) end,
    postFilesJwt = function()
      local r = ok("postFilesJwt", { filename = "/m/a.jpg", key = "k1", alias = "sandbox", expiresIn = 300 })
      assert.is_string(r.url)
    end,
    postFilesVideo2Spin = function()
      assert.is_table(ok("postFilesVideo2Spin", { filename = "/m/v.mp4", options = { frames = 16 } }))
    end,
    postFilesSpin2Video = function()
      assert.is_table(ok("postFilesSpin2Video", { filename = "/m/s.spin", options = { width = 640, height = 480 } }))
    end,
    postFilesSpin2Amazon360 = function() assert.is_table(ok("postFilesSpin2Amazon360", { filename = "/m/s.spin", asin = "B000" })) end,
    postFilesSpin2Grainger360 = function() assert.is_table(ok("postFilesSpin2Grainger360", { filename = "/m/s.spin", sku = "G1" })) end,
    postFilesSpin2Homedepot360 = function() assert.is_table(ok("postFilesSpin2Homedepot360", { filename = "/m/s.spin", omsid = "100000001" })) end,
    postFilesSpin2Lowes360 = function() assert.is_table(ok("postFilesSpin2Lowes360", { filename = "/m/s.spin", barcode = "123" })) end,
    postFilesSpin2Walmart360 = function() assert.is_table(ok("postFilesSpin2Walmart360", { filename = "/m/s.spin", gtin = "00012345678905" })) end,
    postUpload = function()
      local r = ok("postUpload", { headers = { ["Tus-Resumable"] = "1.0.0", ["Upload-Length"] = 5 },
        body = "12345", content_type = "application/offset+octet-stream" })
      assert.is_string(r.location)
      ctx.upload_id = r.location:match("([^/]+)$")
    end,
    postUploadToSirv = function()
      if not ctx.upload_id then
        ctx.upload_id = ok("postUpload", { headers = { ["Tus-Resumable"] = "1.0.0", ["Upload-Length"] = 5 },
          body = "12345", content_type = "application/offset+octet-stream" }).location:match("([^/]+)$")
      end
      assert.is_not_nil(ok("postUploadToSirv", { uploadId = ctx.upload_id, filename = "/m/tus.bin" }))
      assert.are.equal(5, c:stat("/m/tus.bin").size)
    end,
    postVideoToSpin = function()
      local up = ok("postUpload", { headers = { ["Tus-Resumable"] = "1.0.0", ["Upload-Length"] = 4 },
        body = "vvvv", content_type = "application/offset+octet-stream" })
      assert.is_not_nil(ok("postVideoToSpin", { uploadId = up.location:match("([^/]+)$"), spinDirname = "/m/spin" }))
    end,
    getFilesTusLocations = function() assert.is_table(ok("getFilesTusLocations")) end,
    getFilesTusUrl = function()
      local locs = ok("getFilesTusLocations")
      local first = locs[1] or (locs.locations and locs.locations[1])
      local id = type(first) == "table" and (first.id or first.name) or first or "us_washington"
      assert.is_string(ok("getFilesTusUrl", { location = id, expiresIn = 600 }).url)
    end,
    postAccountFetching = function() assert.is_not_nil(ok("postAccountFetching", { enabled = false })) end,
  }

  local names = {}
  for name in pairs(require("mediacdn.sirv.endpoints")) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    it(name, function()
      assert.is_function(CASES[name], "no sandbox spec for " .. name)
      CASES[name]()
    end)
  end

  it("the ergonomic wrappers round-trip", function()
    local dest = os.tmpname()
    assert.is_true(c:download("/m/a.jpg", dest))
    local f = assert(io.open(dest, "rb")); assert.are.equal(1000, #f:read("*a")); f:close()
    local h = assert(io.open(dest, "rb"))
    assert.is_true(c:upload("/m/from-handle.jpg", h)); h:close()
    assert.are.equal(1000, c:stat("/m/from-handle.jpg").size)
    local out = assert(io.open(dest, "wb"))
    assert.is_true(c:download("/m/b.jpg", out)); out:close()
    f = assert(io.open(dest, "rb")); assert.are.equal("bbbb", f:read("*a")); f:close()
    os.remove(dest)
    local missing, err = c:download("/m/none.jpg", dest)
    assert.is_nil(missing); assert.are.equal("not_found", err.kind)
    assert.is_nil(io.open(dest, "rb")) -- nothing left under the real name
    assert.is_nil(io.open(dest .. ".part", "rb"))
    local up, uerr = c:upload("/m/x.jpg", "/no/such/local/file")
    assert.is_nil(up); assert.are.equal("local", uerr.kind)
    assert.is_table(c:account()); assert.is_table(c:storage()); assert.is_table(c:users())
    assert.is_table(c:billing_plan()); assert.is_table(c:limits()); assert.is_table(c:budget("rest:global"))
    assert.is_table(c:stats("http")); assert.is_table(c:events_page{})
    assert.is_true(c:mkdir("/m/e")); assert.is_true(c:delete("/m/e"))
    assert.is_table(c:zip({ "/m/a.jpg" }, { wait = true, timeout = 20 }))
    assert.is_true(c:set_meta("/m/b.jpg", { title = "B" }))
    assert.is_true(c:set_title("/m/b.jpg", "B2")); assert.are.equal("B2", c:title("/m/b.jpg"))
    assert.is_true(c:set_description("/m/b.jpg", "d")); assert.is_true(c:set_product("/m/b.jpg", { name = "n" }))
    assert.is_true(c:set_approval("/m/b.jpg", true)); assert.is_table(c:poi("/m/a.jpg"))
    assert.is_table(c:jwt("/m/a.jpg", { key = "k", expiresIn = 60 }))
    assert.is_table(c:video_to_spin("/m/v.mp4")); assert.is_table(c:spin_to_video("/m/s.spin"))
    assert.is_table(c:fetch(sb.url .. "/cdn/m/b.jpg", "/m/f2.jpg"))
    assert.is_table(c:search_page{ query = "basename:a.jpg" })
  end)
end)
