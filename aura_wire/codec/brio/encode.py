"""The BRIO encoder (spec/brio.md §5-§7): :class:`BrioEncoder` and the frame parse.

In context mode the models keep adapting per connection in lock-step with the
decoder, and matches reach into the connection's recent history.  Heuristics
(which price, which window) live here only; the decoder follows the frame.
"""

from __future__ import annotations

from typing import Final

from librt.vecs import vec
from mypy_extensions import i16, i32, i64

from aura_wire.codec.brio.matchfinder import (
    _ZERO_IDX,
    HIST_HASH_BITS,
    PCHAIN_MAX_WINDOW,
    UNCOVERED,
    _find,
    _insert,
    _link_insert,
    _lit_price,
    _minsert,
    _price_bit,
    _price_dist,
    _price_len,
    _price_rep,
    _Search,
)
from aura_wire.codec.brio.model import (
    CHECK_BITS,
    MIN_LEN,
    NPROBS,
    P_IS_MATCH,
    P_IS_REP,
    P_IS_REP0,
    P_IS_REP0_LONG,
    P_IS_REP1,
    P_IS_REP2,
    P_MLEN,
    P_RLEN,
    STATELESS_SEED,
    BrioShared,
    _filled_i16,
    _filled_i32,
    _i64s,
    _initial_reps,
    _msg_hash,
    _next_state_lit,
    _push_len,
    default_models,
    trim_history,
)
from aura_wire.codec.brio.rangecoder import (
    _encode_dist,
    _encode_len,
    _encode_lit,
    _encode_msg_len,
    _RangeEncoder,
)

#: ... used for a frame when the history it searches is longer than PCHAIN_MIN_SPAN * the message (else
#: chaining it per frame costs little next to the message, and a per-frame chain is walked faster).
PCHAIN_MIN_SPAN: Final = 2
#: Default size (positions, 2 bytes each) of that ring; frames whose search reaches farther back chain per frame.
DEFAULT_SEARCH_RING: Final = 4096
#: From this message length on, the encoder also chains the whole history for the frame.
LONG_MESSAGE: Final = 1024
#: Otherwise the last RECENT_FACTOR * n + RECENT_MIN history bytes are chained for the frame.
RECENT_FACTOR: Final = 8
RECENT_MIN: Final = 2048
#: The other nominal price tried in context mode: cheaper uncovered bytes favour shorter, nearer matches,
#: which wins on streams where most bytes are covered by matches anyway.
UNCOVERED_ALT: Final = 40
#: In context mode the encoder also parses with the other nominal price every PROBE_EVERY frames and keeps
#: the price that gave the smaller frame for the following frames.
PROBE_EVERY: Final = 8
_NEG_HEADS: Final = _filled_i32(1 << 16, -1)


