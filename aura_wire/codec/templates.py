"""The TEMPLATE method: templates with typed slots ("binary semantic" frames), spec/templates.md.

A template is literal bytes with typed slots.  Two kinds exist:

* **JSON shapes**: a JSON message with its values (the *holes* of one shape
  level) cut out; matched by a hash of the skeleton, in O(message).
* **Text templates**: space-separated tokens, each a literal or a slot with a
  literal prefix/suffix; matched through an index on (token count, first
  literal position, that token), never by a loop of regexes.

A TEMPLATE payload is ``uvarint template_id`` then the slot values (see
:mod:`aura_wire.codec.template_atoms`).  The decoder rebuilds the message by
interleaving literals and values, so the round trip is exact by construction;
where the encoder cannot guarantee it, :meth:`TemplateEncoder.encode` returns
None and the Encoder uses another method.

A message no template matches but one nearly does ("do not" vs "don't") may be
coded as a *fuzzy* payload (reference mode 3): that template's slots plus a
byte edit script over its output, verified by decoding before use; its state
update is that of a frame of another method (spec §4.3).

In context mode both sides keep mirrored per-connection state: each slot's
previous value (for SAME / delta forms) and *runtime templates* learned from
messages no template matched.  The state changes only in ``commit`` (encoder),
``decode``/``observe`` (decoder), with the same rules on both sides.

The dictionary section (:func:`train_templates`, :meth:`TemplateSet.from_section`)
holds a string table and the trained templates.  No I/O here.
"""

from __future__ import annotations

from typing import Final

from mypy_extensions import i64

from aura_wire.codec.template_atoms import (
    RECENT_MAX_LEN,
    RECENT_MIN_LEN,
    AtomCtx,
    F_SAME,
    MAX_LAST,
    decode_atom,
    encode_scalar,
    get_uv,
    put_uv,
)
from aura_wire.codec.template_json import (
    K_ARR,
    LEVELS,
    Node,
    encode_value,
    gaps_of,
    holes,
    parse,
    skeleton,
)
from aura_wire.codec.varint import uvarint_len
from aura_wire.errors import (
    AuraError,
    DictionaryFormatError,
    LimitError,
    PayloadError,
    UnknownTemplateError,
)

__all__ = [
    "Template",
    "TemplateSet",
    "TemplateEncoder",
    "TemplateDecoder",
    "train_templates",
    "summarize",
    "SECTION_VERSION",
]

SECTION_VERSION: Final = 1
KIND_TEXT: Final = 0
KIND_JSON: Final = 1
#: Longest message matched against templates or learned from (spec §3): bounds the CPU spent.
MAX_MATCH_BYTES: Final = 65536
#: Most tokens a text template (or a text message matched against one) may have.
MAX_TOKENS: Final = 128
#: Budget for the per-connection "previous slot values" (bytes, templates).
LAST_BUDGET_BYTES: Final = 6144
LAST_BUDGET_TEMPLATES: Final = 128
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


# -- text tokens ------------------------------------------------------------------

def tokenize(data: bytes) -> tuple[list[bytes], list[int]] | None:
    """Split on runs of spaces: (tokens, separator lengths); None if too many tokens."""
    toks: list[bytes] = []
    seps: list[int] = []
    n: i64 = len(data)
    i: i64 = 0
    while True:
        j: i64 = i
        while j < n and data[j] == _SP:
            j += 1
        seps.append(int(j - i))
        if j >= n:
            break
        k: i64 = j + 1
        while k < n and data[k] != _SP:
            k += 1
        toks.append(data[j:k])
        if len(toks) > MAX_TOKENS:
            return None
        i = k
    if not toks:
        return None
    return toks, seps


def text_matches(t: Template, toks: list[bytes], seps: list[int]) -> bool:
    if len(toks) != len(t.toks):
        return False
    for i in range(len(toks)):
        tok = toks[i]
        if t.slot[i]:
            p = t.pre[i]
            s = t.suf[i]
            if len(tok) < len(p) + len(s) or not tok.startswith(p) or not tok.endswith(s):
                return False
        elif tok != t.toks[i]:
            return False
    ts = t.seps
    for i in range(len(seps)):
        if ts[i] >= 0 and ts[i] != seps[i]:
            return False
    return True


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


def common_affixes(values: list[bytes]) -> tuple[bytes, bytes]:
    """Common prefix/suffix of slot values, cut at punctuation so they generalise."""
    p = values[0]
    s = values[0]
    for v in values[1:]:
        k = 0
        lim = min(len(p), len(v))
        while k < lim and p[k] == v[k]:
            k += 1
        p = p[:k]
        k = 0
        lim = min(len(s), len(v))
        while k < lim and s[len(s) - 1 - k] == v[len(v) - 1 - k]:
            k += 1
        s = s[len(s) - k:] if k else b""
    p = _punct_prefix(p)
    s = _punct_suffix(s)
    short = min(len(v) for v in values)
    if len(p) + len(s) > short:
        s = b""
        if len(p) > short:
            p = b""
    return p, s


def has_digit(tok: bytes) -> bool:
    n: i64 = len(tok)
    i: i64 = 0
    while i < n:
        c: i64 = tok[i]
        if 0x30 <= c <= 0x39:
            return True
        i += 1
    return False


# -- matching and per-connection state ----------------------------------------------

class _Match:
    __slots__ = ("tid", "tmpl", "values", "nodes", "seps")

    def __init__(self, tid: int, tmpl: Template, values: list[bytes], nodes: list[Node],
                 seps: list[int]) -> None:
        self.tid = tid
        self.tmpl = tmpl
        self.values = values
        self.nodes = nodes
        self.seps = seps


