"""BRIO's match finder and price estimates (encoder only; not part of the format).

Hash chains over the shared content, the recent history and the message
itself propose matches; prices in 1/16 bit from the current models choose
between them.  Written for mypyc: i64 locals, index loops, ``vec`` state.
"""

from __future__ import annotations

import math
from typing import Final

from librt.vecs import vec
from mypy_extensions import i16, i32, i64

from aura_wire.codec.brio.model import (
    CONTENT_HASH_BITS,
    HASH_MUL,
    LIT_CLASS,
    MASK32,
    MAX_LEN,
    MIN_LEN,
    P_IS_MATCH,
    P_IS_REP,
    P_IS_REP0,
    P_IS_REP0_LONG,
    P_IS_REP1,
    P_LIT,
    P_MLEN,
    P_MLIT,
    P_RLEN,
    P_SLOT,
    PROB_ONE,
    BrioShared,
    _dist_slot,
    _filled_i16,
    _filled_i32,
    _mix4,
)

# encoder search parameters (not part of the format)
HIST_HASH_BITS: Final = 10
CHAIN_DEPTH: Final = 16
#: Candidates tried along the per-frame chain (message + recent history).
MCHAIN_DEPTH: Final = 32
#: Context mode with a window up to this size keeps a persistent chain over the history (links as i16
#: deltas in a ring, heads = the history index), so a frame only chains its own bytes; the candidates
#: visited are exactly those of a per-frame chain over the same positions (encoder-only, not the format).
PCHAIN_MAX_WINDOW: Final = 32767
#: ... used for a frame when the history it searches is longer than PCHAIN_MIN_SPAN * the message (else
#: chaining it per frame costs little next to the message, and a per-frame chain is walked faster).
PCHAIN_MIN_SPAN: Final = 2
#: From this message length on, the encoder also chains the whole history for the frame.
LONG_MESSAGE: Final = 1024
#: Otherwise the last RECENT_FACTOR * n + RECENT_MIN history bytes are chained for the frame.
RECENT_FACTOR: Final = 8
RECENT_MIN: Final = 2048
#: Nominal price (1/16 bit) of a byte an option leaves uncovered, to compare options of different lengths.
UNCOVERED: Final = 64


def _price_table() -> bytes:
    out = bytearray(256)
    for i in range(256):
        p = (i * 16 + 8) / 4096.0
        v = int(round(-math.log2(p) * 16))
        out[i] = min(255, v)
    return bytes(out)


#: Price (1/16 bit) of coding a bit whose probability is p: PRICE[p >> 4].
PRICE: Final = _price_table()
_ZERO_IDX: Final = _filled_i16(1 << HIST_HASH_BITS, 0)
#: Empty heads for the per-frame chain (sliced to size).
_NEG_HEADS: Final = _filled_i32(1 << 16, -1)
#: Empty indexes: what _index leaves out.
_NO16: Final = vec[i16]()
_NO32: Final = vec[i32]()


# -- encoder core ----------------------------------------------------------------
def _mlen(content: bytes, c_len: i64, hb: bytes, src: i64, j: i64, maxlen: i64) -> i64:
    """Length of the match between virtual position ``src`` and ``hb[j:]`` (at most maxlen)."""
    n: i64 = 0
    if src < c_len:
        lim: i64 = c_len - src
        if lim > maxlen:
            lim = maxlen
        while n < lim and content[src + n] == hb[j + n]:
            n += 1
        if n < lim or n >= maxlen:
            return n
        s: i64 = -n
        while n < maxlen and hb[s + n] == hb[j + n]:
            n += 1
        return n
    s2: i64 = src - c_len
    while n < maxlen and hb[s2 + n] == hb[j + n]:
        n += 1
    return n


def _price_bit(probs: vec[i16], idx: i64, b: i64) -> i64:
    p: i64 = i64(probs[idx])
    if b:
        p = PROB_ONE - p
    return PRICE[p >> 4]


