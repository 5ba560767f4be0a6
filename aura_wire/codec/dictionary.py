"""The shared, content-addressed dictionary (spec/wire-format.md §6).

A :class:`Dictionary` is the artifact both peers hold: a versioned container
of typed sections (metadata, a zstd dictionary, templates, BRIO content and
models).  Its id is the hex SHA-256 of its serialized bytes, so any peer can
verify a copy it fetched.  A value over bytes: training lives in
:mod:`aura_wire.training`, files in :mod:`aura_wire.files`; no I/O here.

Container layout::

    magic "AURD" | version u8 (1) | flags u8 (0) | count uvarint
    count x ( type uvarint | length uvarint | bytes[length] )

Section types are unique, in ascending order.  A reader ignores section types
it does not know (forward compatibility); it refuses a container version it
does not know.
"""

from __future__ import annotations

import hashlib
from typing import Final

import msgpack

from aura_wire.codec.varint import append_uvarint, decode_uvarint
from aura_wire.errors import (
    AuraError,
    DictionaryFormatError,
    LimitError,
    UnsupportedVersionError,
)

MAGIC: Final = b"AURD"
FORMAT_VERSION: Final = 1

SECTION_META: Final = 1
SECTION_ZSTD: Final = 2
SECTION_TEMPLATES: Final = 3
SECTION_BRIO_CONTENT: Final = 4
SECTION_BRIO_MODEL: Final = 5
SECTION_TEMPLATE_BRIO_MODEL: Final = 6

SECTION_NAMES: Final = {
    SECTION_META: "meta",
    SECTION_ZSTD: "zstd",
    SECTION_TEMPLATES: "templates",
    SECTION_BRIO_CONTENT: "brio-content",
    SECTION_BRIO_MODEL: "brio-model",
    SECTION_TEMPLATE_BRIO_MODEL: "template-brio-model",
}

#: Default upper bound on a serialized dictionary accepted from anywhere.
DEFAULT_MAX_DICTIONARY_SIZE: Final = 4 * 1024 * 1024


class Dictionary:
    """A shared dictionary: immutable sections keyed by section type.

    Build one with :func:`aura_wire.train_dictionary`, or parse one with
    :meth:`from_bytes` (files: :func:`aura_wire.load_dictionary`).  ``id`` is
    the hex SHA-256 of :meth:`to_bytes`.
    """

    def __init__(self, sections: dict[int, bytes]) -> None:
        self._sections: dict[int, bytes] = dict(sorted(sections.items()))
        self._bytes = _serialize(self._sections)
        self.id: str = hashlib.sha256(self._bytes).hexdigest()
        self._cache: dict[str, object] = {}

    # -- construction -----------------------------------------------------
    @classmethod
    def from_bytes(
        cls, data: bytes, *, expected_id: str | None = None, max_size: int = DEFAULT_MAX_DICTIONARY_SIZE
    ) -> Dictionary:
        """Parse a serialized dictionary; verify ``expected_id`` when given."""
        if len(data) > max_size:
            raise LimitError(f"dictionary of {len(data)} bytes exceeds the limit of {max_size}", field="dictionary")
        # _parse refuses every non-canonical form (flags, minimal varints, ascending types, no trailing
        # bytes), so the re-serialised bytes are the input and the id is the hash of what was read
        d = cls(_parse(bytes(data)))
        if expected_id is not None and d.id != expected_id:
            raise DictionaryFormatError(
                f"dictionary hash mismatch: expected {expected_id}, got {d.id}", field="dictionary.id"
            )
        return d

    # -- serialization ----------------------------------------------------
    def to_bytes(self) -> bytes:
        return self._bytes

    # -- access -----------------------------------------------------------
    def section(self, kind: int) -> bytes | None:
        return self._sections.get(kind)

    @property
    def sections(self) -> dict[int, bytes]:
        return dict(self._sections)

    @property
    def meta(self) -> dict[str, object]:
        raw = self._sections.get(SECTION_META)
        if raw is None:
            return {}
        try:
            m = msgpack.unpackb(raw)
        except Exception as exc:  # msgpack raises several unrelated types
            raise DictionaryFormatError("meta section is not valid msgpack", field="meta") from exc
        return dict(m) if isinstance(m, dict) else {}

    def cached(self, key: str) -> object | None:
        """Per-dictionary cache of derived, shared objects (zstd dicts, indexes)."""
        return self._cache.get(key)

    def set_cached(self, key: str, value: object) -> None:
        self._cache[key] = value

    def __len__(self) -> int:
        return len(self._bytes)

    def __repr__(self) -> str:
        names = ",".join(SECTION_NAMES.get(k, str(k)) for k in self._sections)
        return f"<Dictionary {self.id[:12]} {len(self._bytes)} bytes [{names}]>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dictionary) and other._bytes == self._bytes

    def __hash__(self) -> int:
        return hash(self._bytes)


def _serialize(sections: dict[int, bytes]) -> bytes:
    out = bytearray(MAGIC)
    out.append(FORMAT_VERSION)
    out.append(0)
    append_uvarint(out, len(sections))
    for kind in sorted(sections):
        body = sections[kind]
        append_uvarint(out, kind)
        append_uvarint(out, len(body))
        out += body
    return bytes(out)


def _parse(data: bytes) -> dict[int, bytes]:
    if len(data) < 6 or data[:4] != MAGIC:
        raise DictionaryFormatError("not an AURA dictionary (bad magic)", offset=0, field="magic")
    if data[4] != FORMAT_VERSION:
        raise UnsupportedVersionError(
            f"dictionary format version {data[4]} is not supported (this peer reads 1)", offset=4, field="version"
        )
    if data[5] != 0:
        raise DictionaryFormatError(f"unknown dictionary flags {data[5]:#x}", offset=5, field="flags")
    try:
        count, pos = decode_uvarint(data, 6, "section_count")
        sections: dict[int, bytes] = {}
        last = 0
        for _ in range(count):
            at = pos
            kind, pos = decode_uvarint(data, pos, "section.type")
            length, pos = decode_uvarint(data, pos, "section.length")
            if kind <= last:
                raise DictionaryFormatError("section types must be unique and ascending", offset=at, field="section.type")
            if length > len(data) - pos:
                raise DictionaryFormatError("section runs past the end", offset=at, field="section.length")
            sections[kind] = data[pos : pos + length]
            pos += length
            last = kind
    except AuraError as exc:
        if isinstance(exc, DictionaryFormatError):
            raise
        raise DictionaryFormatError(f"malformed dictionary: {exc}", offset=exc.offset, field=exc.field) from exc
    if pos != len(data):
        raise DictionaryFormatError("trailing bytes after the last section", offset=pos, field="dictionary")
    return sections