def _encode_frame(shared_content: bytes, head: vec[i32], chain: vec[i32], use_content: bool,
                  probs: vec[i16], idx: vec[i16], hist: bytes, data: bytes, abs_base: i64,
                  reps: vec[i64], seed: i64, counts: vec[i64] | None, unc: i64, check: i64,
                  pidx: vec[i16], plink: vec[i16], rmask: i64) -> bytes:
    """Code one message; mutates ``probs``, ``idx`` and ``reps`` (the caller passes copies).

    ``check`` >= 0 is written as the check value instead of ``msghash(seed, data)`` (TEMPLATE_BRIO
    frames check the message they decode to, spec/wire-format.md §4.6).  ``rmask`` > 0: ``pidx``/``plink``
    are the committed history index and persistent chain (see :func:`_find`).
    """
    rc = _RangeEncoder(probs, counts)
    hb = hist + data
    H: i64 = len(hist)
    n: i64 = len(data)
    end: i64 = H + n
    c_len: i64 = len(shared_content)
    _encode_msg_len(rc, n)
    _insert(idx, hb, H - 3 if H >= 3 else 0, H, abs_base)
    # per-frame hash chain: the message, the recent history in proportion to the message
    # (the persistent index covers the rest) and, for long messages, the whole history
    mbase: i64 = H - (RECENT_FACTOR * n + RECENT_MIN)
    if mbase < 0 or n >= LONG_MESSAGE:
        mbase = 0
    mbits: i64 = 8
    while mbits < 16 and (i64(1) << mbits) < 2 * (end - mbase):
        mbits += 1
    # positions up to H-4 are in the persistent chain (when kept); the frame chains the rest, keyed by
    # as few bits as its size needs (the walk filters by the mbits-bit hash)
    fbase: i64 = mbase
    fbits: i64 = mbits
    pfirst: i64 = -1
    pspan: i64 = H - 3 - mbase
    if rmask > 0 and mbits >= HIST_HASH_BITS and pspan > PCHAIN_MIN_SPAN * n and pspan <= rmask + 1:
        fbase = H - 3
        pfirst = H - 4
        fbits = 8
        while fbits < mbits and (i64(1) << fbits) < 2 * (end - fbase):
            fbits += 1
    mhead = _NEG_HEADS[0:i64(1) << fbits]
    # every chain entry is written before it is read, so any buffer of the right size will do
    csize: i64 = end - fbase + 1
    mchain = _NEG_HEADS[0:csize] if csize <= len(_NEG_HEADS) else _filled_i32(csize, -1)
    _minsert(mhead, mchain, fbits, hb, fbase, H, fbase)
    state: i64 = 0
    prev: i64 = hb[H - 1] if H > 0 else 0
    j: i64 = H
    s = _Search()
    s2 = _Search()
    s.unc = unc
    s2.unc = unc
    while j < end:
        _find(s, probs, shared_content, head, chain, use_content, idx, hb, j, end, abs_base, reps, mhead, mchain,
              mbits, mbase, fbits, fbase, pidx, plink, rmask, pfirst)
        cur_byte: i64 = hb[j]
        # choose among literal, short rep, rep match, main match by price (1/16 bit units),
        # charging uncovered bytes a nominal 5 bits so options of different lengths compare.
        lmax: i64 = s.mlen if s.mlen > s.rlen else s.rlen
        if lmax < 1:
            lmax = 1
        best_kind: i64 = 0  # 0 literal, 1 short rep, 2 rep, 3 main
        cur: i64 = c_len + j
        mbyte: i64 = -1
        if state >= 7:
            msrc: i64 = cur - reps[0]
            mbyte = shared_content[msrc] if msrc < c_len else hb[msrc - c_len]
        lit_p = _price_bit(probs, P_IS_MATCH + state, 0) + _lit_price(probs, prev, cur_byte, mbyte)
        best_cost: i64 = lit_p + unc * (lmax - 1)
        if reps[0] <= cur:
            src0: i64 = cur - reps[0]
            b0: i64 = shared_content[src0] if src0 < c_len else hb[src0 - c_len]
            if b0 == cur_byte:
                sr = (_price_bit(probs, P_IS_MATCH + state, 1) + _price_bit(probs, P_IS_REP + state, 1)
                      + _price_bit(probs, P_IS_REP0 + state, 0) + _price_bit(probs, P_IS_REP0_LONG + state, 0)
                      + unc * (lmax - 1))
                if sr < best_cost:
                    best_cost = sr
                    best_kind = 1
        if s.rlen >= MIN_LEN:
            rp = _price_bit(probs, P_IS_MATCH + state, 1) + _price_bit(probs, P_IS_REP + state, 1)
            if s.ridx == 0:
                rp += _price_bit(probs, P_IS_REP0 + state, 0) + _price_bit(probs, P_IS_REP0_LONG + state, 1)
            else:
                rp += _price_bit(probs, P_IS_REP0 + state, 1)
                if s.ridx == 1:
                    rp += _price_bit(probs, P_IS_REP1 + state, 0)
                else:
                    rp += _price_bit(probs, P_IS_REP1 + state, 1) + 16
            rp += _price_len(probs, P_RLEN, s.rlen) + unc * (lmax - s.rlen)
            if rp < best_cost:
                best_cost = rp
                best_kind = 2
        if s.mlen >= 4:
            mp = (_price_bit(probs, P_IS_MATCH + state, 1) + _price_bit(probs, P_IS_REP + state, 0)
                  + _price_len(probs, P_MLEN, s.mlen) + _price_dist(probs, s.mlen, s.mdist - 1)
                  + unc * (lmax - s.mlen))
            if mp < best_cost:
                best_cost = mp
                best_kind = 3
        if best_kind >= 2 and j + 1 < end:
            # lazy step: a literal here, then the best option one byte later, may cost less
            blen: i64 = s.rlen if best_kind == 2 else s.mlen
            if blen < 64:
                _find(s2, probs, shared_content, head, chain, use_content, idx, hb, j + 1, end, abs_base, reps, mhead,
                      mchain, mbits, mbase, fbits, fbase, pidx, plink, rmask, pfirst)
                # compare by price: this option, or a literal then the best option one byte later
                st2: i64 = _next_state_lit(state)
                l2: i64 = 0
                c2: i64 = 0
                if s2.rlen >= MIN_LEN:
                    l2 = s2.rlen
                    c2 = _price_rep(probs, st2, s2.ridx, s2.rlen)
                if s2.mlen >= 4:
                    mc2: i64 = (_price_bit(probs, P_IS_MATCH + st2, 1) + _price_bit(probs, P_IS_REP + st2, 0)
                                + _price_len(probs, P_MLEN, s2.mlen) + _price_dist(probs, s2.mlen, s2.mdist - 1))
                    if l2 == 0 or mc2 - unc * s2.mlen < c2 - unc * l2:
                        l2 = s2.mlen
                        c2 = mc2
                if l2 > 0:
                    span: i64 = blen if blen > l2 + 1 else l2 + 1
                    now: i64 = best_cost - unc * (lmax - blen) + unc * (span - blen)
                    later: i64 = lit_p + c2 + unc * (span - 1 - l2)
                    if later < now:
                        best_kind = 0
        if best_kind == 0:
            rc.bit(P_IS_MATCH + state, 0)
            _encode_lit(rc, prev, cur_byte, mbyte)
            state = _next_state_lit(state)
            _insert(idx, hb, j, j + 1, abs_base)
            _minsert(mhead, mchain, fbits, hb, j, j + 1, fbase)
            prev = cur_byte
            j += 1
            continue
        rc.bit(P_IS_MATCH + state, 1)
        length: i64 = 1
        if best_kind == 1:
            rc.bit(P_IS_REP + state, 1)
            rc.bit(P_IS_REP0 + state, 0)
            rc.bit(P_IS_REP0_LONG + state, 0)
            state = 9 if state < 7 else 11
        elif best_kind == 2:
            length = s.rlen
            rc.bit(P_IS_REP + state, 1)
            ri: i64 = s.ridx
            if ri == 0:
                rc.bit(P_IS_REP0 + state, 0)
                rc.bit(P_IS_REP0_LONG + state, 1)
            else:
                rc.bit(P_IS_REP0 + state, 1)
                if ri == 1:
                    rc.bit(P_IS_REP1 + state, 0)
                else:
                    rc.bit(P_IS_REP1 + state, 1)
                    rc.bit(P_IS_REP2 + state, ri - 2)
                d: i64 = reps[ri]
                while ri > 0:
                    reps[ri] = reps[ri - 1]
                    ri -= 1
                reps[0] = d
            _encode_len(rc, P_RLEN, length)
            state = 8 if state < 7 else 11
        else:
            length = s.mlen
            rc.bit(P_IS_REP + state, 0)
            _encode_len(rc, P_MLEN, length)
            _encode_dist(rc, length, s.mdist - 1)
            reps[3] = reps[2]
            reps[2] = reps[1]
            reps[1] = reps[0]
            reps[0] = s.mdist
            state = 7 if state < 7 else 10
        _insert(idx, hb, j, j + length, abs_base)
        _minsert(mhead, mchain, fbits, hb, j, j + length, fbase)
        j += length
        prev = hb[j - 1]
    rc.direct(check if check >= 0 else _msg_hash(seed, data) >> (32 - CHECK_BITS), CHECK_BITS)
    return rc.finish()


