import pytest

from aura_wire.codec.frame import (
    METHOD_BRIO, METHOD_CONTROL, METHOD_RAW, METHOD_ZSTD, FrameHeader, pack_header, parse_header,
)
from aura_wire.errors import FrameError, UnsupportedVersionError


@pytest.mark.parametrize(
    "byte, header",
    [
        (0x00, FrameHeader(METHOD_RAW, False, False, False)),
        (0x08, FrameHeader(METHOD_RAW, True, False, False)),
        (0x39, FrameHeader(METHOD_ZSTD, True, True, True)),
        (0x34, FrameHeader(METHOD_BRIO, False, True, True)),
        (0x07, FrameHeader(METHOD_CONTROL, False, False, False)),
    ],
)
def test_header_both_ways(byte: int, header: FrameHeader) -> None:
    assert parse_header(bytes([byte])) == header
    assert pack_header(header.method, header.text, header.context, header.uses_dictionary) == byte


def test_every_header_byte_parses_or_raises_frame_error() -> None:
    for b in range(256):
        try:
            h = parse_header(bytes([b]))
        except UnsupportedVersionError:
            assert b >> 6 != 0
        except FrameError:
            assert b & 7 == 6
        else:
            assert pack_header(h.method, h.text, h.context, h.uses_dictionary) == b


def test_empty_frame() -> None:
    with pytest.raises(FrameError, match="empty frame"):
        parse_header(b"")


def test_unknown_version_names_the_version() -> None:
    with pytest.raises(UnsupportedVersionError, match="version 2"):
        parse_header(b"\x40hello")
