import pytest
from hypothesis import given, strategies as st

from aura_wire.codec.varint import decode_uvarint, encode_uvarint, zigzag_decode, zigzag_encode
from aura_wire.errors import FrameError


@pytest.mark.parametrize(
    "value, encoded",
    [(0, "00"), (1, "01"), (127, "7f"), (128, "8001"), (300, "ac02"), (16384, "808001"),
     ((1 << 64) - 1, "ffffffffffffffffff01")],
)
def test_known_encodings_both_ways(value: int, encoded: str) -> None:
    assert encode_uvarint(value).hex() == encoded
    assert decode_uvarint(bytes.fromhex(encoded), 0) == (value, len(encoded) // 2)


@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_round_trip(value: int) -> None:
    b = encode_uvarint(value)
    assert decode_uvarint(b"xx" + b + b"yy", 2) == (value, 2 + len(b))


@given(st.integers(min_value=-(1 << 62), max_value=1 << 62))
def test_zigzag_round_trip(value: int) -> None:
    z = zigzag_encode(value)
    assert z >= 0
    assert zigzag_decode(z) == value


@pytest.mark.parametrize(
    "data, why",
    [("", "truncated"), ("80", "truncated"), ("ff" * 10 + "01", "longer than 10"),
     ("8000", "non-minimal"), ("ffffffffffffffffff7f", "exceeds 64 bits")],
)
def test_rejects_bad_varints(data: str, why: str) -> None:
    with pytest.raises(FrameError, match=why):
        decode_uvarint(bytes.fromhex(data), 0)


def test_encode_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        encode_uvarint(-1)
    with pytest.raises(ValueError):
        encode_uvarint(1 << 64)
