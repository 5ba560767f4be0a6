"""Generate the BRIO test vectors in spec/vectors/brio/ (spec/brio.md §10).

Run from the repository root: ``python spec/vectors/make_brio_vectors.py``.
Each vector is a JSON file::

    {"description": ..., "context": bool, "window": int,
     "dictionary_sections": {"content": hex, "model": hex} | null,
     "messages": [hex, ...], "payloads": [hex, ...]}

A decoder built as the spec says (BrioDecoder(shared, context, window),
decoding the payloads in order) must return exactly ``messages``.  In
context mode every message is a BRIO frame (committed with chosen=True).
The inputs are synthetic and deterministic; nothing here comes from a
private source.
"""

from __future__ import annotations

import json
import zlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".."))

from aura_wire.codec.brio.decode import BrioDecoder  # noqa: E402
from aura_wire.codec.brio.encode import BrioEncoder  # noqa: E402
from aura_wire.codec.brio.model import BrioShared  # noqa: E402
from aura_wire.training.brio import train_brio  # noqa: E402

OUT = os.path.join(HERE, "brio")


def _training_samples() -> list[bytes]:
    out = []
    for i in range(40):
        out.append(b'{"type":"ticker","product_id":"BTC-USD","price":"%d.%02d","side":"%s","seq":%d}'
                   % (30000 + i * 7, i % 100, b"buy" if i % 3 else b"sell", 1000 + i))
        out.append(b"Dec 10 06:%02d:%02d host sshd[%d]: Invalid user admin%d from 10.0.%d.%d"
                   % (i % 60, (i * 7) % 60, 2000 + i, i % 5, i % 9, i * 3 % 250))
    return out


def _vector(name: str, description: str, sections: tuple[bytes, bytes] | None, context: bool,
            messages: list[bytes], window: int = 8192) -> None:
    shared = BrioShared.from_sections(*sections) if sections is not None else None
    enc = BrioEncoder(shared, context=context, window=window)
    dec = BrioDecoder(shared, context=context, window=window)
    payloads = []
    checks = []
    for m in messages:
        # the check bits are supplied by the frame layer (spec/brio.md §7); any byte will do here
        check = zlib.crc32(m) & 0xFF
        p = enc.encode(m, check)
        if context:
            enc.commit(m, True)
        if dec.decode_unchecked(p, len(m)) != (m, check):
            raise SystemExit(f"vector {name}: round trip failed")
        dec.observe(m)
        payloads.append(p.hex())
        checks.append(check)
    doc = {
        "description": description,
        "context": context,
        "window": window,
        "dictionary_sections": None if sections is None else {"content": sections[0].hex(),
                                                              "model": sections[1].hex()},
        "messages": [m.hex() for m in messages],
        "payloads": payloads,
        "checks": checks,
    }
    with open(os.path.join(OUT, name + ".json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    sections = train_brio(_training_samples(), content_size=600, min_distinct=4)
    _vector("dictionary_match", "Stateless frames whose matches reach into the dictionary content "
            "(model from the dictionary's stateless set).", sections, False,
            [b'{"type":"ticker","product_id":"BTC-USD","price":"31234.56","side":"buy","seq":5000}',
             b"Dec 10 07:01:02 host sshd[4242]: Invalid user admin3 from 10.0.1.77"])
    _vector("history_match", "Context frames: later messages match earlier ones in the connection history "
            "(rep distances start from the previous message lengths; models adapt across frames).",
            sections, True,
            [b'{"type":"ticker","product_id":"ETH-EUR","price":"1880.10","side":"sell","seq":77}',
             b'{"type":"ticker","product_id":"ETH-EUR","price":"1880.12","side":"sell","seq":78}',
             b'{"type":"ticker","product_id":"ETH-EUR","price":"1880.12","side":"buy","seq":79}',
             b"", b"x", b'{"type":"ticker","product_id":"ETH-EUR","price":"1879.99","side":"buy","seq":80}'],
            window=160)
    _vector("literal_runs", "Stateless frames without a dictionary made mostly of literals (default models), "
            "including all 256 byte values and a long run that uses in-message matches.", None, False,
            [bytes(range(256)), b"The quick brown fox jumps over the lazy dog. " * 3 + b"\x00\xff" * 40,
             b"a"])
    _vector("no_dictionary", "No dictionary: the fixed default models (every probability 2048); "
            "empty message, one byte, short text.", None, False,
            [b"", b"\x00", b"hello hello hello", b'{"k":[1,2,3,4,5,6,7,8,9,10]}'])
    _vector("no_dictionary_context", "Context mode without a dictionary: history only.", None, True,
            [b"GET /api/v1/items?page=1", b"GET /api/v1/items?page=2", b"GET /api/v1/items?page=3"])
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
