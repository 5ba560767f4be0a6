"""spec/vectors/templates/*.json, asserted both ways (spec/templates.md §8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aura_wire import errors
from aura_wire.codec.templates.coders import TemplateDecoder, TemplateEncoder
from aura_wire.codec.templates.section import TemplateSet

VECTORS = Path(__file__).resolve().parents[3] / "spec" / "vectors" / "templates"
FILES = sorted(VECTORS.glob("*.json"))


def _set(case: dict[str, object]) -> TemplateSet | None:
    sec = case["section"]
    return TemplateSet.from_section(bytes.fromhex(sec)) if isinstance(sec, str) else None


def test_vectors_exist() -> None:
    assert len(FILES) >= 10
    assert any(p.name.startswith("fuzzy-") for p in FILES)
    assert any(p.name.startswith("error-fuzzy-") for p in FILES)
    assert any(p.name.startswith("copy-") for p in FILES)
    assert any(p.name.startswith("error-copy-") for p in FILES)


@pytest.mark.parametrize("path", [p for p in FILES if not p.name.startswith("error-")], ids=lambda p: p.stem)
def test_vector_decodes_and_encodes(path: Path) -> None:
    case = json.loads(path.read_text())
    ts = _set(case)
    ctx = bool(case["context"])
    fuzzy = bool(case.get("fuzzy", False))
    content = bytes.fromhex(str(case.get("content", "")))
    dec = TemplateDecoder(ts, context=ctx, content=content)
    enc = TemplateEncoder(ts, context=ctx, fuzzy=fuzzy, content=content)
    assert any(p is not None for p in case["payloads"])
    # a fuzzy vector holds fuzzy payloads (reference mode 3, spec §4.3); the others none
    assert fuzzy == any(p is not None and int(p[:2], 16) & 3 == 3 for p in case["payloads"])
    window = int(case.get("window", 0))
    hist = b""
    for m, p in zip(case["messages"], case["payloads"], strict=True):
        data = m["text"].encode("utf-8")
        got = enc.encode(data, True, hist)
        assert (got.hex() if got is not None else None) == p
        enc.commit(data, got is not None)
        if p is None:
            dec.observe(data)
        else:
            assert dec.decode(bytes.fromhex(p), True, 1 << 20, hist) == data
        if window:
            hist = (hist + data)[-window:]


@pytest.mark.parametrize("path", [p for p in FILES if p.name.startswith("error-")], ids=lambda p: p.stem)
def test_error_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    dec = TemplateDecoder(_set(case), context=bool(case["context"]))
    for m in case["observe"]:
        dec.observe(m["text"].encode("utf-8"))
    err = getattr(errors, case["error"])
    with pytest.raises(err):
        dec.decode(bytes.fromhex(case["payload"]), True, int(case.get("max_size", 1 << 20)))
