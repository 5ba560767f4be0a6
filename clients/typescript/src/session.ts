/**
 * The client side of the AURA session (spec/session.md): HELLO and its codec parameters,
 * dictionary sync (USE, GET, CHUNK), data frames both ways, close codes. A state machine in the
 * h11 style: bytes and calls in, frames to send (`dataToSend`) and events out. No I/O: the
 * socket adapter moves frames, fetches dictionaries over HTTP and verifies hashes (async).
 */
import { utf8 } from "./bytes.js";
import { type Control, isControlFrame, packGet, packUse, parseControl } from "./control.js";
import { type ContextParams, Decoder, DEFAULT_MAX_MESSAGE_SIZE } from "./decoder.js";
import type { Codecs } from "./codecs.js";
import type { Dictionary } from "./dictionary.js";
import { AuraError, CLOSE_INTERNAL_ERROR, LimitError, ProtocolError } from "./errors.js";
import { ContextEncoder, encodeStateless } from "./encoder.js";
import { FLAG_CONTEXT, METHOD_NAMES, METHOD_STATE } from "./frame.js";

export type SessionState = "await-hello" | "offered" | "fetching" | "use-sent" | "synced" | "plain" | "closed";

type SessionEvent = "recv hello" | "decline" | "use dictionary" | "fetch dictionary" | "recv chunk" | "recv last chunk" | "recv use";

/** (state, event) -> next state: spec/session.md §5, client rows. DATA keeps the state. */
const TRANSITIONS: Record<string, SessionState> = {
  "await-hello|recv hello": "offered",
  "await-hello|decline": "plain",
  "offered|use dictionary": "use-sent",
  "offered|fetch dictionary": "fetching",
  "offered|decline": "plain",
  "fetching|recv chunk": "fetching",
  "fetching|recv last chunk": "fetching", // the SHA-256 check runs (async) in the adapter
  "fetching|use dictionary": "use-sent", // verified: USE
  "use-sent|recv use": "synced",
};

/** Room for a STATE frame's instruction block (16 instructions, WF §4.7) in the frame-size bound. */
const MAX_STATE_BLOCK = 65536;

/** The revision of the context rules this client runs (spec/session.md §8). */
export const CONTEXT_REVISION = 2;

const PARAM_NAMES: (keyof ContextParams)[] = ["window", "zstdWindow", "zstdHistoryMinSize", "templateBrioWindow", "maxRuntimeTemplates", "maxRuntimeTemplateBytes", "templateStateBytes"];
const PARAM_WIRE_NAMES = ["window", "zstd_window", "zstd_history_min_size", "template_brio_window", "max_runtime_templates", "max_runtime_template_bytes", "template_state_bytes"];
/** Registered keys a HELLO leaves out at their default (§4.1.1): key 8, template_state_bytes. */
const PARAM_DEFAULTS = new Map<number, number>([[8, 6144]]);
const PARAM_RANGES: [number, number][] = [[0, 2 ** 20], [0, 2 ** 22], [1, 2 ** 30], [0, 2 ** 20], [0, 2 ** 16], [0, 2 ** 24], [0, 2 ** 16]];

export interface SessionOptions {
  /** Accept context mode (default true). */
  context?: boolean;
  maxMessageSize?: number;
  maxDictionarySize?: number;
  maxContextMemory?: number;
  fetchWindow?: number;
  codecs?: Codecs;
  /** Dictionaries this client holds, verified, named in the offer with `aura.have` (§3.4, §6.1.1). */
  held?: Dictionary[];
  /** The data-frame methods this client decodes, as the `aura.decodes` mask (§3.5); default all. */
  decodes?: number;
  /** Transfer codings offered with `aura.coding` (§4.3.1), most preferred first. */
  codings?: ("br" | "gzip")[];
}

/** What HELLO says about one listed dictionary (§4.1, §4.1.2). */
export interface Offered {
  id: string;
  size: number;
  /** Bytes an in-band transfer moves (the coded form when `coding` is set). */
  transferSize: number;
  coding: "br" | "gzip" | null;
  /** The server's estimate of bytes saved per application message (key 96 + i / 1000), or null. */
  saving: number | null;
}

