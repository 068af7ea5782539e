-- luacheck configuration (scripts/lint.sh runs `luacheck` over lua/, emulator/,
-- bin/ (its Lua scripts), spec/, examples/, bench/ and tools/ with this file;
-- 0 warnings is the bar).
--
-- The library must run under Lua 5.4 and LuaJIT 2.1: code that reaches for a
-- version-specific global does it guardedly (`table.unpack or unpack`,
-- `rawget(_G, "jit")`), so the standard is the union of both ("max").
std = "max"
-- library code (lua/, bin/): 120 columns. Specs, the sandbox and the examples
-- hold long literal rows (request tables, expected documents, error texts
-- quoted from the services) that read better unbroken: 160 there.
max_line_length = 120
-- methods that implement an interface (transport:sleep, store:get, ...) need
-- not use self
self = false

-- code that runs inside nginx (lua-nginx-module): ngx is the host's global,
-- and ngx.status / ngx.header are assigned
files["emulator"] = { globals = { "ngx" }, read_globals = { "ndk" }, max_line_length = 160 }
files["examples"] = { max_line_length = 160 }
files["bench/fixtures"] = { globals = { "ngx" } }
files["examples/openresty"] = { globals = { "ngx" }, read_globals = { "ndk" } }

files["spec"] = { std = "+busted", max_line_length = 160 }
files["spec/fixtures"] = { std = "max", globals = { "ngx" }, read_globals = { "ndk" } }

-- signed-token test vectors, one token a line
files["spec/sparevideos_unit_spec.lua"] = { max_line_length = false }

-- generated from the endpoint reference by tools/ (data, one entry a line)
files["lua/mediacdn/sirv/endpoints.lua"] = { max_line_length = false }
