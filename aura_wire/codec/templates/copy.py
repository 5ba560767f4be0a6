"""COPY atoms (spec/templates.md §4.1.1): byte runs copied from the dictionary's shared content,
the prediction, the direction's message history and the message rendered so far.

An LZ77-style reference inside one slot value; the encoder searches, the
decoder follows the pieces.  Pure functions on bytes.
"""

from __future__ import annotations

from typing import Final

from librt.vecs import vec
from mypy_extensions import i16, i32, i64

from aura_wire.codec.brio.model import _filled_i16, _filled_i32
from aura_wire.codec.templates.forms import AtomCtx, _check, get_uv
from aura_wire.errors import PayloadError

#: COPY (spec §4.1.1): the encoder looks for copies in values of at least this many bytes whose
#: best other form costs at least COPY_TRY_COST bytes, for runs of at least COPY_MIN_RUN bytes,
#: with at most COPY_SEARCHES substring searches of the history per value (the encoder's
#: ``copy_searches`` knob; CodecConfig levels 1-3 use fewer).
COPY_MIN_VALUE: Final = 8
COPY_TRY_COST: Final = 6
COPY_MIN_RUN: Final = 6
COPY_SEARCHES: Final = 24


def _extend(src: bytes, p: i64, s: bytes, i: i64, lim: i64) -> i64:
    """How many bytes of ``s[i:]`` (at most ``lim``) equal ``src[p:]``."""
    k: i64 = 0
    while k < lim and src[p + k] == s[i + k]:
        k += 1
    return k


#: ContentIndex: chain steps before a lookup falls back to bytes.rfind (same answer either way).
_KINDEX_STEPS: Final = 32


def _h8(b: bytes, j: i64, bits: i64) -> i64:
    """Hash of the 8 bytes at ``b[j]`` to ``bits`` bits."""
    lo: i64 = b[j] | (b[j + 1] << 8) | (b[j + 2] << 16) | (b[j + 3] << 24)
    hi: i64 = b[j + 4] | (b[j + 5] << 8) | (b[j + 6] << 16) | (b[j + 7] << 24)
    return (((lo * 2654435761) ^ (hi * 2246822519)) & 0xFFFFFFFF) >> (32 - bits)


class ContentIndex:
    """Where each 8-byte string occurs in COPY's shared content K (encoder only).

    Built once per dictionary and shared by its connections (codec/shared.py); :meth:`rfind`
    answers what ``K.rfind(s)`` answers for ``len(s) >= 8`` without scanning K (up to 1 MiB)
    for every value.
    """

    def __init__(self, shared_content: bytes) -> None:
        self.shared_content = shared_content
        n: i64 = len(shared_content)
        bits: i64 = 10
        while (i64(1) << bits) < n and bits < 20:
            bits += 1
        self.bits = bits
        head: list[int] = [-1] * (1 << bits)
        prev: list[int] = [-1] * (n if n > 0 else 1)
        j: i64 = 0
        while j + 8 <= n:
            h = _h8(shared_content, j, bits)
            prev[j] = head[h]
            head[h] = j
            j += 1
        self.head = head
        self.prev = prev

    def rfind(self, s: bytes) -> i64:
        """``K.rfind(s)`` for ``len(s) >= 8``: the chain of ``s``'s first 8 bytes, newest first."""
        shared_content = self.shared_content
        m: i64 = len(s)
        p: i64 = self.head[_h8(s, 0, self.bits)]
        steps: i64 = 0
        while p >= 0:
            if shared_content.startswith(s, p):  # compared in place (a slice would copy it)
                return p
            steps += 1
            if steps >= _KINDEX_STEPS:
                return shared_content.rfind(s, 0, p + m - 1)  # the occurrences starting before p
            p = self.prev[p]
        return -1


#: The encoder makes its HistIndex once this many messages have tried COPY in context mode.
COPY_INDEX_AFTER: Final = 16
#: HistIndex: link ring entries at most and at least (powers of two: how far back the chains
#: reach; the ring grows with the history, so a small window holds a small index), chain steps
#: before a lookup falls back to bytes.rfind, and the position where the absolute coordinates are
#: rebased.  The head table has a quarter as many entries as the ring (11 bits at 8192).
_HRING: Final = 8192
_HRING_MIN: Final = 1024
_HSTEPS: Final = 48
_HREBASE: Final = 1 << 30
#: HistIndex: bytes of the history's end kept to check that a ``ref`` continues it.
_TAIL: Final = 16


