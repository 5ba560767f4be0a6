/**
 * Per-direction template state of context mode (spec/templates.md §5): slot predictions
 * (`lasts`, `prev_text`), the MRU list and last masks, recent strings and runtime templates.
 *
 * Wire v1 keeps the decoder in step with the encoder by re-running `match` and the runtime
 * learner (§5.1, §5.5) after every context frame; that part is isolated in `commit`/`observe`
 * and the `learn*` methods so that an explicit-definition rule (wire v2) replaces it here only.
 * No I/O.
 */
import { equal, key } from "../bytes.js";
import { UnknownTemplateError } from "../errors.js";
import { AtomCtx } from "./atoms.js";
import { K_ARR, type Node, gapsOf, hasLongArray, holes, parse, skeleton } from "./json.js";
import { EMPTY_SET, KIND_JSON, KIND_TEXT, LEVELS, MAX_TOKENS, Template, type TemplateSet, textKey } from "./section.js";

const MAX_MATCH_BYTES = 65536;
const LAST_BUDGET_BYTES = 6144;
const LAST_BUDGET_TEMPLATES = 128;
const MAX_LAST = 128;
const RECENT_MIN_LEN = 4;
const RECENT_MAX_LEN = 128;
const PREV_TEXT_SLOTS = 2;
export const MRU_SIZE = 8;
const MAX_MASKS = 256;
const SP = 0x20;
const EMPTY = new Uint8Array(0);

/** A template match: id, template, slot values. */
export interface Match {
  tid: number;
  tmpl: Template;
  values: Uint8Array[];
}

export type Preds = (Uint8Array | null)[] | null;

/** What the payload decoder needs from the state (the seam wire v2 changes behind). */
export interface TemplateState {
  readonly context: boolean;
  readonly cx: AtomCtx;
  /** The template a reference names (§4): MRU rank or id in context mode. */
  resolve(r: number): [number, Template];
  lastMask(tid: number): bigint;
  predictions(tid: number, t: Template, first: Uint8Array | null): Preds;
  /** Update after a context frame (§5.1): `m` is the exact payload's match, null otherwise. */
  commit(data: Uint8Array, m: Match | null): void;
}

export function tokenize(data: Uint8Array): [Uint8Array[], number[]] | null {
  const toks: Uint8Array[] = [];
  const seps: number[] = [];
  const n = data.length;
  let i = 0;
  for (;;) {
    let j = i;
    while (j < n && data[j] === SP) j++;
    seps.push(j - i);
    if (j >= n) break;
    let k = j + 1;
    while (k < n && data[k] !== SP) k++;
    toks.push(data.subarray(j, k));
    if (toks.length > MAX_TOKENS) return null;
    i = k;
  }
  if (toks.length === 0) return null;
  return [toks, seps];
}

function startsWith(a: Uint8Array, p: Uint8Array): boolean {
  if (p.length > a.length) return false;
  for (let i = 0; i < p.length; i++) if (a[i] !== p[i]) return false;
  return true;
}

function endsWith(a: Uint8Array, s: Uint8Array): boolean {
  if (s.length > a.length) return false;
  const o = a.length - s.length;
  for (let i = 0; i < s.length; i++) if (a[o + i] !== s[i]) return false;
  return true;
}

function fits(tok: Uint8Array, p: Uint8Array, s: Uint8Array): boolean {
  return tok.length >= p.length + s.length && startsWith(tok, p) && endsWith(tok, s);
}