export const CODINGS = ["", "br", "gzip"] as const;

/** Hint tokens for the subprotocol offer (spec/session.md §3.4). */
export function hintTokens(options: SessionOptions): string[] {
  const out: string[] = [];
  for (const d of (options.held ?? []).slice(0, 4)) out.push(`aura.have.${d.id}`);
  if (options.decodes !== undefined) out.push(`aura.decodes.${options.decodes.toString(16)}`);
  for (const c of options.codings ?? []) out.push(`aura.coding.${c}`);
  return out;
}

export type ClientEvent =
  | { type: "message"; data: string | Uint8Array }
  | { type: "offered"; dictionaries: Offered[] }
  | { type: "fetched"; id: string; bytes: Uint8Array; coding: "br" | "gzip" | null; size: number }
  | { type: "in-use"; direction: "send" | "receive"; id: string }
  | { type: "closed"; code: number; reason: string };

export class Stats {
  sentMessages = 0;
  sentRawBytes = 0;
  sentWireBytes = 0;
  /** messages sent as context frames (C = 1): the rest went stateless */
  sentContextFrames = 0;
  receivedMessages = 0;
  receivedRawBytes = 0;
  receivedWireBytes = 0;
  controlSentBytes = 0;
  controlReceivedBytes = 0;
  receivedMethods: Record<string, number> = {};
  dictionary: string | null = null;
  dictionaryState = "none";
  /** Milliseconds spent decoding received frames (the adapter measures it). */
  decodeMs = 0;

  /** raw / wire bytes received (the compression ratio of the server's stream). */
  get ratio(): number {
    return this.receivedWireBytes > 0 ? this.receivedRawBytes / this.receivedWireBytes : 1;
  }

  get sentRatio(): number {
    return this.sentWireBytes > 0 ? this.sentRawBytes / this.sentWireBytes : 1;
  }
}

/** A close reason a person can read, at most 123 UTF-8 bytes (RFC 6455 §5.5). */
export function closeReason(text: string): string {
  let s = `aura: ${text}`;
  while (utf8(s).length > 123) s = s.slice(0, -1);
  return s;
}

export class ClientSession {
  state: SessionState = "await-hello";
  readonly stats = new Stats();
  params: ContextParams | null = null;
  context = false;
  private decoder: Decoder;
  private readonly out: Uint8Array[] = [];
  private readonly evs: ClientEvent[] = [];
  private readonly offered = new Map<string, Offered>();
  private maxChunk = 1;
  private useSent: string | null = null;
  private sendDict: Dictionary | null = null;
  /** the client -> server context encoder once HELLO says context mode (fresh at each switch point) */
  private encoder: ContextEncoder | null = null;
  private fetch: { id: string; size: number; coding: "br" | "gzip" | null; listed: number; buf: Uint8Array; got: number; next: number; pending: [number, number][] } | null = null;
  private readonly opts: Required<Omit<SessionOptions, "codecs" | "decodes">> & { codecs: Codecs; decodes: number | undefined };

  constructor(options: SessionOptions = {}) {
    this.opts = {
      context: options.context ?? true,
      maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      maxDictionarySize: options.maxDictionarySize ?? 4 * 1024 * 1024,
      maxContextMemory: options.maxContextMemory ?? 8 * 1024 * 1024,
      fetchWindow: options.fetchWindow ?? 4,
      codecs: options.codecs ?? {},
      held: options.held ?? [],
      decodes: options.decodes,
      codings: options.codings ?? [],
    };
    this.decoder = this.newDecoder(null);
  }

  /** Frames to write to the socket, in order (drains the queue). */
  dataToSend(): Uint8Array[] {
    return this.out.length === 0 ? [] : this.out.splice(0);
  }

  events(): ClientEvent[] {
    return this.evs.length === 0 ? [] : this.evs.splice(0);
  }

  get closed(): boolean {
    return this.state === "closed";
  }

  get sendDictionary(): Dictionary | null {
    return this.sendDict;
  }

  private go(event: SessionEvent): void {
    const next = TRANSITIONS[`${this.state}|${event}`];
    if (next === undefined) throw new ProtocolError(`${event} is not allowed for the client in state ${this.state}`, undefined, "session.state");
    this.state = next;
  }

