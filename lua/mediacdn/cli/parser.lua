--- mediacdn.cli.parser: the command line's grammar and help (argparse), with an
-- example in every command's help.
--
--   local p = parser.build()            -- an argparse parser
--   local ok, args = p:pparse(argv)     -- args.command, args.sirv_command, ...
--
-- Targets: args.command ("sirv" | "sv" | "configure"), args.sirv_command ("ls", "cp", ...),
-- args.sv_command ("upload", "ls", "info", "rm", "sign"),
-- args.meta_command ("get" | "set" | "export" | "import"). Global options (before or
-- after the command): --profile, --config, --output, --quiet, --verbose,
-- --no-progress, --on-limit.
local argparse = require "argparse"
local mediacdn = require "mediacdn"

local tonumber, ipairs = tonumber, ipairs

local M = {}

local GLOBAL_NOTE = "Global options (--profile, --output json, --quiet, --verbose, --on-limit ...): "
  .. "see mediacdn --help."

-- A command with a description and an epilog of examples.
local function command(parent, name, summary, description, examples)
  local c = parent:command(name, description)
  c:summary(summary)
  c:epilog("Examples:\n" .. examples .. "\n\n" .. GLOBAL_NOTE)
  c:help_max_width(100)
  return c
end

local function transfers_option(c)
  c:option("--transfers", "How many files move at once.", "4"):argname("N"):convert(tonumber)
end

local function resumable_option(c)
  c:option("--resumable-above", "Upload files of at least SIZE through tus: resumable after Ctrl-C or a cut "
    .. "connection (Sirv's flow; files over 300 MiB always go that way).", "64M"):argname("SIZE")
end

local function exclude_option(c)
  c:option("--exclude", "Leave out files matching GLOB (repeatable): * ** ? [..] {a,b}; "
    .. "/GLOB is anchored at the top, GLOB/ names folders."):argname("GLOB"):count("*")
end

