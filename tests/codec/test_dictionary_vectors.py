"""spec/vectors/dictionaries: byte strings every reader must refuse as a dictionary (wire-format.md §6, §8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import aura_wire
from aura_wire import Decoder, Dictionary

VECTORS = sorted((Path(__file__).resolve().parents[2] / "spec" / "vectors" / "dictionaries").glob("*.json"))


def test_vectors_exist() -> None:
    assert len(VECTORS) >= 10


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_refused(path: Path) -> None:
    case = json.loads(path.read_text())
    err = getattr(aura_wire, case["error"])
    with pytest.raises(err) as info:
        Decoder(Dictionary.from_bytes(bytes.fromhex(case["dictionary"])), context=True)
    assert type(info.value) is err
