"""Per-connection state and ratio of each level as a server runs it, permessage-deflate w15/w12 beside.

For each corpus the first half trains one dictionary; the second half (``--limit`` messages at
most) is coded in order, context mode, by one server connection per level: the codec
configuration is what ``AuraMiddleware(level=L)`` builds (``server_codec_config``: the server's
32 KiB BRIO window unless the level sets one), and each frame is decoded by a mirrored Decoder
(a server holds an encoder for its direction and a decoder for the client's: both count; it holds
no decoder of its own direction, so this is a server whose clients send traffic like its own, and a
push-only server's connection holds less).

State, per level and corpus:

* ``acct``: the largest ``Encoder.memory_bytes() + Decoder.memory_bytes()`` seen (sampled every
  16 messages and at the end): the codec's own accounting of the per-connection buffers.
* ``traced``: what tracemalloc still sees allocated by a fresh Encoder+Decoder pair after the
  messages (``gc.collect()`` before and after): every Python object of the connection's codec
  state, shared dictionary tables excluded (built before the measurement).

Ratio: raw bytes / frame bytes, beside permessage-deflate w15 (zlib level 6, window 15, memLevel 8)
and w12 (memLevel 5, uvicorn's ws=auto default; about 43 KiB per connection), context takeover,
the sync-flush tail removed as RFC 7692 does; WebSocket framing left out for all.

    python benchmarks/level_state.py --limit 2000 ../shared/corpora/*.jsonl
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import tracemalloc
import zlib
from pathlib import Path

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import aura_wire  # noqa: F401
except ImportError:  # pragma: no cover - running from a checkout
    sys.path.insert(0, REPO)

from aura_wire import Decoder, Encoder, train_dictionary  # noqa: E402
from aura_wire.files import load_messages  # noqa: E402
from aura_wire.session.params import server_codec_config  # noqa: E402


def _pmd(msgs: list[bytes], wbits: int, mem_level: int) -> int:
    c = zlib.compressobj(6, zlib.DEFLATED, -wbits, mem_level)
    total = 0
    for m in msgs:
        out = c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH)
        total += len(out) - 4 if out.endswith(b"\x00\x00\xff\xff") else len(out)
    return total


def _level(msgs: list[str], d: object, level: int, trace: bool) -> dict[str, float]:
    """One connection at ``level``; with ``trace``, a second one under tracemalloc (the first warmed
    every lazily built module-level table, which is not per-connection state)."""
    out = _connection(msgs, d, level, False)
    if trace:
        out["traced"] = _connection(msgs, d, level, True)["traced"]
    return out


def _connection(msgs: list[str], d: object, level: int, trace: bool) -> dict[str, float]:
    cfg = server_codec_config({"level": level})
    before = 0
    if trace:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
    enc = Encoder(d, context=True, **cfg)  # type: ignore[arg-type]
    dec = Decoder(d, context=True, **cfg)  # type: ignore[arg-type]
    wire = acct = 0
    for i, m in enumerate(msgs):
        f = enc.encode(m)
        wire += len(f)
        if dec.decode(f) != m:
            raise SystemExit(f"level {level}: message {i} did not round-trip")
        if i % 16 == 0:
            acct = max(acct, enc.memory_bytes() + dec.memory_bytes())
    acct = max(acct, enc.memory_bytes() + dec.memory_bytes())
    traced = 0
    if trace:
        gc.collect()
        traced = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
    return {"wire": wire, "acct": acct, "traced": traced, "window": cfg.get("window", 0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpora", nargs="+")
    ap.add_argument("--limit", type=int, default=2000, help="messages coded per corpus (after training)")
    ap.add_argument("--levels", default="0,1,2,3,4")
    ap.add_argument("--no-trace", dest="trace", action="store_false")
    a = ap.parse_args()
    levels = [int(x) for x in a.levels.split(",")]
    print(f"aura_wire {'compiled' if aura_wire.compiled else 'pure'}; state in KiB (acct = memory_bytes(), "
          f"traced = tracemalloc), ratio raw/wire")
    head = f"{'corpus':22}" + "".join(f" | L{lv} acct traced ratio" for lv in levels) + " | pmd-w15 | pmd-w12"
    print(head)
    ratios: dict[str, list[float]] = {}
    worst: dict[int, tuple[float, float]] = {lv: (0.0, 0.0) for lv in levels}
    for path in a.corpora:
        msgs = list(load_messages(path))
        mid = len(msgs) // 2
        d = train_dictionary(msgs[:mid], name=Path(path).stem)
        test = msgs[mid:mid + a.limit]
        raw_b = [m.encode("utf-8") if isinstance(m, str) else m for m in test]
        raw = sum(len(b) for b in raw_b)
        row = f"{Path(path).stem[:22]:22}"
        for lv in levels:
            r = _level(test, d, lv, a.trace)  # type: ignore[arg-type]
            ratio = raw / r["wire"]
            ratios.setdefault(f"L{lv}", []).append(ratio)
            worst[lv] = (max(worst[lv][0], r["acct"]), max(worst[lv][1], r["traced"]))
            row += f" | {r['acct'] / 1024:9.1f} {r['traced'] / 1024:6.1f} {ratio:5.2f}"
        for name, wb, ml in (("pmd-w15", 15, 8), ("pmd-w12", 12, 5)):
            ratio = raw / _pmd(raw_b, wb, ml)
            ratios.setdefault(name, []).append(ratio)
            row += f" | {ratio:7.2f}"
        print(row, flush=True)
    gm = {k: math.exp(sum(math.log(x) for x in v) / len(v)) for k, v in ratios.items()}
    print("geomean ratio: " + ", ".join(f"{k} {v:.3f}" for k, v in gm.items()))
    for lv in levels:
        print(f"level {lv}: state max acct {worst[lv][0] / 1024:.1f} KiB, traced {worst[lv][1] / 1024:.1f} KiB; "
              f"ratio / pmd-w15 {gm[f'L{lv}'] / gm['pmd-w15']:.3f}, / pmd-w12 {gm[f'L{lv}'] / gm['pmd-w12']:.3f}")


if __name__ == "__main__":
    main()
