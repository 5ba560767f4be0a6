"""The learner's candidates, stored compactly (encoder only: nothing here is on the wire).

A candidate is a shape the learner saw once (spec/templates.md §5.5, informative); it becomes a
runtime template when a later message has it again.  As :class:`Template` objects, candidates
held 5-20 times their size (a text template's five per-token lists, a JSON shape's gaps and its
skeleton key): 78-112 KiB per server connection.  Here a JSON candidate is the hash of its
skeleton key (its template is rebuilt from the message that sees it again), and a text
candidate is one byte string of its literal tokens and affixes with a per-token descriptor,
matched in place; a :class:`Template` is made only when one is needed (a candidate generalised
or defined).  Matching gives the answers :func:`text_matches` and :func:`generalised` give on
the template.  No I/O.
"""

from __future__ import annotations

from typing import Final

from librt.strings import BytesWriter
from mypy_extensions import i64

from aura_wire.codec.templates.section import KIND_JSON, KIND_TEXT, Template, rule_desc
from aura_wire.codec.templates.text import generalised, text_matches
from aura_wire.codec.varint import uvarint_len

#: Longest literal token or affix, and longest separator, stored compactly; a candidate with a
#: longer one keeps its Template (``tmpl``).
_MAX_PIECE: Final = 0xFFFF
_MAX_SEP: Final = 0xFE