class _State:
    """Matcher over a TemplateSet plus, in context mode, the connection's mirrored state."""

    def __init__(self, templates: TemplateSet | None, context: bool, max_runtime: int, max_bytes: int,
                 max_state_bytes: int = LAST_BUDGET_BYTES) -> None:
        self.set = templates if templates is not None else _EMPTY_SET
        self.context = context
        self.max_runtime = max_runtime if context else 0
        self.max_bytes = max_bytes
        self.base = self.set.next_id
        self.runtime: dict[int, Template] = {}
        self.rt_order: dict[int, None] = {}
        self.rt_bytes = 0
        self.rt_json: list[dict[bytes, list[int]]] = [{} for _ in range(LEVELS)]
        self.rt_text: dict[int, list[int]] = {}
        # previous slot values: (tid, None) for the template's last message, and
        # (tid, first value) for JSON shapes whose first slot is a short string
        # (a symbol, a stream name): prediction from the last message of that key.
        self.lasts: dict[tuple[int, bytes | None], list[bytes | None]] = {}
        self.last_bytes = 0
        self.last_budget = max_state_bytes
        self.prev_text: list[bytes] = []
        self.cx = AtomCtx(self.set.strings, self.set.string_index)
        # most recently used template ids (front = latest) and each template's last
        # "equal to prediction" mask, for the compact reference and mask coding (spec §4.1)
        self.mru: list[int] = []
        self.masks: dict[int, int] = {}
        # per-message caches (not state: they only avoid redoing work for the same message
        # between a trial encode and its commit, and are dropped by ``after``)
        self.trial_match: _Match | None = None
        self.trial_mask = 0
        self._cdata: bytes | None = None
        self._croot: Node | None = None
        self._cparsed = False
        self._ctk: tuple[list[bytes], list[int]] | None = None
        self._ctokenized = False
        self._choles: list[list[Node] | None] = []
        self._ckeys: list[bytes] = []
        self._cdone = 0

    def _cache_for(self, data: bytes) -> None:
        cd = self._cdata
        if cd is data or (cd is not None and cd == data):
            return
        self._cdata = data
        self._croot = None
        self._cparsed = False
        self._ctk = None
        self._ctokenized = False
        self._cdone = 0
        self.trial_match = None

    def clear_cache(self) -> None:
        self._cdata = None
        self._croot = None
        self._cparsed = False
        self._ctk = None
        self._ctokenized = False
        self._choles = []
        self._ckeys = []
        self._cdone = 0
        self.trial_match = None

    def parsed(self, data: bytes) -> Node | None:
        """``parse(data)`` for a JSON-looking message (first byte ``{``, ``[`` or whitespace), else None."""
        self._cache_for(data)
        if not self._cparsed:
            self._cparsed = True
            root: Node | None = None
            if data:
                c = data[0]
                if c == 0x7B or c == 0x5B or c == 0x20 or c == 0x0A or c == 0x0D or c == 0x09:
                    root = parse(data)
            self._croot = root
        return self._croot

    def tokens(self, data: bytes) -> tuple[list[bytes], list[int]] | None:
        """``tokenize(data)``, cached for the current message."""
        self._cache_for(data)
        if not self._ctokenized:
            self._ctokenized = True
            self._ctk = tokenize(data)
        return self._ctk

    def holes_key(self, data: bytes, root: Node, level: int) -> tuple[list[Node] | None, bytes]:
        """``holes(root, level)`` and its skeleton key, cached for the current message."""
        self._cache_for(data)
        if not self._cdone:
            self._choles = [None] * LEVELS
            self._ckeys = [b""] * LEVELS
        bit = 1 << level
        if not (self._cdone & bit):
            hs = holes(root, level)
            self._choles[level] = hs
            self._ckeys[level] = skeleton(data, hs) if hs is not None else b""
            self._cdone |= bit
        return self._choles[level], self._ckeys[level]

    def template(self, tid: int) -> Template | None:
        t = self.set.templates.get(tid)
        if t is None:
            t = self.runtime.get(tid)
        return t

    # -- matching (normative for context mode: spec §5.1) --
    def match(self, data: bytes) -> _Match | None:
        if not data or len(data) > MAX_MATCH_BYTES:
            return None
        root = self.parsed(data)
        if root is not None:
            return self._match_json(data, root)
        tk = self.tokens(data)
        if tk is None:
            return None
        return self._match_text(tk[0], tk[1])

    def _match_json(self, data: bytes, root: Node) -> _Match | None:
        for level in range(LEVELS):
            if not self.set.json_index[level] and not self.rt_json[level]:
                continue  # no shape at this level: nothing to look up
            hs, key = self.holes_key(data, root, level)
            if hs is None:
                continue
            for index in (self.set.json_index[level], self.rt_json[level]):
                cands = index.get(key)
                if not cands:
                    continue
                for tid in cands:
                    t = self.template(tid)
                    if t is None:
                        continue
                    ok = True
                    for h, v in t.consts.items():
                        n = hs[h]
                        if data[n.start:n.end] != v:
                            ok = False
                            break
                    if not ok:
                        continue
                    values: list[bytes] = []
                    nodes: list[Node] = []
                    for i in range(len(hs)):
                        if i not in t.consts:
                            n = hs[i]
                            values.append(data[n.start:n.end])
                            nodes.append(n)
                    return _Match(tid, t, values, nodes, [])
        return None

    def _match_text(self, toks: list[bytes], seps: list[int]) -> _Match | None:
        n = len(toks)
        st = self.set
        for p in st.text_positions.get(n, ()):
            cands = st.text_index.get((n, p, toks[p] if p >= 0 else b""))
            if cands:
                for tid in cands:
                    t = st.templates[tid]
                    if text_matches(t, toks, seps):
                        return self._text_match_obj(tid, t, toks, seps)
        for tid in self.rt_text.get(n, ()):
            t2 = self.runtime[tid]
            if text_matches(t2, toks, seps):
                return self._text_match_obj(tid, t2, toks, seps)
        return None

    @staticmethod
    def _text_match_obj(tid: int, t: Template, toks: list[bytes], seps: list[int]) -> _Match:
        values: list[bytes] = []
        ts = t.seps
        for i in range(len(toks)):
            if ts[i] < 0:
                values.append(b" " * seps[i])
            if t.slot[i]:
                tok = toks[i]
                values.append(tok[len(t.pre[i]):len(tok) - len(t.suf[i])])
        if ts[-1] < 0:
            values.append(b" " * seps[-1])
        return _Match(tid, t, values, [], seps)

    # -- state update (context mode only; identical on both sides: spec §5) --
    def after(self, data: bytes, m: _Match | None) -> None:
        if self.context:
            self._after(data, m)
        self.clear_cache()

    def _after(self, data: bytes, m: _Match | None) -> None:
        if m is not None:
            if m is self.trial_match:
                # computed by the trial encode of this message on this (unchanged) state
                mask = self.trial_mask
            else:
                mask = same_mask(_predictions(self, m.tid, m.tmpl, m.values[0] if m.values else None),
                                 m.values)
            self.masks.pop(m.tid, None)
            self.masks[m.tid] = mask
            if len(self.masks) > MAX_MASKS:
                del self.masks[next(iter(self.masks))]
            mru = self.mru
            if m.tid in mru:
                mru.remove(m.tid)
            mru.insert(0, m.tid)
            self._touch(m.tid)
            if len(mru) > MRU_SIZE:
                mru.pop()
            self._set_lasts(m.tid, m.values)
            is_json = m.tmpl.kind == KIND_JSON
            for v in m.values:
                if is_json:
                    if len(v) < 2 or v[0] != 0x22:
                        continue
                    v = v[1:-1]
                if RECENT_MIN_LEN <= len(v) <= RECENT_MAX_LEN:
                    self.cx.add_recent(v)
            if m.tmpl.kind == KIND_TEXT:
                prev: list[bytes] = []
                for v in m.values[:PREV_TEXT_SLOTS]:
                    if len(v) > MAX_LAST:
                        break
                    prev.append(v)
                self.prev_text = prev
            if m.tmpl.kind == KIND_JSON and m.tmpl.level >= 2 and self.max_runtime > 0:
                root = self.parsed(data)
                if root is not None:
                    self._learn_json(data, root, coarse_from=m.tmpl.level)
            return
        if self.max_runtime <= 0 or len(data) > MAX_MATCH_BYTES:
            return
        root2 = self.parsed(data)
        if root2 is not None:
            self._learn_json(data, root2, coarse_from=LEVELS)
            return
        tk = self.tokens(data)
        if tk is not None:
            self._learn_text(tk[0], tk[1])

    def _set_lasts(self, tid: int, values: list[bytes]) -> None:
        self._put_lasts((tid, None), values)
        t = self.template(tid)
        if t is not None and values:
            key = key_of(t, values[0])
            if key is not None:
                self._put_lasts((tid, key), values)

    def _put_lasts(self, lk: tuple[int, bytes | None], values: list[bytes]) -> None:
        lasts = self.lasts
        nb = self.last_bytes
        old = lasts.pop(lk, None)
        if old is not None:
            for v in old:
                if v is not None:
                    nb -= len(v)
        long = False
        for v2 in values:
            if len(v2) <= MAX_LAST:
                nb += len(v2)
            else:
                long = True
        new: list[bytes | None]
        if long:
            new = []
            for v2 in values:
                new.append(v2 if len(v2) <= MAX_LAST else None)
        else:
            new = list(values)
        lasts[lk] = new
        self.last_bytes = nb
        while self.last_bytes > self.last_budget or len(lasts) > LAST_BUDGET_TEMPLATES:
            self._drop_entry(next(iter(lasts)))

    def _drop_entry(self, lk: tuple[int, bytes | None]) -> None:
        old = self.lasts.pop(lk, None)
        if old is not None:
            for v in old:
                if v is not None:
                    self.last_bytes -= len(v)

    def _drop_lasts(self, tid: int) -> None:
        for lk in [k for k in self.lasts if k[0] == tid]:
            self._drop_entry(lk)

    def lasts_for(self, tid: int) -> list[bytes | None] | None:
        return self.lasts.get((tid, None)) if self.context else None

    def keyed_lasts(self, tid: int, t: Template, first: bytes) -> list[bytes | None] | None:
        if not self.context:
            return None
        key = key_of(t, first)
        if key is None:
            return None
        return self.lasts.get((tid, key))

    def _learn_json(self, data: bytes, root: Node, coarse_from: int) -> None:
        level = 1 if _has_long_array(root) else 0
        if level >= coarse_from:
            return
        hs, key = self.holes_key(data, root, level)
        if hs is None:
            return
        if key in self.rt_json[level]:
            return
        self._add_runtime(Template.json(level, gaps_of(data, hs), {}, key))

    def _learn_text(self, toks: list[bytes], seps: list[int]) -> None:
        n = len(toks)
        # online Drain: generalise a runtime template with the same token count when similar
        for tid in self.rt_text.get(n, ()):
            t = self.runtime[tid]
            same = 0
            lits = 0
            for i in range(n):
                if not t.slot[i]:
                    lits += 1
                    if t.toks[i] == toks[i]:
                        same += 1
            if lits == 0 or same * 2 < lits:
                continue
            ntoks = list(t.toks)
            nslot = list(t.slot)
            npre = list(t.pre)
            nsuf = list(t.suf)
            for i in range(n):
                tok = toks[i]
                if nslot[i]:
                    p = npre[i]
                    s = nsuf[i]
                    if len(tok) < len(p) + len(s) or not tok.startswith(p) or not tok.endswith(s):
                        npre[i], nsuf[i] = common_affixes([p + s, tok]) if (p or s) else (b"", b"")
                        if len(tok) < len(npre[i]) + len(nsuf[i]):
                            npre[i], nsuf[i] = b"", b""
                elif ntoks[i] != tok:
                    npre[i], nsuf[i] = common_affixes([ntoks[i], tok])
                    ntoks[i] = b""
                    nslot[i] = True
            nseps = [t.seps[i] if t.seps[i] == seps[i] else -1 for i in range(n + 1)]
            nt = Template.text(ntoks, nslot, npre, nsuf, nseps)
            self._replace_runtime(tid, t, nt)
            return
        slot: list[bool] = []
        pre: list[bytes] = []
        suf: list[bytes] = []
        ltoks: list[bytes] = []
        for tok in toks:
            if has_digit(tok) or len(tok) > 32:
                slot.append(True)
                p = _punct_prefix(tok)
                s = _punct_suffix(tok[len(p):])
                pre.append(p)
                suf.append(s)
                ltoks.append(b"")
            else:
                slot.append(False)
                pre.append(b"")
                suf.append(b"")
                ltoks.append(tok)
        self._add_runtime(Template.text(ltoks, slot, pre, suf, list(seps)))

    def _index_runtime(self, tid: int, t: Template, add: bool) -> None:
        if t.kind == KIND_JSON:
            idx = self.rt_json[t.level]
            if add:
                idx.setdefault(t.key, []).append(tid)
            else:
                lst = idx.get(t.key)
                if lst is not None:
                    lst.remove(tid)
                    if not lst:
                        del idx[t.key]
        else:
            n = len(t.toks)
            if add:
                self.rt_text.setdefault(n, []).append(tid)
            else:
                lst2 = self.rt_text.get(n)
                if lst2 is not None:
                    lst2.remove(tid)
                    if not lst2:
                        del self.rt_text[n]

    def _evict(self, tid: int) -> None:
        t = self.runtime.pop(tid)
        del self.rt_order[tid]
        self.rt_bytes -= t.size
        self._index_runtime(tid, t, False)
        self._drop_lasts(tid)
        self.masks.pop(tid, None)
        if tid in self.mru:
            self.mru.remove(tid)

    def _touch(self, tid: int) -> None:
        """Make runtime template ``tid`` the most recently used (spec §5.5)."""
        if tid in self.rt_order:
            del self.rt_order[tid]
            self.rt_order[tid] = None

    def _add_runtime(self, t: Template) -> None:
        if t.size > self.max_bytes or self.max_runtime <= 0:
            return
        # evict the least recently used while either limit would be exceeded, then take the
        # lowest free id (spec §5.5)
        while self.rt_order and (len(self.runtime) >= self.max_runtime
                                 or self.rt_bytes + t.size > self.max_bytes):
            self._evict(next(iter(self.rt_order)))
        tid = self.base
        while tid in self.runtime:
            tid += 1
        self.runtime[tid] = t
        self.rt_order[tid] = None
        self.rt_bytes += t.size
        self._index_runtime(tid, t, True)

    def _replace_runtime(self, tid: int, old: Template, new: Template) -> None:
        # same kind and token count: the index entry (and its position) stays as it is
        if self.rt_bytes - old.size + new.size > self.max_bytes:
            return
        self._touch(tid)
        self.runtime[tid] = new
        self.rt_bytes += new.size - old.size
        self._drop_lasts(tid)
        self.masks.pop(tid, None)

    def memory_bytes(self) -> int:
        return (self.rt_bytes + self.last_bytes + self.cx.recent_bytes
                + 48 * (len(self.runtime) + len(self.lasts) + len(self.cx.recent)) + 256)


