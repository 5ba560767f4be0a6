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
    _NO32,
    _ZERO_IDX,
    HIST_HASH_BITS,
    PCHAIN_MAX_WINDOW,
    UNCOVERED,
    Candidates,
    MatchFinder,
    _index,
    _lit_price,
    _price_bit,
    _price_dist,
    _price_len,
    _price_rep,
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
    _i64s,
    _initial_reps,
    _msg_hash,
    _next_state_lit,
    _push_len,
    default_models,
)
from aura_wire.codec.brio.rangecoder import (
    _encode_dist,
    _encode_len,
    _encode_lit,
    _encode_msg_len,
    _RangeEncoder,
)
from aura_wire.codec.brio.speedups import current as speedups

#: Default size (positions, 2 bytes each) of the persistent chain's ring; frames whose search reaches
#: farther back chain per frame.
DEFAULT_SEARCH_RING: Final = 4096
#: The other nominal price tried in context mode: cheaper uncovered bytes favour shorter, nearer matches,
#: which wins on streams where most bytes are covered by matches anyway.
UNCOVERED_ALT: Final = 40
#: In context mode the encoder also parses with the other nominal price every PROBE_EVERY frames and keeps
#: the price that gave the smaller frame for the following frames.
PROBE_EVERY: Final = 8
#: BrioEncoder.commit indexes at most the last window + _INDEX_TAIL bytes of a message.
_INDEX_TAIL: Final = 65536

# The parse's options at one position (spec/brio.md §5): what _choose returns.
_LITERAL: Final = 0
_SHORT_REP: Final = 1
_REP: Final = 2
_MATCH: Final = 3


def _price_match(probs: vec[i16], state: i64, length: i64, dist: i64) -> i64:
    """Price of a main match (length, distance) coded in ``state``."""
    return (_price_bit(probs, P_IS_MATCH + state, 1) + _price_bit(probs, P_IS_REP + state, 0)
            + _price_len(probs, P_MLEN, length) + _price_dist(probs, length, dist - 1))


def _price_short_rep(probs: vec[i16], state: i64) -> i64:
    """Price of a short rep (one byte at rep0) coded in ``state``."""
    return (_price_bit(probs, P_IS_MATCH + state, 1) + _price_bit(probs, P_IS_REP + state, 1)
            + _price_bit(probs, P_IS_REP0 + state, 0) + _price_bit(probs, P_IS_REP0_LONG + state, 0))


def _later_wins(finder: MatchFinder, s2: Candidates, j: i64, state: i64, unc: i64, best_cost: i64,
                lmax: i64, blen: i64, lit_p: i64) -> bool:
    """The lazy step: is a literal at ``j`` followed by the best option at ``j + 1`` cheaper than the
    chosen option of length ``blen`` (price ``best_cost``, charged over ``lmax`` bytes)?"""
    probs = finder.probs
    finder.find(s2, j + 1)
    st2: i64 = _next_state_lit(state)
    l2: i64 = 0
    c2: i64 = 0
    if s2.rlen >= MIN_LEN:
        l2 = s2.rlen
        c2 = _price_rep(probs, st2, s2.ridx, s2.rlen)
    if s2.mlen >= 4:
        mc2: i64 = _price_match(probs, st2, s2.mlen, s2.mdist)
        if l2 == 0 or mc2 - unc * s2.mlen < c2 - unc * l2:
            l2 = s2.mlen
            c2 = mc2
    if l2 == 0:
        return False
    span: i64 = blen if blen > l2 + 1 else l2 + 1
    now: i64 = best_cost - unc * (lmax - blen) + unc * (span - blen)
    later: i64 = lit_p + c2 + unc * (span - 1 - l2)
    return later < now


