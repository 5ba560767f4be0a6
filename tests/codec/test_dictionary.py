import os
from pathlib import Path

import pytest

from aura_wire import Dictionary, load_dictionary, save_dictionary, train_dictionary
from aura_wire.codec.dictionary import MAGIC, SECTION_META, SECTION_ZSTD
from aura_wire.errors import DictionaryFormatError, LimitError, UnsupportedVersionError

SAMPLES = [f'{{"type":"tick","seq":{i},"price":"{100 + i % 7}.{i % 100:02d}","sym":"BTC-USD"}}' for i in range(200)]


@pytest.fixture(scope="module")
def trained() -> Dictionary:
    return train_dictionary(SAMPLES, brio=False, templates=False, zstd_dict_size=2048)


def test_round_trip_and_id(trained: Dictionary, tmp_path: Path) -> None:
    raw = trained.to_bytes()
    assert raw.startswith(MAGIC)
    again = Dictionary.from_bytes(raw, expected_id=trained.id)
    assert again == trained and again.id == trained.id
    p = tmp_path / "d.aura"
    save_dictionary(trained, p)
    assert load_dictionary(p).to_bytes() == raw
    assert trained.section(SECTION_ZSTD)
    assert trained.meta["samples"] == 200


def test_id_is_sha256_of_bytes(trained: Dictionary) -> None:
    import hashlib

    assert trained.id == hashlib.sha256(trained.to_bytes()).hexdigest()


def test_hash_mismatch_rejected(trained: Dictionary) -> None:
    with pytest.raises(DictionaryFormatError, match="hash mismatch"):
        Dictionary.from_bytes(trained.to_bytes(), expected_id="00" * 32)


def test_unknown_sections_are_kept_and_ignored() -> None:
    d = Dictionary({SECTION_META: b"\x80", 200: b"future"})
    assert Dictionary.from_bytes(d.to_bytes()).section(200) == b"future"


@pytest.mark.parametrize(
    "mutate, error, match",
    [
        (lambda b: b"XXXX" + b[4:], DictionaryFormatError, "bad magic"),
        (lambda b: b[:4] + b"\x02" + b[5:], UnsupportedVersionError, "version 2"),
        (lambda b: b[:5] + b"\x01" + b[6:], DictionaryFormatError, "flags"),
        (lambda b: b[:-1], DictionaryFormatError, "past the end"),
        (lambda b: b + b"\x00", DictionaryFormatError, "trailing"),
        (lambda b: b[:3], DictionaryFormatError, "bad magic"),
    ],
)
def test_malformed(trained: Dictionary, mutate, error, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        Dictionary.from_bytes(mutate(trained.to_bytes()))


def test_size_limit(trained: Dictionary) -> None:
    with pytest.raises(LimitError):
        Dictionary.from_bytes(trained.to_bytes(), max_size=10)


def test_sections_out_of_order_rejected() -> None:
    bad = MAGIC + bytes([1, 0, 2, 5, 1, 0x41, 3, 1, 0x42])
    with pytest.raises(DictionaryFormatError, match="ascending"):
        Dictionary.from_bytes(bad)


def test_save_is_atomic_no_temp_left(trained: Dictionary, tmp_path: Path) -> None:
    p = tmp_path / "x.aura"
    save_dictionary(trained, p)
    save_dictionary(trained, p)
    assert sorted(os.listdir(tmp_path)) == ["x.aura"]


def test_train_needs_samples() -> None:
    with pytest.raises(ValueError):
        train_dictionary([])
