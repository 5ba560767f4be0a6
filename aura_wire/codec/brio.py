"""BRIO: aura_wire's codec for small messages sent one after another (spec/brio.md).

LZ77 whose matches reach into a shared, trained content block (from the
dictionary) and, in context mode, into the connection's recent history;
entropy-coded with an adaptive binary range coder (LZMA-style 12-bit
probabilities, shift-5 adaptation, bit trees, rep matches).  The models start
from probabilities stored in the dictionary (or from a fixed default without
one) and, in context mode, keep adapting per connection in lock-step on both
sides, so no frame carries a table.  A frame ends with the fewest bytes that
pin the final interval: the decoder knows where the payload ends and reads
zeros past it.

Pure functions and small classes over bytes; no I/O.  Written for mypyc:
probabilities live in ``librt.vecs.vec[i16]`` and output in
``librt.strings.BytesWriter`` (native, compact, fast when compiled; the same
sources run uncompiled).  Every decoder path rejects malformed input with an
:class:`~aura_wire.errors.AuraError`; decoded output is bounded by
``max_size`` before anything is allocated.
"""

from __future__ import annotations

from typing import Final

from librt.strings import BytesWriter
from librt.vecs import append as vappend
from librt.vecs import vec
from mypy_extensions import i16, i32, i64

from aura_wire.errors import ContextDesyncError, DictionaryFormatError, LimitError, PayloadError

__all__ = [
    "BrioShared",
    "BrioEncoder",
    "BrioDecoder",
    "train_brio",
    "MODEL_VERSION",
    "NPROBS",
    "CHECK_BITS",
]

# -- model layout (spec/brio.md §4) ------------------------------------------
NSTATES: Final = 12
P_IS_MATCH: Final = 0
P_IS_REP: Final = 12
P_IS_REP0: Final = 24
P_IS_REP0_LONG: Final = 36
P_IS_REP1: Final = 48
P_IS_REP2: Final = 60
P_LIT: Final = 72
LIT_CTX: Final = 3
P_MLEN: Final = P_LIT + LIT_CTX * 256
LEN_SIZE: Final = 82
P_RLEN: Final = P_MLEN + LEN_SIZE
P_SLOT: Final = P_RLEN + LEN_SIZE
SLOT_STATES: Final = 2
P_SPEC: Final = P_SLOT + SLOT_STATES * 64
P_ALIGN: Final = P_SPEC + 114
P_NLEN: Final = P_ALIGN + 16
P_NSUB: Final = P_NLEN + 64
#: Matched literal (after a match): while the literal agrees with the byte at rep0, bit k is coded at
#: P_MLIT + 8 * (bit k of that byte) + k (spec/brio.md §5.2).
P_MLIT: Final = P_NSUB + 33 * 4
NPROBS: Final = P_MLIT + 16

PROB_BITS: Final = 12
PROB_ONE: Final = 4096
PROB_INIT: Final = 2048
MOVE_BITS: Final = 5
TOP: Final = 1 << 24
MASK32: Final = 0xFFFFFFFF

MIN_LEN: Final = 2
MAX_LEN: Final = MIN_LEN + 8 + 8 + 64 - 1  # 81
MAX_MSG_SLOT: Final = 32

#: Check bits coded at the end of every frame (spec/brio.md §7).
CHECK_BITS: Final = 8

MODEL_VERSION: Final = 1
MAX_CONTENT: Final = 1 << 20

# encoder search parameters (not part of the format)
HIST_HASH_BITS: Final = 10
CONTENT_HASH_BITS: Final = 15
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
#: Default size (positions, 2 bytes each) of that ring; frames whose search reaches farther back chain per frame.
DEFAULT_SEARCH_RING: Final = 4096
#: From this message length on, the encoder also chains the whole history for the frame.
LONG_MESSAGE: Final = 1024
#: Otherwise the last RECENT_FACTOR * n + RECENT_MIN history bytes are chained for the frame.
RECENT_FACTOR: Final = 8
RECENT_MIN: Final = 2048
#: Nominal price (1/16 bit) of a byte an option leaves uncovered, to compare options of different lengths.
UNCOVERED: Final = 64
#: The other nominal price tried in context mode: cheaper uncovered bytes favour shorter, nearer matches,
#: which wins on streams where most bytes are covered by matches anyway.
UNCOVERED_ALT: Final = 40
#: In context mode the encoder also parses with the other nominal price every PROBE_EVERY frames and keeps
#: the price that gave the smaller frame for the following frames.
PROBE_EVERY: Final = 8
HASH_MUL: Final = 2654435761

