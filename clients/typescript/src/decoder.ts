/**
 * The frame decoder (spec/wire-format.md §3-§5): one per direction. Follows the frame's
 * instructions; in context mode it commits every context frame (§5.2) to the BRIO history and
 * models, the ZSTD history, the template state, the TEMPLATE_BRIO payload context and the
 * check value. A failed context frame breaks the decoder: every later frame is refused.
 * No I/O; ZSTD and BROTLI are delegated to optional modules (`codecs.ts`).
 */
import { EMPTY, History, concat, crc32, decodeUtf8 } from "./bytes.js";
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
import { AuraError, ContextDesyncError, FrameError, LimitError, PayloadError, UnknownDictionaryError } from "./errors.js";
import {
  METHOD_BRIO,
  METHOD_BROTLI,
  METHOD_CONTROL,
  METHOD_NAMES,
  METHOD_RAW,
  METHOD_TEMPLATE,
  METHOD_TEMPLATE_BRIO,
  METHOD_ZSTD,
  parseHeader,
} from "./frame.js";
import { TemplateSet } from "./templates/section.js";
import { decodePayload } from "./templates/payload.js";
import { V1TemplateState } from "./templates/state.js";
import { ZSTD_MAGIC, checkZstdFrame } from "./zstdframe.js";

export const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;

/** The connection parameters that shape context state (spec/session.md §4.1.1, keys 2-7). */
export interface ContextParams {
  window: number;
  zstdWindow: number;
  zstdHistoryMinSize: number;
  templateBrioWindow: number;
  maxRuntimeTemplates: number;
  maxRuntimeTemplateBytes: number;
}