def _h6(b: bytes, j: i64, mask: i64) -> i64:
    """Hash of the 6 bytes at ``b[j]`` (COPY_MIN_RUN), masked to the head table's ``mask``."""
    b0: i64 = b[j]
    b1: i64 = b[j + 1]
    b2: i64 = b[j + 2]
    b3: i64 = b[j + 3]
    b4: i64 = b[j + 4]
    b5: i64 = b[j + 5]
    lo: i64 = b0 | (b1 << 8) | (b2 << 16)
    hi: i64 = b3 | (b4 << 8) | (b5 << 16)
    return (((lo * 2654435761) ^ (hi * 2246822519)) >> 20) & mask


class HistIndex:
    """Where each 6-byte string occurs in COPY's reference ``ref`` = H ++ message (encoder only).

    :meth:`find` answers what ``ref.rfind(s, low, end)`` answers for ``len(s) >= COPY_MIN_RUN``,
    where ``low`` (:meth:`low`) is the oldest position the ring still covers: it walks a hash
    chain instead of scanning H for every value, and the chains keep across messages (positions
    are absolute in the direction's stream), so each byte is hashed once, when a lookup first
    needs it.  After _HSTEPS chain steps it scans the rest of that part with ``rfind``.  The ring
    covers the history (``window`` bytes) up to _HRING positions: it starts at _HRING_MIN and
    grows when a longer history comes.

    Older positions are not searched (an encoder heuristic: any answer decodes the same).  On a
    server's 32 KiB history, scanning the three quarters the ring does not cover with ``rfind``
    took 15-20 % of the encode time on DevTools events, LLM streams and HDFS logs, and found a
    copy in 18 %, 0.5 % and 24 % of the scans: 1.7 %, 0.07 % and 0.09 % of their context bytes,
    fewer bytes than that CPU pays for at 8 us per byte (issue 17).
    """

    def __init__(self) -> None:
        self.ring: i64 = _HRING_MIN
        self.hmask: i64 = (_HRING_MIN >> 2) - 1
        self.head: vec[i32] = _filled_i32(_HRING_MIN >> 2, -1)
        # link[p % ring]: distance from position p to the previous one of its chain (0: none)
        self.link: vec[i16] = _filled_i16(_HRING_MIN, 0)
        #: absolute position of the end of the committed history, and its last bytes
        self.pos: i64 = 0
        self.tail: bytes = b""
        #: absolute position of ref[0]; positions below ``done`` are indexed
        self.base: i64 = 0
        self.done: i64 = 0

    def commit(self, data: bytes) -> None:
        """``data`` joins the history (context mode: every message, whether or not it was coded
        with COPY): the positions of a later ``ref`` follow on."""
        self.pos += len(data)
        self.tail = (self.tail + data[-_TAIL:])[-_TAIL:] if len(data) < _TAIL else data[-_TAIL:]

    def begin(self, hist: bytes, msg: bytes) -> None:
        """A new ``ref = hist + msg``: ``hist`` is the committed history (its last bytes)."""
        hl: i64 = len(hist)
        if not hist.endswith(self.tail) or hl > self.pos:
            # not the history committed here (a caller that skipped commit): start afresh
            self.pos += hl + self.ring
            self.tail = hist[-_TAIL:]
            self.done = self.pos - hl
        ring = self.ring
        if hl > ring and ring < _HRING:
            # a longer history than the ring covers: a larger index, built afresh (ref is
            # indexed again from its start when a lookup needs it)
            while ring < hl and ring < _HRING:
                ring <<= 1
            self.ring = ring
            self.hmask = (ring >> 2) - 1
            self.head = _filled_i32(ring >> 2, -1)
            self.link = _filled_i16(ring, 0)
            self.done = self.pos - hl
        if self.pos + len(msg) >= _HREBASE:
            self.head = _filled_i32(self.hmask + 1, -1)
            self.pos = hl
            self.done = 0
        self.base = self.pos - hl
        if self.done < self.base:
            self.done = self.base

    def _index(self, ref: bytes, upto: i64) -> None:
        """Index the positions of ``ref`` below ``upto`` (relative) not yet indexed."""
        base = self.base
        j: i64 = self.done - base
        ring = self.ring
        if j < upto - ring:
            j = upto - ring  # older positions would be overwritten in the ring at once
        head = self.head
        link = self.link
        hmask = self.hmask
        rmask: i64 = ring - 1
        # _h6 of each position from a rolling window of its 6 bytes: one byte read per position
        v: i64 = 0
        if j < upto:
            v = (ref[j] | (ref[j + 1] << 8) | (ref[j + 2] << 16) | (ref[j + 3] << 24)
                 | (ref[j + 4] << 32)) << 8
        while j < upto:
            v = (v >> 8) | (i64(ref[j + 5]) << 40)
            h: i64 = ((((v & 0xFFFFFF) * 2654435761) ^ ((v >> 24) * 2246822519)) >> 20) & hmask
            p: i64 = j + base
            q: i64 = i64(head[h])
            d: i64 = p - q
            if q < 0 or d >= ring:
                d = 0
            link[p & rmask] = i16(d)
            head[h] = i32(p)
            j += 1
        if upto + base > self.done:
            self.done = upto + base

    def low(self) -> i64:
        """The oldest position of ``ref`` (relative) that :meth:`find` searches: the ring's oldest."""
        low: i64 = self.done - (self.ring - 1) - self.base
        return low if low > 0 else 0

    def find(self, ref: bytes, s: bytes, end: i64) -> i64:
        """``ref.rfind(s, self.low(), end)`` for ``len(s) >= COPY_MIN_RUN`` (``ref`` as given to
        :meth:`begin`; ``low()`` read after the call)."""
        m: i64 = len(s)
        upto: i64 = end - m + 1  # positions where an occurrence may start
        if upto <= 0:
            return -1
        if upto + self.base > self.done:
            self._index(ref, upto)
        base = self.base
        # the oldest position whose link is still in the ring
        rmask: i64 = self.ring - 1
        low: i64 = self.done - rmask
        if low < base:
            low = base
        # the chain visits every indexed position >= low whose 6 bytes hash like s's, newest first
        p: i64 = i64(self.head[_h6(s, 0, self.hmask)])
        steps: i64 = 0
        while p >= low:
            r: i64 = p - base
            if r < upto:
                if _extend(ref, r, s, 0, m) == m:
                    return r
                steps += 1
                if steps >= _HSTEPS:
                    return ref.rfind(s, low - base, r + m - 1)  # the occurrences from low up to r
            d: i64 = i64(self.link[p & rmask])
            if d == 0:
                break  # no earlier position in the ring (none, or one older than low)
            p -= d
        return -1

    def memory_bytes(self) -> int:
        return 4 * (self.hmask + 1) + 2 * self.ring + _TAIL