FNV_OFFSET: Final = 0x811C9DC5
FNV_PRIME: Final = 0x01000193
STATELESS_SEED: Final = 0x42524930  # "BRI0"


def _literal_classes() -> bytes:
    out = bytearray(256)
    for b in range(256):
        if 0x30 <= b <= 0x39:
            out[b] = 0
        elif 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A:
            out[b] = 1
        else:
            out[b] = 2
    return bytes(out)


#: Literal context of the previous byte: 0 ASCII digit, 1 ASCII letter, 2 anything else.
LIT_CLASS: Final = _literal_classes()


def _price_table() -> bytes:
    import math

    out = bytearray(256)
    for i in range(256):
        p = (i * 16 + 8) / 4096.0
        v = int(round(-math.log2(p) * 16))
        out[i] = min(255, v)
    return bytes(out)


#: Price (1/16 bit) of coding a bit whose probability is p: PRICE[p >> 4].
PRICE: Final = _price_table()


def _filled_i16(n: i64, value: i64) -> vec[i16]:
    v = vec[i16](capacity=n)
    k: i64 = 0
    while k < n:
        v = vappend(v, i16(value))
        k += 1
    return v


def _filled_i32(n: i64, value: i64) -> vec[i32]:
    v = vec[i32](capacity=n)
    k: i64 = 0
    while k < n:
        v = vappend(v, i32(value))
        k += 1
    return v


def _i64s(a: i64, b: i64, c: i64, d: i64) -> vec[i64]:
    v = vec[i64](capacity=4)
    v = vappend(v, a)
    v = vappend(v, b)
    v = vappend(v, c)
    v = vappend(v, d)
    return v


_DEFAULT_MODELS: Final = _filled_i16(NPROBS, PROB_INIT)
_ZERO_IDX: Final = _filled_i16(1 << HIST_HASH_BITS, 0)
_NEG_HEADS: Final = _filled_i32(1 << 16, -1)


def default_models() -> vec[i16]:
    """The fixed models used without a dictionary: every probability 2048 (one half)."""
    return _DEFAULT_MODELS[0:NPROBS]


def _hash4(b: bytes, i: i64, bits: i64) -> i64:
    # i64 temporaries: shifting the bytes item directly compiles to a (slow) tagged-int shift
    b0: i64 = b[i]
    b1: i64 = b[i + 1]
    b2: i64 = b[i + 2]
    b3: i64 = b[i + 3]
    v: i64 = b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)
    return ((v * HASH_MUL) & MASK32) >> (32 - bits)


def _mix4(b: bytes, i: i64) -> i64:
    """32-bit multiplicative hash of b[i:i+4]; ``_mix4(b, i) >> (32 - bits)`` equals ``_hash4(b, i, bits)``."""
    # i64 temporaries: shifting the bytes item directly compiles to a (slow) tagged-int shift
    b0: i64 = b[i]
    b1: i64 = b[i + 1]
    b2: i64 = b[i + 2]
    b3: i64 = b[i + 3]
    v: i64 = b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)
    return (v * HASH_MUL) & MASK32


def _fmix32(h: i64) -> i64:
    h &= MASK32
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & MASK32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & MASK32
    h ^= h >> 16
    return h


def _msg_hash(seed: i64, data: bytes) -> i64:
    """32-bit FNV-1a of the message, seeded with the connection hash and the length, then fmix32."""
    h: i64 = (FNV_OFFSET ^ seed ^ ((len(data) * 0x9E3779B1) & MASK32)) & MASK32
    n: i64 = len(data)
    i: i64 = 0
    while i < n:
        h = ((h ^ data[i]) * FNV_PRIME) & MASK32
        i += 1
    return _fmix32(h)


def _next_state_lit(s: i64) -> i64:
    if s < 4:
        return 0
    if s < 10:
        return s - 3
    return s - 6


def _dist_slot(d: i64) -> i64:
    """LZMA position slot of a zero-based distance."""
    if d < 4:
        return d
    nb: i64 = 0
    t: i64 = d
    while t > 1:
        t >>= 1
        nb += 1
    return (nb << 1) | ((d >> (nb - 1)) & 1)


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


