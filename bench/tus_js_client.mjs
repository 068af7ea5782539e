// bench/tus_js_client.mjs — the tus-js-client baseline for bench/tus.lua:
// uploads FILE to ENDPOINT with CHUNK-byte chunks from a file stream and prints
// "seconds <s> rss_kb <peak>". bench/tus.lua copies it next to the
// node_modules of the @tus/server install (spec/fixtures/tus/v1 or v2).
//   node .tus_js_client.mjs ENDPOINT FILE CHUNK
import fs from "node:fs";
const mod = await import("tus-js-client");
const Upload = mod.Upload || mod.default.Upload;
const [endpoint, file, chunk] = process.argv.slice(2);
const size = fs.statSync(file).size;
const t0 = process.hrtime.bigint();
await new Promise((resolve, reject) => {
  const up = new Upload(fs.createReadStream(file), {
    endpoint, uploadSize: size, chunkSize: Number(chunk), retryDelays: null,
    onSuccess: resolve, onError: reject,
  });
  up.start();
});
const s = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`seconds ${s.toFixed(3)} rss_kb ${Math.round(process.resourceUsage().maxRSS)}`);
