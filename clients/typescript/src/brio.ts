/**
 * BRIO decoder (spec/brio.md): LZ77 over content block K ++ history ++ output, coded with an
 * adaptive binary range coder. `BrioDecoder` keeps one direction's context state (§6): history,
 * models and the last three message lengths. The check bits are the frame's check byte,
 * which the frame layer verifies (§7). No I/O.
 */
import { EMPTY, History } from "./bytes.js";
import { DictionaryFormatError, LimitError, PayloadError } from "./errors.js";

export const NPROBS = 1474;
const P_IS_MATCH = 0;
/** The zero bytes a decoder reads past the payload's end, at most (brio.md §2). */
const MAX_READ_PAST_END = 16;
const pastEnd = (n: number): PayloadError =>
  new PayloadError(`BRIO payload read more than ${MAX_READ_PAST_END} bytes past its end`, n, "brio.payload");
const P_IS_REP = 12;
const P_IS_REP0 = 24;
const P_IS_REP0_LONG = 36;
const P_IS_REP1 = 48;
const P_IS_REP2 = 60;
const P_LIT = 72;
const P_MLEN = 840;
const P_RLEN = 922;
const P_SLOT = 1004;
const P_SPEC = 1132;
const P_ALIGN = 1246;
const P_NLEN = 1262;
const P_NSUB = 1326;
const P_MLIT = 1458;
const TOP = 1 << 24;
const MAX_CONTENT = 1 << 20;

const LIT_CLASS = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  LIT_CLASS[b] = b >= 0x30 && b <= 0x39 ? 0 : (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ? 1 : 2;
}

export function defaultModels(): Uint16Array {
  return new Uint16Array(NPROBS).fill(2048);
}

/** Parse a model section (§4.2): `[stateless, context]` vectors. */
export function parseModelSection(model: Uint8Array, field = "brio-model"): [Uint16Array, Uint16Array] {
  if (model.length < 3) throw new DictionaryFormatError("BRIO model section too short", 0, field);
  if (model[0] !== 1) throw new DictionaryFormatError(`BRIO model version ${model[0]} not supported`, 0, `${field}.version`);
  const count = model[1]! | (model[2]! << 8);
  if (count !== NPROBS) throw new DictionaryFormatError(`BRIO model holds ${count} probabilities, expected ${NPROBS}`, 1, `${field}.count`);
  if (model.length !== 3 + 4 * NPROBS) throw new DictionaryFormatError("BRIO model section has the wrong length", model.length, field);
  const sets: Uint16Array[] = [];
  let pos = 3;
  for (let s = 0; s < 2; s++) {
    const v = new Uint16Array(NPROBS);
    for (let k = 0; k < NPROBS; k++) {
      const p = model[pos]! | (model[pos + 1]! << 8);
      if (p < 1 || p >= 4096) throw new DictionaryFormatError(`BRIO model probability ${p} out of range [1, 4095]`, pos, `${field}.prob`);
      v[k] = p;
      pos += 2;
    }
    sets.push(v);
  }
  return [sets[0]!, sets[1]!];
}

/** The dictionary's BRIO sections: content K and the two model vectors. */
export class BrioShared {
  constructor(
    readonly content: Uint8Array,
    readonly stateless: Uint16Array,
    readonly context: Uint16Array,
  ) {}

  static fromSections(content: Uint8Array, model: Uint8Array): BrioShared {
    if (content.length > MAX_CONTENT) throw new DictionaryFormatError(`BRIO content of ${content.length} bytes exceeds ${MAX_CONTENT}`, 0, "brio-content");
    const [s, c] = parseModelSection(model);
    return new BrioShared(content, s, c);
  }
}

/** Range decoder (§3); probabilities adapt in place in `p`. */
class RangeDecoder {
  pos = 0;
  range = 0xffffffff;
  code = 0;

  constructor(
    readonly data: Uint8Array,
    readonly p: Uint16Array,
  ) {
    for (let i = 0; i < 4; i++) this.code = this.code * 256 + this.byte();
    if (this.code >= this.range) throw new PayloadError("BRIO range coder: invalid initial code", 0, "brio.payload");
  }

