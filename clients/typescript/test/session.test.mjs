// The client session with the aura.decodes mask (spec/session.md §3.5): a STATE frame (method 6)
// needs no bit of its own, the mask applies to its inner frame; a frame whose method is outside
// the mask closes the connection with 1002.
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import * as lib from "../dist/aura-wire.js";
import { VECTORS } from "./node-io.mjs";

const session = JSON.parse(await readFile(VECTORS + "session/no_dictionary.json", "utf8"));
const hello = lib.fromHex(session.steps.find((s) => s.from === "server").frame);
const wire = JSON.parse(await readFile(VECTORS + "wire/state-around-raw.json", "utf8"));

function run(decodes) {
  const s = new lib.ClientSession({ context: true, decodes });
  s.receive(hello);
  const got = [];
  const closes = [];
  for (const f of wire.frames) {
    if (closes.length) break;
    s.receive(lib.fromHex(f));
    for (const e of s.events()) {
      if (e.type === "message") got.push(e.data);
      else if (e.type === "closed") closes.push(e.code);
    }
  }
  return { got, closes };
}

test("a STATE frame is accepted under a mask without bit 6 (RAW and TEMPLATE listed)", () => {
  const { got, closes } = run(0x3d);
  if (closes.length) throw new Error(`closed with ${closes}`);
  if (got.length !== 2 || got[0] !== wire.messages[0].text || got[1] !== wire.messages[1].text) throw new Error(`delivered ${JSON.stringify(got)}`);
});

test("a TEMPLATE frame outside the mask closes with 1002 (the STATE frame around RAW passed)", () => {
  const { got, closes } = run(0x01);
  if (got.length !== 1 || closes.length !== 1 || closes[0] !== 1002) throw new Error(`delivered ${got.length}, closes ${closes}`);
});