# -- shared part ---------------------------------------------------------------
class BrioShared:
    """Immutable per-dictionary state shared by every connection.

    Holds the content block, its match index (hash heads and chains) and the
    two trained model sets (stateless and context).  Build it with
    :meth:`from_sections`; it is never mutated afterwards.
    """

    def __init__(self, content: bytes, stateless: vec[i16], context: vec[i16]) -> None:
        self.content: bytes = content
        self.prior_stateless: vec[i16] = stateless
        self.prior_context: vec[i16] = context
        self.head: vec[i32] = _filled_i32(1 << CONTENT_HASH_BITS, -1)
        n: i64 = len(content)
        self.chain: vec[i32] = _filled_i32(n if n > 0 else 1, -1)
        i: i64 = 0
        while i + 4 <= n:
            h = _hash4(content, i, CONTENT_HASH_BITS)
            self.chain[i] = self.head[h]
            self.head[h] = i32(i)
            i += 1

    @staticmethod
    def from_sections(content: bytes, model: bytes) -> BrioShared:
        """Validate the two dictionary sections; raise DictionaryFormatError when malformed."""
        content = bytes(content)
        if len(content) > MAX_CONTENT:
            raise DictionaryFormatError(f"BRIO content of {len(content)} bytes exceeds {MAX_CONTENT}",
                                        field="brio-content")
        stateless, context = parse_model_section(bytes(model))
        return BrioShared(content, stateless, context)

    def memory_bytes(self) -> int:
        return len(self.content) + 4 * (len(self.head) + len(self.chain)) + 4 * NPROBS



def encode_model_section(stateless: vec[i16], context: vec[i16]) -> bytes:
    """Model section: version u8, NPROBS u16 LE, then 2 x NPROBS probabilities as u16 LE."""
    out = bytearray([MODEL_VERSION, NPROBS & 0xFF, NPROBS >> 8])
    for models in (stateless, context):
        for k in range(NPROBS):
            v = int(models[k])
            out.append(v & 0xFF)
            out.append(v >> 8)
    return bytes(out)


def parse_model_section(model: bytes) -> tuple[vec[i16], vec[i16]]:
    if len(model) < 3:
        raise DictionaryFormatError("BRIO model section too short", offset=0, field="brio-model")
    if model[0] != MODEL_VERSION:
        raise DictionaryFormatError(f"BRIO model version {model[0]} not supported (this peer reads "
                                    f"{MODEL_VERSION})", offset=0, field="brio-model.version")
    count = model[1] | (model[2] << 8)
    if count != NPROBS:
        raise DictionaryFormatError(f"BRIO model holds {count} probabilities, expected {NPROBS}", offset=1,
                                    field="brio-model.count")
    if len(model) != 3 + 4 * NPROBS:
        raise DictionaryFormatError("BRIO model section has the wrong length", offset=len(model),
                                    field="brio-model")
    sets: list[vec[i16]] = []
    pos = 3
    for _ in range(2):
        v = default_models()
        for k in range(NPROBS):
            p = model[pos] | (model[pos + 1] << 8)
            if p < 1 or p >= PROB_ONE:
                raise DictionaryFormatError(f"BRIO model probability {p} out of range [1, 4095]", offset=pos,
                                            field="brio-model.prob")
            v[k] = i16(p)
            pos += 2
        sets.append(v)
    return sets[0], sets[1]


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


def _insert(idx: vec[i16], hb: bytes, start: i64, end: i64, abs_base: i64) -> None:
    """Record positions start..end-1 of hb (absolute position abs_base + j) in the history index."""
    n: i64 = len(hb)
    j: i64 = start
    if j >= end or j + 4 > n:
        return
    b0: i64 = hb[j]
    b1: i64 = hb[j + 1]
    b2: i64 = hb[j + 2]
    v: i64 = b0 | (b1 << 8) | (b2 << 16)
    while j < end and j + 4 <= n:
        b3: i64 = hb[j + 3]
        v = v | (b3 << 24)
        h: i64 = ((v * HASH_MUL) & MASK32) >> (32 - HIST_HASH_BITS)
        idx[h] = i16(((abs_base + j) & 0xFFFF) - 32768)
        v = v >> 8
        j += 1