  byte(): number {
    const pos = this.pos++;
    if (pos < this.data.length) return this.data[pos]!;
    if (pos >= this.data.length + MAX_READ_PAST_END) throw pastEnd(this.data.length);
    return 0;
  }

  bit(idx: number): number {
    const p = this.p[idx]!;
    const bound = (this.range >>> 12) * p;
    let b = 0;
    if (this.code < bound) {
      this.range = bound;
      this.p[idx] = p + ((4096 - p) >> 5);
    } else {
      this.code -= bound;
      this.range -= bound;
      this.p[idx] = p - (p >> 5);
      b = 1;
    }
    while (this.range < TOP) {
      this.range *= 256;
      this.code = this.code * 256 + this.byte();
    }
    return b;
  }

  direct(nbits: number): number {
    let v = 0;
    for (let k = 0; k < nbits; k++) {
      this.range = this.range >>> 1;
      let b = 0;
      if (this.code >= this.range) {
        this.code -= this.range;
        b = 1;
        if (this.code >= this.range) throw new PayloadError("BRIO range coder: corrupt direct bits", this.pos, "brio.payload");
      }
      v = v * 2 + b;
      while (this.range < TOP) {
        this.range *= 256;
        this.code = this.code * 256 + this.byte();
      }
    }
    return v;
  }

  tree(base: number, nbits: number): number {
    let m = 1;
    for (let k = 0; k < nbits; k++) m = (m << 1) | this.bit(base + m);
    return m - (1 << nbits);
  }

  rtree(base: number, nbits: number): number {
    let m = 1;
    let v = 0;
    for (let k = 0; k < nbits; k++) {
      const b = this.bit(base + m);
      m = (m << 1) | b;
      v |= b << k;
    }
    return v;
  }
}

function decodeLen(rd: RangeDecoder, base: number): number {
  if (rd.bit(base) === 0) return 2 + rd.tree(base + 2, 3);
  if (rd.bit(base + 1) === 0) return 10 + rd.tree(base + 10, 3);
  return 18 + rd.tree(base + 18, 6);
}

/**
 * Decode one payload (§5): the message and the check value read (the caller verifies it).
 * The hot decisions (match flag, literals, matched literals: most of the coded bits) run the
 * range decoder of `RangeDecoder.bit` inlined on local variables; the rarer ones (rep flags,
 * lengths, distances) go through `rd`, whose state is synchronised around them.
 */