def _price_tree(probs: vec[i16], base: i64, nbits: i64, value: i64) -> i64:
    m: i64 = 1
    k: i64 = nbits - 1
    t: i64 = 0
    while k >= 0:
        b: i64 = (value >> k) & 1
        t += _price_bit(probs, base + m, b)
        m = (m << 1) | b
        k -= 1
    return t


def _price_len(probs: vec[i16], base: i64, length: i64) -> i64:
    v: i64 = length - MIN_LEN
    if v < 8:
        return _price_bit(probs, base, 0) + _price_tree(probs, base + 2, 3, v)
    t: i64 = _price_bit(probs, base, 1)
    if v < 16:
        return t + _price_bit(probs, base + 1, 0) + _price_tree(probs, base + 10, 3, v - 8)
    return t + _price_bit(probs, base + 1, 1) + _price_tree(probs, base + 18, 6, v - 16)


def _price_dist(probs: vec[i16], length: i64, dist0: i64) -> i64:
    ls: i64 = 0 if length < 5 else 1
    slot = _dist_slot(dist0)
    t = _price_tree(probs, P_SLOT + ls * 64, 6, slot)
    if slot >= 4:
        footer: i64 = (slot >> 1) - 1
        if slot < 14:
            t += footer * 16
        else:
            t += (footer - 4) * 16 + 64
    return t


def _price_rep(probs: vec[i16], state: i64, ridx: i64, rlen: i64) -> i64:
    """Price of a rep match (index ridx, length rlen) coded in ``state``."""
    rp: i64 = _price_bit(probs, P_IS_MATCH + state, 1) + _price_bit(probs, P_IS_REP + state, 1)
    if ridx == 0:
        rp += _price_bit(probs, P_IS_REP0 + state, 0) + _price_bit(probs, P_IS_REP0_LONG + state, 1)
    else:
        rp += _price_bit(probs, P_IS_REP0 + state, 1)
        if ridx == 1:
            rp += _price_bit(probs, P_IS_REP1 + state, 0)
        else:
            rp += _price_bit(probs, P_IS_REP1 + state, 1) + 16
    return rp + _price_len(probs, P_RLEN, rlen)


def _lit_price(probs: vec[i16], prev: i64, b: i64, mbyte: i64) -> i64:
    base: i64 = P_LIT + i64(LIT_CLASS[prev]) * 256
    if mbyte < 0:
        return _price_tree(probs, base, 8, b)
    m: i64 = 1
    k: i64 = 7
    t: i64 = 0
    matching: bool = True
    while k >= 0:
        bit: i64 = (b >> k) & 1
        if matching:
            mb: i64 = (mbyte >> k) & 1
            t += _price_bit(probs, P_MLIT + (mb << 3) + k, bit)
            if bit != mb:
                matching = False
        else:
            t += _price_bit(probs, base + m, bit)
        m = (m << 1) | bit
        k -= 1
    return t


