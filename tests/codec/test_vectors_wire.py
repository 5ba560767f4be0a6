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
    assert set(range(7)) <= seen_methods  # every data method, STATE included
    assert seen_flags == {"text", "context", "uses_dictionary"}


def _decoder(case: dict[str, object]) -> Decoder:
    name = case["dictionary"]
    d = load_dictionary(VECTORS / str(name)) if name else None
    params = case.get("params") or {}
    assert isinstance(params, dict)
    return Decoder(d, context=bool(case["context"]), max_message_size=int(str(case.get("max_message_size", 1 << 24))),
                   **params)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    dec = _decoder(case)
    frames = [bytes.fromhex(f) for f in case["frames"]]
    if "error" in case:
        err = getattr(aura_wire, case["error"])
        for f in frames[:-1]:
            dec.decode(f)
        with pytest.raises(err) as info:
            dec.decode(frames[-1])
        assert type(info.value) is err  # the exact class: a subclass is another error
        for f in case.get("later", []):
            with pytest.raises(aura_wire.ContextDesyncError):
                dec.decode(bytes.fromhex(f))
        return
    for f, m in zip(frames, case["messages"], strict=True):
        expected: str | bytes = m["text"] if "text" in m else bytes.fromhex(m["hex"])
        got = dec.decode(f)
        assert type(got) is type(expected) and got == expected
        h = parse_header(f)
        if h.method == METHOD_RAW:  # RAW frames are fully determined: check the other way too
            raw = expected.encode() if isinstance(expected, str) else expected
            assert f[1:-1] == raw
