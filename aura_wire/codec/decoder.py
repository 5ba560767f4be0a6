"""Decoder: frames back into the exact message (spec/wire-format.md §3-§5, wire format v2).

In context mode one Decoder serves one direction of one connection and keeps
the state the frames tell it to keep: histories, BRIO models, the check value,
and the template state, which changes only after an exact TEMPLATE payload and
by a STATE frame's explicit instructions.  A decoder follows instructions: it
never matches a message against templates and never learns one.  Every frame
is verified by its check byte (spec §5.4) before anything is delivered or
committed.  No I/O here: bytes in, bytes out.
"""

from __future__ import annotations

from dataclasses import fields
from time import perf_counter_ns
from typing import Any, Final

from aura_wire.codec.brio.decode import BrioDecoder
from aura_wire.codec.brio.model import trim_history
from aura_wire.codec.config import CodecConfig
from aura_wire.codec.dictionary import Dictionary
from aura_wire.codec.frame import (
    METHOD_BRIO,
    METHOD_BROTLI,
    METHOD_CONTROL,
    METHOD_NAMES,
    METHOD_RAW,
    METHOD_STATE,
    METHOD_TEMPLATE,
    METHOD_TEMPLATE_BRIO,
    METHOD_ZSTD,
    STATE_COPIED_FLAGS,
    FrameHeader,
    dictionary_seed,
    frame_check,
    parse_header,
)
from aura_wire.codec.shared import _shared_for
from aura_wire.codec.stdcodecs import ZstdCodec, ZstdHistory, brotli_decompress
from aura_wire.codec.templates.context import Instruction, parse_instructions
from aura_wire.codec.templates.render import Decoded, TemplateDecoder
from aura_wire.errors import (
    AuraError,
    ContextDesyncError,
    DictionaryMismatchError,
    FrameError,
    LimitError,
    PayloadError,
    UnknownDictionaryError,
)
from aura_wire.metrics import ROLE_DECODE, CompressionMetrics

#: CodecConfig fields that turn a method on or off in the encoder (never in the decoder).
METHOD_SWITCHES: Final = ("zstd", "brotli", "brio", "templates")


