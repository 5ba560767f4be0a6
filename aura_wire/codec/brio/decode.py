"""The BRIO decoder (spec/brio.md §5-§7): :class:`BrioDecoder`.

Every path rejects malformed input with an :class:`~aura_wire.errors.AuraError`;
decoded output is bounded by ``max_size`` before anything is allocated.
"""

from __future__ import annotations

from librt.strings import BytesWriter
from librt.vecs import vec
from mypy_extensions import i16, i64

from aura_wire.codec.brio.model import (
    CHECK_BITS,
    MAX_MSG_SLOT,
    NPROBS,
    P_ALIGN,
    P_IS_MATCH,
    P_IS_REP,
    P_IS_REP0,
    P_IS_REP0_LONG,
    P_IS_REP1,
    P_IS_REP2,
    P_MLEN,
    P_NLEN,
    P_NSUB,
    P_RLEN,
    P_SLOT,
    P_SPEC,
    STATELESS_SEED,
    BrioShared,
    _i64s,
    _initial_reps,
    _next_state_lit,
    _push_len,
    check_value,
    default_models,
    verify_check,
)
from aura_wire.codec.brio.rangecoder import _decode_len, _decode_lit, _RangeDecoder
from aura_wire.codec.brio import speedups as _speedups
from aura_wire.codec.brio.speedups import raise_decode_error
from aura_wire.errors import (
    ContextDesyncError,
    LimitError,
    PayloadError,
)


class BrioDecoder:
    """Decode BRIO payloads; in context mode every decoded or observed frame is committed."""

    def __init__(self, shared: BrioShared | None, *, context: bool, window: int = 8192) -> None:
        if window < 0:
            raise ValueError("window must be >= 0")
        self.shared = shared
        self.context = context
        self.window: i64 = window if context else 0
        self.content: bytes = shared.content if shared is not None else b""
        if shared is not None:
            prior = shared.prior_context if context else shared.prior_stateless
        else:
            prior = default_models()
        self.prior: vec[i16] = prior
        self.models: vec[i16] = prior[0:NPROBS] if context else prior
        #: context mode: the last ``window`` message bytes, kept in place (appended to, trimmed at
        #: the front: CPython moves a bytearray's start, no copy) instead of copied per frame
        self.hist: bytearray = bytearray()
        self.conn_hash: i64 = STATELESS_SEED
        self.lens: vec[i64] = _i64s(0, 0, 0, 0)
        #: context mode: a payload failed to decode, the models are no longer the encoder's
        self.broken = False

    def decode(self, payload: bytes, max_size: int) -> bytes:
        data, check = self.decode_unchecked(payload, max_size)
        self.broken = self.context  # the models adapted to a payload that may fail its check
        verify_check(check, check_value(self.conn_hash, data), self.context, len(payload))
        self.broken = False
        if self.context:
            self._append(data)
        return data

    def decode_unchecked(self, payload: bytes, max_size: int) -> tuple[bytes, int]:
        """Decode without verifying the check value: (message, check value read).

        In context mode the models adapt in place but the message is not yet
        appended: the caller verifies the check and then calls :meth:`observe`
        (the TEMPLATE_BRIO path checks the message its payload decodes to).
        After an error a context decoder refuses every later payload
        (ContextDesyncError): its models are no longer the encoder's.
        """
        if self.broken:
            raise ContextDesyncError("BRIO decoder state is unusable after an earlier error", offset=0,
                                     field="brio.payload")
        # context mode: the models adapt in place, no 5 KiB copy per frame; a failed payload leaves
        # them half-adapted, so an error breaks the decoder for good (as the frame Decoder does,
        # spec/wire-format.md §5.2 rule 3).  Stateless: the prior is shared, decode a copy.
        context = self.context
        models = self.models if context else self.models[0:NPROBS]
        hist: bytes | bytearray = self.hist if context else b""
        reps = _initial_reps(self.lens, self.context)
        sp = _speedups._active  # what speedups.current() returns, without an interpreted call per frame
        self.broken = context  # until the frame decodes
        if sp is not None:
            # the C module: the same message, models and errors, in one call (speedups.py)
            res = sp.decode_frame(self.content, models, hist, bytes(payload), max_size, reps)
            code: int = res[0]
            if code != 0:
                raise_decode_error(code, res[3], res[4], max_size)
            data: bytes = res[1]
            check: i64 = res[2]
        else:
            data, check = _decode_frame(self.content, models, bytes(hist), bytes(payload), max_size, reps)
        self.broken = False
        return data, check

    def trace(self, payload: bytes, max_size: int) -> list[tuple[str, i64, i64, i64]]:
        """The coded items of ``payload`` in order (rows as :func:`_decode_frame` documents them),
        decoded from the current state without changing it (for ``aura-wire inspect``)."""
        rows: list[tuple[str, i64, i64, i64]] = []
        _decode_frame(self.content, self.models[0:NPROBS], bytes(self.hist) if self.context else b"", bytes(payload),
                      max_size, _initial_reps(self.lens, self.context), rows)
        return rows

    def observe(self, data: bytes) -> None:
        """A context frame coded by another method: append it to the history."""
        if self.context:
            self._append(bytes(data))

    def _append(self, data: bytes) -> None:
        """The history becomes the last ``window`` bytes of history ++ ``data`` (model.trim_history's
        bytes): appended in place, the oldest bytes dropped from the front (O(1) in CPython: a
        bytearray's start moves; its buffer is compacted only when it grows), where a bytes history
        copied the whole window on every frame (2.8 us at a server's 32 KiB window)."""
        _push_len(self.lens, len(data))
        h = self.hist
        w = self.window
        n: i64 = len(data)
        if n >= w:
            h[:] = data[n - w:] if w > 0 else b""
            return
        h += data
        over: i64 = len(h) - w
        if over > 0:
            del h[:over]

    def memory_bytes(self) -> int:
        if not self.context:
            return 64
        return len(self.hist) + 2 * len(self.models) + 64