def same_mask(preds: list[bytes | None] | None, values: list[bytes]) -> int:
    """Bit i set when slot i equals its prediction (slots 0..62 only)."""
    if preds is None:
        return 0
    mask = 0
    for i in range(min(len(values), 63)):
        p = preds[i]
        if p is not None and p == values[i]:
            mask |= 1 << i
    return mask


REF_PLAIN: Final = 0
REF_MASK: Final = 1
REF_LASTMASK: Final = 2
#: Reference mode 3: a fuzzy payload, the template plus an edit script (spec §4.3).
REF_FUZZY: Final = 3
#: A fuzzy payload's rendered template may exceed ``max_size`` by this much (spec §4.3).
FUZZY_SLACK: Final = 4096


def ref_value(st: _State, tid: int, mode: int) -> int:
    """The payload's first varint: ``r << 2 | mode`` where r is the MRU rank (context) or the id."""
    if st.context:
        mru = st.mru
        r = MRU_SIZE + tid
        for i in range(len(mru)):
            if mru[i] == tid:
                r = i
                break
    else:
        r = tid
    return (r << 2) | mode


def key_of(t: Template, first: bytes) -> bytes | None:
    """The prediction key of a message: its first slot value when that is a short JSON string."""
    if t.kind == KIND_JSON and 2 <= len(first) <= 64 and first[0] == 0x22:
        return first
    return None