def _minsert(mhead: vec[i32], mchain: vec[i32], mbits: i64, hb: bytes, start: i64, end: i64,
             base: i64) -> None:
    """Chain positions start..end-1 (hb indexes, ``mchain[j - base]``) in the per-frame index."""
    n: i64 = len(hb)
    j: i64 = start
    if j >= end or j + 4 > n:
        return
    b0: i64 = hb[j]
    b1: i64 = hb[j + 1]
    b2: i64 = hb[j + 2]
    v: i64 = b0 | (b1 << 8) | (b2 << 16)
    shift: i64 = 32 - mbits
    while j < end and j + 4 <= n:
        b3: i64 = hb[j + 3]
        v = v | (b3 << 24)
        h: i64 = ((v * HASH_MUL) & MASK32) >> shift
        mchain[j - base] = mhead[h]
        mhead[h] = i32(j)
        v = v >> 8
        j += 1


def _link_insert(idx: vec[i16], plink: vec[i16], rmask: i64, hb: bytes, start: i64, end: i64,
                 abs_base: i64) -> None:
    """Commit positions start..end-1 of hb to the history index and the persistent chain.

    The link of a position is the distance to the previous position with the same index hash, or 0 when
    that one is no longer in ``hb`` or farther than PCHAIN_MAX_WINDOW; an index entry is trusted only
    when the position it names still has its hash (entries keep 16 bits of the absolute position)."""
    n: i64 = len(hb)
    j: i64 = start
    if j >= end or j + 4 > n:
        return
    b0: i64 = hb[j]
    b1: i64 = hb[j + 1]
    b2: i64 = hb[j + 2]
    v: i64 = b0 | (b1 << 8) | (b2 << 16)
    hshift: i64 = 32 - HIST_HASH_BITS
    while j < end and j + 4 <= n:
        b3: i64 = hb[j + 3]
        v = v | (b3 << 24)
        h: i64 = ((v * HASH_MUL) & MASK32) >> hshift
        pos: i64 = abs_base + j
        d: i64 = (pos - (i64(idx[h]) + 32768)) & 0xFFFF
        link: i64 = 0
        if d > 0 and d <= j and d <= PCHAIN_MAX_WINDOW and (_mix4(hb, j - d) >> hshift) == h:
            link = d
        plink[pos & rmask] = i16(link)
        idx[h] = i16((pos & 0xFFFF) - 32768)
        v = v >> 8
        j += 1


class _Search:
    """Per-frame match search result (longest main match and rep candidates)."""

    def __init__(self) -> None:
        self.mlen: i64 = 0
        self.mdist: i64 = 0
        self.mscore: i64 = 0
        self.unc: i64 = UNCOVERED
        self.rlen: i64 = 0
        self.ridx: i64 = 0


def _consider(s: _Search, probs: vec[i16], ln: i64, dist: i64) -> None:
    """Keep the main-match candidate with the lowest price net of the bytes it covers."""
    if ln < 4:
        return
    sc: i64 = _price_len(probs, P_MLEN, ln) + _price_dist(probs, ln, dist - 1) - s.unc * ln
    if s.mlen == 0 or sc < s.mscore:
        s.mlen = ln
        s.mdist = dist
        s.mscore = sc


