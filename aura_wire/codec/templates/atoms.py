"""Slot values of the TEMPLATE method: encode one value, decode one atom (spec/templates.md §4).

A slot value is the exact bytes of a text token, or a JSON value (string with
its quotes, number, literal, or a whole container), coded as one tag byte
(see :mod:`aura_wire.codec.templates.forms`) and a few bytes.  The encoder only
picks a form after checking that it renders the original bytes.  Pure
functions on bytes; no I/O, no global state.
"""

from __future__ import annotations

from typing import Final

from librt.strings import BytesWriter
from mypy_extensions import i64

from aura_wire.codec.templates.copy import (
    COPY_INDEX_AFTER,
    COPY_MIN_VALUE,
    COPY_TRY_COST,
    HistIndex,
    _copy_pieces,
    _decode_copy,
)
from aura_wire.codec.templates.forms import (
    _HEXL,
    _HEXU,
    _LITS,
    _P62,
    _U64,
    A64,
    F_A64,
    F_ARR,
    F_DDIG,
    F_DEC,
    F_DNUM,
    F_HEX,
    F_LIT,
    F_NEG,
    F_NUMS,
    F_OBJ,
    F_PREFIX,
    F_RAW,
    F_SAME,
    F_TABLE,
    F_UINT,
    F_ZPAD,
    MAX_DDIG_DIGITS,
    MAX_DEPTH,
    MAX_ZPAD,
    Q_BIT,
    AtomCtx,
    _check,
    _put_tag,
    _read_param,
    _tag_len,
    content_of,
    get_uv,
    int_str,
    put_uv,
    unzz,
    zz,
)
from aura_wire.codec.templates.numbers import (
    _NO_GROUPS,
    _a64_ok,
    _ddig_delta,
    _digits_value,
    _groups,
    _groups_pair,
    _hex_case,
    _pack_hex,
    _parse_dec,
    _put_a64,
    _render_groups,
    parse_decimal,
    render_decimal,
)
from aura_wire.codec.varint import (
    uvarint_len,
)
from aura_wire.errors import LimitError, PayloadError

# -- encoding ------------------------------------------------------------------

class _Choice:
    """The cheapest form found so far for one slot value (encoder only).

    ``form`` and ``param`` make the tag, ``length`` is the coded length (tag included);
    ``value`` is the varint a DEC or ZPAD winner writes after its tag, ``groups`` the digit
    groups of the current and the previous value (interleaved) that a NUMS winner writes.
    A form replaces the choice only when it is strictly shorter: the earliest form offered
    wins a tie, so the order of the ``_offer_*`` calls in :func:`encode_scalar` is part of
    the wire format's determinism.
    """

    __slots__ = ("form", "param", "length", "value", "groups")

    def __init__(self, n: i64) -> None:
        self.form: i64 = F_RAW
        self.param: int = int(n)
        self.length: i64 = _tag_len(int(n)) + n
        self.value: int = 0
        self.groups: list[int] = _NO_GROUPS

    def reset(self, n: i64) -> None:
        """RAW, as a new choice for a value of ``n`` bytes (one choice object per AtomCtx is reused)."""
        self.form = F_RAW
        self.param = int(n)
        self.length = _tag_len(int(n)) + n
        self.value = 0
        self.groups = _NO_GROUPS

    def offer(self, form: i64, param: int, length: i64) -> None:
        if length < self.length:
            self.form = form
            self.param = param
            self.length = length


