/**
 * Slot values of the TEMPLATE method: atom decoding (spec/templates.md §4.1, §4.1.1, §4.2).
 * Every form renders to one exact byte string. Pure functions over bytes; no I/O.
 */
import { type ByteWriter, key } from "../bytes.js";
import { LimitError, PayloadError } from "../errors.js";
import { Reader, unzigzag } from "../varint.js";

const F_SAME = 0;
const F_RAW = 1;
const F_UINT = 2;
const F_NEG = 3;
const F_ZPAD = 4;
const F_DEC = 5;
const F_HEX = 6;
const F_NUMS = 7;
const F_DNUM = 8;
const F_DDIG = 9;
const F_TABLE = 10;
const F_A64 = 11;
const F_LIT = 12;
const F_ARR = 13;
const F_OBJ = 14;
const F_PREFIX = 15;
const MAX_DEPTH = 32;
const MAX_ZPAD = 64;
const RECENT_MAX = 64;
const RECENT_BYTES = 2048;
const E18 = 10n ** 18n;

const LITS = [[0x6e, 0x75, 0x6c, 0x6c], [0x74, 0x72, 0x75, 0x65], [0x66, 0x61, 0x6c, 0x73, 0x65]];
const A64 = new TextEncoder().encode("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .");
const HEXL = new TextEncoder().encode("0123456789abcdef");
const HEXU = new TextEncoder().encode("0123456789ABCDEF");

/** What atoms may refer to: the string table, recent strings (§5.4), COPY's K and H (§4.1.1). */
export class AtomCtx {
  readonly recent = new Map<string, number>();
  readonly recentBySeq = new Map<number, Uint8Array>();
  rseq = 0;
  recentBytes = 0;
  /** the most strings and bytes kept (TemplateState sets them from the template state budget) */
  recentMax = RECENT_MAX;
  recentLimit = RECENT_BYTES;
  /** no live entry has a smaller seq (the eviction scan starts here: a Map used as a queue
   * makes `keys().next()` walk every deleted slot, linear per eviction in V8) */
  private low = 0;
  content: Uint8Array = new Uint8Array(0);
  hist: Uint8Array = new Uint8Array(0);

  constructor(readonly strings: Uint8Array[]) {}

  addRecent(s: Uint8Array): void {
    const k = key(s);
    const old = this.recent.get(k);
    if (old !== undefined) {
      this.recentBySeq.delete(old);
      this.recentBytes -= s.length;
    }
    const seq = this.rseq++;
    this.recent.set(k, seq);
    this.recentBySeq.set(seq, s);
    this.recentBytes += s.length;
    while (this.recent.size > this.recentMax || this.recentBytes > this.recentLimit) {
      let v = this.recentBySeq.get(this.low);
      while (v === undefined) v = this.recentBySeq.get(++this.low);
      this.recentBySeq.delete(this.low);
      this.recent.delete(key(v));
      this.recentBytes -= v.length;
    }
  }
}

/** Content of a slot value: without the quotes when a JSON slot value is a quoted string. */
export function contentOf(raw: Uint8Array, jsonSlot: boolean): Uint8Array {
  if (jsonSlot && raw.length >= 2 && raw[0] === 0x22 && raw[raw.length - 1] === 0x22) return raw.subarray(1, raw.length - 1);
  return raw;
}

function writeAscii(out: ByteWriter, s: string): void {
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
}

function check(out: ByteWriter, limit: number): void {
  if (out.len > limit) throw new LimitError(`decoded message exceeds max_message_size ${limit}`, undefined, "template.output");
}

/** Render (m, s) as a canonical decimal (§4.1 DEC). */
export function renderDecimal(m: bigint, scale: number): string {
  if (scale === 0) return m.toString();
  const neg = m < 0n;
  const digits = (neg ? -m : m).toString().padStart(scale + 1, "0");
  const s = digits.slice(0, digits.length - scale) + "." + digits.slice(digits.length - scale);
  return neg ? "-" + s : s;
}

