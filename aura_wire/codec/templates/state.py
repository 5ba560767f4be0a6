"""Per-connection template state (spec/templates.md §5): slot history, runtime templates, LRU eviction.

In context mode both sides keep mirrored state: each slot's previous value (for
SAME / delta forms) and *runtime templates* learned from messages no template
matched.  The state changes only in ``commit`` (encoder) and
``decode``/``observe`` (decoder), with the same rules on both sides.  No I/O.
"""

from __future__ import annotations

from typing import Final

from aura_wire.codec.templates.forms import (
    MAX_LAST,
    RECENT_MAX_LEN,
    RECENT_MIN_LEN,
    AtomCtx,
)
from aura_wire.codec.templates.json_shape import (
    K_ARR,
    LEVELS,
    Node,
    gaps_of,
    holes,
    parse,
    skeleton,
)
from aura_wire.codec.templates.section import (
    _EMPTY_SET,
    KIND_JSON,
    KIND_TEXT,
    Template,
    TemplateSet,
)
from aura_wire.codec.templates.text import (
    _punct_prefix,
    _punct_suffix,
    common_affixes,
    has_digit,
    text_matches,
    tokenize,
)

#: Longest message matched against templates or learned from (spec §3): bounds the CPU spent.
MAX_MATCH_BYTES: Final = 65536
#: Budget for the per-connection "previous slot values" (bytes, templates).
LAST_BUDGET_BYTES: Final = 6144
LAST_BUDGET_TEMPLATES: Final = 128


# -- matching and per-connection state ----------------------------------------------

class _Match:
    __slots__ = ("tid", "tmpl", "values", "nodes", "seps")

    def __init__(self, tid: int, tmpl: Template, values: list[bytes], nodes: list[Node],
                 seps: list[int]) -> None:
        self.tid = tid
        self.tmpl = tmpl
        self.values = values
        self.nodes = nodes
        self.seps = seps