def _choose(finder: MatchFinder, s: Candidates, s2: Candidates, j: i64, state: i64, lit_p: i64,
            cur_byte: i64) -> i64:
    """Literal, short rep, rep match or main match at ``j`` (``s``: the candidates found there), by
    price in 1/16 bit, charging uncovered bytes a nominal price so options of different lengths
    compare; then the lazy step for a match shorter than 64."""
    probs = finder.probs
    reps = finder.reps
    hb = finder.hb
    unc: i64 = s.unc
    c_len: i64 = len(finder.content)
    cur: i64 = c_len + j
    lmax: i64 = s.mlen if s.mlen > s.rlen else s.rlen
    if lmax < 1:
        lmax = 1
    best_kind: i64 = _LITERAL
    best_cost: i64 = lit_p + unc * (lmax - 1)
    if reps[0] <= cur:
        src0: i64 = cur - reps[0]
        b0: i64 = finder.content[src0] if src0 < c_len else hb[src0 - c_len]
        if b0 == cur_byte:
            sr: i64 = _price_short_rep(probs, state) + unc * (lmax - 1)
            if sr < best_cost:
                best_cost = sr
                best_kind = _SHORT_REP
    if s.rlen >= MIN_LEN:
        rp: i64 = _price_rep(probs, state, s.ridx, s.rlen) + unc * (lmax - s.rlen)
        if rp < best_cost:
            best_cost = rp
            best_kind = _REP
    if s.mlen >= 4:
        mp: i64 = _price_match(probs, state, s.mlen, s.mdist) + unc * (lmax - s.mlen)
        if mp < best_cost:
            best_cost = mp
            best_kind = _MATCH
    if best_kind >= _REP and j + 1 < finder.end:
        blen: i64 = s.rlen if best_kind == _REP else s.mlen
        if blen < 64 and _later_wins(finder, s2, j, state, unc, best_cost, lmax, blen, lit_p):
            best_kind = _LITERAL
    return best_kind


def _emit_match(rc: _RangeEncoder, kind: i64, s: Candidates, reps: vec[i64], state: i64) -> i64:
    """Code a short rep, rep match or main match (``kind``) in ``state``; update ``reps``; return the
    next state."""
    rc.bit(P_IS_MATCH + state, 1)
    if kind == _SHORT_REP:
        rc.bit(P_IS_REP + state, 1)
        rc.bit(P_IS_REP0 + state, 0)
        rc.bit(P_IS_REP0_LONG + state, 0)
        return 9 if state < 7 else 11
    if kind == _REP:
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
        _encode_len(rc, P_RLEN, s.rlen)
        return 8 if state < 7 else 11
    rc.bit(P_IS_REP + state, 0)
    _encode_len(rc, P_MLEN, s.mlen)
    _encode_dist(rc, s.mlen, s.mdist - 1)
    reps[3] = reps[2]
    reps[2] = reps[1]
    reps[1] = reps[0]
    reps[0] = s.mdist
    return 7 if state < 7 else 10


def _encode_frame(finder: MatchFinder, rc: _RangeEncoder, hist_len: i64, unc: i64) -> None:
    """Code the message ``finder.hb[hist_len:]`` into ``rc``: the parse, position by position
    (spec/brio.md §5); mutates the finder's ``probs``, ``idx`` and ``reps``."""
    hb = finder.hb
    content = finder.content
    c_len: i64 = len(content)
    reps = finder.reps
    probs = finder.probs
    end: i64 = finder.end
    state: i64 = 0
    prev: i64 = hb[hist_len - 1] if hist_len > 0 else 0
    j: i64 = hist_len
    s = Candidates(unc)
    s2 = Candidates(unc)
    while j < end:
        finder.find(s, j)
        cur_byte: i64 = hb[j]
        mbyte: i64 = -1
        if state >= 7:
            msrc: i64 = c_len + j - reps[0]
            mbyte = content[msrc] if msrc < c_len else hb[msrc - c_len]
        lit_p: i64 = _price_bit(probs, P_IS_MATCH + state, 0) + _lit_price(probs, prev, cur_byte, mbyte)
        kind = _choose(finder, s, s2, j, state, lit_p, cur_byte)
        if kind == _LITERAL:
            rc.bit(P_IS_MATCH + state, 0)
            _encode_lit(rc, prev, cur_byte, mbyte)
            state = _next_state_lit(state)
            finder.insert(j, j + 1)
            prev = cur_byte
            j += 1
            continue
        length: i64 = 1 if kind == _SHORT_REP else (s.rlen if kind == _REP else s.mlen)
        state = _emit_match(rc, kind, s, reps, state)
        finder.insert(j, j + length)
        j += length
        prev = hb[j - 1]