def _index(hb: bytes, start: i64, end: i64, idx: vec[i16], abs_base: i64, plink: vec[i16], rmask: i64,
           mhead: vec[i32], mchain: vec[i32], mbits: i64, cbase: i64) -> None:
    """Record positions start..end-1 of hb, one rolling hash per position, in up to three indexes:

    * the history index ``idx`` (skipped when empty): one entry per HIST_HASH_BITS-bit hash, keeping
      16 bits of the absolute position ``abs_base + j``;
    * with ``rmask`` > 0, the persistent chain ``plink`` (a ring of rmask + 1 links): the link of a
      position is the distance to the previous position with the same index hash, or 0 when that one
      is no longer in ``hb`` or farther than PCHAIN_MAX_WINDOW (an index entry is trusted only when the
      position it names still has its hash);
    * with ``mbits`` > 0, the per-frame chain ``mhead``/``mchain`` keyed by ``mbits`` bits
      (``mchain[j - cbase]``)."""
    n: i64 = len(hb)
    j: i64 = start
    if j >= end or j + 4 > n:
        return
    use_idx: bool = len(idx) > 0
    b0: i64 = hb[j]
    b1: i64 = hb[j + 1]
    b2: i64 = hb[j + 2]
    v: i64 = b0 | (b1 << 8) | (b2 << 16)
    hshift: i64 = 32 - HIST_HASH_BITS
    mshift: i64 = 32 - mbits
    while j < end and j + 4 <= n:
        b3: i64 = hb[j + 3]
        v = v | (b3 << 24)
        hx: i64 = (v * HASH_MUL) & MASK32
        if use_idx:
            h: i64 = hx >> hshift
            pos: i64 = abs_base + j
            if rmask > 0:
                d: i64 = (pos - (i64(idx[h]) + 32768)) & 0xFFFF
                link: i64 = 0
                if d > 0 and d <= j and d <= PCHAIN_MAX_WINDOW and (_mix4(hb, j - d) >> hshift) == h:
                    link = d
                plink[pos & rmask] = i16(link)
            idx[h] = i16((pos & 0xFFFF) - 32768)
        if mbits > 0:
            hm: i64 = hx >> mshift
            mchain[j - cbase] = mhead[hm]
            mhead[hm] = i32(j)
        v = v >> 8
        j += 1


class Candidates:
    """What :meth:`MatchFinder.find` found at one position: the best main match (by price net of the
    bytes it covers, see :meth:`consider`) and the longest rep match."""

    def __init__(self, uncovered: i64) -> None:
        self.mlen: i64 = 0
        self.mdist: i64 = 0
        self.mscore: i64 = 0
        #: nominal price (1/16 bit) of a byte an option leaves uncovered
        self.unc: i64 = uncovered
        self.rlen: i64 = 0
        self.ridx: i64 = 0

    def consider(self, probs: vec[i16], ln: i64, dist: i64) -> None:
        """Keep the main-match candidate with the lowest price net of the bytes it covers."""
        if ln < 4:
            return
        sc: i64 = _price_len(probs, P_MLEN, ln) + _price_dist(probs, ln, dist - 1) - self.unc * ln
        if self.mlen == 0 or sc < self.mscore:
            self.mlen = ln
            self.mdist = dist
            self.mscore = sc


