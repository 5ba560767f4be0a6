/**
 * Per-direction template state of context mode (spec/templates.md §5): slot predictions
 * (`lasts`, `prev_text`), the MRU list and last masks, recent strings and runtime templates.
 *
 * Wire v2: the decoder follows instructions. The state changes only after an exact TEMPLATE
 * payload, from the template and values the payload itself names (`update`, §5.1), and by the
 * EVICT / DEFINE_JSON / DEFINE_TEXT / DEFINE_TEXT_RULE instructions of STATE frames (`apply`, §5.5). Nothing here
 * matches a message against templates or learns one. No I/O.
 */
import { ByteWriter, equal, key } from "../bytes.js";
import { FrameError, LimitError, PayloadError, UnknownTemplateError } from "../errors.js";
import { Reader } from "../varint.js";
import { AtomCtx } from "./atoms.js";
import { EMPTY_SET, KIND_JSON, KIND_TEXT, MAX_TOKENS, Template, type TemplateSet } from "./section.js";

const LAST_BUDGET_BYTES = 6144;
const LAST_BUDGET_TEMPLATES = 128;
const MAX_LAST = 128;
const RECENT_MIN_LEN = 4;
const RECENT_MAX_LEN = 128;
const PREV_TEXT_SLOTS = 2;
export const MRU_SIZE = 8;
const MAX_MASKS = 256;
const MAX_INSTRUCTIONS = 16;
const OP_EVICT = 0;
const OP_DEFINE_JSON = 1;
const OP_DEFINE_TEXT = 2;
const OP_DEFINE_TEXT_RULE = 3;
const SP = 0x20;
const EMPTY = new Uint8Array(0);

export type Preds = (Uint8Array | null)[] | null;

/** One STATE instruction (spec/wire-format.md §4.7): `args` are its integers after `k`. */
export interface Instruction {
  op: number;
  k: number;
  args: number[];
}

/** Parse `count` and the instructions at `buf[pos:]`: syntax only, FrameError (§4.7). */
export function parseInstructions(buf: Uint8Array, pos: number): { list: Instruction[]; end: number } {
  const r = new Reader(buf, pos, FrameError);
  const count = r.uv("state.count");
  if (count === 0 || count > MAX_INSTRUCTIONS) throw new FrameError(`STATE instruction count ${count} outside 1..${MAX_INSTRUCTIONS}`, r.pos, "state.count");
  const list: Instruction[] = [];
  for (let c = 0; c < count; c++) {
    if (r.pos >= buf.length) throw new FrameError("truncated STATE instruction", r.pos, "state.op");
    const op = buf[r.pos++]!;
    const k = r.uv("state.k");
    const args: number[] = [];
    if (op === OP_DEFINE_JSON) {
      const nholes = r.uv("state.holes");
      if (nholes > Math.floor((buf.length - r.pos) / 2)) throw new FrameError("STATE hole count exceeds the frame", r.pos, "state.holes");
      args.push(nholes);
      for (let i = 0; i < 2 * nholes; i++) args.push(r.uv("state.hole"));
    } else if (op === OP_DEFINE_TEXT) {
      const ntok = r.uv("state.tokens");
      if (ntok === 0 || ntok > MAX_TOKENS) throw new FrameError(`STATE token count ${ntok} outside 1..${MAX_TOKENS}`, r.pos, "state.tokens");
      args.push(ntok);
      for (let i = 0; i < ntok; i++) parseTokdesc(r, args);
      parseSeps(r, args, ntok + 1);
    } else if (op === OP_DEFINE_TEXT_RULE) {
      const nover = r.uv("state.overrides");
      if (nover > MAX_TOKENS) throw new FrameError(`STATE override count ${nover} above ${MAX_TOKENS}`, r.pos, "state.overrides");
      args.push(nover);
      for (let i = 0; i < nover; i++) {
        args.push(r.uv("state.skip"));
        parseTokdesc(r, args);
      }
      parseSeps(r, args, MAX_TOKENS + 1);
    } else if (op !== OP_EVICT) throw new FrameError(`unknown STATE instruction ${op}`, r.pos - 1, "state.op");
    list.push({ op, k, args });
  }
  return { list, end: r.pos };
}

