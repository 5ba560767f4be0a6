/**
 * A stateless BRIO encoder for the client -> server direction (spec/brio.md §3, §5, §9): greedy
 * LZ parse with a hash chain over K ++ message (rep0 first, then the longest match), coded with
 * the LZMA-style range encoder the spec defines, finished canonically (§3). Stateless frames
 * depend only on the dictionary, so they are valid at any point of the session. No I/O.
 */
import { NPROBS } from "./brio.js";
import { EMPTY } from "./bytes.js";

const P_IS_MATCH = 0;
const P_IS_REP = 12;
const P_IS_REP0 = 24;
const P_IS_REP0_LONG = 36;
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
const MAX_LEN = 81;
const HASH_BITS = 14;
const MAX_CHAIN = 24;

const LIT_CLASS = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  LIT_CLASS[b] = b >= 0x30 && b <= 0x39 ? 0 : (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ? 1 : 2;
}

class RangeEncoder {
  low = 0; // up to 33 bits: plain arithmetic, never bitwise
  range = 0xffffffff;
  cache = 0;
  cacheSize = 1;
  out: number[] = [];

  constructor(readonly p: Uint16Array) {}

  private shiftLow(): void {
    const low = this.low;
    if (low < 0xff000000 || low >= 0x100000000) {
      const carry = low >= 0x100000000 ? 1 : 0;
      let temp = this.cache;
      do {
        this.out.push((temp + carry) & 0xff);
        temp = 0xff;
      } while (--this.cacheSize !== 0);
      this.cache = Math.floor(low / 0x1000000) & 0xff;
    }
    this.cacheSize++;
    this.low = (low % 0x1000000) * 256;
  }

  bit(idx: number, b: number): void {
    const p = this.p[idx]!;
    const bound = (this.range >>> 12) * p;
    if (b === 0) {
      this.range = bound;
      this.p[idx] = p + ((4096 - p) >> 5);
    } else {
      this.low += bound;
      this.range -= bound;
      this.p[idx] = p - (p >> 5);
    }
    while (this.range < TOP) {
      this.range *= 256;
      this.shiftLow();
    }
  }

  direct(value: number, nbits: number): void {
    for (let k = nbits - 1; k >= 0; k--) {
      this.range = this.range >>> 1;
      if (Math.floor(value / 2 ** k) % 2) this.low += this.range;
      while (this.range < TOP) {
        this.range *= 256;
        this.shiftLow();
      }
    }
  }

  tree(base: number, nbits: number, value: number): void {
    let m = 1;
    for (let k = nbits - 1; k >= 0; k--) {
      const b = (value >> k) & 1;
      this.bit(base + m, b);
      m = (m << 1) | b;
    }
  }

  rtree(base: number, nbits: number, value: number): void {
    let m = 1;
    for (let k = 0; k < nbits; k++) {
      const b = (value >> k) & 1;
      this.bit(base + m, b);
      m = (m << 1) | b;
    }
  }

  /** §3: the value with the most trailing zero bits in the final interval, then drop the
   * leading zero byte and the trailing zero bytes. */
  finish(): Uint8Array {
    const low = this.low;
    const hi = low + this.range - 1;
    let v = low;
    for (let k = 32; k >= 0; k--) {
      const unit = 2 ** k;
      const cand = Math.ceil(low / unit) * unit; // (low + 2^k - 1) & ~(2^k - 1)
      if (cand <= hi) {
        v = cand;
        break;
      }
    }
    this.low = v;
    for (let i = 0; i < 5; i++) this.shiftLow();
    let end = this.out.length;
    while (end > 1 && this.out[end - 1] === 0) end--;
    return Uint8Array.from(this.out.slice(1, end));
  }
}

function encodeLen(rc: RangeEncoder, base: number, len: number): void {
  if (len < 10) {
    rc.bit(base, 0);
    rc.tree(base + 2, 3, len - 2);
  } else if (len < 18) {
    rc.bit(base, 1);
    rc.bit(base + 1, 0);
    rc.tree(base + 10, 3, len - 10);
  } else {
    rc.bit(base, 1);
    rc.bit(base + 1, 1);
    rc.tree(base + 18, 6, len - 18);
  }
}

function distSlot(d: number): number {
  if (d < 4) return d;
  const nb = 31 - Math.clz32(d);
  return (nb << 1) | ((d >> (nb - 1)) & 1);
}

function encodeDist(rc: RangeEncoder, len: number, d0: number): void {
  const slot = distSlot(d0);
  rc.tree(P_SLOT + (len < 5 ? 0 : 64), 6, slot);
  if (slot < 4) return;
  const footer = (slot >> 1) - 1;
  const base = (2 | (slot & 1)) << footer;
  const rest = d0 - base;
  if (slot < 14) rc.rtree(P_SPEC + base - slot - 1, footer, rest);
  else {
    rc.direct(rest >> 4, footer - 4);
    rc.rtree(P_ALIGN, 4, rest & 15);
  }
}

function hash3(b: Uint8Array, i: number): number {
  return (Math.imul(b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16), 2654435761) >>> 0) >>> (32 - HASH_BITS);
}

/** The hash chain over a content block K: every position whose 3 bytes lie within K. */
interface ContentIndex {
  head: Int32Array;
  chain: Int32Array;
  /** the first position not indexed (K.length - 2, or 0) */
  end: number;
}

const contentIndexes = new WeakMap<Uint8Array, ContentIndex>();

function contentIndex(content: Uint8Array): ContentIndex {
  let idx = contentIndexes.get(content);
  if (idx === undefined) {
    const end = Math.max(0, content.length - 2);
    const head = new Int32Array(1 << HASH_BITS).fill(-1);
    const chain = new Int32Array(end).fill(-1);
    for (let i = 0; i < end; i++) {
      const h = hash3(content, i);
      chain[i] = head[h]!;
      head[h] = i;
    }
    idx = { head, chain, end };
    contentIndexes.set(content, idx);
  }
  return idx;
}