class MatchFinder:
    """The match search of one frame (encoder only; not part of the format).

    ``hb`` is the searched history followed by the message (the message starts at ``hist_len``);
    positions before ``hb`` are the shared content of ``shared`` (when given).  Three indexes
    propose candidates: the history index ``idx`` (one position per 10-bit hash, updated as the
    frame is coded), a hash chain over this frame's positions (``mhead``/``mchain``) and, in context
    mode, the persistent chain over the committed history (heads ``pidx``, links ``plink`` in a
    ring of ``rmask + 1``; ``rmask`` 0: none), and the content's own chain.
    """

    def __init__(self, shared: BrioShared | None, probs: vec[i16], idx: vec[i16], hb: bytes, hist_len: i64,
                 abs_base: i64, reps: vec[i64], pidx: vec[i16], plink: vec[i16], rmask: i64) -> None:
        self.probs = probs
        self.idx = idx
        self.hb = hb
        self.abs_base = abs_base
        self.reps = reps
        self.pidx = pidx
        self.plink = plink
        self.rmask = rmask
        self.use_content: bool = shared is not None
        if shared is not None:
            self.content: bytes = shared.content
            self.head: vec[i32] = shared.head
            self.chain: vec[i32] = shared.chain
        else:
            self.content = b""
            self.head = vec[i32]()
            self.chain = vec[i32]()
        end: i64 = len(hb)
        n: i64 = end - hist_len
        self.end: i64 = end
        # per-frame hash chain: the message, the recent history in proportion to the message
        # (the persistent index covers the rest) and, for long messages, the whole history
        mbase: i64 = hist_len - (RECENT_FACTOR * n + RECENT_MIN)
        if mbase < 0 or n >= LONG_MESSAGE:
            mbase = 0
        mbits: i64 = 8
        while mbits < 16 and (i64(1) << mbits) < 2 * (end - mbase):
            mbits += 1
        # positions up to hist_len-4 are in the persistent chain (when kept); the frame chains the rest, keyed by
        # as few bits as its size needs (the walk filters by the mbits-bit hash)
        fbase: i64 = mbase
        fbits: i64 = mbits
        pfirst: i64 = -1
        pspan: i64 = hist_len - 3 - mbase
        if rmask > 0 and mbits >= HIST_HASH_BITS and pspan > PCHAIN_MIN_SPAN * n and pspan <= rmask + 1:
            fbase = hist_len - 3
            pfirst = hist_len - 4
            fbits = 8
            while fbits < mbits and (i64(1) << fbits) < 2 * (end - fbase):
                fbits += 1
        self.mbase: i64 = mbase
        self.mbits: i64 = mbits
        self.fbase: i64 = fbase
        self.fbits: i64 = fbits
        self.pfirst: i64 = pfirst
        self.mhead: vec[i32] = _NEG_HEADS[0:i64(1) << fbits]
        # every chain entry is written before it is read, so any buffer of the right size will do
        csize: i64 = end - fbase + 1
        self.mchain: vec[i32] = _NEG_HEADS[0:csize] if csize <= len(_NEG_HEADS) else _filled_i32(csize, -1)
        _index(hb, hist_len - 3 if hist_len >= 3 else 0, hist_len, idx, abs_base, _NO16, 0, _NO32, _NO32, 0, 0)
        _index(hb, fbase, hist_len, _NO16, 0, _NO16, 0, self.mhead, self.mchain, fbits, fbase)

    def insert(self, start: i64, end: i64) -> None:
        """Index the frame's positions start..end-1 once they are coded."""
        _index(self.hb, start, end, self.idx, self.abs_base, _NO16, 0, self.mhead, self.mchain, self.fbits,
               self.fbase)

    def find(self, s: Candidates, j: i64) -> None:
        """Rep candidates and main-match candidates at position ``j``, nearest first; a candidate is only
        looked at when it is longer than every nearer one (a farther, not longer match never costs less).

        Main candidates come from the hash chain of positions mbase..j-1 whose ``mbits``-bit hash equals
        that of position j, nearest first, at most MCHAIN_DEPTH of them.  Positions fbase.. are chained
        per frame (keyed by ``fbits`` <= mbits bits); positions mbase..pfirst (committed history) are
        walked in the persistent chain, keyed by HIST_HASH_BITS bits."""
        probs = self.probs
        shared_content = self.content
        hb = self.hb
        end: i64 = self.end
        reps = self.reps
        c_len: i64 = len(shared_content)
        cur: i64 = c_len + j
        maxlen: i64 = end - j
        if maxlen > MAX_LEN:
            maxlen = MAX_LEN
        s.mlen = 0
        s.mdist = 0
        s.mscore = 0
        s.rlen = 0
        s.ridx = 0
        if maxlen < MIN_LEN:
            return
        r: i64 = 0
        while r < 4:
            d: i64 = reps[r]
            if d <= cur:
                rs: i64 = cur - d
                first: i64 = shared_content[rs] if rs < c_len else hb[rs - c_len]
                if first != hb[j]:
                    r += 1
                    continue
                ln = _mlen(shared_content, c_len, hb, rs, j, maxlen)
                if ln > s.rlen:
                    s.rlen = ln
                    s.ridx = r
            r += 1
        if maxlen < 4 or j + 4 > len(hb):
            return
        lng: i64 = 0
        hx: i64 = _mix4(hb, j)
        h: i64 = hx >> (32 - HIST_HASH_BITS)
        stored: i64 = i64(self.idx[h]) + 32768
        delta: i64 = ((self.abs_base + j) - stored) & 0xFFFF
        if delta > 0 and delta <= j:
            ln2 = _mlen(shared_content, c_len, hb, cur - delta, j, maxlen)
            if ln2 > lng:
                lng = ln2
                s.consider(probs, ln2, delta)
        if lng < maxlen:
            lng = self._walk_chains(s, j, hx, lng, maxlen)
        if self.use_content and lng < maxlen:
            self._walk_content(s, j, hx, lng, maxlen)

    def _walk_chains(self, s: Candidates, j: i64, hx: i64, lng: i64, maxlen: i64) -> i64:
        """The frame's chain, then the persistent chain over the committed history; returns the longest
        match length seen."""
        probs = self.probs
        shared_content = self.content
        hb = self.hb
        mchain = self.mchain
        fbase: i64 = self.fbase
        mbase: i64 = self.mbase
        c_len: i64 = len(shared_content)
        mshift: i64 = 32 - self.mbits
        hm: i64 = hx >> mshift
        filt: bool = self.fbits < self.mbits
        q: i64 = i64(self.mhead[hx >> (32 - self.fbits)])
        mdepth: i64 = 0
        while q >= 0 and mdepth < MCHAIN_DEPTH:
            if filt and (_mix4(hb, q) >> mshift) != hm:
                q = i64(mchain[q - fbase])
                continue
            if hb[q + lng] != hb[j + lng]:
                q = i64(mchain[q - fbase])
                mdepth += 1
                continue
            ln4 = _mlen(shared_content, c_len, hb, c_len + q, j, maxlen)
            if ln4 > lng:
                lng = ln4
                s.consider(probs, ln4, j - q)
                if ln4 >= maxlen:
                    break
            q = i64(mchain[q - fbase])
            mdepth += 1
        pfirst: i64 = self.pfirst
        if pfirst >= mbase and lng < maxlen and mdepth < MCHAIN_DEPTH:
            # the committed history: the persistent chain from its head (the history index before this
            # frame), checked against stale heads; only positions with the same mbits-bit hash count
            abs_base: i64 = self.abs_base
            plink = self.plink
            rmask: i64 = self.rmask
            hshift: i64 = 32 - HIST_HASH_BITS
            h10: i64 = hx >> hshift
            pp: i64 = pfirst - (((abs_base + pfirst) - (i64(self.pidx[h10]) + 32768)) & 0xFFFF)
            if pp >= mbase and (_mix4(hb, pp) >> hshift) == h10:
                while True:
                    if (_mix4(hb, pp) >> mshift) == hm:
                        if hb[pp + lng] == hb[j + lng]:
                            ln5 = _mlen(shared_content, c_len, hb, c_len + pp, j, maxlen)
                            if ln5 > lng:
                                lng = ln5
                                s.consider(probs, ln5, j - pp)
                                if ln5 >= maxlen:
                                    break
                        mdepth += 1
                        if mdepth >= MCHAIN_DEPTH:
                            break
                    dl: i64 = i64(plink[(abs_base + pp) & rmask])
                    if dl <= 0:
                        break
                    pp -= dl
                    if pp < mbase:
                        break
        return lng

    def _walk_content(self, s: Candidates, j: i64, hx: i64, lng: i64, maxlen: i64) -> None:
        """The shared content's hash chain (dictionary section 4)."""
        probs = self.probs
        shared_content = self.content
        hb = self.hb
        chain = self.chain
        c_len: i64 = len(shared_content)
        cur: i64 = c_len + j
        hc: i64 = hx >> (32 - CONTENT_HASH_BITS)
        p: i64 = i64(self.head[hc])
        depth: i64 = 0
        while p >= 0 and depth < CHAIN_DEPTH:
            if p + lng < c_len and shared_content[p + lng] != hb[j + lng]:
                p = i64(chain[p])
                depth += 1
                continue
            ln3 = _mlen(shared_content, c_len, hb, p, j, maxlen)
            if ln3 > lng:
                lng = ln3
                s.consider(probs, ln3, cur - p)
                if ln3 >= maxlen:
                    break
            p = i64(chain[p])
            depth += 1