def _decode_msg_len(rd: _RangeDecoder) -> i64:
    """The message length (spec/brio.md §5.1): a 6-bit slot, then its low bits."""
    slot = rd.tree(P_NLEN, 6)
    if slot > MAX_MSG_SLOT:
        raise PayloadError(f"BRIO message length slot {slot} out of range", offset=0, field="brio.length")
    n: i64 = 0
    if slot == 1:
        n = 1
    elif slot >= 2:
        rest: i64 = slot - 1
        top: i64 = rest if rest < 2 else 2
        n = (1 << top) | rd.tree(P_NSUB + slot * 4, top)
        if rest > top:
            n = (n << (rest - top)) | rd.direct(rest - top)
    return n


def _decode_dist(rd: _RangeDecoder, length: i64) -> i64:
    """A main match's distance minus one (spec/brio.md §5.3): slot, then footer bits."""
    ls: i64 = 0 if length < 5 else 1
    dslot = rd.tree(P_SLOT + ls * 64, 6)
    if dslot < 4:
        return dslot
    footer: i64 = (dslot >> 1) - 1
    base: i64 = (2 | (dslot & 1)) << footer
    if dslot < 14:
        return base + rd.rtree(P_SPEC + base - dslot - 1, footer)
    return base + (rd.direct(footer - 4) << 4) + rd.rtree(P_ALIGN, 4)


def _copy_match(w: BytesWriter, content: bytes, src: i64, length: i64) -> None:
    """Append ``length`` bytes from ``src`` in content + output (the source may overlap the copy)."""
    c_len: i64 = len(content)
    k: i64 = 0
    while k < length:
        v: i64 = 0
        if src < c_len:
            v = content[src]
        else:
            v = i64(w[src - c_len])
        w.append(v)
        src += 1
        k += 1