class _State:
    """Matcher over a TemplateSet plus, in context mode, the connection's mirrored state."""

    def __init__(self, templates: TemplateSet | None, context: bool, max_runtime: int, max_bytes: int,
                 max_state_bytes: int = LAST_BUDGET_BYTES) -> None:
        self.set = templates if templates is not None else _EMPTY_SET
        self.context = context
        self.max_runtime = max_runtime if context else 0
        self.max_bytes = max_bytes
        self.base = self.set.next_id
        self.runtime: dict[int, Template] = {}
        self.rt_order: dict[int, None] = {}
        self.rt_bytes = 0
        self.rt_json: list[dict[bytes, list[int]]] = [{} for _ in range(LEVELS)]
        self.rt_text: dict[int, list[int]] = {}
        # previous slot values: (tid, None) for the template's last message, and
        # (tid, first value) for JSON shapes whose first slot is a short string
        # (a symbol, a stream name): prediction from the last message of that key.
        self.lasts: dict[tuple[int, bytes | None], list[bytes | None]] = {}
        self.last_bytes = 0
        self.last_budget = max_state_bytes
        self.prev_text: list[bytes] = []
        self.cx = AtomCtx(self.set.strings, self.set.string_index)
        # most recently used template ids (front = latest) and each template's last
        # "equal to prediction" mask, for the compact reference and mask coding (spec §4.1)
        self.mru: list[int] = []
        self.masks: dict[int, int] = {}
        # per-message caches (not state: they only avoid redoing work for the same message
        # between a trial encode and its commit, and are dropped by ``after``)
        self.trial_match: _Match | None = None
        self.trial_mask = 0
        self._cdata: bytes | None = None
        self._croot: Node | None = None
        self._cparsed = False
        self._ctk: tuple[list[bytes], list[int]] | None = None
        self._ctokenized = False
        self._choles: list[list[Node] | None] = []
        self._ckeys: list[bytes] = []
        self._cdone = 0

    def _cache_for(self, data: bytes) -> None:
        cd = self._cdata
        if cd is data or (cd is not None and cd == data):
            return
        self._cdata = data
        self._croot = None
        self._cparsed = False
        self._ctk = None
        self._ctokenized = False
        self._cdone = 0
        self.trial_match = None

    def clear_cache(self) -> None:
        self._cdata = None
        self._croot = None
        self._cparsed = False
        self._ctk = None
        self._ctokenized = False
        self._choles = []
        self._ckeys = []
        self._cdone = 0
        self.trial_match = None

    def parsed(self, data: bytes) -> Node | None:
        """``parse(data)`` for a JSON-looking message (first byte ``{``, ``[`` or whitespace), else None."""
        self._cache_for(data)
        if not self._cparsed:
            self._cparsed = True
            root: Node | None = None
            if data:
                c = data[0]
                if c == 0x7B or c == 0x5B or c == 0x20 or c == 0x0A or c == 0x0D or c == 0x09:
                    root = parse(data)
            self._croot = root
        return self._croot

    def tokens(self, data: bytes) -> tuple[list[bytes], list[int]] | None:
        """``tokenize(data)``, cached for the current message."""
        self._cache_for(data)
        if not self._ctokenized:
            self._ctokenized = True
            self._ctk = tokenize(data)
        return self._ctk

    def holes_key(self, data: bytes, root: Node, level: int) -> tuple[list[Node] | None, bytes]:
        """``holes(root, level)`` and its skeleton key, cached for the current message."""
        self._cache_for(data)
        if not self._cdone:
            self._choles = [None] * LEVELS
            self._ckeys = [b""] * LEVELS
        bit = 1 << level
        if not (self._cdone & bit):
            hs = holes(root, level)
            self._choles[level] = hs
            self._ckeys[level] = skeleton(data, hs) if hs is not None else b""
            self._cdone |= bit
        return self._choles[level], self._ckeys[level]

    def template(self, tid: int) -> Template | None:
        t = self.set.templates.get(tid)
        if t is None:
            t = self.runtime.get(tid)
        return t

    # -- matching (normative for context mode: spec §5.1) --
    def match(self, data: bytes) -> _Match | None:
        if not data or len(data) > MAX_MATCH_BYTES:
            return None
        root = self.parsed(data)
        if root is not None:
            return self._match_json(data, root)
        tk = self.tokens(data)
        if tk is None:
            return None
        return self._match_text(tk[0], tk[1])

    def _match_json(self, data: bytes, root: Node) -> _Match | None:
        for level in range(LEVELS):
            if not self.set.json_index[level] and not self.rt_json[level]:
                continue  # no shape at this level: nothing to look up
            hs, key = self.holes_key(data, root, level)
            if hs is None:
                continue
            for index in (self.set.json_index[level], self.rt_json[level]):
                cands = index.get(key)
                if not cands:
                    continue
                for tid in cands:
                    t = self.template(tid)
                    if t is None:
                        continue
                    ok = True
                    for h, v in t.consts.items():
                        n = hs[h]
                        if data[n.start:n.end] != v:
                            ok = False
                            break
                    if not ok:
                        continue
                    values: list[bytes] = []
                    nodes: list[Node] = []
                    for i in range(len(hs)):
                        if i not in t.consts:
                            n = hs[i]
                            values.append(data[n.start:n.end])
                            nodes.append(n)
                    return _Match(tid, t, values, nodes, [])
        return None

    def _match_text(self, toks: list[bytes], seps: list[int]) -> _Match | None:
        n = len(toks)
        st = self.set
        for p in st.text_positions.get(n, ()):
            cands = st.text_index.get((n, p, toks[p] if p >= 0 else b""))
            if cands:
                for tid in cands:
                    t = st.templates[tid]
                    if text_matches(t, toks, seps):
                        return self._text_match_obj(tid, t, toks, seps)
        for tid in self.rt_text.get(n, ()):
            t2 = self.runtime[tid]
            if text_matches(t2, toks, seps):
                return self._text_match_obj(tid, t2, toks, seps)
        return None

    @staticmethod
    def _text_match_obj(tid: int, t: Template, toks: list[bytes], seps: list[int]) -> _Match:
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
        return _Match(tid, t, values, [], seps)

    # -- state update (context mode only; identical on both sides: spec §5) --
    def after(self, data: bytes, m: _Match | None) -> None:
        if self.context:
            self._after(data, m)
        self.clear_cache()

    def _after(self, data: bytes, m: _Match | None) -> None:
        if m is not None:
            if m is self.trial_match:
                # computed by the trial encode of this message on this (unchanged) state
                mask = self.trial_mask
            else:
                mask = same_mask(_predictions(self, m.tid, m.tmpl, m.values[0] if m.values else None),
                                 m.values)
            self.masks.pop(m.tid, None)
            self.masks[m.tid] = mask
            if len(self.masks) > MAX_MASKS:
                del self.masks[next(iter(self.masks))]
            mru = self.mru
            if m.tid in mru:
                mru.remove(m.tid)
            mru.insert(0, m.tid)
            self._touch(m.tid)
            if len(mru) > MRU_SIZE:
                mru.pop()
            self._set_lasts(m.tid, m.values)
            is_json = m.tmpl.kind == KIND_JSON
            for v in m.values:
                if is_json:
                    if len(v) < 2 or v[0] != 0x22:
                        continue
                    v = v[1:-1]
                if RECENT_MIN_LEN <= len(v) <= RECENT_MAX_LEN:
                    self.cx.add_recent(v)
            if m.tmpl.kind == KIND_TEXT:
                prev: list[bytes] = []
                for v in m.values[:PREV_TEXT_SLOTS]:
                    if len(v) > MAX_LAST:
                        break
                    prev.append(v)
                self.prev_text = prev
            if m.tmpl.kind == KIND_JSON and m.tmpl.level >= 2 and self.max_runtime > 0:
                root = self.parsed(data)
                if root is not None:
                    self._learn_json(data, root, coarse_from=m.tmpl.level)
            return
        if self.max_runtime <= 0 or len(data) > MAX_MATCH_BYTES:
            return
        root2 = self.parsed(data)
        if root2 is not None:
            self._learn_json(data, root2, coarse_from=LEVELS)
            return
        tk = self.tokens(data)
        if tk is not None:
            self._learn_text(tk[0], tk[1])

    def _set_lasts(self, tid: int, values: list[bytes]) -> None:
        self._put_lasts((tid, None), values)
        t = self.template(tid)
        if t is not None and values:
            key = key_of(t, values[0])
            if key is not None:
                self._put_lasts((tid, key), values)

    def _put_lasts(self, lk: tuple[int, bytes | None], values: list[bytes]) -> None:
        lasts = self.lasts
        nb = self.last_bytes
        old = lasts.pop(lk, None)
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
        lasts[lk] = new
        self.last_bytes = nb
        while self.last_bytes > self.last_budget or len(lasts) > LAST_BUDGET_TEMPLATES:
            self._drop_entry(next(iter(lasts)))

    def _drop_entry(self, lk: tuple[int, bytes | None]) -> None:
        old = self.lasts.pop(lk, None)
        if old is not None:
            for v in old:
                if v is not None:
                    self.last_bytes -= len(v)

    def _drop_lasts(self, tid: int) -> None:
        for lk in [k for k in self.lasts if k[0] == tid]:
            self._drop_entry(lk)

    def lasts_for(self, tid: int) -> list[bytes | None] | None:
        return self.lasts.get((tid, None)) if self.context else None

    def keyed_lasts(self, tid: int, t: Template, first: bytes) -> list[bytes | None] | None:
        if not self.context:
            return None
        key = key_of(t, first)
        if key is None:
            return None
        return self.lasts.get((tid, key))

    def _learn_json(self, data: bytes, root: Node, coarse_from: int) -> None:
        level = 1 if _has_long_array(root) else 0
        if level >= coarse_from:
            return
        hs, key = self.holes_key(data, root, level)
        if hs is None:
            return
        if key in self.rt_json[level]:
            return
        self._add_runtime(Template.json(level, gaps_of(data, hs), {}, key))

    def _learn_text(self, toks: list[bytes], seps: list[int]) -> None:
        n = len(toks)
        # online Drain: generalise a runtime template with the same token count when similar
        for tid in self.rt_text.get(n, ()):
            t = self.runtime[tid]
            same = 0
            lits = 0
            for i in range(n):
                if not t.slot[i]:
                    lits += 1
                    if t.toks[i] == toks[i]:
                        same += 1
            if lits == 0 or same * 2 < lits:
                continue
            ntoks = list(t.toks)
            nslot = list(t.slot)
            npre = list(t.pre)
            nsuf = list(t.suf)
            for i in range(n):
                tok = toks[i]
                if nslot[i]:
                    p = npre[i]
                    s = nsuf[i]
                    if len(tok) < len(p) + len(s) or not tok.startswith(p) or not tok.endswith(s):
                        npre[i], nsuf[i] = common_affixes([p + s, tok]) if (p or s) else (b"", b"")
                        if len(tok) < len(npre[i]) + len(nsuf[i]):
                            npre[i], nsuf[i] = b"", b""
                elif ntoks[i] != tok:
                    npre[i], nsuf[i] = common_affixes([ntoks[i], tok])
                    ntoks[i] = b""
                    nslot[i] = True
            nseps = [t.seps[i] if t.seps[i] == seps[i] else -1 for i in range(n + 1)]
            nt = Template.text(ntoks, nslot, npre, nsuf, nseps)
            self._replace_runtime(tid, t, nt)
            return
        slot: list[bool] = []
        pre: list[bytes] = []
        suf: list[bytes] = []
        ltoks: list[bytes] = []
        for tok in toks:
            if has_digit(tok) or len(tok) > 32:
                slot.append(True)
                p = _punct_prefix(tok)
                s = _punct_suffix(tok[len(p):])
                pre.append(p)
                suf.append(s)
                ltoks.append(b"")
            else:
                slot.append(False)
                pre.append(b"")
                suf.append(b"")
                ltoks.append(tok)
        self._add_runtime(Template.text(ltoks, slot, pre, suf, list(seps)))

    def _index_runtime(self, tid: int, t: Template, add: bool) -> None:
        if t.kind == KIND_JSON:
            idx = self.rt_json[t.level]
            if add:
                idx.setdefault(t.key, []).append(tid)
            else:
                lst = idx.get(t.key)
                if lst is not None:
                    lst.remove(tid)
                    if not lst:
                        del idx[t.key]
        else:
            n = len(t.toks)
            if add:
                self.rt_text.setdefault(n, []).append(tid)
            else:
                lst2 = self.rt_text.get(n)
                if lst2 is not None:
                    lst2.remove(tid)
                    if not lst2:
                        del self.rt_text[n]

    def _evict(self, tid: int) -> None:
        t = self.runtime.pop(tid)
        del self.rt_order[tid]
        self.rt_bytes -= t.size
        self._index_runtime(tid, t, False)
        self._drop_lasts(tid)
        self.masks.pop(tid, None)
        if tid in self.mru:
            self.mru.remove(tid)

    def _touch(self, tid: int) -> None:
        """Make runtime template ``tid`` the most recently used (spec §5.5)."""
        if tid in self.rt_order:
            del self.rt_order[tid]
            self.rt_order[tid] = None

    def _add_runtime(self, t: Template) -> None:
        if t.size > self.max_bytes or self.max_runtime <= 0:
            return
        # evict the least recently used while either limit would be exceeded, then take the
        # lowest free id (spec §5.5)
        while self.rt_order and (len(self.runtime) >= self.max_runtime
                                 or self.rt_bytes + t.size > self.max_bytes):
            self._evict(next(iter(self.rt_order)))
        tid = self.base
        while tid in self.runtime:
            tid += 1
        self.runtime[tid] = t
        self.rt_order[tid] = None
        self.rt_bytes += t.size
        self._index_runtime(tid, t, True)

    def _replace_runtime(self, tid: int, old: Template, new: Template) -> None:
        # same kind and token count: the index entry (and its position) stays as it is
        if self.rt_bytes - old.size + new.size > self.max_bytes:
            return
        self._touch(tid)
        self.runtime[tid] = new
        self.rt_bytes += new.size - old.size
        self._drop_lasts(tid)
        self.masks.pop(tid, None)

    def memory_bytes(self) -> int:
        return (self.rt_bytes + self.last_bytes + self.cx.recent_bytes
                + 48 * (len(self.runtime) + len(self.lasts) + len(self.cx.recent)) + 256)


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


