"""Encoder and Decoder: method selection and frame assembly (spec/wire-format.md §3-§5).

An :class:`Encoder` turns each application message into one AURA frame; a
:class:`Decoder` turns frames back into the exact message.  In context mode
(``context=True``) one Encoder/Decoder pair serves one direction of one
connection and both keep mirrored state (BRIO history and models, runtime
templates); every frame flagged C is committed to that state on both sides,
whatever method coded it.  In stateless mode every frame decodes alone given
the dictionary, so one frame can be sent to many peers.

No I/O here: bytes in, bytes out.
"""

from __future__ import annotations

import time
import zlib
from typing import TYPE_CHECKING, Any, Final

from aura_wire.codec.brio import trim_history
from aura_wire.codec.config import DEFAULT_MAX_MESSAGE_SIZE, CodecConfig
from aura_wire.codec.dictionary import (
    SECTION_BRIO_CONTENT,
    SECTION_BRIO_MODEL,
    SECTION_TEMPLATE_BRIO_MODEL,
    SECTION_TEMPLATES,
    SECTION_ZSTD,
    Dictionary,
)
from aura_wire.codec.frame import (
    METHOD_BRIO,
    METHOD_BROTLI,
    METHOD_CONTROL,
    METHOD_NAMES,
    METHOD_RAW,
    METHOD_TEMPLATE,
    METHOD_TEMPLATE_BRIO,
    METHOD_ZSTD,
    pack_header,
    parse_header,
)
from aura_wire.codec.stdcodecs import ZstdCodec, ZstdHistory, brotli_compress, brotli_decompress
from aura_wire.errors import (
    AuraError,
    ContextDesyncError,
    FrameError,
    LimitError,
    PayloadError,
    UnknownDictionaryError,
)
from aura_wire.metrics import ROLE_DECODE, CompressionMetrics

if TYPE_CHECKING:
    from aura_wire.codec.brio import BrioDecoder, BrioEncoder, BrioShared
    from aura_wire.codec.templates import TemplateDecoder, TemplateEncoder, TemplateSet

__all__ = ["Encoder", "Decoder", "encode_control", "CONTROL_HEADER"]

#: CodecConfig fields that turn a method on or off in the encoder (never in the decoder).
METHOD_SWITCHES: Final = ("zstd", "brotli", "brio", "templates")

#: Header byte of a CONTROL frame (method 7, no flags); the payload belongs to the session layer.
CONTROL_HEADER: Final = METHOD_CONTROL


#: The template shortcut (CodecConfig.template_shortcut) only skips the byte-level candidates
#: for template frames up to this size.
_SHORTCUT_MAX_FRAME: Final = 64


def encode_control(payload: bytes) -> bytes:
    """Wrap a session-layer control payload in a CONTROL frame (spec/session.md)."""
    return bytes([CONTROL_HEADER]) + payload


class _Shared:
    """Objects derived from one dictionary, built once and shared by every connection."""

    def __init__(self, dictionary: Dictionary | None, zstd_level: int, want_brio: bool, want_templates: bool) -> None:
        self.dictionary = dictionary
        zd = dictionary.section(SECTION_ZSTD) if dictionary is not None else None
        self.zstd_dict = ZstdCodec(zd, zstd_level) if zd else None
        self.zstd_plain = ZstdCodec(None, zstd_level)
        self.brio: BrioShared | None = None
        #: initial models of the TEMPLATE_BRIO payload context (dictionary section 6), else None
        self.template_brio: BrioShared | None = None
        self.templates: TemplateSet | None = None
        self.copy_content = b""
        # raw content shared by context-mode ZSTD frames with D=1 (spec §4.2.1)
        self.zstd_prefix = b""
        if dictionary is not None:
            self.zstd_prefix = dictionary.section(SECTION_BRIO_CONTENT) or b""
        if dictionary is not None and want_brio:
            content = dictionary.section(SECTION_BRIO_CONTENT)
            model = dictionary.section(SECTION_BRIO_MODEL)
            if content is not None and model is not None:
                from aura_wire.codec.brio import BrioShared

                self.brio = BrioShared.from_sections(content, model)
            tbm = dictionary.section(SECTION_TEMPLATE_BRIO_MODEL)
            if tbm is not None and want_templates:
                from aura_wire.codec.brio import BrioShared

                # no content: the payload context matches only earlier payloads (wire-format §4.6)
                self.template_brio = BrioShared.from_sections(b"", tbm)
        if dictionary is not None and want_templates:
            section = dictionary.section(SECTION_TEMPLATES)
            if section is not None:
                from aura_wire.codec.templates import TemplateSet

                self.templates = TemplateSet.from_section(section)
                # COPY atoms of the dictionary's templates may copy from its BRIO content
                # (spec/templates.md §4.1.1)
                self.copy_content = dictionary.section(SECTION_BRIO_CONTENT) or b""


