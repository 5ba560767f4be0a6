/**
 * Magicless zstd frames (spec/wire-format.md §4.2): header checks done before any
 * decompression (content size present and within the limit, no checksum or dictionary id), so a
 * decompression bomb costs nothing; no bytes after the frame. RFC 8878 §3.1.1. No I/O.
 */
import { FrameError, LimitError, PayloadError } from "./errors.js";

export const ZSTD_MAGIC = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd]);
/** The largest window log a frame header may announce (libzstd's ZSTD_WINDOWLOG_MAX on 64-bit). */
const ZSTD_WINDOWLOG_MAX = 31;

/**
 * Walk the frame: its content size, negative (-1) when the walk alone has validated the whole
 * frame (content size 0 and every block an empty raw or RLE block: nothing for libzstd to do),
 * and where the frame ends; FrameError/LimitError/PayloadError as the spec says. Bytes after the
 * frame are the caller's to refuse, after decoding the frame: a fault inside the frame is met
 * first (§5.6 step 9, the first fault met while decoding from the payload's first byte).
 */
export function checkZstdFrame(p: Uint8Array, maxSize: number): { size: number; end: number } {
  if (p.length < 1) throw new FrameError("bad zstd frame header: empty", 1, "zstd.header");
  const fhd = p[0]!;
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  if (fhd & 0x08) throw new FrameError("bad zstd frame header: reserved bit set", 1, "zstd.header");
  const didSize = [0, 1, 2, 4][fhd & 3]!;
  const checksum = (fhd >> 2) & 1;
  const fcsSize = fcsFlag === 0 ? single : [0, 2, 4, 8][fcsFlag]!;
  let pos = 1 + (single ? 0 : 1) + didSize;
  if (pos + fcsSize > p.length) throw new FrameError("bad zstd frame header: truncated", 1, "zstd.header");
  // the Window_Descriptor's window log (Exponent + 10) above 31 is refused with the header (§4.2)
  if (!single && (p[1]! >> 3) + 10 > ZSTD_WINDOWLOG_MAX) throw new FrameError("bad zstd frame header: window too large", 1, "zstd.header");
  if (fcsSize === 0) throw new FrameError("zstd frame lacks the content size", 1, "zstd.content_size");
  let size = 0;
  for (let i = fcsSize - 1; i >= 0; i--) size = size * 256 + p[pos + i]!;
  if (fcsSize === 2) size += 256;
  pos += fcsSize;
  if (size > maxSize) throw new LimitError(`zstd content size ${size} exceeds max_message_size ${maxSize}`, undefined, "zstd.content_size");
  let empty = size === 0;
  for (;;) {
    if (pos + 3 > p.length) throw new PayloadError("truncated zstd payload", 1 + p.length, "zstd");
    const bh = p[pos]! | (p[pos + 1]! << 8) | (p[pos + 2]! << 16);
    pos += 3;
    const last = bh & 1;
    const type = (bh >> 1) & 3;
    const bsize = bh >>> 3;
    if (type === 3) throw new PayloadError("corrupt zstd payload: reserved block type", pos, "zstd");
    if (type === 2 || bsize !== 0) empty = false;
    pos += type === 1 ? 1 : bsize;
    if (pos > p.length) throw new PayloadError("truncated zstd payload", 1 + p.length, "zstd");
    if (last) break;
  }
  if (checksum) pos += 4;
  if (pos > p.length) throw new PayloadError("truncated zstd payload", 1 + p.length, "zstd");
  return { size: empty ? -1 : size, end: pos };
}

/** Bytes after the zstd frame (other than the check byte) are a frame error (§4.2). */
export function refuseTrailing(p: Uint8Array, end: number): void {
  if (end < p.length) throw new FrameError(`${p.length - end} trailing bytes after the zstd frame`, 1 + end, "zstd");
}
