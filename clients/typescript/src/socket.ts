/**
 * `AuraSocket`: a WebSocket-shaped socket that speaks AURA (spec/session.md) when the server
 * selects it and is a plain WebSocket otherwise. The adapter: it moves frames between a
 * `WebSocket` and the sans-I/O `ClientSession`, fetches the dictionary over HTTP
 * (`/_aura/dict/<id>`, same origin) or in-band, keeps it in a store, and verifies it by hash on
 * every load. Reconnection stays the application's business, as with `WebSocket`.
 */
import type { Codecs } from "./codecs.js";
import { Dictionary } from "./dictionary.js";
import { type DictionaryStore, defaultStore } from "./dictstore.js";
import { AuraError, DictionaryFormatError } from "./errors.js";
import { ClientSession, type Offered, type SessionOptions, type Stats, hintTokens } from "./session.js";
import { decodeTransfer } from "./transfer.js";

export const SUBPROTOCOL = "aura.v1";

export interface AuraSocketOptions extends SessionOptions {
  /** Where dictionaries come from: "http" (the endpoint, then in-band), "inband", "none". */
  dictionary?: "http" | "inband" | "none";
  /** Dictionary store (default: Cache API when available, else memory). */
  store?: DictionaryStore;
  /** Optional decoders for ZSTD and BROTLI (`aura-wire/zstd`, `aura-wire/brotli`). */
  codecs?: Codecs;
  /** WebSocket constructor (default: the global one). */
  WebSocket?: typeof WebSocket;
  /** fetch (default: the global one). */
  fetch?: typeof fetch;
  /** URL of a dictionary (default: `/_aura/dict/<id>` on the socket's origin, spec/session.md §6.5). */
  dictionaryUrl?: (id: string) => string;
}

/** The subprotocols to offer (spec/session.md §3.1). */
export function offerFor(protocols: string[]): string[] {
  if (protocols.length === 0) return [SUBPROTOCOL];
  return [...protocols.map((p) => `${SUBPROTOCOL}.${p}`), ...protocols];
}

/** Client close codes: the WebSocket API lets a page send only 1000 and 3000-4999, so the
 * session's 1002/1007/1009/1011 go out as 4002/4007/4009/4011 (spec/session.md §7). */
export function wireCloseCode(code: number): number {
  return code === 1000 || (code >= 3000 && code <= 4999) ? code : 4000 + (code - 1000);
}

type Handler = ((this: AuraSocket, ev: Event) => unknown) | null;

