/**
 * The optional BROTLI module (`aura-wire/brotli`): the pure-JavaScript brotli decoder of the
 * `brotli` package (the port used for WOFF2, with the RFC 7932 static dictionary). Browsers have
 * no brotli decoder for application data. Pass `brotliModule` as `codecs.brotli`.
 *
 * Bounded output (spec/wire-format.md §4.3): the stream is decoded into a buffer of a bounded
 * capacity that doubles up to `limit + 1` bytes; a stream that needs more is refused, so the work
 * per frame is bounded by the message limit. A stream that does not end within the payload, or
 * bytes after its end, are refused (§4.3): the package does not report where the stream ended, so
 * its bit reader is followed (every reader, one per stream, passes through `reset`).
 */
import { decompress } from "brotli/decompress";
// @ts-expect-error: the package's internal bit reader (no types, not in its exports map); the
// path is resolved by the bundler to the same module instance the decoder uses
import BitReader from "../node_modules/brotli/dec/bit_reader.js";
import type { BrotliModule } from "./codecs.js";

interface Reader {
  input_: { pos: number };
  pos_: number;
  bit_pos_: number;
  base_: number;
}

let last: Reader | null = null;
const proto = (BitReader as { prototype: { reset: (this: Reader) => boolean } }).prototype;
const reset = proto.reset;
proto.reset = function (this: Reader): boolean {
  // a reset (a new stream, or after an uncompressed block read the input directly) reads on
  // from where the input stands
  this.base_ = this.input_.pos;
  last = this;
  return reset.call(this);
};

/** The stream's length in bits: what the reader consumed, the padding of its last byte not. */
function streamBits(r: Reader): number {
  return r.base_ * 8 + (r.pos_ - 4) * 8 + r.bit_pos_;
}

export const brotliModule: BrotliModule = {
  decompress(payload: Uint8Array, limit: number): Uint8Array | null {
    let cap = Math.min(limit + 1, Math.max(1024, payload.length * 8));
    for (;;) {
      let out: Uint8Array;
      try {
        last = null;
        out = decompress(payload, cap);
      } catch (exc) {
        if (!String((exc as Error).message).includes("not large enough")) throw exc;
        if (cap > limit) return null;
        cap = Math.min(limit + 1, cap * 4);
        continue;
      }
      if (out.length > limit) return null;
      if (last !== null) {
        const bits = streamBits(last);
        if (bits > payload.length * 8) throw new Error("the stream does not end within the payload");
        if (Math.ceil(bits / 8) < payload.length) throw new Error(`${payload.length - Math.ceil(bits / 8)} bytes after the end of the stream`);
      }
      return out;
    }
  },
};