class Cand:
    """One candidate: ``size`` and ``fp`` are its template's wire size and footprint (the pool's
    bounds count them as the templates would hold them); JSON: ``hkey``, the hash of its skeleton
    key; text: ``meta`` (per token: 0 literal or 1 slot, then two 16-bit lengths: the token's, or
    the prefix's and the suffix's), ``blob`` (those bytes, in order), ``seps`` (separator length
    + 1, 0 for a variable separator) or ``tmpl`` when a piece is too long for them."""

    __slots__ = ("kind", "level", "hkey", "size", "fp", "ntok", "meta", "blob", "seps", "tmpl")

    def __init__(self, kind: int, level: int, hkey: int, size: int, fp: int) -> None:
        self.kind = kind
        self.level = level
        self.hkey = hkey
        self.size = size
        self.fp = fp
        self.ntok = 0
        self.meta = b""
        self.blob = b""
        self.seps = b""
        self.tmpl: Template | None = None

    @staticmethod
    def of_json(t: Template, hkey: int) -> Cand:
        return Cand(KIND_JSON, t.level, hkey, t.size, t.footprint())

    @staticmethod
    def of_text(t: Template) -> Cand:
        c = Cand(KIND_TEXT, 0, 0, t.size, t.footprint())
        c.ntok = len(t.toks)
        meta = BytesWriter()
        blob = BytesWriter()
        seps = BytesWriter()
        for s in t.seps:
            if s > _MAX_SEP:
                c.tmpl = t
                return c
            seps.append(s + 1 if s >= 0 else 0)
        for i in range(len(t.toks)):
            slot = t.slot[i]
            a = t.pre[i] if slot else t.toks[i]
            b = t.suf[i] if slot else b""
            la: i64 = len(a)
            lb: i64 = len(b)
            if la > _MAX_PIECE or lb > _MAX_PIECE or (len(t.toks[i]) if slot else len(t.pre[i]) + len(t.suf[i])):
                c.tmpl = t  # not a shape the learner makes
                return c
            meta.append(1 if slot else 0)
            meta.append(la & 0xFF)
            meta.append(la >> 8)
            meta.append(lb & 0xFF)
            meta.append(lb >> 8)
            blob.write(a)
            if lb:
                blob.write(b)
        c.meta = meta.getvalue()
        c.blob = blob.getvalue()
        c.seps = seps.getvalue()
        return c

    @staticmethod
    def learned(toks: list[bytes], seps: list[int]) -> Cand:
        """The learner's new candidate for a message of tokens ``toks`` and separators ``seps``:
        each token a literal or, by the fixed rule (:func:`rule_desc`), a slot with its affixes;
        what ``of_text`` makes of that template, without making it (its ``size`` counted as
        ``Template.text`` counts it, spec/templates.md §2.2)."""
        n: i64 = len(toks)
        meta = BytesWriter()
        blob = BytesWriter()
        sw = BytesWriter()
        size: i64 = 1 + uvarint_len(n)
        long = False
        for i in range(n):
            tok = toks[i]
            lt: i64 = len(tok)
            d, sl = rule_desc(tok)
            if d:
                la: i64 = d - 1
                lb: i64 = sl
                size += 1 + uvarint_len(la) + la + uvarint_len(lb) + lb
                meta.append(1)
                blob.write(tok[:la])
                if lb:
                    blob.write(tok[lt - lb:])
            else:
                la = lt
                lb = 0
                size += 1 + uvarint_len(la) + la
                meta.append(0)
                blob.write(tok)
            long = long or la > _MAX_PIECE or lb > _MAX_PIECE
            meta.append(la & 0xFF)
            meta.append((la >> 8) & 0xFF)
            meta.append(lb & 0xFF)
            meta.append((lb >> 8) & 0xFF)
        for v in seps:
            size += uvarint_len(v + 1)
            long = long or v > _MAX_SEP
            sw.append((v + 1) & 0xFF)
        if long:  # a piece too long for the descriptors
            return Cand.of_text(rule_template(toks, seps))
        c = Cand(KIND_TEXT, 0, 0, size, size + 100 * n + 560)  # Template.footprint() of a text template
        c.ntok = n
        c.meta = meta.getvalue()
        c.blob = blob.getvalue()
        c.seps = sw.getvalue()
        return c

    def memory(self) -> int:
        """Bytes it holds as CPython objects (estimated; its dict entries in the pool's indexes
        included)."""
        if self.tmpl is not None:
            return self.tmpl.footprint() + 400
        if self.kind == KIND_JSON:
            return 360
        return len(self.meta) + len(self.blob) + len(self.seps) + 520

    def template(self) -> Template:
        """The text candidate as a Template."""
        if self.tmpl is not None:
            return self.tmpl
        meta = self.meta
        blob = self.blob
        toks: list[bytes] = []
        slot: list[bool] = []
        pre: list[bytes] = []
        suf: list[bytes] = []
        at: i64 = 0
        for i in range(self.ntok):
            j: i64 = 5 * i
            la: i64 = meta[j + 1] | (meta[j + 2] << 8)
            lb: i64 = meta[j + 3] | (meta[j + 4] << 8)
            if meta[j]:
                toks.append(b"")
                slot.append(True)
                pre.append(blob[at:at + la])
                suf.append(blob[at + la:at + la + lb])
            else:
                toks.append(blob[at:at + la])
                slot.append(False)
                pre.append(b"")
                suf.append(b"")
            at += la + lb
        return Template.text(toks, slot, pre, suf, [s - 1 for s in self.seps])

    def matches(self, toks: list[bytes], seps: list[int]) -> bool:
        """:func:`text_matches` of its template."""
        if self.tmpl is not None:
            return text_matches(self.tmpl, toks, seps)
        n: i64 = len(toks)
        if n != self.ntok:
            return False
        meta = self.meta
        blob = self.blob
        at: i64 = 0
        for i in range(n):
            tok = toks[i]
            lt: i64 = len(tok)
            j: i64 = 5 * i
            la: i64 = meta[j + 1] | (meta[j + 2] << 8)
            lb: i64 = meta[j + 3] | (meta[j + 4] << 8)
            if meta[j]:
                if lt < la + lb:
                    return False
                k: i64 = 0
                while k < la:
                    if tok[k] != blob[at + k]:
                        return False
                    k += 1
                k = 0
                while k < lb:
                    if tok[lt - lb + k] != blob[at + la + k]:
                        return False
                    k += 1
            else:
                if lt != la:
                    return False
                k = 0
                while k < la:
                    if tok[k] != blob[at + k]:
                        return False
                    k += 1
            at += la + lb
        ts = self.seps
        for i in range(len(seps)):
            s: i64 = ts[i]
            if s and s - 1 != seps[i]:
                return False
        return True

    def generalised(self, toks: list[bytes], seps: list[int]) -> Template | None:
        """:func:`generalised` of its template: None unless half its literal tokens are the
        message's (counted in place), else the Template is made and generalised."""
        if self.tmpl is not None:
            return generalised(self.tmpl, toks, seps)
        meta = self.meta
        blob = self.blob
        same: i64 = 0
        lits: i64 = 0
        at: i64 = 0
        for i in range(self.ntok):
            j: i64 = 5 * i
            la: i64 = meta[j + 1] | (meta[j + 2] << 8)
            lb: i64 = meta[j + 3] | (meta[j + 4] << 8)
            if not meta[j]:
                lits += 1
                tok = toks[i]
                if len(tok) == la:
                    k: i64 = 0
                    while k < la and tok[k] == blob[at + k]:
                        k += 1
                    if k == la:
                        same += 1
            at += la + lb
        if lits == 0 or same * 2 < lits:
            return None
        return generalised(self.template(), toks, seps)


def rule_template(toks: list[bytes], seps: list[int]) -> Template:
    """The text template of a message of tokens ``toks`` and separators ``seps`` by the fixed rule
    (:func:`rule_desc`): each token a literal or a slot with its affixes."""
    slot: list[bool] = []
    pre: list[bytes] = []
    suf: list[bytes] = []
    ltoks: list[bytes] = []
    for tok in toks:
        d, sl = rule_desc(tok)  # the rule DEFINE_TEXT_RULE spells in ~3 bytes
        if d:
            slot.append(True)
            pre.append(tok[:d - 1])
            suf.append(tok[len(tok) - sl:] if sl else b"")
            ltoks.append(b"")
        else:
            slot.append(False)
            pre.append(b"")
            suf.append(b"")
            ltoks.append(tok)
    return Template.text(ltoks, slot, pre, suf, list(seps))
