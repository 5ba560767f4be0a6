/**
 * Pluggable decompressors for the two methods a browser has no native decoder for (ZSTD,
 * BROTLI). The core bundle stays small; `aura-wire/zstd` and `aura-wire/brotli` provide them.
 * A decoder without one refuses such frames, and the session tells the server which methods this
 * client decodes (capabilities), so a well-behaved server never sends them. No I/O.
 */

export interface ZstdModule {
  /** Decompress one standard zstd frame (magic included) of exactly `size` bytes, with `dict`
   * (a zstd dictionary, or raw content) or none. Throws on corrupt input. */
  decompress(frame: Uint8Array, dict: Uint8Array | null, size: number): Uint8Array;
}

export interface BrotliModule {
  /** Decompress one brotli stream producing at most `limit` bytes; returns null when the output
   * would exceed `limit` (the decoder stops there). Throws on corrupt or truncated input. */
  decompress(payload: Uint8Array, limit: number): Uint8Array | null;
}

export interface Codecs {
  zstd?: ZstdModule | undefined;
  brotli?: BrotliModule | undefined;
}
