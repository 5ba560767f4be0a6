"""Property tests: every message round-trips exactly, whatever the sequence (issue 7, part 1).

Arbitrary ``str``/``bytes`` of any size from 0 to 200 KB, in stateless and context mode, with and
without a shared dictionary, with sensitive messages interleaved.  Checked for every frame: the
decoded message is identical and of the same type, the frame is at most 1 byte longer than the
message, and a sensitive frame has C=0 and D=0.  BRIO and templates are on.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import aura_wire
from aura_wire import Decoder, Dictionary, Encoder, train_dictionary
from aura_wire.codec.frame import METHOD_TEMPLATE, parse_header


OPTS: dict[str, Any] = {"brio": True, "templates": True}
NO_BRIO: dict[str, Any] = {**OPTS, "brio": False}
MAX_SIZE = 200 * 1024
#: Largest message given to the full codec in the normal suite: the pure-Python BRIO encoder codes
#: ~40 KB/s, so the pure build tests the 200 KB range with BRIO off here and with BRIO on in the
#: ``slow`` tests (the compiled build does all of it in the normal suite).
FULL_MAX = MAX_SIZE if aura_wire.compiled else 4096

_WORDS = ["alpha", "beta", '"id":', "{", "}", ",", "é", "日本語", "🙂", " ", "\n", "\\u0000", "price", "0.001", "\x00"]


def _train_samples(n: int = 150, seed: int = 3) -> list[str]:
    rnd = random.Random(seed)
    return [json.dumps({"type": rnd.choice(["trade", "quote", "chat"]), "id": i, "px": f"{rnd.uniform(1, 99):.3f}",
                        "user": f"user{rnd.randint(1, 40)}", "text": " ".join(rnd.choice(_WORDS) for _ in range(6))})
            for i in range(n)]


@pytest.fixture(scope="module")
def dictionary() -> Dictionary:
    return train_dictionary(_train_samples(), zstd_dict_size=4096, brio_content_size=4096, **OPTS)


def _make(kind: int, size: int, seed: int, text: bool) -> str | bytes:
    """A deterministic message of about ``size`` bytes (exactly ``size`` for bytes)."""
    rnd = random.Random(seed)
    if kind == 0:  # incompressible
        raw = rnd.randbytes(size)
    elif kind == 1:  # very repetitive: a bomb-like ratio
        unit = rnd.randbytes(rnd.randint(1, 7))
        raw = (unit * (size // len(unit) + 1))[:size]
    elif kind == 4:  # one message shaped like the training samples: the dictionary's templates match it
        s = _train_samples(1, seed)[0]
        return s if text else s.encode()
    elif kind == 2:  # structured traffic, like the corpora
        parts: list[str] = []
        total = 0
        samples = _train_samples()
        while total < size:
            s = rnd.choice(samples)
            parts.append(s)
            total += len(s) + 1
        raw = "\n".join(parts).encode()[:size]
    else:  # mixed unicode
        chars: list[str] = []
        total = 0
        while total < size:
            w = rnd.choice(_WORDS)
            chars.append(w)
            total += len(w.encode())
        s = "".join(chars)
        return s if text else s.encode()
    if text:
        return raw.decode("utf-8", errors="replace")
    return raw


def _sequences(max_size: int, total: int | None = None) -> st.SearchStrategy[list[tuple[str | bytes, bool]]]:
    cap = 3 * max_size if total is None else total
    size = st.one_of(st.integers(0, 40), st.integers(0, min(4096, max_size)), st.integers(0, max_size))
    generated = st.builds(_make, st.integers(0, 4), size, st.integers(0, 2**32), st.booleans())
    item = st.tuples(st.one_of(_arbitrary, generated), st.booleans())
    return st.lists(item, min_size=1, max_size=8).filter(lambda xs: sum(len(m) for m, _ in xs) <= cap)


_arbitrary = st.one_of(st.text(max_size=300), st.binary(max_size=300))


def _check_sequence(d: Dictionary | None, context: bool, items: list[tuple[str | bytes, bool]],
                    opts: dict[str, Any] = OPTS) -> None:
    enc = Encoder(d, context=context, **opts)
    dec = Decoder(d, context=context, **opts)
    for msg, sensitive in items:
        frame = enc.encode(msg, sensitive=sensitive)
        raw = msg.encode("utf-8") if isinstance(msg, str) else msg
        # expansion bound (spec §3): header and check byte, plus a STATE frame's instructions
        assert len(frame) <= len(raw) + 2 or frame[0] & 7 == 6
        h = parse_header(frame)
        assert h.text == isinstance(msg, str)
        if sensitive:
            assert not h.context and not h.uses_dictionary
        else:
            assert h.context == context
        out = dec.decode(frame)
        assert type(out) is type(msg)
        assert out == msg


@pytest.mark.parametrize("with_dict", [False, True], ids=["nodict", "dict"])
@pytest.mark.parametrize("context", [False, True], ids=["stateless", "context"])
@given(items=_sequences(FULL_MAX))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_round_trip_any_sequence(dictionary: Dictionary, context: bool, with_dict: bool,
                                 items: list[tuple[str | bytes, bool]]) -> None:
    _check_sequence(dictionary if with_dict else None, context, items)


@pytest.mark.parametrize("with_dict", [False, True], ids=["nodict", "dict"])
@pytest.mark.parametrize("context", [False, True], ids=["stateless", "context"])
@given(items=_sequences(MAX_SIZE))
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_round_trip_any_sequence_up_to_200k_without_brio(dictionary: Dictionary, context: bool, with_dict: bool,
                                                         items: list[tuple[str | bytes, bool]]) -> None:
    _check_sequence(dictionary if with_dict else None, context, items, NO_BRIO)


@pytest.mark.slow
@pytest.mark.parametrize("context", [False, True], ids=["stateless", "context"])
@given(items=_sequences(MAX_SIZE, total=MAX_SIZE + 20000))
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_round_trip_any_sequence_up_to_200k_every_method(dictionary: Dictionary, context: bool,
                                                         items: list[tuple[str | bytes, bool]]) -> None:
    _check_sequence(dictionary, context, items)


@pytest.mark.parametrize("context", [False, True], ids=["stateless", "context"])
@given(items=st.lists(st.tuples(_arbitrary, st.booleans()), min_size=1, max_size=20))
@settings(max_examples=40, deadline=None)
def test_round_trip_small_arbitrary(dictionary: Dictionary, context: bool,
                                    items: list[tuple[str | bytes, bool]]) -> None:
    _check_sequence(dictionary, context, items)


BOUNDARIES = [0, 1, 7, 8, 9, 63, 64, 511, 512, 513, 1023, 1024, 1025, 4096, 65535, 65536, 131072, MAX_SIZE]


def _boundary_items(max_size: int) -> list[tuple[str | bytes, bool]]:
    items: list[tuple[str | bytes, bool]] = []
    for i, n in enumerate(BOUNDARIES):
        if n > max_size:
            continue
        for kind in range(4):
            items.append((_make(kind, n, i * 4 + kind, (i + kind) % 2 == 0), (i + kind) % 5 == 0))
    return items


@pytest.mark.parametrize("context", [False, True], ids=["stateless", "context"])
def test_boundary_sizes_every_kind(dictionary: Dictionary, context: bool) -> None:
    _check_sequence(dictionary, context, _boundary_items(MAX_SIZE), NO_BRIO)
    # Every method (pure-Python BRIO is slow): every other boundary case up to 1025 bytes.
    _check_sequence(dictionary, context, _boundary_items(min(FULL_MAX, 1025))[::2])


@pytest.mark.slow
@pytest.mark.parametrize("context", [False, True], ids=["stateless", "context"])
def test_boundary_sizes_every_kind_every_method(dictionary: Dictionary, context: bool) -> None:
    # Up to 64 KiB with every method in the pure build (BRIO codes ~40 KB/s uncompiled); all sizes compiled.
    _check_sequence(dictionary, context, _boundary_items(MAX_SIZE if aura_wire.compiled else 65536))


@pytest.mark.parametrize("context", [False, True], ids=["stateless", "context"])
def test_dictionary_templates_round_trip(dictionary: Dictionary, context: bool) -> None:
    """Messages shaped like the training samples, coded with the dictionary's templates (TEMPLATE as the
    only compressing method, so it is used) and with every method, sensitive ones interleaved."""
    items: list[tuple[str | bytes, bool]] = [(m, i % 7 == 3) for i, m in enumerate(_train_samples(40, 99))]
    _check_sequence(dictionary, context, items)
    if OPTS["templates"]:
        only: dict[str, Any] = {**OPTS, "brio": False, "zstd": False, "brotli": False}
        _check_sequence(dictionary, context, items, only)
        enc = Encoder(dictionary, context=context, **only)
        assert METHOD_TEMPLATE in {parse_header(enc.encode(m)).method for m, _ in items}
