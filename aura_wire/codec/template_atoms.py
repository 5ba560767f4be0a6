"""Slot values of the TEMPLATE method: typed, byte-exact atom coding (spec/templates.md §4).

An *atom* is the exact byte string that fills one slot of a template: a text
token, or a JSON value (string with its quotes, number, literal, or a whole
container).  It is coded as one tag byte ``Q|PPP|FFFF`` (Q: wrap the content in
double quotes; PPP: a small inline parameter, 7 = "7 + varint follows"; FFFF:
the form) and a few bytes.  Every form renders to one exact byte string; the
encoder only picks a form after checking that it renders the original bytes,
so nothing is normalised away (leading zeros, case, number spelling, escapes).

Context forms (SAME, DNUM, DDIG, PREFIX) predict from the slot's previous
value on this connection; COPY copies byte runs from the dictionary's shared
content, the prediction, the direction's message history and the message
rendered so far (an LZ77-style reference).  Pure functions on bytes; no I/O,
no global state.
"""

from __future__ import annotations

from typing import Final

from mypy_extensions import i64

from aura_wire.codec.varint import append_uvarint, decode_uvarint, uvarint_len, zigzag_decode, zigzag_encode
from aura_wire.errors import FrameError, LimitError, PayloadError

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
#: Recent strings kept per connection (count, bytes) and their length range.
RECENT_MAX: Final = 64
RECENT_BYTES: Final = 2048
RECENT_MIN_LEN: Final = 4
RECENT_MAX_LEN: Final = 128
#: COPY (spec §4.1.1): the encoder looks for copies in values of at least this many bytes whose
#: best other form costs at least COPY_TRY_COST bytes, for runs of at least COPY_MIN_RUN bytes,
#: with at most COPY_SEARCHES substring searches of the history per value.
COPY_MIN_VALUE: Final = 8
COPY_TRY_COST: Final = 6
COPY_MIN_RUN: Final = 6
COPY_SEARCHES: Final = 24
#: Alphabet of the A64 form: 6 bits per character.
A64: Final = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz ."
_A64_INDEX: Final = bytes([A64.index(c) if c in A64 else 255 for c in range(256)])
_HEXL: Final = b"0123456789abcdef"
_HEXU: Final = b"0123456789ABCDEF"
_U64: Final = (1 << 64) - 1


class AtomCtx:
    """What atoms may refer to: the dictionary string table and (context mode) the
    connection's recent strings, as ``recent`` (content -> sequence number) and
    ``recent_by_seq``; ``rseq`` is the next sequence number (spec §4.4)."""

    __slots__ = ("index", "strings", "recent", "recent_by_seq", "rseq", "recent_bytes", "content", "hist",
                 "msg", "ref", "hlen", "at")

    def __init__(self, strings: list[bytes], index: dict[bytes, int]) -> None:
        self.strings = strings
        self.index = index
        self.recent: dict[bytes, int] = {}
        self.recent_by_seq: dict[int, bytes] = {}
        self.rseq = 0
        self.recent_bytes = 0
        #: COPY's shared content K (spec §4.1.1): the dictionary's BRIO content when the templates
        #: come from the dictionary, else empty; fixed for the connection
        self.content: bytes = b""
        #: COPY's message history H (spec §4.1.1): the direction's last ``window`` message bytes
        #: before the message being coded (context mode), else empty; set per message
        self.hist: bytes = b""
        #: encoder only: the message being coded while COPY may be used (None: not now), ``hist +
        #: message`` once a value needed it, ``len(hist)`` and the offset in the message of the
        #: value being coded
        self.msg: bytes | None = None
        self.ref: bytes | None = None
        self.hlen: i64 = 0
        self.at: i64 = 0

    def add_recent(self, s: bytes) -> None:
        recent = self.recent
        by_seq = self.recent_by_seq
        nb = self.recent_bytes
        old = recent.pop(s, None)
        if old is not None:
            del by_seq[old]
            nb -= len(s)
        seq = self.rseq
        recent[s] = seq
        by_seq[seq] = s
        self.rseq = seq + 1
        nb += len(s)
        while len(recent) > RECENT_MAX or nb > RECENT_BYTES:
            v = by_seq.pop(next(iter(by_seq)))
            del recent[v]
            nb -= len(v)
        self.recent_bytes = nb


# -- varints ---------------------------------------------------------------

def put_uv(out: bytearray, value: int) -> None:
    """Append an unsigned LEB128 varint (value < 2**64); spec/wire-format.md §2."""
    if 0 <= value < 0x80:
        out.append(value)
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


