/**
 * The frame decoder (spec/wire-format.md §3-§5, wire format v2): one per direction. Follows the
 * frame's instructions: every frame is verified by its check byte (§5.4) before anything is
 * delivered or committed; in context mode it commits every context frame (§5.2) to the BRIO
 * history and models, the ZSTD history, the template state (only after an exact TEMPLATE
 * payload, and by a STATE frame's instructions), the TEMPLATE_BRIO payload context and the
 * check value. It never matches or learns. A failed context decoder refuses every later frame.
 * No I/O; ZSTD and BROTLI are delegated to optional modules (`codecs.ts`).
 */
import { EMPTY, History, concat, decodeUtf8 } from "./bytes.js";
import { BrioDecoder, BrioShared } from "./brio.js";
import type { Codecs } from "./codecs.js";
import {
  SECTION_BRIO_CONTENT,
  SECTION_BRIO_MODEL,
  SECTION_TEMPLATES,
  SECTION_TEMPLATE_BRIO_MODEL,
  SECTION_ZSTD,
  type Dictionary,
} from "./dictionary.js";
import {
  AuraError,
  ContextDesyncError,
  DictionaryMismatchError,
  FrameError,
  LimitError,
  PayloadError,
  UnknownDictionaryError,
} from "./errors.js";
import {
  FLAG_DICT,
  FLAG_TEXT,
  METHOD_BRIO,
  METHOD_BROTLI,
  METHOD_CONTROL,
  METHOD_NAMES,
  METHOD_RAW,
  METHOD_STATE,
  METHOD_TEMPLATE,
  METHOD_TEMPLATE_BRIO,
  METHOD_ZSTD,
  type FrameHeader,
  dictionarySeed,
  frameCheck,
  parseHeader,
} from "./frame.js";
import { TemplateSet } from "./templates/section.js";
import { type DecodedPayload, decodePayload } from "./templates/payload.js";
import { type Instruction, TemplateState, parseInstructions } from "./templates/state.js";
import { ZSTD_MAGIC, checkZstdFrame, refuseTrailing } from "./zstdframe.js";

export const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;

/** The connection parameters that shape context state (spec/session.md §4.1.1, keys 2-8). */
export interface ContextParams {
  window: number;
  zstdWindow: number;
  zstdHistoryMinSize: number;
  templateBrioWindow: number;
  maxRuntimeTemplates: number;
  maxRuntimeTemplateBytes: number;
  /** The template state budget: bytes of predicted values (templates.md §5.6), a third of it for recent strings (§4.4). */
  templateStateBytes: number;
}

export const DEFAULT_PARAMS: ContextParams = {
  window: 8192,
  zstdWindow: 32768,
  zstdHistoryMinSize: 512,
  templateBrioWindow: 2048,
  maxRuntimeTemplates: 64,
  maxRuntimeTemplateBytes: 4096,
  templateStateBytes: 6144,
};

export interface DecoderOptions extends Partial<ContextParams> {
  context?: boolean;
  maxMessageSize?: number;
  codecs?: Codecs;
}

export interface Decoded {
  data: Uint8Array;
  text: boolean;
  method: number;
  /** The message as a string when it is text (decoded once, while checking its UTF-8). */
  string: string | null;
}

/** Objects derived from one dictionary, built once and shared by its decoders. */
class Shared {
  brio: BrioShared | null = null;
  templateBrio: BrioShared | null = null;
  templates: TemplateSet | null = null;
  zstdDict: Uint8Array | null = null;
  content: Uint8Array = EMPTY;

  constructor(d: Dictionary | null) {
    if (d === null) return;
    this.zstdDict = d.section(SECTION_ZSTD) ?? null;
    this.content = d.section(SECTION_BRIO_CONTENT) ?? EMPTY;
    const model = d.section(SECTION_BRIO_MODEL);
    if (d.section(SECTION_BRIO_CONTENT) !== undefined && model !== undefined) this.brio = BrioShared.fromSections(this.content, model);
    const tbm = d.section(SECTION_TEMPLATE_BRIO_MODEL);
    if (tbm !== undefined) this.templateBrio = BrioShared.fromSections(EMPTY, tbm);
    const ts = d.section(SECTION_TEMPLATES);
    if (ts !== undefined) this.templates = TemplateSet.fromSection(ts);
  }

  static of(d: Dictionary | null): Shared {
    if (d === null) return new Shared(null);
    let s = d.cache.get("decoder-shared") as Shared | undefined;
    if (s === undefined) {
      s = new Shared(d);
      d.cache.set("decoder-shared", s);
    }
    return s;
  }
}

