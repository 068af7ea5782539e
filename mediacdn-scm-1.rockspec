rockspec_format = "3.0"
package = "mediacdn"
version = "scm-1"
source = {
  url = "git+https://github.com/mediacdn/mediacdn.git",
}
description = {
  summary = "Sirv REST API and SpareVideos client for Lua 5.4, LuaJIT and OpenResty, on a C core",
  detailed = [[
A complete client for the Sirv REST API (every documented method, tokens,
retries, rate-limit budgets, streamed uploads/downloads, iterators over
readdir and search) on a sans-I/O C core that runs over blocking libcurl,
a curl-multi coroutine loop, and OpenResty cosockets.
]],
  license = "MIT",
  homepage = "https://github.com/mediacdn/mediacdn",
}
dependencies = {
  "lua >= 5.1",
  "argparse >= 0.7",       -- bin/mediacdn: the command line
  "luafilesystem >= 1.8",  -- bin/mediacdn: local trees, sizes, mtimes
}
external_dependencies = {
  -- curl/curl.h sits in the multiarch include dir on Debian; the compiler finds it
  CURL = { library = "curl" },
  CJSON = { header = "cjson/cJSON.h", library = "cjson" },
  OPENSSL = { header = "openssl/evp.h", library = "crypto" },
}
build = {
  type = "cmake",
  variables = {
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    CMAKE_BUILD_TYPE = "Release",
    LUA_INCDIR = "$(LUA_INCDIR)",
    INSTALL_CMOD = "$(LIBDIR)",
    INSTALL_LMOD = "$(LUADIR)",
    MC_WERROR = "OFF",
  },
  install = {
    bin = { mediacdn = "bin/mediacdn" },
  },
}
