"""Coded dictionary transfers (spec/session.md §4.3.1, §6.5): the dictionary travels compressed.

``coded_form(dictionary, name)`` is the coded form a server serves in-band and
over HTTP (``br``: Brotli quality 11; ``gzip``: one member, MTIME 0), computed
once per dictionary and kept on it.  ``decode_transfer`` is the client's side:
bounded by the listed size, and refusing truncated or trailing data.

Pure functions on bytes; no I/O here.
"""

from __future__ import annotations

import gzip
import zlib
from typing import Final

import brotli

from aura_wire.codec.dictionary import Dictionary
from aura_wire.errors import DictionaryFormatError
from aura_wire.session.negotiation import CODINGS

__all__ = ["coded_form", "decode_transfer", "decode_bounded", "CODING_NAMES", "accepted_coding"]

#: HELLO ``transfer_coding`` value -> coding name (spec §4.1.2).
CODING_NAMES: Final = {v: k for k, v in CODINGS.items()}


def _code(name: str, data: bytes) -> bytes:
    if name == "br":
        return bytes(brotli.compress(data, quality=11, lgwin=24))
    if name == "gzip":
        return gzip.compress(data, compresslevel=9, mtime=0)
    raise ValueError(f"unknown transfer coding {name!r}")


def coded_form(dictionary: Dictionary, name: str) -> bytes:
    """The dictionary's serialized bytes coded with ``name`` (cached on the dictionary)."""
    key = "transfer:" + name
    got = dictionary.cached(key)
    if isinstance(got, bytes):
        return got
    out = _code(name, dictionary.to_bytes())
    dictionary.set_cached(key, out)
    return out


def decode_bounded(name: str, data: bytes, max_size: int, *, field: str = "chunk") -> bytes:
    """Decode one complete coded stream of at most ``max_size`` bytes, or raise DictionaryFormatError.

    The output never grows past ``max_size + 1`` bytes whatever the input claims; a
    truncated stream or bytes after its end are errors.
    """
    try:
        if name == "br":
            d = brotli.Decompressor()
            out = bytes(d.process(data, output_buffer_limit=max_size + 1))
            ok = len(out) <= max_size and d.is_finished()
        elif name == "gzip":
            z = zlib.decompressobj(wbits=31)
            out = z.decompress(data, max_size + 1)
            ok = len(out) <= max_size and z.eof and not z.unused_data and not z.unconsumed_tail
        else:
            raise DictionaryFormatError(f"unknown coding {name!r}", field=field)
    except (brotli.error, zlib.error) as exc:
        raise DictionaryFormatError(f"dictionary transfer failed to decode ({name}: {exc})", field=field) from exc
    if not ok:
        raise DictionaryFormatError(f"dictionary transfer failed to decode ({name}: truncated, trailing data "
                                    f"or more than {max_size} bytes)", field=field)
    return out


def decode_transfer(name: str, data: bytes, size: int) -> bytes:
    """Decode a coded in-band transfer that must yield exactly ``size`` bytes (spec §4.3.1), or raise."""
    out = decode_bounded(name, data, size)
    if len(out) != size:
        raise DictionaryFormatError(f"dictionary transfer failed to decode ({name}: {len(out)} bytes, "
                                    f"not {size})", field="chunk")
    return out


def accepted_coding(accept_encoding: str) -> str | None:
    """The coding to serve for an ``Accept-Encoding`` value (RFC 9110 §12.5.3): ``br``, then ``gzip``."""
    allowed: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        allowed[name.strip().lower()] = q
    for name in ("br", "gzip"):
        if allowed.get(name, allowed.get("*", 0.0)) > 0:
            return name
    return None
