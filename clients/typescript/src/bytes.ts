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

/** A binary string of the bytes (one char per byte): a Map key. */
export function key(data: Uint8Array): string {
  let s = "";
  for (let i = 0; i < data.length; i += 4096) {
    s += String.fromCharCode.apply(null, data.subarray(i, i + 4096) as unknown as number[]);
  }
  return s;
}

export function fromKey(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
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

function table(): Int32Array {
  if (crcTable !== null) return crcTable;
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  crcTable = t;
  return t;
}

/** CRC-32 (ISO-HDLC, zlib's `crc32(data, value)`), chained from `value`. */
export function crc32(data: Uint8Array, value = 0): number {
  const t = table();
  let c = ~value;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
