"""Fuzzy TEMPLATE payloads (reference mode 3, spec/templates.md §4.3): encoder side.

A message no template matches but one nearly does ("do not" vs "don't") may be
coded as that template's slots plus a byte edit script over its output,
verified by decoding before use; its state update is that of a frame of
another method.  Heuristics only: the decoder follows the payload.
"""

from __future__ import annotations

from typing import Final

from aura_wire.codec.templates.context import REF_FUZZY
from aura_wire.codec.templates.edits import _edit_script
from aura_wire.codec.templates.forms import (
    put_uv,
)
from aura_wire.codec.templates.payload import _slot_code
from aura_wire.codec.templates.render import decode_payload
from aura_wire.codec.templates.section import KIND_TEXT, MAX_TOKENS, Template
from aura_wire.codec.templates.state import (
    MAX_MATCH_BYTES,
    _Match,
    _State,
    ref_value,
)
from aura_wire.errors import (
    AuraError,
)

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


def _fuzzy_text(st: _State, data: bytes, toks: list[bytes], seps: list[int], tid: int, t: Template,
                a: int, b: int) -> bytes | None:
    """A fuzzy payload coding ``data`` as template ``tid`` plus edits, verified by decoding it.

    The template's first ``a`` and last ``b`` tokens fit the message's (see :func:`_align`): its
    slots take their values from those tokens (empty elsewhere), and the edit script turns the
    rendered template into the message.
    """
    d = len(toks) - len(t.toks)
    jmap = _token_map(t, toks, a, b, d)
    rseps = _rendered_seps(t, seps, a, b, d)
    values, rtoks = _slot_values(t, toks, jmap, rseps)
    sc = _slot_code(_Match(tid, t, values, [], rseps), data, st, False)
    if sc is None:
        return None
    rparts, mparts = _edit_sides(toks, seps, rtoks, rseps, a, b)
    _, edits = _edit_script(rparts, mparts)
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
        got = decode_payload(st, payload, len(data)).data
    except AuraError:
        return None
    if got != data:
        return None
    return payload


def _token_map(t: Template, toks: list[bytes], a: int, b: int, d: int) -> list[int]:
    """For each template token, the message token it stands for (-1: none): the aligned start and
    end, and (same token count) every token in between that fits."""
    nt = len(t.toks)
    jmap = [-1] * nt
    for i in range(a):
        jmap[i] = i
    for i in range(nt - b, nt):
        jmap[i] = i + d
    if d == 0:
        for i in range(a, nt - b):
            if _fits(t, i, toks[i]):
                jmap[i] = i
    return jmap


def _rendered_seps(t: Template, seps: list[int], a: int, b: int, d: int) -> list[int]:
    """The separator widths the template renders with: its own fixed ones, else the message's where
    tokens correspond, else one space (none before the first token)."""
    nt = len(t.toks)
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
    return rseps


def _slot_values(t: Template, toks: list[bytes], jmap: list[int],
                 rseps: list[int]) -> tuple[list[bytes], list[bytes]]:
    """The template's slot values (variable separators included) and its rendered tokens."""
    nt = len(t.toks)
    tseps = t.seps
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
    return values, rtoks


def _edit_sides(toks: list[bytes], seps: list[int], rtoks: list[bytes], rseps: list[int], a: int,
                b: int) -> tuple[list[bytes], list[bytes]]:
    """Corresponding parts of the rendered template and of the message for the edit script: token
    by token, or (other token counts) the aligned tokens one by one and the middle as one part."""
    n = len(toks)
    nt = len(rtoks)
    d = n - nt
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
    return rparts, mparts


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
