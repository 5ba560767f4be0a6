/**
 * Client -> server frames (spec/wire-format.md §4.1, §4.5, §5.2-§5.4). Stateless (C = 0) frames
 * are valid at any point of the session (before HELLO, during a dictionary switch) and touch no
 * context state: BRIO with the dictionary's content and stateless models once this direction
 * switched to it (D = 1, check byte seeded by the dictionary), without before (D = 0, seed 0).
 * `ContextEncoder` codes context frames (C = 1) once HELLO says context mode: BRIO over K ++ the
 * direction's history with the models kept from frame to frame (spec/brio.md §6), mirroring the
 * state the server's decoder commits for every frame. RAW when BRIO is not shorter (a frame is
 * never more than 2 bytes longer than its message, §3). No I/O.
 */
import { BrioShared, defaultModels, repsOf } from "./brio.js";
import { encodeBrio, encodeBrioStateless } from "./brioenc.js";
import { EMPTY, History } from "./bytes.js";
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

/**
 * One connection's client -> server context encoder (spec/wire-format.md §5.2): every frame it
 * returns is a context frame the peer's decoder commits, so frames must be sent in the order
 * they were coded, each exactly once. The state mirrors what that decoder keeps for the methods
 * sent here (BRIO and RAW): the check value, the BRIO history of `window` bytes, the last three
 * message lengths (the initial reps) and the BRIO models, adapted by BRIO frames only. A new
 * encoder is fresh state: one per switch point (HELLO, the client's USE; spec/session.md §6.4).
 */
export class ContextEncoder {
  private readonly content: Uint8Array;
  private readonly dict: boolean;
  private models: Uint16Array;
  private readonly history: History;
  private readonly lens = [0, 0, 0];
  private check: number;

  constructor(dictionary: Dictionary | null, window: number) {
    const shared = dictionary !== null ? brioOf(dictionary) : null;
    this.dict = shared !== null;
    this.content = shared !== null ? shared.content : EMPTY;
    this.models = shared !== null ? shared.context.slice() : defaultModels();
    this.history = new History(window);
    this.check = dictionarySeed(dictionary !== null ? dictionary.id : null);
  }

  encode(data: Uint8Array, text: boolean): Uint8Array {
    let out: Uint8Array | null = null;
    if (data.length > 0) {
      const h = packHeader(METHOD_BRIO, text, true, this.dict);
      const next = frameCheck(this.check, data, EMPTY, Uint8Array.of(h));
      const probs = this.models.slice();
      const payload = encodeBrio(data, this.content, this.history.view(), probs, repsOf(this.lens), next & 0xff);
      if (payload.length < data.length + 1) {
        out = new Uint8Array(payload.length + 1);
        out[0] = h;
        out.set(payload, 1);
        this.models = probs;
        this.check = next;
      }
    }
    if (out === null) {
      const h = packHeader(METHOD_RAW, text, true, false);
      this.check = frameCheck(this.check, data, EMPTY, Uint8Array.of(h));
      out = new Uint8Array(data.length + 2);
      out[0] = h;
      out.set(data, 1);
      out[data.length + 1] = this.check & 0xff;
    }
    // the commit of §5.2 rule 1, as the decoder makes it (spec/brio.md §6)
    this.lens[2] = this.lens[1]!;
    this.lens[1] = this.lens[0]!;
    this.lens[0] = data.length;
    this.history.append(data);
    return out;
  }
}
