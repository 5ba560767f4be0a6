"""COPY atoms (spec/templates.md §4.1.1): byte runs copied from the dictionary's shared content,
the prediction, the direction's message history and the message rendered so far.

An LZ77-style reference inside one slot value; the encoder searches, the
decoder follows the pieces.  Pure functions on bytes.
"""

from __future__ import annotations

from typing import Final

from mypy_extensions import i64

from aura_wire.codec.templates.forms import AtomCtx, _check, get_uv
from aura_wire.errors import PayloadError

#: COPY (spec §4.1.1): the encoder looks for copies in values of at least this many bytes whose
#: best other form costs at least COPY_TRY_COST bytes, for runs of at least COPY_MIN_RUN bytes,
#: with at most COPY_SEARCHES substring searches of the history per value.
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


def _copy_pieces(kc: bytes, ref: bytes, cur: i64, content: bytes, lc: bytes | None) -> list[int] | None:
    """COPY pieces for ``content`` (spec §4.1.1), or None when no run is worth copying.

    The reference is K ++ P ++ H ++ out: K = ``kc`` (the dictionary's shared content), P = ``lc``
    (the slot's prediction), and ``ref`` = H ++ the message, whose ``content`` starts at
    ``ref[cur]``.  Returns a flat list of (head, distance) pairs (distance 0 for a literal piece).
    One copy of the whole value when it occurs before ``cur`` in ``ref`` or anywhere in ``kc``;
    else a greedy parse: at each position the longest run of at least COPY_MIN_RUN bytes found in
    ``lc`` or before the position in ``ref`` (most recent occurrence, then a longer one if any),
    literal bytes between runs; at most COPY_SEARCHES searches of ``ref`` per value, so long
    values without matches stay cheap (``kc``, up to 1 MiB, is searched for the whole value only).
    """
    n: i64 = len(content)
    plen: i64 = len(lc) if lc is not None else 0
    klen: i64 = len(kc)
    p: i64 = ref.rfind(content, 0, cur)
    if p >= 0:
        return [n << 1 | 1, cur - p]
    searches: i64 = 1
    if klen >= n:
        searches += 1
        p = kc.rfind(content)
        if p >= 0:
            return [n << 1 | 1, klen - p + plen + cur]
    out: list[int] = []
    i: i64 = 0
    lit: i64 = 0
    while i + COPY_MIN_RUN <= n:
        best: i64 = 0
        bd: i64 = 0
        if lc is not None and plen >= COPY_MIN_RUN:
            q: i64 = lc.find(content[i:i + COPY_MIN_RUN])
            while q >= 0:
                k = _extend(lc, q, content, i, min(n - i, plen - q))
                if k > best:
                    best = k
                    bd = plen - q + cur + i
                q = lc.find(content[i:i + COPY_MIN_RUN], q + 1)
        end: i64 = cur + i
        if searches < COPY_SEARCHES:
            searches += 1
            q = ref.rfind(content[i:i + COPY_MIN_RUN], 0, end)
            while q >= 0 and searches <= COPY_SEARCHES:
                k = _extend(ref, q, content, i, min(n - i, end - q))
                if k > best:
                    best = k
                    bd = end - q
                if best >= n - i:
                    break
                # a longer run elsewhere?
                searches += 1
                q = ref.rfind(content[i:i + best + 1], 0, end)
        if best >= COPY_MIN_RUN:
            if lit:
                out.append(lit << 1)
                out.append(0)
                lit = 0
            out.append(best << 1 | 1)
            out.append(bd)
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


def _decode_copy(buf: bytes, pos: int, at: int, out: bytearray, q: bool, count: int, lc: bytes | None,
                 cx: AtomCtx, limit: int) -> int:
    """COPY (spec §4.1.1): ``count`` pieces, each literal bytes or a run copied from K ++ P ++ H ++ out."""
    if count > (len(buf) - pos) // 2:
        raise PayloadError("COPY piece count exceeds the payload", offset=at, field="slot.copy")
    parts = (cx.content, lc if lc is not None else b"", cx.hist)
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