  private newDecoder(d: Dictionary | null): Decoder {
    return new Decoder(d, { ...(this.params ?? {}), context: this.context, maxMessageSize: this.opts.maxMessageSize, codecs: this.opts.codecs });
  }

  /**
   * Queue an application message: a context frame once HELLO said context mode, else stateless
   * (before HELLO, or `context` = 0). `sensitive`: a stateless frame without the dictionary
   * (C = 0, D = 0: no shared state, so nothing of it can be inferred from later frames' sizes;
   * spec/wire-format.md §5.3), at any time.
   */
  send(message: string | Uint8Array, sensitive = false): Uint8Array {
    if (this.state === "closed") throw new ProtocolError("send on a closed session", undefined, "session");
    const text = typeof message === "string";
    const data = text ? utf8(message) : message;
    const frame = sensitive ? encodeStateless(data, text, null)
      : this.encoder !== null ? this.encoder.encode(data, text) : encodeStateless(data, text, this.sendDict);
    this.stats.sentMessages++;
    this.stats.sentRawBytes += data.length;
    this.stats.sentWireBytes += frame.length;
    if (frame[0]! & FLAG_CONTEXT) this.stats.sentContextFrames++;
    this.out.push(frame);
    return frame;
  }

  /** A dictionary the server offered is held (verified): switch the send direction (USE). */
  useDictionary(d: Dictionary): void {
    if (!this.offered.has(d.id)) throw new ProtocolError(`dictionary ${d.id.slice(0, 12)} was not offered`, undefined, "session");
    this.go("use dictionary");
    this.fetch = null;
    this.out.push(packUse(d.id));
    this.stats.controlSentBytes += 34;
    this.useSent = d.id;
    this.sendDict = d;
    if (this.context) this.encoder = new ContextEncoder(d, this.params!.window);
    this.stats.dictionary = d.id;
    this.stats.dictionaryState = "use-sent";
    this.evs.push({ type: "in-use", direction: "send", id: d.id });
  }

  /** Start an in-band transfer of an offered dictionary (GET/CHUNK). */
  fetchDictionary(id: string): void {
    const o = this.offered.get(id);
    if (o === undefined) throw new ProtocolError(`dictionary ${id.slice(0, 12)} was not offered`, undefined, "session");
    this.go("fetch dictionary");
    const size = o.transferSize;
    if (size === 0) throw new ProtocolError("HELLO announced an empty dictionary", undefined, "hello.size");
    this.fetch = { id, size, coding: o.coding, listed: o.size, buf: new Uint8Array(size), got: 0, next: 0, pending: [] };
    this.stats.dictionaryState = "fetching in-band";
    this.requestChunks();
  }

  decline(): void {
    this.go("decline");
    this.stats.dictionaryState = "declined";
  }

  /** The in-band transfer failed its SHA-256 check or did not parse (close 1007). */
  failTransfer(error: AuraError): void {
    this.fail(error);
  }

  /** Consume one WebSocket message from the server; frames after close are ignored. */
  receive(frame: Uint8Array): void {
    if (this.state === "closed") return;
    try {
      if (isControlFrame(frame)) this.receiveControl(frame);
      else this.receiveData(frame);
    } catch (exc) {
      if (exc instanceof AuraError) this.fail(exc);
      else {
        this.failWith(CLOSE_INTERNAL_ERROR, "internal error");
        throw exc;
      }
    }
  }

  /** A text WebSocket message on an AURA connection is a protocol error (§3.3). */
  receiveText(): void {
    this.fail(new ProtocolError("text WebSocket message on an AURA connection", undefined, "message"));
  }

  fail(error: AuraError): void {
    this.failWith(error.closeCode, error.message);
  }