def _put_tag(out: bytearray, q: bool, form: int, param: int) -> None:
    qb = Q_BIT if q else 0
    if param < 7:
        out.append(qb | (param << 4) | form)
    else:
        out.append(qb | 0x70 | form)
        put_uv(out, param - 7)


def _tag_len(param: int) -> int:
    return 1 if param < 7 else 1 + uvarint_len(param - 7)


# -- number parsing ----------------------------------------------------------

def parse_decimal(s: bytes) -> tuple[int, int] | None:
    """Return (signed mantissa, scale) when ``s`` is a canonically spelled decimal.

    Canonical: optional '-', integer part without leading zeros ("0" alone is
    allowed), optional '.' and at least one fraction digit.  "-0" and "-0.00"
    are not canonical (the sign of zero would be lost).
    """
    n: i64 = len(s)
    if n == 0 or n > 40:
        return None
    i: i64 = 0
    neg = False
    if s[0] == 0x2D:
        neg = True
        i = 1
    start: i64 = i
    while i < n and 0x30 <= s[i] <= 0x39:
        i += 1
    int_len: i64 = i - start
    if int_len == 0 or (int_len > 1 and s[start] == 0x30):
        return None
    scale: i64 = 0
    if i < n:
        if s[i] != 0x2E:
            return None
        i += 1
        fstart: i64 = i
        while i < n and 0x30 <= s[i] <= 0x39:
            i += 1
        scale = i - fstart
        if scale == 0 or i != n:
            return None
        m = int(s[start:fstart - 1] + s[fstart:n])
    else:
        m = int(s[start:n])
    if neg:
        if m == 0:
            return None
        m = -m
    return m, int(scale)


def render_decimal(m: int, scale: int) -> bytes:
    """Inverse of :func:`parse_decimal`."""
    if scale == 0:
        return str(m).encode()
    digits = str(-m if m < 0 else m).rjust(scale + 1, "0")
    s = digits[:-scale] + "." + digits[-scale:]
    return ("-" + s).encode() if m < 0 else s.encode()


def _digit_skeleton(s: bytes) -> tuple[bytes, int, int] | None:
    """Return (non-digit mask, digit value, digit count) for DDIG; None without digits."""
    n: i64 = len(s)
    if n == 0 or n > 64:
        return None
    mask = bytearray(s)
    digits = bytearray()
    i: i64 = 0
    while i < n:
        c: i64 = s[i]
        if 0x30 <= c <= 0x39:
            digits.append(c)
            mask[i] = 0
        i += 1
    nd = len(digits)
    if nd == 0 or nd > MAX_DDIG_DIGITS:
        return None
    return bytes(mask), int(digits), nd


def _groups(s: bytes) -> tuple[list[bytes], list[int]] | None:
    """Split into (non-digit runs, canonical digit groups) for NUMS; None when a group has a
    leading zero, a group exceeds 18 digits, or there are no / too many groups."""
    n = len(s)
    if n == 0 or n > 128:
        return None
    seps: list[bytes] = []
    vals: list[int] = []
    i = 0
    prev = 0
    while i < n:
        c = s[i]
        if 0x30 <= c <= 0x39:
            j = i
            while j < n and 0x30 <= s[j] <= 0x39:
                j += 1
            if (j - i > 1 and c == 0x30) or j - i > 18:
                return None
            seps.append(s[prev:i])
            vals.append(int(s[i:j]))
            prev = j
            i = j
        else:
            i += 1
    if not vals or len(vals) > 16:
        return None
    seps.append(s[prev:])
    return seps, vals


def _render_groups(seps: list[bytes], vals: list[int]) -> bytes:
    out = bytearray(seps[0])
    for j in range(len(vals)):
        out += str(vals[j]).encode()
        out += seps[j + 1]
    return bytes(out)


def _render_ddig(mask: bytes, value: int, nd: int) -> bytes:
    ds = str(value).rjust(nd, "0").encode()
    out = bytearray(mask)
    j = 0
    for i in range(len(out)):
        if out[i] == 0:
            out[i] = ds[j]
            j += 1
    return bytes(out)


def _hex_case(s: bytes) -> int:
    """1: lowercase hex digits only (some letters), 2: uppercase, 3: digits only, 0: not hex."""
    letters_l = False
    letters_u = False
    n: i64 = len(s)
    i: i64 = 0
    while i < n:
        c: i64 = s[i]
        i += 1
        if 0x30 <= c <= 0x39:
            continue
        if 0x61 <= c <= 0x66:
            letters_l = True
        elif 0x41 <= c <= 0x46:
            letters_u = True
        else:
            return 0
    if letters_l and letters_u:
        return 0
    if letters_l:
        return 1
    if letters_u:
        return 2
    return 3