class BrioEncoder:
    """Encode messages as BRIO payloads (spec/brio.md).

    ``encode`` is a trial: it never changes the committed state.  In context
    mode the caller reports every context frame with :meth:`commit`.
    """

    def __init__(self, shared: BrioShared | None, *, context: bool, window: int = 8192,
                 search_ring: int = DEFAULT_SEARCH_RING) -> None:
        if window < 0:
            raise ValueError("window must be >= 0")
        self.shared = shared
        self.context = context
        self.window: i64 = window if context else 0
        self.content: bytes = shared.content if shared is not None else b""
        if shared is not None:
            self.head: vec[i32] = shared.head
            self.chain: vec[i32] = shared.chain
            prior = shared.prior_context if context else shared.prior_stateless
        else:
            self.head = vec[i32]()
            self.chain = vec[i32]()
            prior = default_models()
        self.prior: vec[i16] = prior
        self.models: vec[i16] = prior[0:NPROBS] if context else prior
        self.hist: bytes = b""
        self.total: i64 = 0
        self.conn_hash: i64 = STATELESS_SEED
        self.lens: vec[i64] = _i64s(0, 0, 0, 0)
        self.idx: vec[i16] = _ZERO_IDX[0:1 << HIST_HASH_BITS] if context else vec[i16]()
        # persistent chain over the recent history (encoder-only search state, see _find): a ring of
        # links, one per position, a power of two <= search_ring and < 2 * window (0: none)
        self.rmask: i64 = 0
        self.plink: vec[i16] = vec[i16]()
        if context and 0 < window <= PCHAIN_MAX_WINDOW and search_ring >= 2048:
            ring: i64 = 2048
            while ring < window and ring * 2 <= search_ring:
                ring = ring * 2
            self.rmask = ring - 1
            self.plink = _filled_i16(ring, 0)
        self._trial_data: bytes | None = None
        self._trial_models: vec[i16] | None = None
        self._trial_idx: vec[i16] | None = None
        self._trial_alt: bool = False
        self.counts: vec[i64] | None = None
        #: encoder-only parse choice (not part of the format): which nominal price, frames committed
        self.alt: bool = False
        self.frames: i64 = 0

    def encode(self, data: bytes, check: int = -1) -> bytes:
        """Trial-code ``data``; ``check`` >= 0 replaces the frame's check value (TEMPLATE_BRIO)."""
        data = bytes(data)
        chk: i64 = check
        models = self.models[0:NPROBS]
        if self.context:
            idx = self.idx[0:len(self.idx)]
            reps = _initial_reps(self.lens, True)
            hist = self.hist
        else:
            idx = _ZERO_IDX[0:1 << HIST_HASH_BITS]
            reps = _initial_reps(self.lens, False)
            hist = b""
        unc: i64 = UNCOVERED_ALT if self.alt else UNCOVERED
        out = _encode_frame(self.content, self.head, self.chain, self.shared is not None, models, idx, hist,
                            data, self.total - len(hist), reps, self.conn_hash, self.counts, unc, chk,
                            self.idx, self.plink, self.rmask)
        alt = self.alt
        if self.context and self.counts is None and self.frames % PROBE_EVERY == 0:
            # probe the other nominal price; keep whichever frame is smaller (and its models)
            models2 = self.models[0:NPROBS]
            idx2 = self.idx[0:len(self.idx)]
            unc2: i64 = UNCOVERED if self.alt else UNCOVERED_ALT
            out2 = _encode_frame(self.content, self.head, self.chain, self.shared is not None, models2, idx2,
                                 hist, data, self.total - len(hist), _initial_reps(self.lens, True),
                                 self.conn_hash, None, unc2, chk, self.idx, self.plink, self.rmask)
            if len(out2) < len(out):
                out = out2
                models = models2
                idx = idx2
                alt = not self.alt
        if self.context:
            self._trial_data = data
            self._trial_models = models
            self._trial_idx = idx
            self._trial_alt = alt
        return out

    def commit(self, data: bytes, chosen: bool) -> None:
        """Context mode: record a context frame (``chosen``: BRIO coded it, adopt its models)."""
        if not self.context:
            return
        data = bytes(data)
        if chosen and (self._trial_data is None or self._trial_data != data):
            self.encode(data)
        trial_ok = self._trial_data is not None and self._trial_data == data
        if chosen and self._trial_models is not None:
            self.models = self._trial_models
        if self.rmask > 0:
            # the index after the frame is the same whichever parse made it; rebuild it with the links
            hb0 = self.hist + data
            H0: i64 = len(self.hist)
            _link_insert(self.idx, self.plink, self.rmask, hb0, H0 - 3 if H0 >= 3 else 0, len(hb0),
                         self.total - H0)
            if trial_ok:
                self.alt = self._trial_alt
        elif trial_ok and self._trial_idx is not None:
            self.idx = self._trial_idx
            self.alt = self._trial_alt
        else:
            hb = self.hist + data
            H: i64 = len(self.hist)
            _insert(self.idx, hb, H - 3 if H >= 3 else 0, len(hb), self.total - H)
        self._trial_data = None
        self._trial_models = None
        self._trial_idx = None
        self.conn_hash = _msg_hash(self.conn_hash, data)
        _push_len(self.lens, len(data))
        self.total += len(data)
        self.frames += 1
        self.hist = trim_history(self.hist, data, self.window)

    def memory_bytes(self) -> int:
        if not self.context:
            return 64
        return len(self.hist) + 2 * len(self.idx) + 2 * len(self.plink) + 2 * len(self.models) + 64