export function textMatches(t: Template, toks: Uint8Array[], seps: number[]): boolean {
  if (toks.length !== t.toks.length) return false;
  for (let i = 0; i < toks.length; i++) {
    if (t.slot[i]) {
      if (!fits(toks[i]!, t.pre[i]!, t.suf[i]!)) return false;
    } else if (!equal(toks[i]!, t.toks[i]!)) return false;
  }
  for (let i = 0; i < seps.length; i++) if (t.seps[i]! >= 0 && t.seps[i] !== seps[i]) return false;
  return true;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isWordByte(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c >= 0x80;
}

function punctPrefix(a: Uint8Array): Uint8Array {
  let cut = 0;
  for (let i = 0; i < a.length; i++) {
    const c = a[i]!;
    if (isDigit(c)) break;
    if (!isWordByte(c)) cut = i + 1;
  }
  return a.subarray(0, cut);
}

function punctSuffix(a: Uint8Array): Uint8Array {
  let cut = a.length;
  for (let i = a.length - 1; i >= 0; i--) {
    const c = a[i]!;
    if (isDigit(c)) break;
    if (!isWordByte(c)) cut = i;
  }
  return a.subarray(cut);
}

function commonAffixes(values: Uint8Array[]): [Uint8Array, Uint8Array] {
  let p = values[0]!;
  let s = values[0]!;
  for (const v of values.slice(1)) {
    let k = 0;
    let lim = Math.min(p.length, v.length);
    while (k < lim && p[k] === v[k]) k++;
    p = p.subarray(0, k);
    k = 0;
    lim = Math.min(s.length, v.length);
    while (k < lim && s[s.length - 1 - k] === v[v.length - 1 - k]) k++;
    s = k ? s.subarray(s.length - k) : EMPTY;
  }
  p = punctPrefix(p);
  s = punctSuffix(s);
  const short = Math.min(...values.map((v) => v.length));
  if (p.length + s.length > short) {
    s = EMPTY;
    if (p.length > short) p = EMPTY;
  }
  return [p, s];
}

function hasDigit(tok: Uint8Array): boolean {
  for (let i = 0; i < tok.length; i++) if (isDigit(tok[i]!)) return true;
  return false;
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
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

/** The wire v1 template state: predictions plus the mirrored matcher and learner. */
export class V1TemplateState implements TemplateState {
  readonly set: TemplateSet;
  readonly cx: AtomCtx;
  private readonly maxRuntime: number;
  private readonly base: number;
  private readonly runtime = new Map<number, Template>();
  /** runtime ids, least recently used first (§5.5). */
  private readonly rtOrder = new Map<number, true>();
  private rtBytes = 0;
  private readonly rtJson: Map<string, number[]>[] = [];
  private readonly rtText = new Map<number, number[]>();
  /** lasts, least recently written first; key `${tid}` or `${tid}:${first}`. */
  private readonly lasts = new Map<string, { tid: number; values: (Uint8Array | null)[] }>();
  private lastBytes = 0;
  private prevText: Uint8Array[] = [];
  private mru: number[] = [];
  private readonly masks = new Map<number, bigint>();

  constructor(
    templates: TemplateSet | null,
    readonly context: boolean,
    maxRuntime: number,
    private readonly maxBytes: number,
  ) {
    this.set = templates ?? EMPTY_SET;
    this.cx = new AtomCtx(this.set.strings);
    this.maxRuntime = context ? maxRuntime : 0;
    this.base = this.set.nextId;
    for (let l = 0; l < LEVELS; l++) this.rtJson.push(new Map());
  }

  template(tid: number): Template | undefined {
    return this.set.templates.get(tid) ?? this.runtime.get(tid);
  }

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

  // -- matching (§3; normative for the v1 state update) --
  match(data: Uint8Array): Match | null {
    if (data.length === 0 || data.length > MAX_MATCH_BYTES) return null;
    const root = this.parsed(data);
    if (root !== null) return this.matchJson(data, root);
    const tk = tokenize(data);
    if (tk === null) return null;
    return this.matchText(tk[0], tk[1]);
  }

  private parsed(data: Uint8Array): Node | null {
    if (data.length === 0) return null;
    const c = data[0];
    if (c === 0x7b || c === 0x5b || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) return parse(data);
    return null;
  }

  private matchJson(data: Uint8Array, root: Node): Match | null {
    for (let level = 0; level < LEVELS; level++) {
      const di = this.set.jsonIndex[level]!;
      const ri = this.rtJson[level]!;
      if (di.size === 0 && ri.size === 0) continue;
      const hs = holes(root, level);
      if (hs === null) continue;
      const skel = skeleton(data, hs);
      for (const index of [di, ri]) {
        const cands = index.get(skel);
        if (cands === undefined) continue;
        for (const tid of cands) {
          const t = this.template(tid);
          if (t === undefined) continue;
          let ok = true;
          for (const [h, v] of t.consts) {
            const n = hs[h]!;
            if (!equal(data.subarray(n.start, n.end), v)) {
              ok = false;
              break;
            }
          }
          if (!ok) continue;
          const values: Uint8Array[] = [];
          for (let i = 0; i < hs.length; i++) if (!t.consts.has(i)) values.push(data.subarray(hs[i]!.start, hs[i]!.end));
          return { tid, tmpl: t, values };
        }
      }
    }
    return null;
  }

  private matchText(toks: Uint8Array[], seps: number[]): Match | null {
    const n = toks.length;
    for (const p of this.set.textPositions.get(n) ?? []) {
      const cands = this.set.textIndex.get(textKey(n, p, p >= 0 ? toks[p]! : EMPTY));
      if (cands === undefined) continue;
      for (const tid of cands) {
        const t = this.set.templates.get(tid)!;
        if (textMatches(t, toks, seps)) return textMatch(tid, t, toks, seps);
      }
    }
    for (const tid of this.rtText.get(n) ?? []) {
      const t = this.runtime.get(tid)!;
      if (textMatches(t, toks, seps)) return textMatch(tid, t, toks, seps);
    }
    return null;
  }

  // -- state update (§5.1) --
  observe(data: Uint8Array): void {
    if (this.context) this.commit(data, this.match(data));
  }

  commit(data: Uint8Array, m: Match | null): void {
    if (!this.context) return;
    if (m !== null) {
      const mask = sameMask(this.predictions(m.tid, m.tmpl, m.values.length > 0 ? m.values[0]! : null), m.values);
      this.masks.delete(m.tid);
      this.masks.set(m.tid, mask);
      if (this.masks.size > MAX_MASKS) this.masks.delete(this.masks.keys().next().value as number);
      const i = this.mru.indexOf(m.tid);
      if (i >= 0) this.mru.splice(i, 1);
      this.mru.unshift(m.tid);
      this.touch(m.tid);
      if (this.mru.length > MRU_SIZE) this.mru.pop();
      this.setLasts(m.tid, m.values);
      const isJson = m.tmpl.kind === KIND_JSON;
      for (let v of m.values) {
        if (isJson) {
          if (v.length < 2 || v[0] !== 0x22) continue;
          v = v.subarray(1, v.length - 1);
        }
        if (v.length >= RECENT_MIN_LEN && v.length <= RECENT_MAX_LEN) this.cx.addRecent(v.slice());
      }
      if (m.tmpl.kind === KIND_TEXT) {
        const prev: Uint8Array[] = [];
        for (const v of m.values.slice(0, PREV_TEXT_SLOTS)) {
          if (v.length > MAX_LAST) break;
          prev.push(v.slice());
        }
        this.prevText = prev;
      }
      if (m.tmpl.kind === KIND_JSON && m.tmpl.level >= 2 && this.maxRuntime > 0) {
        const root = this.parsed(data);
        if (root !== null) this.learnJson(data, root, m.tmpl.level);
      }
      return;
    }
    if (this.maxRuntime <= 0 || data.length > MAX_MATCH_BYTES) return;
    const root = this.parsed(data);
    if (root !== null) {
      this.learnJson(data, root, LEVELS);
      return;
    }
    const tk = tokenize(data);
    if (tk !== null) this.learnText(tk[0], tk[1]);
  }

  private setLasts(tid: number, values: Uint8Array[]): void {
    this.putLasts(String(tid), tid, values);
    const t = this.template(tid);
    if (t !== undefined && values.length > 0) {
      const k = keyOf(t, values[0]!);
      if (k !== null) this.putLasts(`${tid}:${k}`, tid, values);
    }
  }

  private putLasts(lk: string, tid: number, values: Uint8Array[]): void {
    this.dropEntry(lk);
    const stored = values.map((v) => (v.length <= MAX_LAST ? v.slice() : null));
    for (const v of stored) if (v !== null) this.lastBytes += v.length;
    this.lasts.set(lk, { tid, values: stored });
    while (this.lastBytes > LAST_BUDGET_BYTES || this.lasts.size > LAST_BUDGET_TEMPLATES) {
      this.dropEntry(this.lasts.keys().next().value as string);
    }
  }

  private dropEntry(lk: string): void {
    const old = this.lasts.get(lk);
    if (old === undefined) return;
    this.lasts.delete(lk);
    for (const v of old.values) if (v !== null) this.lastBytes -= v.length;
  }

  private dropLasts(tid: number): void {
    for (const [lk, e] of [...this.lasts]) if (e.tid === tid) this.dropEntry(lk);
  }

  // -- the runtime learner (§5.5) --
  private learnJson(data: Uint8Array, root: Node, coarseFrom: number): void {
    const level = hasLongArray(root) ? 1 : 0;
    if (level >= coarseFrom) return;
    const hs = holes(root, level);
    if (hs === null) return;
    const skel = skeleton(data, hs);
    if (this.rtJson[level]!.has(skel)) return;
    this.addRuntime(Template.json(level, gapsOf(data, hs).map((g) => g.slice()), new Map(), skel));
  }

  private learnText(toks: Uint8Array[], seps: number[]): void {
    const n = toks.length;
    for (const tid of this.rtText.get(n) ?? []) {
      const t = this.runtime.get(tid)!;
      let same = 0;
      let lits = 0;
      for (let i = 0; i < n; i++) {
        if (!t.slot[i]) {
          lits++;
          if (equal(t.toks[i]!, toks[i]!)) same++;
        }
      }
      if (lits === 0 || same * 2 < lits) continue;
      const ntoks = t.toks.slice();
      const nslot = t.slot.slice();
      const npre = t.pre.slice();
      const nsuf = t.suf.slice();
      for (let i = 0; i < n; i++) {
        const tok = toks[i]!;
        if (nslot[i]) {
          const p = npre[i]!;
          const s = nsuf[i]!;
          if (!fits(tok, p, s)) {
            [npre[i], nsuf[i]] = p.length || s.length ? commonAffixes([concatBytes(p, s), tok]) : [EMPTY, EMPTY];
            if (tok.length < npre[i]!.length + nsuf[i]!.length) [npre[i], nsuf[i]] = [EMPTY, EMPTY];
          }
        } else if (!equal(ntoks[i]!, tok)) {
          [npre[i], nsuf[i]] = commonAffixes([ntoks[i]!, tok]);
          ntoks[i] = EMPTY;
          nslot[i] = true;
        }
      }
      const nseps = t.seps.map((v, i) => (v === seps[i] ? v : -1));
      this.replaceRuntime(tid, t, Template.text(ntoks, nslot, npre.map((x) => x.slice()), nsuf.map((x) => x.slice()), nseps));
      return;
    }
    const slot: boolean[] = [];
    const pre: Uint8Array[] = [];
    const suf: Uint8Array[] = [];
    const ltoks: Uint8Array[] = [];
    for (const tok of toks) {
      if (hasDigit(tok) || tok.length > 32) {
        const p = punctPrefix(tok);
        slot.push(true);
        pre.push(p.slice());
        suf.push(punctSuffix(tok.subarray(p.length)).slice());
        ltoks.push(EMPTY);
      } else {
        slot.push(false);
        pre.push(EMPTY);
        suf.push(EMPTY);
        ltoks.push(tok.slice());
      }
    }
    this.addRuntime(Template.text(ltoks, slot, pre, suf, seps.slice()));
  }

  private index(tid: number, t: Template, add: boolean): void {
    if (t.kind === KIND_JSON) {
      const idx = this.rtJson[t.level]!;
      const l = idx.get(t.key);
      if (add) {
        if (l === undefined) idx.set(t.key, [tid]);
        else l.push(tid);
      } else if (l !== undefined) {
        l.splice(l.indexOf(tid), 1);
        if (l.length === 0) idx.delete(t.key);
      }
    } else {
      const n = t.toks.length;
      const l = this.rtText.get(n);
      if (add) {
        if (l === undefined) this.rtText.set(n, [tid]);
        else l.push(tid);
      } else if (l !== undefined) {
        l.splice(l.indexOf(tid), 1);
        if (l.length === 0) this.rtText.delete(n);
      }
    }
  }

  private evict(tid: number): void {
    const t = this.runtime.get(tid)!;
    this.runtime.delete(tid);
    this.rtOrder.delete(tid);
    this.rtBytes -= t.size;
    this.index(tid, t, false);
    this.dropLasts(tid);
    this.masks.delete(tid);
    const i = this.mru.indexOf(tid);
    if (i >= 0) this.mru.splice(i, 1);
  }

  private touch(tid: number): void {
    if (this.rtOrder.has(tid)) {
      this.rtOrder.delete(tid);
      this.rtOrder.set(tid, true);
    }
  }

  private addRuntime(t: Template): void {
    if (t.size > this.maxBytes || this.maxRuntime <= 0) return;
    while (this.rtOrder.size > 0 && (this.runtime.size >= this.maxRuntime || this.rtBytes + t.size > this.maxBytes)) {
      this.evict(this.rtOrder.keys().next().value as number);
    }
    let tid = this.base;
    while (this.runtime.has(tid)) tid++;
    this.runtime.set(tid, t);
    this.rtOrder.set(tid, true);
    this.rtBytes += t.size;
    this.index(tid, t, true);
  }

  private replaceRuntime(tid: number, old: Template, nt: Template): void {
    if (this.rtBytes - old.size + nt.size > this.maxBytes) return;
    this.touch(tid);
    this.runtime.set(tid, nt);
    this.rtBytes += nt.size - old.size;
    this.dropLasts(tid);
    this.masks.delete(tid);
  }
}

function textMatch(tid: number, t: Template, toks: Uint8Array[], seps: number[]): Match {
  const values: Uint8Array[] = [];
  for (let i = 0; i < toks.length; i++) {
    if (t.seps[i]! < 0) values.push(new Uint8Array(seps[i]!).fill(SP));
    if (t.slot[i]) {
      const tok = toks[i]!;
      values.push(tok.subarray(t.pre[i]!.length, tok.length - t.suf[i]!.length));
    }
  }
  if (t.seps[t.seps.length - 1]! < 0) values.push(new Uint8Array(seps[seps.length - 1]!).fill(SP));
  return { tid, tmpl: t, values };
}

export { K_ARR };
