"""The TEMPLATE method's per-connection coders: :class:`TemplateEncoder` here, :class:`TemplateDecoder`
(re-exported) in :mod:`aura_wire.codec.templates.render` (spec/templates.md).

Where the encoder cannot guarantee an exact round trip, :meth:`TemplateEncoder.encode`
returns None and the Encoder uses another method.  The decoder keeps only the mirrored
:class:`~aura_wire.codec.templates.context.TemplateState` and follows the frames: it never
matches or learns.  No I/O here.
"""

from __future__ import annotations

from typing import Final

from aura_wire.codec.brio.encode import History
from aura_wire.codec.templates.copy import COPY_SEARCHES, ContentIndex
from aura_wire.codec.templates.context import (
    LAST_BUDGET_BYTES,
)
from aura_wire.codec.templates.fuzzy import encode_fuzzy
from aura_wire.codec.templates.payload import encode_match, trial_size
from aura_wire.codec.templates.render import TemplateDecoder
from aura_wire.codec.templates.section import KIND_JSON, KIND_TEXT, TemplateSet
from aura_wire.codec.templates.state import _Match, _State


#: Most bytes a template frame may lose to BRIO to keep the text predictions fresh (state_bonus).
_BONUS_MAX: Final = 3
#: regime_bonus: the template frames a refresh is expected to pay for, the most bytes it may cost,
#: and the per-template statistics kept (encoder memory).
_REGIME_HORIZON: Final = 4
_REGIME_MAX: Final = 16
_REGIME_TEMPLATES: Final = 256
#: ... and while a template's frames go BRIO, every ``_REGIME_PROBE``-th may lose by
#: ``_REGIME_PROBE_BONUS`` to measure its template frames with fresh predictions.
_REGIME_PROBE: Final = 8
_REGIME_PROBE_BONUS: Final = 16