def content_of(raw: bytes, json_slot: bool) -> tuple[bytes, bool]:
    """Split a slot value into (content, quoted)."""
    if json_slot and len(raw) >= 2 and raw[0] == 0x22 and raw[-1] == 0x22:
        return raw[1:-1], True
    return raw, False


# -- encoding ------------------------------------------------------------------

def encode_scalar(out: bytearray, content: bytes, q: bool, last: bytes | None,
                  cx: AtomCtx) -> None:
    """Append the smallest form that renders ``content`` (quoted when ``q``).

    ``last`` is the content of the slot's previous value (context mode) or None.
    Forms are compared by their coded length (the earliest wins a tie, in the
    order RAW, TABLE, recent LIT, UINT/NEG/DEC, DNUM, ZPAD, HEX, A64, DDIG,
    NUMS delta, NUMS absolute, PREFIX); only the winner is written.
    """
    n: i64 = len(content)
    if n == 0:
        out.append((Q_BIT if q else 0) | F_RAW)
        return
    bform: i64 = F_RAW
    bparam: int = int(n)
    blen: i64 = _tag_len(int(n)) + n
    bval: int = 0
    bv = 0
    idx = cx.index.get(content)
    if idx is not None:
        tl: i64 = _tag_len(idx)
        if tl < blen:
            bform = F_TABLE
            bparam = idx
            blen = tl
    rs = cx.recent.get(content)
    if rs is not None:
        r = 3 + cx.rseq - 1 - rs
        tl = _tag_len(r)
        if tl < blen:
            bform = F_LIT
            bparam = r
            blen = tl
    c0: i64 = content[0]
    numeric = False  # a number: coded by value (and delta) forms, never COPY (spec §4.1.1, informative)
    if (0x30 <= c0 <= 0x39 or c0 == 0x2D) and n <= 40:
        m, scale = _parse_dec(content)
        if scale >= 0:
            numeric = True
            cform: i64 = -1
            cparam = 0
            clen: i64 = 0
            if scale == 0:
                if m >= 0:
                    if m <= _U64:
                        cform = F_UINT
                        cparam = m
                        clen = _tag_len(m)
                elif -m <= _U64:
                    cform = F_NEG
                    cparam = -m
                    clen = _tag_len(-m)
            elif -_P62 < m < _P62:
                cform = F_DEC
                cparam = int(scale)
                bv = zz(m)
                clen = _tag_len(cparam) + uvarint_len(bv)
            if cform >= 0 and clen < blen:
                bform = cform
                bparam = cparam
                blen = clen
                if cform == F_DEC:
                    bval = bv
            if last is not None:
                lm, lscale = _parse_dec(last)
                if lscale >= 0 and lscale == scale:
                    d = zz(m - lm)
                    if d <= _U64:
                        tl = _tag_len(d)
                        if tl < blen:
                            bform = F_DNUM
                            bparam = d
                            blen = tl
        elif c0 == 0x30 and n <= MAX_ZPAD:
            # zero-padded integer such as "081109" or "007"
            v = _digits_value(content)
            if v >= 0:
                numeric = True
            if v >= 0 and n <= 19:
                clen = _tag_len(int(n)) + uvarint_len(v)
                if clen < blen:
                    bform = F_ZPAD
                    bparam = int(n)
                    blen = clen
                    bval = v
    if n >= 6 and blen > 4:
        hc = _hex_case(content)
        if hc == 1 or hc == 2:
            hp = int(2 * n + (hc - 1))
            clen = _tag_len(hp) + ((n + 1) >> 1)
            if clen < blen:
                bform = F_HEX
                bparam = hp
                blen = clen
    if n >= 4 and blen > 4 and _a64_ok(content):
        clen = _tag_len(int(n)) + ((6 * n + 7) >> 3)
        if clen < blen:
            bform = F_A64
            bparam = int(n)
            blen = clen
    gg: list[int] = _NO_GROUPS
    if last is not None and blen > 2:
        d2 = _ddig_delta(content, last)
        if 0 <= d2 <= _U64:
            tl = _tag_len(d2)
            if tl < blen:
                bform = F_DDIG
                bparam = d2
                blen = tl
        if blen > 2:
            gg = _groups_pair(content, last)
        else:
            gg = _NO_GROUPS
        if gg:
            clen = 1
            clen2: i64 = 1
            for j in range(0, len(gg), 2):
                clen += uvarint_len(zz(gg[j] - gg[j + 1]))
                clen2 += uvarint_len(gg[j])
            if clen < blen:
                bform = F_NUMS
                bparam = 0
                blen = clen
            if clen2 < blen:
                bform = F_NUMS
                bparam = 1
                blen = clen2
        if blen > 3:
            k: i64 = 0
            nl: i64 = len(last)
            lim: i64 = n if n < nl else nl
            while k < lim and content[k] == last[k]:
                k += 1
            if k >= 3:
                rest: i64 = n - k
                clen = _tag_len(int(k)) + uvarint_len(int(rest)) + rest
                if clen < blen:
                    bform = F_PREFIX
                    bparam = int(k)
                    blen = clen
    msg = cx.msg
    if msg is not None and n >= COPY_MIN_VALUE and blen >= COPY_TRY_COST and not numeric:
        ref = cx.ref
        if ref is None:
            ref = cx.hist + msg
            cx.ref = ref
        pieces = _copy_pieces(cx.content, ref, cx.hlen + cx.at, content, last)
        if pieces is not None:
            clen = _tag_len(len(pieces) >> 1)
            for j in range(0, len(pieces), 2):
                h: i64 = pieces[j]
                clen += uvarint_len(h)
                clen += uvarint_len(pieces[j + 1]) if h & 1 else h >> 1
            if clen < blen:
                _put_tag(out, q, F_SAME, len(pieces) >> 1)
                k2: i64 = 0
                for j in range(0, len(pieces), 2):
                    h = pieces[j]
                    put_uv(out, h)
                    if h & 1:
                        put_uv(out, pieces[j + 1])
                    else:
                        out += content[k2:k2 + (h >> 1)]
                    k2 += h >> 1
                return
    _put_tag(out, q, int(bform), bparam)
    if bform == F_RAW:
        out += content
    elif bform == F_DEC or bform == F_ZPAD:
        put_uv(out, bval)
    elif bform == F_HEX:
        _pack_hex(out, content)
    elif bform == F_A64:
        _put_a64(out, content)
    elif bform == F_NUMS:
        if bparam == 0:
            for j in range(0, len(gg), 2):
                put_uv(out, zz(gg[j] - gg[j + 1]))
        else:
            for j in range(0, len(gg), 2):
                put_uv(out, gg[j])
    elif bform == F_PREFIX:
        put_uv(out, int(n) - bparam)
        out += content[bparam:]