def encode_scalar(out: bytearray, content: bytes, q: bool, last: bytes | None,
                  atom_ctx: AtomCtx) -> None:
    """Append the smallest form that renders ``content`` (quoted when ``q``).

    ``last`` is the content of the slot's previous value (context mode) or None.
    Forms are compared by their coded length (the earliest wins a tie, in the
    order RAW, TABLE, recent LIT, UINT/NEG/DEC, DNUM, ZPAD, HEX, A64, DDIG,
    NUMS delta, NUMS absolute, PREFIX); only the winner is written, unless a
    COPY of the value is shorter still.
    """
    n: i64 = len(content)
    if n == 0:
        out.append((Q_BIT if q else 0) | F_RAW)
        return
    ch = atom_ctx.choice
    if ch is None:
        ch = _Choice(n)
        atom_ctx.choice = ch
    else:
        ch.reset(n)
    _offer_references(ch, content, atom_ctx)
    numeric = _offer_numbers(ch, content, last, n)
    _offer_packed(ch, content, n)
    if last is not None and ch.length > 2:
        _offer_relative(ch, content, last, n)
    # a number is coded by value (and delta) forms, never COPY (spec §4.1.1, informative)
    if (atom_ctx.msg is not None and n >= COPY_MIN_VALUE and ch.length >= COPY_TRY_COST and not numeric
            and _write_copy(out, content, q, last, atom_ctx, ch.length)):
        return
    _write_choice(out, ch, content, q, n)


def _offer_references(ch: _Choice, content: bytes, atom_ctx: AtomCtx) -> None:
    """TABLE (the dictionary's string table) and LIT with a recent string of the connection."""
    idx = atom_ctx.index.get(content)
    if idx is not None:
        ch.offer(F_TABLE, idx, _tag_len(idx))
    rs = atom_ctx.recent.get(content)
    if rs is not None:
        r = 3 + atom_ctx.rseq - 1 - rs
        ch.offer(F_LIT, r, _tag_len(r))


def _offer_numbers(ch: _Choice, content: bytes, last: bytes | None, n: i64) -> bool:
    """UINT, NEG, DEC and DNUM for a canonical decimal, ZPAD for a zero-padded integer;
    True when ``content`` is a number (of either kind)."""
    c0: i64 = content[0]
    if not ((0x30 <= c0 <= 0x39 or c0 == 0x2D) and n <= 40):
        return False
    m, scale = _parse_dec(content)
    if scale >= 0:
        _offer_decimal(ch, m, scale)
        if last is not None:
            lm, lscale = _parse_dec(last)
            if lscale >= 0 and lscale == scale:
                d = zz(m - lm)
                if d <= _U64:
                    ch.offer(F_DNUM, d, _tag_len(d))
        return True
    if c0 == 0x30 and n <= MAX_ZPAD:
        # zero-padded integer such as "081109" or "007"
        v = _digits_value(content, 0, n)
        if v < 0:
            return False
        if n <= 19:
            clen: i64 = _tag_len(int(n)) + uvarint_len(v)
            if clen < ch.length:
                ch.offer(F_ZPAD, int(n), clen)
                ch.value = v
        return True
    return False


def _offer_decimal(ch: _Choice, m: int, scale: i64) -> None:
    """UINT or NEG for an integer, DEC (mantissa as a zigzag varint) for a fraction."""
    if scale == 0:
        if m >= 0:
            if m <= _U64:
                ch.offer(F_UINT, m, _tag_len(m))
        elif -m <= _U64:
            ch.offer(F_NEG, -m, _tag_len(-m))
    elif -_P62 < m < _P62:
        v = zz(m)
        clen: i64 = _tag_len(int(scale)) + uvarint_len(v)
        if clen < ch.length:
            ch.offer(F_DEC, int(scale), clen)
            ch.value = v


def _offer_packed(ch: _Choice, content: bytes, n: i64) -> None:
    """HEX (two digits a byte) and A64 (6 bits a character), when the choice costs over 4 bytes."""
    if n >= 6 and ch.length > 4:
        hc = _hex_case(content)
        if hc == 1 or hc == 2:
            hp = int(2 * n + (hc - 1))
            ch.offer(F_HEX, hp, _tag_len(hp) + ((n + 1) >> 1))
    if n >= 4 and ch.length > 4 and _a64_ok(content):
        ch.offer(F_A64, int(n), _tag_len(int(n)) + ((6 * n + 7) >> 3))


