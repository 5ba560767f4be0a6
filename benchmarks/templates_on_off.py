#!/usr/bin/env python3
"""One run: per corpus, aura context/stateless with templates on and off, beside permessage-deflate (w15)."""

import glob
import json
import math
import os
import zlib

import aura_wire
from aura_wire import Decoder, Encoder, train_dictionary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["m"] for line in f]


def main() -> None:
    print("compiled" if aura_wire.compiled else "pure (slow: pip install . to compile)")
    rows: dict[str, dict[str, float]] = {}
    for p in sorted(glob.glob(os.path.join(ROOT, "..", "shared", "corpora", "*.jsonl"))):
        name = os.path.basename(p)[:-6]
        msgs = read(p)
        mid = len(msgs) // 2
        train, test = msgs[:mid], msgs[mid:]
        raw = sum(len(m.encode()) for m in test)
        c = zlib.compressobj(6, zlib.DEFLATED, -15, 8)
        dfl = sum(len(c.compress(m.encode()) + c.flush(zlib.Z_SYNC_FLUSH)) - 4 for m in test)
        d = train_dictionary(train)
        r = {"deflate": raw / dfl}
        for ctx in (True, False):
            for tm in (True, False):
                e = Encoder(d, context=ctx, templates=tm)
                dd = Decoder(d, context=ctx, templates=tm)
                w = 0
                for m in test:
                    f = e.encode(m)
                    w += len(f)
                    assert dd.decode(f) == m
                k = ("ctx" if ctx else "sl") + ("+T" if tm else "-T")
                r[k] = raw / w
                if tm:
                    r["hit_" + ("ctx" if ctx else "sl")] = e.metrics.template_hit_rate
        rows[name] = r
        print(f"{name:22s} deflate {r['deflate']:6.2f} | ctx+T {r['ctx+T']:6.2f} ctx-T {r['ctx-T']:6.2f} "
              f"hit {r['hit_ctx'] * 100:5.1f}% | sl+T {r['sl+T']:6.2f} sl-T {r['sl-T']:6.2f} "
              f"hit {r['hit_sl'] * 100:5.1f}%", flush=True)

    def geomean(k: str) -> float:
        return math.exp(sum(math.log(r[k]) for r in rows.values()) / len(rows))

    print("geomean", {k: round(geomean(k), 2) for k in ("deflate", "ctx+T", "ctx-T", "sl+T", "sl-T")})


if __name__ == "__main__":
    main()
