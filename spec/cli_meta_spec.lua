-- mediacdn sirv meta get|set|export|import as a subprocess against the sandbox:
-- set on files, folders (-R) and searches, dry runs that send no change, the
-- journal that makes a re-run skip finished files, export and import round trip.
local sandbox = require "helpers.sandbox"
local cli = require "helpers.cli"
local util = require "helpers.util"

local quote = util.shell_quote

local function writes(sb)
  local n = 0
  for key, c in pairs(sb:stats().requests or {}) do
    if key:match("^POST /v2/files/meta") or key:match("^DELETE /v2/files/meta") then n = n + c end
  end
  return n
end

describe("mediacdn sirv meta", function()
  local sb, dir
  setup(function()
    sb = sandbox.start{}
    dir = util.tmpdir("mc-cli-meta")
    for i = 1, 6 do cli.write(("%s/m/p%d.txt"):format(dir, i), "p" .. i) end
    cli.write(dir .. "/m/sub/q.txt", "q")
    assert.equal(0, cli.run(sb, { "sirv", "sync", "./m", "/meta" }, { cwd = dir }).rc)
  end)
  teardown(function()
    sb:stop()
    util.sh_ok("rm -rf " .. quote(dir))
  end)

  it("sets fields and tags on files; get shows them; a second run changes nothing", function()
    local r = cli.run(sb, { "sirv", "meta", "set", "/meta/p1.txt", "/meta/p2.txt", "--title", "Red shoe",
      "--add-tag", "sale", "--add-tag", "red", "--approved", "yes", "--comment", "ok" })
    assert.equal(0, r.rc, r.err)
    assert.matches('changed /meta/p1.txt: title: "" %-> "Red shoe"; tags: %+"sale" %+"red"', r.out)
    assert.matches("meta set: 2 changed, 0 unchanged", r.out)
    r = cli.run(sb, { "sirv", "meta", "get", "/meta/p2.txt" })
    assert.matches("title +Red shoe", r.out)
    assert.matches("tags +sale, red", r.out)
    assert.matches("approval +approved %(ok%)", r.out)
    r = cli.run(sb, { "sirv", "meta", "get", "-o", "json", "/meta/p1.txt" })
    assert.same({ "sale", "red" }, r.json[1].tags)
    sb:reset_stats()
    r = cli.run(sb, { "sirv", "meta", "set", "/meta/p1.txt", "--title", "Red shoe", "--add-tag", "sale" })
    assert.equal(0, r.rc, r.err)
    assert.matches("meta set: 0 changed, 1 unchanged", r.out)
    assert.equal(0, writes(sb))
  end)

  it("-R with --dry-run sends no change; with --journal a re-run skips finished files", function()
    sb:reset_stats()
    local r = cli.run(sb, { "sirv", "meta", "set", "-R", "/meta", "--remove-tag", "red", "--add-tag", "2024",
      "--dry-run", "-o", "json" })
    assert.equal(0, r.rc, r.err)
    local dry = 0
    for _, o in ipairs(r.json) do if o.status == "dry-run" and o.changed then dry = dry + 1 end end
    assert.equal(7, dry)
    assert.equal(0, writes(sb))
    local journal = dir .. "/tag.journal"
    r = cli.run(sb, { "sirv", "meta", "set", "-R", "/meta", "--add-tag", "2024", "--journal", journal })
    assert.equal(0, r.rc, r.err)
    assert.matches("meta set: 7 changed", r.out)
    assert.equal(7, #util.read_lines(journal))
    sb:reset_stats()
    r = cli.run(sb, { "sirv", "meta", "set", "-R", "/meta", "--add-tag", "2024", "--journal", journal })
    assert.equal(0, r.rc, r.err)
    assert.matches("7 skipped %(done in an earlier run%)", r.out)
    assert.is_nil(sb:stats().requests["GET /v2/files/meta"])
  end)

  it("sets the hits of a search", function()
    local r = cli.run(sb, { "sirv", "meta", "set", "--query", "filename:\\/meta\\/sub*", "--description", "in sub" })
    assert.equal(0, r.rc, r.err)
    assert.matches("meta set: 1 changed", r.out)
    r = cli.run(sb, { "sirv", "meta", "get", "-o", "json", "/meta/sub/q.txt" })
    assert.equal("in sub", r.json[1].description)
  end)

  it("exports to CSV and imports an edited copy (dry run first)", function()
    local csv = dir .. "/meta.csv"
    local r = cli.run(sb, { "sirv", "meta", "export", "/meta", csv, "-R" })
    assert.equal(0, r.rc, r.err)
    assert.matches("meta export: 7 file%(s%) written", r.out)
    local text = util.read_file(csv)
    assert.matches("^path,title,description,tags", text)
    local edited = text:gsub("Red shoe", "Blue shoe")
    util.write_file(csv, edited)
    sb:reset_stats()
    r = cli.run(sb, { "sirv", "meta", "import", csv, "--dry-run" })
    assert.equal(0, r.rc, r.err)
    assert.matches('would change /meta/p1.txt: title: "Red shoe" %-> "Blue shoe"', r.out)
    assert.matches("meta import: 2 would change", r.out)
    assert.equal(0, writes(sb))
    r = cli.run(sb, { "sirv", "meta", "import", csv, "-o", "json" })
    assert.equal(0, r.rc, r.err)
    local changed = 0
    for _, o in ipairs(r.json) do if o.action == "meta" and o.changed then changed = changed + 1 end end
    assert.equal(2, changed)
    r = cli.run(sb, { "sirv", "meta", "get", "-o", "json", "/meta/p2.txt" })
    assert.equal("Blue shoe", r.json[1].title)
    r = cli.run(sb, { "sirv", "meta", "export", "/meta", "-", "--format", "json" })
    assert.equal(0, r.rc, r.err)
    assert.matches('"path":"/meta/p1.txt","title":"Blue shoe"', r.out, 1, true)
  end)
end)