def _offer_relative(ch: _Choice, content: bytes, last: bytes, n: i64) -> None:
    """The forms relative to the slot's previous value: DDIG, NUMS (delta, then absolute), PREFIX."""
    d2 = _ddig_delta(content, last)
    if 0 <= d2 <= _U64:
        ch.offer(F_DDIG, d2, _tag_len(d2))
    if ch.length > 2:
        gg = _groups_pair(content, last)
        if gg:
            clen: i64 = 1
            clen2: i64 = 1
            for j in range(0, len(gg), 2):
                clen += uvarint_len(zz(gg[j] - gg[j + 1]))
                clen2 += uvarint_len(gg[j])
            ch.offer(F_NUMS, 0, clen)
            ch.offer(F_NUMS, 1, clen2)
            ch.groups = gg
    if ch.length > 3:
        k: i64 = 0
        nl: i64 = len(last)
        lim: i64 = n if n < nl else nl
        while k < lim and content[k] == last[k]:
            k += 1
        if k >= 3:
            rest: i64 = n - k
            ch.offer(F_PREFIX, int(k), _tag_len(int(k)) + uvarint_len(int(rest)) + rest)


def _write_copy(out: bytearray, content: bytes, q: bool, last: bytes | None, atom_ctx: AtomCtx,
                best: i64) -> bool:
    """Append the value as a COPY (spec §4.1.1) when its pieces code shorter than ``best``."""
    msg = atom_ctx.msg
    assert msg is not None
    ref = atom_ctx.ref
    hindex = atom_ctx.hindex
    if ref is None:
        hist = atom_ctx.hist
        ref = hist + msg
        atom_ctx.ref = ref
        if hist:
            # context mode: the history's chains carry over from message to message; made once
            # messages keep trying COPY (COPY_INDEX_AFTER), as it costs state
            if hindex is None:
                atom_ctx.copy_messages += 1
                if atom_ctx.copy_messages >= COPY_INDEX_AFTER:
                    hindex = HistIndex()
                    atom_ctx.hindex = hindex
            if hindex is not None:
                hindex.begin(hist, msg)
    pieces = _copy_pieces(atom_ctx.content, ref, atom_ctx.hlen + atom_ctx.at, content, last, atom_ctx.kindex,
                          atom_ctx.copy_searches, hindex if atom_ctx.hlen > 0 else None)
    if pieces is None:
        return False
    clen: i64 = _tag_len(len(pieces) >> 1)
    for j in range(0, len(pieces), 2):
        h: i64 = pieces[j]
        clen += uvarint_len(h)
        clen += uvarint_len(pieces[j + 1]) if h & 1 else h >> 1
    if clen >= best:
        return False
    _put_tag(out, q, F_SAME, len(pieces) >> 1)
    k: i64 = 0
    for j in range(0, len(pieces), 2):
        h = pieces[j]
        put_uv(out, h)
        if h & 1:
            put_uv(out, pieces[j + 1])
        else:
            out += content[k:k + (h >> 1)]
        k += h >> 1
    return True


def _write_choice(out: bytearray, ch: _Choice, content: bytes, q: bool, n: i64) -> None:
    """Append the chosen form: its tag, then what follows the tag in that form."""
    form = ch.form
    param = ch.param
    _put_tag(out, q, int(form), param)
    if form == F_RAW:
        out += content
    elif form == F_DEC or form == F_ZPAD:
        put_uv(out, ch.value)
    elif form == F_HEX:
        _pack_hex(out, content)
    elif form == F_A64:
        _put_a64(out, content)
    elif form == F_NUMS:
        gg = ch.groups
        if param == 0:
            for j in range(0, len(gg), 2):
                put_uv(out, zz(gg[j] - gg[j + 1]))
        else:
            for j in range(0, len(gg), 2):
                put_uv(out, gg[j])
    elif form == F_PREFIX:
        put_uv(out, int(n) - param)
        out += content[param:]


# -- decoding ------------------------------------------------------------------

#: DDIG values of at most this many digits are decoded in i64 arithmetic (10**18 < 2**63).
_DDIG_I64_DIGITS: Final = 18


