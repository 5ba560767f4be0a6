"""Context and stateless ratio of two checkouts at several levels, full corpora, permessage-deflate beside.

For each corpus the first half trains one dictionary (once, in the ``--after`` checkout, saved to a
temporary file: training is not reproducible across processes, and the encoders are what is
compared) and the second half is coded in order as one connection by each checkout at each
``--levels`` level, context and stateless, then decoded and compared byte for byte.  Each
checkout runs in its own worker process (pure Python unless ``--compiled``); both checkouts of a
corpus run at the same time, so they see the same machine load.  permessage-deflate w15
(zlib level 6, window 15, memLevel 8, context takeover, the sync-flush tail removed as RFC 7692
does) is coded in the same run.

    python benchmarks/level_ratio.py --before /tmp/aura-main --after . ../shared/corpora/*.jsonl

Prints per corpus and geomean: ratio for each checkout x level x mode, the context ratio over
permessage-deflate w15, and encode CPU per message (process time, GC off) as after/before.
Quote ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path


def _load(path: str) -> list[str]:
    from aura_wire.files import load_messages

    return list(load_messages(path))


def train(path: str, out: str) -> None:
    from aura_wire.training import train_dictionary

    msgs = _load(path)
    d = train_dictionary(msgs[:len(msgs) // 2], name=Path(path).stem)
    with open(out, "wb") as f:
        f.write(d.to_bytes())


def worker(path: str, dict_path: str, levels: list[int], modes: list[str]) -> dict[str, float]:
    from aura_wire import Decoder, Encoder
    from aura_wire.codec.dictionary import Dictionary

    with open(dict_path, "rb") as f:
        d = Dictionary.from_bytes(f.read())
    msgs = _load(path)
    coded = msgs[len(msgs) // 2:]
    raw = sum(len(m.encode("utf-8")) for m in coded)
    out: dict[str, float] = {"messages": len(coded), "bytes": raw}
    for level in levels:
        for mode in modes:
            ctx = mode == "context"
            enc = Encoder(d, context=ctx, level=level)
            gc.disable()
            t0 = time.process_time()
            frames = [enc.encode(m) for m in coded]
            cpu = time.process_time() - t0
            gc.enable()
            dec = Decoder(d, context=ctx, level=level)
            for i, fr in enumerate(frames):
                if dec.decode(fr) != coded[i]:
                    raise SystemExit(f"{path}: {mode} level {level}: message {i} differs after the round trip")
            out[f"{mode}{level}"] = raw / sum(len(fr) for fr in frames)
            out[f"{mode}{level}_us"] = 1e6 * cpu / len(coded)
    return out


def pmd_w15(path: str) -> float:
    with open(path, encoding="utf-8") as f:
        coded = [json.loads(line)["m"] for line in f if line.strip()]
    coded = coded[len(coded) // 2:]
    c = zlib.compressobj(6, zlib.DEFLATED, -15, 8)
    raw = wire = 0
    for m in coded:
        b = m.encode("utf-8")
        raw += len(b)
        wire += len(c.compress(b) + c.flush(zlib.Z_SYNC_FLUSH)) - 4
    return raw / wire


def _geo(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpora", nargs="*")
    ap.add_argument("--before", required=False, help="root of the older checkout")
    ap.add_argument("--after", default=str(Path(__file__).resolve().parent.parent))
    ap.add_argument("--levels", default="3,4")
    ap.add_argument("--modes", default="context,stateless")
    ap.add_argument("--compiled", action="store_true", help="do not force the pure-Python sources")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--train", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    modes = args.modes.split(",")
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], levels, modes)))
        return 0
    if args.train:
        train(*args.train)
        return 0
    trees = {"after": args.after}
    if args.before:
        trees = {"before": args.before, "after": args.after}
    me = os.path.abspath(__file__)

    def env(root: str) -> dict[str, str]:
        e = dict(os.environ, PYTHONPATH=os.path.abspath(root), PYTHONHASHSEED="0")
        if not args.compiled:
            e["AURA_WIRE_PURE"] = "1"
        return e

    res: dict[str, dict[str, dict[str, float]]] = {}
    pmd: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for path in args.corpora:
            name = Path(path).stem
            dpath = os.path.join(tmp, name + ".aura")
            subprocess.run([sys.executable, me, "--train", os.path.abspath(path), dpath], env=env(args.after),
                           check=True, cwd=tmp)
            procs = {t: subprocess.Popen([sys.executable, me, "--levels", args.levels, "--modes", args.modes,
                                          "--worker", os.path.abspath(path), dpath],
                                         env=env(root), stdout=subprocess.PIPE, text=True, cwd=tmp)
                     for t, root in trees.items()}
            pmd[name] = pmd_w15(path)
            res[name] = {}
            for t, p in procs.items():
                outp, _ = p.communicate()
                if p.returncode != 0:
                    raise SystemExit(f"{t} worker failed on {name}")
                res[name][t] = json.loads(outp)
            row = " ".join(f"{t}:{k}={v:.3f}" for t in trees for k, v in res[name][t].items()
                           if not k.endswith("_us") and k not in ("messages", "bytes"))
            print(f"{name:22s} pmd-w15={pmd[name]:.3f} {row}", flush=True)
    keys = [k for k in next(iter(res.values()))["after"] if not k.endswith("_us") and k not in ("messages", "bytes")]
    print()
    head = f"{'corpus':22s} {'pmd-w15':>8s} " + " ".join(f"{t[:3]}:{k:>12s}" for k in keys for t in trees)
    print(head)
    for name, r in res.items():
        print(f"{name:22s} {pmd[name]:8.3f} " + " ".join(f"{r[t][k]:16.3f}" for k in keys for t in trees))
    print(f"{'geomean':22s} {_geo(list(pmd.values())):8.3f} "
          + " ".join(f"{_geo([r[t][k] for r in res.values()]):16.3f}" for k in keys for t in trees))
    gp = _geo(list(pmd.values()))
    for k in keys:
        if k.startswith("context"):
            for t in trees:
                per = {n: r[t][k] / pmd[n] for n, r in res.items()}
                worst = min(per, key=lambda n: per[n])
                print(f"{t} {k}: {_geo([r[t][k] for r in res.values()]) / gp:.3f}x pmd-w15 on the geomean, "
                      f"worst corpus {worst} {per[worst]:.3f}x")
    if "before" in trees:
        for k in keys:
            ratios = [r["after"][k + "_us"] / r["before"][k + "_us"] for r in res.values()]
            print(f"encode CPU per message after/before, {k}: geomean {_geo(ratios):.3f} "
                  f"(per corpus {', '.join(f'{x:.2f}' for x in ratios)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
