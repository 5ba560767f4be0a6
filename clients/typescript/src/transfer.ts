/**
 * Coded in-band dictionary transfers (spec/session.md §4.3.1): gzip through the platform's
 * DecompressionStream, br through the optional brotli module; output bounded by the listed
 * size, anything else than exactly that size is refused (1007).
 */
import type { Codecs } from "./codecs.js";
import { DictionaryFormatError } from "./errors.js";

export async function decodeTransfer(coded: Uint8Array, coding: "br" | "gzip" | null, size: number, codecs: Codecs = {}): Promise<Uint8Array> {
  if (coding === null) return coded;
  let out: Uint8Array | null;
  try {
    if (coding === "br") {
      if (codecs.brotli === undefined) throw new Error("no brotli module");
      out = codecs.brotli.decompress(coded, size);
    } else out = await gunzipBounded(coded, size);
  } catch (exc) {
    throw new DictionaryFormatError(`dictionary transfer failed to decode: ${(exc as Error).message}`, undefined, "chunk");
  }
  if (out === null || out.length !== size) throw new DictionaryFormatError("dictionary transfer failed to decode: wrong size", undefined, "chunk");
  return out;
}

async function gunzipBounded(coded: Uint8Array, limit: number): Promise<Uint8Array | null> {
  const ds = new DecompressionStream("gzip");
  const writer = ds.writable.getWriter();
  void writer.write(coded as Uint8Array<ArrayBuffer>).catch(() => undefined);
  void writer.close().catch(() => undefined);
  const reader = ds.readable.getReader();
  const out = new Uint8Array(limit);
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (n + value.length > limit) {
      await reader.cancel();
      return null;
    }
    out.set(value, n);
    n += value.length;
  }
  return out.subarray(0, n);
}
