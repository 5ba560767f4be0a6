"""BRIO's format constants, models and the per-dictionary shared state (spec/brio.md §4, §7, §8).

Probabilities live in ``librt.vecs.vec[i16]`` (native and compact when
compiled; the same sources run uncompiled).  :class:`BrioShared` holds the
dictionary's content block, its match index and the two trained model sets;
it is never mutated after construction.  No I/O.
"""

from __future__ import annotations

from typing import Final

from librt.vecs import append as vappend
from librt.vecs import vec
from mypy_extensions import i16, i32, i64

from aura_wire.errors import (
    ContextDesyncError,
    DictionaryFormatError,
    PayloadError,
)

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
CONTENT_HASH_BITS: Final = 15
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


def trim_history(hist: bytes, data: bytes, window: i64) -> bytes:
    """The last ``window`` bytes of ``hist + data`` (a direction's message history)."""
    if window <= 0:
        return b""
    if len(data) >= window:
        return data[len(data) - window:]
    keep: i64 = window - len(data)
    if len(hist) > keep:
        # one copy (a slice then a concatenation would copy the kept history twice)
        return b"".join([memoryview(hist)[len(hist) - keep:], data])
    return hist + data


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
