-- the getFilesStat body the bench upstream answers (one line, no quotes to escape
-- for nginx's `return 200 '...'`); the same document bench_upstream.lua sends
return '{"size":12345,"mtime":"2024-01-01T00:00:00.000Z","ctime":"2024-01-01T00:00:00.000Z",'
  .. '"contentType":"image/jpeg","isDirectory":false,"meta":{"width":800,"height":600}}'