def _has_long_array(root: Node) -> bool:
    stack = [root]
    while stack:
        n = stack.pop()
        if n.kind == K_ARR and len(n.children) > 1:
            return True
        stack.extend(n.children)
    return False


# -- encoder / decoder ------------------------------------------------------------

#: Text slots 0..PREV_TEXT_SLOTS-1 (usually the date and time) are predicted from the previous
#: text message, whatever its template; the others from the template's last message.
PREV_TEXT_SLOTS: Final = 2
#: Recently used template ids addressable by rank in context mode.
MRU_SIZE: Final = 8
MAX_MASKS: Final = 256


def _predictions(st: _State, tid: int, t: Template, first: bytes | None) -> list[bytes | None] | None:
    """Per-slot previous values (spec §5.2).

    JSON: slot 0 from the template's last message, the others from the last
    message with the same key (``first``, the first slot's value) when there
    is one.  Text: the first slots from the previous text message.
    """
    if not st.context:
        return None
    base = st.lasts_for(tid)
    if t.kind == KIND_TEXT:
        prev = st.prev_text
        if not prev or t.nslots == 0:
            return base
        preds: list[bytes | None] = list(base) if base is not None else [None] * t.nslots
        for i in range(min(len(prev), t.nslots, PREV_TEXT_SLOTS)):
            preds[i] = prev[i]
        return preds
    if first is None:
        return base
    keyed = st.keyed_lasts(tid, t, first)
    if keyed is None:
        return base
    return [base[0] if base is not None else None] + keyed[1:]


