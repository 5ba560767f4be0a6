"""Unsigned LEB128 varints and zig-zag integers (spec/wire-format.md §2).

Pure functions on bytes; no I/O.  A varint is at most 10 bytes (64 bits);
longer encodings, non-minimal encodings and truncated ones are rejected with
:class:`~aura_wire.errors.FrameError` naming the offset.
"""

from __future__ import annotations

from typing import Final

from mypy_extensions import i64

from aura_wire.errors import FrameError

MAX_VARINT_BYTES: Final = 10
_U64_MAX: Final = (1 << 64) - 1


def encode_uvarint(value: int) -> bytes:
    """Encode a non-negative integer < 2**64 as unsigned LEB128."""
    if value < 0 or value > _U64_MAX:
        raise ValueError(f"uvarint out of range: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def append_uvarint(out: bytearray, value: int) -> None:
    """Append ``value`` as unsigned LEB128 to ``out``."""
    if value < 0 or value > _U64_MAX:
        raise ValueError(f"uvarint out of range: {value}")
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def uvarint_len(value: int) -> int:
    """Bytes ``encode_uvarint(value)`` takes (value >= 0)."""
    n = 1
    while value >= 0x80:
        value >>= 7
        n += 1
    return n


def decode_uvarint(buf: bytes, pos: int, field: str = "varint") -> tuple[int, int]:
    """Decode an unsigned LEB128 at ``buf[pos:]``; return ``(value, new_pos)``.

    Rejects truncation, more than 10 bytes, values >= 2**64 and non-minimal
    encodings (a final byte of zero after the first).
    """
    n: i64 = len(buf)
    i: i64 = pos
    # shift and result stay arbitrary-precision ints: a 10th byte shifts past 63 bits
    shift = 0
    result = 0
    while True:
        if i >= n:
            raise FrameError("truncated varint", offset=i, field=field)
        if i - pos >= MAX_VARINT_BYTES:
            raise FrameError("varint longer than 10 bytes", offset=pos, field=field)
        b = int(buf[i])
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            if b == 0 and i - pos > 1:
                raise FrameError("non-minimal varint", offset=pos, field=field)
            break
        shift += 7
    if result > _U64_MAX:
        raise FrameError("varint exceeds 64 bits", offset=pos, field=field)
    return result, int(i)


def zigzag_encode(value: int) -> int:
    """Map a signed integer to unsigned: 0,-1,1,-2,... -> 0,1,2,3,..."""
    return (value << 1) if value >= 0 else ((-value << 1) - 1)


def zigzag_decode(value: int) -> int:
    """Inverse of :func:`zigzag_encode`."""
    return (value >> 1) if not (value & 1) else -((value + 1) >> 1)
