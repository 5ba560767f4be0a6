"""The templates' optional C module (aura_wire/codec/templates/_speedups.c) against the Python/mypyc path.

Both paths must give the same DDIG deltas and NUMS digit groups, and so
byte-identical frames.  The compiled test pass (AURA_WIRE_EXPECT_COMPILED=1)
must run the C path; the pure pass (AURA_WIRE_PURE=1) must run the Python one.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from _corpora import load
from _speedups import check_expected_path, with_c_path

import aura_wire
from aura_wire import Decoder, Encoder
from aura_wire.codec.templates import speedups
from aura_wire.codec.templates.numbers import _ddig_delta, _groups_pair
from aura_wire.training.dictionary import train_dictionary


def test_the_build_runs_the_expected_path() -> None:
    check_expected_path(speedups)


@pytest.fixture
def both() -> Iterator[None]:
    yield from with_c_path(speedups, "template")


def _value(r: random.Random) -> bytes:
    """A value with digit runs of every length (leading zeros, runs over 18 digits, up to 45 digits in
    all) between separators, sometimes over the 64 (DDIG) and 128 (NUMS) byte limits."""
    parts = []
    for _ in range(r.choice([0, 1, 2, 3, 5, 17, 20])):
        parts.append(r.choice([b"", b"-", b":", b".", b"T", b"Z", b"ab", b"\x00", b"\xff"]))
        digits = r.choice([1, 1, 2, 4, 6, 18, 19, 20, 25])
        parts.append(bytes(r.choice(b"0123456789" if r.random() < 0.8 else b"123456789") for _ in range(digits)))
    parts.append(r.choice([b"", b"Z", b"-x"]))
    return b"".join(parts)


def _pair(r: random.Random) -> tuple[bytes, bytes]:
    a = _value(r)
    choice = r.random()
    if choice < 0.6:  # the same skeleton: other digits in the same places
        b = bytes(r.choice(b"0123456789") if 0x30 <= c <= 0x39 and r.random() < 0.3 else c for c in a)
    elif choice < 0.8:  # one byte changed
        changed = bytearray(a)
        if changed:
            changed[r.randrange(len(changed))] = r.choice(b"0123456789-x")
        b = bytes(changed)
    else:
        b = _value(r)
    return a, b


def test_digit_scans_are_the_python_paths(both: None) -> None:
    r = random.Random(11)
    pairs = [_pair(r) for _ in range(6000)]
    pairs += [(b"2021-04-17T16:43:37.132833Z", b"2021-04-17T16:43:37.132926Z"), (b"", b""), (b"0", b"9"),
              (b"9" * 40, b"0" * 40), (b"9" * 41, b"0" * 41), (b"9" * 38, b"0" * 38), (b"9" * 39, b"1" * 39),
              (b"1" * 64, b"2" * 64), (b"1" * 65, b"2" * 65), (b"1" * 128, b"1" * 128)]
    got = []
    for c in (True, False):
        speedups.use(c)
        got.append([(_ddig_delta(a, b), _groups_pair(a, b)) for a, b in pairs])
    assert got[0] == got[1]
    deltas = [d for d, _ in got[1]]
    assert sum(d >= 0 for d in deltas) > 1000 and sum(d > (1 << 64) for d in deltas) > 10  # both paths run
    assert sum(bool(g) for _, g in got[1]) > 500


def test_frames_are_the_python_paths(both: None) -> None:
    """Encoder frames (context and stateless, server window) are byte-identical on both paths."""
    for name in ("market_coinbase", "logs_hdfs", "cdp_devtools_cnn"):
        msgs = load(name)
        limit = 400 if aura_wire.compiled else 60  # the pure path is ~50x slower
        train, test = msgs[:300], msgs[len(msgs) // 2:len(msgs) // 2 + limit]
        d = train_dictionary(train)
        for context in (True, False):
            frames = []
            for c in (True, False):
                speedups.use(c)
                enc = Encoder(d, context=context, window=32768, max_runtime_template_bytes=16384)
                dec = Decoder(d, context=context, window=32768, max_runtime_template_bytes=16384)
                out = []
                for m in test:
                    f = enc.encode(m)
                    assert dec.decode(f) == m
                    out.append(f)
                frames.append(out)
            assert frames[0] == frames[1], (name, context)
