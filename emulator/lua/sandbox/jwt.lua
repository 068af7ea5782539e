-- sandbox.jwt: HS256 JSON Web Tokens (sign / verify) with HMAC-SHA256 from the
-- OpenSSL libcrypto that nginx is linked against (through the LuaJIT FFI).

local ffi = require "ffi"
local json = require "sandbox.json"
local util = require "sandbox.util"

local type, pcall = type, pcall

local jwt = {}

ffi.cdef [[
unsigned char *HMAC(const void *evp_md, const void *key, int key_len,
                    const unsigned char *d, size_t n, unsigned char *md, unsigned int *md_len);
const void *EVP_sha256(void);
]]

local crypto
do
  local ok = pcall(function() return ffi.C.HMAC end)
  if ok then
    crypto = ffi.C
  else
    crypto = ffi.load("libcrypto.so.3")
  end
end

local md_buf = ffi.new("unsigned char[64]")
local md_len = ffi.new("unsigned int[1]")

function jwt.hmac_sha256(key, data)
  local r = crypto.HMAC(crypto.EVP_sha256(), key, #key, data, #data, md_buf, md_len)
  if r == nil then return nil end
  return ffi.string(md_buf, md_len[0])
end

local HEADER = util.b64url('{"alg":"HS256","typ":"JWT"}')

function jwt.sign(payload, key)
  local body = util.b64url(json.encode(payload))
  local input = HEADER .. "." .. body
  return input .. "." .. util.b64url(jwt.hmac_sha256(key, input))
end

-- constant-time-ish comparison
local function same(a, b)
  if #a ~= #b then return false end
  local diff = 0
  for i = 1, #a do
    if a:byte(i) ~= b:byte(i) then diff = diff + 1 end
  end
  return diff == 0
end

-- verify(token, key) -> payload | nil, reason ("malformed" | "signature")
-- (expiry is the caller's business: it knows the clock)
function jwt.verify(token, key)
  if type(token) ~= "string" then return nil, "malformed" end
  local h, b, s = token:match("^([%w%-_]+)%.([%w%-_]+)%.([%w%-_]+)$")
  if not h then return nil, "malformed" end
  local expect = util.b64url(jwt.hmac_sha256(key, h .. "." .. b))
  if not same(expect, s) then return nil, "signature" end
  local raw = util.b64url_decode(b)
  if not raw then return nil, "malformed" end
  local payload = json.decode(raw)
  if type(payload) ~= "table" then return nil, "malformed" end
  return payload
end

return jwt