def decode_atom(buf: bytes, pos: int, out: bytearray, last: bytes | None, json_slot: bool,
                atom_ctx: AtomCtx, limit: int, depth: int, prev_kids: list[bytes] | None = None,
                kids_out: list[bytes] | None = None) -> int:
    """Decode one atom at ``buf[pos:]`` appending its bytes to ``out``; return the new pos.

    ``last`` is the slot's previous *raw* value (None when there is none).
    ``json_slot`` allows quoted strings and JSON literals / containers.
    ``prev_kids`` and ``kids_out``: see :func:`_decode_array`.
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
    if form == F_SAME:
        if param != 0:
            return _decode_copy(buf, pos, at, out, q, param,
                                content_of(last, json_slot)[0] if last is not None else None, atom_ctx, limit)
        if q:
            raise PayloadError("SAME with the quote flag", offset=at, field="slot.tag")
        if last is None:
            raise PayloadError("SAME but the slot has no previous value", offset=at, field="slot.tag")
        out += last
    elif form == F_LIT and param >= 3:
        _decode_recent(out, at, q, param, atom_ctx)
    elif form == F_LIT or form == F_ARR or form == F_OBJ:
        if not json_slot or q:
            raise PayloadError("JSON value form outside a JSON slot", offset=at, field="slot.tag")
        if form == F_LIT:  # param >= 3 is RECENT (above): 0..2 are null, true, false
            out += _LITS[param]
        else:
            if depth >= MAX_DEPTH:
                raise LimitError("JSON nesting too deep in a slot", offset=at, field="slot.depth")
            if param > len(buf) - pos:
                raise PayloadError("container count exceeds the payload", offset=at, field="slot.count")
            if form == F_ARR:
                pos = _decode_array(buf, pos, out, param, atom_ctx, limit, depth, prev_kids, kids_out)
            else:
                pos = _decode_object(buf, pos, out, param, atom_ctx, limit, depth)
    else:
        last_content: bytes | None = None
        if last is not None and (form == F_NUMS or form == F_DNUM or form == F_DDIG or form == F_PREFIX):
            last_content = content_of(last, json_slot)[0]  # only these forms read it
        if q:
            out.append(0x22)
        pos = _decode_scalar(buf, pos, at, out, form, param, last_content, atom_ctx)
        if q:
            out.append(0x22)
    _check(out, limit)
    return pos


def _decode_recent(out: bytearray, at: int, q: bool, param: int, atom_ctx: AtomCtx) -> None:
    """LIT with ``param >= 3``: the connection's recent string ``param - 3`` back (spec §4.4)."""
    seq = atom_ctx.rseq - 1 - (param - 3)
    got = atom_ctx.recent_by_seq.get(seq)
    if got is None:
        raise PayloadError(f"recent string {param - 3} is not defined", offset=at, field="slot.recent")
    if q:
        out.append(0x22)
    out += got
    if q:
        out.append(0x22)


def _decode_array(buf: bytes, pos: int, out: bytearray, count: int, atom_ctx: AtomCtx, limit: int, depth: int,
                  prev_kids: list[bytes] | None, kids_out: list[bytes] | None) -> int:
    """A JSON array of ``count`` atoms.  Element i is predicted by element i of the previous
    sibling array (``prev_kids``), else by element i-1; an array element's own elements by the
    previous element's.  The elements are appended to ``kids_out`` when given."""
    out.append(0x5B)
    prev_el: bytes | None = None
    prev_el_kids: list[bytes] | None = None
    for i in range(count):
        if i:
            out.append(0x2C)
        lv = prev_kids[i] if (prev_kids is not None and i < len(prev_kids)) else prev_el
        is_arr = pos < len(buf) and (buf[pos] & 0x8F) == F_ARR
        my_kids: list[bytes] | None = [] if is_arr else None
        start = len(out)
        pos = decode_atom(buf, pos, out, lv, True, atom_ctx, limit, depth + 1, prev_el_kids, my_kids)
        prev_el = bytes(out[start:])
        prev_el_kids = my_kids
        if kids_out is not None:
            kids_out.append(prev_el)
    out.append(0x5D)
    return pos


def _decode_object(buf: bytes, pos: int, out: bytearray, count: int, atom_ctx: AtomCtx, limit: int,
                   depth: int) -> int:
    """A JSON object of ``count`` members, each a string atom (the key) and an atom (the value)."""
    out.append(0x7B)
    for i in range(count):
        if i:
            out.append(0x2C)
        kstart = len(out)
        pos = decode_atom(buf, pos, out, None, True, atom_ctx, limit, depth + 1)
        if len(out) - kstart < 2 or out[kstart] != 0x22:
            raise PayloadError("object key is not a string", offset=pos, field="slot.key")
        out.append(0x3A)
        pos = decode_atom(buf, pos, out, None, True, atom_ctx, limit, depth + 1)
    out.append(0x7D)
    return pos


