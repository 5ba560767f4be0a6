"""The BRIO encoder's lazily joined message history (brio.encode.History) against trim_history."""

from __future__ import annotations

import random

import pytest

from aura_wire.codec.brio.encode import BrioEncoder, History
from aura_wire.codec.brio.model import trim_history


@pytest.mark.parametrize("window", [0, 1, 5, 64, 1000])
def test_history_holds_what_trim_history_keeps(window: int) -> None:
    rng = random.Random(window)
    h = History(window)
    ref = b""
    for i in range(400):
        data = rng.randbytes(rng.choice([0, 1, 3, 7, 40, 200, 1500]))
        assert h.length() == len(ref)
        if i % 3 == 0:
            # a trial's buffer: the history then the message, which the commit keeps
            assert h.joined(data) == ref + data
            assert h.joined(data) is h.joined(data)
            assert h.has_joined(data)
        if i % 5 == 1:
            assert h.tail(3) == ref[-3:]
        if i % 7 == 2:
            assert h.get() == ref
        h.commit(data)
        assert not h.has_joined(data)
        ref = trim_history(ref, data, window)
        # never much more than the window is held
        assert h.size <= window + (window >> 3) + len(data)
    assert h.get() == ref and h.length() == len(ref)


def test_history_joined_is_per_message_object() -> None:
    h = History(16)
    h.commit(b"abcdefgh")
    a = b"12345678"
    b = bytes(bytearray(a))  # equal bytes, another object: joined again, not the cached buffer
    assert h.joined(a) == b"abcdefgh12345678"
    assert not h.has_joined(b)
    h.commit(b)
    assert h.get() == b"abcdefgh12345678"


def test_encoder_history_follows_commits() -> None:
    rng = random.Random(1)
    enc = BrioEncoder(None, context=True, window=300)
    ref = b""
    for i in range(60):
        data = bytes(rng.choice(b"abcde") for _ in range(rng.randrange(1, 120)))
        if i % 2:
            enc.encode(data)
        enc.commit(data, i % 4 == 1)
        ref = trim_history(ref, data, 300)
        assert enc.hist == ref
        assert enc.memory_bytes() >= len(ref)
