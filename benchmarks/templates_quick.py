"""Quick template hit-rate / size check per corpus (the TEMPLATE method alone).

For each corpus in ../shared/corpora: train the TEMPLATES section on the first
half, then code the second half in order as one context-mode connection
(TemplateEncoder + TemplateDecoder, every frame checked byte-exact).  A message
counts as a template hit when its TEMPLATE frame (payload + 1 header byte) is
smaller than RAW and than the competitor: permessage-deflate with context
takeover (zlib window 15, the RFC 7692 trailer removed) and, when the BRIO
module is present, BRIO in context mode with the same dictionary.

With ``--full`` it instead runs the real Encoder/Decoder (Dictionary.train on the training
slice: zstd, BRIO and templates; context mode) and prints ``encoder.metrics.template_hit_rate``,
i.e. the share of messages where TEMPLATE beat every other method, BRIO included.

Usage: python benchmarks/templates_quick.py [--full] [--max-train N] [--max-test N] [corpus ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from aura_wire.codec.templates.coders import TemplateDecoder, TemplateEncoder  # noqa: E402
from aura_wire.codec.templates.section import TemplateSet  # noqa: E402
from aura_wire.training.templates import train_templates  # noqa: E402
from aura_wire import train_dictionary

CORPORA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "corpora")


def load(name: str) -> list[bytes]:
    with open(os.path.join(CORPORA, name + ".jsonl"), encoding="utf-8") as f:
        return [json.loads(line)["m"].encode("utf-8") for line in f if line.strip()]


def run(name: str, max_train: int, max_test: int, runtime_bytes: int = 4096) -> dict[str, object]:
    msgs = load(name)
    half = len(msgs) // 2
    train = msgs[:half][-max_train:] if max_train else msgs[:half]
    test = msgs[half:][:max_test] if max_test else msgs[half:]
    t0 = time.perf_counter()
    section = train_templates(train)
    t_train = time.perf_counter() - t0
    ts = TemplateSet.from_section(section)
    enc = TemplateEncoder(ts, context=True, max_runtime_bytes=runtime_bytes)
    dec = TemplateDecoder(ts, context=True, max_runtime_bytes=runtime_bytes)
    z = zlib.compressobj(9, zlib.DEFLATED, -15, 8)
    hits = hits_raw = 0
    tb = db = rb = 0
    t_enc = 0.0
    for m in test:
        d = z.compress(m) + z.flush(zlib.Z_SYNC_FLUSH)
        dsize = len(d) - 4 + 1
        t1 = time.perf_counter()
        p = enc.encode(m, True)
        t_enc += time.perf_counter() - t1
        tsize = len(p) + 1 if p is not None else 1 << 30
        if tsize < len(m) + 1:
            hits_raw += 1
        chosen = tsize < len(m) + 1 and tsize <= dsize
        enc.commit(m, chosen)
        if chosen:
            assert p is not None
            out = dec.decode(p, True, 1 << 24)
            if out != m:
                raise AssertionError(f"{name}: round trip mismatch\n{m!r}\n{out!r}")
            hits += 1
        else:
            dec.observe(m)
        rb += len(m) + 1
        db += dsize
        tb += min(tsize, len(m) + 1)
    n = len(test)
    return {
        "corpus": name, "train": len(train), "test": n, "templates": len(ts), "section_bytes": len(section),
        "hit_rate_vs_raw": hits_raw / n, "hit_rate_vs_deflate": hits / n,
        "tmpl_B_per_msg": tb / n, "deflate_B_per_msg": db / n, "raw_B_per_msg": rb / n,
        "train_s": t_train, "encode_us_per_msg": 1e6 * t_enc / n,
        "memory_bytes": enc.memory_bytes() + dec.memory_bytes(),  # both sides of one direction
    }


def run_full(name: str, max_train: int, max_test: int) -> None:
    from aura_wire import Decoder, Encoder

    msgs = [m.decode("utf-8") for m in load(name)]
    half = len(msgs) // 2
    train = msgs[:half][-max_train:] if max_train else msgs[:half]
    test = msgs[half:][:max_test] if max_test else msgs[half:]
    t0 = time.perf_counter()
    d = train_dictionary(train)
    t_train = time.perf_counter() - t0
    for ctx in (True, False):
        enc = Encoder(d, context=ctx)
        dec = Decoder(d, context=ctx)
        raw = wire = 0
        for m in test:
            f = enc.encode(m)
            if dec.decode(f) != m:
                raise AssertionError(f"{name}: round trip mismatch")
            raw += len(m.encode("utf-8"))
            wire += len(f)
        print(f"{name:24} context={ctx!s:5} template_hit_rate={enc.metrics.template_hit_rate:6.1%} "
              f"ratio={raw / wire:6.2f} messages={len(test)} train_s={t_train:.0f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-train", type=int, default=3000)
    ap.add_argument("--max-test", type=int, default=1500)
    ap.add_argument("--runtime-bytes", type=int, default=4096)
    ap.add_argument("--full", action="store_true", help="run the real Encoder (BRIO, zstd, templates)")
    ap.add_argument("corpora", nargs="*")
    a = ap.parse_args()
    names = a.corpora or sorted(f[:-6] for f in os.listdir(CORPORA) if f.endswith(".jsonl"))
    if a.full:
        for name in names:
            run_full(name, a.max_train, a.max_test)
        return
    print(f"{'corpus':24} {'tmpl':>5} {'hit/raw':>8} {'hit/defl':>8} {'tmplB':>7} {'deflB':>7} {'rawB':>7} "
          f"{'train s':>7} {'enc us':>7} {'mem':>6}")
    for name in names:
        r = run(name, a.max_train, a.max_test, a.runtime_bytes)
        print(f"{name:24} {r['templates']:5} {r['hit_rate_vs_raw']:8.1%} {r['hit_rate_vs_deflate']:8.1%} "
              f"{r['tmpl_B_per_msg']:7.1f} {r['deflate_B_per_msg']:7.1f} {r['raw_B_per_msg']:7.1f} "
              f"{r['train_s']:7.1f} {r['encode_us_per_msg']:7.0f} {r['memory_bytes']:6}", flush=True)


if __name__ == "__main__":
    main()