def _extend(src: bytes, p: i64, s: bytes, i: i64, lim: i64) -> i64:
    """How many bytes of ``s[i:]`` (at most ``lim``) equal ``src[p:]``."""
    k: i64 = 0
    while k < lim and src[p + k] == s[i + k]:
        k += 1
    return k


def _copy_pieces(kc: bytes, ref: bytes, cur: i64, content: bytes, lc: bytes | None) -> list[int] | None:
    """COPY pieces for ``content`` (spec §4.1.1), or None when no run is worth copying.

    The reference is K ++ P ++ H ++ out: K = ``kc`` (the dictionary's shared content), P = ``lc``
    (the slot's prediction), and ``ref`` = H ++ the message, whose ``content`` starts at
    ``ref[cur]``.  Returns a flat list of (head, distance) pairs (distance 0 for a literal piece).
    One copy of the whole value when it occurs before ``cur`` in ``ref`` or anywhere in ``kc``;
    else a greedy parse: at each position the longest run of at least COPY_MIN_RUN bytes found in
    ``lc`` or before the position in ``ref`` (most recent occurrence, then a longer one if any),
    literal bytes between runs; at most COPY_SEARCHES searches of ``ref`` per value, so long
    values without matches stay cheap (``kc``, up to 1 MiB, is searched for the whole value only).
    """
    n: i64 = len(content)
    plen: i64 = len(lc) if lc is not None else 0
    klen: i64 = len(kc)
    p: i64 = ref.rfind(content, 0, cur)
    if p >= 0:
        return [n << 1 | 1, cur - p]
    searches: i64 = 1
    if klen >= n:
        searches += 1
        p = kc.rfind(content)
        if p >= 0:
            return [n << 1 | 1, klen - p + plen + cur]
    out: list[int] = []
    i: i64 = 0
    lit: i64 = 0
    while i + COPY_MIN_RUN <= n:
        best: i64 = 0
        bd: i64 = 0
        if lc is not None and plen >= COPY_MIN_RUN:
            q: i64 = lc.find(content[i:i + COPY_MIN_RUN])
            while q >= 0:
                k = _extend(lc, q, content, i, min(n - i, plen - q))
                if k > best:
                    best = k
                    bd = plen - q + cur + i
                q = lc.find(content[i:i + COPY_MIN_RUN], q + 1)
        end: i64 = cur + i
        if searches < COPY_SEARCHES:
            searches += 1
            q = ref.rfind(content[i:i + COPY_MIN_RUN], 0, end)
            while q >= 0 and searches <= COPY_SEARCHES:
                k = _extend(ref, q, content, i, min(n - i, end - q))
                if k > best:
                    best = k
                    bd = end - q
                if best >= n - i:
                    break
                # a longer run elsewhere?
                searches += 1
                q = ref.rfind(content[i:i + best + 1], 0, end)
        if best >= COPY_MIN_RUN:
            if lit:
                out.append(lit << 1)
                out.append(0)
                lit = 0
            out.append(best << 1 | 1)
            out.append(bd)
            i += best
        else:
            i += 1
            lit += 1
    if not out:
        return None
    lit += n - i
    if lit:
        out.append(lit << 1)
        out.append(0)
    return out