def _slot_code(m: _Match, data: bytes, st: _State, copy: bool = True) -> tuple[int, bytes] | None:
    """The mask mode and what follows the reference (mask field, then the slots).

    Codes the slots both without a mask and with the mask of the slots equal to
    their prediction (mode 1, or mode 2 when that equals the last mask) and
    keeps the smaller (spec §4).  A slot's coding does not depend on the mask,
    so the slots are coded once and the masked body is the plain body without
    the masked slots.
    """
    n = len(m.values)
    preds = _predictions(st, m.tid, m.tmpl, m.values[0]) if n else None
    starts: list[int] = []
    plain = _encode_body(m, data, st, preds, starts, copy)
    if plain is None:
        return None
    mask = same_mask(preds, m.values)
    # the state update after this message needs the same mask (spec §5): keep it for commit
    st.trial_match = m
    st.trial_mask = mask
    if preds is not None and n <= 63 and mask:
        lm = st.masks.get(m.tid, 0)
        drop = 0
        for k in range(n):
            if (mask >> k) & 1:
                drop += starts[k + 1] - starts[k]
        alen = len(plain) - drop
        if mask != lm:
            alen += uvarint_len(mask ^ lm)
        if alen < len(plain):
            alt = bytearray()
            mode = REF_LASTMASK
            if mask != lm:
                mode = REF_MASK
                put_uv(alt, mask ^ lm)
            k = 0
            while k < n:
                if (mask >> k) & 1:
                    k += 1
                    continue
                j = k + 1
                while j < n and not (mask >> j) & 1:
                    j += 1
                alt += plain[starts[k]:starts[j]]
                k = j
            return mode, bytes(alt)
    return REF_PLAIN, bytes(plain)


def encode_match(m: _Match, data: bytes, st: _State) -> bytes | None:
    """The payload for a match (spec/templates.md §4): ``ref`` then the slots.

    ``ref = r << 2 | mode``; with mode 1 a varint bit mask (XOR the template's
    last mask) of the slots equal to their prediction follows and those slots
    are omitted; mode 2 uses the last mask as is.  The encoder codes both ways
    and keeps the smaller.
    """
    sc = _slot_code(m, data, st)
    if sc is None:
        return None
    out = bytearray()
    put_uv(out, ref_value(st, m.tid, sc[0]))
    out += sc[1]
    return bytes(out)


def _encode_body(m: _Match, data: bytes, st: _State, preds: list[bytes | None] | None,
                 starts: list[int], copy: bool = True) -> bytearray | None:
    """The slots coded without a mask; ``starts`` receives each slot's offset, then the end.

    With ``copy`` values may be COPY atoms over the history and ``data`` (the message the
    payload renders; a fuzzy payload renders something else and passes False).
    """
    out = bytearray()
    t = m.tmpl
    values = m.values
    cx = st.cx
    cx.msg = data if copy else None
    cx.ref = None  # hist + data, built when a value first tries COPY
    cx.hlen = len(cx.hist)
    try:
        if t.kind == KIND_JSON:
            nodes = m.nodes
            for i in range(len(values)):
                starts.append(len(out))
                v = values[i]
                lv = preds[i] if preds is not None else None
                if lv is not None and v == lv:
                    out.append(F_SAME)
                elif not encode_value(out, data, nodes[i], lv, cx):
                    return None
            starts.append(len(out))
            return out
        k = 0
        seps = m.seps
        ts = t.seps
        slot = t.slot
        n = len(t.toks)
        off = 0  # offset in data of the token being coded
        for i in range(n + 1):
            off += seps[i]
            if ts[i] < 0:
                starts.append(len(out))
                put_uv(out, seps[i])
                k += 1
            if i == n:
                break
            if slot[i]:
                starts.append(len(out))
                v = values[k]
                lv = preds[k] if preds is not None else None
                off += len(t.pre[i])
                if lv is not None and v == lv:
                    out.append(F_SAME)
                else:
                    cx.at = off
                    encode_scalar(out, v, False, lv, cx)
                off += len(v) + len(t.suf[i])
                k += 1
            else:
                off += len(t.toks[i])
        starts.append(len(out))
        return out
    finally:
        cx.msg = None
        cx.ref = None


# -- decoding (pure: the state is read, never written) ---------------------------

def _resolve_ref(st: _State, r: int) -> tuple[int, Template]:
    """The template a reference names (spec §4): MRU rank or id."""
    tid = r
    if st.context:
        if r < MRU_SIZE:
            if r >= len(st.mru):
                raise UnknownTemplateError(f"recent-template rank {r} is not defined", offset=0,
                                           field="template.ref")
            tid = st.mru[r]
        else:
            tid = r - MRU_SIZE
    t = st.template(tid)
    if t is None:
        raise UnknownTemplateError(f"template id {tid} is not defined", offset=0, field="template.ref")
    return tid, t


def decode_payload(st: _State, buf: bytes, max_size: int) -> tuple[bytes, _Match | None]:
    """Decode one TEMPLATE payload against the state, without changing it.

    Returns the message and, for an exact payload, its template and slot
    values; None for a fuzzy payload (mode 3, spec §4.3), whose state update is
    that of a frame coded by another method.
    """
    ref, pos = get_uv(buf, 0, "template.ref")
    mode = ref & 3
    tid, t = _resolve_ref(st, ref >> 2)
    nedits = 0
    if mode == REF_FUZZY:
        at = pos
        sub, pos = get_uv(buf, pos, "template.fuzzy")
        mode = sub & 3
        nedits = sub >> 2
        if mode == REF_FUZZY:
            raise PayloadError("reserved mask mode 3 in a fuzzy payload", offset=at, field="template.fuzzy")
        if nedits == 0 or nedits > (len(buf) - pos) // 3:
            raise PayloadError("fuzzy edit count is zero or exceeds the payload", offset=at,
                               field="template.fuzzy")
    mask = 0
    if mode != REF_PLAIN:
        at = pos
        if not st.context:
            raise PayloadError("slot mask in a stateless payload", offset=0, field="template.ref")
        if mode == REF_MASK:
            mask, pos = get_uv(buf, pos, "template.mask")
        mask ^= st.masks.get(tid, 0)
        if mask == 0 or mask >> min(t.nslots, 63):
            raise PayloadError("slot mask is empty or names missing slots", offset=at, field="template.mask")
    limit = max_size + FUZZY_SLACK if nedits else max_size
    out, values, pos = _render(st, buf, pos, tid, t, mask, limit)
    if nedits:
        out, pos = _apply_edits(buf, pos, out, nedits, max_size)
    if len(out) > max_size:
        raise LimitError(f"decoded message exceeds max_message_size {max_size}", field="template.output")
    if pos != len(buf):
        raise PayloadError("trailing bytes after the last slot", offset=pos, field="template")
    data = bytes(out)
    if nedits:
        return data, None
    return data, _Match(tid, t, values, [], [])


