"""Encoder: method selection and frame assembly (spec/wire-format.md §3-§5).

An :class:`Encoder` turns each application message into one AURA frame.  In
context mode (``context=True``) one Encoder serves one direction of one
connection and keeps state mirrored by the peer's Decoder (BRIO history and
models, runtime templates).  In stateless mode every frame decodes alone given
the dictionary, so one frame can be sent to many peers.  Heuristics (which
method to try, when to stop) live here.  No I/O here: bytes in, bytes out.
"""

from __future__ import annotations

import time
import zlib
from typing import Any, Final

from aura_wire.codec.brio.encode import BrioEncoder
from aura_wire.codec.brio.model import trim_history
from aura_wire.codec.config import CodecConfig
from aura_wire.codec.dictionary import Dictionary
from aura_wire.codec.frame import (
    STATE_COPIED_FLAGS,
    STATE_HEADER,
    METHOD_BRIO,
    METHOD_BROTLI,
    METHOD_NAMES,
    METHOD_RAW,
    METHOD_TEMPLATE,
    METHOD_TEMPLATE_BRIO,
    METHOD_ZSTD,
    dictionary_seed,
    pack_header,
)
from aura_wire.codec.shared import _shared_for
from aura_wire.codec.stdcodecs import (
    ZstdHistory,
    brotli_compress,
)
from aura_wire.codec.templates.coders import TemplateEncoder
from aura_wire.metrics import CompressionMetrics

#: The template shortcut (CodecConfig.template_shortcut) only skips the byte-level candidates
#: for template frames up to this size.
_SHORTCUT_MAX_FRAME: Final = 64
#: In context mode a template frame keeps the template state (slot predictions, masks) fresh, which
#: a BRIO frame of the same message does not (spec/templates.md §5.1): BRIO must beat it by more
#: than this many bytes, plus what the template encoder measures a stale text prediction to cost
#: (TemplateEncoder.state_bonus).  (Measured, 300 messages: HDFS logs +0.8 %; a larger fixed bonus,
#: a quarter of the frame, costs 7 % on DevTools events and 2.7 % on HDFS logs.)
_TEMPLATE_STATE_BONUS: Final = 1
#: A template's first exact use in a message up to this size is sent as a template frame.
_PRIME_MAX: Final = 512


def _check_of(mcrc: int, instr: bytes, method: int, text: bool, context: bool, use_dict: bool) -> int:
    """The check value of a candidate frame (spec §5.4), given ``mcrc`` = crc32(m, s): the
    instruction block, then the header byte(s), hashed last."""
    hdr = pack_header(method, text, context, use_dict)
    if instr:
        headers = bytes([STATE_HEADER | (hdr & STATE_COPIED_FLAGS), hdr])
    else:
        headers = bytes([hdr])
    return zlib.crc32(headers, zlib.crc32(instr, mcrc))

#: Method prediction (Encoder._learn): what a slot's last full trial chose among the byte-level methods.
_P_NONE: Final = 0  # a template method or RAW
_P_BRIO: Final = 1
_P_ZSTD: Final = 2
_P_BROTLI: Final = 3
#: Prediction slots: message size classes (powers of two from 64 to 32 KiB) x template matched or not.
_SIZE_CLASSES: Final = 11

#: Per-template prediction (Encoder._tpred): a JSON template whose last this many coded messages all
#: went BRIO or ZSTD clearly is not coded for its next messages (1, 2, 4 ... up to ``explore_interval``).
_TSKIP_AFTER: Final = 2
#: ... when it lost clearly: its template frame was larger than the winner by more than this many
#: bytes (a template frame close to the BRIO one may win once its predictions are fresh).
_TSKIP_MARGIN: Final = 2
#: ... for at most this many templates at a time (the least recently seen is forgotten first).
_TPRED_MAX: Final = 128

#: A BRIO trial costs about 100 ns per message byte, and a byte saved pays about 8 µs: the trial of
#: a template-predicted message is worth it when it is expected to save more than ``n >> 6`` bytes.
_TRIAL_COST_SHIFT: Final = 6

#: Large-message fast path: bytes of the incompressibility probe, and the ratio above which the
#: sample counts as incompressible.
_PROBE_BYTES: Final = 4096
_INCOMPRESSIBLE: Final = 0.97
#: ... and the brotli quality it uses when zstd is off (quality 1 runs at zstd-like speed).
_LARGE_BROTLI_QUALITY: Final = 1


