"""TEMPLATE payloads, the encoder's half: code a match as a payload (spec/templates.md §4).

A TEMPLATE payload is ``uvarint template_id`` (with its reference mode) then
the slot values (see :mod:`aura_wire.codec.templates.atoms`).  The decoder's
half is :mod:`aura_wire.codec.templates.render`.  No I/O.
"""

from __future__ import annotations

from aura_wire.codec.templates.atoms import encode_scalar
from aura_wire.codec.templates.context import (
    REF_LASTMASK,
    REF_MASK,
    REF_PLAIN,
    predictions,
    same_mask,
)
from aura_wire.codec.templates.forms import F_SAME, put_uv
from aura_wire.codec.templates.json_shape import encode_value
from aura_wire.codec.templates.section import KIND_JSON
from aura_wire.codec.templates.state import _Match, _State, ref_value
from aura_wire.codec.varint import uvarint_len


def _slot_code(m: _Match, data: bytes, st: _State, copy: bool = True) -> tuple[int, bytes] | None:
    """The mask mode and what follows the reference (mask field, then the slots).

    Codes the slots both without a mask and with the mask of the slots equal to
    their prediction (mode 1, or mode 2 when that equals the last mask) and
    keeps the smaller (spec §4).  A slot's coding does not depend on the mask,
    so the slots are coded once and the masked body is the plain body without
    the masked slots.
    """
    n = len(m.values)
    preds = predictions(st, m.tid, m.tmpl, m.values[0]) if n else None
    starts: list[int] = []
    plain = _encode_body(m, data, st, preds, starts, copy)
    if plain is None:
        return None
    mask = same_mask(preds, m.values)
    # the state update after this message needs the same mask (spec §5): keep it for commit
    st.trial_match = m
    st.trial_mask = mask
    # the coded size of slots 0 and 1 (TemplateEncoder.state_bonus)
    st.trial_c0 = starts[1] - starts[0] if n > 0 else 0
    st.trial_c1 = starts[2] - starts[1] if n > 1 else 0
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


def trial_size(m: _Match, data: bytes, st: _State) -> int:
    """The payload size of ``m`` (the encoder's DEFINE gate), leaving the trial caches alone; a
    large number when the template cannot code ``data``."""
    saved = (st.trial_match, st.trial_mask, st.trial_c0, st.trial_c1)
    try:
        sc = _slot_code(m, data, st)
    finally:
        st.trial_match, st.trial_mask, st.trial_c0, st.trial_c1 = saved
    return 1 << 30 if sc is None else 1 + len(sc[1])


def _encode_body(m: _Match, data: bytes, st: _State, preds: list[bytes | None] | None,
                 starts: list[int], copy: bool = True) -> bytearray | None:
    """The slots coded without a mask; ``starts`` receives each slot's offset, then the end.

    With ``copy`` values may be COPY atoms over the history and ``data`` (the message the
    payload renders; a fuzzy payload renders something else and passes False).
    """
    out = bytearray()
    t = m.tmpl
    values = m.values
    atom_ctx = st.atom_ctx
    atom_ctx.msg = data if copy else None
    atom_ctx.ref = None  # hist + data, built when a value first tries COPY
    atom_ctx.hlen = atom_ctx.hist_len()
    try:
        if t.kind == KIND_JSON:
            nodes = m.nodes
            for i in range(len(values)):
                starts.append(len(out))
                v = values[i]
                lv = preds[i] if preds is not None else None
                if lv is not None and v == lv:
                    out.append(F_SAME)
                elif not encode_value(out, data, nodes[i], lv, atom_ctx):
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
                    atom_ctx.at = off
                    encode_scalar(out, v, False, lv, atom_ctx)
                off += len(v) + len(t.suf[i])
                k += 1
            else:
                off += len(t.toks[i])
        starts.append(len(out))
        return out
    finally:
        atom_ctx.msg = None
        atom_ctx.ref = None
