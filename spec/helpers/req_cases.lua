-- spec/helpers/req_cases.lua: malformed request descriptors and the message
-- each must raise. Every transport reads `req` through the same C reader
-- (mc_lua_read_request with the mc_http1 rules), so transport_curl_spec
-- (core.easy, core.multi) and http1_spec (core.http1.request, what the resty
-- transport calls) check the same list.
return {
  { { url = 1 }, "req.url must be a string" },
  { {}, "req.url must be a string" },
  { { url = "ftp://x/" }, "req.url must be an http" },
  { { url = "http://x/ y" }, "req.url must be a URL without spaces" },
  { { url = "http://user:pw@x/" }, "req.url must be a URL without credentials" },
  { { url = "http://x:99999/" }, "req.url must be a URL with a valid host and port" },
  { { url = "http://x/", method = 1 }, "req.method must be a string" },
  { { url = "http://x/", method = "GET X" }, "req.method must be an HTTP method" },
  { { url = "http://x/", headers = "x" }, "req.headers must be a table" },
  { { url = "http://x/", headers = { "a" } }, "req.headers must be a table with string keys" },
  { { url = "http://x/", headers = { ["Bad Name"] = "v" } }, "req.headers must be a table keyed" },
  { { url = "http://x/", headers = { X = {} } }, 'req.headers%["X"%] must be a string' },
  { { url = "http://x/", headers = { X = "a\r\nInjected: 1" } }, 'req.headers%["X"%] must be a string without CR' },
  { { url = "http://x/", headers = { X = "a\0b" } }, 'req.headers%["X"%] must be a string without CR' },
  { { url = "http://x/", body = 1 }, "req.body must be a string" },
  { { url = "http://x/", body_file = "f" }, "req.body_file must be a table" },
  { { url = "http://x/", body_file = {} }, "req.body_file.path must be a string" },
  { { url = "http://x/", body_file = { path = "f", offset = -1 } }, "req.body_file.offset must be" },
  { { url = "http://x/", body_file = { path = "f", length = 1.5 } }, "req.body_file.length must be" },
  { { url = "http://x/", body = "a", body_file = { path = "f" } }, "req.body_file must be absent" },
  { { url = "http://x/", sink = 1 }, "req.sink must be a string" },
  { { url = "http://x/", cainfo = true }, "req.cainfo must be a string" },
  { { url = "http://x/", timeout = "1" }, "req.timeout must be a number" },
  { { url = "http://x/", timeout = -1 }, "req.timeout must be a non%-negative" },
  { { url = "http://x/", connect_timeout = 0 / 0 }, "req.connect_timeout must be a non%-negative" },
  { { url = "http://x/", stall_timeout = {} }, "req.stall_timeout must be a number" },
  { { url = "http://x/", max_body = 0 }, "req.max_body must be a positive" },
  { { url = "http://x/", max_body = "1" }, "req.max_body must be a number" },
}
