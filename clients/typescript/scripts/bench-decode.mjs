// Decode benchmark (driven by benchmarks/ts_decode.py): `node scripts/bench-decode.mjs PASSES DIR...`;
// each DIR holds dict.bin, id.txt, aura.bin (frames) and msgs.bin (the messages), each a list of
// u32-LE-length-prefixed records. Every pass decodes the whole stream on a fresh decoder (context
// state starts empty) as AuraSocket does (frame to string), checks every message, and records
// the time per message.
import { readFileSync } from "node:fs";
import { join } from "node:path";
const { Decoder, Dictionary } = await import(process.env.AURA_BUNDLE ?? "../dist/aura-wire.js");

const { loadZstd } = await import("../dist/aura-wire-zstd.js");
const { brotliModule } = await import("../dist/aura-wire-brotli.js");
const codecs = { zstd: await loadZstd(new Uint8Array(readFileSync(new URL("../dist/zstd.wasm", import.meta.url)))), brotli: brotliModule };
const [passes, ...dirs] = process.argv.slice(2);
const td = new TextDecoder("utf-8", { fatal: true });

function unpack(buf) {
  const out = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let p = 0; p < buf.length;) {
    const n = dv.getUint32(p, true);
    out.push(buf.subarray(p + 4, p + 4 + n));
    p += 4 + n;
  }
  return out;
}

// CPU time of this process (a shared machine preempts it: wall time would count the others' work)
function run(dict, frames, want) {
  const dec = new Decoder(dict, { context: true, codecs });
  const t0 = process.cpuUsage();
  for (let i = 0; i < frames.length; i++) {
    const s = dec.decodeMessage(frames[i]);
    if (s !== want[i]) throw new Error(`message ${i} differs`);
  }
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / frames.length;
}

console.log(`Node ${process.version}, ${passes} passes per stream, CPU us per message: the first pass (cold JIT), the fastest of the others; setup: the dictionary's tables`);
console.log(`${"corpus".padEnd(22)} ${"msgs".padStart(5)} ${"bytes/msg".padStart(9)} ${"cold".padStart(7)} ${"warm".padStart(7)} ${"setup ms".padStart(8)}  methods`);
for (const dir of dirs) {
  const id = readFileSync(join(dir, "id.txt"), "utf8").trim();
  const dict = await Dictionary.fromBytes(new Uint8Array(readFileSync(join(dir, "dict.bin"))), id);
  const frames = unpack(readFileSync(join(dir, "aura.bin")));
  const msgs = unpack(readFileSync(join(dir, "msgs.bin")));
  const want = msgs.map((m) => td.decode(m));
  const methods = {};
  for (const f of frames) {
    const m = ["raw", "zstd", "brotli", "template", "brio", "tb", "state"][f[0] & 7];
    methods[m] = (methods[m] ?? 0) + 1;
  }
  const s0 = performance.now();
  new Decoder(dict, { context: true }); // the dictionary's shared tables, built once per dictionary
  const setup = performance.now() - s0;
  const t = [];
  for (let k = 0; k < Number(passes); k++) t.push(run(dict, frames, want));
  const size = msgs.reduce((s, m) => s + m.length, 0) / msgs.length;
  const name = dir.split("/").pop();
  console.log(`${name.padEnd(22)} ${String(frames.length).padStart(5)} ${size.toFixed(0).padStart(9)} ${t[0].toFixed(1).padStart(7)} ${Math.min(...t.slice(1)).toFixed(1).padStart(7)} ${setup.toFixed(1).padStart(8)}  ${JSON.stringify(methods)}`);
}
