"""A dictionary file named by its id is verified on load; ``expected_id`` pins any file (wire-format §6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_wire import Dictionary, DictionaryFormatError, load_dictionary, save_dictionary

VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors"


def test_file_named_by_its_id_is_verified(tmp_path: Path) -> None:
    d = load_dictionary(VECTORS / "dict-std.aura")
    named = tmp_path / f"{d.id}.aura"
    save_dictionary(d, named)
    assert load_dictionary(named) == d
    data = bytearray(named.read_bytes())
    data[-1] ^= 0x01  # a bit flip inside the last section: the container still parses
    named.write_bytes(bytes(data))
    assert Dictionary.from_bytes(bytes(data)).id != d.id
    with pytest.raises(DictionaryFormatError, match="hash mismatch"):
        load_dictionary(named)


def test_expected_id_pins_any_file(tmp_path: Path) -> None:
    d = load_dictionary(VECTORS / "dict-std.aura")
    other = load_dictionary(VECTORS / "dict-templates.aura")
    path = tmp_path / "current.aura"
    save_dictionary(other, path)
    assert load_dictionary(path) == other  # a plain name: loads whatever it holds
    with pytest.raises(DictionaryFormatError, match="hash mismatch"):
        load_dictionary(path, expected_id=d.id)
