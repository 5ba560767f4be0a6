"""AURA frame header, wire format v2 (spec/wire-format.md §3, §5.4).

A frame is one WebSocket message: a 1-byte header, then the method's payload
up to the end of the message.  Frames are values: :func:`parse_header`
turns bytes into a :class:`FrameHeader`, :func:`pack_header` does the
reverse.  No I/O here.

Header byte, most significant bit first::

    7 6 | 5 | 4 | 3 | 2 1 0
    ver | D | C | T | method

``ver`` is 1 for the data frames of v2 (0 for CONTROL frames, which the session
versions); a data frame with any other value, v1's 0 included, is refused with
:class:`UnsupportedVersionError` (a peer MUST NOT guess at another format).
``D``: the payload uses the connection's shared dictionary.  ``C``: context
frame: it was coded against, and updates, the connection's per-direction
state.  ``T``: the message is text (UTF-8), else binary.

Every data frame carries a check byte over its message and header bytes
(:func:`frame_check`, spec §5.4).
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Final, NamedTuple

from aura_wire.errors import FrameError, UnsupportedVersionError

if TYPE_CHECKING:
    from aura_wire.codec.dictionary import Dictionary

#: Version bits of v1 data frames (refused now) and of CONTROL frames (versioned by the session).
VERSION_V1: Final = 0
#: Version bits of the data frames this package speaks (wire format v2).
VERSION_V2: Final = 1
WIRE_VERSION: Final = VERSION_V2

METHOD_RAW: Final = 0
METHOD_ZSTD: Final = 1
METHOD_BROTLI: Final = 2
METHOD_TEMPLATE: Final = 3
METHOD_BRIO: Final = 4
METHOD_TEMPLATE_BRIO: Final = 5
METHOD_STATE: Final = 6
METHOD_CONTROL: Final = 7

METHOD_NAMES: Final = {
    METHOD_RAW: "raw",
    METHOD_ZSTD: "zstd",
    METHOD_BROTLI: "brotli",
    METHOD_TEMPLATE: "template",
    METHOD_BRIO: "brio",
    METHOD_TEMPLATE_BRIO: "template+brio",
    METHOD_STATE: "state",
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
    version: int = VERSION_V2

    @property
    def method_name(self) -> str:
        return METHOD_NAMES[self.method]


def pack_header(method: int, text: bool, context: bool, uses_dictionary: bool) -> int:
    """Return the header byte of a v2 data frame."""
    if method < 0 or method >= METHOD_CONTROL:
        raise ValueError(f"data frame method out of range: {method}")
    b = method | (WIRE_VERSION << 6)
    if text:
        b |= FLAG_TEXT
    if context:
        b |= FLAG_CONTEXT
    if uses_dictionary:
        b |= FLAG_DICT
    return b


def parse_header(frame: bytes) -> FrameHeader:
    """Parse the header byte of ``frame``.

    Raises :class:`FrameError` for an empty frame, and :class:`UnsupportedVersionError`
    for a data frame whose version is not v2 (a CONTROL frame, ``0x07``, has version 0).
    """
    if len(frame) == 0:
        raise FrameError("empty frame: no header byte", offset=0, field="header")
    h = _HEADERS[frame[0]]
    if h is None:
        raise UnsupportedVersionError(
            f"frame version {(frame[0] >> 6) + 1} is not supported (this peer speaks v{WIRE_VERSION + 1})",
            offset=0,
            field="header.version",
        )
    return h


def _header_of(b: int) -> FrameHeader | None:
    """The header byte ``b`` parsed, None for a version this peer does not speak."""
    version = b >> 6
    method = b & MASK_METHOD
    if version != WIRE_VERSION and not (method == METHOD_CONTROL and version == VERSION_V1):
        return None
    return FrameHeader(method, bool(b & FLAG_TEXT), bool(b & FLAG_CONTEXT), bool(b & FLAG_DICT), version)


#: Every header byte parsed once (immutable values, shared): a NamedTuple is built by interpreted
#: code even in the compiled codec, which cost more per frame than the rest of a small frame's checks.
_HEADERS: Final = [_header_of(b) for b in range(256)]


#: Header byte of a STATE frame without the inner frame's flags (spec §4.7): v2, C = 1, method 6;
#: it carries the D and T bits of its inner frame.
STATE_HEADER: Final = (WIRE_VERSION << 6) | FLAG_CONTEXT | METHOD_STATE
#: How far a frame may exceed its message (spec §3): the header and the check byte, plus room for
#: a STATE frame's instruction block (16 instructions, §4.7). A pre-check only: the decoder bounds
#: the message itself.
MAX_FRAME_OVERHEAD: Final = 2
MAX_STATE_BLOCK: Final = 65536


def max_frame_size(max_message_size: int, frame: bytes) -> int:
    """The largest acceptable size of ``frame`` for messages of at most ``max_message_size`` bytes."""
    state = len(frame) > 0 and (frame[0] & MASK_METHOD) == METHOD_STATE
    return max_message_size + MAX_FRAME_OVERHEAD + (MAX_STATE_BLOCK if state else 0)


#: The bits a STATE header copies from its inner header.
STATE_COPIED_FLAGS: Final = FLAG_DICT | FLAG_TEXT


def dictionary_seed(dictionary: Dictionary | None) -> int:
    """The check seed of a dictionary: the first four bytes of its SHA-256, little-endian (spec §5.4)."""
    if dictionary is None:
        return 0
    return int.from_bytes(bytes.fromhex(dictionary.id[:8]), "little")


def frame_check(seed: int, message: bytes, instructions: bytes, headers: bytes) -> int:
    """``crc32(F, crc32(I, crc32(m, s)))`` (spec §5.4); the frame's check byte is its low byte."""
    c = zlib.crc32(message, seed)
    if instructions:  # crc32(b"", c) == c: one call less for every frame but STATE
        c = zlib.crc32(instructions, c)
    return zlib.crc32(headers, c)


#: Header byte of a CONTROL frame (method 7, no flags); the payload belongs to the session layer.
CONTROL_HEADER: Final = METHOD_CONTROL


def encode_control(payload: bytes) -> bytes:
    """Wrap a session-layer control payload in a CONTROL frame (spec/session.md)."""
    return bytes([CONTROL_HEADER]) + payload
