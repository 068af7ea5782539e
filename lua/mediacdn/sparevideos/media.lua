--- SpareVideos thumbnails (unsigned, beside the API): the list of a file's
-- thumbnails and the URLs of exact, sized and default images (§4.9).
--   sv:thumbnails(code) -> { {key="720.05", height=720, seq=5, name=, selected=, url=}, ... }
--   sv:thumbnail_url(code, { name =, size =, cache_bust = })
local errors = require "mediacdn.errors"
local core = require "mediacdn.core"
local args = require "mediacdn.args"

local url_escape, json_decode = core.url_escape, core.json_decode
local type, tonumber, tostring, pairs = type, tonumber, tostring, pairs

return function(SV, M)
  local argcheck, check_code = M.argcheck, M.check_code

  --- The URL of a thumbnail. opts.name: an image file name (from sv:thumbnails);
  -- opts.size: pixels (height) to resize to; neither: the exact default image needs
  -- a size, so {size} alone gives the default (or selected) image at that size.
  -- opts.cache_bust: append ?t=<now> (after a thumbnail change, as the plugin does).
  function SV:thumbnail_url(code, opts)
    check_code("thumbnail_url", code)
    opts = args.options("sparevideos:thumbnail_url", 2, opts,
      { name = "string", size = "number", cache_bust = "boolean" })
    argcheck(opts.name == nil or (type(opts.name) == "string" and opts.name ~= ""), "thumbnail_url",
      "option 'name' must be a thumbnail file name")
    local size = opts.size
    args.number("sparevideos:thumbnail_url", "option 'size' (pixels)", size, 1, 65535, true, 0)
    argcheck(opts.name ~= nil or opts.size ~= nil, "thumbnail_url", "give a name (exact image) or a size (resized)")
    local base = self.thumbnail_base .. "/" .. url_escape(code)
    local url
    if opts.size then
      url = ("%s/%d/%s"):format(base, opts.size, opts.name and url_escape(opts.name) or "default.jpg")
    else
      url = base .. "/exact/" .. url_escape(opts.name)
    end
    if opts.cache_bust then url = url .. "?t=" .. tostring(math.floor(self.transport:now())) end
    return url
  end

  --- The thumbnails of a converted file, highest first. Each item: key ("720.05"),
  -- height, seq, name (pass it to update_file), selected (boolean), url (exact image).
  function SV:thumbnails(code)
    check_code("thumbnails", code)
    local path = "/thumbnail/" .. url_escape(code) .. "/json/list"
    local res, err = self:_get(self.thumbnail_base .. "/" .. url_escape(code) .. "/json/list", "thumbnails", path)
    if not res then return nil, err end
    local doc = json_decode(res.body or "")
    if type(doc) ~= "table" then
      return nil, errors.new{ kind = "protocol", service = "sparevideos", operation = "thumbnails",
        status = res.status, message = "the thumbnail list is not a JSON object" }
    end
    local list = {}
    for key, name in pairs(doc) do
      if type(key) == "string" and type(name) == "string" then
        local h, seq, sel = key:match("^(%d+)%.(%d+)(.*)$")
        if h then
          list[#list + 1] = { key = key:gsub("%.selected$", ""), height = tonumber(h), seq = tonumber(seq),
            name = name, selected = sel == ".selected",
            url = self.thumbnail_base .. "/" .. url_escape(code) .. "/exact/" .. url_escape(name) }
        end
      end
    end
    table.sort(list, function(a, b)
      if a.height ~= b.height then return a.height > b.height end
      return a.seq > b.seq
    end)
    return list
  end
end
