-- sandbox.config: runtime knobs. Read once from the environment that
-- bin/mediacdn-sandbox exports (nginx passes them through `env` directives),
-- changed later through POST /_sandbox/config.

local os_getenv, tonumber, io_open = os.getenv, tonumber, io.open

local config = {
  client_id = "sandbox-client-id",
  client_secret = "sandbox-client-secret",
  state_dir = "/tmp",
  persist = false,            -- true when --state DIR was given: index saved/loaded
  latency_ms = 0,             -- added to every /v2 and tus request
  scroll_ttl = 30,            -- seconds a scroll context lives between calls
  job_seconds = 2,            -- time until an async job (batch delete, zip) finishes
  window_seconds = 3600,      -- rate-limit window
  hourly_limit = nil,         -- --hourly-limit: rest:global, and the cap of every bucket
  token_clock_offset = 0,     -- seconds added to the clock when checking token expiry
  max_upload = 1024 * 1024 * 1024,  -- 1 GiB: larger bodies get 413
  max_json_body = 16 * 1024 * 1024,
  signing_key = nil,          -- per-process random HMAC key for tokens (set in init)
  -- SpareVideos (sandbox.sv)
  sv_public_key = "sandbox-public-key",    -- env SPAREVIDEOS_PUBLIC_KEY
  sv_private_key = "sandbox-private-key",  -- env SPAREVIDEOS_PRIVATE_KEY
  sv_convert_seconds = 2,     -- time from a conversion request until the streams are ready
  sv_page_size = 2000,        -- codes per page of /me/files
  sv_clock_offset = 0,        -- seconds the SpareVideos clock (expiry checks, Date header) is ahead
  sv_max_files = 0,           -- quota: initiate fails with 10006 beyond it (0 = none)
  sv_fetch_rate = 0,          -- bytes/s cap of remote_file fetches (0 = none), to watch progress
}

-- knobs POST /_sandbox/config may change, with their checks
config.runtime_knobs = {
  latency_ms = { min = 0, max = 600000 },
  scroll_ttl = { min = 0, max = 86400 },
  job_seconds = { min = 0, max = 3600 },
  token_clock_offset = { min = -31536000, max = 31536000 },
  window_seconds = { min = 1, max = 31536000 },
  sv_convert_seconds = { min = 0, max = 86400 },
  sv_page_size = { min = 1, max = 100000 },
  sv_clock_offset = { min = -31536000, max = 31536000 },
  sv_max_files = { min = 0, max = 100000000 },
  sv_fetch_rate = { min = 0, max = 1e12 },
}

local function random_bytes(n)
  local f = io_open("/dev/urandom", "rb")
  if f then
    local s = f:read(n)
    f:close()
    if s and #s == n then return s end
  end
  local t = {}
  for i = 1, n do t[i] = string.char(math.random(0, 255)) end
  return table.concat(t)
end

config.random_bytes = random_bytes

function config.load_env()
  config.client_id = os_getenv("SIRV_CLIENT_ID") or config.client_id
  config.client_secret = os_getenv("SIRV_CLIENT_SECRET") or config.client_secret
  if config.client_id == "" then config.client_id = "sandbox-client-id" end
  if config.client_secret == "" then config.client_secret = "sandbox-client-secret" end
  config.state_dir = os_getenv("MEDIACDN_SANDBOX_STATE") or config.state_dir
  config.persist = os_getenv("MEDIACDN_SANDBOX_PERSIST") == "1"
  config.latency_ms = tonumber(os_getenv("MEDIACDN_SANDBOX_LATENCY_MS") or "") or config.latency_ms
  config.window_seconds = tonumber(os_getenv("MEDIACDN_SANDBOX_WINDOW_SECONDS") or "") or config.window_seconds
  config.hourly_limit = tonumber(os_getenv("MEDIACDN_SANDBOX_HOURLY_LIMIT") or "")
  config.scroll_ttl = tonumber(os_getenv("MEDIACDN_SANDBOX_SCROLL_TTL") or "") or config.scroll_ttl
  config.job_seconds = tonumber(os_getenv("MEDIACDN_SANDBOX_JOB_SECONDS") or "") or config.job_seconds
  config.signing_key = random_bytes(32)
  local svp, svk = os_getenv("SPAREVIDEOS_PUBLIC_KEY"), os_getenv("SPAREVIDEOS_PRIVATE_KEY")
  if svp and svp ~= "" then config.sv_public_key = svp end
  if svk and svk ~= "" then config.sv_private_key = svk end
  config.sv_convert_seconds = tonumber(os_getenv("MEDIACDN_SANDBOX_SV_CONVERT_SECONDS") or "") or config.sv_convert_seconds
end

-- a view without secrets, for GET /_sandbox/config
function config.public()
  return {
    client_id = config.client_id,
    state_dir = config.state_dir,
    persist = config.persist,
    latency_ms = config.latency_ms,
    scroll_ttl = config.scroll_ttl,
    job_seconds = config.job_seconds,
    window_seconds = config.window_seconds,
    hourly_limit = config.hourly_limit,
    token_clock_offset = config.token_clock_offset,
    max_upload = config.max_upload,
    sv_public_key = config.sv_public_key,
    sv_convert_seconds = config.sv_convert_seconds,
    sv_page_size = config.sv_page_size,
    sv_clock_offset = config.sv_clock_offset,
    sv_max_files = config.sv_max_files,
    sv_fetch_rate = config.sv_fetch_rate,
  }
end

return config