def _shared_for(dictionary: Dictionary | None, cfg: CodecConfig) -> _Shared:
    if dictionary is None:
        return _Shared(None, cfg.zstd_level, cfg.brio, cfg.templates)
    key = f"shared:{cfg.zstd_level}:{cfg.brio}:{cfg.templates}"
    got = dictionary.cached(key)
    if isinstance(got, _Shared):
        return got
    shared = _Shared(dictionary, cfg.zstd_level, cfg.brio, cfg.templates)
    dictionary.set_cached(key, shared)
    return shared


class Encoder:
    """Encode application messages into AURA frames.

    ``Encoder(dictionary=None, *, context=True, **config)``; ``config`` are the
    fields of :class:`~aura_wire.codec.config.CodecConfig`.
    """

    def __init__(self, dictionary: Dictionary | None = None, *, context: bool = True, **config: Any) -> None:
        self.config = CodecConfig.from_mapping(config)
        self.dictionary = dictionary
        self.context = context
        self.metrics = CompressionMetrics()
        cfg = self.config
        self._shared = _shared_for(dictionary, cfg)
        self._brio: BrioEncoder | None = None
        self._brio_plain: BrioEncoder | None = None
        self._tmpl: TemplateEncoder | None = None
        self._tb: BrioEncoder | None = None
        self._zhist: ZstdHistory | None = None
        self._check = 0  # CRC-32 of every committed message, in order (spec §5.2 rule 4)
        # the message history COPY atoms refer to (spec/templates.md §4.1.1) when there is no BRIO
        # encoder, whose history is the same bytes
        self._hist = b""
        if context and cfg.zstd:
            self._zhist = ZstdHistory(cfg.zstd_window, cfg.zstd_history_min_size, cfg.zstd_level, self._shared.zstd_dict)
        if cfg.brio:
            from aura_wire.codec.brio import BrioEncoder

            self._brio = BrioEncoder(self._shared.brio, context=context, window=cfg.window,
                                     search_ring=cfg.brio_search_ring)
            self._brio_plain = BrioEncoder(None, context=False, window=0)
        if cfg.templates and (self._shared.templates is not None or context):
            from aura_wire.codec.templates import TemplateEncoder

            self._tmpl = TemplateEncoder(
                self._shared.templates,
                context=context,
                max_runtime_templates=cfg.max_runtime_templates,
                max_runtime_bytes=cfg.max_runtime_template_bytes,
                fuzzy=cfg.fuzzy_templates,
                content=self._shared.copy_content,
            )
        if context and cfg.brio and self._tmpl is not None and cfg.template_brio_window > 0:
            from aura_wire.codec.brio import BrioEncoder

            # TEMPLATE_BRIO: the TEMPLATE payloads of this direction form their own BRIO context
            self._tb = BrioEncoder(self._shared.template_brio, context=True, window=cfg.template_brio_window,
                                   search_ring=cfg.brio_search_ring)

    @property
    def uses_dictionary(self) -> bool:
        return self.dictionary is not None

    def encode(self, message: str | bytes, *, sensitive: bool = False) -> bytes:
        """Return the frame for ``message`` (a ``str`` is sent as text).

        ``sensitive=True`` codes the message with no shared state at all: no
        dictionary, no history, and it is not added to the history, so its
        content cannot influence the size of any other frame (spec §7).
        """
        t0 = time.perf_counter_ns()
        if isinstance(message, str):
            data = message.encode("utf-8")
            text = True
        else:
            data = bytes(message)
            text = False
        if sensitive:
            frame, method, tmpl = self._encode_sensitive(data, text)
        else:
            frame, method, tmpl = self._encode(data, text)
        self.metrics.record(METHOD_NAMES[method], len(data), len(frame), (time.perf_counter_ns() - t0) * 1e-9, tmpl)
        return frame

    def _encode_sensitive(self, data: bytes, text: bool) -> tuple[bytes, int, bool]:
        cfg = self.config
        best = data
        method = METHOD_RAW
        if len(data) >= cfg.min_compression_size:
            if self._brio_plain is not None:
                cand = self._brio_plain.encode(data)
                if len(cand) < len(best):
                    best, method = cand, METHOD_BRIO
            if cfg.zstd and len(data) >= cfg.zstd_min_size:
                cand = self._shared.zstd_plain.compress(data)
                if len(cand) < len(best):
                    best, method = cand, METHOD_ZSTD
        return bytes([pack_header(method, text, False, False)]) + best, method, False

    def _encode(self, data: bytes, text: bool) -> tuple[bytes, int, bool]:
        cfg = self.config
        ctx = self.context
        n = len(data)
        best = data
        method = METHOD_RAW
        use_dict = False
        tpay: bytes | None = None
        # the check chain after this message (spec §5.2 rule 4): its low byte is the check byte of
        # context TEMPLATE, TEMPLATE_BRIO and ZSTD frames; it becomes the chain at the commit below
        chain = zlib.crc32(data, self._check) if ctx else 0
        if n >= cfg.min_compression_size:
            has_dict = self.dictionary is not None
            shortcut = False
            if self._tmpl is not None:
                tpay = self._tmpl.encode(data, text, self._history())
            if tpay is not None:
                tdict = self._shared.templates is not None
                check = chain & 0xFF
                if ctx:
                    # context TEMPLATE frames end with the check byte
                    cand_t = tpay + bytes([check])
                else:
                    cand_t = tpay
                if len(cand_t) < len(best):
                    best, method, use_dict = cand_t, METHOD_TEMPLATE, tdict
                if self._tb is not None and len(tpay) <= n:
                    # the same payload entropy-coded against this direction's earlier TEMPLATE payloads,
                    # the check byte carried as the BRIO check value (spec/wire-format.md §4.6)
                    cand = self._tb.encode(tpay, check)
                    if len(cand) < len(best):
                        best, method, use_dict = cand, METHOD_TEMPLATE_BRIO, tdict
                # a small template frame that already shrinks the message this much is rarely beaten:
                # skip the byte-level candidates (they still commit the message below); large messages
                # always try them (history matches shrink those far more than 16x)
                shortcut = (method != METHOD_RAW and len(best) <= n * cfg.template_shortcut
                            and len(best) <= _SHORTCUT_MAX_FRAME)
            if shortcut:
                pass
            elif self._brio is not None:
                cand = self._brio.encode(data)
                if len(cand) < len(best):
                    best, method, use_dict = cand, METHOD_BRIO, self._shared.brio is not None
            if shortcut:
                pass
            elif cfg.zstd and (n >= cfg.zstd_min_size or self._brio is None):
                if self._zhist is not None:
                    prefix = self._shared.zstd_prefix
                    zc = self._zhist.codec(prefix)
                    cand = (zc or self._shared.zstd_plain).compress(data)
                    cand += bytes([chain & 0xFF])  # the check byte
                    zdict = bool(prefix)
                else:
                    zc = self._shared.zstd_dict if has_dict else None
                    cand = (zc or self._shared.zstd_plain).compress(data)
                    zdict = zc is not None
                if len(cand) < len(best):
                    best, method, use_dict = cand, METHOD_ZSTD, zdict
            if shortcut:
                pass
            elif cfg.brotli and n >= cfg.brotli_min_size and (not ctx or 2 * len(best) > n):
                cand = brotli_compress(data, cfg.brotli_quality)
                if len(cand) < len(best) * (1.0 - cfg.slow_method_margin):
                    best, method, use_dict = cand, METHOD_BROTLI, False
        if ctx:
            self._check = chain
            if self._zhist is not None:
                self._zhist.commit(data)
            if self._brio is not None:
                self._brio.commit(data, method == METHOD_BRIO)
            elif self._tmpl is not None:
                self._hist = trim_history(self._hist, data, cfg.window)
            templated = method == METHOD_TEMPLATE or method == METHOD_TEMPLATE_BRIO
            if self._tmpl is not None:
                self._tmpl.commit(data, templated)
            if self._tb is not None and templated and tpay is not None:
                self._tb.commit(tpay, method == METHOD_TEMPLATE_BRIO)
        frame = bytes([pack_header(method, text, ctx, use_dict)]) + best
        return frame, method, method == METHOD_TEMPLATE or method == METHOD_TEMPLATE_BRIO

    def _history(self) -> bytes:
        """This direction's last ``window`` message bytes (context mode; spec/templates.md §4.1.1)."""
        if not self.context:
            return b""
        return self._brio.hist if self._brio is not None else self._hist

    def memory_bytes(self) -> int:
        """Per-connection state held by this encoder (shared dictionary objects excluded)."""
        total = 0
        if self._brio is not None:
            total += self._brio.memory_bytes()
        if self._tmpl is not None:
            total += self._tmpl.memory_bytes()
        if self._zhist is not None:
            total += self._zhist.memory_bytes()
        if self._tb is not None:
            total += self._tb.memory_bytes()
        return total + len(self._hist)  # COPY's own history, kept only without BRIO