export class Decoder {
  readonly context: boolean;
  readonly maxMessageSize: number;
  readonly params: ContextParams;
  private readonly shared: Shared;
  private readonly codecs: Codecs;
  private readonly brio: BrioDecoder;
  private brioPlain: BrioDecoder | null = null;
  private brioStateless: BrioDecoder | null = null;
  private readonly tmpl: TemplateState;
  private tmplStateless: TemplateState | null = null;
  private readonly tb: BrioDecoder | null;
  private readonly zhist: History;
  /** the dictionary seed of the check byte, and the context check value (§5.4) */
  private readonly seed: number;
  private check: number;
  private broken: AuraError | null = null;

  constructor(
    readonly dictionary: Dictionary | null = null,
    options: DecoderOptions = {},
  ) {
    this.context = options.context ?? true;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.params = { ...DEFAULT_PARAMS };
    for (const k of Object.keys(DEFAULT_PARAMS) as (keyof ContextParams)[]) {
      const v = options[k];
      if (v !== undefined) this.params[k] = v;
    }
    this.codecs = options.codecs ?? {};
    this.shared = Shared.of(dictionary);
    this.seed = dictionarySeed(dictionary !== null ? dictionary.id : null);
    this.check = this.seed;
    const p = this.params;
    this.brio = new BrioDecoder(this.shared.brio, this.context, p.window);
    this.tmpl = new TemplateState(this.shared.templates, this.context, p.maxRuntimeTemplates, p.maxRuntimeTemplateBytes, p.templateStateBytes);
    this.tmpl.cx.content = this.shared.templates !== null ? this.shared.content : EMPTY;
    this.zhist = new History(this.context ? p.zstdWindow : 0);
    this.tb = this.context && p.templateBrioWindow > 0
      ? new BrioDecoder(this.shared.templateBrio, true, p.templateBrioWindow, this.shared.templateBrio?.context)
      : null;
  }

  /** Decode one frame: the message bytes, whether it is text, and the method. */
  decode(frame: Uint8Array): Decoded {
    if (this.broken !== null) {
      throw new ContextDesyncError(`decoder context is unusable after an earlier error: ${this.broken.message}`);
    }
    try {
      return this.decodeFrame(frame);
    } catch (exc) {
      // §5.2 rule 3: the state may now differ from the encoder's
      if (this.context && exc instanceof AuraError) this.broken = exc;
      throw exc;
    }
  }

  /** Decode and return what the application receives: a string for text, bytes for binary. */
  decodeMessage(frame: Uint8Array): string | Uint8Array {
    const d = this.decode(frame);
    return d.string ?? d.data;
  }