export function decodeFrame(content: Uint8Array, probs: Uint16Array, hist: Uint8Array, payload: Uint8Array,
  maxSize: number, reps: number[]): { data: Uint8Array; check: number } {
  const rd = new RangeDecoder(payload, probs);
  const slot = rd.tree(P_NLEN, 6);
  if (slot > 32) throw new PayloadError(`BRIO message length slot ${slot} out of range`, 0, "brio.length");
  let n = 0;
  if (slot === 1) n = 1;
  else if (slot >= 2) {
    const rest = slot - 1;
    const top = rest < 2 ? rest : 2;
    n = (1 << top) | rd.tree(P_NSUB + slot * 4, top);
    if (rest > top) n = n * 2 ** (rest - top) + rd.direct(rest - top);
  }
  if (n > maxSize) throw new LimitError(`BRIO message of ${n} bytes exceeds max_size ${maxSize}`, undefined, "brio.length");
  // virtual buffer K ++ hist ++ output: `w` holds the output only; positions below cLen + H read
  // K or the history in place (no copy of the window per frame)
  const cLen = content.length;
  const H = hist.length;
  const KH = cLen + H;
  const w = new Uint8Array(n);
  const src8 = payload;
  const srcLen = payload.length;
  let range = rd.range;
  let code = rd.code;
  let ip = rd.pos;
  let rep0 = reps[0]!;
  let state = 0;
  let prev = H > 0 ? hist[H - 1]! : 0;
  let pos = 0;
  const end = n;
  while (pos < end) {
    if (ip > srcLen + MAX_READ_PAST_END) throw pastEnd(srcLen); // zeros past the end are free output (§2)
    // is_match[state]
    let pi = P_IS_MATCH + state;
    let p = probs[pi]!;
    let bound = (range >>> 12) * p;
    let isMatch = 0;
    if (code < bound) {
      range = bound;
      probs[pi] = p + ((4096 - p) >> 5);
    } else {
      code -= bound;
      range -= bound;
      probs[pi] = p - (p >> 5);
      isMatch = 1;
    }
    while (range < TOP) {
      range *= 256;
      code = code * 256 + (ip < srcLen ? src8[ip]! : 0);
      ip++;
    }
    if (isMatch === 0) {
      const base = P_LIT + LIT_CLASS[prev]! * 256;
      let m = 1;
      if (state >= 7) {
        const msrc = KH + pos - rep0;
        const mbyte = msrc >= KH ? w[msrc - KH]! : msrc < cLen ? content[msrc]! : hist[msrc - cLen]!;
        for (let k = 7; k >= 0; k--) {
          const mb = (mbyte >> k) & 1;
          pi = P_MLIT + (mb << 3) + k;
          p = probs[pi]!;
          bound = (range >>> 12) * p;
          let bit = 0;
          if (code < bound) {
            range = bound;
            probs[pi] = p + ((4096 - p) >> 5);
          } else {
            code -= bound;
            range -= bound;
            probs[pi] = p - (p >> 5);
            bit = 1;
          }
          while (range < TOP) {
            range *= 256;
            code = code * 256 + (ip < srcLen ? src8[ip]! : 0);
            ip++;
          }
          m = (m << 1) | bit;
          if (bit !== mb) break;
        }
      }
      // the byte from the plain literal tree (after a matched literal's first mismatch, its rest)
      while (m < 256) {
        pi = base + m;
        p = probs[pi]!;
        bound = (range >>> 12) * p;
        if (code < bound) {
          range = bound;
          probs[pi] = p + ((4096 - p) >> 5);
          m <<= 1;
        } else {
          code -= bound;
          range -= bound;
          probs[pi] = p - (p >> 5);
          m = (m << 1) | 1;
        }
        while (range < TOP) {
          range *= 256;
          code = code * 256 + (ip < srcLen ? src8[ip]! : 0);
          ip++;
        }
      }
      const b = m - 256;
      w[pos++] = b;
      prev = b;
      state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
      continue;
    }
    rd.range = range;
    rd.code = code;
    rd.pos = ip;
    let length = 0;
    let dist = 0;
    if (rd.bit(P_IS_REP + state) === 1) {
      if (rd.bit(P_IS_REP0 + state) === 0) {
        if (rd.bit(P_IS_REP0_LONG + state) === 0) {
          length = 1;
          state = state < 7 ? 9 : 11;
        }
        dist = rep0;
      } else {
        let ri = 1;
        if (rd.bit(P_IS_REP1 + state) === 1) ri = 2 + rd.bit(P_IS_REP2 + state);
        reps[0] = rep0;
        dist = reps[ri]!;
        for (; ri > 0; ri--) reps[ri] = reps[ri - 1]!;
        reps[0] = dist;
        rep0 = dist;
      }
      if (length === 0) {
        length = decodeLen(rd, P_RLEN);
        state = state < 7 ? 8 : 11;
      }
    } else {
      length = decodeLen(rd, P_MLEN);
      const dslot = rd.tree(P_SLOT + (length < 5 ? 0 : 64), 6);
      let d0: number;
      if (dslot < 4) d0 = dslot;
      else {
        const footer = (dslot >> 1) - 1;
        const base = (2 | (dslot & 1)) * 2 ** footer;
        if (dslot < 14) d0 = base + rd.rtree(P_SPEC + base - dslot - 1, footer);
        else d0 = base + rd.direct(footer - 4) * 16 + rd.rtree(P_ALIGN, 4);
      }
      dist = d0 + 1;
      reps[3] = reps[2]!;
      reps[2] = reps[1]!;
      reps[1] = rep0;
      reps[0] = dist;
      rep0 = dist;
      state = state < 7 ? 7 : 10;
    }
    range = rd.range;
    code = rd.code;
    ip = rd.pos;
    if (length > end - pos) throw new PayloadError(`BRIO match of ${length} bytes runs past the message end`, ip, "brio.match");
    const cur = KH + pos;
    if (dist > cur || dist < 1) throw new PayloadError(`BRIO match distance ${dist} reaches before the window`, ip, "brio.distance");
    let src = cur - dist;
    if (src >= KH) {
      const from = src - KH;
      if (dist >= length) w.copyWithin(pos, from, from + length);
      else for (let k = 0; k < length; k++) w[pos + k] = w[from + k]!; // overlapping: repeats bytes
      pos += length;
    } else {
      for (let k = 0; k < length; k++) {
        w[pos++] = src >= KH ? w[src - KH]! : src < cLen ? content[src]! : hist[src - cLen]!;
        src++;
      }
    }
    prev = w[pos - 1]!;
  }
  rd.range = range;
  rd.code = code;
  rd.pos = ip;
  const check = rd.direct(8);
  if (rd.pos > srcLen + MAX_READ_PAST_END) throw pastEnd(srcLen);
  if (payload.length > rd.pos - 3) throw new PayloadError("BRIO payload has bytes the decoder did not need", rd.pos - 3, "brio.payload");
  if (payload.length > 0 && payload[payload.length - 1] === 0) {
    throw new PayloadError("BRIO payload ends with a zero byte (not canonical)", payload.length - 1, "brio.payload");
  }
  return { data: w, check };
}

