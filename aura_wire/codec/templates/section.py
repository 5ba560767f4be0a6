"""The templates section of a dictionary (spec/templates.md §3): :class:`Template`, :class:`TemplateSet`.

A template is literal bytes with typed slots.  Two kinds exist: JSON shapes (a
JSON message with the values of one shape level cut out) and text templates
(space-separated tokens, each a literal or a slot with a literal
prefix/suffix).  The section holds a string table and the trained templates;
this module reads and writes it.  No I/O here.
"""

from __future__ import annotations

from typing import Final

from mypy_extensions import i64

from aura_wire.codec.templates.forms import (
    get_uv,
    put_uv,
)
from aura_wire.codec.templates.json_shape import (
    LEVELS,
)
from aura_wire.codec.varint import uvarint_len
from aura_wire.errors import (
    AuraError,
    DictionaryFormatError,
    PayloadError,
)

SECTION_VERSION: Final = 1
KIND_TEXT: Final = 0
KIND_JSON: Final = 1
#: Most tokens a text template (or a text message matched against one) may have.
MAX_TOKENS: Final = 128
_SP: Final = 0x20


class Template:
    """One template (immutable once built).

    JSON: ``level``, ``gaps`` (nholes + 1 literal gaps) and ``consts`` (hole
    index -> exact value folded into the template).  Text: ``toks`` (literal
    token, or b"" for a slot), ``slot``, ``pre``/``suf`` (slot prefix/suffix)
    and ``seps`` (space count before token i, and after the last; -1 = coded
    per message).
    """

    __slots__ = ("kind", "level", "gaps", "consts", "toks", "slot", "pre", "suf", "seps", "nslots",
                 "size", "key")

    def __init__(self, kind: int) -> None:
        self.kind = kind
        self.level = 0
        self.gaps: list[bytes] = []
        self.consts: dict[int, bytes] = {}
        self.toks: list[bytes] = []
        self.slot: list[bool] = []
        self.pre: list[bytes] = []
        self.suf: list[bytes] = []
        self.seps: list[int] = []
        self.nslots = 0
        self.size = 0
        self.key = b""

    @staticmethod
    def json(level: int, gaps: list[bytes], consts: dict[int, bytes], key: bytes | None = None) -> Template:
        """``key``, when given, must be ``b"\\x00".join(gaps)`` (the skeleton of the message)."""
        t = Template(KIND_JSON)
        t.level = level
        t.gaps = gaps
        t.consts = consts
        t.nslots = len(gaps) - 1 - len(consts)
        t.key = b"\x00".join(gaps) if key is None else key
        # len(t.to_bytes()), without serializing
        size = 2 + uvarint_len(len(gaps) - 1) + uvarint_len(len(consts))
        for g in gaps:
            size += uvarint_len(len(g)) + len(g)
        for h, v in consts.items():
            size += uvarint_len(h) + uvarint_len(len(v)) + len(v)
        t.size = size
        return t

    @staticmethod
    def text(toks: list[bytes], slot: list[bool], pre: list[bytes], suf: list[bytes],
             seps: list[int]) -> Template:
        t = Template(KIND_TEXT)
        t.toks = toks
        t.slot = slot
        t.pre = pre
        t.suf = suf
        t.seps = seps
        # variable separators are slots too (value: the run of spaces), in message order
        n = len(toks)
        ns = 0
        # len(t.to_bytes()), without serializing
        size = 1 + uvarint_len(n)
        for i in range(n):
            if slot[i]:
                ns += 1
                size += 1 + uvarint_len(len(pre[i])) + len(pre[i]) + uvarint_len(len(suf[i])) + len(suf[i])
            else:
                size += 1 + uvarint_len(len(toks[i])) + len(toks[i])
        for v in seps:
            if v < 0:
                ns += 1
                size += 1
            else:
                size += uvarint_len(v + 1)
        t.nslots = ns
        t.size = size
        return t

    def first_literal(self) -> int:
        for i in range(len(self.toks)):
            if not self.slot[i]:
                return i
        return -1

    def last_literal(self) -> int:
        for i in range(len(self.toks) - 1, -1, -1):
            if not self.slot[i]:
                return i
        return -1

    def footprint(self) -> int:
        """Bytes the template holds in memory (its CPython objects, estimated within about 25 %
        on the corpora): what per-connection accounting counts, where ``size`` is its length on
        the wire.  JSON: the gaps and the key (their join); text: five lists of per-token items."""
        if self.kind == KIND_JSON:
            return 2 * self.size + 48 * len(self.gaps) + 320
        return self.size + 100 * len(self.toks) + 560

    def to_bytes(self) -> bytes:
        out = bytearray()
        self.write(out)
        return bytes(out)

    def write(self, out: bytearray) -> None:
        """Serialize (spec/templates.md §2.2)."""
        out.append(self.kind)
        if self.kind == KIND_JSON:
            out.append(self.level)
            put_uv(out, len(self.gaps) - 1)
            for g in self.gaps:
                put_uv(out, len(g))
                out += g
            put_uv(out, len(self.consts))
            for h in sorted(self.consts):
                v = self.consts[h]
                put_uv(out, h)
                put_uv(out, len(v))
                out += v
            return
        n = len(self.toks)
        put_uv(out, n)
        for i in range(n):
            if self.slot[i]:
                out.append(1)
                put_uv(out, len(self.pre[i]))
                out += self.pre[i]
                put_uv(out, len(self.suf[i]))
                out += self.suf[i]
            else:
                out.append(0)
                put_uv(out, len(self.toks[i]))
                out += self.toks[i]
        for s in self.seps:
            put_uv(out, 0 if s < 0 else s + 1)

    def pattern(self) -> str:
        """Human-readable pattern: literals with ``{}`` / ``{=...}`` for slots."""
        if self.kind == KIND_JSON:
            parts: list[str] = []
            for i, g in enumerate(self.gaps):
                parts.append(g.decode("utf-8", "replace"))
                if i < len(self.gaps) - 1:
                    c = self.consts.get(i)
                    parts.append("{}" if c is None else c.decode("utf-8", "replace"))
            return "".join(parts)
        parts2: list[str] = []
        for i in range(len(self.toks)):
            s = self.seps[i]
            parts2.append(" " if s < 0 else " " * s)
            if self.slot[i]:
                parts2.append(self.pre[i].decode("utf-8", "replace") + "{}" + self.suf[i].decode("utf-8", "replace"))
            else:
                parts2.append(self.toks[i].decode("utf-8", "replace"))
        s = self.seps[-1]
        parts2.append(" " if s < 0 else " " * s)
        return "".join(parts2)