def _render(st: _State, buf: bytes, pos: int, tid: int, t: Template, mask: int,
            limit: int) -> tuple[bytearray, list[bytes], int]:
    """Interleave the template's literals and the slot values coded at ``buf[pos:]`` (spec §4)."""
    preds = _predictions(st, tid, t, None)
    out = bytearray()
    values: list[bytes] = []
    k = 0
    if t.kind == KIND_JSON:
        gaps = t.gaps
        for i in range(len(gaps) - 1):
            out += gaps[i]
            c = t.consts.get(i)
            if c is not None:
                out += c
                continue
            if k == 1:
                preds = _predictions(st, tid, t, values[0])
            lv = preds[k] if preds is not None else None
            start = len(out)
            if (mask >> k) & 1:
                if lv is None:
                    raise PayloadError("masked slot has no previous value", offset=pos, field="template.mask")
                out += lv
            else:
                pos = decode_atom(buf, pos, out, lv, True, st.cx, limit, 0)
            values.append(bytes(out[start:]))
            k += 1
        out += gaps[-1]
        return out, values, pos
    n = len(t.toks)
    for i in range(n + 1):
        s = t.seps[i]
        if s < 0:
            at = pos
            lv = preds[k] if preds is not None else None
            if (mask >> k) & 1:
                if lv is None:
                    raise PayloadError("masked slot has no previous value", offset=pos,
                                       field="template.mask")
                s = len(lv)
            else:
                s, pos = get_uv(buf, pos, "template.sep")
            if s > limit - len(out):
                raise LimitError("separator exceeds max_message_size", offset=at, field="template.sep")
            if 0 < i < n and s == 0:
                raise PayloadError("empty separator between tokens", offset=at, field="template.sep")
            values.append(b" " * s)
            k += 1
        if s:
            out += b" " * s
        if i == n:
            break
        if t.slot[i]:
            out += t.pre[i]
            lv = preds[k] if preds is not None else None
            start = len(out)
            if (mask >> k) & 1:
                if lv is None:
                    raise PayloadError("masked slot has no previous value", offset=pos,
                                       field="template.mask")
                out += lv
            else:
                pos = decode_atom(buf, pos, out, lv, False, st.cx, limit, 0)
            v = bytes(out[start:])
            if _SP in v:
                raise PayloadError("text slot value contains a space", offset=pos, field="template.slot")
            values.append(v)
            out += t.suf[i]
            k += 1
        else:
            out += t.toks[i]
    return out, values, pos


def _apply_edits(buf: bytes, pos: int, src: bytearray, nedits: int,
                 max_size: int) -> tuple[bytearray, int]:
    """Apply a fuzzy payload's edit script to the rendered template ``src`` (spec §4.3)."""
    out = bytearray()
    c = 0
    n = len(src)
    for e in range(nedits):
        at = pos
        skip, pos = get_uv(buf, pos, "template.edit.skip")
        dl, pos = get_uv(buf, pos, "template.edit.delete")
        ins, pos = get_uv(buf, pos, "template.edit.insert")
        if e > 0 and skip == 0:
            raise PayloadError("adjacent fuzzy edits", offset=at, field="template.edit.skip")
        if dl == 0 and ins == 0:
            raise PayloadError("empty fuzzy edit", offset=at, field="template.edit")
        if skip > n - c or dl > n - c - skip:
            raise PayloadError("fuzzy edit runs past the rendered template", offset=at, field="template.edit")
        if ins > len(buf) - pos:
            raise PayloadError("inserted bytes run past the payload", offset=pos, field="template.edit.insert")
        if len(out) + skip + ins > max_size:
            raise LimitError(f"decoded message exceeds max_message_size {max_size}", offset=at,
                             field="template.edit")
        out += src[c:c + skip]
        c += skip + dl
        out += buf[pos:pos + ins]
        pos += ins
    if len(out) + n - c > max_size:
        raise LimitError(f"decoded message exceeds max_message_size {max_size}", offset=pos,
                         field="template.edit")
    out += src[c:]
    return out, pos


# -- fuzzy matches (encoder only, spec §4.3) ---------------------------------------

#: Token-count differences tried (message vs template), in this order.
FUZZY_DELTAS: Final = (0, -1, 1, -2, 2)
#: Candidate templates aligned per message, and of those, fully coded (cheapest first).
FUZZY_MAX_CANDIDATES: Final = 16
FUZZY_TRY: Final = 2
#: Most recent runtime templates of one token count considered.
FUZZY_RUNTIME: Final = 8
#: Most tokens (template side + message side) outside the alignment.
FUZZY_MAX_DIFF: Final = 6


def _fits(t: Template, i: int, tok: bytes) -> bool:
    if t.slot[i]:
        p = t.pre[i]
        s = t.suf[i]
        return len(tok) >= len(p) + len(s) and tok.startswith(p) and tok.endswith(s)
    return tok == t.toks[i]


def _fuzzy_candidates(st: _State, toks: list[bytes]) -> list[int]:
    """Templates near a message: index lookups on the first and the last literal token of
    templates with up to 2 tokens more or fewer, aligned at the start and at the end."""
    n = len(toks)
    seen: dict[int, None] = {}
    ts = st.set
    for dn in FUZZY_DELTAS:
        nt = n + dn
        if nt < 1 or nt > MAX_TOKENS:
            continue
        for first in (True, False):
            positions = ts.text_positions.get(nt) if first else ts.last_positions.get(nt)
            if positions is None:
                continue
            index = ts.text_index if first else ts.last_index
            for p in positions:
                if p < 0:
                    lst = index.get((nt, p, b""))
                    if lst is not None:
                        for tid in lst:
                            seen[tid] = None
                    continue
                for q in (p, p + n - nt):
                    if 0 <= q < n:
                        lst = index.get((nt, p, toks[q]))
                        if lst is not None:
                            for tid in lst:
                                seen[tid] = None
                    if dn == 0:
                        break
                if len(seen) >= FUZZY_MAX_CANDIDATES:
                    break
        rl = st.rt_text.get(nt)
        if rl is not None:
            j = len(rl) - 1
            while j >= 0 and j >= len(rl) - FUZZY_RUNTIME:
                seen[rl[j]] = None
                j -= 1
        if len(seen) >= FUZZY_MAX_CANDIDATES:
            break
    out = list(seen)
    return out[:FUZZY_MAX_CANDIDATES]


