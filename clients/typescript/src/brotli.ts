/**
 * The optional BROTLI module (`aura-wire/brotli`): the pure-JavaScript brotli decoder of the
 * `brotli` package (the port used for WOFF2, with the RFC 7932 static dictionary). Browsers have
 * no brotli decoder for application data. Pass `brotliModule` as `codecs.brotli`.
 *
 * Bounded output (spec/wire-format.md §4.3): the stream is decoded into a buffer of a bounded
 * capacity that doubles up to `limit + 1` bytes; a stream that needs more is refused, so the work
 * per frame is bounded by the message limit.
 */
import { decompress } from "brotli/decompress";
import type { BrotliModule } from "./codecs.js";

export const brotliModule: BrotliModule = {
  decompress(payload: Uint8Array, limit: number): Uint8Array | null {
    let cap = Math.min(limit + 1, Math.max(1024, payload.length * 8));
    for (;;) {
      try {
        const out = decompress(payload, cap);
        return out.length > limit ? null : out;
      } catch (exc) {
        if (!String((exc as Error).message).includes("not large enough")) throw exc;
        if (cap > limit) return null;
        cap = Math.min(limit + 1, cap * 4);
      }
    }
  },
};
