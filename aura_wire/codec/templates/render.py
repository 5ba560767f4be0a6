"""Decoding TEMPLATE payloads: resolve the reference, render the slots (spec/templates.md §4).

The decoder's half of the TEMPLATE method.  It reads the template state
(:class:`~aura_wire.codec.templates.context.TemplateState`) and never writes it:
the caller commits the result with :meth:`TemplateState.update`.  No matching,
no learning, no I/O.
"""

from __future__ import annotations

from typing import Any, Final

from aura_wire.codec.brio import speedups as _speedups
from aura_wire.codec.templates.atoms import decode_atom
from aura_wire.codec.templates.context import (
    FUZZY_SLACK,
    LAST_BUDGET_BYTES,
    MRU_SIZE,
    REF_FUZZY,
    REF_MASK,
    REF_PLAIN,
    Instruction,
    TemplateState,
    parse_instructions,
    predictions,
    same_mask,
)
from aura_wire.codec.templates.edits import _apply_edits
from aura_wire.codec.templates.forms import get_uv
from aura_wire.codec.templates.section import _SP, KIND_JSON, Template, TemplateSet
from aura_wire.errors import (
    LimitError,
    PayloadError,
    UnknownTemplateError,
)


#: Separators of up to 15 spaces, made once (a text template's separators are mostly one space).
_SPACES: Final[list[bytes]] = [b" " * n for n in range(16)]


class Decoded:
    """A decoded payload: the message and, for an exact payload, what the state update needs
    (``tid`` is -1 for a fuzzy payload, which changes no state).  A plain class, not a NamedTuple:
    one is made per template frame, and a NamedTuple is built by interpreted code."""

    def __init__(self, data: bytes, tid: int, template: Template | None, values: list[bytes], mask: int) -> None:
        self.data = data
        self.tid = tid
        self.template = template
        self.values = values
        self.mask = mask


def _resolve_ref(st: TemplateState, r: int) -> tuple[int, Template]:
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


def decode_payload(st: TemplateState, buf: bytes, max_size: int, hist: bytes | bytearray | None = None) -> Decoded:
    """Decode one TEMPLATE payload against the state, without changing it (spec §4).

    ``hist``: COPY's message history H (spec §4.1.1), read where it is by the C render (a decoder's
    BRIO history); None when the caller has set ``st.atom_ctx.hist`` itself (the encoder).

    For an exact payload the result carries the template, its slot values and the mask of
    slots equal to their prediction before this message (spec §5.1 step 1); a fuzzy payload
    (mode 3, spec §4.3) changes no state.
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
    if not nedits:
        rc = _speedups._render
        if rc is not None:
            fast = _render_fast(rc, st, buf, pos, tid, t, mask, max_size, st.atom_ctx.hist if hist is None else hist)
            if fast is not None:
                data = fast[0]
                _check_end(len(data), max_size, fast[3], buf)
                return Decoded(data, tid, t, fast[1], fast[2] if st.context else 0)
    if hist is None:
        return _decode_python(st, buf, pos, tid, t, mask, nedits, max_size)
    st.atom_ctx.hist = bytes(hist)  # COPY on the Python path reads the history as bytes
    try:
        return _decode_python(st, buf, pos, tid, t, mask, nedits, max_size)
    finally:
        st.atom_ctx.hist = b""  # the decoder's history: no second copy once it commits the message


def _decode_python(st: TemplateState, buf: bytes, pos: int, tid: int, t: Template, mask: int, nedits: int,
                   max_size: int) -> Decoded:
    """The payload after its reference and mask, on the Python path (see :func:`decode_payload`)."""
    limit = max_size + FUZZY_SLACK if nedits else max_size
    out, values, preds, pos = _render(st, buf, pos, tid, t, mask, limit)
    if nedits:
        out, pos = _apply_edits(buf, pos, out, nedits, max_size)
    _check_end(len(out), max_size, pos, buf)
    data = bytes(out)
    if nedits:
        return Decoded(data, -1, None, [], 0)
    # spec §5.1 step 1: ``preds`` are the predictions given the first slot's value (a JSON
    # template's one slot, or a text template: the same as without it, see _render)
    eq = same_mask(preds, values) if st.context else 0
    return Decoded(data, tid, t, values, eq)


def _check_end(n: int, max_size: int, pos: int, buf: bytes) -> None:
    if n > max_size:
        raise LimitError(f"decoded message exceeds max_message_size {max_size}", field="template.output")
    if pos != len(buf):
        raise PayloadError("trailing bytes after the last slot", offset=pos, field="template")


def _render_fast(rc: Any, st: TemplateState, buf: bytes, pos: int, tid: int, t: Template, mask: int,
                 limit: int, hist: bytes | bytearray) -> tuple[bytes, list[bytes], int, int] | None:
    """The C render (templates/_render.c, through brio/speedups.py): (message, slot values, mask of
    the slots equal to their prediction, pos), or None for the payloads it leaves to :func:`_render`
    (rare forms, and every malformed payload: the Python path raises the error)."""
    ctx = st.atom_ctx
    if t.kind == KIND_JSON:
        r = rc.render_json(buf, pos, t.gaps, t.consts if t.consts else None, mask, limit, st.lasts_for(tid),
                           st.lasts if st.context else None, tid, ctx.recent_by_seq, ctx.rseq, ctx.strings,
                           ctx.content, hist)
    else:
        r = rc.render_text(buf, pos, t.toks, t.seps, mask, limit, predictions(st, tid, t, None), t.slot, t.pre,
                           t.suf, ctx.recent_by_seq, ctx.rseq, ctx.strings, _SPACES, ctx.content, hist)
    if r is None:
        return None
    return r[0], r[1], r[2], r[3]


def _render(st: TemplateState, buf: bytes, pos: int, tid: int, t: Template, mask: int,
            limit: int) -> tuple[bytearray, list[bytes], list[bytes | None] | None, int]:
    """Interleave the template's literals and the slot values coded at ``buf[pos:]`` (spec §4);
    also return the slot predictions, those given the first slot's value from slot 1 on."""
    preds = predictions(st, tid, t, None)
    if t.kind == KIND_JSON:
        return _render_json(st, buf, pos, tid, t, mask, limit, preds)
    return _render_text(st, buf, pos, t, mask, limit, preds)


