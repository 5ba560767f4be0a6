"""The per-direction template state a decoder keeps, and the STATE instructions that change it.

spec/templates.md §5 and spec/wire-format.md §4.7.  A decoder follows instructions: the
state changes only after an exact TEMPLATE payload (from the template and slot values the
payload itself names: :meth:`TemplateState.update`) and by EVICT / DEFINE instructions
(:meth:`TemplateState.apply`).  Nothing here matches a message against templates or learns
one; that is the encoder's business (:mod:`aura_wire.codec.templates.state`).  No I/O.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from aura_wire.codec.brio import speedups as _speedups
from aura_wire.codec.templates.forms import (
    MAX_LAST,
    RECENT_BYTES,
    RECENT_MAX,
    RECENT_MAX_LEN,
    RECENT_MIN_LEN,
    AtomCtx,
    put_uv,
)
from aura_wire.codec.templates.section import (
    _EMPTY_SET,
    KIND_JSON,
    KIND_TEXT,
    MAX_TOKENS,
    Template,
    TemplateSet,
    rule_desc,
)
from aura_wire.codec.varint import decode_uvarint
from aura_wire.errors import FrameError, LimitError, PayloadError

#: Budget for the per-connection "previous slot values" (bytes, templates): spec §5.6.  The bytes are
#: the default of the negotiated template state budget (``CodecConfig.template_state_bytes``).
LAST_BUDGET_BYTES: Final = 6144
LAST_BUDGET_TEMPLATES: Final = 128
#: Text slots 0..PREV_TEXT_SLOTS-1 (usually the date and time) are predicted from the previous
#: text message, whatever its template; the others from the template's last message.
PREV_TEXT_SLOTS: Final = 2
#: Recently used template ids addressable by rank in context mode.
MRU_SIZE: Final = 8
MAX_MASKS: Final = 256

REF_PLAIN: Final = 0
REF_MASK: Final = 1
REF_LASTMASK: Final = 2
#: Reference mode 3: a fuzzy payload, the template plus an edit script (spec §4.3).
REF_FUZZY: Final = 3
#: A fuzzy payload's rendered template may exceed ``max_size`` by this much (spec §4.3).
FUZZY_SLACK: Final = 4096

#: STATE instruction opcodes (spec/wire-format.md §4.7).
OP_EVICT: Final = 0
OP_DEFINE_JSON: Final = 1
OP_DEFINE_TEXT: Final = 2
#: DEFINE_TEXT by the fixed rule of section.rule_desc, with some tokens' descriptors overridden.
OP_DEFINE_TEXT_RULE: Final = 3
#: Most instructions in one STATE frame.
MAX_INSTRUCTIONS: Final = 16
_SP: Final = 0x20

#: The C module's update (brio/speedups.py switches it) was written for these bounds.
_C_UPDATE: Final = _speedups._render_module is not None and all(
    getattr(_speedups._render_module, name, None) == value
    for name, value in (("MAX_MASKS", MAX_MASKS), ("MRU_SIZE", MRU_SIZE), ("LAST_BUDGET_TEMPLATES", LAST_BUDGET_TEMPLATES),
                        ("PREV_TEXT_SLOTS", PREV_TEXT_SLOTS), ("MAX_LAST", MAX_LAST), ("RECENT_MIN_LEN", RECENT_MIN_LEN),
                        ("RECENT_MAX_LEN", RECENT_MAX_LEN), ("RECENT_MAX", RECENT_MAX), ("RECENT_BYTES", RECENT_BYTES)))


class Instruction(NamedTuple):
    """One parsed STATE instruction; ``args`` are its integers after ``k``, as on the wire."""

    op: int
    k: int
    args: list[int]


def parse_instructions(buf: bytes, pos: int) -> tuple[list[Instruction], int]:
    """Parse ``count`` and the instructions at ``buf[pos:]`` (syntax only: FrameError)."""
    count, pos = _frame_uv(buf, pos, "state.count")
    if count == 0 or count > MAX_INSTRUCTIONS:
        raise FrameError(f"STATE instruction count {count} outside 1..{MAX_INSTRUCTIONS}", offset=pos,
                         field="state.count")
    out: list[Instruction] = []
    for _ in range(count):
        if pos >= len(buf):
            raise FrameError("truncated STATE instruction", offset=pos, field="state.op")
        op = buf[pos]
        pos += 1
        k, pos = _frame_uv(buf, pos, "state.k")
        args: list[int] = []
        if op == OP_EVICT:
            pass
        elif op == OP_DEFINE_JSON:
            nholes, pos = _frame_uv(buf, pos, "state.holes")
            if nholes > (len(buf) - pos) // 2:
                raise FrameError("STATE hole count exceeds the frame", offset=pos, field="state.holes")
            args.append(nholes)
            for _ in range(2 * nholes):
                v, pos = _frame_uv(buf, pos, "state.hole")
                args.append(v)
        elif op == OP_DEFINE_TEXT_RULE:
            nover, pos = _frame_uv(buf, pos, "state.overrides")
            if nover > MAX_TOKENS:
                raise FrameError(f"STATE override count {nover} above {MAX_TOKENS}", offset=pos,
                                 field="state.overrides")
            args.append(nover)
            for _ in range(nover):
                v, pos = _frame_uv(buf, pos, "state.skip")
                args.append(v)
                pos = _parse_tokdesc(buf, pos, args)
            pos = _parse_seps(buf, pos, args, MAX_TOKENS + 1)
        elif op == OP_DEFINE_TEXT:
            # token descriptors run until the separator list; their count is the message's
            # token count, known only after decoding: keep the raw integers, split in apply()
            ntok, pos = _frame_uv(buf, pos, "state.tokens")
            if ntok == 0 or ntok > MAX_TOKENS:
                raise FrameError(f"STATE token count {ntok} outside 1..{MAX_TOKENS}", offset=pos,
                                 field="state.tokens")
            args.append(ntok)
            for _ in range(ntok):
                pos = _parse_tokdesc(buf, pos, args)
            pos = _parse_seps(buf, pos, args, ntok + 1)
        else:
            raise FrameError(f"unknown STATE instruction {op}", offset=pos - 1, field="state.op")
        out.append(Instruction(op, k, args))
    return out, pos


def _parse_tokdesc(buf: bytes, pos: int, args: list[int]) -> int:
    """One tokdesc of a text DEFINE: ``0`` (literal) or ``d slen`` (slot), appended to ``args``."""
    d, pos = _frame_uv(buf, pos, "state.token")
    args.append(d)
    if d:
        s, pos = _frame_uv(buf, pos, "state.suffix")
        args.append(s)
    return pos


def _parse_seps(buf: bytes, pos: int, args: list[int], most: int) -> int:
    """``nvar`` (at most ``most``) and the variable separator indices of a text DEFINE."""
    nvar, pos = _frame_uv(buf, pos, "state.seps")
    if nvar > most:
        raise FrameError("more variable separators than separators", offset=pos, field="state.seps")
    args.append(nvar)
    for _ in range(nvar):
        v, pos = _frame_uv(buf, pos, "state.sep")
        args.append(v)
    return pos


def _frame_uv(buf: bytes, pos: int, field: str) -> tuple[int, int]:
    return decode_uvarint(buf, pos, field)  # a bad varint here is a frame error (spec §2)


def tokens_of(m: bytes) -> tuple[list[bytes], list[int]]:
    """Split ``m`` into its tokens (maximal runs of non-space bytes) and separator lengths."""
    toks: list[bytes] = []
    seps: list[int] = []
    n = len(m)
    i = 0
    while True:
        j = i
        while j < n and m[j] == _SP:
            j += 1
        seps.append(j - i)
        if j >= n:
            break
        k = j + 1
        while k < n and m[k] != _SP:
            k += 1
        toks.append(m[j:k])
        i = k
    return toks, seps


def build_json(m: bytes, args: list[int]) -> Template:
    """DEFINE_JSON (spec/templates.md §5.5): ``m`` with the listed byte ranges cut out as slots."""
    nholes = args[0]
    if nholes > len(m):
        raise PayloadError("DEFINE_JSON has more holes than the message has bytes", field="state.holes")
    gaps: list[bytes] = []
    at = 0
    for i in range(nholes):
        skip = args[1 + 2 * i]
        ln = args[2 + 2 * i]
        start = at + skip
        if ln < 1 or start > len(m) or ln > len(m) - start:
            raise PayloadError(f"DEFINE_JSON hole {i} runs past the message", field="state.hole")
        gaps.append(m[at:start])
        at = start + ln
    gaps.append(m[at:])
    return Template.json(0, gaps, {})


def hole_values(m: bytes, args: list[int]) -> list[bytes]:
    """The slot values of a DEFINE_JSON's message ``m``: its holes' bytes, in order (``args``
    as :func:`build_json` checked them)."""
    out: list[bytes] = []
    at = 0
    for i in range(args[0]):
        start = at + args[1 + 2 * i]
        at = start + args[2 + 2 * i]
        out.append(m[start:at])
    return out


def text_values(t: Template, toks: list[bytes], seps: list[int]) -> list[bytes]:
    """The slot values (spec/templates.md §2.2) of a message of tokens ``toks`` and separator runs
    ``seps`` that text template ``t`` matches: each variable separator's run of spaces and each
    slot token without its affixes, in message order."""
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
    return values


def build_text(m: bytes, args: list[int]) -> Template:
    """DEFINE_TEXT (spec/templates.md §5.5): ``m``'s tokens, each literal or an affixed slot."""
    toks, seps = tokens_of(m)
    return _text_template(toks, seps, args)


