// bench/tus_js_client.mjs — the tus-js-client baseline of the tus row
// (bench/tus.lua): uploads FILE to ENDPOINT with CHUNK-byte chunks read from a
// file stream (no retries, no resume store) and prints
// "seconds=... mib_per_s=... maxrss_kb=... cpu_s=... version=..." on one line
// (cpu_s: user + system CPU time of the whole process).
// tus-js-client is loaded from MODDIR/node_modules: the @tus/server install
// that scripts/install-deps.sh makes (spec/fixtures/tus/v1 or v2, picked by
// scripts/tus-server-dir.sh; both locks pin tus-js-client 4.3.1, Node >= 18).
//   node bench/tus_js_client.mjs MODDIR ENDPOINT FILE CHUNK
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const [moddir, endpoint, file, chunk] = process.argv.slice(2);
if (!chunk) {
  console.error("usage: node bench/tus_js_client.mjs MODDIR ENDPOINT FILE CHUNK");
  process.exit(2);
}
const require = createRequire(path.resolve(moddir, "package.json"));
const { Upload } = require("tus-js-client");
const version = require("tus-js-client/package.json").version;
const size = fs.statSync(file).size;
const t0 = process.hrtime.bigint();
await new Promise((resolve, reject) => {
  const up = new Upload(fs.createReadStream(file), {
    endpoint, uploadSize: size, chunkSize: Number(chunk), retryDelays: null,
    storeFingerprintForResuming: false, onSuccess: resolve, onError: reject,
  });
  up.start();
});
const s = Number(process.hrtime.bigint() - t0) / 1e9;
// resourceUsage().maxRSS is in KiB
const cpu = process.cpuUsage();
console.log(`seconds=${s.toFixed(4)} mib_per_s=${(size / 1048576 / s).toFixed(1)} ` +
  `maxrss_kb=${process.resourceUsage().maxRSS} cpu_s=${((cpu.user + cpu.system) / 1e6).toFixed(3)} ` +
  `version=${version}`);