_P62: Final = 1 << 62
#: Placeholder digit-group list (never appended to).
_NO_GROUPS: Final[list[int]] = []
_E18: Final = 10 ** 18


def _parse_dec(s: bytes) -> tuple[int, i64]:
    """:func:`parse_decimal` without allocation: (mantissa, scale), scale -1 when not canonical."""
    n: i64 = len(s)
    if n == 0 or n > 40:
        return 0, -1
    i: i64 = 0
    neg = False
    if s[0] == 0x2D:
        neg = True
        i = 1
    start: i64 = i
    m = 0
    acc: i64 = 0
    nacc: i64 = 0
    while i < n:
        c: i64 = s[i]
        if c < 0x30 or c > 0x39:
            break
        acc = acc * 10 + (c - 0x30)
        nacc += 1
        if nacc == 18:
            m = m * _E18 + int(acc)
            acc = 0
            nacc = 0
        i += 1
    int_len: i64 = i - start
    if int_len == 0 or (int_len > 1 and s[start] == 0x30):
        return 0, -1
    scale: i64 = 0
    if i < n:
        if s[i] != 0x2E:
            return 0, -1
        i += 1
        fstart: i64 = i
        while i < n:
            c = s[i]
            if c < 0x30 or c > 0x39:
                break
            acc = acc * 10 + (c - 0x30)
            nacc += 1
            if nacc == 18:
                m = m * _E18 + int(acc)
                acc = 0
                nacc = 0
            i += 1
        scale = i - fstart
        if scale == 0 or i != n:
            return 0, -1
    if nacc:
        m = m * _POW10[nacc] + int(acc)
    if neg:
        if m == 0:
            return 0, -1
        m = -m
    return m, scale


_POW10: Final = [10 ** k for k in range(19)]


def _digits_value(s: bytes) -> int:
    """The value of an all-digit string (-1 when another byte occurs)."""
    n: i64 = len(s)
    m = 0
    acc: i64 = 0
    nacc: i64 = 0
    i: i64 = 0
    while i < n:
        c: i64 = s[i]
        if c < 0x30 or c > 0x39:
            return -1
        acc = acc * 10 + (c - 0x30)
        nacc += 1
        if nacc == 18:
            m = m * _E18 + int(acc)
            acc = 0
            nacc = 0
        i += 1
    if nacc:
        m = m * _POW10[nacc] + int(acc)
    return m


def _a64_ok(s: bytes) -> bool:
    idx = _A64_INDEX
    n: i64 = len(s)
    i: i64 = 0
    while i < n:
        if idx[s[i]] == 255:
            return False
        i += 1
    return True


def _ddig_delta(a: bytes, b: bytes) -> int:
    """zz(digits(a) - digits(b)) when both have the same DDIG skeleton (spec §4.2), else -1."""
    n: i64 = len(a)
    if n == 0 or n > 64 or n != len(b):
        return -1
    va = 0
    vb = 0
    nda: i64 = 0
    ndb: i64 = 0
    i: i64 = 0
    while i < n:
        x: i64 = a[i]
        y: i64 = b[i]
        mx: i64 = x
        my: i64 = y
        if 0x30 <= x <= 0x39:
            va = va * 10 + int(x - 0x30)
            nda += 1
            mx = 0
        if 0x30 <= y <= 0x39:
            vb = vb * 10 + int(y - 0x30)
            ndb += 1
            my = 0
        if mx != my:
            return -1
        i += 1
    if nda == 0 or nda > MAX_DDIG_DIGITS or ndb == 0 or ndb > MAX_DDIG_DIGITS:
        return -1
    return zz(va - vb)