def _render_json(st: TemplateState, buf: bytes, pos: int, tid: int, t: Template, mask: int, limit: int,
                 preds: list[bytes | None] | None,
                 ) -> tuple[bytearray, list[bytes], list[bytes | None] | None, int]:
    out = bytearray()
    values: list[bytes] = []
    k = 0
    gaps = t.gaps
    consts = t.consts
    for i in range(len(gaps) - 1):
        out += gaps[i]
        c = consts.get(i) if consts else None
        if c is not None:
            out += c
            continue
        if k == 1:
            preds = predictions(st, tid, t, values[0])
        lv = preds[k] if preds is not None else None
        if (mask >> k) & 1:
            if lv is None:
                raise PayloadError("masked slot has no previous value", offset=pos, field="template.mask")
            out += lv
            values.append(lv)  # the value itself: no copy out of ``out``
        else:
            start = len(out)
            pos = decode_atom(buf, pos, out, lv, True, st.atom_ctx, limit, 0)
            values.append(bytes(out[start:]))
        k += 1
    out += gaps[-1]
    return out, values, preds, pos


def _render_text(st: TemplateState, buf: bytes, pos: int, t: Template, mask: int, limit: int,
                 preds: list[bytes | None] | None,
                 ) -> tuple[bytearray, list[bytes], list[bytes | None] | None, int]:
    out = bytearray()
    values: list[bytes] = []
    k = 0
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
            sp = _SPACES[s] if s < len(_SPACES) else b" " * s
            values.append(sp)
            k += 1
            out += sp
        elif s:
            out += _SPACES[s] if s < len(_SPACES) else b" " * s
        if i == n:
            break
        if t.slot[i]:
            pre = t.pre[i]
            if pre:  # mostly empty: a whole token is the slot (an in-place add is a generic call)
                out += pre
            lv = preds[k] if preds is not None else None
            if (mask >> k) & 1:
                if lv is None:
                    raise PayloadError("masked slot has no previous value", offset=pos,
                                       field="template.mask")
                out += lv
                v = lv
            else:
                start = len(out)
                pos = decode_atom(buf, pos, out, lv, False, st.atom_ctx, limit, 0)
                v = bytes(out[start:])
            if _SP in v:
                raise PayloadError("text slot value contains a space", offset=pos, field="template.slot")
            values.append(v)
            suf = t.suf[i]
            if suf:
                out += suf
            k += 1
        else:
            out += t.toks[i]
    return out, values, preds, pos


class TemplateDecoder:
    """Decodes TEMPLATE payloads and keeps the template state the frames describe."""

    def __init__(self, templates: TemplateSet | None, *, context: bool,
                 max_runtime_templates: int = 64, max_runtime_bytes: int = 4096,
                 max_state_bytes: int = LAST_BUDGET_BYTES, content: bytes = b"") -> None:
        self._state = TemplateState(templates, context, max_runtime_templates, max_runtime_bytes, max_state_bytes)
        self._state.atom_ctx.content = bytes(content) if templates is not None else b""

    def decode_payload(self, payload: bytes, max_size: int, hist: bytes | bytearray = b"") -> Decoded:
        """Rebuild the message; nothing is committed (see :meth:`commit`).

        ``hist``: the direction's message history before this message (spec §4.1.1).
        """
        st = self._state
        return decode_payload(st, bytes(payload), max_size, hist if st.context else b"")

    def decode(self, payload: bytes, text: bool, max_size: int, hist: bytes | bytearray = b"",
               instructions: bytes = b"") -> bytes:
        """Decode one payload and commit it at once, then apply the ``instructions`` block sent with
        it (payload-level use: tests, tools; see :meth:`follow`)."""
        got = self.decode_payload(payload, max_size, hist)
        self.commit(got)
        self.follow(instructions, got.data)
        return got.data

    def follow(self, block: bytes, data: bytes) -> None:
        """Apply an instruction block (``count`` then the instructions, as in a STATE frame) sent
        with message ``data``; b"" for none (spec/wire-format.md §4.7)."""
        if block:
            self.apply(parse_instructions(block, 0)[0], data)

    def commit(self, got: Decoded) -> None:
        """Context mode: the update after an exact payload (spec/templates.md §5.1)."""
        if self._state.context and got.template is not None:
            self._state.update(got.tid, got.template, got.values, got.mask)

    def apply(self, instructions: list[Instruction], data: bytes) -> None:
        """Context mode: a STATE frame's instructions, after its message ``data`` (spec §5.5)."""
        self._state.apply(instructions, data)

    def memory_bytes(self) -> int:
        return self._state.memory_bytes()