def _decode_scalar(buf: bytes, pos: int, at: int, out: bytearray, form: int, param: int,
                   last_content: bytes | None, atom_ctx: AtomCtx) -> int:
    """The forms that render a value's content (its quotes are the caller's): append it, return the
    new pos.  ``last_content`` is the content of the slot's previous value, ``at`` the tag's offset."""
    if form == F_RAW:
        if param > len(buf) - pos:
            raise PayloadError("raw slot runs past the payload", offset=at, field="slot.raw")
        out += buf[pos:pos + param]
        return pos + param
    if form == F_UINT:
        out += int_str(param).encode()
        return pos
    if form == F_NEG:
        out += b"-" + int_str(param).encode()
        return pos
    if form == F_ZPAD:
        return _decode_zpad(buf, pos, at, out, param)
    if form == F_DEC:
        if param == 0 or param > 40:
            raise PayloadError("decimal scale out of range", offset=at, field="slot.dec")
        v, pos = get_uv(buf, pos, "slot.dec")
        out += render_decimal(unzz(v), param)
        return pos
    if form == F_HEX:
        return _decode_hex(buf, pos, at, out, param)
    if form == F_A64:
        return _decode_a64(buf, pos, at, out, param)
    if form == F_NUMS:
        return _decode_nums(buf, pos, at, out, param, last_content)
    if form == F_DNUM:
        _decode_dnum(at, out, param, last_content)
        return pos
    if form == F_DDIG:
        _decode_ddig(at, out, param, last_content)
        return pos
    if form == F_TABLE:
        if param >= len(atom_ctx.strings):
            raise PayloadError(f"string table index {param} out of range", offset=at, field="slot.table")
        out += atom_ctx.strings[param]
        return pos
    if form == F_PREFIX:
        return _decode_prefix(buf, pos, at, out, param, last_content)
    raise PayloadError(f"reserved slot form {form}", offset=at, field="slot.tag")


def _decode_zpad(buf: bytes, pos: int, at: int, out: bytearray, width: int) -> int:
    if width > MAX_ZPAD:
        raise PayloadError("zero-padded width too large", offset=at, field="slot.zpad")
    v, pos = get_uv(buf, pos, "slot.zpad")
    s = int_str(v)
    if len(s) >= width:
        raise PayloadError("zero-padded value has no padding", offset=at, field="slot.zpad")
    out += s.rjust(width, "0").encode()
    return pos


def _decode_hex(buf: bytes, pos: int, at: int, out: bytearray, param: int) -> int:
    """``param``: the digit count times two, plus 1 for uppercase; an odd count has a zero high nibble."""
    alpha = _HEXU if param & 1 else _HEXL
    ndigits = param >> 1
    nb = (ndigits + 1) >> 1
    if ndigits == 0 or nb > len(buf) - pos:
        raise PayloadError("hex slot runs past the payload", offset=at, field="slot.hex")
    if ndigits & 1:
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
    return pos + nb


def _decode_a64(buf: bytes, pos: int, at: int, out: bytearray, nchars: int) -> int:
    bits = 6 * nchars
    nb = (bits + 7) >> 3
    if nchars == 0 or nb > len(buf) - pos:
        raise PayloadError("A64 slot runs past the payload", offset=at, field="slot.a64")
    acc = int.from_bytes(buf[pos:pos + nb], "big")
    pad = nb * 8 - bits
    if acc & ((1 << pad) - 1):
        raise PayloadError("A64 padding bits are not zero", offset=pos, field="slot.a64")
    acc >>= pad
    chars = bytearray(nchars)
    for i in range(nchars - 1, -1, -1):
        chars[i] = A64[acc & 63]
        acc >>= 6
    out += chars
    return pos + nb