def build_text_rule(m: bytes, args: list[int]) -> Template:
    """DEFINE_TEXT_RULE (spec/templates.md §5.5): DEFINE_TEXT with each token's descriptor given
    by the fixed rule (section.rule_desc), except the overridden ones."""
    toks, seps = tokens_of(m)
    ntok = len(toks)
    if ntok == 0 or ntok > MAX_TOKENS:
        raise PayloadError(f"DEFINE_TEXT_RULE on a message of {ntok} tokens (1..{MAX_TOKENS})", field="state.tokens")
    descs = [rule_desc(tok) for tok in toks]
    j = 1
    at = -1
    for _ in range(args[0]):
        at += 1 + args[j]
        if at >= ntok:
            raise PayloadError(f"DEFINE_TEXT_RULE overrides token {at} of {ntok}", field="state.skip")
        d = args[j + 1]
        j += 2
        s = 0
        if d:
            s = args[j]
            j += 1
        descs[at] = (d, s)
    targs = [ntok]
    for d, s in descs:
        targs.append(d)
        if d:
            targs.append(s)
    targs.extend(args[j:])
    return _text_template(toks, seps, targs)


def _text_template(toks: list[bytes], seps: list[int], args: list[int]) -> Template:
    ntok = args[0]
    if ntok != len(toks):
        raise PayloadError(f"DEFINE_TEXT describes {ntok} tokens, the message has {len(toks)}",
                           field="state.tokens")
    ltoks: list[bytes] = []
    slot: list[bool] = []
    pre: list[bytes] = []
    suf: list[bytes] = []
    j = 1
    for i in range(ntok):
        d = args[j]
        j += 1
        tok = toks[i]
        if d == 0:
            ltoks.append(tok)
            slot.append(False)
            pre.append(b"")
            suf.append(b"")
            continue
        s = args[j]
        j += 1
        if d - 1 + s > len(tok):
            raise PayloadError(f"DEFINE_TEXT affixes of token {i} are longer than the token", field="state.token")
        ltoks.append(b"")
        slot.append(True)
        pre.append(tok[:d - 1])
        suf.append(tok[len(tok) - s:] if s else b"")
    nvar = args[j]
    j += 1
    tseps = list(seps)
    last = -1
    for _ in range(nvar):
        v = args[j]
        j += 1
        if v <= last or v > ntok:
            raise PayloadError("DEFINE_TEXT separator indices not ascending or out of range", field="state.sep")
        tseps[v] = -1
        last = v
    return Template.text(ltoks, slot, pre, suf, tseps)