local function add_sirv(root)
  local sirv = root:command("sirv", "Work with a Sirv account: files, folders, sync, metadata, limits.")
  sirv:summary("Sirv: ls, stat, cp, sync, rm, mv, mkdir, search, meta, limits, url")
  sirv:command_target("sirv_command")
  sirv:help_max_width(100)
  sirv:epilog("Sirv paths start with / (or sirv:/); anything else is a local path (file:PATH forces\n"
    .. "local). Credentials: env SIRV_CLIENT_ID, SIRV_CLIENT_SECRET (SIRV_BASE_URL for a sandbox)\n"
    .. "or a profile (mediacdn configure). Run mediacdn sirv COMMAND --help for examples.")

  local ls = command(sirv, "ls", "List a folder",
    "List a Sirv folder (or show one file). -l adds type, size and modification time; -R walks sub-folders.",
    "  mediacdn sirv ls /products\n  mediacdn sirv ls -lR /products\n  mediacdn sirv ls -o json / | jq .path")
  ls:flag("-l --long", "Long listing: type, size, modification time, name.")
  ls:flag("-R --recursive", "List sub-folders too (paths relative to PATH).")
  ls:argument("path", "The Sirv folder.", "/")

  local stat = command(sirv, "stat", "Show a file's or folder's information",
    "Show what Sirv knows of a file or folder: type, size, times, content type, image size.",
    "  mediacdn sirv stat /products/shoe.jpg\n  mediacdn sirv stat -o json /products/shoe.jpg")
  stat:argument("path", "The Sirv path."):args("+")

  local cp = command(sirv, "cp", "Copy files: upload, download or server-side",
    "Copy SRC to DST. A local SRC uploads, a Sirv SRC downloads (or copies on the server when DST\n"
      .. "is a Sirv path too). A file already the same at DST (same size, not modified since; or same\n"
      .. "content with --checksum) is skipped, so an interrupted cp -R finishes with the same command.\n"
      .. "With -R the contents of folder SRC go into folder DST. DST ending in / (or an existing\n"
      .. "folder) receives a file under its own name.",
    "  mediacdn sirv cp shoe.jpg /products/\n  mediacdn sirv cp /products/shoe.jpg ./shoe.jpg\n"
      .. "  mediacdn sirv cp -R ./photos /products/photos --transfers 8\n"
      .. "  mediacdn sirv cp /home/me/a.jpg sirv:/a.jpg     (a local absolute path faces sirv:)\n"
      .. "  mediacdn sirv cp /a.jpg /backup/a.jpg          (copied on the server)")
  cp:flag("-R --recursive", "Copy a folder with everything in it.")
  cp:flag("-I --ignore-times", "Copy every file, also those already the same.")
  cp:flag("--checksum", "Compare files of the same size by content (downloads the Sirv copy to compare).")
  cp:flag("--dry-run", "Show what would be copied; change nothing.")
  transfers_option(cp)
  resumable_option(cp)
  exclude_option(cp)
  cp:argument("src", "What to copy (a local or Sirv path).")
  cp:argument("dst", "Where to (a local or Sirv path).")

  local sync = command(sirv, "sync", "Make a folder the same as another",
    "Make DST the same as SRC, in either direction: transfer what is new or changed (by size and\n"
      .. "modification time, or by content with --checksum); --delete also removes from DST what SRC\n"
      .. "does not have (only when every transfer succeeded). Run it again and it transfers nothing;\n"
      .. "stopped by Ctrl-C or the rate limit, the same command finishes the rest.",
    "  mediacdn sirv sync ./site/images /images\n  mediacdn sirv sync /images ./backup --delete\n"
      .. "  mediacdn sirv sync ./photos /photos --dry-run\n"
      .. "  mediacdn sirv sync ./photos /photos --exclude '*.tmp' --exclude 'raw/**' --transfers 8")
  sync:flag("--delete", "Delete files and folders in DST that SRC does not have.")
  sync:flag("--checksum", "Compare files of the same size by content (downloads the Sirv copy to compare).")
  sync:flag("--dry-run", "List what would change; send nothing that changes anything.")
  transfers_option(sync)
  resumable_option(sync)
  exclude_option(sync)
  sync:argument("src", "The folder to copy from (local or Sirv).")
  sync:argument("dst", "The folder to make the same (local or Sirv).")

  local rm = command(sirv, "rm", "Delete files or folders",
    "Delete Sirv files, or empty folders; -R deletes a folder with everything in it.",
    "  mediacdn sirv rm /products/old.jpg /products/older.jpg\n  mediacdn sirv rm -R /tmp-uploads")
  rm:flag("-R --recursive", "Delete folders with their contents.")
  rm:flag("--dry-run", "List what would be deleted; delete nothing.")
  transfers_option(rm)
  rm:argument("paths", "Sirv paths."):args("+")

  local mv = command(sirv, "mv", "Move or rename a file or folder",
    "Rename SRC to DST on Sirv; when DST is an existing folder (or ends in /), SRC moves into it.",
    "  mediacdn sirv mv /a.jpg /b.jpg\n  mediacdn sirv mv /a.jpg /archive/")
  mv:argument("src", "The Sirv path to move.")
  mv:argument("dst", "The new Sirv path, or a folder.")

  local mkdir = command(sirv, "mkdir", "Create folders",
    "Create Sirv folders (missing parents too). -p: a folder that exists is not an error.",
    "  mediacdn sirv mkdir /products/2024\n  mediacdn sirv mkdir -p /a /b")
  mkdir:flag("-p --parents", "No error when a folder exists.")
  mkdir:argument("paths", "Sirv folders."):args("+")

  local search = command(sirv, "search", "Search files",
    "Search the account (Sirv's query syntax: Lucene / Elasticsearch query_string); prints paths,\n"
      .. "or with -l size, modification time and path. All hits are listed (paging past 1000 by scroll).",
    "  mediacdn sirv search 'extension:.jpg AND size:>1000000'\n"
      .. "  mediacdn sirv search 'dirname:\\/products' --sort mtime:desc --limit 20 -l\n"
      .. "  mediacdn sirv search 'meta.tags:sale' -o json")
  search:argument("query", "The query.")
  search:flag("-l --long", "Size, modification time and path.")
  search:option("--sort", "Sort by FIELD (filename.raw, mtime, size, ...), :asc or :desc.")
    :argname("FIELD[:asc|desc]")
  search:option("--limit", "Stop after N hits."):argname("N"):convert(tonumber)

  local limits = command(sirv, "limits", "Show the hourly API budgets",
    "Show every hourly API budget of the account: limit, used, remaining and when it resets.",
    "  mediacdn sirv limits\n  mediacdn sirv limits -o json")
  limits:flag("-a --all", "Also the budgets not used in this window.")

  local url = command(sirv, "url", "Print an image URL (resize, crop, format, srcset, signed)",
    "Print the Sirv URL of an image with dynamic-imaging options (NAME=VALUE: w=300, format=webp,\n"
      .. "crop.type=face, text=Sale, ...; checked, escaped and sorted by mediacdn.sirv.url), a srcset,\n"
      .. "or a protected URL signed locally (--sign; the key from SIRV_JWT_KEY or the profile).\n"
      .. "Nothing is sent. The base: --alias, --base, SIRV_ALIAS / SIRV_CDN_BASE or the profile.",
    "  mediacdn sirv url /products/shoe.jpg w=300 format=webp --alias acme\n"
      .. "  mediacdn sirv url '/a b.jpg' crop.type=face crop.aspectratio=1:1 w=400 --base https://img.example.com\n"
      .. "  mediacdn sirv url /hero.jpg format=webp --srcset 320,640,1280 --alias acme\n"
      .. "  SIRV_JWT_KEY=... mediacdn sirv url /private/a.jpg w=300 --sign --expires-in 600 --alias acme")
  url:argument("path", "The image's Sirv path.")
  url:argument("options", "Sirv options as NAME=VALUE."):args("*")
  url:option("--alias", "The account alias: https://ALIAS.sirv.com."):argname("NAME")
  url:option("--base", "The image base URL (a custom domain)."):argname("URL")
  url:option("--srcset", "Print a srcset with these widths."):argname("W1,W2,...")
  url:option("--dpr", "Print a srcset with these pixel ratios (needs w= or h=)."):argname("1,2,...")
  url:flag("--sign", "A protected URL: a JWT signed locally with the folder's key.")
  url:option("--expires-in", "How long a signed URL is valid.", "300"):argname("SECONDS"):convert(tonumber)
  url:flag("--no-strict", "Pass unknown option names and words through (options Sirv added later).")
  url:flag("--path-encoded", "PATH is already percent-encoded.")

  M.add_meta(sirv)
  return sirv