def _find(s: _Search, probs: vec[i16], shared_content: bytes, head: vec[i32], chain: vec[i32], use_content: bool,
          idx: vec[i16], hb: bytes, j: i64, end: i64, abs_base: i64, reps: vec[i64],
          mhead: vec[i32], mchain: vec[i32], mbits: i64, mbase: i64, fbits: i64, fbase: i64,
          pidx: vec[i16], plink: vec[i16], rmask: i64, pfirst: i64) -> None:
    """Rep candidates and main-match candidates, nearest first; a candidate is only looked at when it is
    longer than every nearer one (a farther, not longer match never costs less).

    Main candidates come from the hash chain of positions mbase..j-1 whose ``mbits``-bit hash equals that
    of position j, nearest first, at most MCHAIN_DEPTH of them.  Positions fbase.. are chained per frame
    (``mhead``/``mchain``, keyed by ``fbits`` <= mbits bits); positions mbase..pfirst (committed history)
    are walked in the persistent chain (heads ``pidx``, links ``plink``), keyed by HIST_HASH_BITS bits."""
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
    stored: i64 = i64(idx[h]) + 32768
    delta: i64 = ((abs_base + j) - stored) & 0xFFFF
    if delta > 0 and delta <= j:
        ln2 = _mlen(shared_content, c_len, hb, cur - delta, j, maxlen)
        if ln2 > lng:
            lng = ln2
            _consider(s, probs, ln2, delta)
    if lng < maxlen:
        mshift: i64 = 32 - mbits
        hm: i64 = hx >> mshift
        filt: bool = fbits < mbits
        q: i64 = i64(mhead[hx >> (32 - fbits)])
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
                _consider(s, probs, ln4, j - q)
                if ln4 >= maxlen:
                    break
            q = i64(mchain[q - fbase])
            mdepth += 1
        if pfirst >= mbase and lng < maxlen and mdepth < MCHAIN_DEPTH:
            # the committed history: the persistent chain from its head (the history index before this
            # frame), checked against stale heads; only positions with the same mbits-bit hash count
            hshift: i64 = 32 - HIST_HASH_BITS
            h10: i64 = hx >> hshift
            pp: i64 = pfirst - (((abs_base + pfirst) - (i64(pidx[h10]) + 32768)) & 0xFFFF)
            if pp >= mbase and (_mix4(hb, pp) >> hshift) == h10:
                while True:
                    if (_mix4(hb, pp) >> mshift) == hm:
                        if hb[pp + lng] == hb[j + lng]:
                            ln5 = _mlen(shared_content, c_len, hb, c_len + pp, j, maxlen)
                            if ln5 > lng:
                                lng = ln5
                                _consider(s, probs, ln5, j - pp)
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
    if use_content and lng < maxlen:
        hc: i64 = hx >> (32 - CONTENT_HASH_BITS)
        p: i64 = i64(head[hc])
        depth: i64 = 0
        while p >= 0 and depth < CHAIN_DEPTH:
            if p + lng < c_len and shared_content[p + lng] != hb[j + lng]:
                p = i64(chain[p])
                depth += 1
                continue
            ln3 = _mlen(shared_content, c_len, hb, p, j, maxlen)
            if ln3 > lng:
                lng = ln3
                _consider(s, probs, ln3, cur - p)
                if ln3 >= maxlen:
                    break
            p = i64(chain[p])
            depth += 1


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


def _initial_reps(lens: vec[i64], context: bool) -> vec[i64]:
    if not context:
        return _i64s(1, 2, 3, 4)
    r = _i64s(1, 2, 3, 4)
    acc: i64 = 0
    k: i64 = 0
    while k < 3:
        ln = lens[k]
        if ln <= 0:
            break
        acc += ln
        r[k] = acc
        k += 1
    return r


def _push_len(lens: vec[i64], n: i64) -> None:
    lens[2] = lens[1]
    lens[1] = lens[0]
    lens[0] = n


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


def trim_history(hist: bytes, data: bytes, window: i64) -> bytes:
    """The last ``window`` bytes of ``hist + data`` (a direction's message history)."""
    if window <= 0:
        return b""
    if len(data) >= window:
        return data[len(data) - window:]
    keep: i64 = window - len(data)
    if len(hist) > keep:
        return hist[len(hist) - keep:] + data
    return hist + data


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
        self.hist: bytes = b""
        self.conn_hash: i64 = STATELESS_SEED
        self.lens: vec[i64] = _i64s(0, 0, 0, 0)

    def decode(self, payload: bytes, max_size: int) -> bytes:
        data, check = self.decode_unchecked(payload, max_size)
        verify_check(check, check_value(self.conn_hash, data), self.context, len(payload))
        if self.context:
            self._append(data)
        return data

    def decode_unchecked(self, payload: bytes, max_size: int) -> tuple[bytes, int]:
        """Decode without verifying the check value: (message, check value read).

        In context mode the models are adopted but the message is not yet
        appended: the caller verifies the check and then calls :meth:`observe`
        (the TEMPLATE_BRIO path checks the message its payload decodes to).
        """
        models = self.models[0:NPROBS]
        hist = self.hist if self.context else b""
        reps = _initial_reps(self.lens, self.context)
        data, check = _decode_frame(self.content, models, hist, bytes(payload), max_size, reps)
        if self.context:
            self.models = models
        return data, check

    def observe(self, data: bytes) -> None:
        """A context frame coded by another method: append it to the history."""
        if self.context:
            self._append(bytes(data))

    def _append(self, data: bytes) -> None:
        self.conn_hash = _msg_hash(self.conn_hash, data)
        _push_len(self.lens, len(data))
        self.hist = trim_history(self.hist, data, self.window)

    def memory_bytes(self) -> int:
        if not self.context:
            return 64
        return len(self.hist) + 2 * len(self.models) + 64