def _groups_pair(a: bytes, b: bytes) -> list[int]:
    """When :func:`_groups` accepts both and their non-digit runs are equal: the digit groups,
    interleaved (a0, b0, a1, b1, ...); else the empty ``_NO_GROUPS`` (never mutated)."""
    na: i64 = len(a)
    nb: i64 = len(b)
    if na == 0 or na > 128 or nb == 0 or nb > 128:
        return _NO_GROUPS
    i: i64 = 0
    j: i64 = 0
    ng: i64 = 0
    out: list[int] = _NO_GROUPS
    while True:
        i2: i64 = i
        while i2 < na and not (0x30 <= a[i2] <= 0x39):
            i2 += 1
        j2: i64 = j
        while j2 < nb and not (0x30 <= b[j2] <= 0x39):
            j2 += 1
        if i2 - i != j2 - j:
            return _NO_GROUPS
        k: i64 = 0
        while k < i2 - i:
            if a[i + k] != b[j + k]:
                return _NO_GROUPS
            k += 1
        if i2 == na or j2 == nb:
            if i2 != na or j2 != nb:
                return _NO_GROUPS
            break
        va: i64 = 0
        i3: i64 = i2
        while i3 < na:
            c: i64 = a[i3]
            if c < 0x30 or c > 0x39:
                break
            if i3 - i2 < 18:
                va = va * 10 + (c - 0x30)
            i3 += 1
        if (i3 - i2 > 1 and a[i2] == 0x30) or i3 - i2 > 18:
            return _NO_GROUPS
        vb: i64 = 0
        j3: i64 = j2
        while j3 < nb:
            c = b[j3]
            if c < 0x30 or c > 0x39:
                break
            if j3 - j2 < 18:
                vb = vb * 10 + (c - 0x30)
            j3 += 1
        if (j3 - j2 > 1 and b[j2] == 0x30) or j3 - j2 > 18:
            return _NO_GROUPS
        ng += 1
        if ng > 16:
            return _NO_GROUPS
        if ng == 1:
            out = []
        out.append(int(va))
        out.append(int(vb))
        i = i3
        j = j3
    return out


def _pack_a64(s: bytes) -> bytes | None:
    """Pack 6-bit codes MSB-first, zero-padded to whole bytes; None outside the alphabet."""
    if not _a64_ok(s):
        return None
    out = bytearray()
    _put_a64(out, s)
    return bytes(out)


def _put_a64(out: bytearray, s: bytes) -> None:
    """Append the A64 packing of ``s`` (every byte in the alphabet)."""
    idx = _A64_INDEX
    n: i64 = len(s)
    buf = bytearray((6 * n + 7) >> 3)
    acc: i64 = 0
    bits: i64 = 0
    k: i64 = 0
    i: i64 = 0
    while i < n:
        v: i64 = idx[s[i]]
        acc = ((acc & 0xFF) << 6) | v
        bits += 6
        if bits >= 8:
            bits -= 8
            buf[k] = (acc >> bits) & 0xFF
            k += 1
        i += 1
    if bits > 0:
        buf[k] = (acc << (8 - bits)) & 0xFF
    out += buf


def _nib(c: int) -> int:
    if c <= 0x39:
        return c - 0x30
    if c >= 0x61:
        return c - 0x61 + 10
    return c - 0x41 + 10


def _pack_hex(out: bytearray, s: bytes) -> None:
    n = len(s)
    i = 0
    if n & 1:
        out.append(_nib(s[0]))
        i = 1
    while i < n:
        out.append((_nib(s[i]) << 4) | _nib(s[i + 1]))
        i += 2


# -- decoding ------------------------------------------------------------------

def _read_param(buf: bytes, pos: int, p: int) -> tuple[int, int]:
    if p < 7:
        return p, pos
    v, pos = get_uv(buf, pos, "slot.param")
    return v + 7, pos


