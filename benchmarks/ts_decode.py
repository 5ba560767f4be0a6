"""Decode time of the TypeScript client in Node, per corpus (the profiling companion of browser_e2e.py).

For each corpus: train a dictionary on the first ``--train`` messages, code the next ``--n`` with the
Python encoder as a server would (context mode, default config); then
``clients/typescript/scripts/bench-decode.mjs`` decodes the stream with the built client
(``dist/aura-wire.js``: frame to string, what AuraSocket does per message) in several passes, each
on a fresh decoder, every message checked byte for byte. Prints the time per message of the first
pass (cold JIT) and the fastest of the others (warm), in CPU time of the node process. The
comparison with permessage-deflate is browser_e2e.py's, in Chromium; this script is for profiling
the decoder (``--prof DIR``: node --cpu-prof) and comparing two versions of it on the same frames
(``AURA_BUNDLE=path`` loads another build of the client).

Run: ``PYTHONPATH=. python benchmarks/ts_decode.py [--n 2000] [--train 500] [--passes 7] [corpus ...]``
(needs ``npm ci && npm run build`` in clients/typescript).
"""

from __future__ import annotations

import argparse
import struct
import subprocess
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TS = REPO / "clients" / "typescript"
CORPORA = REPO.parent / "shared" / "corpora"
if __name__ == "__main__":
    sys.path[:0] = [str(REPO)]

from aura_wire import Encoder, train_dictionary  # noqa: E402
from aura_wire.files import load_messages  # noqa: E402


def pack(frames: list[bytes]) -> bytes:
    return b"".join(struct.pack("<I", len(f)) + f for f in frames)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpora", nargs="*")
    ap.add_argument("--n", type=int, default=2000, help="messages decoded per corpus")
    ap.add_argument("--train", type=int, default=500, help="messages the dictionary is trained on (before them)")
    ap.add_argument("--passes", type=int, default=7, help="decode passes per stream (the first is the cold one)")
    ap.add_argument("--keep", help="write the streams into this folder (kept) instead of a temporary one")
    ap.add_argument("--prof", help="write node --cpu-prof profiles into this folder")
    args = ap.parse_args()
    names = args.corpora or sorted(p.stem for p in CORPORA.glob("*.jsonl"))
    with tempfile.TemporaryDirectory() if not args.keep else nullcontext(args.keep) as tmp:
        for name in names:
            with open(CORPORA / f"{name}.jsonl", encoding="utf-8") as f:
                total = sum(1 for _ in f)
            n_train = min(args.train, total // 2)
            msgs = load_messages(CORPORA / f"{name}.jsonl", limit=n_train + args.n, field="m")
            train, stream = msgs[:n_train], msgs[n_train:]
            d = train_dictionary(train, name=name)
            enc = Encoder(d, context=True)
            raw = [m.encode("utf-8") for m in stream]
            out = Path(tmp) / name
            out.mkdir(parents=True, exist_ok=True)
            (out / "dict.bin").write_bytes(d.to_bytes())
            (out / "id.txt").write_text(d.id)
            (out / "aura.bin").write_bytes(pack([enc.encode(m) for m in stream]))
            (out / "msgs.bin").write_bytes(pack(raw))
        cmd = ["node"]
        if args.prof:
            cmd += ["--cpu-prof", f"--cpu-prof-dir={args.prof}"]
        cmd += [str(TS / "scripts" / "bench-decode.mjs"), str(args.passes), *(str(Path(tmp) / n) for n in names)]
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
