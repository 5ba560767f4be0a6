"""The encoder's matcher and runtime-template learner (spec/templates.md §3, §5.5, informative).

:class:`_State` extends the mirrored :class:`~aura_wire.codec.templates.context.TemplateState`
with what only an encoder needs: indexes to find the template a message matches, and the
learner that decides which runtime templates to keep (use order, eviction, generalisation).
Its decisions reach the decoder as STATE instructions (:meth:`_State.learn` returns them), so
these heuristics may change without a new wire version.  No I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from aura_wire.codec.templates.context import (
    LAST_BUDGET_BYTES,
    MAX_INSTRUCTIONS,
    MRU_SIZE,
    OP_DEFINE_JSON,
    OP_DEFINE_TEXT,
    OP_EVICT,
    TemplateState,
    predictions,
    same_mask,
    text_values,
    tokens_of,
    write_define_json,
    write_define_text,
    write_evict,
)
from aura_wire.codec.templates.forms import put_uv
from aura_wire.codec.templates.json_shape import (
    K_ARR,
    LEVELS,
    Node,
    gaps_of,
    holes,
    parse,
    skeleton,
)
from aura_wire.codec.templates.pool import Cand
from aura_wire.codec.templates.section import (
    KIND_JSON,
    Template,
    TemplateSet,
)
from aura_wire.codec.templates.text import (
    generalised,
    text_matches,
    tokenize,
)
from aura_wire.codec.varint import uvarint_len

#: Longest message matched against templates or learned from (spec §3): bounds the CPU spent.
MAX_MATCH_BYTES: Final = 65536
#: Least bounds of the learner's candidate pool (encoder memory; spec/templates.md §5.5, informative);
#: it also holds at most as much memory as the runtime templates may at the decoder's byte limit
#: (``cand_mem_limit``: a text candidate's lists of tokens hold about 15 times its size; 64
#: chat-line candidates held 100 KiB; a stream of 48 log formats needs them all to learn any).
CANDIDATES: Final = 64
CANDIDATE_BYTES: Final = 16384
#: The most memory the runtime templates the encoder defines hold (Template.footprint), beside the
#: count and wire-size limits; the decoder mirrors them: 64 chat-line templates (2.5 KiB on the
#: wire) held 72 KiB on each side.  ``rt_mem_limit()``: RUNTIME_MEMORY_PER_BYTE times the learner's
#: ``budget`` (4 KiB at first, grown for templates that paid; text templates hold about 15 times
#: their size), at least RUNTIME_MEMORY.  A fixed 32 KiB cost 2 % of the ratio on Android logs.
RUNTIME_MEMORY: Final = 49152
RUNTIME_MEMORY_PER_BYTE: Final = 16
#: A DEFINE pays only if the template then codes messages.  ``_State.win`` tracks (EWMA, 0..256) the
#: share of evicted runtime templates that coded at least one template frame while live; below
#: ``WIN_MIN`` only every ``DEFINE_PROBE``-th new definition is sent (to keep the estimate honest),
#: the others stay candidates (encoder-side, free).  Where large messages churn through the
#: template byte limit and BRIO/ZSTD win them anyway (webhooks, DevTools events) the DEFINEs were
#: up to 11 % of the wire bytes; measured +3.1 % and +1.6 % on those, nothing elsewhere.
WIN_MIN: Final = 32
DEFINE_PROBE: Final = 8
#: The learner's own byte budget for runtime templates starts here (or at ``max_bytes``, the
#: decoder's limit, when lower) and grows towards ``max_bytes`` only to keep a template that coded
#: a template frame: when the least recently used one must make room and has paid for its
#: DEFINE, the budget takes the new template's size instead (``_State.budget``).  Shapes that never
#: win (large webhook payloads) keep churning within the starting budget; streams with many paying
#: shapes (log formats) keep them.
BUDGET_START: Final = 4096
#: Rent or buy (ski rental, as the client's dictionary fetch, spec/session.md §6.8): a candidate seen
#: again is defined only once the saving it would have brought on its sightings (the "rent": this
#: connection's measured saving per template-matched message, ``_State.saving``, for each sighting
#: after the first) reaches ``1 / 2**RENT_SHIFT`` of its DEFINE instruction's size.  A connection
#: whose template frames save nothing over BRIO (chat) stops paying for DEFINEs; a short one does
#: not pay for definitions it cannot earn back.  A share of 1 (``RENT_SHIFT`` 0) is the classic
#: 2-competitive rule; but the measured saving is an average over young and settled templates,
#: which understates what a defined one comes to save, and 1/2 was measured between the
#: short-session optimum (share 1: Android logs, 200 messages, 1.07x deflate w15; 1000 messages
#: 1.01x) and the long one (1/4: 1.03x and 1.05x); webhooks and chat gain at every share
#: (docs/benchmarks.md).
RENT_SHIFT: Final = 1
#: The saving assumed before the connection has measured one (1/16 bytes): 64 bytes, so that the
#: first shapes are defined on their second sighting, as without the rule.
RENT_PRIOR: Final = 64 << 4
#: The DEFINE gate by trial (``_State._pays``) holds only shapes of messages of at least this many
#: bytes.  A small message's first frame (BRIO against the previous one of its shape: 6-10 bytes on
#: LLM stream chunks) is always below its template's first frame, which has no predictions yet, plus
#: the DEFINE: the gate held 2711 of LLM's shapes for good, and its template frames (3-5 bytes once
#: predicted) never came.  Level 4, full coded half, one dictionary, pure: LLM 10.955 -> 11.303
#: (+3.2 %); webhooks (915 bytes and up, where the gate was measured +9.3 %) and DevTools unchanged.
PAYS_MIN_SIZE: Final = 1024


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


class _State(TemplateState):
    """Matcher over a TemplateSet plus, in context mode, the learner of runtime templates."""

    def __init__(self, templates: TemplateSet | None, context: bool, max_runtime: int, max_bytes: int,
                 max_state_bytes: int = LAST_BUDGET_BYTES) -> None:
        super().__init__(templates, context, max_runtime, max_bytes, max_state_bytes)
        # encoder-only: the runtime templates in use order (least recently used first) and
        # the indexes that find them
        self.rt_order: dict[int, None] = {}
        self.rt_json: list[dict[bytes, list[int]]] = [{} for _ in range(LEVELS)]
        self.rt_text: dict[int, list[int]] = {}
        # encoder-only candidates: learned once, defined at the decoder when seen again; the pool's
        # bounds count them as templates (cand_mem), they hold cand_held (pool.Cand)
        self.cands: dict[int, Cand] = {}
        self.cand_order: dict[int, None] = {}
        self.cand_bytes = 0
        self.cand_mem = 0
        self.cand_held = 0
        self.rt_mem = 0
        self.cand_mem_limit = max(RUNTIME_MEMORY, RUNTIME_MEMORY_PER_BYTE * max_bytes)
        self.cand_next = 0
        self.cand_json: list[dict[int, int]] = [{} for _ in range(LEVELS)]  # by hash of the key
        self.cand_text: dict[int, list[int]] = {}
        # the frame size of the message each candidate was learned from (DEFINE_GATE), and the
        # candidate the message being committed added (-1: none)
        self.cand_size: dict[int, int] = {}
        self.new_cand = -1
        self.gated = 0
        #: the payload size of a match (payload.trial_size, set by TemplateEncoder; None: no gate)
        self.trial_size: Callable[[_Match, bytes, _State], int] | None = None
        # see WIN_MIN; rt_used: the live runtime templates that coded a template frame
        self.hold_defines = True
        self.budget = min(max_bytes, BUDGET_START)
        # rent or buy (RENT_SHIFT): what a template saved per matched message on this connection
        # (EWMA, 1/16 bytes, measured by the Encoder) and the rent each candidate has run up
        self.saving = RENT_PRIOR
        self.cand_rent: dict[int, int] = {}
        self.win = 256
        self.held = 0
        self.rt_used: set[int] = set()
        # the STATE instructions the learner produced for the message being committed
        self.pending = bytearray()
        self.npending = 0
        self.pending_ops: list[tuple[int, int, Template | None, list[bytes]]] = []
        # per-message caches (not state: they only avoid redoing work for the same message
        # between a trial encode and its commit, and are dropped by ``after``)
        self.trial_match: _Match | None = None
        self.trial_mask = 0
        # the coded bytes of slots 0 and 1 in the trial payload (TemplateEncoder.state_bonus)
        self.trial_c0 = 0
        self.trial_c1 = 0
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
        return _Match(tid, t, text_values(t, toks, seps), [], seps)

    # -- the encoder's side of the state update (spec §5.1, §5.5) --
    def learn(self, data: bytes, m: _Match | None) -> bytes:
        """Run the learner on a context message (before it is committed); return the STATE
        instruction block it decided (``count`` then the instructions), or b"" for none.

        The runtime templates and indexes change here; the mirrored effects on lasts, masks
        and MRU are applied by :meth:`commit`, in the decoder's order (spec §5.1).
        """
        self.pending = bytearray()
        self.npending = 0
        self.pending_ops = []
        self.new_cand = -1
        if not self.context:
            return b""
        if m is not None:
            self._touch(m.tid)
            if m.tmpl.kind == KIND_JSON and m.tmpl.level >= 2 and self.max_runtime > 0:
                root = self.parsed(data)
                if root is not None:
                    self._learn_json(data, root, coarse_from=m.tmpl.level)
        elif self.max_runtime > 0 and len(data) <= MAX_MATCH_BYTES:
            root2 = self.parsed(data)
            if root2 is not None:
                self._learn_json(data, root2, coarse_from=LEVELS)
            else:
                tk = self.tokens(data)
                if tk is not None:
                    self._learn_text(data, tk[0], tk[1])
        if not self.npending:
            return b""
        out = bytearray()
        put_uv(out, self.npending)
        out += self.pending
        return bytes(out)

    def commit(self, data: bytes, m: _Match | None, size: int = -1) -> None:
        """Commit a context message: the update of an exact payload (``m``: the match it
        coded, None for any other frame), then the learner's instructions (spec §5.1);
        ``size``: its frame's bytes (without instructions), -1 when unknown."""
        if self.new_cand >= 0 and self.new_cand in self.cands and size >= 0:
            self.cand_size[self.new_cand] = size
        self.new_cand = -1
        if self.context:
            if m is not None:
                mask = self.trial_mask if m is self.trial_match else same_mask(
                    predictions(self, m.tid, m.tmpl, m.values[0] if m.values else None), m.values)
                self.update(m.tid, m.tmpl, m.values, mask)
            for _op, tid, t, values in self.pending_ops:
                # the runtime table itself already changed in learn(); mirror the rest
                self._drop_lasts(tid)
                self.masks.pop(tid, None)
                if tid in self.mru:
                    self.mru.remove(tid)
                if t is not None:  # a DEFINE primes its template with this message (spec §5.5)
                    self.update(tid, t, values, 0)
        self.pending = bytearray()
        self.npending = 0
        self.pending_ops = []
        self.clear_cache()

    # The learner keeps what it learns as *candidates*, encoder-side only (they cost no byte);
    # a candidate is defined at the decoder (a STATE instruction) when a later message has its
    # shape again, so one-off shapes (chat lines, unique events) never cost a DEFINE.
    def _learn_json(self, data: bytes, root: Node, coarse_from: int) -> None:
        level = 1 if _has_long_array(root) else 0
        if level >= coarse_from:
            return
        hs, key = self.holes_key(data, root, level)
        if hs is None:
            return
        if key in self.rt_json[level]:
            return
        hkey = hash(key)  # a collision only makes one shape look seen again: it is built from data
        cid = self.cand_json[level].get(hkey)
        t = Template.json(level, gaps_of(data, hs), {}, key)
        if cid is None:
            self._add_cand(Cand.of_json(t, hkey))
            return
        if not self._rent_paid(cid, t, None, hs) or not self._pays(cid, t, data, hs):
            return
        self._drop_cand(cid)
        self._add_runtime(t, data, hs)

    def _learn_text(self, data: bytes, toks: list[bytes], seps: list[int]) -> None:
        n = len(toks)
        # online Drain: generalise a live runtime template with the same token count when similar
        for tid in self.rt_text.get(n, ()):
            t = self.runtime[tid]
            nt = generalised(t, toks, seps)
            if nt is not None:
                self._replace_runtime(tid, t, nt, data)
                return
        # a candidate this message matches, or is similar to, becomes a live template
        for cid in self.cand_text.get(n, ()):
            c = self.cands[cid]
            if c.matches(toks, seps):
                t = c.template()
                if self._rent_paid(cid, t, toks):
                    self._drop_cand(cid)
                    self._add_runtime(t, data, None)
                return
            nt = c.generalised(toks, seps)
            if nt is not None:
                rent = self.cand_rent.get(cid, 0)
                self._drop_cand(cid)
                if self._rent_paid(-1, nt, toks, None, rent):
                    self._add_runtime(nt, data, None)
                else:  # the generalised shape stays a candidate with the rent run up
                    self._add_cand_template(nt)
                    if self.cand_next - 1 in self.cands:
                        self.cand_rent[self.cand_next - 1] = rent + self.saving
                return
        if self.max_runtime > 0:
            self._add_cand(Cand.learned(toks, seps))  # the rule DEFINE_TEXT_RULE spells in ~3 bytes

    def _pays(self, cid: int, t: Template, data: bytes, hs: list[Node]) -> bool:
        """DEFINE gate for JSON shapes, beside rent or buy: a candidate seen again is defined only
        when its template codes this message (without predictions, as a new template would) plus
        the DEFINE itself in fewer bytes than the frame of the message it was learned from; else it
        stays a candidate.  Large JSON events that BRIO/ZSTD code against the previous event of the
        same shape (webhooks) made DEFINEs about 10 % of the wire for templates that never won a
        frame.  Measured at level 4 (first 500 coded messages, one dictionary, before rent or
        buy): webhooks +9.3 %, DevTools +2.2 %, LLM stream +3.2 %.  Not for text shapes: a log
        format's first template frames (no predictions yet) rarely beat its first BRIO frame,
        but its later ones do.  One trial payload per candidate seen again.
        """
        if not self.hold_defines or len(data) < PAYS_MIN_SIZE:
            return True
        first = self.cand_size.get(cid, -1)
        if first < 0:
            return True
        trial_size = self.trial_size
        if trial_size is None:
            return True
        body = bytearray()  # the DEFINE itself (its k costs about the same as the real one's)
        write_define_json(body, 0, [(n.start, n.end) for n in hs])
        if 1 + len(body) >= first:
            # cannot pay whatever the trial gives (a payload has at least its reference byte): the
            # same verdict without coding the message (LLM stream: 181 of 264 gate calls, each a
            # whole template coding of the message, about 7 % of its encode time)
            self.gated += 1
            return False
        m = _Match(-1, t, [data[n.start:n.end] for n in hs], hs, [])
        if trial_size(m, data, self) + len(body) < first:
            return True
        self.gated += 1
        return False

    def rt_mem_limit(self) -> int:
        """The most memory (Template.footprint) the runtime templates, and apart from them the
        candidate pool, may hold (RUNTIME_MEMORY)."""
        return max(RUNTIME_MEMORY, RUNTIME_MEMORY_PER_BYTE * self.budget)

    def _add_cand_template(self, t: Template) -> None:
        if t.size <= self.budget and self.max_runtime > 0:
            self._add_cand(Cand.of_json(t, hash(t.key)) if t.kind == KIND_JSON else Cand.of_text(t))

    def _add_cand(self, c: Cand) -> None:
        """Keep a candidate (least recently added evicted first, within the runtime limits)."""
        if c.size > self.budget or self.max_runtime <= 0:
            return
        # the pool is the encoder's own memory, bounded apart from the decoder's limits, so a small
        # runtime table still sees a shape come back
        while self.cand_order and (len(self.cands) >= max(self.max_runtime, CANDIDATES)
                                   or self.cand_bytes + c.size > max(self.max_bytes, CANDIDATE_BYTES)
                                   or self.cand_mem + c.fp > self.cand_mem_limit):
            self._drop_cand(next(iter(self.cand_order)))
        cid = self.cand_next
        self.cand_next += 1
        self.new_cand = cid
        self.cands[cid] = c
        self.cand_order[cid] = None
        self.cand_bytes += c.size
        self.cand_mem += c.fp
        self.cand_held += c.memory()
        if c.kind == KIND_JSON:
            self.cand_json[c.level][c.hkey] = cid
        else:
            self.cand_text.setdefault(c.ntok, []).append(cid)

    def _rent_paid(self, cid: int, t: Template, toks: list[bytes] | None, hs: list[Node] | None = None,
                   rent: int = -1) -> bool:
        """Rent or buy (RENT_SHIFT): a new sighting of candidate ``cid`` (``t``; ``toks``: the
        message's tokens, ``hs``: its JSON holes) adds this connection's measured saving to its
        rent; True when the rent pays for the DEFINE, else the rent is kept (``cid`` -1: the
        caller keeps ``rent`` itself)."""
        if not self.hold_defines:
            return True
        if rent < 0:
            rent = self.cand_rent.get(cid, 0)
        rent += self.saving
        define = bytearray()
        if hs is not None:
            write_define_json(define, 0, [(n.start, n.end) for n in hs])
        else:
            write_define_text(define, 0, t, toks)
        if rent << RENT_SHIFT >= len(define) << 4:
            return True
        if cid >= 0:
            self.cand_rent[cid] = rent
        return False

    def note_saving(self, saved: int) -> None:
        """The Encoder's measurement for a message a template matched: bytes its template frame
        saved over the BRIO frame (0 when the template did not win), averaged (RENT_SHIFT)."""
        self.saving += ((saved << 4) - self.saving) >> 3

    def _drop_cand(self, cid: int) -> None:
        self.cand_rent.pop(cid, None)
        c = self.cands.pop(cid)
        del self.cand_order[cid]
        self.cand_size.pop(cid, None)
        self.cand_bytes -= c.size
        self.cand_mem -= c.fp
        self.cand_held -= c.memory()
        if c.kind == KIND_JSON:
            del self.cand_json[c.level][c.hkey]
        else:
            lst = self.cand_text[c.ntok]
            lst.remove(cid)
            if not lst:
                del self.cand_text[c.ntok]

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

    def _evict_runtime(self, tid: int) -> None:
        """Evict ``tid`` (least recently used) and send EVICT; lasts etc. follow at commit."""
        t = self.runtime.pop(tid)
        del self.rt_order[tid]
        self.rt_bytes -= t.size
        self.rt_mem -= t.footprint()
        self._index_runtime(tid, t, False)
        self.win += ((256 if tid in self.rt_used else 0) - self.win) >> 2
        self.rt_used.discard(tid)
        write_evict(self.pending, tid - self.base)
        self.npending += 1
        self.pending_ops.append((OP_EVICT, tid, None, []))

    def _touch(self, tid: int) -> None:
        """Make runtime template ``tid`` the most recently used (the encoder's use order)."""
        if tid in self.rt_order:
            del self.rt_order[tid]
            self.rt_order[tid] = None

    def note_use(self, tid: int, exact: bool) -> None:
        """A committed message matched ``tid``; ``exact``: it went as a template frame."""
        if exact and tid in self.runtime:
            self.rt_used.add(tid)

    def _add_runtime(self, t: Template, data: bytes, hs: list[Node] | None) -> None:
        if t.size > self.budget or self.max_runtime <= 0:
            return
        if self.hold_defines and self.win < WIN_MIN:
            # runtime templates have not been winning: keep this one a candidate, mostly
            self.held += 1
            if self.held % DEFINE_PROBE != 0:
                self._add_cand_template(t)
                return
        # evict the least recently used while either limit would be exceeded, then take the
        # lowest free id; a STATE frame holds at most MAX_INSTRUCTIONS, so an addition that
        # would need more evictions is skipped
        if (self.rt_bytes + t.size > self.budget and self.budget < self.max_bytes and self.rt_order
                and next(iter(self.rt_order)) in self.rt_used):
            self.budget = min(self.max_bytes, self.budget + t.size)  # see BUDGET_START
        need = 0
        total = self.rt_bytes
        mem = self.rt_mem
        fp = t.footprint()
        mem_limit = self.rt_mem_limit()
        count = len(self.runtime)
        budget = self.budget
        for tid in self.rt_order:
            if count < self.max_runtime and total + t.size <= budget and mem + fp <= mem_limit:
                break
            need += 1
            count -= 1
            total -= self.runtime[tid].size
            mem -= self.runtime[tid].footprint()
        if need >= MAX_INSTRUCTIONS:
            return
        while self.rt_order and (len(self.runtime) >= self.max_runtime
                                 or self.rt_bytes + t.size > budget or self.rt_mem + fp > mem_limit):
            self._evict_runtime(next(iter(self.rt_order)))
        tid = self.base
        while tid in self.runtime:
            tid += 1
        self.runtime[tid] = t
        self.rt_order[tid] = None
        self.rt_bytes += t.size
        self.rt_mem += fp
        self._index_runtime(tid, t, True)
        self._write_define(tid, t, data, hs)

    def _write_define(self, tid: int, t: Template, data: bytes, hs: list[Node] | None) -> None:
        k = tid - self.base
        if self.npending and self.pending_ops[-1][0] == OP_EVICT and self.pending_ops[-1][1] == tid:
            # EVICT k then DEFINE k: the DEFINE alone replaces the template
            self.pending_ops.pop()
            self.npending -= 1
            self.pending = self.pending[:len(self.pending) - 1 - uvarint_len(k)]
        if hs is not None:
            write_define_json(self.pending, k, [(n.start, n.end) for n in hs])
            values = [data[n.start:n.end] for n in hs]
        else:
            tk = self.tokens(data)
            write_define_text(self.pending, k, t, tk[0] if tk is not None else None)
            toks, seps = tokens_of(data)  # the decoder's split (tokenize may refuse a message)
            values = text_values(t, toks, seps)
        self.npending += 1
        self.pending_ops.append((OP_DEFINE_JSON if hs is not None else OP_DEFINE_TEXT, tid, t, values))

    def _replace_runtime(self, tid: int, old: Template, new: Template, data: bytes) -> None:
        # same kind and token count: the index entry (and its position) stays as it is
        if (self.rt_bytes - old.size + new.size > self.budget
                or self.rt_mem - old.footprint() + new.footprint() > self.rt_mem_limit()):
            return
        self._touch(tid)
        self.runtime[tid] = new
        self.rt_bytes += new.size - old.size
        self.rt_mem += new.footprint() - old.footprint()
        self._write_define(tid, new, data, None)

    def memory_bytes(self) -> int:
        """The decoder's state (as :class:`TemplateState` counts it) and the encoder's candidate pool."""
        return super().memory_bytes() + self.cand_held  # COPY's index: TemplateEncoder counts it


def ref_value(st: TemplateState, tid: int, mode: int) -> int:
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


def _has_long_array(root: Node) -> bool:
    stack = [root]
    while stack:
        n = stack.pop()
        if n.kind == K_ARR and len(n.children) > 1:
            return True
        stack.extend(n.children)
    return False