def decode_atom(buf: bytes, pos: int, out: bytearray, last: bytes | None, json_slot: bool,
                cx: AtomCtx, limit: int, depth: int, prev_kids: list[bytes] | None = None,
                kids_out: list[bytes] | None = None) -> int:
    """Decode one atom at ``buf[pos:]`` appending its bytes to ``out``; return the new pos.

    ``last`` is the slot's previous *raw* value (None when there is none).
    ``json_slot`` allows quoted strings and JSON literals / containers.
    """
    if pos >= len(buf):
        raise PayloadError("truncated payload: slot tag expected", offset=pos, field="slot.tag")
    tag = buf[pos]
    at = pos
    pos += 1
    q = (tag & Q_BIT) != 0
    form = tag & 0x0F
    param, pos = _read_param(buf, pos, (tag >> 4) & 7)
    if q and not json_slot:
        raise PayloadError("quoted value in a text slot", offset=at, field="slot.tag")
    if form == F_SAME and param != 0:
        return _decode_copy(buf, pos, at, out, q, param,
                            content_of(last, json_slot)[0] if last is not None else None, cx, limit)
    if form == F_SAME:
        if q:
            raise PayloadError("SAME with the quote flag", offset=at, field="slot.tag")
        if last is None:
            raise PayloadError("SAME but the slot has no previous value", offset=at, field="slot.tag")
        out += last
        _check(out, limit)
        return pos
    if form == F_LIT and param >= 3:
        seq = cx.rseq - 1 - (param - 3)
        got = cx.recent_by_seq.get(seq)
        if got is None:
            raise PayloadError(f"recent string {param - 3} is not defined", offset=at, field="slot.recent")
        if q:
            out.append(0x22)
        out += got
        if q:
            out.append(0x22)
        _check(out, limit)
        return pos
    if form == F_LIT or form == F_ARR or form == F_OBJ:
        if not json_slot or q:
            raise PayloadError("JSON value form outside a JSON slot", offset=at, field="slot.tag")
        if form == F_LIT:
            if param > 2:
                raise PayloadError(f"unknown literal {param}", offset=at, field="slot.lit")
            out += _LITS[param]
            _check(out, limit)
            return pos
        if depth >= MAX_DEPTH:
            raise LimitError("JSON nesting too deep in a slot", offset=at, field="slot.depth")
        if param > len(buf) - pos:
            raise PayloadError("container count exceeds the payload", offset=at, field="slot.count")
        if form == F_ARR:
            # element i is predicted by element i of the previous sibling array (prev_kids),
            # else by element i-1; an array element's own elements by the previous element's
            out.append(0x5B)
            prev_el: bytes | None = None
            prev_el_kids: list[bytes] | None = None
            for i in range(param):
                if i:
                    out.append(0x2C)
                lv = prev_kids[i] if (prev_kids is not None and i < len(prev_kids)) else prev_el
                is_arr = pos < len(buf) and (buf[pos] & 0x8F) == F_ARR
                my_kids: list[bytes] | None = [] if is_arr else None
                start = len(out)
                pos = decode_atom(buf, pos, out, lv, True, cx, limit, depth + 1, prev_el_kids, my_kids)
                prev_el = bytes(out[start:])
                prev_el_kids = my_kids
                if kids_out is not None:
                    kids_out.append(prev_el)
            out.append(0x5D)
        else:
            out.append(0x7B)
            for i in range(param):
                if i:
                    out.append(0x2C)
                kstart = len(out)
                pos = decode_atom(buf, pos, out, None, True, cx, limit, depth + 1)
                if len(out) - kstart < 2 or out[kstart] != 0x22:
                    raise PayloadError("object key is not a string", offset=pos, field="slot.key")
                out.append(0x3A)
                pos = decode_atom(buf, pos, out, None, True, cx, limit, depth + 1)
            out.append(0x7D)
        _check(out, limit)
        return pos
    lc: bytes | None = None
    if last is not None:
        lc = content_of(last, json_slot)[0]
    if q:
        out.append(0x22)
    if form == F_RAW:
        if param > len(buf) - pos:
            raise PayloadError("raw slot runs past the payload", offset=at, field="slot.raw")
        out += buf[pos:pos + param]
        pos += param
    elif form == F_UINT:
        out += str(param).encode()
    elif form == F_NEG:
        out += b"-" + str(param).encode()
    elif form == F_ZPAD:
        if param > MAX_ZPAD:
            raise PayloadError("zero-padded width too large", offset=at, field="slot.zpad")
        v, pos = get_uv(buf, pos, "slot.zpad")
        s = str(v)
        if len(s) >= param:
            raise PayloadError("zero-padded value has no padding", offset=at, field="slot.zpad")
        out += s.rjust(param, "0").encode()
    elif form == F_DEC:
        if param == 0 or param > 40:
            raise PayloadError("decimal scale out of range", offset=at, field="slot.dec")
        v, pos = get_uv(buf, pos, "slot.dec")
        out += render_decimal(unzz(v), param)
    elif form == F_HEX:
        alpha = _HEXU if param & 1 else _HEXL
        param >>= 1
        nb = (param + 1) >> 1
        if param == 0 or nb > len(buf) - pos:
            raise PayloadError("hex slot runs past the payload", offset=at, field="slot.hex")
        if param & 1:
            b0 = buf[pos]
            if b0 > 15:
                raise PayloadError("hex padding nibble is not zero", offset=pos, field="slot.hex")
            out.append(alpha[b0])
            pos += 1
            nb -= 1
        for i in range(nb):
            b = buf[pos + i]
            out.append(alpha[b >> 4])
            out.append(alpha[b & 15])
        pos += nb
    elif form == F_A64:
        bits = 6 * param
        nb = (bits + 7) >> 3
        if param == 0 or nb > len(buf) - pos:
            raise PayloadError("A64 slot runs past the payload", offset=at, field="slot.a64")
        acc = int.from_bytes(buf[pos:pos + nb], "big")
        pad = nb * 8 - bits
        if acc & ((1 << pad) - 1):
            raise PayloadError("A64 padding bits are not zero", offset=pos, field="slot.a64")
        acc >>= pad
        chars = bytearray(param)
        for i in range(param - 1, -1, -1):
            chars[i] = A64[acc & 63]
            acc >>= 6
        out += chars
        pos += nb
    elif form == F_NUMS:
        if lc is None or param > 1:
            raise PayloadError("NUMS without a previous value or with a bad mode", offset=at, field="slot.nums")
        lg = _groups(lc)
        if lg is None:
            raise PayloadError("NUMS on a previous value without digit groups", offset=at, field="slot.nums")
        gv: list[int] = []
        for j in range(len(lg[1])):
            d, pos = get_uv(buf, pos, "slot.nums")
            v = lg[1][j] + unzz(d) if param == 0 else d
            if v < 0 or v >= 10 ** 18:
                raise PayloadError("NUMS group out of range", offset=pos, field="slot.nums")
            gv.append(v)
        out += _render_groups(lg[0], gv)
    elif form == F_DNUM:
        if lc is None:
            raise PayloadError("delta without a previous value", offset=at, field="slot.dnum")
        ld = parse_decimal(lc)
        if ld is None:
            raise PayloadError("delta on a non-numeric previous value", offset=at, field="slot.dnum")
        out += render_decimal(ld[0] + unzz(param), ld[1])
    elif form == F_DDIG:
        if lc is None:
            raise PayloadError("digit delta without a previous value", offset=at, field="slot.ddig")
        lk = _digit_skeleton(lc)
        if lk is None:
            raise PayloadError("digit delta on a value without digits", offset=at, field="slot.ddig")
        v = lk[1] + unzz(param)
        if v < 0 or v >= 10 ** lk[2]:
            raise PayloadError("digit delta out of range", offset=at, field="slot.ddig")
        out += _render_ddig(lk[0], v, lk[2])
    elif form == F_TABLE:
        if param >= len(cx.strings):
            raise PayloadError(f"string table index {param} out of range", offset=at, field="slot.table")
        out += cx.strings[param]
    elif form == F_PREFIX:
        if lc is None or param > len(lc):
            raise PayloadError("prefix longer than the previous value", offset=at, field="slot.prefix")
        rest, pos = get_uv(buf, pos, "slot.prefix")
        if rest > len(buf) - pos:
            raise PayloadError("prefix slot runs past the payload", offset=at, field="slot.prefix")
        out += lc[:param]
        out += buf[pos:pos + rest]
        pos += rest
    else:
        raise PayloadError(f"reserved slot form {form}", offset=at, field="slot.tag")
    if q:
        out.append(0x22)
    _check(out, limit)
    return pos


