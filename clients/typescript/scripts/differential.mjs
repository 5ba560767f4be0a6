// Differential fuzzing, TypeScript side: decode the mutated frames that fuzz/differential.py wrote with
// the reference's outcome for each, and list every frame where this decoder disagrees (another
// message, another error class, an error the reference did not raise or a non-AURA exception).
// Usage (after `npm run build`): node scripts/differential.mjs /tmp/aura-diff.json [--show 10]
import { readFile } from "node:fs/promises";
import * as lib from "../dist/aura-wire.js";
import { brotliModule } from "../dist/aura-wire-brotli.js";
import { loadZstd } from "../dist/aura-wire-zstd.js";

const args = process.argv.slice(2);
const show = args.includes("--show") ? Number(args[args.indexOf("--show") + 1]) : 10;
const doc = JSON.parse(await readFile(args[0], "utf8"));
const zstd = await loadZstd(new Uint8Array(await readFile(new URL("../dist/zstd.wasm", import.meta.url))));
const codecs = { zstd, brotli: brotliModule };
const dict = await lib.Dictionary.fromBytes(lib.fromHex(doc.dictionary));

function outcome(dec, frame) {
  try {
    const m = dec.decodeMessage(frame);
    return typeof m === "string" ? ["text", m] : ["binary", lib.hex(m)];
  } catch (e) {
    if (!(e instanceof lib.AuraError)) return ["crash", `${e && e.name}: ${e && e.message}`];
    return ["error", e.name];
  }
}

let frames = 0;
const diffs = [];
const kinds = new Map();
for (const [i, c] of doc.cases.entries()) {
  const dec = new lib.Decoder(c.dictionary ? dict : null, { context: c.context, maxMessageSize: doc.max_message_size, codecs });
  c.frames.forEach((h, j) => {
    frames++;
    const got = outcome(dec, lib.fromHex(h));
    const want = c.outcomes[j];
    if (got[0] !== want[0] || got[1] !== want[1]) {
      diffs.push({ input: i, frame: j, context: c.context, dictionary: c.dictionary, reference: want, typescript: got, hex: h });
      const key = `${want[0] === "error" ? want[1] : want[0]} -> ${got[0] === "error" || got[0] === "crash" ? got[1].split(":")[0] : got[0]}`;
      kinds.set(key, (kinds.get(key) ?? 0) + 1);
    }
  });
}
console.log(`${doc.cases.length} inputs, ${frames} frames, ${diffs.length} disagreements`);
for (const [k, n] of [...kinds].sort((a, b) => b[1] - a[1])) console.log(`  ${n} x reference ${k} in TypeScript`);
for (const d of diffs.slice(0, show)) console.log(JSON.stringify(d).slice(0, 600));
process.exit(diffs.length > 0 ? 1 : 0);
