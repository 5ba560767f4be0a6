/**
 * Client -> server frames (spec/wire-format.md §4.1, §4.5, §5.3, §5.4): stateless (C = 0), so they
 * are valid at any point of the session (before HELLO, during a dictionary switch) and touch no
 * context state. BRIO with the dictionary's content and stateless models once this direction
 * switched to it (D = 1, check byte seeded by the dictionary), without before (D = 0, seed 0);
 * RAW when BRIO is not shorter (a frame is never more than 2 bytes longer than its message, §3).
 * No I/O.
 */
import { BrioShared, defaultModels } from "./brio.js";
import { encodeBrioStateless } from "./brioenc.js";
import { EMPTY } from "./bytes.js";
import { SECTION_BRIO_CONTENT, SECTION_BRIO_MODEL, type Dictionary } from "./dictionary.js";
import { METHOD_BRIO, METHOD_RAW, dictionarySeed, frameCheck, packHeader } from "./frame.js";

const MIN_COMPRESSION_SIZE = 8;
let plainModels: Uint16Array | null = null;

function brioOf(d: Dictionary): BrioShared | null {
  let s = d.cache.get("encoder-brio") as BrioShared | null | undefined;
  if (s === undefined) {
    const content = d.section(SECTION_BRIO_CONTENT);
    const model = d.section(SECTION_BRIO_MODEL);
    s = content !== undefined && model !== undefined ? BrioShared.fromSections(content, model) : null;
    d.cache.set("encoder-brio", s);
  }
  return s;
}

function check(seed: number, data: Uint8Array, header: number): number {
  return frameCheck(seed, data, EMPTY, Uint8Array.of(header)) & 0xff;
}

export function encodeStateless(data: Uint8Array, text: boolean, dictionary: Dictionary | null = null): Uint8Array {
  if (data.length >= MIN_COMPRESSION_SIZE) {
    const shared = dictionary !== null ? brioOf(dictionary) : null;
    plainModels ??= defaultModels();
    const h = packHeader(METHOD_BRIO, text, false, shared !== null);
    const payload = shared !== null
      ? encodeBrioStateless(data, shared.content, shared.stateless, check(dictionarySeed(dictionary!.id), data, h))
      : encodeBrioStateless(data, EMPTY, plainModels, check(0, data, h));
    if (payload.length < data.length + 1) {
      const out = new Uint8Array(payload.length + 1);
      out[0] = h;
      out.set(payload, 1);
      return out;
    }
  }
  const h = packHeader(METHOD_RAW, text, false, false);
  const out = new Uint8Array(data.length + 2);
  out[0] = h;
  out.set(data, 1);
  out[data.length + 1] = check(0, data, h);
  return out;
}