/** One tokdesc of a text DEFINE: `0` (literal) or `d slen` (slot), pushed onto `args`. */
function parseTokdesc(r: Reader, args: number[]): void {
  const d = r.uv("state.token");
  args.push(d);
  if (d) args.push(r.uv("state.suffix"));
}

/** `nvar` (at most `most`) and the variable separator indices of a text DEFINE. */
function parseSeps(r: Reader, args: number[], most: number): void {
  const nvar = r.uv("state.seps");
  if (nvar > most) throw new FrameError("more variable separators than separators", r.pos, "state.seps");
  args.push(nvar);
  for (let i = 0; i < nvar; i++) args.push(r.uv("state.sep"));
}

/** DEFINE_JSON (§5.5): `m` with the listed byte ranges cut out as slots. */
function buildJson(m: Uint8Array, args: number[]): Template {
  const nholes = args[0]!;
  if (nholes > m.length) throw new PayloadError("DEFINE_JSON has more holes than the message has bytes", undefined, "state.holes");
  const gaps: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < nholes; i++) {
    const start = at + args[1 + 2 * i]!;
    const ln = args[2 + 2 * i]!;
    if (ln < 1 || start > m.length || ln > m.length - start) throw new PayloadError(`DEFINE_JSON hole ${i} runs past the message`, undefined, "state.hole");
    gaps.push(m.slice(at, start));
    at = start + ln;
  }
  gaps.push(m.slice(at));
  return Template.json(0, gaps, new Map());
}

/** The slot values of a DEFINE_JSON's message `m`: its holes' bytes, in order (`args` as buildJson checked them). */
function holeValues(m: Uint8Array, args: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < args[0]!; i++) {
    const start = at + args[1 + 2 * i]!;
    at = start + args[2 + 2 * i]!;
    out.push(m.slice(start, at));
  }
  return out;
}

/** The slot values (§2.2) of `m` in text template `t`, defined from it: each variable separator's
 * run of spaces and each slot token without its affixes, in message order. */
function textValues(t: Template, m: Uint8Array): Uint8Array[] {
  const { toks, seps } = tokensOf(m);
  const out: Uint8Array[] = [];
  for (let i = 0; i <= toks.length; i++) {
    if (t.seps[i]! < 0) out.push(new Uint8Array(seps[i]!).fill(SP));
    if (i === toks.length) break;
    const tok = toks[i]!;
    if (t.slot[i]) out.push(tok.slice(t.pre[i]!.length, tok.length - t.suf[i]!.length));
  }
  return out;
}

