/**
 * Templates and the dictionary's TEMPLATES section (spec/templates.md §2). Immutable once built.
 */
import { AuraError, DictionaryFormatError, PayloadError } from "../errors.js";
import { Reader, uvarintLen } from "../varint.js";

export const KIND_TEXT = 0;
export const KIND_JSON = 1;
export const LEVELS = 4;
export const MAX_TOKENS = 128;
const SP = 0x20;

export class Template {
  level = 0;
  gaps: Uint8Array[] = [];
  /** hole index -> constant value (JSON). */
  consts = new Map<number, Uint8Array>();
  toks: Uint8Array[] = [];
  slot: boolean[] = [];
  pre: Uint8Array[] = [];
  suf: Uint8Array[] = [];
  /** spaces before token i and after the last; -1 = variable (coded per message). */
  seps: number[] = [];
  nslots = 0;
  size = 0;

  constructor(readonly kind: number) {}

  static json(level: number, gaps: Uint8Array[], consts: Map<number, Uint8Array>): Template {
    const t = new Template(KIND_JSON);
    t.level = level;
    t.gaps = gaps;
    t.consts = consts;
    t.nslots = gaps.length - 1 - consts.size;
    let size = 2 + uvarintLen(gaps.length - 1) + uvarintLen(consts.size);
    for (const g of gaps) size += uvarintLen(g.length) + g.length;
    for (const [h, v] of consts) size += uvarintLen(h) + uvarintLen(v.length) + v.length;
    t.size = size;
    return t;
  }

  static text(toks: Uint8Array[], slot: boolean[], pre: Uint8Array[], suf: Uint8Array[], seps: number[]): Template {
    const t = new Template(KIND_TEXT);
    t.toks = toks;
    t.slot = slot;
    t.pre = pre;
    t.suf = suf;
    t.seps = seps;
    const n = toks.length;
    let ns = 0;
    let size = 1 + uvarintLen(n);
    for (let i = 0; i < n; i++) {
      if (slot[i]) {
        ns++;
        size += 1 + uvarintLen(pre[i]!.length) + pre[i]!.length + uvarintLen(suf[i]!.length) + suf[i]!.length;
      } else size += 1 + uvarintLen(toks[i]!.length) + toks[i]!.length;
    }
    for (const v of seps) {
      if (v < 0) {
        ns++;
        size += 1;
      } else size += uvarintLen(v + 1);
    }
    t.nslots = ns;
    t.size = size;
    return t;
  }
}

/** Read one serialized template (§2.2); PayloadError on malformed input. */
export function readTemplate(r: Reader): Template {
  const kind = r.u8("template.kind");
  if (kind === KIND_JSON) {
    const level = r.u8("template.level");
    if (level >= LEVELS) throw new PayloadError(`unknown shape level ${level}`, r.pos - 1, "template.level");
    const nh = r.uv("template.holes");
    if (nh > r.remaining) throw new PayloadError("hole count exceeds the data", r.pos, "template.holes");
    const gaps: Uint8Array[] = [];
    for (let i = 0; i <= nh; i++) gaps.push(r.bytes(r.uv("template.gap"), "template.gap"));
    const nc = r.uv("template.consts");
    if (nc > nh) throw new PayloadError("more constants than holes", r.pos, "template.consts");
    const consts = new Map<number, Uint8Array>();
    let prev = -1;
    for (let i = 0; i < nc; i++) {
      const h = r.uv("template.const.hole");
      if (h <= prev || h >= nh) throw new PayloadError("constant hole index out of order", r.pos, "template.const.hole");
      consts.set(h, r.bytes(r.uv("template.const.value"), "template.const.value"));
      prev = h;
    }
    return Template.json(level, gaps, consts);
  }
  if (kind === KIND_TEXT) {
    const n = r.uv("template.tokens");
    if (n === 0 || n > MAX_TOKENS) throw new PayloadError(`token count ${n} out of range`, r.pos, "template.tokens");
    const toks: Uint8Array[] = [];
    const slot: boolean[] = [];
    const pre: Uint8Array[] = [];
    const suf: Uint8Array[] = [];
    const empty = new Uint8Array(0);
    for (let i = 0; i < n; i++) {
      const t = r.u8("template.token");
      if (t === 0) {
        const lit = r.bytes(r.uv("template.token"), "template.token");
        if (lit.length === 0 || lit.includes(SP)) throw new PayloadError("literal token empty or with a space", r.pos, "template.token");
        toks.push(lit);
        slot.push(false);
        pre.push(empty);
        suf.push(empty);
      } else if (t === 1) {
        const p = r.bytes(r.uv("template.prefix"), "template.prefix");
        const s = r.bytes(r.uv("template.suffix"), "template.suffix");
        if (p.includes(SP) || s.includes(SP)) throw new PayloadError("slot prefix/suffix with a space", r.pos, "template.token");
        toks.push(empty);
        slot.push(true);
        pre.push(p);
        suf.push(s);
      } else throw new PayloadError(`unknown token type ${t}`, r.pos - 1, "template.token");
    }
    const seps: number[] = [];
    for (let i = 0; i <= n; i++) {
      const sv = r.uv("template.sep");
      if (sv > 4096) throw new PayloadError("separator too long", r.pos, "template.sep");
      seps.push(sv - 1);
    }
    for (let i = 1; i < n; i++) if (seps[i] === 0) throw new PayloadError("empty separator between tokens", r.pos, "template.sep");
    return Template.text(toks, slot, pre, suf, seps);
  }
  throw new PayloadError(`unknown template kind ${kind}`, r.pos - 1, "template.kind");
}

/** The templates and string table of one dictionary (a decoder needs no lookup index). */
export class TemplateSet {
  readonly nextId: number;

  constructor(
    readonly strings: Uint8Array[],
    readonly templates: Map<number, Template>,
  ) {
    let top = -1;
    for (const tid of templates.keys()) if (tid > top) top = tid;
    this.nextId = top + 1;
  }

  static fromSection(section: Uint8Array): TemplateSet {
    try {
      if (section.length < 1 || section[0] !== 1) throw new DictionaryFormatError("templates section: unknown section version", 0, "templates.version");
      const r = new Reader(section, 1, PayloadError);
      const ns = r.uv("templates.strings");
      if (ns > r.remaining) throw new DictionaryFormatError("templates section: string count exceeds the section", r.pos, "templates.strings");
      const strings: Uint8Array[] = [];
      for (let i = 0; i < ns; i++) strings.push(r.bytes(r.uv("templates.string"), "templates.string"));
      const nt = r.uv("templates.count");
      if (nt > r.remaining) throw new DictionaryFormatError("templates section: template count exceeds the section", r.pos, "templates.count");
      const templates = new Map<number, Template>();
      let prev = -1;
      for (let i = 0; i < nt; i++) {
        const tid = r.uv("templates.id");
        if (tid <= prev || tid >= 2 ** 32) throw new DictionaryFormatError("templates section: template ids must ascend", r.pos, "templates.id");
        templates.set(tid, readTemplate(r));
        prev = tid;
      }
      if (r.pos !== section.length) throw new DictionaryFormatError("templates section: trailing bytes", r.pos, "templates");
      return new TemplateSet(strings, templates);
    } catch (exc) {
      if (exc instanceof DictionaryFormatError || !(exc instanceof AuraError)) throw exc;
      throw new DictionaryFormatError(`templates section: ${exc.reason}`, exc.offset ?? 0, exc.field ?? "templates");
    }
  }
}

export const EMPTY_SET = new TemplateSet([], new Map());