def _bad(msg: str, pos: int, field: str) -> DictionaryFormatError:
    return DictionaryFormatError(f"templates section: {msg}", offset=pos, field=field)


def _read_bytes(buf: bytes, pos: int, field: str) -> tuple[bytes, int]:
    n, pos = get_uv(buf, pos, field)
    if n > len(buf) - pos:
        raise PayloadError("length runs past the end", offset=pos, field=field)
    return buf[pos:pos + n], pos + n


def read_template(buf: bytes, pos: int) -> tuple[Template, int]:
    """Parse one serialized template (PayloadError on malformed input)."""
    if pos >= len(buf):
        raise PayloadError("truncated template", offset=pos, field="template.kind")
    kind = buf[pos]
    pos += 1
    if kind == KIND_JSON:
        if pos >= len(buf):
            raise PayloadError("truncated template", offset=pos, field="template.level")
        level = buf[pos]
        pos += 1
        if level >= LEVELS:
            raise PayloadError(f"unknown shape level {level}", offset=pos - 1, field="template.level")
        nh, pos = get_uv(buf, pos, "template.holes")
        if nh > len(buf) - pos:
            raise PayloadError("hole count exceeds the data", offset=pos, field="template.holes")
        gaps: list[bytes] = []
        for _ in range(nh + 1):
            g, pos = _read_bytes(buf, pos, "template.gap")
            gaps.append(g)
        nc, pos = get_uv(buf, pos, "template.consts")
        if nc > nh:
            raise PayloadError("more constants than holes", offset=pos, field="template.consts")
        consts: dict[int, bytes] = {}
        prev = -1
        for _ in range(nc):
            h, pos = get_uv(buf, pos, "template.const.hole")
            if h <= prev or h >= nh:
                raise PayloadError("constant hole index out of order", offset=pos, field="template.const.hole")
            v, pos = _read_bytes(buf, pos, "template.const.value")
            consts[h] = v
            prev = h
        return Template.json(level, gaps, consts), pos
    if kind == KIND_TEXT:
        n, pos = get_uv(buf, pos, "template.tokens")
        if n == 0 or n > MAX_TOKENS:
            raise PayloadError(f"token count {n} out of range", offset=pos, field="template.tokens")
        toks: list[bytes] = []
        slot: list[bool] = []
        pre: list[bytes] = []
        suf: list[bytes] = []
        for _ in range(n):
            if pos >= len(buf):
                raise PayloadError("truncated template", offset=pos, field="template.token")
            t = buf[pos]
            pos += 1
            if t == 0:
                lit, pos = _read_bytes(buf, pos, "template.token")
                if not lit or _SP in lit:
                    raise PayloadError("literal token empty or with a space", offset=pos, field="template.token")
                toks.append(lit)
                slot.append(False)
                pre.append(b"")
                suf.append(b"")
            elif t == 1:
                p, pos = _read_bytes(buf, pos, "template.prefix")
                s, pos = _read_bytes(buf, pos, "template.suffix")
                if _SP in p or _SP in s:
                    raise PayloadError("slot prefix/suffix with a space", offset=pos, field="template.token")
                toks.append(b"")
                slot.append(True)
                pre.append(p)
                suf.append(s)
            else:
                raise PayloadError(f"unknown token type {t}", offset=pos - 1, field="template.token")
        seps: list[int] = []
        for _ in range(n + 1):
            sv, pos = get_uv(buf, pos, "template.sep")
            if sv > 4096:
                raise PayloadError("separator too long", offset=pos, field="template.sep")
            seps.append(sv - 1)
        for i in range(1, n):
            if seps[i] == 0:
                raise PayloadError("empty separator between tokens", offset=pos, field="template.sep")
        return Template.text(toks, slot, pre, suf, seps), pos
    raise PayloadError(f"unknown template kind {kind}", offset=pos - 1, field="template.kind")