export const DEFAULT_PARAMS: ContextParams = {
  window: 8192,
  zstdWindow: 32768,
  zstdHistoryMinSize: 512,
  templateBrioWindow: 2048,
  maxRuntimeTemplates: 64,
  maxRuntimeTemplateBytes: 4096,
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
  private readonly tmpl: V1TemplateState;
  private tmplStateless: V1TemplateState | null = null;
  private readonly tb: BrioDecoder | null;
  private readonly zhist: History;
  private check = 0;
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
    const p = this.params;
    this.brio = new BrioDecoder(this.shared.brio, this.context, p.window);
    this.tmpl = new V1TemplateState(this.shared.templates, this.context, p.maxRuntimeTemplates, p.maxRuntimeTemplateBytes);
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
    const h = parseHeader(frame);
    const payload = frame.subarray(1);
    const limit = this.maxMessageSize;
    const method = h.method;
    if (method === METHOD_CONTROL) throw new FrameError("CONTROL frame given to the message decoder (session layer handles it)", 0, "header.method");
    if (h.usesDictionary && (method === METHOD_RAW || method === METHOD_BROTLI)) {
      throw new FrameError(`${METHOD_NAMES[method]!.toUpperCase()} frame with the dictionary flag set`, 0, "header.dictionary");
    }
    if (h.context && !this.context) throw new ContextDesyncError("context frame received by a stateless decoder", 0, "header.context");
    if (h.usesDictionary && this.dictionary === null) throw new UnknownDictionaryError("frame uses a shared dictionary but none is held", 0, "header.dictionary");
    let data: Uint8Array;
    switch (method) {
      case METHOD_RAW:
        if (payload.length > limit) throw new LimitError(`message of ${payload.length} bytes exceeds max_message_size ${limit}`, undefined, "raw.length");
        data = payload.slice();
        break;
      case METHOD_ZSTD:
        data = this.decodeZstd(payload, h.context, h.usesDictionary, frame.length);
        break;
      case METHOD_BROTLI: {
        const br = this.codecs.brotli;
        if (br === undefined) throw new PayloadError("BROTLI frame but this client has no brotli module (capabilities not honoured)", 0, "header.method");
        let out: Uint8Array | null;
        try {
          out = br.decompress(payload, limit);
        } catch (exc) {
          throw new PayloadError(`corrupt brotli payload: ${(exc as Error).message}`, undefined, "brotli");
        }
        if (out === null || out.length > limit) throw new LimitError(`brotli output exceeds max_message_size ${limit}`, undefined, "brotli");
        data = out;
        break;
      }
      case METHOD_BRIO:
        data = this.decodeBrio(payload, h.context, h.usesDictionary, limit);
        break;
      case METHOD_TEMPLATE:
        data = this.decodeTemplate(payload, h.context, h.usesDictionary, frame.length);
        break;
      case METHOD_TEMPLATE_BRIO:
        data = this.decodeTemplateBrio(payload, h.context, h.usesDictionary);
        break;
      default:
        throw new FrameError(`unknown method ${method}`, 0, "header.method");
    }
    if (h.text && decodeUtf8(data) === null) {
      const err = new PayloadError("text frame is not valid UTF-8", undefined, "message");
      if (h.context) this.broken = err;
      throw err;
    }
    if (h.context) {
      this.check = crc32(data, this.check);
      const p = this.params;
      if (data.length >= p.zstdHistoryMinSize) this.zhist.append(data);
      if (method !== METHOD_BRIO) this.brio.observe(data);
      if (method !== METHOD_TEMPLATE && method !== METHOD_TEMPLATE_BRIO) this.tmpl.observe(data);
    }
    return { data, text: h.text, method };
  }

  /** Decode and return what the application receives: a string for text, bytes for binary. */
  decodeMessage(frame: Uint8Array): string | Uint8Array {
    const d = this.decode(frame);
    return d.text ? decodeUtf8(d.data)! : d.data;
  }

  private checked(data: Uint8Array, check: number, offset: number): Uint8Array {
    if ((crc32(data, this.check) & 0xff) !== check) {
      const e = new ContextDesyncError("context check byte mismatch: this decoder's state differs from the encoder's", offset, "check");
      this.broken = e;
      throw e;
    }
    return data;
  }

  private decodeZstd(payload: Uint8Array, context: boolean, usesDict: boolean, frameLen: number): Uint8Array {
    let dict: Uint8Array | null;
    if (context) {
      if (usesDict && this.shared.content.length === 0) throw new UnknownDictionaryError("context ZSTD frame uses shared content this dictionary lacks", 0, "header.dictionary");
      const prefix = usesDict ? concat(this.shared.content, this.zhist.view()) : this.zhist.view();
      dict = prefix.length >= 8 ? prefix : null;
      if (payload.length < 1) throw new FrameError("context ZSTD frame lacks its check byte", 1, "zstd.check");
    } else {
      dict = usesDict ? this.shared.zstdDict : null;
      if (usesDict && dict === null) throw new UnknownDictionaryError("frame uses the zstd dictionary but the dictionary has none", 0, "header.dictionary");
    }
    const body = context ? payload.subarray(0, payload.length - 1) : payload;
    const size = checkZstdFrame(body, this.maxMessageSize);
    const z = this.codecs.zstd;
    if (z === undefined) throw new PayloadError("ZSTD frame but this client has no zstd module (capabilities not honoured)", 0, "header.method");
    let out: Uint8Array;
    try {
      out = z.decompress(concat(ZSTD_MAGIC, body), dict, size);
    } catch (exc) {
      throw new PayloadError(`corrupt zstd payload: ${(exc as Error).message}`, undefined, "zstd");
    }
    if (out.length !== size) throw new PayloadError(`zstd produced ${out.length} bytes, header says ${size}`, undefined, "zstd");
    return context ? this.checked(out, payload[payload.length - 1]!, frameLen - 1) : out;
  }

  private decodeBrio(payload: Uint8Array, context: boolean, usesDict: boolean, limit: number): Uint8Array {
    if (context) {
      if (usesDict !== (this.shared.brio !== null)) throw new ContextDesyncError("context BRIO frame dictionary flag does not match this connection", 0, "header.dictionary");
      try {
        return this.brio.decode(payload, limit);
      } catch (exc) {
        if (exc instanceof AuraError) this.broken = exc;
        throw exc;
      }
    }
    if (usesDict) {
      if (this.shared.brio === null) throw new UnknownDictionaryError("BRIO frame uses dictionary content this dictionary lacks", 0, "header.dictionary");
      this.brioStateless ??= new BrioDecoder(this.shared.brio, false, 0);
      return this.brioStateless.decode(payload, limit);
    }
    this.brioPlain ??= new BrioDecoder(null, false, 0);
    return this.brioPlain.decode(payload, limit);
  }

  private decodeTemplate(payload: Uint8Array, context: boolean, usesDict: boolean, frameLen: number): Uint8Array {
    if (usesDict !== (this.shared.templates !== null)) throw new UnknownDictionaryError("TEMPLATE frame dictionary flag does not match this decoder", 0, "header.dictionary");
    if (!context) {
      // a stateless frame (a broadcast) decodes with the dictionary's templates only
      let st = this.tmpl;
      if (this.context) {
        this.tmplStateless ??= new V1TemplateState(this.shared.templates, false, 0, 0);
        this.tmplStateless.cx.content = this.tmpl.cx.content;
        st = this.tmplStateless;
      }
      return decodePayload(st, payload, this.maxMessageSize).data;
    }
    if (payload.length < 1) throw new FrameError("context TEMPLATE frame lacks its check byte", 1, "template.check");
    const body = payload.subarray(0, payload.length - 1);
    this.tmpl.cx.hist = this.brio.hist;
    const { data, match } = decodePayload(this.tmpl, body, this.maxMessageSize);
    this.checked(data, payload[payload.length - 1]!, frameLen - 1);
    this.tmpl.commit(data, match ?? this.tmpl.match(data));
    this.tb?.observe(body);
    return data;
  }

  private decodeTemplateBrio(payload: Uint8Array, context: boolean, usesDict: boolean): Uint8Array {
    if (!context) throw new FrameError("TEMPLATE_BRIO frame without the context flag", 0, "header.context");
    const tb = this.tb;
    if (tb === null) throw new FrameError("TEMPLATE_BRIO frame but this decoder has it disabled", 0, "header.method");
    if (usesDict !== (this.shared.templates !== null)) throw new UnknownDictionaryError("TEMPLATE_BRIO frame dictionary flag does not match this decoder", 0, "header.dictionary");
    try {
      const { data: tpay, check } = tb.decodeUnchecked(payload, this.maxMessageSize);
      this.tmpl.cx.hist = this.brio.hist;
      const { data, match } = decodePayload(this.tmpl, tpay, this.maxMessageSize);
      this.checked(data, check, payload.length);
      this.tmpl.commit(data, match ?? this.tmpl.match(data));
      tb.observe(tpay);
      return data;
    } catch (exc) {
      if (exc instanceof AuraError) this.broken = exc;
      throw exc;
    }
  }
}
