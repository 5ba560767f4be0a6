"""BROTLI payloads (spec/wire-format.md §4.3): output produced in bounded steps, the window checked first.

A stream whose output takes more than one step (about 1 MiB) must decode: the step loop once stopped
after the first step whenever the binding had consumed all input, and refused every BROTLI message
above ~1-2 MiB as "truncated".  A window above 22 bits is refused before anything is allocated:
libbrotli allocates the window as its ring buffer, so a 12 KB bomb declaring 24 bits cost 16 MiB
beside the output (peak RSS over a real socket: tests/e2e/test_reliability.py).
"""

from __future__ import annotations

import json
from typing import Any

import brotli
import pytest

from aura_wire import Decoder, Encoder
from aura_wire.codec.frame import METHOD_BROTLI, frame_check, parse_header
from aura_wire.codec.stdcodecs import BROTLI_MAX_WBITS, brotli_decompress, brotli_window_bits
from aura_wire.errors import LimitError, PayloadError

ONLY_BROTLI: dict[str, Any] = {"zstd": False, "brio": False, "templates": False}


def big_message() -> str:
    """About 2.9 MB of JSON that brotli compresses about 5x: several decode steps."""
    return json.dumps([{"id": i, "name": f"user{i * 7919 % 100003}", "v": (i * 2654435761) % 1000003}
                       for i in range(60000)])


@pytest.mark.parametrize("context", [False, True])
def test_a_message_of_many_steps_round_trips(context: bool) -> None:
    msg = big_message()
    frame = Encoder(None, context=context, **ONLY_BROTLI).encode(msg)
    assert parse_header(frame).method == METHOD_BROTLI and len(frame) < len(msg) // 3
    assert Decoder(None, context=context).decode(frame) == msg


def test_output_of_exactly_the_limit_in_many_steps() -> None:
    data = big_message().encode()
    payload = brotli.compress(data, quality=5, lgwin=22)
    assert brotli_decompress(payload, len(data)) == data
    with pytest.raises(LimitError):
        brotli_decompress(payload, len(data) - 1)
    with pytest.raises(PayloadError, match="truncated"):
        brotli_decompress(payload[:-5], len(data))


@pytest.mark.parametrize("lgwin", range(10, 25))
def test_window_bits_read_from_the_stream_header(lgwin: int) -> None:
    payload = brotli.compress(b"window " * 100, quality=5, lgwin=lgwin)
    assert brotli_window_bits(payload) == lgwin
    if lgwin <= BROTLI_MAX_WBITS:
        assert brotli_decompress(payload, 1000) == b"window " * 100
    else:
        with pytest.raises(PayloadError, match="window") as info:
            brotli_decompress(payload, 1000)
        assert info.value.field == "brotli.window"


def test_a_bomb_with_a_large_window_is_refused_before_decoding() -> None:
    bomb = brotli.compress(b"x" * (32 << 20), quality=1, lgwin=24)
    head = bytes([0x40 | 0x08 | METHOD_BROTLI])
    frame = head + bomb + bytes([frame_check(0, b"", b"", head) & 0xFF])
    with pytest.raises(PayloadError, match="24 bits"):
        Decoder(None, context=False).decode(frame)
    # the same bomb within the window is refused at the limit
    with pytest.raises(LimitError):
        brotli_decompress(brotli.compress(b"x" * (32 << 20), quality=1, lgwin=22), 16 << 20)
