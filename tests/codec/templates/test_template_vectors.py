"""spec/vectors/templates/*.json, asserted both ways (spec/templates.md §8)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aura_wire import errors
from aura_wire.codec.templates.coders import TemplateDecoder, TemplateEncoder
from aura_wire.codec.templates.context import parse_instructions
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


def _replay(dec: TemplateDecoder, data: bytes, payload: str | None, instructions: str | None, hist: bytes) -> None:
    """One message as a decoder sees it: its payload (if any) decoded and committed, then the
    STATE instructions sent with it (spec/templates.md §5.1, §5.5)."""
    if payload is not None:
        got = dec.decode_payload(bytes.fromhex(payload), 1 << 20, hist)
        assert got.data == data
        dec.commit(got)
    if instructions is not None:
        block = bytes.fromhex(instructions)
        ins, end = parse_instructions(block, 0)
        assert end == len(block)
        dec.apply(ins, data)


SUCCESS = [p for p in FILES if not p.name.startswith("error-")]


def _load(path: Path) -> tuple[dict[str, Any], TemplateSet | None, bool, bytes, int, list[str | None]]:
    case = json.loads(path.read_text())
    assert any(p is not None for p in case["payloads"])
    instructions = case.get("instructions") or [None] * len(case["messages"])
    return (case, _set(case), bool(case["context"]), bytes.fromhex(str(case.get("content", ""))),
            int(case.get("window", 0)), instructions)


@pytest.mark.parametrize("path", SUCCESS, ids=lambda p: p.stem)
def test_vector_decodes(path: Path) -> None:
    """What every decoder must do: payloads and instructions in order give the messages."""
    case, ts, ctx, content, window, instructions = _load(path)
    # a fuzzy vector holds fuzzy payloads (reference mode 3, spec §4.3); the others none
    assert bool(case.get("fuzzy", False)) == any(p is not None and int(p[:2], 16) & 3 == 3 for p in case["payloads"])
    dec = TemplateDecoder(ts, context=ctx, content=content)
    hist = b""
    for m, p, ins in zip(case["messages"], case["payloads"], instructions, strict=True):
        data = m["text"].encode("utf-8")
        _replay(dec, data, p, ins, hist)
        if window:
            hist = (hist + data)[-window:]


@pytest.mark.parametrize("path", [p for p in SUCCESS if not json.loads(p.read_text()).get("decode_only", False)],
                         ids=lambda p: p.stem)
def test_vector_encodes(path: Path) -> None:
    """The reference encoder's choices: it sends exactly these payloads and instructions (decode-only
    vectors hold hand-made payloads the reference encoder would not choose)."""
    case, ts, ctx, content, window, instructions = _load(path)
    # made with hold_defines off (make_template_vectors.py): runtime-eviction defines shapes that are
    # never used, to fill and evict the runtime table
    enc = TemplateEncoder(ts, context=ctx, fuzzy=bool(case.get("fuzzy", False)), content=content,
                          hold_defines=False)
    hist = b""
    for m, p, ins in zip(case["messages"], case["payloads"], instructions, strict=True):
        data = m["text"].encode("utf-8")
        got = enc.encode(data, True, hist)
        assert (got.hex() if got is not None else None) == p
        sent = enc.learn(data)
        assert (sent.hex() if sent else None) == ins
        enc.commit(data, got is not None)
        if window:
            hist = (hist + data)[-window:]


@pytest.mark.parametrize("path", [p for p in FILES if p.name.startswith("error-")], ids=lambda p: p.stem)
def test_error_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    err = getattr(errors, case["error"])
    with pytest.raises(err) as info:
        dec = TemplateDecoder(_set(case), context=bool(case["context"]))
        for m in case["observe"]:
            _replay(dec, m["text"].encode("utf-8"), m["payload"], m["instructions"], b"")
        got = dec.decode_payload(bytes.fromhex(case["payload"]), int(case.get("max_size", 1 << 20)))
        dec.commit(got)
        if "instructions" in case:
            block = bytes.fromhex(case["instructions"])
            dec.apply(parse_instructions(block, 0)[0], got.data)
    assert type(info.value) is err