def _decode_nums(buf: bytes, pos: int, at: int, out: bytearray, mode: int, last_content: bytes | None) -> int:
    """The previous value's digit groups replaced: by delta (``mode`` 0) or by value (1)."""
    if last_content is None or mode > 1:
        raise PayloadError("NUMS without a previous value or with a bad mode", offset=at, field="slot.nums")
    lg = _groups(last_content)
    if lg is None:
        raise PayloadError("NUMS on a previous value without digit groups", offset=at, field="slot.nums")
    gv: list[int] = []
    for j in range(len(lg[1])):
        d, pos = get_uv(buf, pos, "slot.nums")
        v = lg[1][j] + unzz(d) if mode == 0 else d
        if v < 0 or v >= 10 ** 18:
            raise PayloadError("NUMS group out of range", offset=pos, field="slot.nums")
        gv.append(v)
    out += _render_groups(lg[0], gv)
    return pos


def _decode_dnum(at: int, out: bytearray, delta: int, last_content: bytes | None) -> None:
    if last_content is None:
        raise PayloadError("delta without a previous value", offset=at, field="slot.dnum")
    ld = parse_decimal(last_content)
    if ld is None:
        raise PayloadError("delta on a non-numeric previous value", offset=at, field="slot.dnum")
    out += render_decimal(ld[0] + unzz(delta), ld[1])


def _decode_ddig(at: int, out: bytearray, delta: int, last_content: bytes | None) -> None:
    """``last_content``'s digits read as one integer, plus the delta, written back zero-padded
    into the same positions (spec §4.2, DDIG); its other bytes are kept, whatever they are."""
    if last_content is None:
        raise PayloadError("digit delta without a previous value", offset=at, field="slot.ddig")
    n: i64 = len(last_content)
    nd: i64 = 0
    value: i64 = 0
    top: i64 = 1  # 10 ** (nd - 1) while nd <= _DDIG_I64_DIGITS
    if n <= 64:
        i: i64 = 0
        while i < n:
            c: i64 = last_content[i]
            if 0x30 <= c <= 0x39:
                if nd < _DDIG_I64_DIGITS:
                    value = value * 10 + (c - 0x30)
                    if nd > 0:
                        top = top * 10
                nd += 1
            i += 1
    if nd == 0 or nd > MAX_DDIG_DIGITS:
        raise PayloadError("digit delta on a value without digits", offset=at, field="slot.ddig")
    if nd <= _DDIG_I64_DIGITS:
        v = int(value) + unzz(delta)  # int: the delta may be any 64-bit value
        if v < 0 or v >= int(top) * 10:
            raise PayloadError("digit delta out of range", offset=at, field="slot.ddig")
        # i64 digits, most significant first, into the digit positions (BytesWriter: no boxing)
        w: i64 = i64(v)
        buf = BytesWriter()
        k: i64 = 0
        while k < n:
            c2: i64 = last_content[k]
            if 0x30 <= c2 <= 0x39:
                buf.append(0x30 + (w // top) % 10)
                top = top // 10
            else:
                buf.append(c2)
            k += 1
        out += buf.getvalue()
        return
    big = int(bytes([c3 for c3 in last_content if 0x30 <= c3 <= 0x39])) + unzz(delta)
    if big < 0 or big >= 10 ** nd:
        raise PayloadError("digit delta out of range", offset=at, field="slot.ddig")
    ds = int_str(big).rjust(nd, "0").encode()
    j: i64 = 0
    for c4 in last_content:
        if 0x30 <= c4 <= 0x39:
            out.append(ds[j])
            j += 1
        else:
            out.append(c4)


def _decode_prefix(buf: bytes, pos: int, at: int, out: bytearray, keep: int, last_content: bytes | None) -> int:
    """The previous value's first ``keep`` bytes, then a length and that many new bytes."""
    if last_content is None or keep > len(last_content):
        raise PayloadError("prefix longer than the previous value", offset=at, field="slot.prefix")
    rest, pos = get_uv(buf, pos, "slot.prefix")
    if rest > len(buf) - pos:
        raise PayloadError("prefix slot runs past the payload", offset=at, field="slot.prefix")
    out += last_content[:keep]
    out += buf[pos:pos + rest]
    return pos + rest