class History:
    """A context encoder's message history (the last ``window`` bytes of its committed messages),
    made into one ``bytes`` object only when something reads it (encoder only).

    Committing a message used to copy the whole history (32 KiB on a server, about 0.95 µs) even
    where no BRIO trial and no COPY value read it (templated market data: most messages).  Here
    a commit appends the message as a piece; the pieces are joined on demand, and at the latest
    once ``window >> 3`` bytes beyond the window are held.  A BRIO trial joins the history and its
    message in one copy (:meth:`joined`), and the commit of that message keeps the joined buffer
    (:meth:`commit`): one copy per message at most, where a trial and its commit made two.
    """

    def __init__(self, window: i64) -> None:
        self.window: i64 = window
        # the history is the last min(size, window) bytes of base ++ pieces
        self.base: bytes = b""
        self.pieces: list[bytes] = []
        self.size: i64 = 0
        # the last joined() result and the message it was made for
        self._jdata: bytes | None = None
        self._jbuf: bytes = b""

    def length(self) -> i64:
        """Bytes of the history (without making it)."""
        return self.size if self.size < self.window else self.window

    def _parts(self) -> list[bytes | memoryview]:
        """The history as views of ``base`` and the pieces."""
        skip: i64 = self.size - self.window
        parts: list[bytes | memoryview] = []
        base = self.base
        if skip < len(base):
            parts.append(memoryview(base)[skip:] if skip > 0 else base)
            skip = 0
        else:
            skip -= len(base)
        for p in self.pieces:
            if skip >= len(p):
                skip -= len(p)
                continue
            parts.append(memoryview(p)[skip:] if skip > 0 else p)
            skip = 0
        return parts

    def get(self) -> bytes:
        """The history as one bytes object (made once, kept until the next commit)."""
        if self.pieces or len(self.base) > self.window:
            self.base = b"".join(self._parts())
            self.pieces = []
            self.size = len(self.base)
        return self.base

    def joined(self, data: bytes) -> bytes:
        """The history followed by ``data``, in one copy (kept for the commit of ``data``)."""
        if self.has_joined(data):
            return self._jbuf
        parts = self._parts()
        parts.append(data)
        buf = b"".join(parts)
        self._jdata = data
        self._jbuf = buf
        return buf

    def has_joined(self, data: bytes) -> bool:
        """:meth:`joined` was called for ``data`` (the object) since the last commit."""
        return self._jdata is data

    def tail(self, k: i64) -> bytes:
        """The history's last ``k`` bytes (at most)."""
        if self.pieces and len(self.pieces[-1]) >= k:
            last = self.pieces[-1]
            return last[len(last) - k:]
        h = self.get()
        return h[len(h) - k:] if len(h) > k else h

    def commit(self, data: bytes) -> None:
        """``data`` joins the history."""
        if self.window <= 0:
            self._jdata = None
            self._jbuf = b""
            return
        if self._jdata is data:
            self.base = self._jbuf
            self.pieces = []
            self.size = len(self._jbuf)
        else:
            self.pieces.append(data)
            self.size += len(data)
        self._jdata = None
        self._jbuf = b""
        if self.size - self.window > (self.window >> 3) or len(self.pieces) > 256:
            self.get()


