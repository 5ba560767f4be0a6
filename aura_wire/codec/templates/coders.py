"""The TEMPLATE method's per-connection coders: :class:`TemplateEncoder` here, :class:`TemplateDecoder`
(re-exported) in :mod:`aura_wire.codec.templates.render` (spec/templates.md).

Where the encoder cannot guarantee an exact round trip, :meth:`TemplateEncoder.encode`
returns None and the Encoder uses another method.  The decoder keeps only the mirrored
:class:`~aura_wire.codec.templates.context.TemplateState` and follows the frames: it never
matches or learns.  No I/O here.
"""

from __future__ import annotations

from aura_wire.codec.templates.copy import COPY_SEARCHES, ContentIndex
from aura_wire.codec.templates.context import (
    LAST_BUDGET_BYTES,
)
from aura_wire.codec.templates.fuzzy import encode_fuzzy
from aura_wire.codec.templates.payload import encode_match
from aura_wire.codec.templates.render import TemplateDecoder
from aura_wire.codec.templates.section import TemplateSet
from aura_wire.codec.templates.state import _Match, _State


class TemplateEncoder:
    """Trial-encodes messages with templates; in context mode runs the learner and mirrors the
    decoder's state."""

    def __init__(self, templates: TemplateSet | None, *, context: bool,
                 max_runtime_templates: int = 64, max_runtime_bytes: int = 4096,
                 max_state_bytes: int = LAST_BUDGET_BYTES, fuzzy: bool = True, content: bytes = b"",
                 content_index: ContentIndex | None = None, copy_searches: int = COPY_SEARCHES) -> None:
        self._st = _State(templates, context, max_runtime_templates, max_runtime_bytes, max_state_bytes)
        # COPY's shared content K (spec §4.1.1): only with the dictionary's templates (frame flag D)
        self._st.cx.content = bytes(content) if templates is not None else b""
        if templates is not None and content_index is not None and content_index.kc == self._st.cx.content:
            self._st.cx.kindex = content_index
        self._st.cx.copy_searches = copy_searches
        #: also code near misses as a template plus an edit script (spec §4.3)
        self.fuzzy = fuzzy
        self._trial_data: bytes | None = None
        self._trial_match: _Match | None = None
        self._learned: bytes | None = None
        #: the instruction block of the last committed message (b"" for none): what a decoder
        #: following this encoder at payload level applies (TemplateDecoder.follow)
        self.last_instructions = b""

    def encode(self, data: bytes, text: bool, hist: bytes = b"") -> bytes | None:
        """Return the TEMPLATE payload for ``data``, or None when no template applies.

        ``hist`` is the direction's message history COPY atoms may refer to (context mode:
        the last ``window`` bytes of the messages before this one; spec §4.1.1).
        A trial: the state is not changed (call :meth:`learn` and :meth:`commit` afterwards).
        """
        data = bytes(data)
        st = self._st
        st.cx.hist = hist if st.context else b""
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

    def _match_for(self, data: bytes) -> _Match | None:
        if self._trial_data is not None and self._trial_data == data:
            return self._trial_match
        return self._st.match(data)

    def unprimed(self) -> bool:
        """The trial's message matched a template whose slots have no previous values yet."""
        m = self._trial_match
        return m is not None and (m.tid, None) not in self._st.lasts

    def learn(self, data: bytes) -> bytes:
        """Context mode, before the frame is built: the STATE instruction block the learner
        decided for this message (b"" for none).  Always followed by :meth:`commit`."""
        if not self._st.context:
            return b""
        data = bytes(data)
        self._learned = self._st.learn(data, self._match_for(data))
        return self._learned

    def commit(self, data: bytes, exact: bool) -> None:
        """Context mode: commit a context frame; ``exact``: it was sent as this encoder's exact
        TEMPLATE payload (spec/templates.md §5.1)."""
        if not self._st.context:
            return
        data = bytes(data)
        if self._learned is None:
            self.learn(data)
        m = self._match_for(data) if exact else None
        self._trial_data = None
        self._trial_match = None
        self.last_instructions = self._learned or b""
        self._learned = None
        self._st.commit(data, m)

    def memory_bytes(self) -> int:
        return self._st.memory_bytes()


__all__ = ["TemplateDecoder", "TemplateEncoder"]
