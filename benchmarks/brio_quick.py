"""Quick BRIO ratio check against permessage-deflate and zstd-with-dictionary.

For each corpus in ``../shared/corpora/``: train on the first half, measure the
second half in order as one connection.  Prints, per corpus, the ratio
(message bytes / frame bytes) of

* ``deflate-ctx``: permessage-deflate as uvicorn/websockets run it (zlib raw
  deflate, window 15, context takeover, per-message sync flush with the 4
  trailing bytes removed, RFC 7692 §7.2.1);
* ``zstd-dict``: per-message zstd (level 3) with a 32 KiB dictionary trained
  on the same half (magicless frame, no checksum, no dict id: 4 bytes less
  than a standard frame);
* ``brio-sl``: BRIO stateless (dictionary only), 1 header byte per frame;
* ``brio-ctx``: BRIO context mode, 1 header byte per frame.

A frame is never counted larger than the message + 1 (RAW fallback; a RAW
frame in context mode is committed with ``chosen=False``).  Also prints the
median per-message encode time of BRIO context mode and of deflate, and the
per-connection memory.

Usage: ``python benchmarks/brio_quick.py [--max-msgs N] [--train-msgs N] [--window W] [corpus ...]``
(run it with the compiled build; pure Python is ~100x slower).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
import zlib
from typing import Any

import zstandard

HERE = os.path.dirname(os.path.abspath(__file__))
CORPORA = os.path.join(HERE, "..", "..", "shared", "corpora")


def load(name: str) -> list[bytes]:
    with open(os.path.join(CORPORA, name + ".jsonl"), encoding="utf-8") as f:
        return [json.loads(line)["m"].encode("utf-8") for line in f if line.strip()]


def deflate_ctx(msgs: list[bytes]) -> tuple[int, list[float]]:
    c = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15, 8)
    total = 0
    times: list[float] = []
    for m in msgs:
        t = time.perf_counter()
        out = c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH)
        times.append(time.perf_counter() - t)
        total += len(out) - 4
    return total, times


def zstd_dict(train: list[bytes], msgs: list[bytes]) -> int:
    try:
        samples: list[Any] = list(train)
        d = zstandard.train_dictionary(32768, samples)
    except zstandard.ZstdError:
        return sum(len(m) + 1 for m in msgs)
    c = zstandard.ZstdCompressor(level=3, dict_data=d, write_checksum=False, write_dict_id=False)
    return sum(min(len(c.compress(m)) - 4, len(m)) + 1 for m in msgs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-msgs", type=int, default=0, help="measure at most N messages per corpus")
    ap.add_argument("--train-msgs", type=int, default=0, help="train on at most N messages")
    ap.add_argument("--window", type=int, default=8192, help="context-mode history window (bytes)")
    ap.add_argument("corpora", nargs="*")
    args = ap.parse_args()
    if not os.path.isdir(CORPORA):
        sys.exit(f"corpora folder not found: {CORPORA}")
    import aura_wire.codec.brio.encode as brio_mod
    from aura_wire.codec.brio.decode import BrioDecoder
    from aura_wire.codec.brio.encode import BrioEncoder
    from aura_wire.codec.brio.model import BrioShared
    from aura_wire.training.brio import train_brio

    compiled = not brio_mod.__file__.endswith(".py") if brio_mod.__file__ else False
    names = args.corpora or sorted(f[:-6] for f in os.listdir(CORPORA) if f.endswith(".jsonl"))
    print(f"brio module: {'compiled' if compiled else 'pure'} ({brio_mod.__file__})")
    print(f"{'corpus':24} {'raw':>9} {'defl-ctx':>8} {'zstd-d':>7} {'brio-sl':>7} {'brio-ctx':>8} "
          f"{'ctx/defl':>8} {'sl/zstd':>7} {'t_brio':>7} {'t_defl':>7} {'mem':>6} {'train_s':>7}")
    g_ctx: list[float] = []
    g_sl: list[float] = []
    for name in names:
        msgs = load(name)
        half = len(msgs) // 2
        train, test = msgs[:half], msgs[half:]
        if args.train_msgs:
            train = train[: args.train_msgs]
        if args.max_msgs:
            test = test[: args.max_msgs]
        raw = sum(len(m) for m in test)
        t0 = time.perf_counter()
        content, model = train_brio(train)
        t_train = time.perf_counter() - t0
        shared = BrioShared.from_sections(content, model)
        d_total, d_times = deflate_ctx(test)
        z_total = zstd_dict(train, test)
        enc = BrioEncoder(shared, context=False)
        dec = BrioDecoder(shared, context=False)
        sl_total = 0
        for m in test:
            p = enc.encode(m)
            if len(p) < len(m):
                if dec.decode(p, len(m)) != m:
                    raise SystemExit(f"stateless round trip failed in {name}")
                sl_total += len(p) + 1
            else:
                sl_total += len(m) + 1
        cenc = BrioEncoder(shared, context=True, window=args.window)
        cdec = BrioDecoder(shared, context=True, window=args.window)
        c_total = 0
        times: list[float] = []
        for m in test:
            t = time.perf_counter()
            p = cenc.encode(m)
            chosen = len(p) < len(m)
            cenc.commit(m, chosen)
            times.append(time.perf_counter() - t)
            if chosen:
                if cdec.decode(p, len(m)) != m:
                    raise SystemExit(f"context round trip failed in {name}")
                c_total += len(p) + 1
            else:
                cdec.observe(m)
                c_total += len(m) + 1
        r_d, r_z, r_sl, r_c = raw / d_total, raw / z_total, raw / sl_total, raw / c_total
        g_ctx.append(r_c / r_d)
        g_sl.append(r_sl / r_z)
        mem = cenc.memory_bytes() + cdec.memory_bytes()
        print(f"{name:24} {raw:9d} {r_d:8.2f} {r_z:7.2f} {r_sl:7.2f} {r_c:8.2f} {r_c / r_d:8.3f} "
              f"{r_sl / r_z:7.3f} {statistics.median(times) * 1e6:6.1f}u {statistics.median(d_times) * 1e6:6.1f}u "
              f"{mem:6d} {t_train:7.1f}", flush=True)
    gm = math.exp(sum(math.log(x) for x in g_ctx) / len(g_ctx))
    gs = math.exp(sum(math.log(x) for x in g_sl) / len(g_sl))
    print(f"geomean brio-ctx/deflate-ctx = {gm:.3f}   brio-stateless/zstd-dict = {gs:.3f}   "
          f"min ctx/deflate = {min(g_ctx):.3f}")


if __name__ == "__main__":
    main()
