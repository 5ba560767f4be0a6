/**
 * JSON shapes (spec/templates.md §3.2): a byte-level scanner keeping exact spans, the holes of
 * a message at each level and its skeleton key. Used by the v1 context-mode state update only
 * (`match` and the runtime learner, §5.1/§5.5). No I/O.
 */
import { key } from "../bytes.js";

export const K_STR = 0;
export const K_NUM = 1;
export const K_LIT = 2;
export const K_ARR = 3;
export const K_OBJ = 4;
const MAX_DEPTH = 32;

export interface Node {
  kind: number;
  start: number;
  end: number;
  depth: number;
  children: Node[];
}

const NO_KIDS: Node[] = [];

// thrown on malformed JSON: a plain object, no stack trace to capture (non-JSON text that starts
// with '[' is common: log lines, IRC)
const BAD = { bad: true };

function ws(s: Uint8Array, i: number, n: number): number {
  while (i < n) {
    const c = s[i]!;
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else break;
  }
  return i;
}

function stringEnd(s: Uint8Array, i: number, n: number): number {
  let j = i + 1;
  for (;;) {
    if (j >= n) throw BAD;
    const c = s[j]!;
    if (c === 0x22) return j + 1;
    if (c === 0x5c) {
      j += 2;
      continue;
    }
    if (c < 0x20) throw BAD;
    j++;
  }
}

function digitsEnd(s: Uint8Array, j: number, n: number): number {
  while (j < n && s[j]! >= 0x30 && s[j]! <= 0x39) j++;
  return j;
}

function numberEnd(s: Uint8Array, i: number, n: number): number {
  let j = i;
  if (j < n && s[j] === 0x2d) j++;
  if (j >= n) throw BAD;
  const c = s[j]!;
  if (c === 0x30) j++;
  else if (c >= 0x31 && c <= 0x39) j = digitsEnd(s, j, n);
  else throw BAD;
  if (j < n && s[j] === 0x2e) {
    j++;
    const k = j;
    j = digitsEnd(s, j, n);
    if (j === k) throw BAD;
  }
  if (j < n && (s[j] === 0x65 || s[j] === 0x45)) {
    j++;
    if (j < n && (s[j] === 0x2b || s[j] === 0x2d)) j++;
    const k = j;
    j = digitsEnd(s, j, n);
    if (j === k) throw BAD;
  }
  return j;
}

function lit(s: Uint8Array, i: number, word: string): boolean {
  if (i + word.length > s.length) return false;
  for (let k = 0; k < word.length; k++) if (s[i + k] !== word.charCodeAt(k)) return false;
  return true;
}

function value(s: Uint8Array, i: number, n: number, depth: number): Node {
  if (i >= n) throw BAD;
  const c = s[i]!;
  if (c === 0x22) return { kind: K_STR, start: i, end: stringEnd(s, i, n), depth, children: NO_KIDS };
  if (c === 0x7b || c === 0x5b) {
    if (depth >= MAX_DEPTH) throw BAD;
    const isObj = c === 0x7b;
    const close = isObj ? 0x7d : 0x5d;
    const kind = isObj ? K_OBJ : K_ARR;
    let j = ws(s, i + 1, n);
    if (j < n && s[j] === close) return { kind, start: i, end: j + 1, depth, children: [] };
    const children: Node[] = [];
    for (;;) {
      if (isObj) {
        if (j >= n || s[j] !== 0x22) throw BAD;
        j = ws(s, stringEnd(s, j, n), n);
        if (j >= n || s[j] !== 0x3a) throw BAD;
        j = ws(s, j + 1, n);
      }
      const child = value(s, j, n, depth + 1);
      children.push(child);
      j = ws(s, child.end, n);
      if (j >= n) throw BAD;
      const d = s[j]!;
      if (d === 0x2c) {
        j = ws(s, j + 1, n);
        continue;
      }
      if (d === close) return { kind, start: i, end: j + 1, depth, children };
      throw BAD;
    }
  }
  if (c === 0x74 && lit(s, i, "true")) return { kind: K_LIT, start: i, end: i + 4, depth, children: NO_KIDS };
  if (c === 0x66 && lit(s, i, "false")) return { kind: K_LIT, start: i, end: i + 5, depth, children: NO_KIDS };
  if (c === 0x6e && lit(s, i, "null")) return { kind: K_LIT, start: i, end: i + 4, depth, children: NO_KIDS };
  return { kind: K_NUM, start: i, end: numberEnd(s, i, n), depth, children: NO_KIDS };
}

/** Parse a JSON text whose root is an object or array; null otherwise. */
export function parse(s: Uint8Array): Node | null {
  const n = s.length;
  const i = ws(s, 0, n);
  if (i >= n || (s[i] !== 0x7b && s[i] !== 0x5b)) return null;
  let root: Node;
  try {
    root = value(s, i, n, 0);
  } catch (e) {
    if (e === BAD) return null;
    throw e;
  }
  if (ws(s, root.end, n) !== n) return null;
  return root;
}

function expands(node: Node, level: number): boolean {
  if (node.kind === K_OBJ) return level <= 1 ? true : node.depth < (level === 2 ? 2 : 1);
  if (node.kind === K_ARR) return level === 0;
  return false;
}

function collect(node: Node, level: number, out: Node[]): void {
  for (const ch of node.children) {
    if (expands(ch, level)) collect(ch, level, out);
    else out.push(ch);
  }
}

/** The hole values at `level`, in order; null when the level does not apply to the root. */
export function holes(root: Node, level: number): Node[] | null {
  if (!expands(root, level)) return null;
  const out: Node[] = [];
  collect(root, level, out);
  return out;
}

export function gapsOf(s: Uint8Array, hs: Node[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let prev = 0;
  for (const h of hs) {
    parts.push(s.subarray(prev, h.start));
    prev = h.end;
  }
  parts.push(s.subarray(prev));
  return parts;
}

/** The skeleton key: gaps joined by NUL, as a binary string. */
export function skeleton(s: Uint8Array, hs: Node[]): string {
  return gapsOf(s, hs).map(key).join("\u0000");
}

export function hasLongArray(root: Node): boolean {
  const stack = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.kind === K_ARR && n.children.length > 1) return true;
    for (const c of n.children) stack.push(c);
  }
  return false;
}
