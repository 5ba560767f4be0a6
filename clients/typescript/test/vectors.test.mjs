// Every spec vector (spec/vectors/{wire,brio,templates}) through the bundled decoder, in Node.
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import * as lib from "../dist/aura-wire.js";
import { brotliModule } from "../dist/aura-wire-brotli.js";
import { loadZstd } from "../dist/aura-wire-zstd.js";
import { nodeIo } from "./node-io.mjs";
import { vectorCases } from "./vectors-lib.mjs";

const zstd = await loadZstd(new Uint8Array(await readFile(new URL("../dist/zstd.wasm", import.meta.url))));
const cases = await vectorCases(nodeIo, lib, { zstd, brotli: brotliModule });

test("vectors exist for every layer", () => {
  for (const layer of ["wire/", "brio/", "templates/", "dictionaries/"]) {
    if (!cases.some((c) => c.name.startsWith(layer))) throw new Error(`no ${layer} vectors found`);
  }
});

for (const c of cases) test(c.name, c.run);