# -- instruction writers (the encoder's side of the same format) --------------------------

def write_evict(out: bytearray, k: int) -> None:
    out.append(OP_EVICT)
    put_uv(out, k)


def write_define_json(out: bytearray, k: int, spans: list[tuple[int, int]]) -> None:
    """DEFINE_JSON ``k`` with holes at the (start, end) byte ranges ``spans`` of the message."""
    out.append(OP_DEFINE_JSON)
    put_uv(out, k)
    put_uv(out, len(spans))
    at = 0
    for start, end in spans:
        put_uv(out, start - at)
        put_uv(out, end - start)
        at = end


def write_define_text(out: bytearray, k: int, t: Template, toks: list[bytes] | None = None) -> None:
    """DEFINE_TEXT ``k`` for text template ``t``, which matches the frame's message; given the
    message's tokens ``toks``, DEFINE_TEXT_RULE instead when that is shorter."""
    full = bytearray([OP_DEFINE_TEXT])
    put_uv(full, k)
    put_uv(full, len(t.toks))
    for i in range(len(t.toks)):
        if t.slot[i]:
            put_uv(full, len(t.pre[i]) + 1)
            put_uv(full, len(t.suf[i]))
        else:
            full.append(0)
    seps = bytearray()
    var = [i for i in range(len(t.seps)) if t.seps[i] < 0]
    put_uv(seps, len(var))
    for i in var:
        put_uv(seps, i)
    if toks is not None and len(toks) == len(t.toks):
        rule = bytearray([OP_DEFINE_TEXT_RULE])
        put_uv(rule, k)
        over = bytearray()
        nover = 0
        last = -1
        for i in range(len(toks)):
            d, s = rule_desc(toks[i])
            if t.slot[i]:
                if d == len(t.pre[i]) + 1 and s == len(t.suf[i]):
                    continue
            elif d == 0:
                continue
            put_uv(over, i - last - 1)
            last = i
            nover += 1
            if t.slot[i]:
                put_uv(over, len(t.pre[i]) + 1)
                put_uv(over, len(t.suf[i]))
            else:
                over.append(0)
        put_uv(rule, nover)
        rule += over
        if len(rule) < len(full):
            full = rule
    out += full
    out += seps


