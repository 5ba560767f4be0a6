"""CONTROL frames: exact round trips both ways and rejection of malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aura_wire.errors import AuraError, FrameError, LimitError, ProtocolError
from aura_wire.session.control import (
    Chunk,
    ControlMessage,
    Get,
    Hello,
    Unknown,
    Use,
    is_control_frame,
    pack_control,
    parse_control,
)

ids = st.binary(min_size=32, max_size=32).map(bytes.hex)
u64 = st.integers(0, 2**40)
params = st.dictionaries(st.integers(0, 2**20), st.integers(0, 2**64 - 1), max_size=64).map(
    lambda d: tuple(sorted(d.items())))
messages = st.one_of(
    st.builds(Hello, st.just(1), st.integers(1, 2**24), st.lists(st.tuples(ids, u64), max_size=16).map(tuple),
              params),
    st.builds(Use, ids),
    st.builds(Get, ids, u64, u64),
    st.builds(Chunk, ids, u64, st.binary(max_size=200)),
    st.builds(Unknown, st.integers(0x40, 0x7F), st.binary(max_size=50)),
)


@settings(max_examples=200, deadline=None)
@given(messages)
def test_round_trip(msg: ControlMessage) -> None:
    frame = pack_control(msg)
    assert frame[0] == 0x07 and is_control_frame(frame)
    assert parse_control(frame) == msg
    assert pack_control(parse_control(frame)) == frame


def test_known_bytes() -> None:
    did = "00" * 31 + "ff"
    assert pack_control(Use(did)) == b"\x07\x02" + b"\x00" * 31 + b"\xff"
    assert pack_control(Get(did, 300, 16384)) == b"\x07\x03" + bytes.fromhex(did) + b"\xac\x02\x80\x80\x01"
    assert pack_control(Hello(1, 16384, ((did, 5),), ())) == (b"\x07\x01\x01\x80\x80\x01\x01" + bytes.fromhex(did)
                                                          + b"\x05\x00")
    assert (pack_control(Hello(1, 1, (), ((0, 1), (2, 8192), (70, 0))))
            == b"\x07\x01\x01\x01\x00\x03\x00\x01\x02\x80\x40\x46\x00")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_arbitrary_bytes_parse_or_raise_aura_errors(body: bytes) -> None:
    try:
        msg = parse_control(b"\x07" + body)
    except AuraError:
        return
    assert pack_control(msg) == b"\x07" + body


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (b"\x07", FrameError),
        (b"\x17\x02" + b"\x00" * 32, FrameError),  # flags set on a CONTROL header
        (b"\x07\x30", ProtocolError),  # unknown mandatory type
        (b"\x07\x01\x02\x01\x00", ProtocolError),  # session version 2
        (b"\x07\x01\x01\x00\x00\x00", FrameError),  # max_chunk 0
        (b"\x07\x01\x01\x01\x11", LimitError),  # 17 dictionaries
        (b"\x07\x01\x01\x01\x00", FrameError),  # HELLO truncated before nparams
        (b"\x07\x01\x01\x01\x00\x01\x00", FrameError),  # truncated inside a parameter (no value)
        (b"\x07\x01\x01\x01\x00\x02\x00\x01", FrameError),  # 2 parameters announced, 1 present
        (b"\x07\x01\x01\x01\x00\x01\x02\xff", FrameError),  # truncated value varint
        (b"\x07\x01\x01\x01\x00\x01\x02\x80\x00", FrameError),  # non-minimal value varint
        (b"\x07\x01\x01\x01\x00\x41", ProtocolError),  # 65 parameters
        (b"\x07\x01\x01\x01\x00\xff\xff\xff\xff\x0f", ProtocolError),  # 2**32-1 parameters: no allocation
        (b"\x07\x01\x01\x01\x00\x02\x03\x00\x03\x00", ProtocolError),  # duplicate key
        (b"\x07\x01\x01\x01\x00\x02\x03\x00\x02\x00", ProtocolError),  # descending keys
        (b"\x07\x01\x01\x01\x00\x01\x00" + b"\xff" * 10 + b"\x01", FrameError),  # value above 64 bits
        (b"\x07\x01\x01\x01\x00\x00\x00", FrameError),  # trailing byte after the parameter block
        (b"\x07\x03" + b"\x00" * 32 + b"\x80", FrameError),  # truncated varint
        (b"\x07\x03" + b"\x00" * 32 + b"\x01\x01\x00", FrameError),  # trailing byte
    ],
)
def test_malformed(frame: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_control(frame)


def test_is_control_frame_needs_version_zero() -> None:
    assert not is_control_frame(b"\x47")
    assert not is_control_frame(b"")
    assert not is_control_frame(b"\x08")