export class AuraSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;

  readonly url: string;
  onopen: Handler = null;
  onmessage: ((this: AuraSocket, ev: MessageEvent) => unknown) | null = null;
  onclose: ((this: AuraSocket, ev: CloseEvent) => unknown) | null = null;
  onerror: Handler = null;
  /** True once the server selected AURA; false for a plain WebSocket connection. */
  aura = false;
  /** The session (null on a plain connection). */
  session: ClientSession | null = null;

  private ws: WebSocket;
  private readonly ctor: typeof WebSocket;
  private readonly appProtocols: string[];
  /** Offered AURA and the server failed the handshake (a browser fails it when the server selects
   * no subprotocol): the socket reconnects once with the application's protocols only. */
  private retriedPlain = false;
  private everOpened = false;
  /** Resolves when the session exists (after the held dictionaries are loaded). */
  private sessionReady: Promise<void> = Promise.resolve();
  private opts: AuraSocketOptions;
  private readonly store: DictionaryStore;
  private binType: BinaryType = "blob";
  private appProtocol = "";
  private failed: { code: number; reason: string } | null = null;
  private sendChain: Promise<void> | null = null;
  private plainIn = 0;
  private plainRawIn = 0;
  /** Held dictionaries named in the offer, loaded and verified while the handshake runs. */
  private readonly ready: Promise<Dictionary[]>;
  private queue: MessageEvent[] | null = [];
  /** An offered dictionary waiting until it pays (spec/session.md §6.8). */
  private deferred: { offer: Offered; cost: number } | null = null;
  private obtaining: Promise<void> = Promise.resolve();
  /** event types an addEventListener listener was ever added for (the others are not dispatched) */
  private readonly listened = new Set<string>();

  constructor(url: string | URL, protocols: string | string[] = [], options: AuraSocketOptions = {}) {
    super();
    this.url = String(url);
    const ctor = options.WebSocket ?? globalThis.WebSocket;
    const list = typeof protocols === "string" ? [protocols] : protocols;
    this.store = options.store ?? defaultStore((id) => this.dictionaryUrl(id));
    const named = options.dictionary === "none" ? [] : this.store.heldIds().slice(0, 4);
    this.ready = Promise.all(named.map((id) => this.fromStore(id))).then((ds) => ds.filter((d): d is Dictionary => d !== null));
    // every method but ZSTD/BROTLI is in the core; those two need their modules (§3.5)
    const decodes = 0x39 | (options.codecs?.zstd ? 0x02 : 0) | (options.codecs?.brotli ? 0x04 : 0);
    const codings: ("br" | "gzip")[] = [];
    if (options.codecs?.brotli) codings.push("br");
    if (typeof DecompressionStream !== "undefined") codings.push("gzip");
    this.opts = { ...options, decodes: options.decodes ?? decodes, codings: options.codings ?? codings };
    const hints = hintTokens({ ...this.opts, held: named.map((id) => ({ id }) as Dictionary) });
    this.ctor = ctor;
    this.appProtocols = list;
    this.ws = this.connect([...offerFor(list), ...hints]);
  }

  private connect(offer: string[]): WebSocket {
    const ws = new this.ctor(this.url, offer);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => this.onOpen();
    ws.onmessage = (ev) => this.onWsMessage(ev);
    ws.onerror = () => {
      if (!this.everOpened && !this.retriedPlain) return; // reported only if the plain retry fails too
      this.emit(new Event("error"));
    };
    ws.onclose = (ev) => this.onWsClose(ev);
    return ws;
  }

  get readyState(): number {
    if (this.failed !== null) return this.ws.readyState === 3 ? 3 : 2;
    return this.ws.readyState;
  }

  get protocol(): string {
    return this.aura ? this.appProtocol : this.ws.protocol;
  }

  get extensions(): string {
    return this.ws.extensions;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** Resolves once the dictionary the server offered was looked up (store, HTTP) and, when it
   * was found, stored: a page can wait for it before it leaves, so the next visit has it cached. */
  get dictionarySettled(): Promise<void> {
    return this.ready.then(() => this.obtaining);
  }

  get binaryType(): BinaryType {
    return this.binType;
  }

  set binaryType(t: BinaryType) {
    this.binType = t;
    if (!this.aura && this.ws.readyState !== 0) this.ws.binaryType = t;
  }

  /** Bytes in and out, ratio and dictionary state. */
  get stats(): Stats | { receivedMessages: number; receivedWireBytes: number; receivedRawBytes: number; ratio: number; dictionaryState: string } {
    if (this.session !== null) return this.session.stats;
    return { receivedMessages: this.plainIn, receivedWireBytes: this.plainRawIn, receivedRawBytes: this.plainRawIn, ratio: 1, dictionaryState: "plain WebSocket" };
  }

  /**
   * Send a message, as `WebSocket.send`. `options.sensitive`: code it with no shared state (no
   * dictionary, no context: a secret beside attacker-chosen text cannot be guessed from frame
   * sizes, CRIME/BREACH); other messages are context frames when the server runs context mode.
   */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob, options?: { sensitive?: boolean }): void {
    const sensitive = options?.sensitive === true;
    if (this.readyState === 0) throw new DOMException("AuraSocket is still CONNECTING", "InvalidStateError");
    if (this.readyState !== 1) return;
    if (!this.aura) {
      this.ws.send(data as string);
      return;
    }
    // in order: a Blob is read asynchronously and the session starts once the held dictionaries
    // are loaded, so while either is pending later sends queue behind them
    const isBlob = typeof Blob !== "undefined" && data instanceof Blob;
    if (isBlob || this.session === null || this.sendChain !== null) {
      const copy = isBlob ? null : this.bytesOf(data as string | ArrayBufferLike | ArrayBufferView, true);
      const prev = this.sendChain ?? this.sessionReady;
      const next = prev.then(async () => this.sendNow(copy ?? new Uint8Array(await (data as Blob).arrayBuffer()), sensitive));
      this.sendChain = next;
      void next.then(() => {
        if (this.sendChain === next) this.sendChain = null;
      });
      return;
    }
    this.sendNow(this.bytesOf(data as string | ArrayBufferLike | ArrayBufferView, false), sensitive);
  }

  private bytesOf(data: string | ArrayBufferLike | ArrayBufferView, copy: boolean): string | Uint8Array {
    if (typeof data === "string") return data;
    const b = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data as ArrayBuffer);
    return copy ? b.slice() : b;
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }

  private sendNow(data: string | Uint8Array, sensitive: boolean): void {
    const s = this.session;
    if (s === null || s.closed) return;
    s.send(data, sensitive);
    this.flush();
  }

  private flush(): void {
    const s = this.session;
    if (s === null) return;
    for (const f of s.dataToSend()) if (this.ws.readyState === 1) this.ws.send(f);
    for (const ev of s.events()) this.onSessionEvent(ev);
    const d = this.deferred;
    if (d !== null && s.state === "offered" && d.offer.saving !== null) {
      const n = s.stats.receivedMessages + s.stats.sentMessages;
      if (n * d.offer.saving >= d.cost) {
        this.deferred = null;
        void this.obtain(d.offer, true);
      }
    }
  }

  private onOpen(): void {
    this.everOpened = true;
    const sel = this.ws.protocol;
    this.aura = sel === SUBPROTOCOL || sel.startsWith(`${SUBPROTOCOL}.`);
    if (this.aura) {
      this.appProtocol = sel === SUBPROTOCOL ? "" : sel.slice(SUBPROTOCOL.length + 1);
    } else this.ws.binaryType = this.binType;
    this.emit(new Event("open"));
    if (!this.aura) {
      this.queue = null;
      return;
    }
    // frames wait until the held dictionaries are loaded: HELLO may switch to one at once
    this.sessionReady = this.ready.then((held) => {
      this.session = new ClientSession({ ...this.opts, held });
      const q = this.queue ?? [];
      this.queue = null;
      for (const ev of q) this.onWsMessage(ev);
    });
  }

  private onWsMessage(ev: MessageEvent): void {
    if (!this.aura) {
      this.plainIn++;
      this.plainRawIn += typeof ev.data === "string" ? ev.data.length : (ev.data as ArrayBuffer).byteLength ?? 0;
      this.emit(new MessageEvent("message", { data: ev.data }));
      return;
    }
    if (this.queue !== null) {
      this.queue.push(ev);
      return;
    }
    const s = this.session!;
    const t0 = performance.now();
    if (typeof ev.data === "string") s.receiveText();
    else s.receive(new Uint8Array(ev.data as ArrayBuffer));
    s.stats.decodeMs += performance.now() - t0;
    this.flush();
  }

  private onSessionEvent(ev: ReturnType<ClientSession["events"]>[number]): void {
    switch (ev.type) {
      case "message": {
        let data: unknown = ev.data;
        if (typeof ev.data !== "string") {
          const b = ev.data;
          data = this.binType === "blob" && typeof Blob !== "undefined" ? new Blob([b as Uint8Array<ArrayBuffer>]) : b.buffer.byteLength === b.byteLength ? b.buffer : b.slice().buffer;
        }
        this.emit(new MessageEvent("message", { data }));
        break;
      }
      case "offered":
        this.obtaining = this.obtain(ev.dictionaries[0]!, false);
        break;
      case "fetched":
        void this.verifyFetched(ev.id, ev.bytes, ev.coding, ev.size);
        break;
      case "closed":
        this.failed = { code: ev.code, reason: ev.reason };
        this.emit(new Event("error"));
        if (this.ws.readyState <= 1) this.ws.close(wireCloseCode(ev.code), ev.reason);
        break;
      default:
        break;
    }
  }

  private dictionaryUrl(id: string): string {
    if (this.opts?.dictionaryUrl !== undefined) return this.opts.dictionaryUrl(id);
    const u = new URL(this.url);
    u.protocol = u.protocol === "wss:" ? "https:" : "http:";
    u.pathname = `/_aura/dict/${id}`;
    u.search = "";
    u.hash = "";
    return u.toString();
  }

  /** Get a dictionary the server offered: store, then (when it pays, §6.8) HTTP, then in-band. */
  private async obtain(offer: Offered, pays: boolean): Promise<void> {
    const mode = this.opts.dictionary ?? "http";
    const s = this.session!;
    const id = offer.id;
    if (mode === "none") {
      s.decline();
      return;
    }
    const stored = mode === "http" ? await this.fromStore(id) : null;
    if (s.closed || s.state !== "offered") return;
    if (stored !== null) {
      s.useDictionary(stored);
      this.flush();
      return;
    }
    if (!pays && offer.saving !== null && offer.saving > 0) {
      // rent or buy: fetch once n x saving >= transfer cost (spec/session.md §6.8)
      const chunks = Math.ceil(offer.transferSize / 16384);
      this.deferred = { offer, cost: mode === "http" ? offer.size : offer.transferSize + 40 * chunks };
      this.flush();
      return;
    }
    if (mode === "http") {
      const d = await this.fromHttp(id);
      if (s.closed || s.state !== "offered") return;
      if (d !== null) {
        s.useDictionary(d);
        this.flush();
        return;
      }
    }
    s.fetchDictionary(id);
    this.flush();
  }

  private async fromStore(id: string): Promise<Dictionary | null> {
    try {
      const bytes = await this.store.get(id);
      if (bytes === null) return null;
      try {
        return await Dictionary.fromBytes(bytes, id);
      } catch {
        await this.store.delete(id); // corrupt entry: discard and fetch again (§6.2)
        return null;
      }
    } catch {
      return null;
    }
  }

  private async fromHttp(id: string): Promise<Dictionary | null> {
    try {
      const f = this.opts.fetch ?? globalThis.fetch;
      const res = await f(this.dictionaryUrl(id));
      if (!res.ok) return null;
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.length > (this.opts.maxDictionarySize ?? 4 * 1024 * 1024)) return null;
      const d = await Dictionary.fromBytes(bytes, id);
      await this.store.put(id, bytes).catch(() => undefined);
      return d;
    } catch {
      return null;
    }
  }

  private async verifyFetched(id: string, coded: Uint8Array, coding: "br" | "gzip" | null, size: number): Promise<void> {
    const s = this.session!;
    let d: Dictionary;
    let bytes: Uint8Array;
    try {
      bytes = await decodeTransfer(coded, coding, size, this.opts.codecs);
      d = await Dictionary.fromBytes(bytes, id);
    } catch (exc) {
      s.failTransfer(exc instanceof AuraError ? exc : new DictionaryFormatError(String(exc)));
      this.flush();
      return;
    }
    if (s.closed) return;
    await this.store.put(id, bytes).catch(() => undefined);
    s.useDictionary(d);
    this.flush();
  }

  private onWsClose(ev: CloseEvent): void {
    if (!this.everOpened && !this.retriedPlain) {
      // spec/session.md §3.1: a server without AURA selects no subprotocol, which a browser treats
      // as a failed handshake when it offered some; retry once as a plain WebSocket
      this.retriedPlain = true;
      this.ws = this.connect(this.appProtocols);
      return;
    }
    const f = this.failed;
    const init = f !== null ? { code: f.code, reason: f.reason, wasClean: false } : { code: ev.code, reason: ev.reason, wasClean: ev.wasClean };
    this.emit(new CloseEvent("close", init));
  }

  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: AddEventListenerOptions | boolean): void {
    this.listened.add(type);
    super.addEventListener(type, listener, options);
  }

  private emit(ev: Event): void {
    const h = (this as unknown as Record<string, unknown>)[`on${ev.type}`];
    if (typeof h === "function") (h as (e: Event) => unknown).call(this, ev);
    // dispatching costs the browser's event path per message even with no listener
    if (this.listened.has(ev.type)) this.dispatchEvent(ev);
  }
}
