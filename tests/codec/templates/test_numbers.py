"""The encoder's allocation-free number scanners agree with the decoder's parsers (spec/templates.md §4.2).

The encoder compares a value with the slot's previous one in one pass
(``_ddig_delta``, ``_groups_pair``, ``_parse_dec``); the decoder parses the
previous value alone (``_digit_skeleton``, ``_groups``, ``parse_decimal``).  A
form the encoder picks must be one the decoder renders back, so each pair must
give the same answer on every input.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aura_wire.codec.templates import speedups
from aura_wire.codec.templates.atoms import _decode_ddig
from aura_wire.codec.templates.forms import zz
from aura_wire.codec.templates.numbers import (
    _NO_GROUPS,
    _ddig_delta,
    _digit_skeleton,
    _digits_value,
    _groups,
    _groups_pair,
    _parse_dec,
    parse_decimal,
)

#: Digits (a leading zero now and then), separators and a few other bytes (NUL too); long enough to pass the
#: length limits (64 for DDIG, 128 for NUMS) and the 18-digit group limit.
VALUES = st.lists(st.sampled_from([b"0", b"1", b"7", b"9", b"00", b"123456789", b"-", b".", b":", b"a", b" ", b"\x00"]),
                  max_size=40).map(b"".join)


def _pair(a: bytes) -> st.SearchStrategy[bytes]:
    """Another value, often of the same shape as ``a`` (digits changed, non-digits kept)."""
    same_shape = st.lists(st.sampled_from(b"0123456789"), min_size=len(a), max_size=len(a)).map(
        lambda ds: bytes(d if 0x30 <= c <= 0x39 else c for c, d in zip(a, ds)))
    return st.one_of(same_shape, VALUES)


@given(VALUES.flatmap(lambda a: st.tuples(st.just(a), _pair(a))))
def test_ddig_delta_agrees_with_digit_skeleton(pair: tuple[bytes, bytes]) -> None:
    a, b = pair
    sa, sb = _digit_skeleton(a), _digit_skeleton(b)
    want = zz(sa[1] - sb[1]) if sa is not None and sb is not None and sa[0] == sb[0] else -1
    assert _ddig_delta(a, b) == want


@given(VALUES.flatmap(lambda a: st.tuples(st.just(a), _pair(a))))
def test_decode_ddig_renders_what_ddig_delta_coded(pair: tuple[bytes, bytes]) -> None:
    """The decoder's DDIG (i64 up to 18 digits, int above) writes ``a`` back from ``b`` and the delta;
    a NUL byte is kept, never taken for a digit position (it crashed the decoder with IndexError)."""
    a, b = pair
    delta = _ddig_delta(a, b)
    if delta >= 0:
        out = bytearray(b"<")
        _decode_ddig(0, out, delta, b)
        assert bytes(out) == b"<" + a


@given(VALUES.flatmap(lambda a: st.tuples(st.just(a), _pair(a))))
def test_groups_pair_agrees_with_groups(pair: tuple[bytes, bytes]) -> None:
    a, b = pair
    ga, gb = _groups(a), _groups(b)
    got = _groups_pair(a, b)
    if ga is None or gb is None or ga[0] != gb[0]:
        assert got == []
        if speedups.active is None:
            assert got is _NO_GROUPS  # the shared empty list: no allocation per refused pair
    else:
        assert got == [v for ab in zip(ga[1], gb[1]) for v in ab]


@given(VALUES)
def test_parse_dec_and_digits_value(s: bytes) -> None:
    m, scale = _parse_dec(s)
    assert parse_decimal(s) == (None if scale < 0 else (m, scale))
    if scale >= 0:
        assert m == int(s.replace(b".", b""))
    assert _digits_value(s, 0, len(s)) == (int(s) if s.isdigit() else (0 if not s else -1))
