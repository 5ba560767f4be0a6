/**
 * The AURA frame header (spec/wire-format.md §3): `ver(2) D C T method(3)`, and the check byte
 * of §5.4. Frames are values.
 */
import { crc32 } from "./bytes.js";
import { FrameError, UnsupportedVersionError } from "./errors.js";

export const METHOD_RAW = 0;
export const METHOD_ZSTD = 1;
export const METHOD_BROTLI = 2;
export const METHOD_TEMPLATE = 3;
export const METHOD_BRIO = 4;
export const METHOD_TEMPLATE_BRIO = 5;
export const METHOD_STATE = 6;
export const METHOD_CONTROL = 7;

export const METHOD_NAMES = ["raw", "zstd", "brotli", "template", "brio", "template+brio", "state", "control"];

/** The `ver` bits of v2 data frames (CONTROL frames keep 0: the session versions them). */
export const WIRE_VERSION = 1;
export const FLAG_DICT = 0x20;
export const FLAG_CONTEXT = 0x10;
export const FLAG_TEXT = 0x08;

export interface FrameHeader {
  readonly method: number;
  readonly text: boolean;
  readonly context: boolean;
  readonly usesDictionary: boolean;
}

export function packHeader(method: number, text: boolean, context: boolean, usesDictionary: boolean): number {
  return (WIRE_VERSION << 6) | method | (text ? FLAG_TEXT : 0) | (context ? FLAG_CONTEXT : 0) | (usesDictionary ? FLAG_DICT : 0);
}

/** Parse the header byte at `at`; FrameError for an empty frame, UnsupportedVersionError for a
 * data frame that is not v2 (v1's `ver` = 0 included; CONTROL `0x07` has `ver` = 0). */
export function parseHeader(frame: Uint8Array, at = 0): FrameHeader {
  if (frame.length <= at) throw new FrameError("empty frame: no header byte", at, "header");
  const b = frame[at]!;
  const version = b >> 6;
  const method = b & 7;
  if (version !== WIRE_VERSION && !(method === METHOD_CONTROL && version === 0)) {
    throw new UnsupportedVersionError(`frame version ${version + 1} is not supported (this peer speaks v2)`, at,
      "header.version");
  }
  return { method, text: (b & FLAG_TEXT) !== 0, context: (b & FLAG_CONTEXT) !== 0, usesDictionary: (b & FLAG_DICT) !== 0 };
}

/** The dictionary seed of the check byte (§5.4): the first four bytes of the SHA-256 digest
 * (the id, hex), little-endian; 0 without a dictionary. */
export function dictionarySeed(id: string | null): number {
  if (id === null) return 0;
  return (parseInt(id.slice(6, 8), 16) << 24 | parseInt(id.slice(4, 6), 16) << 16 | parseInt(id.slice(2, 4), 16) << 8
    | parseInt(id.slice(0, 2), 16)) >>> 0;
}

/** `crc32(F, crc32(I, crc32(m, s)))` (§5.4); the check byte is its low byte. */
export function frameCheck(seed: number, message: Uint8Array, instructions: Uint8Array, headers: Uint8Array): number {
  return crc32(headers, crc32(instructions, crc32(message, seed)));
}
