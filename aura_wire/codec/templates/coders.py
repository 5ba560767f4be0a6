"""The TEMPLATE method's per-connection coders: :class:`TemplateEncoder`, :class:`TemplateDecoder` (spec/templates.md).

Where the encoder cannot guarantee an exact round trip, :meth:`TemplateEncoder.encode`
returns None and the Encoder uses another method.  No I/O here.
"""

from __future__ import annotations

from aura_wire.codec.templates.copy import COPY_SEARCHES, ContentIndex
from aura_wire.codec.templates.fuzzy import encode_fuzzy
from aura_wire.codec.templates.payload import decode_payload, encode_match
from aura_wire.codec.templates.section import TemplateSet
from aura_wire.codec.templates.state import LAST_BUDGET_BYTES, _Match, _State


class TemplateEncoder:
    """Trial-encodes messages with templates; in context mode mirrors the decoder's state."""

    def __init__(self, templates: TemplateSet | None, *, context: bool,
                 max_runtime_templates: int = 64, max_runtime_bytes: int = 16384,
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

    def encode(self, data: bytes, text: bool, hist: bytes = b"") -> bytes | None:
        """Return the TEMPLATE payload for ``data``, or None when no template applies.

        ``hist`` is the direction's message history COPY atoms may refer to (context mode:
        the last ``window`` bytes of the messages before this one; spec §4.1.1).
        A trial: the state is not changed (call :meth:`commit` afterwards).
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

    def commit(self, data: bytes, chosen: bool) -> None:
        """Context mode: update the state after every context frame (whatever method coded it)."""
        if not self._st.context:
            return
        data = bytes(data)
        if self._trial_data is not None and self._trial_data == data:
            m = self._trial_match
        else:
            m = self._st.match(data)
        self._trial_data = None
        self._trial_match = None
        self._st.after(data, m)

    def memory_bytes(self) -> int:
        return self._st.memory_bytes()


class TemplateDecoder:
    """Decodes TEMPLATE payloads; in context mode keeps the state mirrored with the encoder."""

    def __init__(self, templates: TemplateSet | None, *, context: bool,
                 max_runtime_templates: int = 64, max_runtime_bytes: int = 16384,
                 max_state_bytes: int = LAST_BUDGET_BYTES, content: bytes = b"") -> None:
        self._st = _State(templates, context, max_runtime_templates, max_runtime_bytes, max_state_bytes)
        self._st.cx.content = bytes(content) if templates is not None else b""

    def decode(self, payload: bytes, text: bool, max_size: int, hist: bytes = b"") -> bytes:
        """Rebuild the message; in context mode the state is committed here.

        ``hist``: the direction's message history before this message (see the encoder).
        """
        st = self._st
        st.cx.hist = hist if st.context else b""
        data, m = decode_payload(st, bytes(payload), max_size)
        if st.context:
            # a fuzzy payload (m is None) updates the state like a frame of another method
            st.after(data, m if m is not None else st.match(data))
        return data

    def observe(self, data: bytes) -> None:
        """A context frame coded by another method: update the state as the encoder did."""
        st = self._st
        if not st.context:
            return
        data = bytes(data)
        st.after(data, st.match(data))

    def memory_bytes(self) -> int:
        return self._st.memory_bytes()
