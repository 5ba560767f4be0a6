/**
 * Client -> server frames (spec/wire-format.md §4.1, §5.3): stateless and dictionary-free, so
 * they are valid at any point of the session (before HELLO, during a dictionary switch) and
 * never touch context state. RAW for now: a frame is never more than 1 byte longer than its
 * message (§3, expansion bound). No I/O.
 */
import { FLAG_TEXT, METHOD_RAW } from "./frame.js";

export function encodeStateless(data: Uint8Array, text: boolean): Uint8Array {
  const out = new Uint8Array(data.length + 1);
  out[0] = METHOD_RAW | (text ? FLAG_TEXT : 0);
  out.set(data, 1);
  return out;
}
