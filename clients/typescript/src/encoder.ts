/**
 * Client -> server frames (spec/wire-format.md §4.1, §4.5, §5.3): stateless (C = 0), so they are
 * valid at any point of the session (before HELLO, during a dictionary switch) and touch no
 * context state. BRIO with the dictionary's content and stateless models once this direction
 * switched to it (D = 1), without before (D = 0); RAW when BRIO is not shorter (a frame is never
 * more than 1 byte longer than its message, §3). No I/O.
 */
import { BrioShared, defaultModels } from "./brio.js";
import { encodeBrioStateless } from "./brioenc.js";
import { EMPTY } from "./bytes.js";
import { SECTION_BRIO_CONTENT, SECTION_BRIO_MODEL, type Dictionary } from "./dictionary.js";
import { FLAG_DICT, FLAG_TEXT, METHOD_BRIO, METHOD_RAW } from "./frame.js";

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

export function encodeStateless(data: Uint8Array, text: boolean, dictionary: Dictionary | null = null): Uint8Array {
  const t = text ? FLAG_TEXT : 0;
  if (data.length >= MIN_COMPRESSION_SIZE) {
    const shared = dictionary !== null ? brioOf(dictionary) : null;
    plainModels ??= defaultModels();
    const payload = shared !== null
      ? encodeBrioStateless(data, shared.content, shared.stateless)
      : encodeBrioStateless(data, EMPTY, plainModels);
    if (payload.length < data.length) {
      const out = new Uint8Array(payload.length + 1);
      out[0] = METHOD_BRIO | t | (shared !== null ? FLAG_DICT : 0);
      out.set(payload, 1);
      return out;
    }
  }
  const out = new Uint8Array(data.length + 1);
  out[0] = METHOD_RAW | t;
  out.set(data, 1);
  return out;
}