  /** One frame, checks in the order of spec §5.6. */
  private decodeFrame(frame: Uint8Array): Decoded {
    let h = parseHeader(frame); // steps 2-3
    if (h.method === METHOD_CONTROL) throw new FrameError("CONTROL frame given to the message decoder (session layer handles it)", 0, "header.method");
    let pos = 1;
    let instructions: Instruction[] = [];
    let headers = frame.subarray(0, 1);
    let instr: Uint8Array = EMPTY;
    if (h.method === METHOD_STATE) {
      if (!h.context) throw new FrameError("STATE frame without the context flag", 0, "header.context");
      if (!this.context) throw new ContextDesyncError("STATE frame received by a stateless decoder", 0, "header.context");
      const parsed = parseInstructions(frame, 1); // step 8
      pos = parsed.end;
      instructions = parsed.list;
      if (pos >= frame.length) throw new FrameError("STATE frame ends before its inner frame", pos, "state.inner");
      const ih = parseHeader(frame, pos);
      if (ih.method >= METHOD_STATE || !ih.context) throw new FrameError(`STATE frame around a ${METHOD_NAMES[ih.method]} frame or a stateless one`, pos, "state.inner");
      if ((frame[0]! ^ frame[pos]!) & (FLAG_DICT | FLAG_TEXT)) throw new FrameError("STATE header flags differ from its inner frame's", 0, "header");
      headers = Uint8Array.of(frame[0]!, frame[pos]!);
      instr = frame.subarray(1, pos);
      h = ih;
      pos++;
    }
    this.checkFlags(h, pos - 1); // steps 5-6
    let payload = frame.subarray(pos);
    const limit = this.maxMessageSize;
    const method = h.method;
    let x = 0;
    if (method !== METHOD_BRIO && method !== METHOD_TEMPLATE_BRIO) {
      if (payload.length === 0) throw new FrameError("frame too short for its check byte", pos, "check"); // step 7
      x = payload[payload.length - 1]!;
      payload = payload.subarray(0, payload.length - 1);
    }
    // step 9: the payload
    let data: Uint8Array;
    let got: DecodedPayload | null = null;
    let tpay: Uint8Array = EMPTY;
    switch (method) {
      case METHOD_RAW:
        if (payload.length > limit) throw new LimitError(`message of ${payload.length} bytes exceeds max_message_size ${limit}`, undefined, "raw.length");
        data = payload.slice();
        break;
      case METHOD_ZSTD:
        data = this.decodeZstd(payload, h);
        break;
      case METHOD_BROTLI:
        data = this.decodeBrotli(payload);
        break;
      case METHOD_BRIO: {
        const r = this.brioFor(h).decode(payload, limit);
        data = r.data;
        x = r.check;
        break;
      }
      case METHOD_TEMPLATE: {
        let st = this.tmpl;
        if (!h.context && this.context) {
          // a stateless frame (a broadcast) decodes with the dictionary's templates only
          this.tmplStateless ??= new TemplateState(this.shared.templates, false, 0, 0);
          this.tmplStateless.cx.content = this.tmpl.cx.content;
          st = this.tmplStateless;
        }
        st.cx.hist = h.context ? this.brio.hist : EMPTY;
        got = decodePayload(st, payload, limit);
        data = got.data;
        tpay = payload;
        break;
      }
      default: {
        // TEMPLATE_BRIO: a template payload is never longer than its message (the encoder's
        // rule), so the message limit bounds it too
        const r = this.tb!.decode(payload, limit);
        tpay = r.data;
        x = r.check;
        this.tmpl.cx.hist = this.brio.hist;
        got = decodePayload(this.tmpl, tpay, limit);
        data = got.data;
      }
    }
    // step 10: the check byte
    const c = frameCheck(h.context ? this.check : h.usesDictionary ? this.seed : 0, data, instr, headers);
    if ((c & 0xff) !== x) this.mismatch(h, frame.length - 1);
    // step 11: text
    const string = h.text ? decodeUtf8(data) : null;
    if (h.text && string === null) throw new PayloadError("text frame is not valid UTF-8", undefined, "message");
    if (h.context) {
      // §5.2 rule 1: commit, whatever the method
      this.check = c;
      if (data.length >= this.params.zstdHistoryMinSize) this.zhist.append(data);
      this.brio.observe(data);
      if (got !== null) {
        if (got.tmpl !== null) this.tmpl.update(got.tid, got.tmpl, got.values, got.mask);
        this.tb?.observe(tpay);
      }
      if (instructions.length > 0) this.tmpl.apply(instructions, data); // step 12
    }
    return { data, text: h.text, method, string };
  }

  /** Steps 5-6 of §5.6: the header's flags against the method and this decoder. */
  private checkFlags(h: FrameHeader, at: number): void {
    const method = h.method;
    const d = h.usesDictionary;
    const sh = this.shared;
    if (d && (method === METHOD_RAW || method === METHOD_BROTLI)) {
      throw new FrameError(`${METHOD_NAMES[method]!.toUpperCase()} frame with the dictionary flag set`, at, "header.dictionary");
    }
    if (method === METHOD_TEMPLATE_BRIO && !h.context) throw new FrameError("TEMPLATE_BRIO frame without the context flag", at, "header.context");
    if (h.context && !this.context) throw new ContextDesyncError("context frame received by a stateless decoder", at, "header.context");
    if (d && this.dictionary === null) throw new UnknownDictionaryError("frame uses a shared dictionary but none is held", at, "header.dictionary");
    if (method === METHOD_TEMPLATE_BRIO && this.tb === null) throw new FrameError("TEMPLATE_BRIO frame but template_brio_window is 0", at, "header.method");
    if ((method === METHOD_TEMPLATE || method === METHOD_TEMPLATE_BRIO) && d !== (sh.templates !== null)) {
      throw new UnknownDictionaryError("template frame dictionary flag does not match this decoder's dictionary (templates section)", at, "header.dictionary");
    }
    if (method === METHOD_BRIO) {
      if (h.context && d !== (sh.brio !== null)) throw new ContextDesyncError("context BRIO frame dictionary flag does not match this connection", at, "header.dictionary");
      if (!h.context && d && sh.brio === null) throw new UnknownDictionaryError("BRIO frame uses dictionary sections this dictionary lacks", at, "header.dictionary");
    }
    if (method === METHOD_ZSTD && d && (h.context ? sh.content.length === 0 : sh.zstdDict === null)) {
      throw new UnknownDictionaryError("ZSTD frame uses a dictionary section this dictionary lacks", at, "header.dictionary");
    }
  }