/** DNUM: `lc` (a canonical decimal) plus `d`, rendered; numbers while exact, else bigint. */
function dnum(lc: Uint8Array, d: bigint): string | null {
  const n = lc.length;
  if (n > 0 && n <= 16 && d > -1000000000n && d < 1000000000n) {
    // fast path: at most 15 digits, so the mantissa and the sum stay exact as doubles
    let i = 0;
    let neg = false;
    if (lc[0] === 0x2d) {
      neg = true;
      i = 1;
    }
    const start = i;
    let m = 0;
    while (i < n && lc[i]! >= 0x30 && lc[i]! <= 0x39) m = m * 10 + (lc[i++]! - 0x30);
    const intLen = i - start;
    if (intLen === 0 || (intLen > 1 && lc[start] === 0x30)) return null;
    let scale = 0;
    if (i < n) {
      if (lc[i] !== 0x2e) return null;
      i++;
      const fstart = i;
      while (i < n && lc[i]! >= 0x30 && lc[i]! <= 0x39) m = m * 10 + (lc[i++]! - 0x30);
      scale = i - fstart;
      if (scale === 0 || i !== n) return null;
    }
    if (neg) {
      if (m === 0) return null;
      m = -m;
    }
    const r = m + Number(d);
    if (Math.abs(r) < 2 ** 53) return renderDecimalNum(r, scale);
  }
  const ld = parseDecimal(lc);
  return ld === null ? null : renderDecimal(ld[0] + d, ld[1]);
}

function renderDecimalNum(m: number, scale: number): string {
  if (scale === 0) return String(m);
  const neg = m < 0;
  const digits = String(neg ? -m : m).padStart(scale + 1, "0");
  const s = digits.slice(0, digits.length - scale) + "." + digits.slice(digits.length - scale);
  return neg ? "-" + s : s;
}

/** (mantissa, scale) of a canonical decimal, or null (§4.1). */
export function parseDecimal(s: Uint8Array): [bigint, number] | null {
  const n = s.length;
  if (n === 0 || n > 40) return null;
  let i = 0;
  let neg = false;
  if (s[0] === 0x2d) {
    neg = true;
    i = 1;
  }
  const start = i;
  while (i < n && s[i]! >= 0x30 && s[i]! <= 0x39) i++;
  const intLen = i - start;
  if (intLen === 0 || (intLen > 1 && s[start] === 0x30)) return null;
  let digits = String.fromCharCode(...s.subarray(start, i));
  let scale = 0;
  if (i < n) {
    if (s[i] !== 0x2e) return null;
    i++;
    const fstart = i;
    while (i < n && s[i]! >= 0x30 && s[i]! <= 0x39) i++;
    scale = i - fstart;
    if (scale === 0 || i !== n) return null;
    digits += String.fromCharCode(...s.subarray(fstart, n));
  }
  let m = BigInt(digits);
  if (neg) {
    if (m === 0n) return null;
    m = -m;
  }
  return [m, scale];
}

function unzigzagNum(v: number): bigint {
  return BigInt(v % 2 === 1 ? -(v + 1) / 2 : v / 2);
}

function groups(s: Uint8Array): [Uint8Array[], bigint[]] | null {
  const n = s.length;
  if (n === 0 || n > 128) return null;
  const seps: Uint8Array[] = [];
  const vals: bigint[] = [];
  let i = 0;
  let prev = 0;
  while (i < n) {
    const c = s[i]!;
    if (c >= 0x30 && c <= 0x39) {
      let j = i;
      while (j < n && s[j]! >= 0x30 && s[j]! <= 0x39) j++;
      if ((j - i > 1 && c === 0x30) || j - i > 18) return null;
      seps.push(s.subarray(prev, i));
      vals.push(BigInt(String.fromCharCode(...s.subarray(i, j))));
      prev = j;
      i = j;
    } else i++;
  }
  if (vals.length === 0 || vals.length > 16) return null;
  seps.push(s.subarray(prev));
  return [seps, vals];
}

