// Every spec vector in headless Chromium: the page imports the same bundles and the same runner
// as the Node tests and reports each case; a case that fails in the browser fails here.
import { test } from "node:test";
import { haveChromium, launch } from "./chromium.mjs";
import { serveStatic } from "./static-server.mjs";

const PAGE = `<!doctype html><meta charset="utf-8"><title>aura-wire vectors</title>
<script type="module">
import * as lib from "/dist/aura-wire.js";
import { brotliModule } from "/dist/aura-wire-brotli.js";
import { loadZstd } from "/dist/aura-wire-zstd.js";
import { vectorCases } from "/test/vectors-lib.mjs";
const index = await (await fetch("/vectors/index.json")).json();
const io = {
  list: async (d) => index[d],
  json: async (p) => (await fetch("/vectors/" + p)).json(),
  bytes: async (p) => new Uint8Array(await (await fetch("/vectors/" + p)).arrayBuffer()),
};
const zstd = await loadZstd("/dist/zstd.wasm");
const results = [];
for (const c of await vectorCases(io, lib, { zstd, brotli: brotliModule })) {
  try { await c.run(); results.push({ name: c.name, ok: true }); }
  catch (e) { results.push({ name: c.name, ok: false, error: String(e && e.stack || e) }); }
}
window.__results = results;
</script>`;

if (!haveChromium()) throw new Error("headless Chromium not found at /usr/bin/chromium (apt-get install chromium)");
const http = await serveStatic({ "/vectors.html": PAGE });
const browser = await launch();
let results;
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${http.origin}/vectors.html`);
  await page.waitForFunction(() => window.__results !== undefined, null, { timeout: 120000 });
  results = await page.evaluate(() => window.__results);
  if (!results || results.length === 0) throw new Error(`the vector page produced no results: ${errors.join("; ")}`);
} finally {
  await browser.close();
  http.server.close();
}

test("Chromium ran the vectors of every layer", () => {
  for (const layer of ["wire/", "brio/", "templates/", "dictionaries/"]) {
    if (!results.some((r) => r.name.startsWith(layer))) throw new Error(`no ${layer} vectors ran`);
  }
});

for (const r of results) {
  test(`chromium ${r.name}`, () => {
    if (!r.ok) throw new Error(r.error);
  });
}
