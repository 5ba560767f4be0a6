"""Encoder/Decoder: round trips, method choice, limits and hostile frames (spec/wire-format.md §3-§5)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from aura_wire import Decoder, Dictionary, Encoder, train_dictionary
from aura_wire.codec.frame import METHOD_BROTLI, METHOD_RAW, METHOD_ZSTD, parse_header
from aura_wire.errors import (
    AuraError, ContextDesyncError, FrameError, LimitError, PayloadError, UnknownDictionaryError,
    UnsupportedVersionError,
)

STD: dict[str, Any] = {"brio": False, "templates": False}
SAMPLES = [
    f'{{"event":"trade","id":{i},"price":"{20000 + (i * 37) % 500}.{i % 100:02d}","qty":"0.{i % 9}",'
    f'"side":"{"buy" if i % 3 else "sell"}"}}'
    for i in range(300)
]


@pytest.fixture(scope="module")
def std_dict() -> Dictionary:
    return train_dictionary(SAMPLES, brio=False, templates=False, zstd_dict_size=4096)


def pair(d: Dictionary | None, context: bool, **cfg: Any) -> tuple[Encoder, Decoder]:
    return Encoder(d, context=context, **cfg), Decoder(d, context=context, **cfg)


messages = st.lists(st.one_of(st.text(max_size=400), st.binary(max_size=400)), max_size=12)


@pytest.mark.parametrize("context", [True, False])
@given(msgs=messages)
@settings(max_examples=60, deadline=None)
def test_round_trip_std_methods(context: bool, msgs: list[str | bytes]) -> None:
    enc, dec = pair(None, context, **STD)
    for m in msgs:
        f = enc.encode(m)
        # expansion bound (spec §3): header and check byte, plus a STATE frame's instructions
        assert len(f) <= len(m.encode() if isinstance(m, str) else m) + 2 or f[0] & 7 == 6
        out = dec.decode(f)
        assert type(out) is type(m) and out == m


@pytest.mark.parametrize("context", [True, False])
@given(msgs=messages)
@settings(max_examples=40, deadline=None)
def test_round_trip_full_codec_no_dictionary(context: bool, msgs: list[str | bytes]) -> None:
    enc, dec = pair(None, context)
    for m in msgs:
        out = dec.decode(enc.encode(m))
        assert type(out) is type(m) and out == m


@pytest.mark.parametrize("context", [True, False])
def test_round_trip_with_dictionary_and_sizes(std_dict: Dictionary, context: bool) -> None:
    enc, dec = pair(std_dict, context, **STD)
    rnd = random.Random(5)
    msgs: list[str | bytes] = list(SAMPLES[:50]) + [rnd.randbytes(n) for n in (0, 1, 7, 8, 100, 5000, 70000)]
    msgs += ["é" * 3000, "x" * 300000]
    for m in msgs:
        f = enc.encode(m)
        raw = m.encode() if isinstance(m, str) else m
        assert len(f) <= len(raw) + 2 or f[0] & 7 == 6
        assert dec.decode(f) == m


def test_methods_selected(std_dict: Dictionary) -> None:
    enc = Encoder(std_dict, context=False, **STD)
    assert parse_header(enc.encode("hi")).method == METHOD_RAW
    h = parse_header(enc.encode(SAMPLES[0] * 20))
    assert h.method in (METHOD_ZSTD, METHOD_BROTLI)
    h = parse_header(enc.encode(SAMPLES[5]))
    assert h.method == METHOD_ZSTD and h.uses_dictionary and not h.context and h.text
    enc = Encoder(std_dict, context=False, zstd=False, brotli=False, **STD)
    assert parse_header(enc.encode(SAMPLES[5])).method == METHOD_RAW


def test_stateless_frame_decodes_in_any_decoder(std_dict: Dictionary) -> None:
    enc = Encoder(std_dict, context=False, **STD)
    frames = [enc.encode(m) for m in SAMPLES[:20]]
    for f, m in reversed(list(zip(frames, SAMPLES))):
        assert Decoder(std_dict, context=False, **STD).decode(f) == m


def test_sensitive_frames_share_nothing(std_dict: Dictionary) -> None:
    enc = Encoder(std_dict, context=True)
    f = enc.encode("password=hunter2hunter2hunter2", sensitive=True)
    h = parse_header(f)
    assert not h.context and not h.uses_dictionary
    assert Decoder(None, context=False).decode(f) == "password=hunter2hunter2hunter2"


def test_context_frame_refused_by_stateless_decoder() -> None:
    f = Encoder(None, context=True).encode("hello hello hello hello")
    with pytest.raises(ContextDesyncError):
        Decoder(None, context=False).decode(f)


def test_dictionary_frame_without_dictionary(std_dict: Dictionary) -> None:
    f = Encoder(std_dict, context=False, **STD).encode(SAMPLES[3])
    assert parse_header(f).uses_dictionary
    with pytest.raises(UnknownDictionaryError):
        Decoder(None, context=False).decode(f)


def test_size_limits_every_method() -> None:
    big = "a" * 200_000
    configs: list[dict[str, Any]] = [{"zstd": True, "brotli": False}, {"zstd": False, "brotli": True},
                                     {"zstd": False, "brotli": False}]
    for cfg in configs:
        f = Encoder(None, context=False, **STD, **cfg).encode(big)
        with pytest.raises(LimitError):
            Decoder(None, context=False, max_message_size=1000, **STD).decode(f)


def test_zstd_bomb_refused_before_allocation() -> None:
    import tracemalloc

    f = Encoder(None, context=False, brotli=False, **STD).encode(b"\0" * 50_000_000)
    assert parse_header(f).method == METHOD_ZSTD and len(f) < 5000
    tracemalloc.start()
    with pytest.raises(LimitError):
        Decoder(None, context=False, max_message_size=1 << 20).decode(f)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 << 20


def test_brotli_bomb_bounded() -> None:
    import brotli
    import tracemalloc

    f = bytes([0x40 | METHOD_BROTLI]) + brotli.compress(b"\0" * 50_000_000) + b"\0"  # v2 header, a check byte
    tracemalloc.start()
    with pytest.raises(LimitError):
        Decoder(None, context=False, max_message_size=1 << 20).decode(f)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 << 20


@pytest.mark.parametrize(
    "frame, error",
    [
        (b"", FrameError),
        (b"\x08abc", UnsupportedVersionError),  # a v1 frame
        (b"\x80abc", UnsupportedVersionError),
        (b"\x46abc", FrameError),  # STATE without C
        (b"\x07abc", FrameError),
        (b"\x41", FrameError),  # no room for the check byte
        (b"\x41\x00\x00\x00\x00", AuraError),
        (b"\x42\xff\xff\xff", PayloadError),
        (b"\x60abc", FrameError),
        (b"\x48\xff\xfe\x00", PayloadError),
    ],
)
def test_bad_frames(frame: bytes, error: type[AuraError]) -> None:
    with pytest.raises(error):
        Decoder(None, context=True).decode(frame)


def test_zstd_trailing_bytes_and_truncation() -> None:
    f = Encoder(None, context=False, brotli=False, **STD).encode(b"abc" * 1000)
    assert parse_header(f).method == METHOD_ZSTD
    with pytest.raises(FrameError, match="trailing"):
        Decoder(None, context=False).decode(f + b"\x00")
    with pytest.raises(PayloadError):
        Decoder(None, context=False).decode(f[:-2])


@pytest.mark.parametrize("context", [True, False])
def test_mutated_frames_never_escape_the_error_tree(std_dict: Dictionary, context: bool) -> None:
    """A small fuzz: flipped, cut and extended frames raise AuraError or decode; nothing else."""
    rnd = random.Random(1234)
    enc = Encoder(std_dict, context=context)
    frames = [enc.encode(m) for m in SAMPLES[:40]]
    for _ in range(1500):
        f = bytearray(rnd.choice(frames))
        op = rnd.randrange(3)
        if op == 0:
            i = rnd.randrange(len(f))
            f[i] ^= 1 << rnd.randrange(8)
        elif op == 1:
            del f[rnd.randrange(len(f)):]
        else:
            f += rnd.randbytes(rnd.randrange(1, 8))
        dec = Decoder(std_dict, context=context, max_message_size=1 << 16)
        try:
            dec.decode(bytes(f))
        except AuraError:
            pass


def test_metrics_counted(std_dict: Dictionary) -> None:
    enc, dec = pair(std_dict, True)
    for m in SAMPLES[:30]:
        dec.decode(enc.encode(m))
    assert enc.metrics.messages == 30 and dec.metrics.messages == 30
    assert enc.metrics.original_bytes == sum(len(m) for m in SAMPLES[:30])
    assert enc.metrics.wire_bytes < enc.metrics.original_bytes
