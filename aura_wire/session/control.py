"""CONTROL frames of the AURA session protocol (spec/session.md §4).

A CONTROL frame is one WebSocket message whose first byte is ``0x07`` (frame
method 7, every flag clear; spec/wire-format.md §3).  The rest is a control
message: a type byte, then fields.  Fields are fixed-size ids (32 raw bytes:
the SHA-256 of the dictionary), ``uvarint`` integers (spec/wire-format.md §2)
or a trailing byte string.  Control messages are values: :func:`parse_control`
turns bytes into one, :func:`pack_control` does the reverse, and the two are
exact inverses on valid input.  Trailing bytes are an error.

An optional type (0x40-0x7F) ends with the CRC-32 of every byte before it
(spec/session.md §4.4), checked even when the type is unknown: a receiver
ignores only a well-formed optional message, so a data frame whose header byte
was altered into ``0x07`` is refused instead of vanishing unnoticed.

No I/O here.
"""

from __future__ import annotations

import zlib
from typing import Final, NamedTuple, Union

from aura_wire.codec.frame import CONTROL_HEADER
from aura_wire.codec.varint import append_uvarint, decode_uvarint
from aura_wire.errors import FrameError, LimitError, ProtocolError
from aura_wire.session.params import DEFAULT_PARAMS, MAX_HELLO_PARAMS, PARAM_NAMES

__all__ = [
    "SESSION_VERSION",
    "Hello",
    "Use",
    "Get",
    "Chunk",
    "Unknown",
    "ControlMessage",
    "parse_control",
    "pack_control",
    "is_control_frame",
    "is_prepared_frame",
]

#: Version of the session protocol carried in HELLO (spec/session.md §8).
SESSION_VERSION: Final = 1

TYPE_HELLO: Final = 0x01
TYPE_USE: Final = 0x02
TYPE_GET: Final = 0x03
TYPE_CHUNK: Final = 0x04
#: Types in [0x40, 0x7F] are optional: a receiver that does not know one ignores it.
OPTIONAL_TYPES_LOW: Final = 0x40
OPTIONAL_TYPES_HIGH: Final = 0x7F
#: An optional control message ends with a CRC-32 (little-endian) of the frame's bytes before it.
OPTIONAL_CHECK_SIZE: Final = 4

ID_LENGTH: Final = 32
#: At most this many dictionaries in one HELLO.
MAX_HELLO_IDS: Final = 16


class Hello(NamedTuple):
    """Server → client: the dictionaries the server can use, preferred first, and its codec parameters.

    ``params`` are (key, value) pairs with strictly ascending keys (spec §4.1.1,
    :mod:`aura_wire.session.params`); their meaning is checked by the session.
    Left out, they are the reference defaults (context mode, this revision,
    CodecConfig defaults).
    """

    version: int
    max_chunk: int
    dictionaries: tuple[tuple[str, int], ...]  # (hex id, size in bytes)
    params: tuple[tuple[int, int], ...] = DEFAULT_PARAMS  # (key, value), keys ascending


class Use(NamedTuple):
    """Either way: from the next data frame on, frames I send use this dictionary."""

    dictionary_id: str


class Get(NamedTuple):
    """Client → server: send ``length`` bytes of a dictionary from ``offset``."""

    dictionary_id: str
    offset: int
    length: int


class Chunk(NamedTuple):
    """Server → client: ``data`` is the dictionary's bytes at ``offset``."""

    dictionary_id: str
    offset: int
    data: bytes


class Unknown(NamedTuple):
    """An optional control type (0x40-0x7F) this peer does not know; ignored once its CRC-32 checks.

    ``body`` is the message between the type and the check (spec/session.md §4.4).
    """

    type: int
    body: bytes


ControlMessage = Union[Hello, Use, Get, Chunk, Unknown]


def is_control_frame(frame: bytes) -> bool:
    """True when ``frame`` is a v1 CONTROL frame (version 0, method 7; flags are checked by the parser)."""
    return len(frame) > 0 and (frame[0] & 0xC7) == 0x07


