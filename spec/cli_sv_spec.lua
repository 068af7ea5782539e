-- mediacdn sv ... as a subprocess against the sandbox's SpareVideos: upload (file
-- and URL), convert and wait, ls, info, rm, and sign (checked against the API
-- reference's PHP-computed test vectors, and used against the sandbox).
local sandbox = require "helpers.sandbox"
local cli = require "helpers.cli"
local util = require "helpers.util"

local quote = util.shell_quote

-- the reference's demo keys (sparevideos-api.md §2.6, §2.7)
local DEMO = { SPAREVIDEOS_PUBLIC_KEY = "demo_public_key_1",
  SPAREVIDEOS_PRIVATE_KEY = "demo_private_key_0123456789abcdef" }

describe("mediacdn sv", function()
  local sb, dir, env
  setup(function()
    sb = sandbox.start{}
    dir = util.tmpdir("mc-cli-sv")
    env = { SPAREVIDEOS_BASE_URL = sb.url .. "/api/v1", SPAREVIDEOS_PUBLIC_KEY = "sandbox-public-key",
      SPAREVIDEOS_PRIVATE_KEY = "sandbox-private-key" }
  end)
  teardown(function()
    sb:stop()
    util.sh_ok("rm -rf " .. quote(dir))
  end)

  it("sign prints the reference's tokens byte for byte", function()
    local r = cli.run(nil, { "sv", "sign", "upload", "initiate", "--expires", "1700000000" }, { env = DEMO })
    assert.equal(0, r.rc, r.err)
    assert.equal("eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoidXBsb2FkIiwiYWN0aW9uIjoiaW5pdGlhdGUiLCJwdWJsaWNfa2V5IjoiZGVtb19w"
      .. "dWJsaWNfa2V5XzEiLCJleHBpcmVzIjoxNzAwMDAwMDAwfQ.6be6fe40130c61175aef3343bac3b73480dde90d1d48f1e077b8ba5688e6c75d\n",
      r.out)
    r = cli.run(nil, { "sv", "sign", "file", "get", "--file-code", "1488633857-11PYNC", "--expires", "1700000000",
      "-o", "json" }, { env = DEMO })
    assert.equal(0, r.rc, r.err)
    assert.equal("eyJhbGdvIjoic2hhMjU2IiwibWV0aG9kIjoiZmlsZSIsImFjdGlvbiI6ImdldCIsImZpbGVfY29kZSI6IjE0ODg2MzM4NTctMTFQ"
      .. "WU5DIiwicHVibGljX2tleSI6ImRlbW9fcHVibGljX2tleV8xIiwiZXhwaXJlcyI6MTcwMDAwMDAwMH0.e78e5d35d7d25d120d203883f37181"
      .. "2adec40ff99c2f71396c991ee133381fcf", r.json[1].token)
    assert.equal('{"algo":"sha256","method":"file","action":"get","file_code":"1488633857-11PYNC",'
      .. '"public_key":"demo_public_key_1","expires":1700000000}', r.json[1].payload)
    assert.not_matches(DEMO.SPAREVIDEOS_PRIVATE_KEY, r.out .. r.err, 1, true)
    r = cli.run(nil, { "sv", "sign", "files", "delete", "--codes", "1484846059-40SVCC,1484906398-ll6ssC",
      "--expires", "1700000000", "-o", "json" }, { env = DEMO })
    assert.equal('{"algo":"sha256","method":"files","action":"delete","public_key":"demo_public_key_1",'
      .. '"expires":1700000000,"codes":["1484846059-40SVCC","1484906398-ll6ssC"]}', r.json[1].payload)
    r = cli.run(nil, { "sv", "sign", "file", "get" }, { env = DEMO })
    assert.equal(2, r.rc)
    assert.matches("file get needs %-%-file%-code", r.err)
    r = cli.run(nil, { "sv", "sign", "file", "nope" }, { env = DEMO })
    assert.equal(2, r.rc)
    r = cli.run(nil, { "sv", "sign", "upload", "initiate" },
      { env = { SPAREVIDEOS_PUBLIC_KEY = false, SPAREVIDEOS_PRIVATE_KEY = false } })
    assert.equal(2, r.rc)
    assert.matches("no SpareVideos keys", r.err)
  end)

  it("uploads, converts and waits; info, ls and rm see the file; sign --url works against the API", function()
    cli.write(dir .. "/talk.mp4", ("\0\0\0\24ftypmp42"):rep(20000))
    local r = cli.run(sb, { "sv", "upload", dir .. "/talk.mp4", "--wait", "--mp4-only", "-o", "json" }, { env = env })
    assert.equal(0, r.rc, r.err)
    local up = r.json[1]
    assert.equal("upload", up.action)
    assert.equal("ok", up.status)
    assert.matches("^%d+%-%w+$", up.code)
    assert.is_table(up.streams)
    local code = up.code
    local pat = code:gsub("%p", "%%%0")
    r = cli.run(sb, { "sv", "info", code }, { env = env })
    assert.equal(0, r.rc, r.err)
    assert.matches("^" .. pat .. "\n  extension mp4\n", r.out)
    assert.matches("\n  mp4 %d+ +http://127%.0%.0%.1:%d+/", r.out)
    r = cli.run(sb, { "sv", "ls", "-l" }, { env = env })
    assert.equal(0, r.rc, r.err)
    assert.matches(pat .. " +mp4 +%S+ +ready", r.out)

    -- a token printed by sign, used by someone else's HTTP client
    r = cli.run(sb, { "sv", "sign", "files", "get", "--url", "-o", "json" }, { env = env })
    assert.equal(0, r.rc, r.err)
    local res = util.capture("curl -sS " .. quote(r.json[1].url))
    assert.matches('"status":"success"', res)
    assert.matches(code, res, 1, true)

    r = cli.run(sb, { "sv", "rm", code }, { env = env })
    assert.equal(0, r.rc, r.err)
    assert.equal("deleted 1 file(s)\n", r.out)
    r = cli.run(sb, { "sv", "ls" }, { env = env })
    assert.not_matches(code, r.out, 1, true)
  end)

  it("prints the code before asking for the conversion, and a URL upload too", function()
    cli.write(dir .. "/a.mp4", ("a"):rep(5000))
    local r = cli.run(sb, { "sv", "upload", dir .. "/a.mp4", "--convert" }, { env = env })
    assert.equal(0, r.rc, r.err)
    local code = r.out:match("^uploaded .-a%.mp4: code (%S+), asking for the conversion\n")
    assert.is_truthy(code, r.out)
    assert.matches("conversion asked for " .. code, r.out, 1, true)
    -- the sandbox's file server fetches from loopback (here: a file the sandbox serves)
    assert.equal(0, cli.run(sb, { "sirv", "cp", dir .. "/a.mp4", "sirv:/src/a.mp4" }).rc)
    r = cli.run(sb, { "sv", "upload", sb.url .. "/cdn/src/a.mp4", "-o", "json" }, { env = env })
    assert.equal(0, r.rc, r.err)
    assert.matches("^%d+%-%w+$", r.json[1].code)
  end)

  it("refuses a missing file with exit 2 and sends nothing; secrets stay out of -v", function()
    sb:reset_stats()
    local r = cli.run(sb, { "sv", "upload", dir .. "/none.mp4" }, { env = env })
    assert.equal(2, r.rc)
    assert.matches("no such local file", r.err)
    assert.equal(0, sb:stats().total or 0)
    r = cli.run(sb, { "-v", "sv", "ls" }, { env = env })
    assert.equal(0, r.rc, r.err)
    assert.matches("request files/get", r.err)
    assert.not_matches("sandbox-private-key", r.out .. r.err, 1, true)
    assert.not_matches("token=", r.out .. r.err, 1, true)
  end)
end)