def _align(t: Template, toks: list[bytes]) -> tuple[int, int, int] | None:
    """(estimated cost, a, b): the template's first ``a`` and last ``b`` tokens fit the
    message's; None when the rest is too different to be worth an edit."""
    n = len(toks)
    nt = len(t.toks)
    lim = min(n, nt)
    a = 0
    while a < lim and _fits(t, a, toks[a]):
        a += 1
    b = 0
    while b < lim - a and _fits(t, nt - 1 - b, toks[n - 1 - b]):
        b += 1
    lits = 0
    same = 0
    for i in range(nt):
        if not t.slot[i]:
            lits += 1
            if i < a or i >= nt - b:
                same += 1
    cost = 0
    if n == nt:
        bad = 0
        for i in range(a, nt - b):
            if _fits(t, i, toks[i]):
                if not t.slot[i]:
                    same += 1
            else:
                bad += 2
                cost += 3 + len(toks[i])
    else:
        bad = (nt - b - a) + (n - b - a)
        cost = 3
        for j in range(a, n - b):
            cost += len(toks[j]) + 1
    if bad > FUZZY_MAX_DIFF or same == 0 or 2 * same < lits:
        return None
    return cost, a, b


def _edit_script(rparts: list[bytes], mparts: list[bytes]) -> tuple[bytes, list[tuple[int, int, bytes]]]:
    """The rendered template and the edits (start, end, inserted bytes) that turn it into the
    message; pairs of parts correspond, equal pairs are kept."""
    rend = bytearray()
    edits: list[tuple[int, int, bytes]] = []
    for x in range(len(rparts)):
        r = rparts[x]
        m = mparts[x]
        pos = len(rend)
        rend += r
        if r == m:
            continue
        lim = min(len(r), len(m))
        k = 0
        while k < lim and r[k] == m[k]:
            k += 1
        s = 0
        while s < lim - k and r[len(r) - 1 - s] == m[len(m) - 1 - s]:
            s += 1
        e0 = pos + k
        e1 = pos + len(r) - s
        ins = m[k:len(m) - s]
        if edits and e0 - edits[-1][1] <= 2:
            p0, p1, pins = edits[-1]
            edits[-1] = (p0, e1, pins + bytes(rend[p1:e0]) + ins)
        else:
            edits.append((e0, e1, ins))
    return bytes(rend), edits


def _fuzzy_text(st: _State, data: bytes, toks: list[bytes], seps: list[int], tid: int, t: Template,
                a: int, b: int) -> bytes | None:
    """A fuzzy payload coding ``data`` as template ``tid`` plus edits, verified by decoding it."""
    n = len(toks)
    nt = len(t.toks)
    d = n - nt
    jmap = [-1] * nt
    for i in range(a):
        jmap[i] = i
    for i in range(nt - b, nt):
        jmap[i] = i + d
    if d == 0:
        for i in range(a, nt - b):
            if _fits(t, i, toks[i]):
                jmap[i] = i
    tseps = t.seps
    rseps = [0] * (nt + 1)
    for i in range(nt + 1):
        if tseps[i] >= 0:
            rseps[i] = tseps[i]
        elif d == 0 or i < a:
            rseps[i] = seps[i]
        elif i >= nt - b:
            rseps[i] = seps[i + d]
        else:
            rseps[i] = seps[i] if i == 0 else 1
    values: list[bytes] = []
    rtoks: list[bytes] = []
    for i in range(nt + 1):
        if tseps[i] < 0:
            values.append(b" " * rseps[i])
        if i == nt:
            break
        if t.slot[i]:
            j = jmap[i]
            v = b""
            if j >= 0:
                tok = toks[j]
                v = tok[len(t.pre[i]):len(tok) - len(t.suf[i])]
            values.append(v)
            rtoks.append(t.pre[i] + v + t.suf[i])
        else:
            rtoks.append(t.toks[i])
    sc = _slot_code(_Match(tid, t, values, [], rseps), data, st, False)
    if sc is None:
        return None
    rparts: list[bytes] = []
    mparts: list[bytes] = []
    if d == 0:
        for i in range(nt):
            rparts.append(b" " * rseps[i])
            mparts.append(b" " * seps[i])
            rparts.append(rtoks[i])
            mparts.append(toks[i])
    else:
        for i in range(a):
            rparts.append(b" " * rseps[i])
            mparts.append(b" " * seps[i])
            rparts.append(rtoks[i])
            mparts.append(toks[i])
        r = bytearray()
        for i in range(a, nt - b):
            r += b" " * rseps[i]
            r += rtoks[i]
        m = bytearray()
        for j in range(a, n - b):
            m += b" " * seps[j]
            m += toks[j]
        rparts.append(bytes(r))
        mparts.append(bytes(m))
        for i in range(nt - b, nt):
            rparts.append(b" " * rseps[i])
            mparts.append(b" " * seps[i + d])
            rparts.append(rtoks[i])
            mparts.append(toks[i + d])
    rparts.append(b" " * rseps[nt])
    mparts.append(b" " * seps[n])
    rend, edits = _edit_script(rparts, mparts)
    if not edits or len(edits) > 32:
        return None
    out = bytearray()
    put_uv(out, ref_value(st, tid, REF_FUZZY))
    put_uv(out, (len(edits) << 2) | sc[0])
    out += sc[1]
    c = 0
    for e0, e1, ins in edits:
        put_uv(out, e0 - c)
        put_uv(out, e1 - e0)
        put_uv(out, len(ins))
        out += ins
        c = e1
    if len(out) >= len(data):
        return None
    payload = bytes(out)
    # the decoder's rule, run on the encoder's (unchanged) state: use it only if exact
    try:
        got, _ = decode_payload(st, payload, len(data))
    except AuraError:
        return None
    if got != data:
        return None
    return payload