  private failWith(code: number, reason: string): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.evs.push({ type: "closed", code, reason: closeReason(reason) });
  }

  private receiveData(frame: Uint8Array): void {
    if (this.state === "await-hello") throw new ProtocolError("data frame before HELLO (HELLO is the server's first message)", undefined, "session.state");
    // a frame is at most its message plus the header and check byte (WF §3), plus a STATE
    // frame's instruction block; the decoder bounds the message itself
    const state = frame.length > 0 && (frame[0]! & 7) === METHOD_STATE;
    if (frame.length > this.opts.maxMessageSize + 2 + (state ? MAX_STATE_BLOCK : 0)) {
      throw new LimitError(`frame of ${frame.length} bytes exceeds max_message_size ${this.opts.maxMessageSize}`, undefined, "frame");
    }
    // §3.5: a STATE frame is a wrapper and needs no bit; the mask applies to its inner frame
    if (!state && frame.length > 0) this.checkDecodes(frame[0]! & 7);
    const d = this.decoder.decode(frame);
    if (state) this.checkDecodes(d.method);
    const st = this.stats;
    st.receivedMessages++;
    st.receivedWireBytes += frame.length;
    st.receivedRawBytes += d.data.length;
    const name = METHOD_NAMES[d.method]!;
    st.receivedMethods[name] = (st.receivedMethods[name] ?? 0) + 1;
    this.evs.push({ type: "message", data: d.string ?? d.data });
  }

  private checkDecodes(method: number): void {
    const mask = this.opts.decodes;
    if (mask !== undefined && ((mask >> method) & 1) === 0) {
      throw new ProtocolError(`server sent method ${METHOD_NAMES[method]}, which this client did not list in aura.decodes`, 0, "header.method");
    }
  }

  private receiveControl(frame: Uint8Array): void {
    const msg: Control = parseControl(frame);
    this.stats.controlReceivedBytes += frame.length;
    switch (msg.type) {
      case "hello":
        this.onHello(msg);
        break;
      case "use":
        this.go("recv use");
        if (msg.id !== this.useSent) throw new ProtocolError(`server USE names dictionary ${msg.id.slice(0, 12)}, not the one the client switched to`, undefined, "use.id");
        this.decoder = this.newDecoder(this.sendDict);
        this.stats.dictionaryState = "in use";
        this.evs.push({ type: "in-use", direction: "receive", id: msg.id });
        break;
      case "chunk":
        this.onChunk(msg.id, msg.offset, msg.data);
        break;
      case "get":
        throw new ProtocolError("GET sent to a client", undefined, "control.type");
      default:
        break; // optional control types are ignored (§4.4)
    }
  }

  private onHello(msg: Extract<Control, { type: "hello" }>): void {
    this.go("recv hello");
    this.maxChunk = msg.maxChunk;
    const got = new Map<number, number>();
    const optional = new Map<number, number>();
    for (const [k, v] of msg.params) {
      if (k < 9) got.set(k, v);
      else if (k < 64) throw new ProtocolError(`HELLO has unknown mandatory parameter key ${k}`, undefined, "hello.params");
      else optional.set(k, v);
    }
    for (const [k, v] of PARAM_DEFAULTS) if (!got.has(k)) got.set(k, v);
    for (let k = 0; k < 9; k++) if (!got.has(k)) throw new ProtocolError(`HELLO lacks parameter key ${k}`, undefined, "hello.params");
    const context = got.get(0)!;
    if (context > 1) throw new ProtocolError(`HELLO context flag must be 0 or 1, got ${context}`, undefined, "hello.context");
    const revision = got.get(1)!;
    if (revision !== CONTEXT_REVISION) throw new ProtocolError(`server runs context revision ${revision}, this client runs ${CONTEXT_REVISION}`, undefined, "hello.revision");
    const params = {} as ContextParams;
    PARAM_NAMES.forEach((name, i) => {
      const v = got.get(i + 2)!;
      const [lo, hi] = PARAM_RANGES[i]!;
      if (v < lo || v > hi) throw new ProtocolError(`server parameter out of range: ${PARAM_WIRE_NAMES[i]} = ${v}`, undefined, "hello.params");
      params[name] = v;
    });
    if (context === 1 && !this.opts.context) throw new ProtocolError("server uses context mode, which this client was configured to refuse", undefined, "hello.context");
    const need = params.window + params.zstdWindow + params.templateBrioWindow + params.maxRuntimeTemplateBytes;
    if (context === 1 && need > this.opts.maxContextMemory) {
      throw new ProtocolError(`server context needs ${need} bytes per direction, above this client's max_context_memory ${this.opts.maxContextMemory}`, undefined, "hello.params");
    }
    // transfer keys (§4.1.2)
    const tc = optional.get(64);
    let coding: "br" | "gzip" | null = null;
    if (tc !== undefined) {
      const name = CODINGS[tc];
      if (name === undefined || name === "" || !this.opts.codings.includes(name)) {
        throw new ProtocolError(`HELLO transfer_coding ${tc} names a coding this client did not offer`, undefined, "hello.transfer_coding");
      }
      coding = name;
    }
    const n = msg.dictionaries.length;
    if (this.opts.codings.length > 0) {
      for (const k of optional.keys()) {
        if (k >= 80 && k < 96 && (tc === undefined || k - 80 >= n)) throw new ProtocolError(`HELLO coded_size key ${k} without a matching transfer`, undefined, "hello.coded_size");
      }
      if (tc !== undefined) {
        for (let i = 0; i < n; i++) {
          const cs = optional.get(80 + i);
          if (cs === undefined || cs < 1) throw new ProtocolError(`HELLO lacks a valid coded_size for dictionary ${i} (key ${80 + i})`, undefined, "hello.coded_size");
        }
      }
    }
    this.params = params;
    this.context = context === 1;
    this.decoder = this.newDecoder(null);
    if (this.context) this.encoder = new ContextEncoder(null, params.window);
    const usable: Offered[] = [];
    msg.dictionaries.forEach((d, i) => {
      if (this.offered.has(d.id)) throw new ProtocolError(`HELLO lists dictionary ${d.id.slice(0, 12)} twice`, undefined, "hello.id");
      const saving = optional.get(96 + i);
      const o: Offered = { id: d.id, size: d.size, transferSize: coding !== null ? optional.get(80 + i)! : d.size, coding, saving: saving === undefined ? null : saving / 1000 };
      this.offered.set(d.id, o);
      if (d.size <= this.opts.maxDictionarySize) usable.push(o);
    });
    // a held dictionary named with aura.have: switch at once (§6.1.1)
    for (const d of msg.dictionaries) {
      const held = this.opts.held.find((h) => h.id === d.id);
      if (held !== undefined) {
        this.useDictionary(held);
        return;
      }
    }
    if (usable.length === 0) {
      this.go("decline");
      this.stats.dictionaryState = "none offered";
      return;
    }
    this.stats.dictionaryState = "offered";
    this.evs.push({ type: "offered", dictionaries: usable });
  }

  private onChunk(id: string, offset: number, data: Uint8Array): void {
    const f = this.fetch;
    if (f === null || this.state !== "fetching") {
      this.go("recv chunk");
      throw new ProtocolError("CHUNK while no transfer is in progress", undefined, "chunk");
    }
    if (id !== f.id) throw new ProtocolError(`CHUNK for dictionary ${id.slice(0, 12)}, not the one requested`, undefined, "chunk.id");
    const head = f.pending[0];
    if (head === undefined) throw new ProtocolError("CHUNK that was not requested", undefined, "chunk");
    if (offset !== head[0] || data.length !== head[1]) throw new ProtocolError(`CHUNK ${offset}+${data.length} does not answer GET ${head[0]}+${head[1]}`, undefined, "chunk.offset");
    f.pending.shift();
    f.buf.set(data, offset);
    f.got += data.length;
    if (f.got < f.size) {
      this.go("recv chunk");
      this.requestChunks();
      return;
    }
    this.go("recv last chunk");
    this.stats.dictionaryState = "verifying";
    this.evs.push({ type: "fetched", id: f.id, bytes: f.buf, coding: f.coding, size: f.listed });
  }

  private requestChunks(): void {
    const f = this.fetch!;
    while (f.pending.length < this.opts.fetchWindow && f.next < f.size) {
      const length = Math.min(this.maxChunk, f.size - f.next);
      f.pending.push([f.next, length]);
      const g = packGet(f.id, f.next, length);
      this.stats.controlSentBytes += g.length;
      this.out.push(g);
      f.next += length;
    }
  }
}