def _copy_pieces(shared_content: bytes, ref: bytes, cur: i64, content: bytes, prediction: bytes | None,
                 kindex: ContentIndex | None = None, max_searches: i64 = COPY_SEARCHES,
                 hindex: HistIndex | None = None) -> list[int] | None:
    """COPY pieces for ``content`` (spec §4.1.1), or None when no run is worth copying.

    The reference is K ++ P ++ H ++ out: K = ``shared_content`` (the dictionary's shared content), P = ``prediction``
    (the slot's prediction), and ``ref`` = H ++ the message, whose ``content`` starts at
    ``ref[cur]``.  Returns a flat list of (head, distance) pairs (distance 0 for a literal piece).
    One copy of the whole value when it occurs before ``cur`` in ``ref`` or anywhere in ``shared_content``;
    else a greedy parse: at each position the longest run of at least COPY_MIN_RUN bytes found in
    ``prediction`` or before the position in ``ref`` (most recent occurrence, then a longer one if any),
    literal bytes between runs; at most COPY_SEARCHES searches of ``ref`` per value, so long
    values without matches stay cheap (``shared_content``, up to 1 MiB, is searched for the whole value only).
    ``kindex`` and ``hindex`` (encoder state over ``shared_content`` and ``ref``) answer the searches
    without scanning: ``kindex`` with the same results, ``hindex`` from the newest positions of
    ``ref`` its ring covers (HistIndex).
    """
    n: i64 = len(content)
    plen: i64 = len(prediction) if prediction is not None else 0
    klen: i64 = len(shared_content)
    if n < COPY_MIN_RUN:
        hindex = None
    p: i64 = hindex.find(ref, content, cur) if hindex is not None else ref.rfind(content, 0, cur)
    if p >= 0:
        return [n << 1 | 1, cur - p]
    searches: i64 = 1
    if klen >= n:
        searches += 1
        p = kindex.rfind(content) if kindex is not None and n >= 8 else shared_content.rfind(content)
        if p >= 0:
            return [n << 1 | 1, klen - p + plen + cur]
    out: list[int] = []
    i: i64 = 0
    lit: i64 = 0
    while i + COPY_MIN_RUN <= n:
        best: i64 = 0
        best_dist: i64 = 0
        if prediction is not None and plen >= COPY_MIN_RUN:
            q: i64 = prediction.find(content[i:i + COPY_MIN_RUN])
            while q >= 0:
                k = _extend(prediction, q, content, i, min(n - i, plen - q))
                if k > best:
                    best = k
                    best_dist = plen - q + cur + i
                q = prediction.find(content[i:i + COPY_MIN_RUN], q + 1)
        end: i64 = cur + i
        if searches < max_searches:
            searches += 1
            q = (hindex.find(ref, content[i:i + COPY_MIN_RUN], end) if hindex is not None
                 else ref.rfind(content[i:i + COPY_MIN_RUN], 0, end))
            while q >= 0 and searches <= max_searches:
                k = _extend(ref, q, content, i, min(n - i, end - q))
                if k > best:
                    best = k
                    best_dist = end - q
                if best >= n - i:
                    break
                # a longer run elsewhere?
                searches += 1
                q = (hindex.find(ref, content[i:i + best + 1], end) if hindex is not None
                     else ref.rfind(content[i:i + best + 1], 0, end))
        if best >= COPY_MIN_RUN:
            if lit:
                out.append(lit << 1)
                out.append(0)
                lit = 0
            out.append(best << 1 | 1)
            out.append(best_dist)
            i += best
        else:
            i += 1
            lit += 1
    if not out:
        return None
    lit += n - i
    if lit:
        out.append(lit << 1)
        out.append(0)
    return out


