"""BRIO's adaptive binary range coder (spec/brio.md §5): bits, bit trees, lengths, distances, literals.

LZMA-style 12-bit probabilities with shift-5 adaptation.  A frame ends with
the fewest bytes that pin the final interval: the decoder knows where the
payload ends and reads zeros past it.  Pure classes over bytes; no I/O.
"""

from __future__ import annotations

from typing import Final

from librt.strings import BytesWriter
from librt.vecs import vec
from mypy_extensions import i16, i64

from aura_wire.codec.brio.model import (
    LIT_CLASS,
    MASK32,
    MIN_LEN,
    MOVE_BITS,
    P_ALIGN,
    P_LIT,
    P_MLIT,
    P_NLEN,
    P_NSUB,
    P_SLOT,
    P_SPEC,
    PROB_BITS,
    PROB_ONE,
    TOP,
    _dist_slot,
)
from aura_wire.errors import (
    PayloadError,
)


# -- range coder (spec/brio.md §3) -------------------------------------------
class _RangeEncoder:
    def __init__(self, probs: vec[i16], counts: vec[i64] | None) -> None:
        self.low: i64 = 0
        self.range: i64 = MASK32
        self.cache: i64 = 0
        self.cache_size: i64 = 1
        self.out = BytesWriter()
        self.p = probs
        self.counting = counts is not None
        self.counts: vec[i64] = counts if counts is not None else vec[i64]()

    def _shift_low(self) -> None:
        low = self.low
        if low < 0xFF000000 or low >= 0x100000000:
            carry: i64 = low >> 32
            temp: i64 = self.cache
            while True:
                self.out.append((temp + carry) & 0xFF)
                temp = 0xFF
                self.cache_size -= 1
                if self.cache_size == 0:
                    break
            self.cache = (low >> 24) & 0xFF
        self.cache_size += 1
        self.low = (low & 0x00FFFFFF) << 8

    def bit(self, idx: i64, b: i64) -> None:
        p: i64 = i64(self.p[idx])
        bound: i64 = (self.range >> PROB_BITS) * p
        if b == 0:
            self.range = bound
            self.p[idx] = i16(p + ((PROB_ONE - p) >> MOVE_BITS))
        else:
            self.low += bound
            self.range -= bound
            self.p[idx] = i16(p - (p >> MOVE_BITS))
        if self.counting:
            self.counts[idx * 2 + b] += 1
        while self.range < TOP:
            self.range = self.range << 8
            self._shift_low()

    def direct(self, value: i64, nbits: i64) -> None:
        k: i64 = nbits - 1
        while k >= 0:
            self.range = self.range >> 1
            if (value >> k) & 1:
                self.low += self.range
            while self.range < TOP:
                self.range = self.range << 8
                self._shift_low()
            k -= 1

    def tree(self, base: i64, nbits: i64, value: i64) -> None:
        m: i64 = 1
        k: i64 = nbits - 1
        while k >= 0:
            b: i64 = (value >> k) & 1
            self.bit(base + m, b)
            m = (m << 1) | b
            k -= 1

    def rtree(self, base: i64, nbits: i64, value: i64) -> None:
        m: i64 = 1
        k: i64 = 0
        while k < nbits:
            b: i64 = (value >> k) & 1
            self.bit(base + m, b)
            m = (m << 1) | b
            k += 1

    def finish(self) -> bytes:
        """Pin the final interval with the value that has the most trailing zero bits."""
        low = self.low
        hi: i64 = low + self.range - 1
        # mypyc folds ``1 << k`` into a 32-bit C shift, so walk the mask down instead.
        mask: i64 = MASK32
        v: i64 = low
        while mask > 0:
            cand: i64 = (low + mask) & ~mask
            if cand <= hi:
                v = cand
                break
            mask >>= 1
        self.low = v
        i: i64 = 0
        while i < 5:
            self._shift_low()
            i += 1
        raw = self.out.getvalue()
        end: i64 = len(raw)
        while end > 1 and raw[end - 1] == 0:
            end -= 1
        return raw[1:end]


#: A decoder reads zero bytes past the payload's end, at most this many (brio.md §2): an encoder's payload
#: needs 3 or 4 of them (the zero bytes of its final value it does not send), more only after a run of
#: zero bytes, which is 256 times rarer per byte.
MAX_READ_PAST_END: Final = 16