end

--- `mediacdn sirv meta ...`
function M.add_meta(sirv)
  local meta = sirv:command("meta", "Read and write editorial metadata: title, description, tags, product, approval.")
  meta:summary("Metadata: get, set, export, import")
  meta:command_target("meta_command")
  meta:help_max_width(100)
  meta:epilog("Run mediacdn sirv meta COMMAND --help for examples.")

  local get = command(meta, "get", "Show a file's metadata",
    "Show a file's title, description, tags, product and approval.",
    "  mediacdn sirv meta get /products/shoe.jpg\n  mediacdn sirv meta get -o json /a.jpg /b.jpg")
  get:argument("paths", "Sirv files."):args("+")

  local set = command(meta, "set", "Change metadata of files, folders or search hits",
    "Change metadata: fields you name are set, tags can be added or removed (idempotent). PATHs\n"
      .. "are files; with -R every file under the PATH folders; with --query every search hit.\n"
      .. "Many files go N at a time; --journal FILE records finished files so that a re-run (after\n"
      .. "Ctrl-C or the rate limit) skips them; --dry-run shows the changes and sends none.",
    "  mediacdn sirv meta set /a.jpg --title 'Red shoe' --add-tag sale --add-tag red\n"
      .. "  mediacdn sirv meta set -R /products/2024 --add-tag 2024 --journal tag.journal\n"
      .. "  mediacdn sirv meta set --query 'extension:.png' --remove-tag draft --dry-run\n"
      .. "  mediacdn sirv meta set /a.jpg --approved yes --comment 'ok by legal'")
  set:argument("paths", "Sirv files (folders with -R)."):args("*")
  set:flag("-R --recursive", "PATHs are folders: every file below them.")
  set:option("--query", "Every hit of this search instead of PATHs."):argname("QUERY")
  set:option("--title", "Set the title.")
  set:option("--description", "Set the description.")
  set:option("--tags", "Replace all tags (comma-separated; '' removes all)."):argname("T1,T2")
  set:option("--add-tag", "Add a tag (repeatable)."):argname("TAG"):count("*")
  set:option("--remove-tag", "Remove a tag (repeatable)."):argname("TAG"):count("*")
  set:option("--approved", "Set the approval flag."):choices{ "yes", "no" }
  set:option("--comment", "The approval comment (with --approved).")
  for _, f in ipairs{ "id", "name", "brand", "category1", "category2" } do
    set:option("--product-" .. f, "Set the product's " .. f .. ".")
  end
  set:option("--journal", "Record finished files in FILE; a re-run skips them."):argname("FILE")
  set:flag("--dry-run", "Show what would change; send no change.")
  transfers_option(set)

  local export = command(meta, "export", "Write metadata of a folder or search to CSV or JSON",
    "Write the metadata of every file in a folder (-R: and below) or of every search hit to FILE\n"
      .. "(CSV or JSON lines, by extension or --format; - is stdout). Edit it and import it back.",
    "  mediacdn sirv meta export /products products.csv -R\n"
      .. "  mediacdn sirv meta export --query 'meta.tags:sale' - --format json")
  export:argument("source", "A Sirv folder (omit with --query)."):args("?")
  export:argument("file", "The file to write, or - for stdout.")
  export:flag("-R --recursive", "Also the folders below.")
  export:option("--query", "Export the hits of this search."):argname("QUERY")
  export:option("--format", "csv or json (default: by the file's extension, else csv).")
    :choices{ "csv", "json" }

  local import = command(meta, "import", "Apply metadata from a CSV or JSON file",
    "Apply a file written by export (or by hand): for each row, only the fields that differ are\n"
      .. "sent. --dry-run prints the differences and sends nothing; --journal makes a re-run skip\n"
      .. "the rows already done.",
    "  mediacdn sirv meta import products.csv --dry-run\n"
      .. "  mediacdn sirv meta import products.csv --journal import.journal")
  import:argument("file", "The CSV or JSON file.")
  import:option("--format", "csv or json (default: by the file's extension, else csv)."):choices{ "csv", "json" }
  import:option("--journal", "Record finished rows in FILE; a re-run skips them."):argname("FILE")
  import:flag("--dry-run", "Show the differences; send nothing.")
  transfers_option(import)