def _decode_copy(buf: bytes, pos: int, at: int, out: bytearray, q: bool, count: int, prediction: bytes | None,
                 atom_ctx: AtomCtx, limit: int) -> int:
    """COPY (spec §4.1.1): ``count`` pieces, each literal bytes or a run copied from K ++ P ++ H ++ out."""
    if count > (len(buf) - pos) // 2:
        raise PayloadError("COPY piece count exceeds the payload", offset=at, field="slot.copy")
    parts = (atom_ctx.content, prediction if prediction is not None else b"", atom_ctx.hist)
    fixed = len(parts[0]) + len(parts[1]) + len(parts[2])
    if q:
        out.append(0x22)
    for _ in range(count):
        h, pos = get_uv(buf, pos, "slot.copy")
        n = h >> 1
        if n == 0:
            raise PayloadError("empty COPY piece", offset=pos, field="slot.copy")
        if h & 1 == 0:
            if n > len(buf) - pos:
                raise PayloadError("COPY literal runs past the payload", offset=pos, field="slot.copy")
            out += buf[pos:pos + n]
            pos += n
        else:
            d, pos = get_uv(buf, pos, "slot.copy")
            cur = fixed + len(out)
            if n > d or d > cur:
                raise PayloadError(f"COPY distance {d} out of range (length {n}, {cur} bytes before)",
                                   offset=pos, field="slot.copy")
            src = cur - d
            end = src + n
            base = 0
            for part in parts:
                pl = len(part)
                if src < base + pl and src < end:
                    stop = min(end, base + pl)
                    out += part[src - base:stop - base]
                    src = stop
                base += pl
            if src < end:
                out += out[src - fixed:end - fixed]
        _check(out, limit)
    if q:
        out.append(0x22)
    return pos
