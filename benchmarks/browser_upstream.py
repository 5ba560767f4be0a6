"""What context mode would save on the browser client's upstream (client -> server), per corpus.

The browser client (clients/typescript) sends stateless BRIO frames. This codes the same client
stream with the Python encoder four ways and prints the bytes, beside permessage-deflate as
Chromium would send it (raw deflate, window 15, context takeover, sync flush, RFC 7692):

* ``sl-brio``: stateless BRIO with the dictionary (what AuraSocket sends; RAW when not shorter);
* ``ctx-brio``: context-mode BRIO only (history window and adapted models kept per connection):
  what a context-mode upstream encoder in the browser client would send;
* ``ctx-full``: the full context-mode encoder (templates, ZSTD, ...), an upper bound too large
  for the browser bundle.

The dictionary is trained on the first ``--train`` messages, the next ``--n`` are the stream (the
echo of browser_e2e.py sends the server's stream back, so these are the same messages).

Run: ``PYTHONPATH=. python benchmarks/browser_upstream.py [--n 500] [--train 500] [--window 8192] [corpus ...]``
"""

from __future__ import annotations

import argparse
import math
import sys
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPORA = REPO.parent / "shared" / "corpora"
if __name__ == "__main__":
    sys.path[:0] = [str(REPO)]

from aura_wire import Encoder, train_dictionary  # noqa: E402
from aura_wire.files import load_messages  # noqa: E402


def pmd_bytes(messages: list[str], wbits: int) -> int:
    c = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -wbits, 8)
    return sum(len(c.compress(m.encode()) + c.flush(zlib.Z_SYNC_FLUSH)) - 4 for m in messages)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpora", nargs="*")
    ap.add_argument("--n", type=int, default=500, help="messages in the client stream")
    ap.add_argument("--train", type=int, default=500, help="messages the dictionary is trained on (before them)")
    ap.add_argument("--window", type=int, default=8192, help="context BRIO window")
    args = ap.parse_args()
    names = args.corpora or sorted(p.stem for p in CORPORA.glob("*.jsonl"))
    print(f"{'corpus':22} {'msgs':>5} {'raw B':>9} {'w15 B':>8} {'sl-brio':>8} {'ctx-brio':>8} {'ctx-full':>8} "
          f"{'w15/sl':>7} {'w15/ctx':>7} {'ctx/sl':>7} {'saved B/msg':>11}", flush=True)
    rows = []
    for name in names:
        msgs = load_messages(CORPORA / f"{name}.jsonl", field="m")
        n_train = min(args.train, len(msgs) // 2)
        train, stream = msgs[:n_train], msgs[n_train:n_train + args.n]
        d = train_dictionary(train, name=name)
        sizes = []
        for options in ({"context": False, "zstd": False, "brotli": False, "templates": False},
                        {"context": True, "zstd": False, "brotli": False, "templates": False, "window": args.window},
                        {"context": True, "window": args.window}):
            enc = Encoder(d, **options)
            sizes.append(sum(len(enc.encode(m)) for m in stream))
        w15 = pmd_bytes(stream, 15)
        sl, ctx, full = sizes
        rows.append((w15, sl, ctx))
        print(f"{name:22} {len(stream):5d} {sum(len(m.encode()) for m in stream):9d} {w15:8d} {sl:8d} {ctx:8d} {full:8d} "
              f"{w15 / sl:7.2f} {w15 / ctx:7.2f} {sl / ctx:7.2f} {(sl - ctx) / len(stream):11.1f}", flush=True)

    def gm(xs: list[float]) -> float:
        return math.exp(sum(math.log(x) for x in xs) / len(xs))

    print(f"geomean: pmd w15 / stateless {gm([w / s for w, s, _ in rows]):.2f}x, pmd w15 / context BRIO "
          f"{gm([w / c for w, _, c in rows]):.2f}x, stateless / context BRIO {gm([s / c for _, s, c in rows]):.2f}x")


if __name__ == "__main__":
    main()
