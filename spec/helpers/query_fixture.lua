-- spec/helpers/query_fixture.lua: the docs the sandbox.query specs search and
-- sort (spec/sandbox_query_spec.lua, spec/sandbox_query_sort_spec.lua).
--   local docs = require("helpers.query_fixture").docs()   -- a fresh copy each call
local M = {}

-- Fixture docs, shaped like Sirv search `_source` objects.
function M.docs()
  return {
    { filename = "/REST API Examples/aurora.jpg", dirname = "/REST API Examples",
      basename = "aurora.jpg", extension = ".jpg", contentType = "image/jpeg", size = 201846,
      ctime = "2021-05-12T09:30:08.895Z", mtime = "2021-05-12T09:30:09.806Z", isDirectory = false,
      meta = { title = "Aurora borealis over Norway",
               description = "Green northern lights in the night sky",
               tags = { "sky", "Night", "summer sale" },
               approval = { approved = true, comment = "looks good" },
               product = { id = "p1", name = "Sky print", brand = "Nike", sku = "ABC-123" },
               width = 2500, height = 1667, format = "JPEG", duration = 0,
               EXIF = { Make = "Canon", Model = "Canon EOS 5D", Software = "Adobe Photoshop (Mac)",
                        ModifyDate = "2020-01-29T17:12:45Z" } } },
    { filename = "/REST API Examples/aurora-copy.jpg", dirname = "/REST API Examples",
      basename = "aurora-copy.jpg", extension = ".jpg", contentType = "image/webp", size = 201846,
      ctime = "2021-05-12T09:30:59.000Z", mtime = "2021-05-12T09:31:00.000Z", isDirectory = false,
      meta = { width = 2500, height = 1667, format = "WEBP", duration = 0,
               EXIF = { ModifyDate = "2020-01-29T17:12:45Z" } } },
    { filename = "/REST API Examples/img_001.png", dirname = "/REST API Examples",
      basename = "img_001.png", extension = ".png", contentType = "image/png", size = 1000,
      ctime = "2020-06-15T12:00:00.000Z", mtime = "2020-06-15T12:00:00.000Z", isDirectory = false,
      meta = { title = "Product shot", tags = { "product", "best*", 'say "hi"', "back\\slash" },
               approval = { approved = false }, width = 800, height = 600 } },
    { filename = "/REST API Examples/Sub/IMG_002.PNG", dirname = "/REST API Examples/Sub",
      basename = "IMG_002.PNG", extension = ".PNG", contentType = "image/png", size = 5000,
      ctime = "2020-12-31T23:59:59.999Z", mtime = "2020-12-31T23:59:59.999Z", isDirectory = false,
      meta = {} },
    { filename = "/.Trash/old.jpg", dirname = "/.Trash", basename = "old.jpg", extension = ".jpg",
      contentType = "image/jpeg", size = 300, ctime = "2019-01-01T00:00:00.000Z",
      mtime = "2019-01-01T00:00:00.000Z", isDirectory = false, meta = {} },
    { filename = "/REST API Examples", dirname = "/", basename = "REST API Examples", extension = "",
      contentType = "", size = 0, ctime = "2021-01-01T00:00:00.000Z",
      mtime = "2021-01-01T00:00:00.000Z", isDirectory = true, meta = {} },
    { filename = "/video/clip.mp4", dirname = "/video", basename = "clip.mp4", extension = ".mp4",
      contentType = "video/mp4", size = 12345678, ctime = "2021-05-10T00:00:00.000Z",
      mtime = "2021-05-10T00:00:00.000Z", isDirectory = false,
      meta = { duration = 12.5, width = 1920, height = 1080, title = "Café: crème brûlée",
               tags = { "c++", "(x)", "[y]", "a:b", "{z}", "q!", "w^2", "v~1", "sl/ash", "sp ace" } } },
  }
end

return M