def _check_end(rd: _RangeDecoder, payload: bytes) -> None:
    """A payload ends with the fewest bytes that pin the final interval (spec/brio.md §5.4)."""
    if len(payload) > rd.pos - 3:
        raise PayloadError("BRIO payload has bytes the decoder did not need", offset=rd.pos - 3,
                           field="brio.payload")
    if len(payload) > 0 and payload[len(payload) - 1] == 0:
        raise PayloadError("BRIO payload ends with a zero byte (not canonical)", offset=len(payload) - 1,
                           field="brio.payload")


def _decode_frame(content: bytes, probs: vec[i16], hist: bytes, payload: bytes, max_size: i64,
                  reps: vec[i64], trace: list[tuple[str, i64, i64, i64]] | None = None) -> tuple[bytes, i64]:
    """Decode one payload: (message, check value read); the caller verifies the check value.

    ``trace`` (for ``aura-wire inspect``) receives one ``(kind, a, b, offset)`` row per coded item,
    ``offset`` being the payload byte the range decoder had reached: ``("length", n, 0, _)``,
    ``("literal", byte, 0, _)``, ``("match", length, distance, _)``, ``("rep", length, distance, _)``,
    ``("short-rep", 1, distance, _)`` and ``("check", value, CHECK_BITS, _)``."""
    rd = _RangeDecoder(payload, probs)
    n: i64 = _decode_msg_len(rd)
    if n > max_size:
        raise LimitError(f"BRIO message of {n} bytes exceeds max_size {max_size}", field="brio.length")
    if trace is not None:
        trace.append(("length", n, 0, rd.pos))
    c_len: i64 = len(content)
    hist_len: i64 = len(hist)
    end: i64 = hist_len + n
    w = BytesWriter()
    w.write(hist)
    state: i64 = 0
    prev: i64 = hist[hist_len - 1] if hist_len > 0 else 0
    pos: i64 = hist_len
    while pos < end:
        if rd.bit(P_IS_MATCH + state) == 0:
            mbyte: i64 = -1
            if state >= 7:
                msrc: i64 = c_len + pos - reps[0]
                mbyte = content[msrc] if msrc < c_len else i64(w[msrc - c_len])
            b = _decode_lit(rd, prev, mbyte)
            if trace is not None:
                trace.append(("literal", b, 0, rd.pos))
            w.append(b)
            prev = b
            pos += 1
            state = _next_state_lit(state)
            continue
        length: i64 = 0
        dist: i64 = 0
        op = "match"
        if rd.bit(P_IS_REP + state) == 1:
            op = "rep"
            if rd.bit(P_IS_REP0 + state) == 0:
                if rd.bit(P_IS_REP0_LONG + state) == 0:
                    op = "short-rep"
                    length = 1
                    state = 9 if state < 7 else 11
                dist = reps[0]
            else:
                ri: i64 = 1
                if rd.bit(P_IS_REP1 + state) == 1:
                    ri = 2 + rd.bit(P_IS_REP2 + state)
                dist = reps[ri]
                while ri > 0:
                    reps[ri] = reps[ri - 1]
                    ri -= 1
                reps[0] = dist
            if length == 0:
                length = _decode_len(rd, P_RLEN)
                state = 8 if state < 7 else 11
        else:
            length = _decode_len(rd, P_MLEN)
            dist = _decode_dist(rd, length) + 1
            reps[3] = reps[2]
            reps[2] = reps[1]
            reps[1] = reps[0]
            reps[0] = dist
            state = 7 if state < 7 else 10
        if trace is not None:
            trace.append((op, length, dist, rd.pos))
        if length > end - pos:
            raise PayloadError(f"BRIO match of {length} bytes runs past the message end", offset=rd.pos,
                               field="brio.match")
        cur: i64 = c_len + pos
        if dist > cur or dist < 1:
            raise PayloadError(f"BRIO match distance {dist} reaches before the window", offset=rd.pos,
                               field="brio.distance")
        _copy_match(w, content, cur - dist, length)
        pos += length
        prev = i64(w[pos - 1])
    check = rd.direct(CHECK_BITS)
    if trace is not None:
        trace.append(("check", check, CHECK_BITS, rd.pos))
    whole = w.getvalue()
    data = whole[hist_len:]
    _check_end(rd, payload)
    return data, check