def is_prepared_frame(frame: bytes) -> bool:
    """True for a frame ``Session.send_prepared`` takes: a stateless (C=0) data frame (a broadcast's)."""
    return bool(frame) and not frame[0] & 0x10 and not is_control_frame(frame)


def _id_from(buf: bytes, pos: int, field: str) -> tuple[str, int]:
    end = pos + ID_LENGTH
    if end > len(buf):
        raise FrameError("control frame truncated inside a dictionary id", offset=pos, field=field)
    return buf[pos:end].hex(), end


def _id_bytes(dictionary_id: str) -> bytes:
    try:
        raw = bytes.fromhex(dictionary_id)
    except ValueError as exc:
        raise ValueError(f"dictionary id is not hex: {dictionary_id!r}") from exc
    if len(raw) != ID_LENGTH:
        raise ValueError(f"dictionary id must be {ID_LENGTH} bytes, got {len(raw)}")
    return raw


def parse_control(frame: bytes) -> ControlMessage:
    """Parse a whole CONTROL frame (header byte included).

    Raises :class:`FrameError` for a malformed frame, :class:`ProtocolError`
    for an unknown mandatory type or a version this peer does not speak, and
    :class:`LimitError` for a HELLO listing too many dictionaries.
    """
    if len(frame) < 2:
        raise FrameError("CONTROL frame without a control type", offset=len(frame), field="control.type")
    if frame[0] != CONTROL_HEADER:
        raise FrameError(f"CONTROL frame header must be 0x07, got {frame[0]:#04x}", offset=0, field="header")
    kind = frame[1]
    pos = 2
    n = len(frame)
    if kind == TYPE_HELLO:
        if pos >= n:
            raise FrameError("HELLO truncated before its version", offset=pos, field="hello.version")
        version = frame[pos]
        pos += 1
        if version != SESSION_VERSION:
            raise ProtocolError(
                f"session protocol version {version} is not supported (this peer speaks {SESSION_VERSION})",
                offset=pos - 1, field="hello.version")
        max_chunk, pos = decode_uvarint(frame, pos, "hello.max_chunk")
        if max_chunk == 0:
            raise FrameError("HELLO max_chunk must be at least 1", offset=pos, field="hello.max_chunk")
        count, pos = decode_uvarint(frame, pos, "hello.count")
        if count > MAX_HELLO_IDS:
            raise LimitError(f"HELLO lists {count} dictionaries, more than {MAX_HELLO_IDS}", field="hello.count")
        items: list[tuple[str, int]] = []
        for _ in range(count):
            did, pos = _id_from(frame, pos, "hello.id")
            size, pos = decode_uvarint(frame, pos, "hello.size")
            items.append((did, size))
        nparams, pos = decode_uvarint(frame, pos, "hello.nparams")
        if nparams > MAX_HELLO_PARAMS:
            raise ProtocolError(f"HELLO has {nparams} parameters, more than {MAX_HELLO_PARAMS}",
                                field="hello.nparams")
        params: list[tuple[int, int]] = []
        last = -1
        for _ in range(nparams):
            key_at = pos
            key, pos = decode_uvarint(frame, pos, "hello.key")
            if key <= last:
                raise ProtocolError("HELLO parameter keys must be strictly ascending", offset=key_at,
                                    field="hello.key")
            value, pos = decode_uvarint(frame, pos, "hello.value")
            params.append((key, value))
            last = key
        msg: ControlMessage = Hello(version, max_chunk, tuple(items), tuple(params))
    elif kind == TYPE_USE:
        did, pos = _id_from(frame, pos, "use.id")
        msg = Use(did)
    elif kind == TYPE_GET:
        did, pos = _id_from(frame, pos, "get.id")
        offset, pos = decode_uvarint(frame, pos, "get.offset")
        length, pos = decode_uvarint(frame, pos, "get.length")
        msg = Get(did, offset, length)
    elif kind == TYPE_CHUNK:
        did, pos = _id_from(frame, pos, "chunk.id")
        offset, pos = decode_uvarint(frame, pos, "chunk.offset")
        return Chunk(did, offset, bytes(frame[pos:]))
    elif OPTIONAL_TYPES_LOW <= kind <= OPTIONAL_TYPES_HIGH:
        return _parse_optional(frame, kind)
    else:
        raise ProtocolError(f"unknown control type {kind:#04x}", offset=1, field="control.type")
    if pos != n:
        raise FrameError("trailing bytes after a control message", offset=pos, field="control")
    return msg