REF_PLAIN: Final = 0
REF_MASK: Final = 1
REF_LASTMASK: Final = 2
#: Reference mode 3: a fuzzy payload, the template plus an edit script (spec §4.3).
REF_FUZZY: Final = 3
#: A fuzzy payload's rendered template may exceed ``max_size`` by this much (spec §4.3).
FUZZY_SLACK: Final = 4096


def ref_value(st: _State, tid: int, mode: int) -> int:
    """The payload's first varint: ``r << 2 | mode`` where r is the MRU rank (context) or the id."""
    if st.context:
        mru = st.mru
        r = MRU_SIZE + tid
        for i in range(len(mru)):
            if mru[i] == tid:
                r = i
                break
    else:
        r = tid
    return (r << 2) | mode


def key_of(t: Template, first: bytes) -> bytes | None:
    """The prediction key of a message: its first slot value when that is a short JSON string."""
    if t.kind == KIND_JSON and 2 <= len(first) <= 64 and first[0] == 0x22:
        return first
    return None


def _has_long_array(root: Node) -> bool:
    stack = [root]
    while stack:
        n = stack.pop()
        if n.kind == K_ARR and len(n.children) > 1:
            return True
        stack.extend(n.children)
    return False


# -- encoder / decoder ------------------------------------------------------------

#: Text slots 0..PREV_TEXT_SLOTS-1 (usually the date and time) are predicted from the previous
#: text message, whatever its template; the others from the template's last message.
PREV_TEXT_SLOTS: Final = 2
#: Recently used template ids addressable by rank in context mode.
MRU_SIZE: Final = 8
MAX_MASKS: Final = 256


def _predictions(st: _State, tid: int, t: Template, first: bytes | None) -> list[bytes | None] | None:
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
