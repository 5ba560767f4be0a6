"""Slot values of the TEMPLATE method: encode one value, decode one atom (spec/templates.md §4).

A slot value is the exact bytes of a text token, or a JSON value (string with
its quotes, number, literal, or a whole container), coded as one tag byte
(see :mod:`aura_wire.codec.templates.forms`) and a few bytes.  The encoder only
picks a form after checking that it renders the original bytes.  Pure
functions on bytes; no I/O, no global state.
"""

from __future__ import annotations

from mypy_extensions import i64

from aura_wire.codec.templates.copy import (
    COPY_MIN_VALUE,
    COPY_TRY_COST,
    _copy_pieces,
    _decode_copy,
)
from aura_wire.codec.templates.forms import (
    _HEXL,
    _HEXU,
    _LITS,
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
    put_uv,
    unzz,
    zz,
)
from aura_wire.codec.templates.numbers import (
    _NO_GROUPS,
    _P62,
    _a64_ok,
    _ddig_delta,
    _digit_skeleton,
    _digits_value,
    _groups,
    _groups_pair,
    _hex_case,
    _pack_hex,
    _parse_dec,
    _put_a64,
    _render_ddig,
    _render_groups,
    parse_decimal,
    render_decimal,
)
from aura_wire.codec.varint import (
    uvarint_len,
)
from aura_wire.errors import LimitError, PayloadError

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
        pieces = _copy_pieces(cx.content, ref, cx.hlen + cx.at, content, last, cx.kindex, cx.copy_searches)
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