/** One direction's BRIO decoder; in context mode it keeps the state of §6. */
/** rep0-rep3 of a context frame: rep0-rep2 start at the sums of the direction's last message
 * lengths (newest first; spec/brio.md §6), the rest at 1-4. */
export function repsOf(lens: readonly number[]): number[] {
  const r = [1, 2, 3, 4];
  let acc = 0;
  for (let k = 0; k < 3; k++) {
    const ln = lens[k]!;
    if (ln <= 0) break;
    acc += ln;
    r[k] = acc;
  }
  return r;
}

export class BrioDecoder {
  readonly content: Uint8Array;
  models: Uint16Array;
  private readonly history: History;
  private readonly lens = [0, 0, 0];
  private readonly prior: Uint16Array;

  constructor(
    shared: BrioShared | null,
    readonly context: boolean,
    readonly window: number,
    prior?: Uint16Array,
  ) {
    this.content = shared !== null ? shared.content : EMPTY;
    this.prior = prior ?? (shared !== null ? (context ? shared.context : shared.stateless) : defaultModels());
    this.models = this.prior.slice();
    this.history = new History(context ? window : 0);
  }

  /** This direction's message history (a view, valid until the next commit). */
  get hist(): Uint8Array {
    return this.history.view();
  }


  /** Decode one payload: the message and the 8 check bits, which the frame layer verifies
   * (spec/wire-format.md §5.4); in context mode the adapted models are adopted. */
  decode(payload: Uint8Array, maxSize: number): { data: Uint8Array; check: number } {
    // context mode adapts the connection's models in place: a frame that fails leaves them
    // half-adapted, but a context decoder that refused a frame refuses every later one anyway
    // (spec/wire-format.md §5.2 rule 3), so no copy per frame is needed
    const models = this.context ? this.models : this.prior.slice();
    const reps = this.context ? repsOf(this.lens) : [1, 2, 3, 4];
    return decodeFrame(this.content, models, this.context ? this.hist : EMPTY, payload, maxSize, reps);
  }

  /** Commit a checked context frame, whatever its method (§6): history and lengths. */
  observe(data: Uint8Array): void {
    if (this.context) this.append(data);
  }

  private append(data: Uint8Array): void {
    this.lens[2] = this.lens[1]!;
    this.lens[1] = this.lens[0]!;
    this.lens[0] = data.length;
    this.history.append(data);
  }
}
