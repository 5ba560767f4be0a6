// Client -> server frames: every message of the spec vectors (and edge cases) round-trips through
// the stateless encoder and this package's decoder, with and without a dictionary; never more
// than 2 bytes longer than the message (header and check byte, spec/wire-format.md §3).
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import * as lib from "../dist/aura-wire.js";
import { nodeIo, VECTORS } from "./node-io.mjs";

const enc = new TextEncoder();

async function messages() {
  const out = [new Uint8Array(0), enc.encode("a"), enc.encode("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), new Uint8Array(300).map((_, i) => (i * 7919) % 256)];
  for (const dir of ["wire", "templates"]) {
    for (const name of await nodeIo.list(dir)) {
      for (const m of (await nodeIo.json(`${dir}/${name}`)).messages ?? []) out.push("text" in m ? enc.encode(m.text) : lib.fromHex(m.hex));
    }
  }
  return out;
}

for (const dictName of [null, "dict-templates.aura"]) {
  test(`stateless frames round-trip (${dictName ?? "no dictionary"})`, async () => {
    const d = dictName ? await lib.Dictionary.fromBytes(new Uint8Array(await readFile(VECTORS + dictName))) : null;
    const dec = new lib.Decoder(d, { context: false });
    let brio = 0;
    for (const m of await messages()) {
      const f = lib.encodeStateless(m, false, d);
      if (f.length > m.length + 2) throw new Error("frame longer than message + 2");
      if (f[0] >> 6 !== 1) throw new Error("not a v2 data frame");
      if ((f[0] & 7) === 4) brio++;
      const got = dec.decode(f).data;
      if (got.length !== m.length || got.some((b, i) => b !== m[i])) throw new Error(`round trip differs for ${m.length}-byte message`);
    }
    if (brio < 10) throw new Error(`only ${brio} messages were BRIO-coded`);
  });
}

// Context frames (client -> server in context mode): the encoder mirrors the state the peer's
// context decoder commits, so a whole stream must decode in order, with and without a dictionary,
// a small window (history wraps), RAW and BRIO frames mixed, and sensitive frames interleaved.
for (const [dictName, window] of [[null, 8192], ["dict-templates.aura", 8192], ["dict-templates.aura", 64]]) {
  test(`context frames round-trip in order (${dictName ?? "no dictionary"}, window ${window})`, async () => {
    const d = dictName ? await lib.Dictionary.fromBytes(new Uint8Array(await readFile(VECTORS + dictName))) : null;
    const dec = new lib.Decoder(d, { context: true, window });
    const e = new lib.ContextEncoder(d, window);
    const all = await messages();
    const stream = [...all, ...all]; // the second pass finds the first in the history
    let brio = 0;
    let bytes = 0;
    let statelessBytes = 0;
    stream.forEach((m, i) => {
      const f = i % 17 === 5 ? lib.encodeStateless(m, false, null) : e.encode(m, false);
      if (i % 17 !== 5) {
        if (f.length > m.length + 2) throw new Error("frame longer than message + 2");
        if ((f[0] & 0x10) === 0) throw new Error("not a context frame");
        if ((f[0] & 7) === 4) brio++;
        bytes += f.length;
        statelessBytes += lib.encodeStateless(m, false, d).length;
      }
      const got = dec.decode(f).data;
      if (got.length !== m.length || got.some((b, k) => b !== m[k])) throw new Error(`round trip differs at message ${i} (${m.length} bytes)`);
    });
    if (brio < 10) throw new Error(`only ${brio} messages were BRIO-coded`);
    if (window > 1000 && bytes >= statelessBytes) throw new Error(`context frames (${bytes} B) not smaller than stateless (${statelessBytes} B)`);
  });
}