class Decoder:
    """Decode AURA frames back into the exact messages.

    ``Decoder(dictionary=None, *, context=True, max_message_size=None, config=None, **options)``:
    ``config`` and ``options`` as for :class:`~aura_wire.codec.encoder.Encoder`;
    ``max_message_size`` (default: the config's, 16 MiB) bounds every decoded message.
    The method switches (``zstd``, ``brotli``, ``brio``, ``templates``)
    are ignored: they shape an encoder, and a decoder accepts every method.  Every
    malformed, truncated, oversized or hostile frame raises an
    :class:`~aura_wire.errors.AuraError` subclass; after any error a context decoder
    refuses every later frame (spec §5.2 rule 3).
    """

    def __init__(
        self,
        dictionary: Dictionary | None = None,
        *,
        context: bool = True,
        max_message_size: int | None = None,
        config: CodecConfig | None = None,
        **options: Any,
    ) -> None:
        base = CodecConfig.resolve(config, options)
        if max_message_size is None:
            max_message_size = base.max_message_size
        values = {f.name: getattr(base, f.name) for f in fields(CodecConfig) if not f.name.startswith("_")}
        values["max_message_size"] = max_message_size
        # The per-method switches shape what an encoder sends; a decoder accepts every method
        # (docs/tuning.md): a side that does not send templates must still decode the peer's.
        values.update(dict.fromkeys(METHOD_SWITCHES, True))
        self.config = CodecConfig.from_mapping(values)
        self.dictionary = dictionary
        self.context = context
        self.max_message_size = max_message_size
        self.metrics = CompressionMetrics(ROLE_DECODE)
        cfg = self.config
        self._shared = _shared_for(dictionary, cfg)
        self._broken: AuraError | None = None
        #: the dictionary seed of the check byte (spec §5.4), and the context check value
        self._seed = dictionary_seed(dictionary)
        self._check = self._seed
        self._hist = b""  # COPY's message history when there is no BRIO decoder
        self._zhist: ZstdHistory | None = None
        self._brio: BrioDecoder | None = None
        self._template_brio: BrioDecoder | None = None
        self._brio_stateless: BrioDecoder | None = None
        self._brio_plain: BrioDecoder | None = None  # made at the first such frame: 3 KiB of models
        self._tmpl_stateless: TemplateDecoder | None = None
        self._tmpl = TemplateDecoder(
            self._shared.templates,
            context=context,
            max_runtime_templates=cfg.max_runtime_templates,
            max_runtime_bytes=cfg.max_runtime_template_bytes,
            max_state_bytes=cfg.template_state_bytes,
            content=self._shared.copy_content,
        )
        if context:
            # raw (about zstd_window bytes; no compression per committed message) unless
            # zstd_raw_history is off (the lean levels, whose point is memory)
            self._zhist = self._shared.zstd_history(cfg, raw=cfg.zstd_raw_history)
            self._brio = BrioDecoder(self._shared.brio, context=True, window=cfg.window)
            if cfg.template_brio_window > 0:
                self._template_brio = BrioDecoder(self._shared.template_brio, context=True, window=cfg.template_brio_window)

    def decode(self, frame: bytes) -> str | bytes:
        """Return the message carried by ``frame`` (``str`` for text frames)."""
        t0 = perf_counter_ns()  # a name, not time's attribute: one lookup less per frame
        try:
            if self._broken is not None:
                raise ContextDesyncError(f"decoder context is unusable after an earlier error: {self._broken}")
            data, text, method = self._decode(bytes(frame))
        except AuraError as exc:
            if self.context and self._broken is None:
                # spec §5.2 rule 3: the state may now differ from the encoder's
                self._broken = exc
            self.metrics.record_error()
            raise
        self.metrics.record(METHOD_NAMES[method], len(data), len(frame), (perf_counter_ns() - t0) * 1e-9,
                            method == METHOD_TEMPLATE or method == METHOD_TEMPLATE_BRIO)
        if text is not None:
            return text
        return data

    def _decode(self, frame: bytes) -> tuple[bytes, str | None, int]:
        """One frame, checks in the order of spec §5.6: the message, the message as text for a text
        frame (else None), and the method."""
        h = parse_header(frame)  # steps 2-3
        if h.method == METHOD_CONTROL:  # step 4
            raise FrameError("CONTROL frame given to the message decoder (session layer handles it)",
                             offset=0, field="header.method")
        pos = 1
        headers = frame[0:1]
        instr = b""
        instructions: list[Instruction] = []
        if h.method == METHOD_STATE:
            h, inner, instructions = self._unwrap_state(frame, h)
            headers = frame[0:1] + frame[inner:inner + 1]
            instr = frame[1:inner]
            pos = inner + 1
        self._check_flags(h, pos - 1)  # steps 5-6
        data, x, got, template_payload = self._payload(h, frame, pos)  # steps 7 and 9
        # step 10: the check byte
        seed = self._check if h.context else (self._seed if h.uses_dictionary else 0)
        c = frame_check(seed, data, instr, headers)
        if c & 0xFF != x:
            self._mismatch(h, len(frame) - 1)
        # step 11: text (decoded once: the str is what decode() returns)
        text: str | None = None
        if h.text:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise PayloadError(f"text frame is not valid UTF-8: {exc.reason}", offset=exc.start,
                                   field="message") from exc
        if h.context:
            self._commit(data, h.method, c, got, template_payload, instructions)
        return data, text, h.method

    def _unwrap_state(self, frame: bytes, h: FrameHeader) -> tuple[FrameHeader, int, list[Instruction]]:
        """A STATE frame with header ``h`` (spec §4.7, §5.6 step 8): its inner frame's header, that
        header's offset, and the instructions before it."""
        if not h.context:
            raise FrameError("STATE frame without the context flag", offset=0, field="header.context")
        if not self.context:
            raise ContextDesyncError("STATE frame received by a stateless decoder", offset=0,
                                     field="header.context")
        instructions, pos = parse_instructions(frame, 1)
        if pos >= len(frame):
            raise FrameError("STATE frame ends before its inner frame", offset=pos, field="state.inner")
        ih = parse_header(frame[pos:pos + 1])
        if ih.method >= METHOD_STATE or not ih.context:
            raise FrameError(f"STATE frame around a {METHOD_NAMES[ih.method]} frame or a stateless one",
                             offset=pos, field="state.inner")
        if (frame[0] ^ frame[pos]) & STATE_COPIED_FLAGS:
            raise FrameError("STATE header flags differ from its inner frame's", offset=0, field="header")
        return ih, pos, instructions

    def _payload(self, h: FrameHeader, frame: bytes, pos: int) -> tuple[bytes, int, Decoded | None, bytes]:
        """Steps 7 and 9 of spec §5.6 for the payload at ``frame[pos:]``: the message, the check byte
        the frame carries, and for a template method the decoded template and its payload."""
        limit = self.max_message_size
        method = h.method
        if method == METHOD_BRIO:
            data, x = self._brio_for(h).decode_unchecked(frame[pos:], limit)
            return data, x, None, b""
        if method == METHOD_TEMPLATE_BRIO:
            assert self._template_brio is not None
            # a template payload is never longer than its message (the encoder's rule), so the
            # message limit bounds it too
            template_payload, x = self._template_brio.decode_unchecked(frame[pos:], limit)
            got = self._tmpl.decode_payload(template_payload, limit, self._history())
            return got.data, x, got, template_payload
        if pos >= len(frame):  # step 7
            raise FrameError("frame too short for its check byte", offset=pos, field="check")
        x = frame[len(frame) - 1]
        payload = frame[pos:len(frame) - 1]  # one copy: the payload without its check byte
        if method == METHOD_TEMPLATE:
            tdec = self._tmpl if h.context or not self.context else self._stateless_templates()
            got = tdec.decode_payload(payload, limit, self._history() if h.context else b"")
            return got.data, x, got, payload
        if method == METHOD_RAW:
            if len(payload) > limit:
                raise LimitError(f"message of {len(payload)} bytes exceeds max_message_size {limit}",
                                 field="raw.length")
            data = payload
        elif method == METHOD_ZSTD:
            data = self._zstd(payload, h, limit)
        else:  # BROTLI
            data = brotli_decompress(payload, limit)
        return data, x, None, b""

    def _check_flags(self, h: FrameHeader, at: int) -> None:
        """Steps 5-6 of spec §5.6: the header's flags against the method and this decoder."""
        method = h.method
        if h.uses_dictionary and (method == METHOD_RAW or method == METHOD_BROTLI):
            raise FrameError(f"{METHOD_NAMES[method].upper()} frame with the dictionary flag set", offset=at,
                             field="header.dictionary")
        if method == METHOD_TEMPLATE_BRIO and not h.context:
            raise FrameError("TEMPLATE_BRIO frame without the context flag", offset=at, field="header.context")
        if h.context and not self.context:
            raise ContextDesyncError("context frame received by a stateless decoder", offset=at,
                                     field="header.context")
        if h.uses_dictionary and self.dictionary is None:
            raise UnknownDictionaryError("frame uses a shared dictionary but none is held", offset=at,
                                         field="header.dictionary")
        if method == METHOD_TEMPLATE_BRIO and self._template_brio is None:
            raise FrameError("TEMPLATE_BRIO frame but template_brio_window is 0", offset=at, field="header.method")
        if (method == METHOD_TEMPLATE or method == METHOD_TEMPLATE_BRIO) and \
                h.uses_dictionary != (self._shared.templates is not None):
            raise UnknownDictionaryError("template frame dictionary flag does not match this decoder's "
                                         "dictionary (templates section)", offset=at, field="header.dictionary")
        if method == METHOD_BRIO:
            if h.context and h.uses_dictionary != (self._shared.brio is not None):
                raise ContextDesyncError("context BRIO frame dictionary flag does not match this connection",
                                         offset=at, field="header.dictionary")
            if not h.context and h.uses_dictionary and self._shared.brio is None:
                raise UnknownDictionaryError("BRIO frame uses dictionary sections this dictionary lacks",
                                             offset=at, field="header.dictionary")
        if method == METHOD_ZSTD and h.uses_dictionary:
            has = self._shared.zstd_prefix if h.context else self._shared.zstd_dict
            if not has:
                raise UnknownDictionaryError("ZSTD frame uses a dictionary section this dictionary lacks",
                                             offset=at, field="header.dictionary")

    def _mismatch(self, h: FrameHeader, offset: int) -> None:
        """Raise the check-byte error of spec §5.4 for this kind of frame."""
        if h.context:
            raise ContextDesyncError("check byte mismatch: this decoder's context differs from the encoder's "
                                     "(lost or altered frame, or another dictionary)", offset=offset, field="check")
        if h.uses_dictionary:
            held = self.dictionary.id[:16] if self.dictionary is not None else "none"
            raise DictionaryMismatchError(f"check byte mismatch: the frame was coded with another dictionary than "
                                          f"{held}... (or corrupted)", offset=offset, field="check")
        raise PayloadError("check byte mismatch: corrupt frame", offset=offset, field="check")

    def _commit(self, data: bytes, method: int, c: int, got: Decoded | None, template_payload: bytes,
                instructions: list[Instruction]) -> None:
        """Spec §5.2 rule 1: every context frame, whatever its method."""
        self._check = c
        if self._zhist is not None:
            self._zhist.commit(data)
        if self._brio is not None:
            # a BRIO frame adopted its models while decoding; every frame enters the history
            self._brio.observe(data)
        else:
            self._hist = trim_history(self._hist, data, self.config.window)
        if got is not None:
            self._tmpl.commit(got)
            if self._template_brio is not None:
                self._template_brio.observe(template_payload)
        if instructions:
            self._tmpl.apply(instructions, data)

    def _zstd(self, payload: bytes, h: FrameHeader, limit: int) -> bytes:
        codec: ZstdCodec | None
        if h.context:
            assert self._zhist is not None
            prefix = self._shared.zstd_prefix if h.uses_dictionary else b""
            codec = self._zhist.codec(prefix) or self._shared.zstd_plain
        else:
            codec = self._shared.zstd_dict if h.uses_dictionary else self._shared.zstd_plain
        assert codec is not None
        return codec.decompress(payload, limit)

    def _brio_for(self, h: FrameHeader) -> BrioDecoder:
        if h.context:
            assert self._brio is not None
            return self._brio
        if not h.uses_dictionary:
            plain = self._brio_plain
            if plain is None:
                plain = BrioDecoder(None, context=False, window=0)
                self._brio_plain = plain
            return plain
        dec = self._brio_stateless
        if dec is None:
            dec = BrioDecoder(self._shared.brio, context=False, window=0)
            self._brio_stateless = dec
        return dec

    def _stateless_templates(self) -> TemplateDecoder:
        """A stateless frame (e.g. a broadcast) on a context connection: the shared templates only."""
        tdec = self._tmpl_stateless
        if tdec is None:
            tdec = TemplateDecoder(self._shared.templates, context=False, content=self._shared.copy_content)
            self._tmpl_stateless = tdec
        return tdec

    def _history(self) -> bytes | bytearray:
        """This direction's last ``window`` message bytes (context mode; spec/templates.md §4.1.1)."""
        if not self.context:
            return b""
        return self._brio.hist if self._brio is not None else self._hist

    def memory_bytes(self) -> int:
        total = self._tmpl.memory_bytes()
        if self._brio is not None:
            total += self._brio.memory_bytes()
        if self._zhist is not None:
            total += self._zhist.memory_bytes()
        if self._template_brio is not None:
            total += self._template_brio.memory_bytes()
        return total


__all__ = ["METHOD_SWITCHES", "Decoder"]
