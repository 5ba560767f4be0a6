"""TEMPLATE payloads: encode a match, decode and render a payload (spec/templates.md §4).

A TEMPLATE payload is ``uvarint template_id`` (with its reference mode) then
the slot values (see :mod:`aura_wire.codec.templates.atoms`).  The decoder
rebuilds the message by interleaving literals and values, so the round trip is
exact by construction.  No I/O.
"""

from __future__ import annotations

from aura_wire.codec.templates.atoms import decode_atom, encode_scalar
from aura_wire.codec.templates.edits import _apply_edits
from aura_wire.codec.templates.forms import (
    F_SAME,
    get_uv,
    put_uv,
)
from aura_wire.codec.templates.json_shape import (
    encode_value,
)
from aura_wire.codec.templates.section import _SP, KIND_JSON, Template
from aura_wire.codec.templates.state import (
    FUZZY_SLACK,
    MRU_SIZE,
    REF_FUZZY,
    REF_LASTMASK,
    REF_MASK,
    REF_PLAIN,
    _Match,
    _predictions,
    _State,
    ref_value,
    same_mask,
)
from aura_wire.codec.varint import uvarint_len
from aura_wire.errors import (
    LimitError,
    PayloadError,
    UnknownTemplateError,
)


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