def _decode_len(rd: _RangeDecoder, base: i64) -> i64:
    if rd.bit(base) == 0:
        return MIN_LEN + rd.tree(base + 2, 3)
    if rd.bit(base + 1) == 0:
        return MIN_LEN + 8 + rd.tree(base + 10, 3)
    return MIN_LEN + 16 + rd.tree(base + 18, 6)


def _decode_frame(content: bytes, probs: vec[i16], hist: bytes, payload: bytes, max_size: i64,
                  reps: vec[i64]) -> tuple[bytes, i64]:
    """Decode one payload: (message, check value read); the caller verifies the check value."""
    rd = _RangeDecoder(payload, probs)
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
    if n > max_size:
        raise LimitError(f"BRIO message of {n} bytes exceeds max_size {max_size}", field="brio.length")
    c_len: i64 = len(content)
    H: i64 = len(hist)
    end: i64 = H + n
    w = BytesWriter()
    w.write(hist)
    state: i64 = 0
    prev: i64 = hist[H - 1] if H > 0 else 0
    pos: i64 = H
    while pos < end:
        if rd.bit(P_IS_MATCH + state) == 0:
            mbyte: i64 = -1
            if state >= 7:
                msrc: i64 = c_len + pos - reps[0]
                mbyte = content[msrc] if msrc < c_len else i64(w[msrc - c_len])
            b = _decode_lit(rd, prev, mbyte)
            w.append(b)
            prev = b
            pos += 1
            state = _next_state_lit(state)
            continue
        length: i64 = 0
        dist: i64 = 0
        if rd.bit(P_IS_REP + state) == 1:
            if rd.bit(P_IS_REP0 + state) == 0:
                if rd.bit(P_IS_REP0_LONG + state) == 0:
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
            ls: i64 = 0 if length < 5 else 1
            dslot = rd.tree(P_SLOT + ls * 64, 6)
            if dslot < 4:
                d0: i64 = dslot
            else:
                footer: i64 = (dslot >> 1) - 1
                base: i64 = (2 | (dslot & 1)) << footer
                if dslot < 14:
                    d0 = base + rd.rtree(P_SPEC + base - dslot - 1, footer)
                else:
                    d0 = base + (rd.direct(footer - 4) << 4) + rd.rtree(P_ALIGN, 4)
            dist = d0 + 1
            reps[3] = reps[2]
            reps[2] = reps[1]
            reps[1] = reps[0]
            reps[0] = dist
            state = 7 if state < 7 else 10
        if length > end - pos:
            raise PayloadError(f"BRIO match of {length} bytes runs past the message end", offset=rd.pos,
                               field="brio.match")
        cur: i64 = c_len + pos
        if dist > cur or dist < 1:
            raise PayloadError(f"BRIO match distance {dist} reaches before the window", offset=rd.pos,
                               field="brio.distance")
        src: i64 = cur - dist
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
        pos += length
        prev = i64(w[pos - 1])
    check = rd.direct(CHECK_BITS)
    whole = w.getvalue()
    data = whole[H:]
    if len(payload) > rd.pos - 3:
        raise PayloadError("BRIO payload has bytes the decoder did not need", offset=rd.pos - 3,
                           field="brio.payload")
    if len(payload) > 0 and payload[len(payload) - 1] == 0:
        raise PayloadError("BRIO payload ends with a zero byte (not canonical)", offset=len(payload) - 1,
                           field="brio.payload")
    return data, check


def check_value(seed: i64, data: bytes) -> i64:
    """The check value of a frame that decodes to ``data`` (spec/brio.md §7)."""
    return _msg_hash(seed, data) >> (32 - CHECK_BITS)


def verify_check(check: i64, expected: i64, context: bool, offset: i64) -> None:
    """Raise the error for a check value mismatch (ContextDesyncError in context mode)."""
    if check != expected:
        if context:
            raise ContextDesyncError("BRIO check value mismatch: the context of this connection diverged or "
                                     "the payload is corrupt", offset=offset, field="brio.check")
        raise PayloadError("BRIO check value mismatch: corrupt payload or wrong dictionary",
                           offset=offset, field="brio.check")


def train_brio(samples: list[bytes], *, content_size: int = 32768, min_distinct: int = 8) -> tuple[bytes, bytes]:
    """Return (content_section, model_section) to store in the dictionary."""
    from aura_wire.codec.brio_train import train_sections

    return train_sections(samples, content_size=content_size, min_distinct=min_distinct)