def encode_fuzzy(st: _State, data: bytes) -> bytes | None:
    """The smallest verified fuzzy payload for a message no template matches, or None."""
    if not data or len(data) > MAX_MATCH_BYTES:
        return None
    if st.parsed(data) is not None:
        return None
    tk = st.tokens(data)
    if tk is None:
        return None
    toks, seps = tk
    scored: list[tuple[int, int, int, int]] = []
    for tid in _fuzzy_candidates(st, toks):
        t = st.template(tid)
        if t is None or t.kind != KIND_TEXT:
            continue
        al = _align(t, toks)
        if al is not None:
            scored.append((al[0], tid, al[1], al[2]))
    if not scored:
        return None
    scored.sort()
    best: bytes | None = None
    for x in range(min(len(scored), FUZZY_TRY)):
        cost, tid, a, b = scored[x]
        t2 = st.template(tid)
        if t2 is None:
            continue
        p = _fuzzy_text(st, data, toks, seps, tid, t2, a, b)
        if p is not None and (best is None or len(p) < len(best)):
            best = p
    return best


class TemplateEncoder:
    """Trial-encodes messages with templates; in context mode mirrors the decoder's state."""

    def __init__(self, templates: TemplateSet | None, *, context: bool,
                 max_runtime_templates: int = 64, max_runtime_bytes: int = 16384,
                 max_state_bytes: int = LAST_BUDGET_BYTES, fuzzy: bool = True, content: bytes = b"") -> None:
        self._st = _State(templates, context, max_runtime_templates, max_runtime_bytes, max_state_bytes)
        # COPY's shared content K (spec §4.1.1): only with the dictionary's templates (frame flag D)
        self._st.cx.content = bytes(content) if templates is not None else b""
        #: also code near misses as a template plus an edit script (spec §4.3)
        self.fuzzy = fuzzy
        self._trial_data: bytes | None = None
        self._trial_match: _Match | None = None

    def encode(self, data: bytes, text: bool, hist: bytes = b"") -> bytes | None:
        """Return the TEMPLATE payload for ``data``, or None when no template applies.

        ``hist`` is the direction's message history COPY atoms may refer to (context mode:
        the last ``window`` bytes of the messages before this one; spec §4.1.1).
        A trial: the state is not changed (call :meth:`commit` afterwards).
        """
        data = bytes(data)
        st = self._st
        st.cx.hist = hist if st.context else b""
        m = st.match(data)
        if st.context:
            self._trial_data = data
            self._trial_match = m
        if m is None:
            out = encode_fuzzy(st, data) if self.fuzzy else None
        else:
            out = encode_match(m, data, st)
        if not st.context:
            st.clear_cache()
        return out

    def commit(self, data: bytes, chosen: bool) -> None:
        """Context mode: update the state after every context frame (whatever method coded it)."""
        if not self._st.context:
            return
        data = bytes(data)
        if self._trial_data is not None and self._trial_data == data:
            m = self._trial_match
        else:
            m = self._st.match(data)
        self._trial_data = None
        self._trial_match = None
        self._st.after(data, m)

    def memory_bytes(self) -> int:
        return self._st.memory_bytes()


class TemplateDecoder:
    """Decodes TEMPLATE payloads; in context mode keeps the state mirrored with the encoder."""

    def __init__(self, templates: TemplateSet | None, *, context: bool,
                 max_runtime_templates: int = 64, max_runtime_bytes: int = 16384,
                 max_state_bytes: int = LAST_BUDGET_BYTES, content: bytes = b"") -> None:
        self._st = _State(templates, context, max_runtime_templates, max_runtime_bytes, max_state_bytes)
        self._st.cx.content = bytes(content) if templates is not None else b""

    def decode(self, payload: bytes, text: bool, max_size: int, hist: bytes = b"") -> bytes:
        """Rebuild the message; in context mode the state is committed here.

        ``hist``: the direction's message history before this message (see the encoder).
        """
        st = self._st
        st.cx.hist = hist if st.context else b""
        data, m = decode_payload(st, bytes(payload), max_size)
        if st.context:
            # a fuzzy payload (m is None) updates the state like a frame of another method
            st.after(data, m if m is not None else st.match(data))
        return data

    def observe(self, data: bytes) -> None:
        """A context frame coded by another method: update the state as the encoder did."""
        st = self._st
        if not st.context:
            return
        data = bytes(data)
        st.after(data, st.match(data))

    def memory_bytes(self) -> int:
        return self._st.memory_bytes()


# -- training and summary ---------------------------------------------------------

def train_templates(samples: list[bytes], *, min_frequency: int = 5, min_distinct: int = 8,
                    max_templates: int = 4096) -> bytes:
    """Mine templates from ``samples`` and return the TEMPLATES dictionary section."""
    from aura_wire.codec.discovery import TemplateDiscoveryEngine

    eng = TemplateDiscoveryEngine(min_frequency=min_frequency, min_compression_advantage=1.5,
                                  min_distinct=min_distinct, id_range=(0, max(0, max_templates - 1)))
    for cand in eng.discover(list(samples)):
        if cand.advantage >= eng.min_compression_advantage:
            try:
                eng.promote_template(cand)
            except LimitError:
                break
    return eng.build_section()


def summarize(section: bytes, samples: list[bytes] | list[str]) -> dict[str, object]:
    """Templates found, stateless hit rate on ``samples`` and bytes saved (for ``aura-wire train``).

    A sample is a hit when its TEMPLATE payload (+1 header byte) is smaller than the sample.
    """
    ts = TemplateSet.from_section(section)
    enc = TemplateEncoder(ts, context=False)
    n = 0
    hits = 0
    raw = 0
    saved = 0
    for s in samples:
        b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
        n += 1
        raw += len(b)
        p = enc.encode(b, isinstance(s, str))
        if p is not None and len(p) + 1 < len(b):
            hits += 1
            saved += len(b) - len(p) - 1
    nj = sum(1 for t in ts.templates.values() if t.kind == KIND_JSON)
    return {
        "templates": len(ts),
        "json_templates": nj,
        "text_templates": len(ts) - nj,
        "strings": len(ts.strings),
        "section_bytes": len(section),
        "messages": n,
        "template_hits": hits,
        "hit_rate": hits / n if n else 0.0,
        "bytes_in": raw,
        "bytes_saved": saved,
    }
