"""The atom tag byte and its forms (spec/templates.md §4), and the context atoms refer to.

A slot value is coded as one tag byte ``Q|PPP|FFFF`` (Q: wrap the content in
double quotes; PPP: a small inline parameter, 7 = "7 + varint follows"; FFFF:
the form) and a few bytes.  Every form renders to one exact byte string.
:class:`AtomCtx` holds what atoms may refer to: the dictionary string table,
the connection's recent strings and COPY's sources.  No I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from mypy_extensions import i64

from aura_wire.codec.varint import (
    append_uvarint,
    decode_uvarint,
    uvarint_len,
    zigzag_decode,
    zigzag_encode,
)
from aura_wire.errors import FrameError, LimitError, PayloadError

if TYPE_CHECKING:
    from aura_wire.codec.brio.encode import History
    from aura_wire.codec.templates.atoms import _Choice
    from aura_wire.codec.templates.copy import ContentIndex, HistIndex

F_SAME: Final = 0  # param 0: SAME; param c >= 1: COPY with c pieces (spec §4.1.1)
F_RAW: Final = 1
F_UINT: Final = 2
F_NEG: Final = 3
F_ZPAD: Final = 4
F_DEC: Final = 5
F_HEX: Final = 6
F_NUMS: Final = 7
F_DNUM: Final = 8
F_DDIG: Final = 9
F_TABLE: Final = 10
F_A64: Final = 11
F_LIT: Final = 12
F_ARR: Final = 13
F_OBJ: Final = 14
F_PREFIX: Final = 15

Q_BIT: Final = 0x80
#: Longest slot value kept as "previous value" for context prediction.
MAX_LAST: Final = 128
#: Most digits a DDIG (digit-delta) value may hold.
MAX_DDIG_DIGITS: Final = 40
#: Deepest nesting of generic JSON containers inside one slot.
MAX_DEPTH: Final = 32
#: Widest zero-padded integer.
MAX_ZPAD: Final = 64

_LITS: Final = (b"null", b"true", b"false")
#: Recent strings kept per connection (count, bytes) at the default template state budget, and their
#: length range; a connection's budget B sets B // 96 strings and B // 3 bytes (spec §4.4).
RECENT_MAX: Final = 64
RECENT_BYTES: Final = 2048
RECENT_MIN_LEN: Final = 4
RECENT_MAX_LEN: Final = 128
#: Alphabet of the A64 form: 6 bits per character.
A64: Final = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz ."
_A64_INDEX: Final = bytes([A64.index(c) if c in A64 else 255 for c in range(256)])
_HEXL: Final = b"0123456789abcdef"
_HEXU: Final = b"0123456789ABCDEF"
_U64: Final = (1 << 64) - 1
_P62: Final = 1 << 62


class AtomCtx:
    """What atoms may refer to: the dictionary string table and (context mode) the
    connection's recent strings, as ``recent`` (content -> sequence number) and
    ``recent_by_seq``; ``rseq`` is the next sequence number (spec §4.4)."""

    __slots__ = ("index", "strings", "recent", "recent_by_seq", "rseq", "recent_bytes", "recent_max",
                 "recent_limit", "content", "_hist",
                 "_hsrc", "msg", "ref", "hlen", "at", "kindex", "copy_searches", "hindex", "copy_messages", "rlow",
                 "choice")

    def __init__(self, strings: list[bytes], index: dict[bytes, int]) -> None:
        self.strings = strings
        self.index = index
        self.recent: dict[bytes, int] = {}
        self.recent_by_seq: dict[int, bytes] = {}
        self.rseq = 0
        self.recent_bytes = 0
        #: no recent string has a sequence number below this one (``recent_by_seq``'s oldest key is
        #: found by counting up from it: ``next(iter(...))`` over a dict whose front was deleted
        #: walks the deleted entries, about 400 ns an eviction)
        self.rlow = 0
        #: the most strings and bytes the recent-string table keeps (TemplateState.__init__)
        self.recent_max: i64 = RECENT_MAX
        self.recent_limit: i64 = RECENT_BYTES
        #: COPY's shared content K (spec §4.1.1): the dictionary's BRIO content when the templates
        #: come from the dictionary, else empty; fixed for the connection
        self.content: bytes = b""
        # COPY's message history H (spec §4.1.1), read as ``hist``: the direction's last ``window``
        # message bytes before the message being coded (context mode), else empty; set per message,
        # by the encoder as the BRIO encoder's History, made into bytes only when a value reads it
        self._hist: bytes = b""
        self._hsrc: History | None = None
        #: encoder only: the message being coded while COPY may be used (None: not now), ``hist +
        #: message`` once a value needed it, ``len(hist)`` and the offset in the message of the
        #: value being coded
        self.msg: bytes | None = None
        self.ref: bytes | None = None
        self.hlen: i64 = 0
        self.at: i64 = 0
        #: encoder only: where ``content``'s 8-byte strings occur (shared by the connections of one
        #: dictionary), and the most substring searches of the history per COPY value
        self.kindex: ContentIndex | None = None
        self.copy_searches: i64 = 24  # copy.COPY_SEARCHES (forms cannot import copy)
        #: encoder only, context mode: where the 6-byte strings of ``hist`` ++ ``msg`` occur, kept
        #: across messages (made when a value first tries COPY)
        self.hindex: HistIndex | None = None
        self.copy_messages: i64 = 0  # messages that tried COPY while there was no hindex
        #: encoder only: the form choice of the value being coded (atoms.encode_scalar), reused
        self.choice: _Choice | None = None

    @property
    def hist(self) -> bytes:
        src = self._hsrc
        if src is not None:
            self._hist = src.get()
            self._hsrc = None
        return self._hist

    @hist.setter
    def hist(self, value: bytes) -> None:
        self._hist = value
        self._hsrc = None

    def lazy_hist(self, src: History) -> None:
        """Encoder: H is ``src``'s history, made into bytes when a value first reads ``hist``."""
        self._hist = b""
        self._hsrc = src

    def hist_len(self) -> i64:
        """``len(hist)``, without making it."""
        src = self._hsrc
        return src.length() if src is not None else len(self._hist)

    def commit_history(self, data: bytes) -> None:
        """Encoder, context mode: ``data`` joins the message history H (every committed message)."""
        if self.hindex is not None:
            self.hindex.commit(data)

    def add_recent(self, s: bytes) -> None:
        recent = self.recent
        by_seq = self.recent_by_seq
        nb = self.recent_bytes
        # get and del, not pop: compiled, dict.pop(k, None) is a method call found by name
        old = recent.get(s)
        if old is not None:
            del by_seq[old]
            nb -= len(s)
        seq = self.rseq
        recent[s] = seq  # replaces ``old`` (only by_seq's order is the age order)
        by_seq[seq] = s
        self.rseq = seq + 1
        nb += len(s)
        lo = self.rlow
        while len(recent) > self.recent_max or nb > self.recent_limit:
            # the oldest string: sequence numbers are given in increasing order, so the lowest
            # one present is the first in insertion order (a string used again left a gap)
            v = by_seq.get(lo)
            while v is None:
                lo += 1
                v = by_seq.get(lo)
            del by_seq[lo]
            lo += 1
            del recent[v]
            nb -= len(v)
        self.rlow = lo
        self.recent_bytes = nb


