import pytest

from aura_wire.codec.frame import (
    METHOD_BRIO, METHOD_CONTROL, METHOD_RAW, METHOD_STATE, METHOD_ZSTD, FrameHeader, frame_check, pack_header,
    parse_header,
)
from aura_wire.errors import FrameError, UnsupportedVersionError


@pytest.mark.parametrize(
    "byte, header",
    [
        (0x40, FrameHeader(METHOD_RAW, False, False, False)),
        (0x48, FrameHeader(METHOD_RAW, True, False, False)),
        (0x79, FrameHeader(METHOD_ZSTD, True, True, True)),
        (0x74, FrameHeader(METHOD_BRIO, False, True, True)),
        (0x56, FrameHeader(METHOD_STATE, False, True, False)),
    ],
)
def test_header_both_ways(byte: int, header: FrameHeader) -> None:
    assert parse_header(bytes([byte])) == header
    assert pack_header(header.method, header.text, header.context, header.uses_dictionary) == byte


def test_control_header_keeps_version_bits_0() -> None:
    assert parse_header(b"\x07") == FrameHeader(METHOD_CONTROL, False, False, False, version=0)


def test_every_header_byte_parses_or_raises_unsupported_version() -> None:
    for b in range(256):
        try:
            h = parse_header(bytes([b]))
        except UnsupportedVersionError:
            assert b >> 6 != 1 and not (b >> 6 == 0 and b & 7 == 7)
        else:
            if h.method == METHOD_CONTROL:
                continue
            assert b >> 6 == 1 and pack_header(h.method, h.text, h.context, h.uses_dictionary) == b


def test_empty_frame() -> None:
    with pytest.raises(FrameError, match="empty frame"):
        parse_header(b"")


def test_v1_and_unknown_versions_name_the_version() -> None:
    with pytest.raises(UnsupportedVersionError, match="version 1 is not supported"):
        parse_header(b"\x08hello")
    with pytest.raises(UnsupportedVersionError, match="version 3"):
        parse_header(b"\x88hello")


def test_check_detects_every_single_byte_header_change() -> None:
    # spec §5.4: the header bytes are hashed last, so changing the header alone always changes the check
    for seed in (0, 0x12345678, 0xFFFFFFFF):
        for m in (b"", b"hello", bytes(range(256))):
            for instr in (b"", b"\x01\x00\x03"):
                checks = {frame_check(seed, m, instr, bytes([h])) & 0xFF for h in range(256)}
                assert len(checks) == 256
                checks2 = {frame_check(seed, m, instr, bytes([0x56, h])) & 0xFF for h in range(256)}
                assert len(checks2) == 256