/**
 * Encode `data` as a stateless BRIO payload with content `content` (K; empty for D = 0) and
 * initial models `prior` (the dictionary's stateless vector, or every probability 2048).
 * `check`: the frame's check byte (spec/wire-format.md §5.4), coded as the last 8 bits (§7).
 */
export function encodeBrioStateless(data: Uint8Array, content: Uint8Array, prior: Uint16Array, check: number): Uint8Array {
  return encodeBrio(data, content, EMPTY, prior.slice(0, NPROBS), [1, 2, 3, 4], check);
}

/**
 * Encode one BRIO payload over the virtual buffer K ++ `hist` ++ data (§5) from the models
 * `probs`, which adapt in place (a context encoder passes a copy of its connection's models
 * and adopts it when the frame is sent), and the initial rep distances `reps` (§6: the last
 * message lengths in context mode, 1-4 stateless).
 */
export function encodeBrio(data: Uint8Array, content: Uint8Array, hist: Uint8Array, probs: Uint16Array, reps: number[], check: number): Uint8Array {
  const rc = new RangeEncoder(probs);
  const n = data.length;
  // message length (§5.1)
  const slot = n === 0 ? 0 : 32 - Math.clz32(n);
  rc.tree(P_NLEN, 6, slot);
  if (slot >= 2) {
    const r = slot - 1;
    const t = Math.min(r, 2);
    rc.tree(P_NSUB + slot * 4, t, (n >>> (r - t)) & ((1 << t) - 1));
    if (r > t) rc.direct(n & ((1 << (r - t)) - 1), r - t);
  }
  // the virtual buffer K ++ hist ++ data, indexed by a hash chain
  const histLen = hist.length;
  const c = content.length + histLen;
  const buf = new Uint8Array(c + n);
  buf.set(content);
  buf.set(hist, content.length);
  buf.set(data, c);
  // K's chain is built once per content block; positions from `base` on (the last two of K,
  // whose hash reads the history, then hist and data) get a chain per message
  const kIndex = contentIndex(content);
  const base = kIndex.end;
  const head = kIndex.head.slice();
  const kChain = kIndex.chain;
  const chain = new Int32Array(c + n - base).fill(-1);
  const insert = (i: number): void => {
    if (i + 3 > buf.length) return;
    const h = hash3(buf, i);
    chain[i - base] = head[h]!;
    head[h] = i;
  };
  for (let i = base; i < c; i++) insert(i);
  let state = 0;
  let prev = histLen > 0 ? hist[histLen - 1]! : 0;
  let pos = 0; // bytes of data produced
  while (pos < n) {
    const cur = c + pos;
    const maxLen = Math.min(MAX_LEN, n - pos);
    // rep0 first: the cheapest match
    let repLen = 0;
    if (state >= 7 || pos > 0 || histLen > 0) {
      const src = cur - reps[0]!;
      if (src >= 0) while (repLen < maxLen && buf[src + repLen] === buf[cur + repLen]) repLen++;
    }
    let bestLen = 0;
    let bestDist = 0;
    if (maxLen >= 3) {
      let cand = head[hash3(buf, cur)]!;
      for (let k = 0; k < MAX_CHAIN && cand >= 0; k++, cand = cand < base ? kChain[cand]! : chain[cand - base]!) {
        let l = 0;
        while (l < maxLen && buf[cand + l] === buf[cur + l]) l++;
        if (l > bestLen) {
          bestLen = l;
          bestDist = cur - cand;
          if (l === maxLen) break;
        }
      }
    }
    if (repLen >= 2 && repLen + 1 >= bestLen) {
      rc.bit(P_IS_MATCH + state, 1);
      rc.bit(P_IS_REP + state, 1);
      rc.bit(P_IS_REP0 + state, 0);
      rc.bit(P_IS_REP0_LONG + state, 1);
      encodeLen(rc, P_RLEN, repLen);
      state = state < 7 ? 8 : 11;
      for (let k = 0; k < repLen; k++) insert(cur + k);
      pos += repLen;
    } else if (bestLen >= 3 && !(bestLen === 3 && bestDist > 4096)) {
      rc.bit(P_IS_MATCH + state, 1);
      rc.bit(P_IS_REP + state, 0);
      encodeLen(rc, P_MLEN, bestLen);
      encodeDist(rc, bestLen, bestDist - 1);
      reps[3] = reps[2]!;
      reps[2] = reps[1]!;
      reps[1] = reps[0]!;
      reps[0] = bestDist;
      state = state < 7 ? 7 : 10;
      for (let k = 0; k < bestLen; k++) insert(cur + k);
      pos += bestLen;
    } else {
      const b = data[pos]!;
      rc.bit(P_IS_MATCH + state, 0);
      const base = P_LIT + LIT_CLASS[prev]! * 256;
      if (state < 7) rc.tree(base, 8, b);
      else {
        const mbyte = buf[cur - reps[0]!]!;
        let m = 1;
        let matching = true;
        for (let k = 7; k >= 0; k--) {
          const bit = (b >> k) & 1;
          if (matching) {
            const mb = (mbyte >> k) & 1;
            rc.bit(P_MLIT + (mb << 3) + k, bit);
            if (bit !== mb) matching = false;
          } else rc.bit(base + m, bit);
          m = (m << 1) | bit;
        }
      }
      state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
      insert(cur);
      pos++;
    }
    prev = data[pos - 1]!;
  }
  rc.direct(check & 0xff, 8);
  return rc.finish();
}