class TemplateState:
    """The template state of one direction (spec/templates.md §5), as a decoder keeps it.

    The encoder's matcher (:class:`~aura_wire.codec.templates.state._State`) extends it with
    indexes and its learner; both sides change the mirrored part only through :meth:`update`,
    :meth:`evict` and :meth:`define`.
    """

    def __init__(self, templates: TemplateSet | None, context: bool, max_runtime: int, max_bytes: int,
                 max_state_bytes: int = LAST_BUDGET_BYTES) -> None:
        self.set = templates if templates is not None else _EMPTY_SET
        self.context = context
        self.max_runtime = max_runtime if context else 0
        self.max_bytes = max_bytes
        self.base = self.set.next_id
        #: live runtime templates by id (``base + k``) and the sum of their sizes
        self.runtime: dict[int, Template] = {}
        self.rt_bytes = 0
        # previous slot values: (tid, None) for the template's last message, and
        # (tid, first value) for JSON shapes whose first slot is a short string
        # (a symbol, a stream name): prediction from the last message of that key.
        self.lasts: dict[tuple[int, bytes | None], list[bytes | None]] = {}
        self.last_bytes = 0
        self.last_budget = max_state_bytes
        self.prev_text: list[bytes] = []
        self.atom_ctx = AtomCtx(self.set.strings, self.set.string_index)
        # the recent-string table's share of the budget (spec §4.4): 64 strings, 2048 bytes at 6144
        self.atom_ctx.recent_max = max_state_bytes // 96
        self.atom_ctx.recent_limit = max_state_bytes // 3
        # most recently used template ids (front = latest) and each template's last
        # "equal to prediction" mask, for the compact reference and mask coding (spec §4)
        self.mru: list[int] = []
        self.masks: dict[int, int] = {}

    def template(self, tid: int) -> Template | None:
        t = self.set.templates.get(tid)
        if t is None:
            t = self.runtime.get(tid)
        return t

    # -- spec §5.1: after an exact payload --
    def update(self, tid: int, t: Template, values: list[bytes], mask: int) -> None:
        """Steps 1-5 of spec §5.1 for an exact payload naming ``tid`` with slot ``values``;
        ``mask`` is the slots equal to their prediction before this update."""
        rc = _speedups._render
        if rc is not None and _C_UPDATE:
            # the same steps in C on these dicts and lists (templates/_render.c update)
            ctx = self.atom_ctx
            r = rc.update(self.masks, self.mru, self.lasts, tid, mask, values, t.kind == KIND_JSON, self.last_bytes,
                          self.last_budget, ctx.recent, ctx.recent_by_seq, ctx.rseq, ctx.recent_bytes, ctx.rlow,
                          ctx.recent_max, ctx.recent_limit)
            self.last_bytes = r[0]
            ctx.rseq = r[1]
            ctx.recent_bytes = r[2]
            ctx.rlow = r[3]
            if r[4] is not None:
                self.prev_text = r[4]
            return
        self.masks.pop(tid, None)
        self.masks[tid] = mask
        if len(self.masks) > MAX_MASKS:
            del self.masks[next(iter(self.masks))]
        mru = self.mru
        if tid in mru:
            mru.remove(tid)
        mru.insert(0, tid)
        if len(mru) > MRU_SIZE:
            mru.pop()
        self._put_lasts((tid, None), values)
        if values:
            key = key_of(t, values[0])
            if key is not None:
                self._put_lasts((tid, key), values)
        is_json = t.kind == KIND_JSON
        for v in values:
            if is_json:
                if len(v) < 2 or v[0] != 0x22:
                    continue
                v = v[1:-1]
            if RECENT_MIN_LEN <= len(v) <= RECENT_MAX_LEN:
                self.atom_ctx.add_recent(v)
        if t.kind == KIND_TEXT:
            prev: list[bytes] = []
            for v in values[:PREV_TEXT_SLOTS]:
                if len(v) > MAX_LAST:
                    break
                prev.append(v)
            self.prev_text = prev

    # -- spec §5.5: STATE instructions --
    def apply(self, instructions: list[Instruction], m: bytes) -> None:
        """Apply a STATE frame's instructions, in order, after its message ``m`` was committed."""
        for ins in instructions:
            if ins.op == OP_EVICT:
                tid = self.base + ins.k
                if tid not in self.runtime:
                    raise PayloadError(f"EVICT of runtime template {ins.k}, which is not defined",
                                       field="state.k")
                self.evict(tid)
                continue
            if ins.k >= self.max_runtime:
                raise LimitError(f"runtime template {ins.k} beyond max_runtime_templates {self.max_runtime}",
                                 field="state.k")
            if ins.op == OP_DEFINE_JSON:
                t = build_json(m, ins.args)
                values = hole_values(m, ins.args)
            else:
                t = build_text(m, ins.args) if ins.op == OP_DEFINE_TEXT else build_text_rule(m, ins.args)
                toks, seps = tokens_of(m)
                values = text_values(t, toks, seps)
            self.define(self.base + ins.k, t)
            # m is the new template's first message: its values are the predictions (§5.5)
            self.update(self.base + ins.k, t, values, 0)

    def evict(self, tid: int) -> None:
        """Remove runtime template ``tid`` with its lasts, mask and MRU entries."""
        t = self.runtime.pop(tid)
        self.rt_bytes -= t.size
        self._drop_lasts(tid)
        self.masks.pop(tid, None)
        if tid in self.mru:
            self.mru.remove(tid)

    def define(self, tid: int, t: Template) -> None:
        """Make ``t`` runtime template ``tid`` (replacing one already there)."""
        old = self.runtime.get(tid)
        others = self.rt_bytes - (old.size if old is not None else 0)
        if others + t.size > self.max_bytes:
            raise LimitError(f"runtime templates would take {others + t.size} bytes, above "
                             f"max_runtime_template_bytes {self.max_bytes}", field="state.define")
        if old is not None:
            self.evict(tid)
        self.runtime[tid] = t
        self.rt_bytes += t.size

    # -- lasts (spec §5.6) --
    def _put_lasts(self, last_key: tuple[int, bytes | None], values: list[bytes]) -> None:
        lasts = self.lasts
        nb = self.last_bytes
        old = lasts.pop(last_key, None)
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
        lasts[last_key] = new
        self.last_bytes = nb
        while self.last_bytes > self.last_budget or len(lasts) > LAST_BUDGET_TEMPLATES:
            self._drop_entry(next(iter(lasts)))

    def _drop_entry(self, last_key: tuple[int, bytes | None]) -> None:
        old = self.lasts.pop(last_key, None)
        if old is not None:
            for v in old:
                if v is not None:
                    self.last_bytes -= len(v)

    def _drop_lasts(self, tid: int) -> None:
        for last_key in [k for k in self.lasts if k[0] == tid]:
            self._drop_entry(last_key)

    def lasts_for(self, tid: int) -> list[bytes | None] | None:
        return self.lasts.get((tid, None)) if self.context else None

    def keyed_lasts(self, tid: int, t: Template, first: bytes) -> list[bytes | None] | None:
        if not self.context:
            return None
        key = key_of(t, first)
        if key is None:
            return None
        return self.lasts.get((tid, key))

    def memory_bytes(self) -> int:
        """Bytes held, as CPython objects (estimated): the runtime templates' footprints, and the
        previous values and recent strings with their dict entries, keys, lists and bytes headers
        (a value of a few bytes takes about 40 more; the budgets count the values alone)."""
        fp = 0
        for t in self.runtime.values():
            fp += t.footprint()
        nvals = 0
        for vs in self.lasts.values():
            nvals += len(vs)
        return (fp + self.last_bytes + 40 * nvals + 200 * len(self.lasts)
                + self.atom_ctx.recent_bytes + 180 * len(self.atom_ctx.recent) + 256)


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


def key_of(t: Template, first: bytes) -> bytes | None:
    """The prediction key of a message: its first slot value when that is a short JSON string."""
    if t.kind == KIND_JSON and 2 <= len(first) <= 64 and first[0] == 0x22:
        return first
    return None


def predictions(st: TemplateState, tid: int, t: Template, first: bytes | None) -> list[bytes | None] | None:
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