def _slot(n: int, templated: bool) -> int:
    c = n.bit_length() - 6
    if c < 0:
        c = 0
    elif c >= _SIZE_CLASSES:
        c = _SIZE_CLASSES - 1
    return 2 * c + (1 if templated else 0)


class Encoder:
    """Encode application messages into AURA frames.

    ``Encoder(dictionary=None, *, context=True, config=None, **options)``: ``config`` is a
    :class:`~aura_wire.codec.config.CodecConfig` (default: the defaults), ``options`` its fields as
    keyword arguments, applied on top; an unknown option raises :class:`~aura_wire.errors.ConfigError`.
    """

    def __init__(self, dictionary: Dictionary | None = None, *, context: bool = True,
                 config: CodecConfig | None = None, **options: Any) -> None:
        self.config = CodecConfig.resolve(config, options)
        self.dictionary = dictionary
        self.context = context
        self.metrics = CompressionMetrics()
        cfg = self.config
        self._shared = _shared_for(dictionary, cfg)
        self._brio: BrioEncoder | None = None
        self._brio_plain: BrioEncoder | None = None
        self._tmpl: TemplateEncoder | None = None
        self._template_brio: BrioEncoder | None = None
        self._zhist: ZstdHistory | None = None
        #: the dictionary seed of the check byte, and the context check value (spec §5.4)
        self._seed = dictionary_seed(dictionary)
        self._check = self._seed
        # the message history COPY atoms refer to (spec/templates.md §4.1.1) when there is no BRIO
        # encoder, whose history is the same bytes
        self._hist = b""
        # method prediction per slot (see _learn): predicted method, messages until the next full
        # trial, current interval; all zero: the first message of each slot gets a full trial
        self._pred = bytearray(2 * _SIZE_CLASSES)
        self._due = bytearray(2 * _SIZE_CLASSES)
        self._iv = bytearray(2 * _SIZE_CLASSES)
        # per slot: the BRIO frame size its last BRIO trials reached, per 256 message bytes (EWMA,
        # 0: not measured yet); a template frame above it gets a BRIO trial (see _byte_candidates)
        self._brio_rate = [0] * (2 * _SIZE_CLASSES)
        # per slot: full trials that skip ZSTD while BRIO is tried, and the current number (see _zstd_lost)
        self._zskip = bytearray(2 * _SIZE_CLASSES)
        self._ziv = bytearray(2 * _SIZE_CLASSES)
        # this message's template frame and BRIO trial frame sizes (0 / -1: none; _measure_saving)
        self._tlen = 0
        self._blen = -1
        # per JSON template id: byte-level wins in a row over its coded template frames, and the
        # messages its payload is still not coded for, packed as wins | skip << 8 (see _tpred_skip)
        self._tpred: dict[int, int] = {}
        self._tskipped = 0  # messages whose template payload it did not code
        if context and cfg.zstd:
            self._zhist = self._shared.zstd_history(cfg, raw=cfg.zstd_raw_history)
        if cfg.brio:
            self._brio = BrioEncoder(self._shared.brio, context=context, window=cfg.window,
                                     search_ring=cfg.brio_search_ring, probe_every=cfg.brio_probe_every)
        if cfg.templates and (self._shared.templates is not None or context):
            self._tmpl = TemplateEncoder(
                self._shared.templates,
                context=context,
                max_runtime_templates=cfg.max_runtime_templates,
                max_runtime_bytes=cfg.max_runtime_template_bytes,
                max_state_bytes=cfg.template_state_bytes,
                fuzzy=cfg.fuzzy_templates,
                content=self._shared.copy_content,
                content_index=self._shared.copy_index,
                copy_searches=cfg.copy_searches,
            )
        if context and cfg.brio and self._tmpl is not None and cfg.template_brio_window > 0:
            # TEMPLATE_BRIO: the TEMPLATE payloads of this direction form their own BRIO context
            self._template_brio = BrioEncoder(self._shared.template_brio, context=True, window=cfg.template_brio_window,
                                   search_ring=cfg.brio_search_ring, probe_every=cfg.brio_probe_every)

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
        mcrc = zlib.crc32(data)  # stateless, D = 0: seed 0 (spec §5.4)
        method = METHOD_RAW
        best = data + bytes([_check_of(mcrc, b"", method, text, False, False) & 0xFF])
        if len(data) >= cfg.min_compression_size:
            if cfg.brio:
                plain = self._brio_plain
                if plain is None:  # made at the first sensitive message: 3 KiB of models and tables
                    plain = BrioEncoder(None, context=False, window=0)
                    self._brio_plain = plain
                cand = plain.encode(data, _check_of(mcrc, b"", METHOD_BRIO, text, False, False) & 0xFF)
                if len(cand) < len(best):
                    best, method = cand, METHOD_BRIO
            if cfg.zstd and len(data) >= cfg.zstd_min_size:
                cand = self._shared.zstd_plain.compress(data)
                cand += bytes([_check_of(mcrc, b"", METHOD_ZSTD, text, False, False) & 0xFF])
                if len(cand) < len(best):
                    best, method = cand, METHOD_ZSTD
        return bytes([pack_header(method, text, False, False)]) + best, method, False

    def _encode(self, data: bytes, text: bool) -> tuple[bytes, int, bool]:
        cfg = self.config
        ctx = self.context
        n = len(data)
        method = METHOD_RAW
        use_dict = False
        template_payload: bytes | None = None
        large = n >= cfg.large_message_size
        self._tlen = 0
        self._blen = -1
        tid = -1
        skipped = False
        if not large and n >= cfg.min_compression_size and self._tmpl is not None:
            if ctx and cfg.explore_interval > 0:
                tid = self._tmpl.prepare(data)
                skipped = tid >= 0 and self._tpred_skip(tid)
            if not skipped:
                if ctx and self._brio is not None:
                    template_payload = self._tmpl.encode(data, text, b"", self._brio.history)
                else:
                    template_payload = self._tmpl.encode(data, text, self._history())
        # the learner's decisions for this message, sent as STATE instructions (spec §4.7); decided
        # before the frame is built because the check byte covers them
        instr = self._tmpl.learn(data) if ctx and self._tmpl is not None else b""
        # the check byte (spec §5.4): crc32(F, crc32(I, crc32(m, s))); the message part once
        mcrc = zlib.crc32(data, self._check if ctx else 0)
        # a stateless frame that uses the dictionary seeds its check with the dictionary's
        mcrc_d = mcrc if ctx or self.dictionary is None else zlib.crc32(data, self._seed)
        best = data + bytes([_check_of(mcrc, instr, METHOD_RAW, text, ctx, False) & 0xFF])
        if large:
            best, method, use_dict = self._encode_large(data, best, mcrc, mcrc_d, instr, text)
        elif n >= cfg.min_compression_size:
            shortcut = False
            if template_payload is not None:
                best, method, use_dict, shortcut = self._template_candidates(data, text, template_payload, best, mcrc,
                                                                             mcrc_d, instr)
            if not shortcut:
                best, method, use_dict = self._byte_candidates(data, text, template_payload is not None or skipped,
                                                               best, method, use_dict, mcrc, mcrc_d, instr, skipped)
        templated = method == METHOD_TEMPLATE or method == METHOD_TEMPLATE_BRIO
        if ctx and self._tlen > 0 and self._tmpl is not None and not self._tmpl.unprimed():
            self._measure_saving(n, templated)
        elif skipped and self._tmpl is not None:
            self._tmpl.note_saving(0)  # as its coded messages measured: the template frame lost
        if tid >= 0 and not skipped:
            # a loss counts when it is clear: the template frame larger than the byte-level one by
            # more than _TSKIP_MARGIN
            self._tpred_learn(tid, (method == METHOD_BRIO or method == METHOD_ZSTD)
                              and (self._tlen == 0 or self._tlen > len(best) + _TSKIP_MARGIN))
        if ctx:
            self._commit(data, text, method, use_dict, template_payload, mcrc, mcrc_d, instr, 1 + len(best))
        hdr = pack_header(method, text, ctx, use_dict)
        if instr:
            frame = bytes([STATE_HEADER | (hdr & STATE_COPIED_FLAGS)]) + instr + bytes([hdr]) + best
        else:
            frame = bytes([hdr]) + best
        return frame, method, templated

    def _template_candidates(self, data: bytes, text: bool, template_payload: bytes, best: bytes, mcrc: int,
                             mcrc_d: int, instr: bytes) -> tuple[bytes, int, bool, bool]:
        """The TEMPLATE and TEMPLATE_BRIO candidates against ``best`` (the RAW frame): (best, method,
        D flag, shortcut), shortcut when the byte-level methods need not be tried."""
        cfg = self.config
        ctx = self.context
        n = len(data)
        method = METHOD_RAW
        use_dict = False
        tdict = self._shared.templates is not None
        template_frame = template_payload + bytes([_check_of(mcrc_d if tdict else mcrc, instr, METHOD_TEMPLATE, text,
                                                             ctx, tdict) & 0xFF])
        if len(template_frame) < len(best):
            best, method, use_dict = template_frame, METHOD_TEMPLATE, tdict
            self._tlen = len(best)
        if self._template_brio is not None and len(template_payload) <= n:
            # the same payload entropy-coded against this direction's earlier TEMPLATE payloads,
            # the check byte carried as the BRIO check bits (spec/wire-format.md §4.6)
            cand = self._template_brio.encode(template_payload, _check_of(mcrc_d if tdict else mcrc, instr,
                                                                          METHOD_TEMPLATE_BRIO, text, ctx, tdict) & 0xFF)
            if len(cand) < len(best):
                best, method, use_dict = cand, METHOD_TEMPLATE_BRIO, tdict
                self._tlen = len(best)
        # a small template frame that already shrinks the message this much is rarely beaten:
        # skip the byte-level candidates (they still commit the message); large messages
        # always try them (history matches shrink those far more than 16x)
        shortcut = (method != METHOD_RAW and len(best) <= n * cfg.template_shortcut
                    and len(best) <= _SHORTCUT_MAX_FRAME)
        # the first exact use of a template in a small message goes as a template frame
        # whatever BRIO would do: only template frames give its slots predictions
        # (templates.md §5.1), without which its payloads may never get small enough to win.
        # With a full trial for every message (explore_interval 0, level 4) only a runtime
        # template (the learner defined it to code template frames) is primed so; a dictionary
        # template's first use competes with BRIO (for text, with the regime bonus's probe):
        # level 4, first 2500 coded messages: OpenSSH +1.7 %, Binance +1.9 %, Coinbase +0.4 %,
        # Android -0.6 %; priming no template at all costs LLM chunks 1.8 %.  Since a DEFINE
        # primes its template (templates.md §5.5), a runtime template lacks predictions only when
        # §5.6's bound dropped them
        if (ctx and method != METHOD_RAW and n <= _PRIME_MAX and self._tmpl is not None
                and self._tmpl.unprimed(cfg.explore_interval == 0)):
            shortcut = True
        return best, method, use_dict, shortcut

    def _byte_candidates(self, data: bytes, text: bool, template_matched: bool, best: bytes, method: int,
                         use_dict: bool, mcrc: int, mcrc_d: int, instr: bytes,
                         skipped: bool = False) -> tuple[bytes, int, bool]:
        """The BRIO, ZSTD and BROTLI candidates against the best frame so far: (best, method, D flag).

        Method prediction: a full trial (every eligible method) when the slot is due, else only the
        method that won the slot's last full trial (see _learn); ``skipped``: the template payload
        was not coded (_tpred_skip), BRIO is tried as if predicted."""
        cfg = self.config
        ctx = self.context
        n = len(data)
        slot = _slot(n, template_matched)
        full = self._due[slot] == 0
        want = self._pred[slot]
        if skipped and want == _P_NONE:
            want = _P_BRIO
        rate = self._brio_rate[slot]
        # above brio_max_size ZSTD takes over (BRIO costs about 100 ns per byte), unless it is off
        brio_tried = False
        if self._brio is not None and (n <= cfg.brio_max_size or not cfg.zstd) and (
                full or want == _P_BRIO or (want == _P_NONE and method != METHOD_RAW and rate > 0
                                            and (len(best) - (n >> _TRIAL_COST_SHIFT)) * 256 > rate * n)):
            brio_tried = True
            bdict = self._shared.brio is not None
            cand = self._brio.encode(data, _check_of(mcrc_d if bdict else mcrc, instr, METHOD_BRIO, text, ctx,
                                                     bdict) & 0xFF)
            reached = (len(cand) << 8) // n
            self._brio_rate[slot] = reached if rate == 0 else rate + ((reached - rate) >> 2)
            self._blen = len(cand)
            bonus = 0
            if ctx and (method == METHOD_TEMPLATE or method == METHOD_TEMPLATE_BRIO) and self._tmpl is not None:
                bonus = _TEMPLATE_STATE_BONUS + self._tmpl.state_bonus()
                if cfg.regime_bonus:
                    # level 4 (a full trial for every message): text templates only (see
                    # TemplateEncoder.regime_bonus)
                    bonus = max(bonus, self._tmpl.regime_bonus(len(best), len(cand), cfg.explore_interval == 0))
            if len(cand) + bonus < len(best):
                best, method, use_dict = cand, METHOD_BRIO, bdict
        if (cfg.zstd and (n >= cfg.zstd_min_size or self._brio is None or n > cfg.brio_max_size)
                and (want == _P_ZSTD or (full and not (brio_tried and self._zskip[slot] > 0)))):
            got = self._zstd(data, self.dictionary is not None, mcrc, mcrc_d, instr, text)
            if got is not None and len(got[0]) < len(best):
                best, method, use_dict = got[0], METHOD_ZSTD, got[1]
            elif full and brio_tried:
                self._zstd_lost(slot)
        elif full and brio_tried and self._zskip[slot] > 0:
            self._zskip[slot] -= 1
        if (cfg.brotli and n >= cfg.brotli_min_size and (not ctx or 2 * len(best) > n)
                and (full or want == _P_BROTLI)):
            cand = brotli_compress(data, cfg.brotli_quality)
            cand += bytes([_check_of(mcrc, instr, METHOD_BROTLI, text, ctx, False) & 0xFF])
            if len(cand) < len(best) * (1.0 - cfg.slow_method_margin):
                best, method, use_dict = cand, METHOD_BROTLI, False
        self._learn(slot, full, method)
        return best, method, use_dict

    def _measure_saving(self, n: int, templated: bool) -> None:
        """What the template frame of this message saved over BRIO (its BRIO trial's frame, else the
        size the slot's BRIO trials reach): the template learner buys DEFINEs with it (rent or buy,
        codec/templates/state.py RENT_SHIFT).  A first use (no predictions yet) is not counted."""
        b = self._blen
        if b < 0:
            rate = self._brio_rate[_slot(n, True)]
            if rate == 0:
                return
            b = (rate * n) >> 8
        if self._tmpl is not None:
            self._tmpl.note_saving(b - self._tlen if templated else 0)

    def _commit(self, data: bytes, text: bool, method: int, use_dict: bool, template_payload: bytes | None,
                mcrc: int, mcrc_d: int, instr: bytes, size: int) -> None:
        """Context mode: every state the peer's decoder keeps follows the frame just built (spec §5.2);
        ``size``: that frame's bytes without its instructions."""
        templated = method == METHOD_TEMPLATE or method == METHOD_TEMPLATE_BRIO
        self._check = _check_of(mcrc_d if use_dict else mcrc, instr, method, text, True, use_dict)
        if self._zhist is not None:
            self._zhist.commit(data)
        if self._brio is not None:
            self._brio.commit(data, method == METHOD_BRIO)
        elif self._tmpl is not None:
            self._hist = trim_history(self._hist, data, self.config.window)
        if self._tmpl is not None:
            self._tmpl.commit(data, templated, size)
        if self._template_brio is not None and templated and template_payload is not None:
            self._template_brio.commit(template_payload, method == METHOD_TEMPLATE_BRIO)

    def _zstd(self, data: bytes, has_dict: bool, mcrc: int, mcrc_d: int, instr: bytes,
              text: bool) -> tuple[bytes, bool] | None:
        """The ZSTD candidate (spec §4.2; context mode: §4.2.1) with its check byte, and its D flag;
        None when a context prefix may not be used (it starts with the zstd dictionary magic)."""
        ctx = self.context
        if self._zhist is not None:
            prefix = self._shared.zstd_prefix
            if not self._zhist.usable(prefix):
                return None
            zstd_codec = self._zhist.codec(prefix, self.config.zstd_table_log, len(data))
            zdict = bool(prefix)
        else:
            zstd_codec = self._shared.zstd_dict if has_dict else None
            zdict = zstd_codec is not None
        cand = (zstd_codec or self._shared.zstd_plain).compress(data)
        cand += bytes([_check_of(mcrc_d if zdict else mcrc, instr, METHOD_ZSTD, text, ctx, zdict) & 0xFF])
        return cand, zdict

    def _encode_large(self, data: bytes, raw: bytes, mcrc: int, mcrc_d: int, instr: bytes,
                      text: bool) -> tuple[bytes, int, bool]:
        """Messages of ``large_message_size`` bytes or more: ZSTD (or, with zstd off, brotli at
        quality 1) or RAW, in bounded time: never BRIO, templates or a slow brotli.

        A sample from the middle of the message is compressed first; when it does not shrink by
        ``1 - _INCOMPRESSIBLE`` the message goes RAW at once (random or already-compressed data).
        ``raw`` is the RAW payload with its check byte.
        """
        cfg = self.config
        n = len(data)
        if not cfg.zstd and not cfg.brotli:
            return raw, METHOD_RAW, False
        mid = (n - _PROBE_BYTES) // 2
        sample = data[mid:mid + _PROBE_BYTES]
        if len(self._shared.zstd_fast.compress(sample)) > _INCOMPRESSIBLE * len(sample):
            return raw, METHOD_RAW, False
        if cfg.zstd:
            got = self._zstd(data, self.dictionary is not None, mcrc, mcrc_d, instr, text)
            if got is not None and len(got[0]) < len(raw):
                return got[0], METHOD_ZSTD, got[1]
            return raw, METHOD_RAW, False
        cand = brotli_compress(data, min(cfg.brotli_quality, _LARGE_BROTLI_QUALITY))
        cand += bytes([_check_of(mcrc, instr, METHOD_BROTLI, text, self.context, False) & 0xFF])
        if len(cand) < len(raw):
            return cand, METHOD_BROTLI, False
        return raw, METHOD_RAW, False

    def _zstd_lost(self, slot: int) -> None:
        """A full trial's ZSTD frame lost beside a BRIO trial: the slot's next full trials skip ZSTD
        (while BRIO is tried), 1, 2, 4 ... up to 4 * ``explore_interval`` of them after each loss in
        a row; a win in a full trial starts again from 1.

        The context ZSTD trial builds zstd's tables over the dictionary and the 32 KiB history each
        time (75-130 us, 10-16 bytes at 8 us per byte); beside BRIO it won 8 of 61 full trials on
        DevTools events and none of 13 on webhooks (messages up to ``brio_max_size``), by less in
        total than those trials cost.  With ``explore_interval`` 0 (level 4) every trial tries it."""
        limit = 4 * self.config.explore_interval
        if limit <= 0:
            return
        iv = min(2 * self._ziv[slot] if self._ziv[slot] else 1, limit, 255)
        self._ziv[slot] = iv
        self._zskip[slot] = iv

    def _tpred_skip(self, tid: int) -> bool:
        """Per-template prediction: whether the payload of JSON template ``tid`` is not coded for
        this message (its last coded messages all went BRIO or ZSTD; see _tpred_learn); the
        message then gets the byte-level trials alone.

        DevTools events: a few event types (templates) go BRIO on almost every message and
        others never do: the template payload (the template encoder, about 25 % of the encode)
        and its TEMPLATE_BRIO trial were coded for nothing there.  Text templates keep being
        coded: their regime probes (TemplateEncoder.regime_bonus) need their frames."""
        v = self._tpred.get(tid, 0)
        if v < 0x100:
            return False
        self._tpred[tid] = v - 0x100
        self._tskipped += 1
        return True

    def _tpred_learn(self, tid: int, byte_won: bool) -> None:
        """After a message whose template payload was coded: a byte-level frame (BRIO, ZSTD) adds
        to the template's wins in a row, and from ``_TSKIP_AFTER`` on its next 1, 2, 4 ... (up to
        ``explore_interval``) messages are not coded; a template frame starts again from 0."""
        tp = self._tpred
        if not byte_won:
            if tid in tp:
                del tp[tid]
            return
        wins = (tp.pop(tid, 0) & 0xFF) + 1
        if wins > 0xFF:
            wins = 0xFF
        skip = 0
        if wins >= _TSKIP_AFTER:
            skip = min(1 << min(wins - _TSKIP_AFTER, 8), self.config.explore_interval)
        if len(tp) >= _TPRED_MAX:
            del tp[next(iter(tp))]
        tp[tid] = wins | skip << 8

    def _learn(self, slot: int, full: bool, method: int) -> None:
        """Update the slot's prediction after a message (see CodecConfig.explore_interval).

        After a full trial the winner becomes the prediction; a repeated winner doubles the number of
        messages until the next full trial (up to ``explore_interval``), a new one resets it to 1.
        """
        if not full:
            self._due[slot] -= 1
            return
        won = _P_BRIO if method == METHOD_BRIO else _P_ZSTD if method == METHOD_ZSTD else (
            _P_BROTLI if method == METHOD_BROTLI else _P_NONE)
        if won == _P_ZSTD:
            self._ziv[slot] = 0
        limit = self.config.explore_interval
        if won == self._pred[slot]:
            iv = min(2 * self._iv[slot] if self._iv[slot] else 1, limit)
        else:
            iv = 1 if limit else 0
        self._pred[slot] = won
        self._iv[slot] = iv
        self._due[slot] = iv

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
        if self._template_brio is not None:
            total += self._template_brio.memory_bytes()
        return total + len(self._hist)  # COPY's own history, kept only without BRIO