  /** The check-byte error of §5.4 for this kind of frame. */
  private mismatch(h: FrameHeader, offset: number): never {
    if (h.context) throw new ContextDesyncError("check byte mismatch: this decoder's context differs from the encoder's (lost or altered frame, or another dictionary)", offset, "check");
    if (h.usesDictionary) {
      const held = this.dictionary !== null ? this.dictionary.id.slice(0, 16) : "none";
      throw new DictionaryMismatchError(`check byte mismatch: the frame was coded with another dictionary than ${held}... (or corrupted)`, offset, "check");
    }
    throw new PayloadError("check byte mismatch: corrupt frame", offset, "check");
  }

  private decodeZstd(body: Uint8Array, h: FrameHeader): Uint8Array {
    let dict: Uint8Array | null;
    if (h.context) {
      const prefix = h.usesDictionary ? concat(this.shared.content, this.zhist.view()) : this.zhist.view();
      dict = prefix.length >= 8 ? prefix : null;
    } else dict = h.usesDictionary ? this.shared.zstdDict : null;
    const { size, end } = checkZstdFrame(body, this.maxMessageSize);
    const z = this.codecs.zstd;
    if (z === undefined) throw new PayloadError("ZSTD frame but this client has no zstd module (capabilities not honoured)", 0, "header.method");
    if (size < 0) { // an empty frame the walk has checked whole
      refuseTrailing(body, end);
      return new Uint8Array(0);
    }
    let out: Uint8Array;
    try {
      out = z.decompress(concat(ZSTD_MAGIC, body.subarray(0, end)), dict, size);
    } catch (exc) {
      throw new PayloadError(`corrupt zstd payload: ${(exc as Error).message}`, undefined, "zstd");
    }
    if (out.length !== size) throw new PayloadError(`zstd produced ${out.length} bytes, header says ${size}`, undefined, "zstd");
    refuseTrailing(body, end); // after the frame's own faults (§5.6 step 9)
    return out;
  }

  private decodeBrotli(payload: Uint8Array): Uint8Array {
    const br = this.codecs.brotli;
    const limit = this.maxMessageSize;
    if (br === undefined) throw new PayloadError("BROTLI frame but this client has no brotli module (capabilities not honoured)", 0, "header.method");
    // spec §4.3: the window is memory the decoder allocates; refused above 22 bits, before decoding
    const wbits = brotliWindowBits(payload);
    if (wbits === 0 || wbits > BROTLI_MAX_WBITS) {
      throw new PayloadError(wbits === 0 ? "brotli stream with an invalid window code"
        : `brotli window of ${wbits} bits exceeds the ${BROTLI_MAX_WBITS} bits spec §4.3 allows`, 1, "brotli.window");
    }
    let out: Uint8Array | null;
    try {
      out = br.decompress(payload, limit);
    } catch (exc) {
      throw new PayloadError(`corrupt brotli payload: ${(exc as Error).message}`, undefined, "brotli");
    }
    if (out === null || out.length > limit) throw new LimitError(`brotli output exceeds max_message_size ${limit}`, undefined, "brotli");
    return out;
  }

  private brioFor(h: FrameHeader): BrioDecoder {
    if (h.context) return this.brio;
    if (h.usesDictionary) return (this.brioStateless ??= new BrioDecoder(this.shared.brio, false, 0));
    return (this.brioPlain ??= new BrioDecoder(null, false, 0));
  }
}

/** The largest brotli window a BROTLI payload may use (spec/wire-format.md §4.3). */
export const BROTLI_MAX_WBITS = 22;

/** WBITS of a brotli stream from its first bits (RFC 7932 §9.1); 0 when the code is invalid. */
export function brotliWindowBits(p: Uint8Array): number {
  if (p.length === 0) return 0;
  const bits = p[0] | (p.length > 1 ? p[1] << 8 : 0);
  if ((bits & 1) === 0) return 16;
  const n = (bits >> 1) & 7;
  if (n !== 0) return 17 + n;
  const m = (bits >> 4) & 7;
  if (m === 1) return 0; // large window (RFC 9841), invalid in RFC 7932
  return m !== 0 ? 8 + m : 17;
}