end

--- `mediacdn sv ...` (SpareVideos)
function M.add_sv(root)
  local sv = root:command("sv", "Work with a SpareVideos account: upload, convert, list, info, delete, sign.")
  sv:summary("SpareVideos: upload, ls, info, rm, sign")
  sv:command_target("sv_command")
  sv:help_max_width(100)
  sv:epilog("Keys: env SPAREVIDEOS_PUBLIC_KEY, SPAREVIDEOS_PRIVATE_KEY (SPAREVIDEOS_BASE_URL, with /api/v1,\n"
    .. "for a sandbox) or a profile (mediacdn configure). Run mediacdn sv COMMAND --help for examples.")

  local up = command(sv, "upload", "Upload videos (files or URLs), optionally convert and wait",
    "Upload local files (streamed) or have SpareVideos fetch URLs; each file's code is printed as\n"
      .. "soon as it is stored (keep it: the conversion is what is billed). --convert asks for the\n"
      .. "conversion; --wait also waits until the streams are ready and prints them.",
    "  mediacdn sv upload talk.mp4\n  mediacdn sv upload https://example.com/clip.mp4 --convert\n"
      .. "  mediacdn sv upload a.mp4 b.mp4 --wait --mp4-only -o json")
  up:argument("sources", "Local video files or http(s) URLs."):args("+")
  up:flag("--convert", "Ask for the conversion after the upload.")
  up:flag("--wait", "Convert and wait until the streams are ready (implies --convert).")
  up:flag("--sd-only", "Convert to SD only.")
  up:flag("--mp4-only", "Convert to MP4 only.")
  up:option("--timeout", "Give up waiting after this long.", "1800"):argname("SECONDS"):convert(tonumber)
  up:option("--transfers", "How many uploads run at once.", "2"):argname("N"):convert(tonumber)

  local ls = command(sv, "ls", "List the account's files",
    "List every file code of the account (all pages); -l also shows extension, playtime and state.",
    "  mediacdn sv ls\n  mediacdn sv ls -l\n  mediacdn sv ls -o json | jq -r .code")
  ls:flag("-l --long", "Extension, playtime and whether the streams are ready (one request per file).")

  local info = command(sv, "info", "Show files: streams, playtime, thumbnail",
    "Show each file's extension, playtime, thumbnail and stream URLs (HLS, DASH, MP4, WebM).",
    "  mediacdn sv info 1488633857-11PYNC\n  mediacdn sv info -o json 1488633857-11PYNC")
  info:argument("codes", "File codes."):args("+")

  local rm = command(sv, "rm", "Delete files",
    "Delete files by code (in batches of 100).",
    "  mediacdn sv rm 1488633857-11PYNC 1484846059-40SVCC")
  rm:argument("codes", "File codes."):args("+")

  local sign = command(sv, "sign", "Print a signed request token (for backends)",
    "Print the token of a signed SpareVideos call, made with your keys and nothing sent: e.g. an\n"
      .. "upload slot for a browser (upload initiate). Calls: upload initiate, upload convert, file get,\n"
      .. "file update, files get, files delete. Default lifetime: 3600 s for upload initiate, 120 s for\n"
      .. "files delete, 60 s for files get, 30 s for the rest. --url prints the whole request.",
    "  mediacdn sv sign upload initiate\n  mediacdn sv sign file get --file-code 1488633857-11PYNC --url\n"
      .. "  mediacdn sv sign upload convert --file-code C --mp4-only --expires-in 300 -o json")
  sign:argument("method", "upload, file or files.")
  sign:argument("action", "initiate, convert, get, update or delete.")
  sign:option("--file-code", "The file code (convert, file get, file update)."):argname("CODE")
  sign:option("--thumbnail", "The thumbnail file name (file update)."):argname("NAME")
  sign:option("--codes", "File codes (files delete)."):argname("C1,C2")
  sign:flag("--sd-only", "convert_sd_only (upload convert).")
  sign:flag("--mp4-only", "convert_mp4_only (upload convert).")
  sign:option("--expires-in", "Lifetime in seconds (default by call)."):argname("SECONDS"):convert(tonumber)
  sign:option("--expires", "An absolute expiry (epoch seconds) instead."):argname("EPOCH"):convert(tonumber)
  sign:flag("--url", "Print the HTTP method and the request URL with the token.")
  return sv
