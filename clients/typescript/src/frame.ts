/**
 * The AURA frame header (spec/wire-format.md §3): `ver(2) D C T method(3)`. Frames are values.
 */
import { FrameError, UnsupportedVersionError } from "./errors.js";

export const METHOD_RAW = 0;
export const METHOD_ZSTD = 1;
export const METHOD_BROTLI = 2;
export const METHOD_TEMPLATE = 3;
export const METHOD_BRIO = 4;
export const METHOD_TEMPLATE_BRIO = 5;
export const METHOD_CONTROL = 7;

export const METHOD_NAMES = ["raw", "zstd", "brotli", "template", "brio", "template+brio", "reserved-6", "control"];

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
  return method | (text ? FLAG_TEXT : 0) | (context ? FLAG_CONTEXT : 0) | (usesDictionary ? FLAG_DICT : 0);
}

/** Parse the header byte; FrameError for an empty frame or the reserved method 6. */
export function parseHeader(frame: Uint8Array): FrameHeader {
  if (frame.length === 0) throw new FrameError("empty frame: no header byte", 0, "header");
  const b = frame[0]!;
  const version = b >> 6;
  if (version !== 0) {
    throw new UnsupportedVersionError(`frame version ${version + 1} is not supported (this peer speaks v1)`, 0,
      "header.version");
  }
  const method = b & 7;
  if (method === 6) throw new FrameError(`reserved method tag ${method}`, 0, "header.method");
  return { method, text: (b & FLAG_TEXT) !== 0, context: (b & FLAG_CONTEXT) !== 0, usesDictionary: (b & FLAG_DICT) !== 0 };
}
