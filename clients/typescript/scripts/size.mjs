// Print the bundle sizes (minified, and minified + gzip level 9) of the core and each module.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const files = ["aura-wire.js", "aura-wire-zstd.js", "zstd.wasm", "aura-wire-brotli.js"];
let total = 0;
for (const f of files) {
  const raw = readFileSync(new URL(`../dist/${f}`, import.meta.url));
  const gz = gzipSync(raw, { level: 9 }).length;
  total += gz;
  console.log(`${f.padEnd(22)} ${String(raw.length).padStart(8)} B min  ${String(gz).padStart(7)} B min+gzip`);
}
console.log(`${"total".padEnd(22)} ${" ".repeat(15)} ${String(total).padStart(7)} B min+gzip`);
