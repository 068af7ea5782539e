-- The mediacdn command line as a subprocess against the sandbox: help with
-- examples, bad input (one line, exit 2, nothing sent), ls/stat/mkdir/mv/rm/
-- search/limits in text and JSON, profiles and configure, secrets never printed.
local sandbox = require "helpers.sandbox"
local cli = require "helpers.cli"
local util = require "helpers.util"

local quote = util.shell_quote

local function lines_of(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

describe("mediacdn command line", function()
  local sb, dir
  setup(function()
    sb = sandbox.start{}
    dir = util.tmpdir("mc-cli")
  end)
  teardown(function()
    sb:stop()
    util.sh_ok("rm -rf " .. quote(dir))
  end)

  describe("help", function()
    it("explains every command with examples", function()
      local cmds = { {}, { "sirv" }, { "configure" } }
      for _, c in ipairs{ "ls", "stat", "cp", "sync", "rm", "mv", "mkdir", "search", "limits", "url" } do
        cmds[#cmds + 1] = { "sirv", c }
      end
      for _, c in ipairs{ "get", "set", "export", "import" } do cmds[#cmds + 1] = { "sirv", "meta", c } end
      cmds[#cmds + 1] = { "sv" }
      for _, c in ipairs{ "upload", "ls", "info", "rm", "sign" } do cmds[#cmds + 1] = { "sv", c } end
      for _, c in ipairs(cmds) do
        local args = {}
        for i, w in ipairs(c) do args[i] = w end
        args[#args + 1] = "--help"
        local r = cli.run(nil, args)
        local name = table.concat(c, " ")
        assert.equal(0, r.rc, name)
        assert.matches("^Usage: mediacdn", r.out, nil, name)
        if #c == 2 or #c == 3 and c[2] == "meta" then
          assert.matches("Examples:\n  mediacdn " .. table.concat(c, " "):gsub("%-", "%%-"), r.out)
        end
      end
      local r = cli.run(nil, { "--help" })
      assert.matches("Exit codes: 0 success, 1 some items failed", r.out, 1, true)
      assert.matches("sirv", r.out)
      r = cli.run(nil, { "--version" })
      assert.matches("^mediacdn %d+%.%d+%.%d+\n$", r.out)
      -- without MEDIACDN_LUA the sh part of bin/mediacdn picks an installed interpreter
      r = cli.run(nil, { "--version" }, { env = { MEDIACDN_LUA = false } })
      assert.equal(0, r.rc, r.err)
      assert.matches("^mediacdn %d+%.%d+%.%d+\n$", r.out)
      r = cli.run(nil, { "--version" }, { env = { MEDIACDN_LUA = false, PATH = "/nonexistent" } })
      assert.equal(2, r.rc)
      assert.matches("no Lua interpreter found", r.err)
    end)
  end)

  describe("bad input", function()
    local cases = {
      { { "sirv", "ls", "--bogus" }, "unknown option '%-%-bogus'" },
      { { "sirv", "ls", "photos" }, "is not a Sirv path: Sirv paths start with /" },
      { { "sirv", "cp", "./no-such-file.jpg", "/x.jpg" }, "no such local file or folder: %./no%-such%-file%.jpg" },
      { { "sirv", "sync", "sirv:/a", "sirv:/a/b" }, "overlap" },
      { { "sirv", "sync", "./x", "y" }, "neither %./x nor y is a Sirv path" },
      { { "sirv", "cp", "/a.jpg", "/b.jpg" }, "both /a%.jpg and /b%.jpg start with /" },
      { { "sirv", "sync", "sirv:a", "./x" }, "must start with /" },
      { { "sirv", "cp", "x", "/y", "--transfers", "0" }, "%-%-transfers" },
      { { "sirv", "sync", "x", "/y", "--exclude", "[oops" }, "unmatched %[" },
      { { "sirv" }, "a command is required" },
      { { "sirv", "meta", "set", "/a.jpg" }, "nothing to set" },
      { { "sirv", "rm", "/" }, "refusing to delete the root folder" },
    }
    it("ends with one line, exit code 2, and nothing sent", function()
      util.sh_ok("mkdir -p " .. quote(dir .. "/x"))
      sb:reset_stats()
      for _, c in ipairs(cases) do
        local r = cli.run(sb, c[1], { cwd = dir })
        local what = table.concat(c[1], " ")
        assert.equal(2, r.rc, what .. ": " .. r.err)
        assert.equal("", r.out, what)
        assert.equal(1, #lines_of(r.err), what .. ": " .. r.err)
        assert.matches("^mediacdn: ", r.err, nil, what)
        assert.matches(c[2], r.err, nil, what)
      end
      assert.equal(0, sb:stats().total or 0)
    end)

    it("refuses a profile file that others can read or that does not parse", function()
      local cfg = dir .. "/cfg/config"
      cli.write(cfg, "[default]\nsirv_client_id = " .. sb.client_id .. "\nsirv_client_secret = " .. sb.client_secret .. "\n")
      local env = { MEDIACDN_CONFIG = cfg, SIRV_CLIENT_ID = false, SIRV_CLIENT_SECRET = false }
      sb:reset_stats()
      util.sh_ok("chmod 644 " .. quote(cfg))
      local r = cli.run(sb, { "sirv", "ls", "/" }, { env = env })
      assert.equal(2, r.rc)
      assert.matches("is accessible by other users %(rw%-r%-%-r%-%-%): run chmod 600", r.err)
      util.sh_ok("chmod 600 " .. quote(cfg))
      cli.write(cfg, "[default]\nsirv_client_id: nope\n")
      util.sh_ok("chmod 600 " .. quote(cfg))
      r = cli.run(sb, { "sirv", "ls", "/" }, { env = env })
      assert.equal(2, r.rc)
      assert.matches("config:2: expected 'key = value' or '%[profile%]'", r.err)
      r = cli.run(sb, { "--profile", "staging", "sirv", "ls", "/" }, { env = { MEDIACDN_CONFIG = dir .. "/none" } })
      assert.equal(2, r.rc)
      assert.matches("no profile 'staging'", r.err)
      r = cli.run(sb, { "sirv", "ls", "/" }, { env = { MEDIACDN_CONFIG = dir .. "/none",
        SIRV_CLIENT_ID = false, SIRV_CLIENT_SECRET = false } })
      assert.equal(2, r.rc)
      assert.matches("no Sirv credentials: set SIRV_CLIENT_ID and SIRV_CLIENT_SECRET, or run mediacdn configure", r.err)
      assert.equal(0, sb:stats().total or 0)
    end)
  end)

  describe("profiles", function()
    it("configure writes a private profile that later commands use; --profile picks one", function()
      local cfg = dir .. "/conf/sub/config"
      local env = { MEDIACDN_CONFIG = cfg }
      local r = cli.run(sb, { "configure", "--profile", "sbx" }, { env = env,
        stdin = sb.client_id .. "\n" .. sb.client_secret .. "\n" .. sb.url .. "\n" })
      assert.equal(0, r.rc, r.err)
      assert.matches("wrote profile 'sbx'", r.out)
      assert.not_matches(sb.client_secret, r.out .. r.err, 1, true)
      assert.equal("-rw-------", util.capture("stat -c %A " .. quote(cfg)):match("%S+"))
      assert.equal("drwx------", util.capture("stat -c %A " .. quote(dir .. "/conf/sub")):match("%S+"))
      -- the environment has wrong credentials: the chosen profile wins
      r = cli.run(sb, { "--profile", "sbx", "sirv", "mkdir", "/from-profile" }, { env = { MEDIACDN_CONFIG = cfg,
        SIRV_CLIENT_ID = "wrong", SIRV_CLIENT_SECRET = "wrong-secret", SIRV_BASE_URL = false } })
      assert.equal(0, r.rc, r.err)
      -- Enter keeps values; the secret is shown only as [set]
      r = cli.run(sb, { "configure", "--profile", "sbx" }, { env = env, stdin = "\n\n\n" })
      assert.equal(0, r.rc, r.err)
      assert.matches("Sirv client secret %[set%]", r.err)
      assert.not_matches(sb.client_secret, r.out .. r.err, 1, true)
      assert.matches("sirv_client_secret = " .. sb.client_secret, util.read_file(cfg), 1, true)
    end)
  end)

  describe("commands", function()
    it("mkdir, cp, ls, stat, mv, rm in text and JSON", function()
      local r = cli.run(sb, { "sirv", "mkdir", "/cmds", "/cmds/sub" })
      assert.equal(0, r.rc, r.err)
      assert.equal("created /cmds\ncreated /cmds/sub\n", r.out)
      r = cli.run(sb, { "sirv", "mkdir", "/cmds" })
      assert.equal(1, r.rc)
      assert.matches("already exists", r.err)
      assert.equal(0, cli.run(sb, { "sirv", "mkdir", "-p", "/cmds" }).rc)
      cli.write(dir .. "/c/a.txt", "aaa")
      cli.write(dir .. "/c/b b.txt", "bbbbbb")
      assert.equal(0, cli.run(sb, { "sirv", "cp", "-R", "./c", "/cmds/sub" }, { cwd = dir }).rc)

      r = cli.run(sb, { "sirv", "ls", "/cmds/sub" })
      assert.equal("a.txt\nb b.txt\n", r.out)
      r = cli.run(sb, { "sirv", "ls", "-lR", "/cmds" })
      assert.equal(0, r.rc, r.err)
      assert.matches("d +%-  %d%d%d%d%-%d%d%-%d%d %d%d:%d%d  sub/\n", r.out)
      assert.matches("%- +6  [%d: -]+  sub/b b%.txt\n", r.out)
      r = cli.run(sb, { "sirv", "ls", "-R", "/cmds", "-o", "json" })
      assert.is_true(r.all_json)
      assert.equal(3, #r.json)
      assert.equal("/cmds/sub/a.txt", r.json[2].path)
      assert.equal(3, r.json[2].size)

      r = cli.run(sb, { "sirv", "stat", "/cmds/sub/b b.txt" })
      assert.matches("size      6 %(6 B%)", r.out)
      r = cli.run(sb, { "sirv", "stat", "-o", "json", "/cmds/sub/b b.txt", "/cmds/nope" })
      assert.equal(1, r.rc)
      assert.equal(6, r.json[1].size)
      assert.equal("failed", r.json[2].status)
      assert.equal("not_found", r.json[2].error.kind)

      r = cli.run(sb, { "sirv", "mv", "/cmds/sub/a.txt", "/cmds/" })
      assert.equal(0, r.rc, r.err)
      assert.equal("moved /cmds/sub/a.txt -> /cmds/a.txt\n", r.out)
      r = cli.run(sb, { "sirv", "rm", "/cmds/sub" })
      assert.equal(1, r.rc)
      assert.matches("is a folder that is not empty: use rm %-R", r.err)
      r = cli.run(sb, { "sirv", "rm", "-R", "--dry-run", "/cmds/sub" })
      assert.equal("would delete /cmds/sub/b b.txt\nwould remove folder /cmds/sub\n", r.out)
      r = cli.run(sb, { "sirv", "rm", "-R", "/cmds/sub", "/cmds/a.txt" })
      assert.equal(0, r.rc, r.err)
      assert.same({}, cli.remote_tree(sb, "/cmds"))
      r = cli.run(sb, { "sirv", "ls", "/cmds" })
      assert.equal("", r.out)
    end)

    it("search lists every hit (past one page), sorted and limited on request", function()
      sb:seed(150, "/seeded")
      local r = cli.run(sb, { "sirv", "search", "dirname:\\/seeded", "-o", "json" })
      assert.equal(0, r.rc, r.err)
      assert.equal(150, #r.json)
      r = cli.run(sb, { "sirv", "search", "dirname:\\/seeded", "--sort", "size:desc", "--limit", "5", "-l" })
      assert.equal(0, r.rc, r.err)
      local sizes = {}
      for size in r.out:gmatch("^ *(%d+)") do sizes[#sizes + 1] = tonumber(size) end
      for l in r.out:gmatch("[^\n]+") do sizes[#sizes + 1] = tonumber(l:match("^ *(%d+)")) end
      assert.equal(5, #sizes)
      for i = 2, 5 do assert.is_true(sizes[i - 1] >= sizes[i]) end
    end)

    it("limits shows the budgets as a table and as JSON", function()
      local r = cli.run(sb, { "sirv", "limits" })
      assert.equal(0, r.rc, r.err)
      assert.matches("^BUCKET +LIMIT +USED +REMAINING +RESETS\n", r.out)
      assert.matches("\nrest:global +7000 +%d+ +%d+ +", r.out)
      r = cli.run(sb, { "sirv", "limits", "--all", "-o", "json" })
      assert.is_true(r.all_json)
      local names = {}
      for _, o in ipairs(r.json) do names[o.bucket] = o end
      assert.equal(2000, names["rest:post:files:upload"].limit)
    end)
  end)

  describe("url", function()
    it("prints image URLs, srcsets and signed URLs without sending anything", function()
      sb:reset_stats()
      local r = cli.run(nil, { "sirv", "url", "/products/red shoe.jpg", "w=300", "format=webp", "crop.type=face",
        "--alias", "acme" })
      assert.equal(0, r.rc, r.err)
      assert.equal("https://acme.sirv.com/products/red%20shoe.jpg?crop.type=face&format=webp&w=300\n", r.out)
      r = cli.run(nil, { "sirv", "url", "/hero.jpg", "format=webp", "--srcset", "320,640", "-o", "json" },
        { env = { SIRV_CDN_BASE = "https://img.example.com" } })
      assert.equal(0, r.rc, r.err)
      assert.equal("https://img.example.com/hero.jpg?format=webp&w=320 320w, "
        .. "https://img.example.com/hero.jpg?format=webp&w=640 640w", r.json[1].srcset)
      r = cli.run(nil, { "sirv", "url", "/private/a.jpg", "w=300", "--sign", "--expires-in", "600", "--alias", "acme" },
        { env = { SIRV_JWT_KEY = "folder-key-0042" } })
      assert.equal(0, r.rc, r.err)
      local token = r.out:match("^https://acme%.sirv%.com/private/a%.jpg%?jwt=([%w_%-]+%.[%w_%-]+%.[%w_%-]+)\n$")
      assert.is_truthy(token, r.out)
      assert.not_matches("folder-key-0042", r.out .. r.err, 1, true)
      local payload = require("mediacdn.core").base64_decode((token:match("%.([^.]+)%."):gsub("-", "+"):gsub("_", "/")
        .. ("="):rep((4 - #token:match("%.([^.]+)%.") % 4) % 4)))
      local claims = require("cjson").decode(payload)
      assert.equal(300, claims.args.w)
      assert.equal(600, claims.exp - claims.iat)
      assert.equal(0, sb:stats().total or 0)
    end)
    it("refuses bad options and a missing base with exit 2", function()
      local r = cli.run(nil, { "sirv", "url", "/a.jpg", "q=300", "--alias", "acme" })
      assert.equal(2, r.rc)
      assert.equal("mediacdn: option 'q' must be between 0 and 100 (got 300)\n", r.err)
      r = cli.run(nil, { "sirv", "url", "/a.jpg", "bogus=1", "--alias", "acme" })
      assert.equal(2, r.rc)
      assert.matches("unknown option 'bogus' %(%-%-no%-strict passes", r.err)
      r = cli.run(nil, { "sirv", "url", "/a.jpg", "bogus=1", "--alias", "acme", "--no-strict" })
      assert.equal("https://acme.sirv.com/a.jpg?bogus=1\n", r.out)
      r = cli.run(nil, { "sirv", "url", "/a.jpg", "w=1" }, { env = { SIRV_ALIAS = false, SIRV_CDN_BASE = false } })
      assert.equal(2, r.rc)
      assert.matches("no image base", r.err)
      r = cli.run(nil, { "sirv", "url", "/a.jpg", "--sign", "--alias", "acme" }, { env = { SIRV_JWT_KEY = false } })
      assert.equal(2, r.rc)
      assert.matches("%-%-sign needs the protected folder's key", r.err)
    end)
  end)

  describe("secrets", function()
    it("are printed nowhere: not in --verbose, not in errors", function()
      local r = cli.run(sb, { "-v", "sirv", "ls", "/" })
      assert.equal(0, r.rc, r.err)
      assert.matches("request getFilesReaddir GET /v2/files/readdir", r.err)
      assert.matches("token fetch", r.err)
      assert.not_matches(sb.client_secret, r.out .. r.err, 1, true)
      assert.not_matches("Bearer", r.out .. r.err, 1, true)
      r = cli.run(sb, { "-v", "sirv", "ls", "/" }, { env = { SIRV_CLIENT_SECRET = "wrong-secret-4242" } })
      assert.equal(1, r.rc)
      assert.matches("credentials were rejected", r.err)
      assert.not_matches("wrong-secret-4242", r.out .. r.err, 1, true)
    end)
  end)
end)