def _decode_copy(buf: bytes, pos: int, at: int, out: bytearray, q: bool, count: int, lc: bytes | None,
                 cx: AtomCtx, limit: int) -> int:
    """COPY (spec §4.1.1): ``count`` pieces, each literal bytes or a run copied from K ++ P ++ H ++ out."""
    if count > (len(buf) - pos) // 2:
        raise PayloadError("COPY piece count exceeds the payload", offset=at, field="slot.copy")
    parts = (cx.content, lc if lc is not None else b"", cx.hist)
    fixed = len(parts[0]) + len(parts[1]) + len(parts[2])
    if q:
        out.append(0x22)
    for _ in range(count):
        h, pos = get_uv(buf, pos, "slot.copy")
        n = h >> 1
        if n == 0:
            raise PayloadError("empty COPY piece", offset=pos, field="slot.copy")
        if h & 1 == 0:
            if n > len(buf) - pos:
                raise PayloadError("COPY literal runs past the payload", offset=pos, field="slot.copy")
            out += buf[pos:pos + n]
            pos += n
        else:
            d, pos = get_uv(buf, pos, "slot.copy")
            cur = fixed + len(out)
            if n > d or d > cur:
                raise PayloadError(f"COPY distance {d} out of range (length {n}, {cur} bytes before)",
                                   offset=pos, field="slot.copy")
            src = cur - d
            end = src + n
            base = 0
            for part in parts:
                pl = len(part)
                if src < base + pl and src < end:
                    stop = min(end, base + pl)
                    out += part[src - base:stop - base]
                    src = stop
                base += pl
            if src < end:
                out += out[src - fixed:end - fixed]
        _check(out, limit)
    if q:
        out.append(0x22)
    return pos


def _check(out: bytearray, limit: int) -> None:
    if len(out) > limit:
        raise LimitError(f"decoded message exceeds max_message_size {limit}", field="template.output")
