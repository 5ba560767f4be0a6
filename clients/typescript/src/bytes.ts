/** Byte helpers: a growable writer, UTF-8, CRC-32 and binary-string keys. No I/O. */

/** A growable byte buffer (the decoder's output). */
export class ByteWriter {
  buf: Uint8Array;
  len = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  private grow(need: number): void {
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }

  push(b: number): void {
    if (this.len >= this.buf.length) this.grow(this.len + 1);
    this.buf[this.len++] = b;
  }

  write(data: Uint8Array): void {
    const n = data.length;
    if (this.len + n > this.buf.length) this.grow(this.len + n);
    this.buf.set(data, this.len);
    this.len += n;
  }

  /** Append `n` bytes of this buffer starting at `from` (non-overlapping with the end). */
  copyWithin(from: number, n: number): void {
    if (this.len + n > this.buf.length) this.grow(this.len + n);
    this.buf.copyWithin(this.len, from, from + n);
    this.len += n;
  }

  fill(value: number, n: number): void {
    if (this.len + n > this.buf.length) this.grow(this.len + n);
    this.buf.fill(value, this.len, this.len + n);
    this.len += n;
  }

  slice(start = 0, end = this.len): Uint8Array {
    return this.buf.slice(start, end);
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

export const EMPTY = new Uint8Array(0);

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Decode UTF-8 strictly; null when `data` is not valid UTF-8. */
export function decodeUtf8(data: Uint8Array): string | null {
  try {
    return strictDecoder.decode(data);
  } catch {
    return null;
  }
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// windows-1252 as the WHATWG Encoding Standard defines it maps each of the 256 bytes to a
// distinct code point, so the decoded string is a collision-free key (and native speed)
const keyDecoder = new TextDecoder("latin1");

/** A string that identifies the bytes (distinct bytes, distinct strings): a Map key. */
export function key(data: Uint8Array): string {
  if (data.length < 16) {
    let s = "";
    for (let i = 0; i < data.length; i++) s += String.fromCharCode(data[i]!);
    return s;
  }
  return keyDecoder.decode(data);
}

export function hex(data: Uint8Array): string {
  let s = "";
  for (let i = 0; i < data.length; i++) s += (data[i]! < 16 ? "0" : "") + data[i]!.toString(16);
  return s;
}

export function fromHex(s: string): Uint8Array {
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}

/** The last `window` bytes of `hist ++ data` (a direction's message history). */
export function trimHistory(hist: Uint8Array, data: Uint8Array, window: number): Uint8Array {
  if (window <= 0) return EMPTY;
  if (data.length >= window) return data.slice(data.length - window);
  const keep = window - data.length;
  const h = hist.length > keep ? hist.subarray(hist.length - keep) : hist;
  const out = new Uint8Array(h.length + data.length);
  out.set(h);
  out.set(data, h.length);
  return out;
}

let crcTable: Int32Array | null = null;

/** Four 256-entry tables (slicing by 4: four bytes per step). */
function table(): Int32Array {
  if (crcTable !== null) return crcTable;
  const t = new Int32Array(1024);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 4; k++) t[k * 256 + n] = t[(k - 1) * 256 + n]! >>> 8 ^ t[t[(k - 1) * 256 + n]! & 0xff]!;
  }
  crcTable = t;
  return t;
}

/** CRC-32 (ISO-HDLC, zlib's `crc32(data, value)`), chained from `value`. */
export function crc32(data: Uint8Array, value = 0): number {
  const t = table();
  let c = ~value;
  const n = data.length;
  let i = 0;
  for (const end = n - 3; i < end; i += 4) {
    c ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
  }
  for (; i < n; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * The last `window` bytes of a stream of messages, appended in place: a buffer of twice the
 * window that is compacted when full, so an append costs its own length (amortised) instead of
 * copying the whole window per message.
 */
export class History {
  private buf: Uint8Array;
  private end = 0;

  constructor(readonly window: number) {
    this.buf = new Uint8Array(window > 0 ? 2 * window : 0);
  }

  get length(): number {
    return Math.min(this.end, this.window);
  }

  /** The current history (a view: valid until the next append). */
  view(): Uint8Array {
    return this.buf.subarray(this.end - this.length, this.end);
  }

  append(data: Uint8Array): void {
    const w = this.window;
    if (w <= 0) return;
    if (data.length >= w) {
      this.buf.set(data.subarray(data.length - w), 0);
      this.end = w;
      return;
    }
    if (this.end + data.length > this.buf.length) {
      const keep = Math.min(this.end, w - data.length);
      this.buf.copyWithin(0, this.end - keep, this.end);
      this.end = keep;
    }
    this.buf.set(data, this.end);
    this.end += data.length;
  }
}