def _optional_check(head: bytes) -> bytes:
    return zlib.crc32(head).to_bytes(OPTIONAL_CHECK_SIZE, "little")


def _parse_optional(frame: bytes, kind: int) -> Unknown:
    """An optional control message: body, then the CRC-32 of the frame before it (spec/session.md §4.4).

    "A receiver MUST check the CRC-32 of an optional control message, known or not, and close
    with 1002 when it does not match": a data frame turned into ``0x07`` must not be dropped.
    """
    end = len(frame) - OPTIONAL_CHECK_SIZE
    if end < 2:
        raise FrameError(f"optional control message {kind:#04x} too short for its CRC-32", offset=len(frame),
                         field="control.check")
    if frame[end:] != _optional_check(frame[:end]):
        raise FrameError(f"optional control message {kind:#04x} fails its CRC-32 (a corrupted frame?)",
                         offset=end, field="control.check")
    return Unknown(kind, bytes(frame[2:end]))


def pack_control(msg: ControlMessage) -> bytes:
    """Serialize a control message as a whole CONTROL frame (header byte included)."""
    out = bytearray((CONTROL_HEADER,))
    if isinstance(msg, Hello):
        out.append(TYPE_HELLO)
        out.append(msg.version)
        append_uvarint(out, msg.max_chunk)
        append_uvarint(out, len(msg.dictionaries))
        for did, size in msg.dictionaries:
            out += _id_bytes(did)
            append_uvarint(out, size)
        append_uvarint(out, len(msg.params))
        last = -1
        for key, value in msg.params:
            if key <= last:
                raise ValueError("HELLO parameter keys must be strictly ascending")
            append_uvarint(out, key)
            append_uvarint(out, value)
            last = key
    elif isinstance(msg, Use):
        out.append(TYPE_USE)
        out += _id_bytes(msg.dictionary_id)
    elif isinstance(msg, Get):
        out.append(TYPE_GET)
        out += _id_bytes(msg.dictionary_id)
        append_uvarint(out, msg.offset)
        append_uvarint(out, msg.length)
    elif isinstance(msg, Chunk):
        out.append(TYPE_CHUNK)
        out += _id_bytes(msg.dictionary_id)
        append_uvarint(out, msg.offset)
        out += msg.data
    else:
        if not (OPTIONAL_TYPES_LOW <= msg.type <= OPTIONAL_TYPES_HIGH):
            raise ValueError(f"control type {msg.type:#04x} is not an optional type")
        out.append(msg.type)
        out += msg.body
        out += _optional_check(bytes(out))
    return bytes(out)


def describe(msg: ControlMessage) -> dict[str, object]:
    """A JSON-friendly description of a control message (used by the spec vectors)."""
    if isinstance(msg, Hello):
        return {"type": "HELLO", "version": msg.version, "max_chunk": msg.max_chunk,
                "dictionaries": [{"id": d, "size": s} for d, s in msg.dictionaries],
                "params": {PARAM_NAMES.get(k, str(k)): v for k, v in msg.params}}
    if isinstance(msg, Use):
        return {"type": "USE", "id": msg.dictionary_id}
    if isinstance(msg, Get):
        return {"type": "GET", "id": msg.dictionary_id, "offset": msg.offset, "length": msg.length}
    if isinstance(msg, Chunk):
        return {"type": "CHUNK", "id": msg.dictionary_id, "offset": msg.offset, "length": len(msg.data)}
    return {"type": f"0x{msg.type:02x}", "body": msg.body.hex()}
