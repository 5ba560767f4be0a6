"""Encode time over the corpora: to compare two builds of the codec (for example before and after a
refactoring), run this once per build, alternating, and compare the totals as a ratio.

    PYTHONPATH=<build A> python benchmarks/encode_time.py --dict-dir DIR --rounds 3
    PYTHONPATH=<build B> python benchmarks/encode_time.py --dict-dir DIR --rounds 3

Split as ``aura-wire bench``: the first half of each corpus trains the dictionary (loaded from
``--dict-dir`` when saved there by ``benchmarks/frame_digest.py``, so both builds code with the same
dictionary), the second half is encoded in order as one connection, in context and in stateless mode.
Only the loop of ``Encoder.encode`` calls is timed, as CPU time of the process
(``time.process_time_ns``: on a shared machine wall time also counts the time other processes ran);
the best of ``--rounds`` per corpus and mode is kept.  ``--decode`` times
``Decoder.decode`` of the same frames instead (encoded once, untimed).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Callable, Sequence

import aura_wire
from aura_wire import Decoder, Dictionary, Encoder, train_dictionary
from aura_wire.tools.corpus import load_messages


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpora"))
    ap.add_argument("--dict-dir", default=None)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--decode", action="store_true", help="time Decoder.decode instead of Encoder.encode")
    args = ap.parse_args()
    total = 0.0
    for fname in sorted(n for n in os.listdir(args.corpora) if n.endswith(".jsonl")):
        name = fname[: -len(".jsonl")]
        msgs = load_messages(os.path.join(args.corpora, fname))
        mid = len(msgs) // 2
        path = os.path.join(args.dict_dir, name + ".aura") if args.dict_dir else None
        if path and os.path.exists(path):
            with open(path, "rb") as f:
                d = Dictionary.from_bytes(f.read())
        else:
            d = train_dictionary(msgs[:mid], name=name)
        row = []
        for context in (True, False):
            frames = _frames(d, context, msgs[mid:]) if args.decode else []
            best = float("inf")
            for _ in range(args.rounds):
                ns = (_cpu_ns(Decoder(d, context=context).decode, frames) if args.decode
                      else _cpu_ns(Encoder(d, context=context).encode, msgs[mid:]))
                best = min(best, ns / 1e9)
            row.append(best)
            total += best
        print(f"{name:24s} context {row[0]:7.3f} s  stateless {row[1]:7.3f} s", flush=True)
    what = "decode" if args.decode else "encode"
    print(f"{'total':24s} {total:.3f} s {what} ({'compiled' if aura_wire.compiled else 'pure'})")
    return 0


def _cpu_ns(step: Callable[[Any], object], items: Sequence[Any]) -> int:
    """CPU time of the process while ``step`` runs over ``items`` in order."""
    t0 = time.process_time_ns()
    for x in items:
        step(x)
    return time.process_time_ns() - t0


def _frames(d: Dictionary, context: bool, messages: list[str]) -> list[bytes]:
    enc = Encoder(d, context=context)  # one connection: frames in order
    return [enc.encode(m) for m in messages]


if __name__ == "__main__":
    sys.exit(main())