class Decoder:
    """Decode AURA frames back into the exact messages.

    ``Decoder(dictionary=None, *, context=True, max_message_size=16 MiB, **config)``.
    The method switches of ``config`` (``zstd``, ``brotli``, ``brio``, ``templates``)
    are ignored: they shape an encoder, and a decoder accepts every method.  Every malformed, truncated, oversized or hostile frame raises an
    :class:`~aura_wire.errors.AuraError` subclass.
    """

    def __init__(
        self,
        dictionary: Dictionary | None = None,
        *,
        context: bool = True,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        **config: Any,
    ) -> None:
        config = dict(config)
        config["max_message_size"] = max_message_size
        # The per-method switches shape what an encoder sends; a decoder accepts every method
        # (docs/tuning.md): a side that does not send templates must still decode the peer's.
        config.update(dict.fromkeys(METHOD_SWITCHES, True))
        self.config = CodecConfig.from_mapping(config)
        self.dictionary = dictionary
        self.context = context
        self.max_message_size = max_message_size
        self.metrics = CompressionMetrics(ROLE_DECODE)
        self._shared = _shared_for(dictionary, self.config)
        self._brio: BrioDecoder | None = None
        self._brio_plain: BrioDecoder | None = None
        self._tmpl: TemplateDecoder | None = None
        self._brio_stateless: BrioDecoder | None = None
        self._tmpl_stateless: TemplateDecoder | None = None
        self._tb: BrioDecoder | None = None
        self._broken: AuraError | None = None
        cfg = self.config
        self._zhist: ZstdHistory | None = None
        self._check = 0  # CRC-32 of every committed message, in order (spec §5.2 rule 4)
        self._hist = b""  # COPY's message history when there is no BRIO decoder (see Encoder)
        if context:
            self._zhist = ZstdHistory(cfg.zstd_window, cfg.zstd_history_min_size, cfg.zstd_level, self._shared.zstd_dict)
        if cfg.brio:
            from aura_wire.codec.brio import BrioDecoder

            self._brio = BrioDecoder(self._shared.brio, context=context, window=cfg.window)
            self._brio_plain = BrioDecoder(None, context=False, window=0)
        if cfg.templates and (self._shared.templates is not None or context):
            from aura_wire.codec.templates import TemplateDecoder

            self._tmpl = TemplateDecoder(
                self._shared.templates,
                context=context,
                max_runtime_templates=cfg.max_runtime_templates,
                max_runtime_bytes=cfg.max_runtime_template_bytes,
                content=self._shared.copy_content,
            )
        if context and cfg.brio and self._tmpl is not None and cfg.template_brio_window > 0:
            from aura_wire.codec.brio import BrioDecoder

            self._tb = BrioDecoder(self._shared.template_brio, context=True, window=cfg.template_brio_window)

    def decode(self, frame: bytes) -> str | bytes:
        """Return the message carried by ``frame`` (``str`` for text frames)."""
        t0 = time.perf_counter_ns()
        try:
            if self._broken is not None:
                raise ContextDesyncError(f"decoder context is unusable after an earlier error: {self._broken}")
            data, text, method = self._decode(bytes(frame))
        except AuraError:
            self.metrics.record_error()
            raise
        self.metrics.record(METHOD_NAMES[method], len(data), len(frame), (time.perf_counter_ns() - t0) * 1e-9,
                            method == METHOD_TEMPLATE or method == METHOD_TEMPLATE_BRIO)
        if text:
            return data.decode("utf-8")
        return data

    def _decode(self, frame: bytes) -> tuple[bytes, bool, int]:
        h = parse_header(frame)
        payload = frame[1:]
        limit = self.max_message_size
        method = h.method
        if method == METHOD_CONTROL:
            raise FrameError("CONTROL frame given to the message decoder (session layer handles it)",
                             offset=0, field="header.method")
        if h.uses_dictionary and (method == METHOD_RAW or method == METHOD_BROTLI):
            raise FrameError(f"{METHOD_NAMES[method].upper()} frame with the dictionary flag set", offset=0,
                             field="header.dictionary")
        if h.context and not self.context:
            raise ContextDesyncError("context frame received by a stateless decoder", offset=0, field="header.context")
        if h.uses_dictionary and self.dictionary is None:
            raise UnknownDictionaryError("frame uses a shared dictionary but none is held", offset=0,
                                         field="header.dictionary")
        if method == METHOD_RAW:
            if len(payload) > limit:
                raise LimitError(f"message of {len(payload)} bytes exceeds max_message_size {limit}",
                                 field="raw.length")
            data = payload
        elif method == METHOD_ZSTD:
            zc: ZstdCodec | None
            if h.context:
                assert self._zhist is not None
                prefix = self._shared.zstd_prefix if h.uses_dictionary else b""
                if h.uses_dictionary and not prefix:
                    raise UnknownDictionaryError("context ZSTD frame uses shared content this dictionary lacks",
                                                 offset=0, field="header.dictionary")
                zc = self._zhist.codec(prefix) or self._shared.zstd_plain
            else:
                zc = self._shared.zstd_dict if h.uses_dictionary else self._shared.zstd_plain
            if zc is None:
                raise UnknownDictionaryError("frame uses the zstd dictionary but the dictionary has none",
                                             offset=0, field="header.dictionary")
            if h.context:
                if len(payload) < 1:
                    raise FrameError("context ZSTD frame lacks its check byte", offset=1, field="zstd.check")
                data = self._checked(zc.decompress(payload[:-1], limit), payload[-1], len(frame) - 1)
            else:
                data = zc.decompress(payload, limit)
        elif method == METHOD_BROTLI:
            data = brotli_decompress(payload, limit)
        elif method == METHOD_BRIO:
            data = self._decode_brio(payload, h.context, h.uses_dictionary, limit)
        elif method == METHOD_TEMPLATE:
            if self._tmpl is None:
                raise UnknownDictionaryError("TEMPLATE frame but no templates are available", offset=0,
                                             field="header.method")
            if h.uses_dictionary != (self._shared.templates is not None):
                raise UnknownDictionaryError("TEMPLATE frame dictionary flag does not match this decoder",
                                             offset=0, field="header.dictionary")
            if not h.context and self.context:
                # a stateless frame (e.g. a broadcast) on a context connection: decode it with
                # the shared templates only; it touches no connection state
                tdec = self._tmpl_stateless
                if tdec is None:
                    from aura_wire.codec.templates import TemplateDecoder

                    tdec = TemplateDecoder(self._shared.templates, context=False,
                                           content=self._shared.copy_content)
                    self._tmpl_stateless = tdec
                data = tdec.decode(payload, h.text, limit)
            elif h.context:
                if len(payload) < 1:
                    raise FrameError("context TEMPLATE frame lacks its check byte", offset=1, field="template.check")
                data = self._checked(self._tmpl.decode(payload[:-1], h.text, limit, self._history()),
                                     payload[-1], len(frame) - 1)
                if self._tb is not None:
                    self._tb.observe(payload[:-1])
            else:
                data = self._tmpl.decode(payload, h.text, limit)
        elif method == METHOD_TEMPLATE_BRIO:
            data = self._decode_template_brio(payload, h.context, h.uses_dictionary, h.text, limit)
        else:
            raise FrameError(f"unknown method {method}", offset=0, field="header.method")
        if h.text:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                err: AuraError = PayloadError(f"text frame is not valid UTF-8: {exc.reason}",
                                              offset=exc.start, field="message")
                if h.context:
                    self._broken = err
                raise err from exc
        if h.context:
            self._check = zlib.crc32(data, self._check)
            if self._zhist is not None:
                self._zhist.commit(data)
            if self._brio is not None and method != METHOD_BRIO:
                self._brio.observe(data)
            elif self._brio is None and self._tmpl is not None:
                self._hist = trim_history(self._hist, data, self.config.window)
            if self._tmpl is not None and method != METHOD_TEMPLATE and method != METHOD_TEMPLATE_BRIO:
                self._tmpl.observe(data)
        return data, h.text, method

    def _checked(self, data: bytes, check: int, offset: int) -> bytes:
        """Verify a context frame's check byte (spec §5.2 rule 4); a mismatch breaks the decoder."""
        if zlib.crc32(data, self._check) & 0xFF != check:
            desync = ContextDesyncError("context check byte mismatch: this decoder's state differs from the "
                                        "encoder's", offset=offset, field="check")
            self._broken = desync
            raise desync
        return data

    def _decode_template_brio(self, payload: bytes, context: bool, uses_dict: bool, text: bool, limit: int) -> bytes:
        """TEMPLATE_BRIO (spec/wire-format.md §4.6): a BRIO payload over this direction's TEMPLATE payloads."""
        if not context:
            raise FrameError("TEMPLATE_BRIO frame without the context flag", offset=0, field="header.context")
        tdec = self._tmpl
        tb = self._tb
        if tdec is None or tb is None:
            raise FrameError("TEMPLATE_BRIO frame but this decoder has it disabled", offset=0,
                             field="header.method")
        if uses_dict != (self._shared.templates is not None):
            raise UnknownDictionaryError("TEMPLATE_BRIO frame dictionary flag does not match this decoder",
                                         offset=0, field="header.dictionary")
        try:
            # a template payload is never longer than its message (the encoder's rule), so the
            # message limit bounds it too
            tpay, check = tb.decode_unchecked(payload, limit)
            data = self._checked(tdec.decode(tpay, text, limit, self._history()), check, len(payload))
        except AuraError as exc:
            # the payload context may have advanced: no later context frame can be trusted
            self._broken = exc
            raise
        tb.observe(tpay)
        return data

    def _decode_brio(self, payload: bytes, context: bool, uses_dict: bool, limit: int) -> bytes:
        if not self.config.brio:
            raise FrameError("BRIO frame but BRIO is disabled in this decoder", offset=0, field="header.method")
        if context:
            dec = self._brio
            if dec is None:
                raise FrameError("BRIO frame but BRIO is disabled in this decoder", offset=0, field="header.method")
            if uses_dict != (self._shared.brio is not None):
                raise ContextDesyncError("context BRIO frame dictionary flag does not match this connection",
                                         offset=0, field="header.dictionary")
            try:
                out: bytes = dec.decode(payload, limit)
                return out
            except AuraError as exc:
                # the BRIO context did not advance: any later context frame would be coded against a
                # state this decoder does not have, so the connection cannot go on (spec §5.2 rule 3)
                self._broken = exc
                raise
        if uses_dict:
            if self._shared.brio is None:
                raise UnknownDictionaryError("BRIO frame uses dictionary content this dictionary lacks",
                                             offset=0, field="header.dictionary")
            dec2 = self._brio_stateless
            if dec2 is None:
                from aura_wire.codec.brio import BrioDecoder

                dec2 = BrioDecoder(self._shared.brio, context=False, window=0)
                self._brio_stateless = dec2
            out2: bytes = dec2.decode(payload, limit)
            return out2
        if self._brio_plain is None:
            from aura_wire.codec.brio import BrioDecoder

            self._brio_plain = BrioDecoder(None, context=False, window=0)
        out3: bytes = self._brio_plain.decode(payload, limit)
        return out3

    def _history(self) -> bytes:
        """This direction's last ``window`` message bytes (context mode; spec/templates.md §4.1.1)."""
        if not self.context:
            return b""
        return self._brio.hist if self._brio is not None else self._hist

    def memory_bytes(self) -> int:
        total = 0
        if self._brio is not None:
            total += self._brio.memory_bytes()
        if self._tmpl is not None:
            total += self._tmpl.memory_bytes()
        if self._zhist is not None:
            total += self._zhist.memory_bytes()
        if self._tb is not None:
            total += self._tb.memory_bytes()
        return total + len(self._hist)  # COPY's own history, kept only without BRIO


def train_template_brio_model(dictionary: Dictionary, samples: list[bytes]) -> bytes | None:
    """The TEMPLATE_BRIO model section for ``dictionary`` (which lacks one), or None.

    Runs a context Encoder over an even subset of ``samples`` as one connection, counting the
    bits its payload context codes, and turns the counts into priors as BRIO's model training
    does (spec/brio.md §8): aggregate statistics of the template payloads, no substring.
    """
    from aura_wire.codec.brio_train import MODEL_ROUNDS, MODEL_SAMPLE_BYTES, even_subset, payload_model_section
    from aura_wire.codec.brio_train import start_counting, stop_counting

    sub = even_subset([bytes(s) for s in samples], MODEL_SAMPLE_BYTES)
    prior = None
    for _round in range(MODEL_ROUNDS):
        enc = Encoder(dictionary, context=True)
        tb = enc._tb
        if tb is None or enc._tmpl is None:
            return None
        start_counting(tb, prior)
        for m in sub:
            enc.encode(m)
        prior = stop_counting(tb)
    return payload_model_section(prior) if prior is not None else None