/** `m`'s tokens (maximal runs of bytes other than 0x20) and the lengths of the separators around them. */
function tokensOf(m: Uint8Array): { toks: Uint8Array[]; seps: number[] } {
  const toks: Uint8Array[] = [];
  const seps: number[] = [];
  const n = m.length;
  for (let i = 0; ;) {
    let j = i;
    while (j < n && m[j] === SP) j++;
    seps.push(j - i);
    if (j >= n) break;
    let k = j + 1;
    while (k < n && m[k] !== SP) k++;
    toks.push(m.subarray(j, k));
    i = k;
  }
  return { toks, seps };
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
/** Punctuation for the rule: not an ASCII letter or digit, and below 0x80. */
const isPunct = (c: number): boolean => !(isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c >= 0x80);

/** The fixed rule of DEFINE_TEXT_RULE (§5.5) for one token, as a tokdesc [d, slen] ([0, 0]: literal). */
function ruleDesc(tok: Uint8Array): [number, number] {
  const n = tok.length;
  let digit = -1;
  for (let i = 0; i < n; i++) if (isDigit(tok[i]!)) { digit = i; break; }
  if (digit < 0 && n <= 32) return [0, 0];
  const stop = digit < 0 ? n : digit;
  let p = 0; // prefix: through the last punctuation byte before the first digit
  for (let i = 0; i < stop; i++) if (isPunct(tok[i]!)) p = i + 1;
  let cut = n; // suffix of the rest: from the first punctuation byte after its last digit
  for (let i = n - 1; i >= p && !isDigit(tok[i]!); i--) if (isPunct(tok[i]!)) cut = i;
  return [p + 1, n - cut];
}

/** DEFINE_TEXT_RULE (§5.5): DEFINE_TEXT with each tokdesc given by the rule, except the overridden ones. */
function buildTextRule(m: Uint8Array, args: number[]): Template {
  const { toks, seps } = tokensOf(m);
  const ntok = toks.length;
  if (ntok === 0 || ntok > MAX_TOKENS) throw new PayloadError(`DEFINE_TEXT_RULE on a message of ${ntok} tokens (1..${MAX_TOKENS})`, undefined, "state.tokens");
  const descs = toks.map(ruleDesc);
  let j = 1;
  let at = -1;
  for (let c = 0; c < args[0]!; c++) {
    at += 1 + args[j]!;
    if (at >= ntok) throw new PayloadError(`DEFINE_TEXT_RULE overrides token ${at} of ${ntok}`, undefined, "state.skip");
    const d = args[j + 1]!;
    j += 2;
    descs[at] = [d, d ? args[j++]! : 0];
  }
  const targs = [ntok];
  for (const [d, s] of descs) {
    targs.push(d);
    if (d) targs.push(s);
  }
  for (; j < args.length; j++) targs.push(args[j]!);
  return textTemplate(toks, seps, targs);
}

/** DEFINE_TEXT (§5.5): `m`'s space-separated tokens, each literal or a slot with affixes kept. */
function buildText(m: Uint8Array, args: number[]): Template {
  const { toks, seps } = tokensOf(m);
  return textTemplate(toks, seps, args);
}

function textTemplate(toks: Uint8Array[], seps: number[], args: number[]): Template {
  const ntok = args[0]!;
  if (ntok !== toks.length) throw new PayloadError(`DEFINE_TEXT describes ${ntok} tokens, the message has ${toks.length}`, undefined, "state.tokens");
  const ltoks: Uint8Array[] = [];
  const slot: boolean[] = [];
  const pre: Uint8Array[] = [];
  const suf: Uint8Array[] = [];
  let j = 1;
  for (let i = 0; i < ntok; i++) {
    const d = args[j++]!;
    const tok = toks[i]!;
    if (d === 0) {
      ltoks.push(tok.slice());
      slot.push(false);
      pre.push(EMPTY);
      suf.push(EMPTY);
      continue;
    }
    const s = args[j++]!;
    if (d - 1 + s > tok.length) throw new PayloadError(`DEFINE_TEXT affixes of token ${i} are longer than the token`, undefined, "state.token");
    ltoks.push(EMPTY);
    slot.push(true);
    pre.push(tok.slice(0, d - 1));
    suf.push(tok.slice(tok.length - s));
  }
  const nvar = args[j++]!;
  let last = -1;
  for (let i = 0; i < nvar; i++) {
    const v = args[j++]!;
    if (v <= last || v > ntok) throw new PayloadError("DEFINE_TEXT separator indices not ascending or out of range", undefined, "state.sep");
    seps[v] = -1;
    last = v;
  }
  return Template.text(ltoks, slot, pre, suf, seps);
}

/** Bit i set when slot i (< 63) equals its prediction. */
export function sameMask(preds: Preds, values: Uint8Array[]): bigint {
  if (preds === null) return 0n;
  let lo = 0; // bits 0..29 as a number, the rest as bigint only when present
  let hi = 0n;
  const n = Math.min(values.length, 63);
  for (let i = 0; i < n; i++) {
    const p = preds[i];
    if (p !== null && p !== undefined && equal(p, values[i]!)) {
      if (i < 30) lo |= 1 << i;
      else hi |= 1n << BigInt(i);
    }
  }
  return hi | BigInt(lo);
}

function keyOf(t: Template, first: Uint8Array): string | null {
  if (t.kind === KIND_JSON && first.length >= 2 && first.length <= 64 && first[0] === 0x22) return key(first);
  return null;
}

/** The template state of one direction, as a decoder keeps it (§5). */
export class TemplateState {
  readonly set: TemplateSet;
  readonly cx: AtomCtx;
  private readonly maxRuntime: number;
  private readonly base: number;
  private readonly runtime = new Map<number, Template>();
  private rtBytes = 0;
  /** lasts, least recently written first; key `${tid}` or `${tid}:${first}`. */
  private readonly lasts = new Map<string, { tid: number; values: (Uint8Array | null)[] }>();
  private lastBytes = 0;
  private prevText: Uint8Array[] = [];
  private mru: number[] = [];
  private readonly masks = new Map<number, bigint>();
  private out: ByteWriter | null = null;

  constructor(
    templates: TemplateSet | null,
    readonly context: boolean,
    maxRuntime: number,
    private readonly maxBytes: number,
    /** the template state budget (session.md §4.1.1 key 8): predicted values' bytes (§5.6) */
    private readonly lastBudget: number = LAST_BUDGET_BYTES,
  ) {
    this.set = templates ?? EMPTY_SET;
    this.cx = new AtomCtx(this.set.strings);
    // the recent-string table's share (§4.4): 64 strings, 2048 bytes at the default 6144
    this.cx.recentMax = Math.floor(lastBudget / 96);
    this.cx.recentLimit = Math.floor(lastBudget / 3);
    this.maxRuntime = context ? maxRuntime : 0;
    this.base = this.set.nextId;
  }

  /** The payload decoder's output buffer, reused from frame to frame (its contents are copied
   * out before the next frame); one that grew past 64 KiB for a large message is not kept. */
  scratch(): ByteWriter {
    let w = this.out;
    if (w === null || w.buf.length > 65536) w = this.out = new ByteWriter(256);
    w.len = 0;
    return w;
  }

  template(tid: number): Template | undefined {
    return this.set.templates.get(tid) ?? this.runtime.get(tid);
  }

  /** The template a reference names (§4): MRU rank or id in context mode. */
  resolve(r: number): [number, Template] {
    let tid = r;
    if (this.context) {
      if (r < MRU_SIZE) {
        if (r >= this.mru.length) throw new UnknownTemplateError(`recent-template rank ${r} is not defined`, 0, "template.ref");
        tid = this.mru[r]!;
      } else tid = r - MRU_SIZE;
    }
    const t = this.template(tid);
    if (t === undefined) throw new UnknownTemplateError(`template id ${tid} is not defined`, 0, "template.ref");
    return [tid, t];
  }

  lastMask(tid: number): bigint {
    return this.masks.get(tid) ?? 0n;
  }

  /** Per-slot predictions (§5.2); `first`: this message's slot 0 value (JSON keyed lasts). */
  predictions(tid: number, t: Template, first: Uint8Array | null): Preds {
    if (!this.context) return null;
    const base = this.lasts.get(String(tid))?.values ?? null;
    if (t.kind === KIND_TEXT) {
      const prev = this.prevText;
      if (prev.length === 0 || t.nslots === 0) return base;
      const preds: (Uint8Array | null)[] = base !== null ? base.slice() : new Array<Uint8Array | null>(t.nslots).fill(null);
      const m = Math.min(prev.length, t.nslots, PREV_TEXT_SLOTS);
      for (let i = 0; i < m; i++) preds[i] = prev[i]!;
      return preds;
    }
    if (first === null) return base;
    const k = keyOf(t, first);
    const keyed = k === null ? undefined : this.lasts.get(`${tid}:${k}`);
    if (keyed === undefined) return base;
    return [base !== null ? (base[0] ?? null) : null, ...keyed.values.slice(1)];
  }

  /** §5.1 steps 1-5 after an exact payload naming `tid` with slot `values`; `mask`: the slots
   * equal to their prediction before this update. The state keeps `values` (and views of them)
   * without copying: the caller hands over arrays nothing else holds or writes. */
  update(tid: number, t: Template, values: Uint8Array[], mask: bigint): void {
    if (!this.context) return;
    this.masks.delete(tid);
    this.masks.set(tid, mask);
    if (this.masks.size > MAX_MASKS) this.masks.delete(this.masks.keys().next().value as number);
    const i = this.mru.indexOf(tid);
    if (i >= 0) this.mru.splice(i, 1);
    this.mru.unshift(tid);
    if (this.mru.length > MRU_SIZE) this.mru.pop();
    this.putLasts(String(tid), tid, values);
    if (values.length > 0) {
      const k = keyOf(t, values[0]!);
      if (k !== null) this.putLasts(`${tid}:${k}`, tid, values);
    }
    const isJson = t.kind === KIND_JSON;
    for (let v of values) {
      if (isJson) {
        if (v.length < 2 || v[0] !== 0x22) continue;
        v = v.subarray(1, v.length - 1);
      }
      if (v.length >= RECENT_MIN_LEN && v.length <= RECENT_MAX_LEN) this.cx.addRecent(v);
    }
    if (t.kind === KIND_TEXT) {
      const prev: Uint8Array[] = [];
      for (const v of values.slice(0, PREV_TEXT_SLOTS)) {
        if (v.length > MAX_LAST) break;
        prev.push(v);
      }
      this.prevText = prev;
    }
  }

  /** A STATE frame's instructions, in order, after its message `m` was decoded (§5.5). */
  apply(list: Instruction[], m: Uint8Array): void {
    for (const ins of list) {
      const tid = this.base + ins.k;
      if (ins.op === OP_EVICT) {
        if (!this.runtime.has(tid)) throw new PayloadError(`EVICT of runtime template ${ins.k}, which is not defined`, undefined, "state.k");
        this.evict(tid);
        continue;
      }
      if (ins.k >= this.maxRuntime) throw new LimitError(`runtime template ${ins.k} beyond max_runtime_templates ${this.maxRuntime}`, undefined, "state.k");
      const t = ins.op === OP_DEFINE_JSON ? buildJson(m, ins.args) : ins.op === OP_DEFINE_TEXT ? buildText(m, ins.args) : buildTextRule(m, ins.args);
      const old = this.runtime.get(tid);
      const others = this.rtBytes - (old !== undefined ? old.size : 0);
      if (others + t.size > this.maxBytes) {
        throw new LimitError(`runtime templates would take ${others + t.size} bytes, above max_runtime_template_bytes ${this.maxBytes}`, undefined, "state.define");
      }
      if (old !== undefined) this.evict(tid);
      this.runtime.set(tid, t);
      this.rtBytes += t.size;
      // m is the new template's first message: its values are the predictions (§5.5)
      this.update(tid, t, ins.op === OP_DEFINE_JSON ? holeValues(m, ins.args) : textValues(t, m), 0n);
    }
  }

  private evict(tid: number): void {
    this.rtBytes -= this.runtime.get(tid)!.size;
    this.runtime.delete(tid);
    for (const [lk, e] of [...this.lasts]) if (e.tid === tid) this.dropEntry(lk);
    this.masks.delete(tid);
    const i = this.mru.indexOf(tid);
    if (i >= 0) this.mru.splice(i, 1);
  }

  private putLasts(lk: string, tid: number, values: Uint8Array[]): void {
    this.dropEntry(lk);
    const stored = values.map((v) => (v.length <= MAX_LAST ? v : null));
    for (const v of stored) if (v !== null) this.lastBytes += v.length;
    this.lasts.set(lk, { tid, values: stored });
    while (this.lastBytes > this.lastBudget || this.lasts.size > LAST_BUDGET_TEMPLATES) {
      this.dropEntry(this.lasts.keys().next().value as string);
    }
  }

  private dropEntry(lk: string): void {
    const old = this.lasts.get(lk);
    if (old === undefined) return;
    this.lasts.delete(lk);
    for (const v of old.values) if (v !== null) this.lastBytes -= v.length;
  }
}