/** Read an atom's parameter: P < 7 inline, else 7 + uvarint. Returns bigint when past 2^53. */
function readParam(r: Reader, p: number): number {
  if (p < 7) return p;
  return r.uv("slot.param") + 7;
}

function readParamBig(r: Reader, p: number, at: number): bigint {
  if (p < 7) return BigInt(p);
  const save = r.pos;
  r.pos = at + 1;
  const v = r.uvBig("slot.param") + 7n;
  if (r.pos !== save) r.pos = save;
  return v;
}

/**
 * Decode one atom at `r.pos`, appending its bytes to `out`. `last` is the slot's previous raw
 * value (null: none). Inside arrays, `prevKids` are the previous sibling array's elements and
 * `kidsOut` collects this array's elements (§4.2).
 */
export function decodeAtom(r: Reader, out: ByteWriter, last: Uint8Array | null, jsonSlot: boolean, cx: AtomCtx,
  limit: number, depth: number, prevKids: Uint8Array[] | null = null, kidsOut: Uint8Array[] | null = null): void {
  const buf = r.buf;
  if (r.pos >= buf.length) throw new PayloadError("truncated payload: slot tag expected", r.pos, "slot.tag");
  const at = r.pos;
  const tag = buf[r.pos++]!;
  const q = (tag & 0x80) !== 0;
  const form = tag & 0x0f;
  const p3 = (tag >> 4) & 7;
  const param = readParam(r, p3);
  if (q && !jsonSlot) throw new PayloadError("quoted value in a text slot", at, "slot.tag");
  if (form === F_SAME && param !== 0) {
    decodeCopy(r, at, out, q, param, last !== null ? contentOf(last, jsonSlot) : null, cx, limit);
    return;
  }
  if (form === F_SAME) {
    if (q) throw new PayloadError("SAME with the quote flag", at, "slot.tag");
    if (last === null) throw new PayloadError("SAME but the slot has no previous value", at, "slot.tag");
    out.write(last);
    check(out, limit);
    return;
  }
  if (form === F_LIT && param >= 3) {
    const got = cx.recentBySeq.get(cx.rseq - 1 - (param - 3));
    if (got === undefined) throw new PayloadError(`recent string ${param - 3} is not defined`, at, "slot.recent");
    if (q) out.push(0x22);
    out.write(got);
    if (q) out.push(0x22);
    check(out, limit);
    return;
  }
  if (form === F_LIT || form === F_ARR || form === F_OBJ) {
    if (!jsonSlot || q) throw new PayloadError("JSON value form outside a JSON slot", at, "slot.tag");
    if (form === F_LIT) {
      for (const c of LITS[param]!) out.push(c);
      check(out, limit);
      return;
    }
    if (depth >= MAX_DEPTH) throw new LimitError("JSON nesting too deep in a slot", at, "slot.depth");
    if (param > buf.length - r.pos) throw new PayloadError("container count exceeds the payload", at, "slot.count");
    if (form === F_ARR) {
      out.push(0x5b);
      let prevEl: Uint8Array | null = null;
      let prevElKids: Uint8Array[] | null = null;
      for (let i = 0; i < param; i++) {
        if (i) out.push(0x2c);
        const lv = prevKids !== null && i < prevKids.length ? prevKids[i]! : prevEl;
        const isArr = r.pos < buf.length && (buf[r.pos]! & 0x8f) === F_ARR;
        const myKids: Uint8Array[] | null = isArr ? [] : null;
        const start = out.len;
        decodeAtom(r, out, lv, true, cx, limit, depth + 1, prevElKids, myKids);
        prevEl = out.slice(start);
        prevElKids = myKids;
        if (kidsOut !== null) kidsOut.push(prevEl);
      }
      out.push(0x5d);
    } else {
      out.push(0x7b);
      for (let i = 0; i < param; i++) {
        if (i) out.push(0x2c);
        const kstart = out.len;
        decodeAtom(r, out, null, true, cx, limit, depth + 1);
        if (out.len - kstart < 2 || out.buf[kstart] !== 0x22) throw new PayloadError("object key is not a string", r.pos, "slot.key");
        out.push(0x3a);
        decodeAtom(r, out, null, true, cx, limit, depth + 1);
      }
      out.push(0x7d);
    }
    check(out, limit);
    return;
  }
  const lc = last !== null && (form === F_NUMS || form === F_DNUM || form === F_DDIG || form === F_PREFIX) ? contentOf(last, jsonSlot) : null;
  if (q) out.push(0x22);
  switch (form) {
    case F_RAW:
      out.write(r.bytes(param, "slot.raw"));
      break;
    case F_UINT:
    case F_NEG: {
      if (form === F_NEG) out.push(0x2d);
      writeAscii(out, param < 2 ** 53 ? String(param) : readParamBig(r, p3, at).toString());
      break;
    }
    case F_ZPAD: {
      if (param > MAX_ZPAD) throw new PayloadError("zero-padded width too large", at, "slot.zpad");
      const s = r.uvBig("slot.zpad").toString();
      if (s.length >= param) throw new PayloadError("zero-padded value has no padding", at, "slot.zpad");
      writeAscii(out, s.padStart(param, "0"));
      break;
    }
    case F_DEC: {
      if (param === 0 || param > 40) throw new PayloadError("decimal scale out of range", at, "slot.dec");
      writeAscii(out, renderDecimal(unzigzag(r.uvBig("slot.dec")), param));
      break;
    }
    case F_HEX: {
      const alpha = param % 2 === 1 ? HEXU : HEXL;
      const nd = Math.floor(param / 2);
      let nb = Math.floor((nd + 1) / 2);
      if (nd === 0 || nb > buf.length - r.pos) throw new PayloadError("hex slot runs past the payload", at, "slot.hex");
      if (nd & 1) {
        const b0 = buf[r.pos]!;
        if (b0 > 15) throw new PayloadError("hex padding nibble is not zero", r.pos, "slot.hex");
        out.push(alpha[b0]!);
        r.pos++;
        nb--;
      }
      for (let i = 0; i < nb; i++) {
        const b = buf[r.pos + i]!;
        out.push(alpha[b >> 4]!);
        out.push(alpha[b & 15]!);
      }
      r.pos += nb;
      break;
    }
    case F_A64: {
      const bits = 6 * param;
      const nb = Math.ceil(bits / 8);
      if (param === 0 || nb > buf.length - r.pos) throw new PayloadError("A64 slot runs past the payload", at, "slot.a64");
      const pad = nb * 8 - bits;
      // bit reader, MSB first
      let acc = 0;
      let nacc = 0;
      let p = r.pos;
      for (let i = 0; i < param; i++) {
        while (nacc < 6) {
          acc = ((acc << 8) | buf[p++]!) & 0xffff;
          nacc += 8;
        }
        out.push(A64[(acc >> (nacc - 6)) & 63]!);
        nacc -= 6;
      }
      if (pad > 0 && (acc & ((1 << nacc) - 1)) !== 0) throw new PayloadError("A64 padding bits are not zero", r.pos, "slot.a64");
      r.pos += nb;
      break;
    }
    case F_NUMS: {
      if (lc === null || param > 1) throw new PayloadError("NUMS without a previous value or with a bad mode", at, "slot.nums");
      const lg = groups(lc);
      if (lg === null) throw new PayloadError("NUMS on a previous value without digit groups", at, "slot.nums");
      const [seps, vals] = lg;
      out.write(seps[0]!);
      for (let j = 0; j < vals.length; j++) {
        const d = r.uvBig("slot.nums");
        const v = param === 0 ? vals[j]! + unzigzag(d) : d;
        if (v < 0n || v >= E18) throw new PayloadError("NUMS group out of range", r.pos, "slot.nums");
        writeAscii(out, v.toString());
        out.write(seps[j + 1]!);
      }
      break;
    }
    case F_DNUM: {
      if (lc === null) throw new PayloadError("delta without a previous value", at, "slot.dnum");
      const rendered = dnum(lc, p3 < 7 || param < 2 ** 53 ? unzigzagNum(param) : unzigzag(readParamBig(r, p3, at)));
      if (rendered === null) throw new PayloadError("delta on a non-numeric previous value", at, "slot.dnum");
      writeAscii(out, rendered);
      break;
    }
    case F_DDIG: {
      if (lc === null) throw new PayloadError("digit delta without a previous value", at, "slot.ddig");
      if (lc.length === 0 || lc.length > 64) throw new PayloadError("digit delta on a value without digits", at, "slot.ddig");
      let digits = "";
      for (const c of lc) if (c >= 0x30 && c <= 0x39) digits += String.fromCharCode(c);
      if (digits.length === 0 || digits.length > 40) throw new PayloadError("digit delta on a value without digits", at, "slot.ddig");
      const v = BigInt(digits) + unzigzag(readParamBig(r, p3, at));
      if (v < 0n || v >= 10n ** BigInt(digits.length)) throw new PayloadError("digit delta out of range", at, "slot.ddig");
      const ds = v.toString().padStart(digits.length, "0");
      let j = 0;
      for (const c of lc) out.push(c >= 0x30 && c <= 0x39 ? ds.charCodeAt(j++) : c);
      break;
    }
    case F_TABLE:
      if (param >= cx.strings.length) throw new PayloadError(`string table index ${param} out of range`, at, "slot.table");
      out.write(cx.strings[param]!);
      break;
    case F_PREFIX: {
      if (lc === null || param > lc.length) throw new PayloadError("prefix longer than the previous value", at, "slot.prefix");
      const rest = r.uv("slot.prefix");
      if (rest > buf.length - r.pos) throw new PayloadError("prefix slot runs past the payload", at, "slot.prefix");
      out.write(lc.subarray(0, param));
      out.write(r.bytes(rest, "slot.prefix"));
      break;
    }
    default:
      throw new PayloadError(`reserved slot form ${form}`, at, "slot.tag");
  }
  if (q) out.push(0x22);
  check(out, limit);
}

