/**
 * Unsigned LEB128 varints and zig-zag integers (spec/wire-format.md §2).
 *
 * At most 10 bytes, value < 2^64, minimal encoding; a truncated, longer, overflowing or
 * non-minimal varint is refused naming the offset. `uv` returns a number (exact below 2^53;
 * every length and count above that is beyond any limit anyway), `uvBig` the exact bigint.
 */
import { type AuraError, FrameError } from "./errors.js";

type ErrorClass = new (reason: string, offset?: number, field?: string) => AuraError;

/** A cursor over a byte buffer. */
export class Reader {
  constructor(
    readonly buf: Uint8Array,
    public pos = 0,
    readonly err: ErrorClass = FrameError,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  u8(field: string): number {
    if (this.pos >= this.buf.length) throw new this.err("truncated: byte expected", this.pos, field);
    return this.buf[this.pos++]!;
  }

  bytes(n: number, field: string): Uint8Array {
    if (n > this.buf.length - this.pos) throw new this.err("length runs past the end", this.pos, field);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  uv(field: string): number {
    const buf = this.buf;
    const start = this.pos;
    let i = start;
    let result = 0;
    let mul = 1;
    for (;;) {
      if (i >= buf.length) throw new this.err("truncated varint", i, field);
      if (i - start >= 10) throw new this.err("varint longer than 10 bytes", start, field);
      const b = buf[i++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (b === 0 && i - start > 1) throw new this.err("non-minimal varint", start, field);
        // overflow is checked on the value (as the reference does): past 10 bytes it is >= 2^70
        if (i - start >= 10 && (i - start > 10 || b > 1)) throw new this.err("varint exceeds 64 bits", start, field);
        break;
      }
      mul *= 128;
    }
    this.pos = i;
    return result;
  }

  uvBig(field: string): bigint {
    const start = this.pos;
    const approx = this.uv(field);
    if (approx < 2 ** 53) return BigInt(approx);
    let r = 0n;
    let shift = 0n;
    for (let i = start; i < this.pos; i++) {
      r |= BigInt(this.buf[i]! & 0x7f) << shift;
      shift += 7n;
    }
    return r;
  }
}

export function unzigzag(v: bigint): bigint {
  return v & 1n ? -((v + 1n) >> 1n) : v >> 1n;
}

export function uvarintLen(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Append `v` (0 <= v < 2^53) as unsigned LEB128. */
export function putUv(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}
