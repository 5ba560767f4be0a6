"""Compare two checkouts of aura_wire on the corpora: ratio and decode CPU, side by side in one run.

For each corpus the first ``--train`` messages train a dictionary and the next ``--code`` messages
are coded as one connection (context) and frame by frame (stateless), then decoded and compared
byte for byte.  Each checkout runs in its own worker process (pure Python unless ``--compiled``),
corpus by corpus, alternating, so both see the same machine load.

    python benchmarks/wire_versions.py --before /tmp/aura-v1 --after . ../shared/corpora/*.jsonl

Prints per corpus: ratio (context, stateless) and decode CPU per message (µs, process time, GC
off) for both checkouts, and the geometric means.  Quote ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path


def worker(path: str, train: int, code: int) -> dict[str, float]:
    from aura_wire import Decoder, Encoder

    try:
        from aura_wire.training.dictionary import train_dictionary

        def trainer(msgs: list[str]) -> object:
            return train_dictionary(msgs)
    except ImportError:  # checkouts before the training/ package
        from aura_wire import Dictionary

        def trainer(msgs: list[str]) -> object:
            return Dictionary.train(msgs)

    msgs: list[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            msgs.append(json.loads(line)["m"])
            if len(msgs) >= train + code:
                break
    if len(msgs) < train + code:  # a short corpus: first half trains, second half is coded
        train = len(msgs) // 2
    d = trainer(msgs[:train])
    coded = msgs[train:]
    raw = sum(len(m.encode("utf-8")) for m in coded)
    out: dict[str, float] = {"messages": len(coded)}
    for mode, ctx in (("context", True), ("stateless", False)):
        enc = Encoder(d, context=ctx)
        frames = [enc.encode(m) for m in coded]
        dec = Decoder(d, context=ctx)
        gc.disable()
        t0 = time.process_time()
        got = [dec.decode(fr) for fr in frames]
        cpu = time.process_time() - t0
        gc.enable()
        if got != coded:
            raise SystemExit(f"{path}: {mode} round trip differs")
        out[f"{mode}_ratio"] = raw / sum(len(fr) for fr in frames)
        out[f"{mode}_decode_us"] = 1e6 * cpu / len(coded)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpora", nargs="*")
    ap.add_argument("--before", help="root of the older checkout")
    ap.add_argument("--after", default=str(Path(__file__).resolve().parent.parent))
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--code", type=int, default=1000)
    ap.add_argument("--compiled", action="store_true", help="do not force the pure-Python sources")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.train, args.code)))
        return 0
    rows: dict[str, dict[str, dict[str, float]]] = {}
    for corpus in args.corpora:
        name = Path(corpus).stem
        rows[name] = {}
        for label, root in (("before", args.before), ("after", args.after)):
            env = dict(os.environ, PYTHONPATH=str(Path(root).resolve()))
            if not args.compiled:
                env["AURA_WIRE_PURE"] = "1"
            proc = subprocess.run([sys.executable, __file__, "--worker", str(Path(corpus).resolve()),
                                   "--train", str(args.train), "--code", str(args.code)],
                                  cwd=str(Path(root).resolve()), env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"{label} on {name} failed:\n{proc.stderr[-2000:]}")
            rows[name][label] = json.loads(proc.stdout.strip().splitlines()[-1])
        b, a = rows[name]["before"], rows[name]["after"]
        print(f"{name:22} ctx {b['context_ratio']:6.2f} -> {a['context_ratio']:6.2f}   "
              f"stl {b['stateless_ratio']:5.2f} -> {a['stateless_ratio']:5.2f}   "
              f"decode µs ctx {b['context_decode_us']:7.1f} -> {a['context_decode_us']:7.1f}   "
              f"stl {b['stateless_decode_us']:7.1f} -> {a['stateless_decode_us']:7.1f}", flush=True)

    def geo(label: str, key: str) -> float:
        return math.exp(sum(math.log(r[label][key]) for r in rows.values()) / len(rows))

    for key in ("context_ratio", "stateless_ratio", "context_decode_us", "stateless_decode_us"):
        b, a = geo("before", key), geo("after", key)
        print(f"geomean {key:20} before {b:8.2f}  after {a:8.2f}  ({100 * (a / b - 1):+.2f} %)")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