class TemplateEncoder:
    """Trial-encodes messages with templates; in context mode runs the learner and mirrors the
    decoder's state."""

    def __init__(self, templates: TemplateSet | None, *, context: bool,
                 max_runtime_templates: int = 64, max_runtime_bytes: int = 4096,
                 max_state_bytes: int = LAST_BUDGET_BYTES, fuzzy: bool = True, content: bytes = b"",
                 content_index: ContentIndex | None = None, copy_searches: int = COPY_SEARCHES,
                 hold_defines: bool = True) -> None:
        self._state = _State(templates, context, max_runtime_templates, max_runtime_bytes, max_state_bytes)
        # hold DEFINEs back while runtime templates go unused (state.WIN_MIN); the spec vectors that
        # exercise eviction are made with it off, so that unused templates are defined and evicted
        self._state.hold_defines = hold_defines
        self._state.trial_size = trial_size
        # COPY's shared content K (spec §4.1.1): only with the dictionary's templates (frame flag D)
        atom_ctx = self._state.atom_ctx
        atom_ctx.content = bytes(content) if templates is not None else b""
        if templates is not None and content_index is not None and content_index.shared_content == atom_ctx.content:
            atom_ctx.kindex = content_index
        atom_ctx.copy_searches = copy_searches
        #: also code near misses as a template plus an edit script (spec §4.3)
        self.fuzzy = fuzzy
        self._trial_data: bytes | None = None
        self._trial_match: _Match | None = None
        self._learned: bytes | None = None
        #: the instruction block of the last committed message (b"" for none): what a decoder
        #: following this encoder at payload level applies (TemplateDecoder.follow)
        self.last_instructions = b""
        # state_bonus: what a stale prev_text costs (EWMA, 1/16 bytes), whether prev_text is fresh
        # (the last message was an exact text template frame) and that message's first two values
        self._stale_cost = _BONUS_MAX << 2
        self._fresh = False
        self._last0: bytes | None = None
        self._last1: bytes | None = None
        # regime_bonus: per template id [template frame size when its state was fresh, BRIO frame
        # size (both EWMA, 1/16 bytes), its last occurrence went as a template frame (0/1)]
        self._regime: dict[int, list[int]] = {}

    def encode(self, data: bytes, text: bool, hist: bytes = b"", src: History | None = None) -> bytes | None:
        """Return the TEMPLATE payload for ``data``, or None when no template applies.

        ``hist`` is the direction's message history COPY atoms may refer to (context mode:
        the last ``window`` bytes of the messages before this one; spec §4.1.1), or ``src``
        holds it (made into bytes only if a value tries COPY).
        A trial: the state is not changed (call :meth:`learn` and :meth:`commit` afterwards).
        """
        data = bytes(data)
        st = self._state
        if src is not None and st.context:
            st.atom_ctx.lazy_hist(src)
        else:
            st.atom_ctx.hist = hist if st.context else b""
        if st.context and self._trial_data is data:
            m = self._trial_match  # prepare() matched it
        else:
            m = st.match(data)
            if st.context:
                self._trial_data = data
                self._trial_match = m
        if m is None:
            out = encode_fuzzy(st, data) if self.fuzzy else None
        else:
            out = encode_match(m, data, st)
        if not st.context:
            st.clear_cache()
        return out

    def prepare(self, data: bytes) -> int:
        """Context mode: match ``data`` ahead of :meth:`encode` (a trial, which then reuses the
        match, given the same object): the id of the JSON template it matched, else -1.  The
        Encoder predicts from it whether to code the template payload at all."""
        st = self._state
        if not st.context:
            return -1
        m = st.match(data)
        self._trial_data = data
        self._trial_match = m
        return m.tid if m is not None and m.tmpl.kind == KIND_JSON else -1

    def _match_for(self, data: bytes) -> _Match | None:
        if self._trial_data is not None and self._trial_data == data:
            return self._trial_match
        return self._state.match(data)

    def unprimed(self, runtime_only: bool = False) -> bool:
        """The trial's message matched a template whose slots have no previous values yet (with
        ``runtime_only``: a runtime template, one the learner defined on this connection)."""
        m = self._trial_match
        return (m is not None and (m.tid, None) not in self._state.lasts
                and (not runtime_only or m.tid in self._state.runtime))

    def state_bonus(self) -> int:
        """Context mode: bytes a non-template frame of the trial's message is expected to cost later.

        Only exact template frames update ``prev_text`` (spec/templates.md §5.1), which predicts
        slots 0 and 1 (usually date and time) of the next text message whatever its template.
        After a BRIO frame they are stale.  The cost is measured on the stream: for each text
        message whose prev_text is stale, the coded bytes of its slots 0 and 1 that equal the
        previous message's values (fresh predictions would have omitted them) but not the stale
        ones, averaged (EWMA).  That is a lower bound (the template's ``lasts`` and the recent
        strings go stale too, and a stale state makes the next template frame lose to BRIO again):
        the bonus is 4 times it, capped at ``_BONUS_MAX``, for a template that has predictions.  It
        starts at the cap: a stream that starts in the BRIO regime tends to stay there.  Measured
        (first 2000 messages, half coded): OpenSSH logs +24 %, Android logs -0.8 %, IRC -0.4 %,
        HDFS unchanged; streams whose first slots never repeat (millisecond times) measure about 0
        and keep the plain 1-byte preference.  The first 150 OpenSSH messages of a connection
        lose 5 % (BRIO adapts its model only on BRIO frames).
        """
        m = self._trial_match
        if m is None or m.tmpl.kind != KIND_TEXT or (m.tid, None) not in self._state.lasts:
            return 0
        d = self._stale_cost >> 2
        return _BONUS_MAX if d > _BONUS_MAX else d

    def regime_bonus(self, template_frame: int, brio_frame: int, text_only: bool = False) -> int:
        """Context mode: bytes a template frame of the trial's message may lose to the BRIO frame.

        A template's slot predictions follow only its template frames (spec/templates.md §5.1), so a
        stream can settle in a BRIO regime where stale predictions make every template frame lose,
        although template frames with fresh predictions would win (OpenSSH logs: 5 bytes against
        8, where a stale template frame takes 20).  Per template this measures (EWMA) its template
        frame when its state was fresh, and its BRIO frame; when the fresh template frame is the
        smaller, a refresh pays that difference on each of the next template frames: the bonus is
        ``_REGIME_HORIZON`` times it, capped.  While a template's messages go BRIO, every
        ``_REGIME_PROBE``-th is a probe (a template frame unless BRIO wins by 16 bytes), so the
        fresh size is measured again.  Measured at level 4 (first 600 coded messages): OpenSSH
        logs +15.4 %, Android +0.2 %, DevTools +0.5 %, HDFS -0.6 %, Binance -0.3 %, the others
        +-0.1 %; level 3 tries BRIO less often (method prediction): OpenSSH +0.3 %, HDFS +0.7 %.
        With ``text_only`` (level 4, whose BRIO trial comes with every message) a JSON template
        gets no bonus: there its template frames won where BRIO frames were smaller, more than the
        refresh then saved (Binance and Coinbase quotes, together with level 4's priming rule in
        Encoder._template_candidates).
        """
        m = self._trial_match
        if m is None or (text_only and m.tmpl.kind != KIND_TEXT):
            return 0
        reg = self._regime.get(m.tid)
        if reg is None:
            if len(self._regime) >= _REGIME_TEMPLATES:
                del self._regime[next(iter(self._regime))]
            reg = self._regime[m.tid] = [-1, brio_frame << 4, 0, 0]
        else:
            reg[1] += ((brio_frame << 4) - reg[1]) >> 2
        if reg[2] and (self._fresh or m.tmpl.kind != KIND_TEXT):
            reg[0] = template_frame << 4 if reg[0] < 0 else reg[0] + (((template_frame << 4) - reg[0]) >> 1)
        if not reg[2]:
            reg[3] += 1
            if reg[3] % _REGIME_PROBE == 0 or reg[0] < 0:
                return _REGIME_PROBE_BONUS  # probe: measure this template's frames with fresh predictions
        gain = (reg[1] - reg[0]) * _REGIME_HORIZON >> 4
        return 0 if gain <= 0 else _REGIME_MAX if gain > _REGIME_MAX else gain

    def _observe(self, m: _Match | None) -> None:
        """At commit: measure what a stale prev_text cost this message (see state_bonus), then
        remember its first two values."""
        st = self._state
        if m is None or m.tmpl.kind != KIND_TEXT or st.trial_match is not m:
            self._last0 = None
            self._last1 = None
            return
        vals = m.values
        v0 = vals[0] if len(vals) > 0 else None
        v1 = vals[1] if len(vals) > 1 else None
        if not self._fresh and self._last0 is not None:
            prev = st.prev_text
            lost = 0
            if v0 is not None and v0 == self._last0 and (len(prev) < 1 or prev[0] != v0):
                lost += st.trial_c0
            if v1 is not None and v1 == self._last1 and (len(prev) < 2 or prev[1] != v1):
                lost += st.trial_c1
            self._stale_cost += ((lost << 4) - self._stale_cost) >> 3
        self._last0 = v0
        self._last1 = v1

    def note_saving(self, saved: int) -> None:
        """Context mode: what the template frame of the message being committed saved over its
        BRIO frame, in bytes (0 when the template lost); the learner's rent-or-buy rule for DEFINEs
        runs on it (state.RENT_SHIFT)."""
        self._state.note_saving(saved if saved > 0 else 0)

    def learn(self, data: bytes) -> bytes:
        """Context mode, before the frame is built: the STATE instruction block the learner
        decided for this message (b"" for none).  Always followed by :meth:`commit`."""
        if not self._state.context:
            return b""
        data = bytes(data)
        self._learned = self._state.learn(data, self._match_for(data))
        return self._learned

    def commit(self, data: bytes, exact: bool, size: int = -1) -> None:
        """Context mode: commit a context frame; ``exact``: it was sent as this encoder's exact
        TEMPLATE payload (spec/templates.md §5.1); ``size``: the frame's bytes without its
        instructions (-1: unknown), what a template learned from this message must beat."""
        if not self._state.context:
            return
        data = bytes(data)
        self._state.atom_ctx.commit_history(data)
        if self._learned is None:
            self.learn(data)
        tm = self._trial_match if self._trial_data is not None and self._trial_data == data else None
        self._observe(tm)
        m = self._match_for(data) if exact else None
        if tm is not None:
            self._state.note_use(tm.tid, m is not None)
            reg = self._regime.get(tm.tid)
            if reg is not None:
                reg[2] = 1 if m is not None else 0
                if m is not None:
                    reg[3] = 0
        self._fresh = m is not None and m.tmpl.kind == KIND_TEXT
        self._trial_data = None
        self._trial_match = None
        # the history given to encode() (learn's DEFINE gate codes the trial again with it): kept
        # past the message, it would hold a second copy once the encoder's history is a new object
        self._state.atom_ctx.hist = b""
        self.last_instructions = self._learned or b""
        self._learned = None
        self._state.commit(data, m, size)

    def memory_bytes(self) -> int:
        hindex = self._state.atom_ctx.hindex
        return self._state.memory_bytes() + (hindex.memory_bytes() if hindex is not None else 0)


__all__ = ["TemplateDecoder", "TemplateEncoder"]
