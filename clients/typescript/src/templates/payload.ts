/**
 * TEMPLATE payload decoding (spec/templates.md §4): reference, mask, slot values, fuzzy edits.
 * Decoding never changes the state; the caller commits. No I/O.
 */
import { ByteWriter } from "../bytes.js";
import { LimitError, PayloadError } from "../errors.js";
import { Reader } from "../varint.js";
import { decodeAtom } from "./atoms.js";
import { KIND_JSON, type Template } from "./section.js";
import { type TemplateState, sameMask } from "./state.js";

const FUZZY_SLACK = 4096;
const SP = 0x20;

/** A decoded payload: the message and, for an exact payload (modes 0-2), what the state update
 * of §5.1 needs (`tmpl` is null for a fuzzy payload, which changes no state). */
export interface DecodedPayload {
  data: Uint8Array;
  tid: number;
  tmpl: Template | null;
  values: Uint8Array[];
  /** slots equal to their prediction before this message (§5.1 step 1) */
  mask: bigint;
}

/** Decode one payload against the state, without changing it (§4). */
export function decodePayload(st: TemplateState, buf: Uint8Array, maxSize: number): DecodedPayload {
  const r = new Reader(buf, 0, PayloadError);
  const ref = r.uv("template.ref");
  let mode = ref % 4;
  const [tid, t] = st.resolve(Math.floor(ref / 4));
  let nedits = 0;
  if (mode === 3) {
    const at = r.pos;
    const sub = r.uv("template.fuzzy");
    mode = sub % 4;
    nedits = Math.floor(sub / 4);
    if (mode === 3) throw new PayloadError("reserved mask mode 3 in a fuzzy payload", at, "template.fuzzy");
    if (nedits === 0 || nedits > Math.floor((buf.length - r.pos) / 3)) {
      throw new PayloadError("fuzzy edit count is zero or exceeds the payload", at, "template.fuzzy");
    }
  }
  let mask = 0n;
  if (mode !== 0) {
    const at = r.pos;
    if (!st.context) throw new PayloadError("slot mask in a stateless payload", 0, "template.ref");
    if (mode === 1) mask = r.uvBig("template.mask");
    mask ^= st.lastMask(tid);
    if (mask === 0n || mask >> BigInt(Math.min(t.nslots, 63)) !== 0n) {
      throw new PayloadError("slot mask is empty or names missing slots", at, "template.mask");
    }
  }
  const limit = nedits ? maxSize + FUZZY_SLACK : maxSize;
  const masked: boolean[] = [];
  if (mask !== 0n) {
    const bits = mask.toString(2);
    for (let k = 0; k < bits.length; k++) masked[k] = bits.charCodeAt(bits.length - 1 - k) === 0x31;
  }
  let out = st.scratch();
  const values = render(st, r, tid, t, masked, limit, out);
  let data: Uint8Array;
  if (nedits) {
    out = applyEdits(r, out.view(), nedits, maxSize);
  }
  // no output check here: render() ends with one against `limit` (= maxSize for an exact payload),
  // and applyEdits() checks every edit against maxSize
  if (r.pos !== buf.length) throw new PayloadError("trailing bytes after the last slot", r.pos, "template");
  data = out.slice();
  if (nedits) return { data, tid: -1, tmpl: null, values: [], mask: 0n };
  const eq = st.context ? sameMask(st.predictions(tid, t, values.length > 0 ? values[0]! : null), values) : 0n;
  return { data, tid, tmpl: t, values, mask: eq };
}

function render(st: TemplateState, r: Reader, tid: number, t: Template, masked: boolean[], limit: number,
  out: ByteWriter): Uint8Array[] {
  let preds = st.predictions(tid, t, null);
  const values: Uint8Array[] = [];
  let k = 0;
  if (t.kind === KIND_JSON) {
    const gaps = t.gaps;
    for (let i = 0; i < gaps.length - 1; i++) {
      out.write(gaps[i]!);
      const c = t.consts.get(i);
      if (c !== undefined) {
        out.write(c);
        continue;
      }
      if (k === 1) preds = st.predictions(tid, t, values[0]!);
      const lv = preds !== null ? (preds[k] ?? null) : null;
      const start = out.len;
      if (masked[k]) {
        if (lv === null) throw new PayloadError("masked slot has no previous value", r.pos, "template.mask");
        out.write(lv);
      } else decodeAtom(r, out, lv, true, st.cx, limit, 0);
      values.push(out.slice(start));
      k++;
    }
    out.write(gaps[gaps.length - 1]!);
    if (out.len > limit) throw new LimitError(`decoded message exceeds max_message_size ${limit}`, undefined, "template.output");
    return values;
  }
  const n = t.toks.length;
  for (let i = 0; i <= n; i++) {
    let s = t.seps[i]!;
    if (s < 0) {
      const at = r.pos;
      const lv = preds !== null ? (preds[k] ?? null) : null;
      if (masked[k]) {
        if (lv === null) throw new PayloadError("masked slot has no previous value", r.pos, "template.mask");
        s = lv.length;
      } else s = r.uv("template.sep");
      if (s > limit - out.len) throw new LimitError("separator exceeds max_message_size", at, "template.sep");
      if (i > 0 && i < n && s === 0) throw new PayloadError("empty separator between tokens", at, "template.sep");
      values.push(new Uint8Array(s).fill(SP));
      k++;
    }
    if (s) out.fill(SP, s);
    if (i === n) break;
    if (t.slot[i]) {
      out.write(t.pre[i]!);
      const lv = preds !== null ? (preds[k] ?? null) : null;
      const start = out.len;
      if (masked[k]) {
        if (lv === null) throw new PayloadError("masked slot has no previous value", r.pos, "template.mask");
        out.write(lv);
      } else decodeAtom(r, out, lv, false, st.cx, limit, 0);
      const v = out.slice(start);
      if (v.includes(SP)) throw new PayloadError("text slot value contains a space", r.pos, "template.slot");
      values.push(v);
      out.write(t.suf[i]!);
      k++;
    } else out.write(t.toks[i]!);
  }
  if (out.len > limit) throw new LimitError(`decoded message exceeds max_message_size ${limit}`, undefined, "template.output");
  return values;
}

function applyEdits(r: Reader, src: Uint8Array, nedits: number, maxSize: number): ByteWriter {
  const out = new ByteWriter(src.length + 16);
  let c = 0;
  const n = src.length;
  for (let e = 0; e < nedits; e++) {
    const at = r.pos;
    const skip = r.uv("template.edit.skip");
    const dl = r.uv("template.edit.delete");
    const ins = r.uv("template.edit.insert");
    if (e > 0 && skip === 0) throw new PayloadError("adjacent fuzzy edits", at, "template.edit.skip");
    if (dl === 0 && ins === 0) throw new PayloadError("empty fuzzy edit", at, "template.edit");
    if (skip > n - c || dl > n - c - skip) throw new PayloadError("fuzzy edit runs past the rendered template", at, "template.edit");
    if (ins > r.remaining) throw new PayloadError("inserted bytes run past the payload", r.pos, "template.edit.insert");
    if (out.len + skip + ins > maxSize) throw new LimitError(`decoded message exceeds max_message_size ${maxSize}`, at, "template.edit");
    out.write(src.subarray(c, c + skip));
    c += skip + dl;
    out.write(r.bytes(ins, "template.edit.insert"));
  }
  if (out.len + n - c > maxSize) throw new LimitError(`decoded message exceeds max_message_size ${maxSize}`, r.pos, "template.edit");
  out.write(src.subarray(c));
  return out;
}