class _RangeDecoder:
    def __init__(self, data: bytes, probs: vec[i16]) -> None:
        self.data = data
        self.n: i64 = len(data)
        self.pos: i64 = 0
        self.range: i64 = MASK32
        self.code: i64 = 0
        self.p = probs
        i: i64 = 0
        while i < 4:
            self.code = (self.code << 8) | self._byte()
            i += 1
        if self.code >= self.range:
            raise PayloadError("BRIO range coder: invalid initial code", offset=0, field="brio.payload")

    def _byte(self) -> i64:
        pos = self.pos
        self.pos = pos + 1
        if pos < self.n:
            return self.data[pos]
        if pos >= self.n + MAX_READ_PAST_END:
            # brio.md §2: zeros past the end are free output; without this bound a 4-byte frame
            # decoded to max_size bytes (2.5 s of CPU for 16 MiB, compiled)
            raise PayloadError(f"BRIO payload read more than {MAX_READ_PAST_END} bytes past its end",
                               offset=self.n, field="brio.payload")
        return 0

    def bit(self, idx: i64) -> i64:
        p: i64 = i64(self.p[idx])
        bound: i64 = (self.range >> PROB_BITS) * p
        b: i64 = 0
        if self.code < bound:
            self.range = bound
            self.p[idx] = i16(p + ((PROB_ONE - p) >> MOVE_BITS))
        else:
            self.code -= bound
            self.range -= bound
            self.p[idx] = i16(p - (p >> MOVE_BITS))
            b = 1
        while self.range < TOP:
            self.range = self.range << 8
            self.code = (self.code << 8) | self._byte()
        return b

    def direct(self, nbits: i64) -> i64:
        v: i64 = 0
        k: i64 = 0
        while k < nbits:
            self.range = self.range >> 1
            b: i64 = 0
            if self.code >= self.range:
                self.code -= self.range
                b = 1
                if self.code >= self.range:
                    raise PayloadError("BRIO range coder: corrupt direct bits", offset=self.pos,
                                       field="brio.payload")
            v = (v << 1) | b
            while self.range < TOP:
                self.range = self.range << 8
                self.code = (self.code << 8) | self._byte()
            k += 1
        return v

    def tree(self, base: i64, nbits: i64) -> i64:
        m: i64 = 1
        k: i64 = 0
        while k < nbits:
            m = (m << 1) | self.bit(base + m)
            k += 1
        return m - (1 << nbits)

    def rtree(self, base: i64, nbits: i64) -> i64:
        m: i64 = 1
        v: i64 = 0
        k: i64 = 0
        while k < nbits:
            b = self.bit(base + m)
            m = (m << 1) | b
            v |= b << k
            k += 1
        return v


def _encode_len(rc: _RangeEncoder, base: i64, length: i64) -> None:
    v: i64 = length - MIN_LEN
    if v < 8:
        rc.bit(base, 0)
        rc.tree(base + 2, 3, v)
    elif v < 16:
        rc.bit(base, 1)
        rc.bit(base + 1, 0)
        rc.tree(base + 10, 3, v - 8)
    else:
        rc.bit(base, 1)
        rc.bit(base + 1, 1)
        rc.tree(base + 18, 6, v - 16)


def _encode_dist(rc: _RangeEncoder, length: i64, dist0: i64) -> None:
    ls: i64 = 0 if length < 5 else 1
    slot = _dist_slot(dist0)
    rc.tree(P_SLOT + ls * 64, 6, slot)
    if slot >= 4:
        footer: i64 = (slot >> 1) - 1
        base: i64 = (2 | (slot & 1)) << footer
        rem: i64 = dist0 - base
        if slot < 14:
            rc.rtree(P_SPEC + base - slot - 1, footer, rem)
        else:
            rc.direct(rem >> 4, footer - 4)
            rc.rtree(P_ALIGN, 4, rem & 15)


def _encode_msg_len(rc: _RangeEncoder, n: i64) -> None:
    slot: i64 = 0
    t: i64 = n
    while t > 0:
        t >>= 1
        slot += 1
    rc.tree(P_NLEN, 6, slot)
    if slot >= 2:
        rest: i64 = slot - 1
        top: i64 = rest if rest < 2 else 2
        rc.tree(P_NSUB + slot * 4, top, (n >> (rest - top)) & ((1 << top) - 1))
        if rest > top:
            rc.direct(n & ((1 << (rest - top)) - 1), rest - top)


def _encode_lit(rc: _RangeEncoder, prev: i64, b: i64, mbyte: i64) -> None:
    base: i64 = P_LIT + i64(LIT_CLASS[prev]) * 256
    if mbyte < 0:
        rc.tree(base, 8, b)
        return
    m: i64 = 1
    k: i64 = 7
    matching: bool = True
    while k >= 0:
        bit: i64 = (b >> k) & 1
        if matching:
            mb: i64 = (mbyte >> k) & 1
            rc.bit(P_MLIT + (mb << 3) + k, bit)
            if bit != mb:
                matching = False
        else:
            rc.bit(base + m, bit)
        m = (m << 1) | bit
        k -= 1


def _decode_lit(rd: _RangeDecoder, prev: i64, mbyte: i64) -> i64:
    base: i64 = P_LIT + i64(LIT_CLASS[prev]) * 256
    if mbyte < 0:
        return rd.tree(base, 8)
    m: i64 = 1
    k: i64 = 7
    matching: bool = True
    while k >= 0:
        if matching:
            mb: i64 = (mbyte >> k) & 1
            bit: i64 = rd.bit(P_MLIT + (mb << 3) + k)
            if bit != mb:
                matching = False
        else:
            bit = rd.bit(base + m)
        m = (m << 1) | bit
        k -= 1
    return m - 256


def _decode_len(rd: _RangeDecoder, base: i64) -> i64:
    if rd.bit(base) == 0:
        return MIN_LEN + rd.tree(base + 2, 3)
    if rd.bit(base + 1) == 0:
        return MIN_LEN + 8 + rd.tree(base + 10, 3)
    return MIN_LEN + 16 + rd.tree(base + 18, 6)
