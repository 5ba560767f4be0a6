// Mutation check of the vectors against this decoder: every mutant of scripts/mutants.mjs is
// applied to a copy of src/, bundled (the core and the optional BROTLI module), and run against
// spec/vectors; killed = some vector fails.
//   node scripts/mutate.mjs [--json out.json] [name ...]
// Exit status 1 when a mutant's snippet is not found exactly once (the list must follow the code).
import { build } from "esbuild";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { loadZstd } from "../dist/aura-wire-zstd.js";
import { nodeIo } from "../test/node-io.mjs";
import { vectorCases } from "../test/vectors-lib.mjs";
import { MUTANTS } from "./mutants.mjs";

const SRC = new URL("../src/", import.meta.url).pathname;
const MODULES = new URL("../node_modules/", import.meta.url).pathname;
const zstd = await loadZstd(new Uint8Array(readFileSync(new URL("../dist/zstd.wasm", import.meta.url))));

function files(dir) {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
}

async function bundle(dir, out) {
  const opts = { bundle: true, format: "esm", logLevel: "silent" };
  await build({ ...opts, entryPoints: [join(dir, "index.ts")], outfile: `${out}.mjs` });
  await build({ ...opts, entryPoints: [join(dir, "brotli.ts")], outfile: `${out}-brotli.mjs` });
}

async function failures(out) {
  const lib = await import(pathToFileURL(`${out}.mjs`).href);
  const { brotliModule } = await import(pathToFileURL(`${out}-brotli.mjs`).href);
  let failed = 0;
  for (const c of await vectorCases(nodeIo, lib, { zstd, brotli: brotliModule })) {
    try {
      await c.run();
    } catch {
      failed++;
    }
  }
  return failed;
}

const args = process.argv.slice(2);
const jsonAt = args.indexOf("--json");
const jsonOut = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : null;
const only = args;
const unknown = only.filter((n) => !MUTANTS.some(([name]) => name === n));
if (unknown.length) throw new Error(`unknown mutant names: ${unknown.join(", ")}`);
const work = mkdtempSync(join(tmpdir(), "aura-mutate-"));
// src/brotli.ts imports ../node_modules/brotli/...: the copies resolve it through this link
symlinkSync(MODULES, join(work, "node_modules"));
const results = [];
try {
  const base = join(work, "src");
  cpSync(SRC, base, { recursive: true });
  await bundle(base, join(work, "base"));
  if ((await failures(join(work, "base"))) !== 0) throw new Error("the unmutated decoder fails vectors");
  for (const [name, old, neu] of MUTANTS) {
    if (only.length && !only.includes(name)) continue;
    const dir = join(work, name);
    cpSync(SRC, dir, { recursive: true });
    const hits = files(dir).filter((f) => readFileSync(f, "utf8").split(old).length === 2);
    const total = files(dir).reduce((n, f) => n + readFileSync(f, "utf8").split(old).length - 1, 0);
    if (hits.length !== 1 || total !== 1) {
      results.push({ name, status: "stale", detail: `snippet matches ${total} times in ${hits.length} files` });
      continue;
    }
    writeFileSync(hits[0], readFileSync(hits[0], "utf8").replace(old, neu));
    const out = join(work, name);
    await bundle(dir, out);
    const f = await failures(out);
    results.push({ name, status: f > 0 ? "killed" : "survived", failed: f });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
for (const r of results) console.log(`${r.name.padEnd(40)} ${r.status === "killed" ? `killed (${r.failed} vectors fail)` : r.status}`);
const killed = results.filter((r) => r.status === "killed").length;
const stale = results.filter((r) => r.status === "stale");
const run = results.length - stale.length;
console.log(`killed ${killed} of ${run} (${((100 * killed) / Math.max(run, 1)).toFixed(1)} %), stale ${stale.length}`);
for (const r of stale) console.log(`  STALE ${r.name}: ${r.detail}`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ killed, run, stale: stale.length, results }, null, 1));
process.exitCode = stale.length ? 1 : 0;