end

local function add_configure(root)
  local c = command(root, "configure", "Write credentials to a profile",
    "Ask for credentials and write them to the profile file (~/.config/mediacdn/config, or --config),\n"
      .. "private to you (mode 0600). Enter keeps a value as it is. Secrets are not echoed or printed.\n"
      .. "Reads answers from stdin line by line when it is not a terminal.",
    "  mediacdn configure\n  mediacdn configure --profile staging\n"
      .. "  printf '%s\\n' \"$ID\" \"$SECRET\" '' | mediacdn configure --profile ci")
  return c
end

--- The whole grammar.
function M.build()
  local root = argparse("mediacdn",
    "Command line for Sirv (files, sync, metadata, limits, image URLs) and SpareVideos.")
  root:command_target("command")
  root:help_max_width(100)
  root:help_description_margin(32)
  root:epilog("Exit codes: 0 success, 1 some items failed (each listed), 2 usage error (nothing was sent),\n"
    .. "3 stopped at the hourly rate limit, 130 interrupted (Ctrl-C; run the same command again).\n\n"
    .. "Examples:\n  mediacdn configure\n  mediacdn sirv ls -l /\n  mediacdn sirv sync ./images /images\n"
    .. "  mediacdn sirv limits\n  mediacdn sv upload talk.mp4 --wait\n\n"
    .. "Run mediacdn COMMAND --help (e.g. mediacdn sirv sync --help) for more.")
  root:option("--profile", "Use this profile of the profile file (env MEDIACDN_PROFILE)."):argname("NAME")
  root:option("--config", "The profile file (env MEDIACDN_CONFIG; default ~/.config/mediacdn/config).")
    :argname("FILE")
  root:option("-o --output", "text, or json: one JSON object per result (for scripts)."):argname("FORMAT")
    :choices{ "text", "json" }:default("text")
  root:flag("-q --quiet", "Print errors only.")
  root:flag("-v --verbose", "Also print each request, response, retry and wait (never a secret).")
  root:flag("--no-progress", "No live progress display, even on a terminal.")
  root:option("--on-limit", "At the hourly rate limit: stop (exit 3; run again after the reset) or wait.")
    :argname("stop|wait"):choices{ "stop", "wait" }:default("stop")
  root:flag("--version", "Print the version and exit."):action(function()
    print("mediacdn " .. mediacdn.version)
    os.exit(0)
  end)
  add_sirv(root)
  M.add_sv(root)
  add_configure(root)
  return root
end

return M