# -- the shared, immutable set --------------------------------------------------

class TemplateSet:
    """The templates and string table of one dictionary; immutable, shared by all connections."""

    def __init__(self, strings: list[bytes], templates: dict[int, Template]) -> None:
        self.strings = strings
        self.string_index: dict[bytes, int] = {}
        for i, s in enumerate(strings):
            self.string_index.setdefault(s, i)
        self.templates = templates
        self.json_index: list[dict[bytes, list[int]]] = [{} for _ in range(LEVELS)]
        self.text_index: dict[tuple[int, int, bytes], list[int]] = {}
        self.text_positions: dict[int, list[int]] = {}
        self.last_index: dict[tuple[int, int, bytes], list[int]] = {}
        self.last_positions: dict[int, list[int]] = {}
        for tid in sorted(templates):
            t = templates[tid]
            if t.kind == KIND_JSON:
                self.json_index[t.level].setdefault(t.key, []).append(tid)
            else:
                n = len(t.toks)
                p = t.first_literal()
                self.text_index.setdefault((n, p, t.toks[p] if p >= 0 else b""), []).append(tid)
                ps = self.text_positions.setdefault(n, [])
                if p not in ps:
                    ps.append(p)
                # by last literal token too: candidates for fuzzy matches (spec §4.3)
                q = t.last_literal()
                if q >= 0:
                    self.last_index.setdefault((n, q, t.toks[q]), []).append(tid)
                    qs = self.last_positions.setdefault(n, [])
                    if q not in qs:
                        qs.append(q)
        self.next_id = (max(templates) + 1) if templates else 0

    def __len__(self) -> int:
        return len(self.templates)

    @staticmethod
    def from_section(section: bytes) -> TemplateSet:
        """Parse and validate a TEMPLATES section (spec/templates.md §2)."""
        buf = bytes(section)
        try:
            if len(buf) < 1 or buf[0] != SECTION_VERSION:
                raise _bad("unknown section version", 0, "templates.version")
            pos = 1
            ns, pos = get_uv(buf, pos, "templates.strings")
            if ns > len(buf) - pos:
                raise _bad("string count exceeds the section", pos, "templates.strings")
            strings: list[bytes] = []
            for _ in range(ns):
                s, pos = _read_bytes(buf, pos, "templates.string")
                strings.append(s)
            nt, pos = get_uv(buf, pos, "templates.count")
            if nt > len(buf) - pos:
                raise _bad("template count exceeds the section", pos, "templates.count")
            templates: dict[int, Template] = {}
            prev = -1
            for _ in range(nt):
                tid, pos = get_uv(buf, pos, "templates.id")
                if tid <= prev or tid >= (1 << 32):
                    raise _bad("template ids must ascend", pos, "templates.id")
                t, pos = read_template(buf, pos)
                templates[tid] = t
                prev = tid
            if pos != len(buf):
                raise _bad("trailing bytes", pos, "templates")
        except DictionaryFormatError:
            raise
        except AuraError as exc:
            raise _bad(str(exc), exc.offset or 0, exc.field or "templates") from exc
        return TemplateSet(strings, templates)

    def to_section(self) -> bytes:
        return build_section(self.strings, self.templates)


