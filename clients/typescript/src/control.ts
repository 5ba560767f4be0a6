/**
 * CONTROL frames of the session protocol (spec/session.md §4): HELLO, USE, GET, CHUNK.
 * Values in, bytes out and back; trailing bytes are an error (except CHUNK's data). No I/O.
 */
import { crc32, fromHex, hex } from "./bytes.js";
import { FrameError, LimitError, ProtocolError } from "./errors.js";
import { Reader, putUv } from "./varint.js";

export const TYPE_HELLO = 0x01;
export const TYPE_USE = 0x02;
export const TYPE_GET = 0x03;
export const TYPE_CHUNK = 0x04;
export const SESSION_VERSION = 1;
const MAX_HELLO_IDS = 16;
const MAX_HELLO_PARAMS = 64;

export type Control =
  | { type: "hello"; version: number; maxChunk: number; dictionaries: { id: string; size: number }[]; params: [number, number][] }
  | { type: "use"; id: string }
  | { type: "get"; id: string; offset: number; length: number }
  | { type: "chunk"; id: string; offset: number; data: Uint8Array }
  | { type: "unknown"; kind: number };

/** True for a v1 CONTROL frame (version 0, method 7; the flags are checked by the parser). */
export function isControlFrame(frame: Uint8Array): boolean {
  return frame.length > 0 && (frame[0]! & 0xc7) === 0x07;
}

export function parseControl(frame: Uint8Array): Control {
  if (frame.length < 2) throw new FrameError("CONTROL frame without a control type", frame.length, "control.type");
  if (frame[0] !== 0x07) throw new FrameError(`CONTROL frame header must be 0x07, got 0x${frame[0]!.toString(16)}`, 0, "header");
  const kind = frame[1]!;
  const r = new Reader(frame, 2);
  const id = (field: string): string => hex(r.bytes(32, field));
  let msg: Control;
  if (kind === TYPE_HELLO) {
    const version = r.u8("hello.version");
    if (version !== SESSION_VERSION) throw new ProtocolError(`session protocol version ${version} is not supported (this peer speaks ${SESSION_VERSION})`, r.pos - 1, "hello.version");
    const maxChunk = r.uv("hello.max_chunk");
    if (maxChunk === 0) throw new FrameError("HELLO max_chunk must be at least 1", r.pos, "hello.max_chunk");
    const count = r.uv("hello.count");
    if (count > MAX_HELLO_IDS) throw new LimitError(`HELLO lists ${count} dictionaries, more than ${MAX_HELLO_IDS}`, undefined, "hello.count");
    const dictionaries: { id: string; size: number }[] = [];
    for (let i = 0; i < count; i++) dictionaries.push({ id: id("hello.id"), size: r.uv("hello.size") });
    const nparams = r.uv("hello.nparams");
    if (nparams > MAX_HELLO_PARAMS) throw new ProtocolError(`HELLO has ${nparams} parameters, more than ${MAX_HELLO_PARAMS}`, undefined, "hello.nparams");
    const params: [number, number][] = [];
    let last = -1;
    for (let i = 0; i < nparams; i++) {
      const at = r.pos;
      const k = r.uv("hello.key");
      if (k <= last) throw new ProtocolError("HELLO parameter keys must be strictly ascending", at, "hello.key");
      params.push([k, r.uv("hello.value")]);
      last = k;
    }
    msg = { type: "hello", version, maxChunk, dictionaries, params };
  } else if (kind === TYPE_USE) msg = { type: "use", id: id("use.id") };
  else if (kind === TYPE_GET) msg = { type: "get", id: id("get.id"), offset: r.uv("get.offset"), length: r.uv("get.length") };
  else if (kind === TYPE_CHUNK) {
    const cid = id("chunk.id");
    const offset = r.uv("chunk.offset");
    return { type: "chunk", id: cid, offset, data: frame.slice(r.pos) };
  } else if (kind >= 0x40 && kind <= 0x7f) return parseOptional(frame, kind);
  else throw new ProtocolError(`unknown control type 0x${kind.toString(16)}`, 1, "control.type");
  if (r.pos !== frame.length) throw new FrameError(`${frame.length - r.pos} trailing bytes after the control message`, r.pos, "control");
  return msg;
}

/**
 * An optional control message (§4.4): body, then the CRC-32 (little-endian) of the frame before it,
 * checked even for a type this peer does not know, so that a data frame whose header byte was
 * altered into 0x07 is refused (1002) instead of being ignored.
 */
function parseOptional(frame: Uint8Array, kind: number): Control {
  const end = frame.length - 4;
  if (end < 2) throw new FrameError(`optional control message 0x${kind.toString(16)} too short for its CRC-32`, frame.length, "control.check");
  const check = (frame[end]! | (frame[end + 1]! << 8) | (frame[end + 2]! << 16) | (frame[end + 3]! << 24)) >>> 0;
  if (check !== crc32(frame.subarray(0, end))) throw new FrameError(`optional control message 0x${kind.toString(16)} fails its CRC-32 (a corrupted frame?)`, end, "control.check");
  return { type: "unknown", kind };
}

export function packUse(id: string): Uint8Array {
  const out = new Uint8Array(34);
  out[0] = 0x07;
  out[1] = TYPE_USE;
  out.set(fromHex(id), 2);
  return out;
}

export function packGet(id: string, offset: number, length: number): Uint8Array {
  const tail: number[] = [];
  putUv(tail, offset);
  putUv(tail, length);
  const out = new Uint8Array(34 + tail.length);
  out[0] = 0x07;
  out[1] = TYPE_GET;
  out.set(fromHex(id), 2);
  out.set(tail, 34);
  return out;
}