# -- varints ---------------------------------------------------------------

def put_uv(out: bytearray, value: int) -> None:
    """Append an unsigned LEB128 varint (value < 2**64); spec/wire-format.md §2."""
    if 0 <= value < 0x80:
        out.append(value)
    elif 0 < value < _P62:
        # in i64 arithmetic: compiled, an int beyond 62 bits is boxed, and every shift and mask of
        # append_uvarint's loop would allocate one
        v: i64 = value
        while v >= 0x80:
            out.append((v & 0x7F) | 0x80)
            v >>= 7
        out.append(v)
    else:
        append_uvarint(out, value)


def get_uv(buf: bytes, pos: int, field: str) -> tuple[int, int]:
    """Read an unsigned LEB128 varint; PayloadError when truncated, > 10 bytes or non-minimal.

    Inside a template payload a bad varint is a payload error (close code 1007), not a
    frame error, so the varint module's FrameError is re-raised as one.
    """
    try:
        return decode_uvarint(buf, pos, field)
    except FrameError as exc:
        raise PayloadError(exc.reason, offset=exc.offset, field=field) from exc


def zz(v: int) -> int:
    return zigzag_encode(v)


def unzz(v: int) -> int:
    return zigzag_decode(v)


def int_str(v: int) -> str:
    """``str(v)``.  Compiled, ``str()``, ``repr()`` and ``%d`` of an ``int`` beyond 62 bits keep a
    reference to it (mypyc's CPyTagged_Str: ``PyObject_Str(CPyTagged_AsObject(n))``): 40 bytes
    leaked per 20-digit DDIG value decoded, one per market-data message.  As an ``object`` it is not."""
    if -(1 << 62) <= v < (1 << 62):
        return str(v)
    o: object = v
    return str(o)


def _put_tag(out: bytearray, q: bool, form: int, param: int) -> None:
    qb = Q_BIT if q else 0
    if param < 7:
        out.append(qb | (param << 4) | form)
    else:
        out.append(qb | 0x70 | form)
        put_uv(out, param - 7)


def _tag_len(param: int) -> int:
    return 1 if param < 7 else 1 + uvarint_len(param - 7)


def content_of(raw: bytes, json_slot: bool) -> tuple[bytes, bool]:
    """Split a slot value into (content, quoted)."""
    if json_slot and len(raw) >= 2 and raw[0] == 0x22 and raw[-1] == 0x22:
        return raw[1:-1], True
    return raw, False


# -- decoding ------------------------------------------------------------------

def _read_param(buf: bytes, pos: int, p: int) -> tuple[int, int]:
    if p < 7:
        return p, pos
    v, pos = get_uv(buf, pos, "slot.param")
    return v + 7, pos


def _check(out: bytearray, limit: int) -> None:
    if len(out) > limit:
        raise LimitError(f"decoded message exceeds max_message_size {limit}", field="template.output")