def build_section(strings: list[bytes], templates: dict[int, Template]) -> bytes:
    out = bytearray([SECTION_VERSION])
    put_uv(out, len(strings))
    for s in strings:
        put_uv(out, len(s))
        out += s
    put_uv(out, len(templates))
    for tid in sorted(templates):
        put_uv(out, tid)
        templates[tid].write(out)
    return bytes(out)


_EMPTY_SET: Final = TemplateSet([], {})


def has_digit(tok: bytes) -> bool:
    n: i64 = len(tok)
    i: i64 = 0
    while i < n:
        c: i64 = tok[i]
        if 0x30 <= c <= 0x39:
            return True
        i += 1
    return False


def _punct_prefix(a: bytes) -> bytes:
    """Leading part of a token up to (and including) its last punctuation before any digit."""
    cut: i64 = 0
    n: i64 = len(a)
    i: i64 = 0
    while i < n:
        c: i64 = a[i]
        if 0x30 <= c <= 0x39:
            break
        if not (0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A or c >= 0x80):
            cut = i + 1
        i += 1
    return a[:cut]


def _punct_suffix(a: bytes) -> bytes:
    n: i64 = len(a)
    cut: i64 = n
    i: i64 = n - 1
    while i >= 0:
        c: i64 = a[i]
        if 0x30 <= c <= 0x39:
            break
        if not (0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A or c >= 0x80):
            cut = i
        i -= 1
    return a[cut:]


def rule_desc(tok: bytes) -> tuple[int, int]:
    """The fixed rule of DEFINE_TEXT_RULE (spec/templates.md §5.5) for one token, as a DEFINE_TEXT
    tokdesc: (0, 0) for a literal, else (len(prefix) + 1, len(suffix)).  A token with an ASCII
    digit or longer than 32 bytes is a slot; its prefix runs to its last punctuation byte before
    the first digit, its suffix from the first punctuation byte after the last digit of the rest."""
    if not has_digit(tok) and len(tok) <= 32:
        return 0, 0
    p = _punct_prefix(tok)
    return len(p) + 1, len(_punct_suffix(tok[len(p):]))
