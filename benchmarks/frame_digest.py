"""SHA-256 over every frame the encoder writes for every corpus, in both modes.

A refactoring of the codec must not change a single byte on the wire: run this
before and after and compare the output line by line.

Split as ``aura-wire bench`` does it: the first half of each corpus trains the
dictionary, the second half is encoded in order as one connection, once with
``context=True`` and once with ``context=False``.  Every frame is also decoded
and compared with the message, so a digest line is printed only for frames
that round-trip.

Dictionaries: by default each run trains them again and prints the SHA-256 of
the trained dictionary too, so training is covered as well.  With
``--dict-dir DIR`` a dictionary already saved there (``<corpus>.aura``) is
loaded instead of trained, and a trained one is saved there: the frame
digests then compare encoders only, on the very same dictionary bytes.

    python benchmarks/frame_digest.py [--corpora ../shared/corpora] [--limit N] [--dict-dir DIR]

The digest of a mode is SHA-256 over ``len(frame) as 4 bytes big-endian ||
frame`` for every frame in order.  ``AURA_WIRE_PURE=1`` runs the pure-Python
codec; the last line says which codec ran.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time

import aura_wire
from aura_wire import Decoder, Dictionary, Encoder
from aura_wire.tools.corpus import load_messages


def train(messages: list[str], name: str) -> Dictionary:
    try:  # the training package, where it exists
        from aura_wire.training import train_dictionary  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return Dictionary.train(messages, name=name)  # type: ignore[attr-defined,no-any-return,unused-ignore]
    return train_dictionary(messages, name=name)  # type: ignore[no-any-return,unused-ignore]


def dictionary_for(messages: list[str], name: str, dict_dir: str | None) -> Dictionary:
    if dict_dir is None:
        return train(messages, name)
    path = os.path.join(dict_dir, name + ".aura")
    if os.path.exists(path):
        with open(path, "rb") as f:
            return Dictionary.from_bytes(f.read())
    d = train(messages, name)
    os.makedirs(dict_dir, exist_ok=True)
    with open(path, "wb") as f:
        f.write(d.to_bytes())
    return d


def digest(d: Dictionary, messages: list[str], context: bool) -> tuple[str, int, int]:
    enc = Encoder(d, context=context)
    dec = Decoder(d, context=context)
    h = hashlib.sha256()
    total = 0
    for m in messages:
        frame = enc.encode(m)
        out = dec.decode(frame)
        if (out if isinstance(out, str) else out.decode("utf-8")) != m:
            raise SystemExit(f"round trip failed on message {m[:80]!r}")
        h.update(len(frame).to_bytes(4, "big"))
        h.update(frame)
        total += len(frame)
    return h.hexdigest(), len(messages), total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpora"))
    ap.add_argument("--limit", type=int, default=None, help="first N messages of each corpus (default: all)")
    ap.add_argument("--dict-dir", default=None, help="load/save trained dictionaries here")
    args = ap.parse_args()
    names = sorted(n for n in os.listdir(args.corpora) if n.endswith(".jsonl"))
    if not names:
        print(f"no *.jsonl corpora in {args.corpora}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    for fname in names:
        msgs = load_messages(os.path.join(args.corpora, fname))
        if args.limit is not None:
            msgs = msgs[: args.limit]
        mid = len(msgs) // 2
        name = fname[: -len(".jsonl")]
        d = dictionary_for(msgs[:mid], name, args.dict_dir)
        print(f"{name:24s} dictionary {hashlib.sha256(d.to_bytes()).hexdigest()[:16]} {len(d.to_bytes())} B")
        for context in (True, False):
            hexd, n, total = digest(d, msgs[mid:], context)
            mode = "context" if context else "stateless"
            print(f"{name:24s} {mode:9s} {hexd} {n} frames {total} B", flush=True)
    codec = "compiled" if aura_wire.compiled else "pure"
    print(f"codec: {codec}; {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
