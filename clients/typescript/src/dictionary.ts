/**
 * The dictionary container (spec/wire-format.md §6) and its id (SHA-256 via WebCrypto).
 *
 * `AURD` magic, version 1, flags 0, then strictly ascending sections; trailing bytes refused;
 * unknown section types kept and ignored. A dictionary obtained in any way MUST be verified
 * against its id before use (`Dictionary.verified`). No I/O here.
 */
import { hex } from "./bytes.js";
import { DictionaryFormatError, UnsupportedVersionError } from "./errors.js";
import { Reader } from "./varint.js";

export const SECTION_META = 1;
export const SECTION_ZSTD = 2;
export const SECTION_TEMPLATES = 3;
export const SECTION_BRIO_CONTENT = 4;
export const SECTION_BRIO_MODEL = 5;
export const SECTION_TEMPLATE_BRIO_MODEL = 6;

/** Lowercase hex SHA-256 of `data` (the dictionary id). */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return hex(new Uint8Array(digest));
}

export class Dictionary {
  /** Per-dictionary derived state (parsed sections), built once and shared by decoders. */
  readonly cache = new Map<string, unknown>();

  private constructor(
    readonly bytes: Uint8Array,
    readonly id: string,
    readonly sections: ReadonlyMap<number, Uint8Array>,
  ) {}

  /** Parse and hash `bytes`; when `expectedId` is given, refuse a dictionary whose hash differs. */
  static async fromBytes(bytes: Uint8Array, expectedId?: string): Promise<Dictionary> {
    const id = await sha256Hex(bytes);
    if (expectedId !== undefined && id !== expectedId.toLowerCase()) {
      throw new DictionaryFormatError(`dictionary failed its SHA-256 check: expected ${expectedId}, got ${id}`, 0, "id");
    }
    return new Dictionary(bytes, id, parseSections(bytes));
  }

  section(kind: number): Uint8Array | undefined {
    return this.sections.get(kind);
  }

  get size(): number {
    return this.bytes.length;
  }
}

export function parseSections(data: Uint8Array): Map<number, Uint8Array> {
  if (data.length < 6 || data[0] !== 0x41 || data[1] !== 0x55 || data[2] !== 0x52 || data[3] !== 0x44) {
    throw new DictionaryFormatError("bad dictionary magic (expected AURD)", 0, "magic");
  }
  if (data[4] !== 1) throw new UnsupportedVersionError(`dictionary version ${data[4]} is not supported`, 4, "version");
  if (data[5] !== 0) throw new DictionaryFormatError(`dictionary flags ${data[5]} are not 0`, 5, "flags");
  const r = new Reader(data, 6, DictionaryFormatError);
  const count = r.uv("count");
  if (count > data.length) throw new DictionaryFormatError("section count exceeds the data", 6, "count");
  const out = new Map<number, Uint8Array>();
  let prev = -1;
  for (let i = 0; i < count; i++) {
    const at = r.pos;
    const type = r.uv("section.type");
    if (type <= prev) throw new DictionaryFormatError("section types must be strictly ascending", at, "section.type");
    const len = r.uv("section.length");
    out.set(type, r.bytes(len, "section.body"));
    prev = type;
  }
  if (r.pos !== data.length) throw new DictionaryFormatError("trailing bytes after the last section", r.pos, "dictionary");
  return out;
}