/** COPY (§4.1.1): pieces of literal bytes or runs copied from K ++ P ++ H ++ out. */
function decodeCopy(r: Reader, at: number, out: ByteWriter, q: boolean, count: number, lc: Uint8Array | null,
  cx: AtomCtx, limit: number): void {
  const buf = r.buf;
  if (count > Math.floor((buf.length - r.pos) / 2)) throw new PayloadError("COPY piece count exceeds the payload", at, "slot.copy");
  const parts = [cx.content, lc ?? new Uint8Array(0), cx.hist];
  const fixed = parts[0]!.length + parts[1]!.length + parts[2]!.length;
  if (q) out.push(0x22);
  for (let k = 0; k < count; k++) {
    const h = r.uv("slot.copy");
    const n = Math.floor(h / 2);
    if (n === 0) throw new PayloadError("empty COPY piece", r.pos, "slot.copy");
    if (h % 2 === 0) {
      if (n > buf.length - r.pos) throw new PayloadError("COPY literal runs past the payload", r.pos, "slot.copy");
      out.write(r.bytes(n, "slot.copy"));
    } else {
      const d = r.uv("slot.copy");
      const cur = fixed + out.len;
      if (n > d || d > cur) throw new PayloadError(`COPY distance ${d} out of range (length ${n}, ${cur} bytes before)`, r.pos, "slot.copy");
      let src = cur - d;
      const end = src + n;
      let base = 0;
      for (const part of parts) {
        const pl = part.length;
        if (src < base + pl && src < end) {
          const stop = Math.min(end, base + pl);
          out.write(part.subarray(src - base, stop - base));
          src = stop;
        }
        base += pl;
      }
      if (src < end) out.copyWithin(src - fixed, end - src);
    }
    check(out, limit);
  }
  if (q) out.push(0x22);
}
