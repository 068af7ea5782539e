-- sandbox.digest: incremental SHA-1 / SHA-256 over the OpenSSL libcrypto that
-- nginx links (LuaJIT FFI), for the tus checksum extension (Upload-Checksum).
--
--   local d = digest.new("sha256")   -- nil for an unsupported algorithm
--   d:update(s) ... d:final() -> raw digest bytes (the context is freed)

local ffi = require "ffi"

local digest = {}

ffi.cdef [[
typedef struct evp_md_ctx_st EVP_MD_CTX;
EVP_MD_CTX *EVP_MD_CTX_new(void);
void EVP_MD_CTX_free(EVP_MD_CTX *ctx);
int EVP_DigestInit_ex(EVP_MD_CTX *ctx, const void *type, void *impl);
int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t cnt);
int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s);
const void *EVP_sha1(void);
]]
-- EVP_sha256 is declared by sandbox.jwt
require "sandbox.jwt"

local crypto
do
  local ok = pcall(function() return ffi.C.EVP_MD_CTX_new end)
  crypto = ok and ffi.C or ffi.load("libcrypto.so.3")
end

local out = ffi.new("unsigned char[64]")
local outlen = ffi.new("unsigned int[1]")

local D = {}
D.__index = D

digest.supported = { sha1 = true, sha256 = true }

function digest.new(algo)
  local md
  if algo == "sha1" then md = crypto.EVP_sha1()
  elseif algo == "sha256" then md = crypto.EVP_sha256()
  else return nil end
  local ctx = ffi.gc(crypto.EVP_MD_CTX_new(), crypto.EVP_MD_CTX_free)
  crypto.EVP_DigestInit_ex(ctx, md, nil)
  return setmetatable({ ctx = ctx }, D)
end

function D:update(s)
  crypto.EVP_DigestUpdate(self.ctx, s, #s)
end

function D:final()
  crypto.EVP_DigestFinal_ex(self.ctx, out, outlen)
  return ffi.string(out, outlen[0])
end

return digest
