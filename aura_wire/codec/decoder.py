"""Decoder: frames back into the exact message (spec/wire-format.md §3-§5).

In context mode one Decoder serves one direction of one connection and keeps
the state the frames tell it to keep (BRIO history and models, runtime
templates); every frame flagged C is committed to that state, whatever method
coded it.  A decoder follows instructions: its state changes only as the
frame says, or by a simple rule over the decoded bytes.  No I/O here: bytes
in, bytes out.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import fields
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
    METHOD_TEMPLATE,
    METHOD_TEMPLATE_BRIO,
    METHOD_ZSTD,
    parse_header,
)
from aura_wire.codec.shared import _shared_for
from aura_wire.codec.stdcodecs import (
    ZstdCodec,
    ZstdHistory,
    brotli_decompress,
)
from aura_wire.codec.templates.coders import TemplateDecoder
from aura_wire.errors import (
    AuraError,
    ContextDesyncError,
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
    are ignored: they shape an encoder, and a decoder accepts every method.  Every malformed,
    truncated, oversized or hostile frame raises an
    :class:`~aura_wire.errors.AuraError` subclass.
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
            self._zhist = ZstdHistory(cfg.zstd_window, cfg.zstd_history_min_size, cfg.zstd_level, self._shared.zstd_rest)
        if cfg.brio:
            self._brio = BrioDecoder(self._shared.brio, context=context, window=cfg.window)
            self._brio_plain = BrioDecoder(None, context=False, window=0)
        if cfg.templates and (self._shared.templates is not None or context):
            self._tmpl = TemplateDecoder(
                self._shared.templates,
                context=context,
                max_runtime_templates=cfg.max_runtime_templates,
                max_runtime_bytes=cfg.max_runtime_template_bytes,
                content=self._shared.copy_content,
            )
        if context and cfg.brio and self._tmpl is not None and cfg.template_brio_window > 0:
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
                dec2 = BrioDecoder(self._shared.brio, context=False, window=0)
                self._brio_stateless = dec2
            out2: bytes = dec2.decode(payload, limit)
            return out2
        if self._brio_plain is None:
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
