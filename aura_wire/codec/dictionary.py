"""The shared, content-addressed dictionary (spec/wire-format.md §6).

A :class:`Dictionary` is the artifact both peers hold: a versioned container
of typed sections (metadata, a zstd dictionary, templates, BRIO content and
models).  Its id is the hex SHA-256 of its serialized bytes, so any peer can
verify a copy it fetched.  Pure functions on bytes plus ``save``/``load``
helpers; nothing here touches the network.

Container layout::

    magic "AURD" | version u8 (1) | flags u8 (0) | count uvarint
    count x ( type uvarint | length uvarint | bytes[length] )

Section types are unique, in ascending order.  A reader ignores section types
it does not know (forward compatibility); it refuses a container version it
does not know.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Final, Sequence

import msgpack

from aura_wire.codec.varint import append_uvarint, decode_uvarint
from aura_wire.errors import AuraError, DictionaryFormatError, LimitError, UnsupportedVersionError

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

    Build one with :meth:`train`, or read one with :meth:`from_bytes` /
    :meth:`load`.  ``id`` is the hex SHA-256 of :meth:`to_bytes`.
    """

    def __init__(self, sections: dict[int, bytes]) -> None:
        self._sections: dict[int, bytes] = dict(sorted(sections.items()))
        self._bytes = _serialize(self._sections)
        self.id: str = hashlib.sha256(self._bytes).hexdigest()
        self._cache: dict[str, object] = {}

    # -- construction -----------------------------------------------------
    @classmethod
    def train(
        cls,
        samples: Sequence[str | bytes],
        *,
        zstd_dict_size: int = 32768,
        brio_content_size: int = 32768,
        templates: bool = True,
        brio: bool = True,
        min_distinct: int = 8,
        name: str = "",
    ) -> Dictionary:
        """Build a dictionary from sample messages.

        ``min_distinct`` is the privacy threshold: content and template
        literals are only taken from substrings seen in at least that many
        distinct samples.  ``templates`` and ``brio`` switch those sections
        off.
        """
        data = [s.encode("utf-8") if isinstance(s, str) else bytes(s) for s in samples]
        if not data:
            raise ValueError("Dictionary.train needs at least one sample")
        sections: dict[int, bytes] = {}
        meta = {"name": name, "samples": len(data), "format": FORMAT_VERSION}
        sections[SECTION_META] = msgpack.packb(meta)
        content = b""
        if brio:
            from aura_wire.codec.brio import train_brio

            content, model = train_brio(data, content_size=brio_content_size, min_distinct=min_distinct)
            sections[SECTION_BRIO_CONTENT] = content
            sections[SECTION_BRIO_MODEL] = model
        zd = _train_zstd(data, zstd_dict_size, content, min_distinct)
        if zd:
            sections[SECTION_ZSTD] = zd
        if templates:
            from aura_wire.codec.templates import train_templates

            sections[SECTION_TEMPLATES] = train_templates(data, min_distinct=min_distinct)
        if templates and brio:
            # the TEMPLATE_BRIO payload context's priors: bit statistics of the template payloads
            # this dictionary gives the training messages (aggregate counts, no substring)
            from aura_wire.codec.encoder import train_template_brio_model

            tbm = train_template_brio_model(cls(dict(sections)), data)
            if tbm is not None:
                sections[SECTION_TEMPLATE_BRIO_MODEL] = tbm
        return cls(sections)

    @classmethod
    def from_bytes(
        cls, data: bytes, *, expected_id: str | None = None, max_size: int = DEFAULT_MAX_DICTIONARY_SIZE
    ) -> Dictionary:
        """Parse a serialized dictionary; verify ``expected_id`` when given."""
        if len(data) > max_size:
            raise LimitError(f"dictionary of {len(data)} bytes exceeds the limit of {max_size}", field="dictionary")
        d = cls(_parse(bytes(data)))
        if d._bytes != bytes(data):
            raise DictionaryFormatError("dictionary is not in canonical form", field="dictionary")
        if expected_id is not None and d.id != expected_id:
            raise DictionaryFormatError(
                f"dictionary hash mismatch: expected {expected_id}, got {d.id}", field="dictionary.id"
            )
        return d

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, expected_id: str | None = None) -> Dictionary:
        """Read a dictionary file (see :meth:`save`)."""
        with open(path, "rb") as f:
            data = f.read(DEFAULT_MAX_DICTIONARY_SIZE + 1)
        return cls.from_bytes(data, expected_id=expected_id)

    # -- serialization ----------------------------------------------------
    def to_bytes(self) -> bytes:
        return self._bytes

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write atomically: a temporary file in the same folder, fsync, rename, fsync the folder."""
        atomic_write(path, self._bytes)

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


def atomic_write(path: str | os.PathLike[str], data: bytes, *, prefix: str = ".aura-dict-") -> None:
    """Replace ``path`` with ``data`` so that a reader sees the old file or the new one, never a mix.

    The data goes to a temporary file in the same folder, is fsynced, renamed over ``path``, and
    the folder is fsynced so the rename survives a power loss.  A process killed mid-write leaves
    at most a ``prefix*`` temporary file behind, and the old file intact.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(folder)


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename in ``folder`` durable (best effort where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _train_zstd(data: list[bytes], size: int, content: bytes, min_distinct: int) -> bytes:
    """The zstd section: raw content built only from substrings seen in ``min_distinct`` distinct samples.

    zstd's own COVER trainer copies segments of single samples into the
    dictionary, which would ship one user's data to every peer (the privacy
    guard of spec/wire-format.md §6), so it is not used.  The BRIO content is
    reused when it was built; it already obeys the same threshold.
    """
    if size <= 0:
        return b""
    if not content:
        from aura_wire.codec.brio_train import build_content

        content = build_content(data, size, min_distinct)
    return content[-size:] if len(content) >= 8 else b""


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