class BrioEncoder:
    """Encode messages as BRIO payloads (spec/brio.md).

    ``encode`` is a trial: it never changes the committed state.  In context
    mode the caller reports every context frame with :meth:`commit`.
    """

    def __init__(self, shared: BrioShared | None, *, context: bool, window: int = 8192,
                 search_ring: int = DEFAULT_SEARCH_RING, probe_every: int = PROBE_EVERY) -> None:
        if window < 0:
            raise ValueError("window must be >= 0")
        #: parse with the other nominal price every this many frames (0: never); encoder only
        self.probe_every: i64 = probe_every
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
        #: the message history (context mode; read it as ``hist``)
        self.history = History(self.window)
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

    @property
    def hist(self) -> bytes:
        """The message history: the last ``window`` bytes of the committed messages."""
        return self.history.get()

    def encode(self, data: bytes, check: int = -1) -> bytes:
        """Trial-code ``data``; ``check`` >= 0 replaces the frame's check value (TEMPLATE_BRIO)."""
        data = bytes(data)
        chk: i64 = check
        models = self.models[0:NPROBS]
        if self.context:
            idx = self.idx[0:len(self.idx)]
            reps = _initial_reps(self.lens, True)
            hb = self.history.joined(data)
        else:
            idx = _ZERO_IDX[0:1 << HIST_HASH_BITS]
            reps = _initial_reps(self.lens, False)
            hb = data
        hlen: i64 = len(hb) - len(data)
        unc: i64 = UNCOVERED_ALT if self.alt else UNCOVERED
        out = self._code(models, idx, reps, hb, hlen, data, self.counts, unc, chk)
        alt = self.alt
        if self.context and self.counts is None and self.probe_every > 0 and self.frames % self.probe_every == 0:
            # probe the other nominal price; keep whichever frame is smaller (and its models)
            models2 = self.models[0:NPROBS]
            idx2 = self.idx[0:len(self.idx)]
            unc2: i64 = UNCOVERED if self.alt else UNCOVERED_ALT
            out2 = self._code(models2, idx2, _initial_reps(self.lens, True), hb, hlen, data, None, unc2, chk)
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

    def _code(self, models: vec[i16], idx: vec[i16], reps: vec[i64], hb: bytes, hlen: i64, data: bytes,
              counts: vec[i64] | None, unc: i64, check: i64) -> bytes:
        """One frame of ``data`` = ``hb[hlen:]`` after the history ``hb[:hlen]``; mutates ``models``,
        ``idx`` and ``reps`` (the caller passes copies).  ``check`` >= 0 is written as the check
        value instead of ``msghash(seed, data)`` (TEMPLATE_BRIO frames check the message they
        decode to, spec/wire-format.md §4.6)."""
        sp = speedups()
        if sp is not None and counts is None:
            # the C module: the same frame, models, index and reps, in one call (speedups.py)
            out: bytes = sp.encode_frame(self.content, self.head, self.chain, self.shared is not None, models, idx,
                                         hb, hlen, self.total - hlen, reps, self.idx, self.plink,
                                         self.rmask, unc, check, self.conn_hash)
            return out
        rc = _RangeEncoder(models, counts)
        _encode_msg_len(rc, len(data))
        finder = MatchFinder(self.shared, models, idx, hb, hlen, self.total - hlen, reps,
                             self.idx, self.plink, self.rmask)
        _encode_frame(finder, rc, hlen, unc)
        rc.direct(check if check >= 0 else _msg_hash(self.conn_hash, data) >> (32 - CHECK_BITS), CHECK_BITS)
        return rc.finish()

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
        # index only what the next frames can reach: a message much longer than the window is
        # indexed from its last _INDEX_TAIL bytes, so committing a 5 MB message costs what
        # committing a 64 KiB one does (the positions before fall out of the history at once)
        n: i64 = len(data)
        keep: i64 = self.window + _INDEX_TAIL
        if self.rmask > 0 or not (trial_ok and self._trial_idx is not None):
            # the index after the frame is the same whichever parse made it; rebuild it (with the links).
            # Without links only the message's positions are hashed, reading the history's last 3
            # bytes: not a copy of the whole history (32 KiB on a server) per message
            if n > keep and self.window > 0:
                hb = data[n - keep - 3:]
                H0: i64 = 3
                total0: i64 = self.total + n - keep
            elif self.rmask > 0 or self.history.has_joined(data):
                hb = self.history.joined(data)  # a trial's buffer, or the history the links need
                H0 = len(hb) - n
                total0 = self.total
            else:
                hb = self.history.tail(3) + data
                H0 = len(hb) - n
                total0 = self.total
            start: i64 = H0 - 3 if H0 >= 3 else 0
            sp = speedups()
            if sp is not None:
                sp.index(hb, start, len(hb), self.idx, total0 - H0, self.plink, self.rmask)
            else:
                _index(hb, start, len(hb), self.idx, total0 - H0, self.plink, self.rmask, _NO32, _NO32, 0, 0)
            if self.rmask > 0 and trial_ok:
                self.alt = self._trial_alt
        elif self._trial_idx is not None:
            self.idx = self._trial_idx
            self.alt = self._trial_alt
        self._trial_data = None
        self._trial_models = None
        self._trial_idx = None
        _push_len(self.lens, len(data))
        self.total += len(data)
        self.frames += 1
        self.history.commit(data)

    def memory_bytes(self) -> int:
        if not self.context:
            return 64
        return self.history.size + 2 * len(self.idx) + 2 * len(self.plink) + 2 * len(self.models) + 64
