// Mutation check of the vectors against this decoder: every mutant of scripts/mutants.mjs is
// applied to a copy of src/, bundled, and run against spec/vectors; killed = some vector fails.
//   node scripts/mutate.mjs [name ...]
import { build } from "esbuild";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { brotliModule } from "../dist/aura-wire-brotli.js";
import { loadZstd } from "../dist/aura-wire-zstd.js";
import { nodeIo } from "../test/node-io.mjs";
import { vectorCases } from "../test/vectors-lib.mjs";
import { MUTANTS } from "./mutants.mjs";

const SRC = new URL("../src/", import.meta.url).pathname;
const zstd = await loadZstd(new Uint8Array(readFileSync(new URL("../dist/zstd.wasm", import.meta.url))));
const codecs = { zstd, brotli: brotliModule };

function files(dir) {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
}

async function failures(bundle) {
  const lib = await import(pathToFileURL(bundle).href);
  let failed = 0;
  for (const c of await vectorCases(nodeIo, lib, codecs)) {
    try {
      await c.run();
    } catch {
      failed++;
    }
  }
  return failed;
}

const only = process.argv.slice(2);
const work = mkdtempSync(join(tmpdir(), "aura-mutate-"));
const results = [];
try {
  const base = join(work, "base.mjs");
  await build({ entryPoints: [join(SRC, "index.ts")], bundle: true, format: "esm", outfile: base, logLevel: "silent" });
  if ((await failures(base)) !== 0) throw new Error("the unmutated decoder fails vectors");
  for (const [name, old, neu] of MUTANTS) {
    if (only.length && !only.includes(name)) continue;
    const dir = join(work, name);
    cpSync(SRC, dir, { recursive: true });
    const hits = files(dir).filter((f) => readFileSync(f, "utf8").split(old).length === 2);
    const total = files(dir).reduce((n, f) => n + readFileSync(f, "utf8").split(old).length - 1, 0);
    if (hits.length !== 1 || total !== 1) {
      results.push([name, "stale"]);
      continue;
    }
    writeFileSync(hits[0], readFileSync(hits[0], "utf8").replace(old, neu));
    const out = join(work, `${name}.mjs`);
    await build({ entryPoints: [join(dir, "index.ts")], bundle: true, format: "esm", outfile: out, logLevel: "silent" });
    const f = await failures(out);
    results.push([name, f > 0 ? `killed (${f} vectors fail)` : "survived"]);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
for (const [n, r] of results) console.log(`${n.padEnd(40)} ${r}`);
const killed = results.filter(([, r]) => r.startsWith("killed")).length;
const run = results.filter(([, r]) => r !== "stale").length;
console.log(`killed ${killed} of ${run} (${((100 * killed) / Math.max(run, 1)).toFixed(1)} %), stale ${results.length - run}`);
