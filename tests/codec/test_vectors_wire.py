"""Every vector in spec/vectors/wire decodes as the spec says (spec/wire-format.md §8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import aura_wire
from aura_wire import Decoder, load_dictionary
from aura_wire.codec.frame import METHOD_RAW, parse_header

VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors"
CASES = sorted((VECTORS / "wire").glob("*.json"))


def test_vectors_exist_for_every_method_and_flag() -> None:
    seen_methods, seen_flags = set(), set()
    for p in CASES:
        case = json.loads(p.read_text())
        for f in case["frames"]:
            if f and "error" not in case:
                h = parse_header(bytes.fromhex(f))
                seen_methods.add(h.method)
                seen_flags |= {k for k in ("text", "context", "uses_dictionary") if getattr(h, k)}
    assert {0, 1, 2, 5} <= seen_methods
    assert seen_flags == {"text", "context", "uses_dictionary"}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    d = load_dictionary(VECTORS / case["dictionary"]) if case["dictionary"] else None
    dec = Decoder(d, context=case["context"], max_message_size=case.get("max_message_size", 1 << 24))
    frames = [bytes.fromhex(f) for f in case["frames"]]
    if "error" in case:
        err = getattr(aura_wire, case["error"])
        for f in frames[:-1]:
            dec.decode(f)
        with pytest.raises(err):
            dec.decode(frames[-1])
        return
    for f, m in zip(frames, case["messages"], strict=True):
        expected: str | bytes = m["text"] if "text" in m else bytes.fromhex(m["hex"])
        got = dec.decode(f)
        assert type(got) is type(expected) and got == expected
        h = parse_header(f)
        if h.method == METHOD_RAW:  # RAW frames are fully determined: check the other way too
            raw = expected.encode() if isinstance(expected, str) else expected
            assert f == bytes([f[0]]) + raw
