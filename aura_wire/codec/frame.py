"""AURA frame header v1 (spec/wire-format.md §3).

A frame is one WebSocket message: a 1-byte header, then the method's payload
up to the end of the message.  Frames are values: :func:`parse_header`
turns bytes into a :class:`FrameHeader`, :func:`pack_header` does the
reverse.  No I/O here.

Header byte, most significant bit first::

    7 6 | 5 | 4 | 3 | 2 1 0
    ver | D | C | T | method

``ver`` is 0 for v1; a frame with any other value is refused with
:class:`UnsupportedVersionError` (a peer MUST NOT guess at a newer format).
``D``: the payload uses the connection's shared dictionary.  ``C``: context
frame: it was coded against, and updates, the connection's per-direction
state.  ``T``: the message is text (UTF-8), else binary.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from aura_wire.errors import FrameError, UnsupportedVersionError

VERSION_V1: Final = 0

METHOD_RAW: Final = 0
METHOD_ZSTD: Final = 1
METHOD_BROTLI: Final = 2
METHOD_TEMPLATE: Final = 3
METHOD_BRIO: Final = 4
METHOD_TEMPLATE_BRIO: Final = 5
METHOD_RESERVED_6: Final = 6
METHOD_CONTROL: Final = 7

METHOD_NAMES: Final = {
    METHOD_RAW: "raw",
    METHOD_ZSTD: "zstd",
    METHOD_BROTLI: "brotli",
    METHOD_TEMPLATE: "template",
    METHOD_BRIO: "brio",
    METHOD_TEMPLATE_BRIO: "template+brio",
    METHOD_RESERVED_6: "reserved-6",
    METHOD_CONTROL: "control",
}

FLAG_DICT: Final = 0x20
FLAG_CONTEXT: Final = 0x10
FLAG_TEXT: Final = 0x08
MASK_METHOD: Final = 0x07


class FrameHeader(NamedTuple):
    """The decoded header byte of a frame."""

    method: int
    text: bool
    context: bool
    uses_dictionary: bool
    version: int = VERSION_V1

    @property
    def method_name(self) -> str:
        return METHOD_NAMES[self.method]


def pack_header(method: int, text: bool, context: bool, uses_dictionary: bool) -> int:
    """Return the header byte for a v1 frame."""
    if method < 0 or method > MASK_METHOD:
        raise ValueError(f"method out of range: {method}")
    b = method
    if text:
        b |= FLAG_TEXT
    if context:
        b |= FLAG_CONTEXT
    if uses_dictionary:
        b |= FLAG_DICT
    return b


def parse_header(frame: bytes) -> FrameHeader:
    """Parse the header byte of ``frame``.

    Raises :class:`FrameError` for an empty frame or a reserved method, and
    :class:`UnsupportedVersionError` for a version other than v1.
    """
    if len(frame) == 0:
        raise FrameError("empty frame: no header byte", offset=0, field="header")
    b = frame[0]
    version = b >> 6
    if version != VERSION_V1:
        raise UnsupportedVersionError(
            f"frame version {version + 1} is not supported (this peer speaks v1)",
            offset=0,
            field="header.version",
        )
    method = b & MASK_METHOD
    if method == METHOD_RESERVED_6:
        raise FrameError(f"reserved method tag {method}", offset=0, field="header.method")
    return FrameHeader(
        method=method,
        text=bool(b & FLAG_TEXT),
        context=bool(b & FLAG_CONTEXT),
        uses_dictionary=bool(b & FLAG_DICT),
    )


#: Header byte of a CONTROL frame (method 7, no flags); the payload belongs to the session layer.
CONTROL_HEADER: Final = METHOD_CONTROL


def encode_control(payload: bytes) -> bytes:
    """Wrap a session-layer control payload in a CONTROL frame (spec/session.md)."""
    return bytes([CONTROL_HEADER]) + payload
