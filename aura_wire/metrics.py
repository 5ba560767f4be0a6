"""Compression metrics kept by every Encoder/Decoder and aggregated by the middleware.

:class:`CompressionMetrics` counts messages, original and wire bytes, methods,
template hits, expansions (frames larger than their message) and decode
errors, and keeps the coding latency in a :class:`LatencySketch`: a
fixed-memory log-bucket histogram (DDSketch-style) whose quantiles have a
bounded *relative* error.  ``record`` is on the hot path of every message, so
it does a handful of integer additions, one dict lookup and one ``math.log``;
nothing here keeps per-message data or grows with traffic.  Compiled with the
codec (``_compiled_modules.py``): interpreted, ``record`` cost about 0.6 µs per
message, a seventh of decoding a small stateless frame (``math.log``/``math.ceil``
are mypyc float primitives).

Ratios are always ``original / wire`` (2.0 means the wire carries half the
bytes); they are never inverted.  No I/O here.
"""

from __future__ import annotations

import math
import zlib
from typing import Any, Final

from librt.vecs import append as vappend
from librt.vecs import vec
from mypy_extensions import i64

_INF: Final = math.inf

__all__ = ["CompressionMetrics", "LatencySketch", "ShadowDeflate", "ROLE_ENCODE", "ROLE_DECODE"]

ROLE_ENCODE: Final = "encode"
ROLE_DECODE: Final = "decode"

#: Default relative accuracy of the latency quantiles (2 %).
DEFAULT_RELATIVE_ACCURACY: Final = 0.02
#: Smallest latency resolved (1 µs); anything faster lands in the lowest bucket.
DEFAULT_MIN_SECONDS: Final = 1e-6
#: Largest latency resolved (100 s); anything slower lands in the highest bucket.
DEFAULT_MAX_SECONDS: Final = 100.0
#: Buckets a sketch allocates at its first value (see :class:`LatencySketch`).
_FIRST_WINDOW: Final = 32


def _zeros(n: i64) -> vec[i64]:
    v = vec[i64](capacity=n)
    k: i64 = 0
    while k < n:
        v = vappend(v, 0)
        k += 1
    return v


class LatencySketch:
    """Streaming quantiles of positive durations in fixed memory.

    Bucket ``i`` holds values in ``(gamma**(i-1), gamma**i]`` with
    ``gamma = (1 + a) / (1 - a)``; a quantile is reported as the bucket's
    midpoint ``2 * gamma**i / (gamma + 1)``, which is within a relative error
    ``a`` of every value in the bucket (Masson et al., *DDSketch*, VLDB 2019,
    §2).  So for any ``q`` the reported value ``v`` satisfies
    ``|v - x| <= a * x`` where ``x`` is the true sample of rank
    ``floor(q * (count - 1))``, as long as ``x`` lies in
    ``(min_seconds, max_seconds)``; values outside go to the two end buckets,
    reported as the exact ``min`` / ``max`` seen (every reported quantile is
    also clamped into ``[min, max]``).  With the defaults (a = 2 %, 1 µs .. 100 s) there are
    464 buckets (3.7 KB of ``vec[i64]``: native integers, no int object made per count).
    Only the buckets between the lowest and highest value seen are held: a window of
    ``_FIRST_WINDOW`` buckets (256 bytes) around the first value, at least doubled when a value
    falls outside it (a codec's latencies from 2 µs to 2 ms span 173 buckets, 1.4-2 KB), so a
    connection's own sketches stay small.
    Sketches with the same parameters merge exactly (bucket counts add).
    """

    __slots__ = ("relative_accuracy", "min_seconds", "max_seconds", "_gamma", "_inv_log_gamma", "_offset",
                 "_nbuckets", "_counts", "_base", "_lo", "_hi", "count", "total", "min", "max")

    def __init__(
        self,
        relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY,
        min_seconds: float = DEFAULT_MIN_SECONDS,
        max_seconds: float = DEFAULT_MAX_SECONDS,
    ) -> None:
        if not (0.0 < relative_accuracy < 1.0):
            raise ValueError(f"relative_accuracy must be in (0, 1), got {relative_accuracy!r}")
        if not (0.0 < min_seconds < max_seconds):
            raise ValueError("need 0 < min_seconds < max_seconds")
        self.relative_accuracy = relative_accuracy
        self.min_seconds = min_seconds
        self.max_seconds = max_seconds
        self._gamma = (1.0 + relative_accuracy) / (1.0 - relative_accuracy)
        self._inv_log_gamma = 1.0 / math.log(self._gamma)
        # bucket 0 holds values <= min_seconds and the last bucket values >= max_seconds; the
        # buckets between hold every value in (min_seconds, max_seconds), none of them shared with an
        # end bucket (a value just inside either end is reported within `a`, not as min or max)
        self._offset = math.ceil(math.log(min_seconds) * self._inv_log_gamma) - 1
        self._nbuckets = math.ceil(math.log(max_seconds) * self._inv_log_gamma) - self._offset + 2
        self._counts: vec[i64] | None = None  # buckets _base .. _base + len - 1
        self._base = 0
        self._lo = self._nbuckets  # lowest bucket used
        self._hi = -1  # highest bucket used
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = 0.0

    @property
    def nbuckets(self) -> int:
        return self._nbuckets

    def memory_bytes(self) -> int:
        """Bytes of the bucket array (0 until the first value)."""
        return 0 if self._counts is None else len(self._counts) * 8

    def _cover(self, lo: int, hi: int) -> vec[i64]:
        """The bucket array, grown to hold buckets ``lo`` .. ``hi`` (at least doubled, within the sketch)."""
        nb = self._nbuckets
        counts = self._counts
        if counts is None:
            b0, e0, old = lo, hi + 1, 0
        elif self._base <= lo and hi < self._base + len(counts):
            return counts
        else:
            b0 = self._base
            old = len(counts)
            e0 = b0 + old
        b, e = min(b0, lo), max(e0, hi + 1)
        grow = max(2 * old, _FIRST_WINDOW) - (e - b)
        if grow > 0:
            if counts is not None and lo < b0 and hi < e0:
                b -= grow  # growing down
            elif counts is not None and lo >= b0:
                e += grow  # growing up
            else:
                b -= grow // 2
                e += grow - grow // 2
        if b < 0:
            e, b = e - b, 0
        if e > nb:
            b, e = max(0, b - (e - nb)), nb
        new = _zeros(e - b)
        if counts is not None:
            k: i64 = 0
            shift: i64 = b0 - b
            while k < old:
                new[k + shift] = counts[k]
                k += 1
        self._counts = new
        self._base = b
        return new

    def add(self, seconds: float) -> None:
        """Add one duration (values <= min_seconds, NaN included, count in the lowest bucket; never raises)."""
        if seconds > self.min_seconds:
            if seconds < self.max_seconds:
                i = math.ceil(math.log(seconds) * self._inv_log_gamma) - self._offset
                if i >= self._nbuckets:
                    i = self._nbuckets - 1
            else:
                i = self._nbuckets - 1
                if seconds == _INF:
                    seconds = self.max_seconds  # keep total/avg finite
        else:
            i = 0
            if math.isnan(seconds) or seconds == -_INF:
                seconds = 0.0  # NaN / -inf: count it, but keep total/avg finite
        counts = self._counts
        j = i - self._base
        if counts is None or j < 0 or j >= len(counts):
            counts = self._cover(i, i)
            j = i - self._base
        counts[j] += 1
        if i < self._lo:
            self._lo = i
        if i > self._hi:
            self._hi = i
        self.count += 1
        self.total += seconds
        if seconds < self.min:
            self.min = seconds
        if seconds > self.max:
            self.max = seconds

    def _value(self, i: int) -> float:
        return 2.0 * self._gamma ** (i + self._offset) / (self._gamma + 1.0)

    def quantile(self, q: float) -> float:
        """The ``q``-quantile (0 <= q <= 1); 0.0 when empty."""
        if not (0.0 <= q <= 1.0):
            raise ValueError(f"quantile must be in [0, 1], got {q!r}")
        counts = self._counts
        if counts is None or self.count == 0:
            return 0.0
        rank = int(q * (self.count - 1))
        seen = 0
        base = self._base
        for i in range(self._lo, self._hi + 1):
            seen += counts[i - base]
            if seen > rank:
                if i == self._nbuckets - 1:
                    return self.max  # overflow bucket: values >= max_seconds
                if i == 0:
                    return self.min  # underflow bucket: values <= min_seconds
                v = self._value(i)
                return min(max(v, self.min), self.max)
        return self.max

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    def compatible(self, other: LatencySketch) -> bool:
        return (self.relative_accuracy == other.relative_accuracy and self.min_seconds == other.min_seconds
                and self.max_seconds == other.max_seconds)

    def merge(self, other: LatencySketch) -> None:
        """Add ``other``'s values into this sketch (same parameters required)."""
        if not self.compatible(other):
            raise ValueError("cannot merge latency sketches with different parameters")
        oc = other._counts
        if oc is None or other.count == 0:
            return
        counts = self._cover(min(self._lo, other._lo), max(self._hi, other._hi))
        base, obase = self._base, other._base
        for i in range(other._lo, other._hi + 1):
            counts[i - base] += oc[i - obase]
        self._lo = min(self._lo, other._lo)
        self._hi = max(self._hi, other._hi)
        self.count += other.count
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def copy(self) -> LatencySketch:
        out = LatencySketch(self.relative_accuracy, self.min_seconds, self.max_seconds)
        out.merge(self)
        return out

    def bucket_counts(self) -> list[int]:
        """A copy of the bucket counts (for interval differences)."""
        out = [0] * self._nbuckets
        counts = self._counts
        if counts is not None:
            base = self._base
            for k in range(len(counts)):
                out[base + k] = counts[k]
        return out

    def quantiles_since(self, previous: list[int], qs: tuple[float, ...]) -> list[float]:
        """Quantiles of the values added since ``previous = bucket_counts()`` was taken.

        Bucket midpoints only (no exact min/max for an interval); 0.0 when
        nothing was added.
        """
        counts = self.bucket_counts()
        diff = [c - p for c, p in zip(counts, previous)]
        n = sum(diff)
        out: list[float] = []
        for q in qs:
            if n <= 0:
                out.append(0.0)
                continue
            rank = int(q * (n - 1))
            seen = 0
            for i, c in enumerate(diff):
                seen += c
                if seen > rank:
                    out.append(self._value(i))
                    break
        return out

    def summary(self) -> dict[str, float]:
        """count, avg, p50, p95, p99, max (seconds)."""
        return {
            "count": self.count,
            "avg": self.mean,
            "p50": self.quantile(0.50),
            "p95": self.quantile(0.95),
            "p99": self.quantile(0.99),
            "max": self.max,
        }


class CompressionMetrics:
    """Counters of one Encoder or Decoder, or an aggregate of many (:meth:`merge`).

    ``role`` ("encode" or "decode") says which latency sketch :meth:`record`
    feeds; an aggregate keeps both.  Byte counters add up both directions.

    Attributes: ``messages``, ``original_bytes`` (message payload bytes),
    ``wire_bytes`` (data frame bytes, header included), ``control_bytes``
    (CONTROL frames: HELLO, USE, GET and CHUNK, in-band dictionary transfers
    included), ``dictionary_inband_bytes`` (dictionary bytes inside those CHUNKs),
    ``dictionary_http_bytes`` (dictionary bodies served over HTTP), ``template_hits``,
    ``expansions`` (frames larger than their message), ``errors`` (failed
    decodes), ``encode_latency`` / ``decode_latency`` (:class:`LatencySketch`)
    and per-method ``[count, original, wire]`` in ``by_method``.

    The ratio and savings are the honest ones: every byte AURA puts on the
    network counts (data frames, CONTROL frames and HTTP dictionary bodies);
    ``data_ratio`` is the data frames alone.
    """

    __slots__ = ("role", "messages", "original_bytes", "wire_bytes", "template_hits", "expansions", "errors",
                 "by_method", "encode_latency", "decode_latency", "_latency", "control_bytes",
                 "dictionary_inband_bytes", "dictionary_http_bytes", "shadow_messages", "shadow_deflate_bytes",
                 "shadow_aura_bytes")

    def __init__(self, role: str = ROLE_ENCODE, *, relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY) -> None:
        if role not in (ROLE_ENCODE, ROLE_DECODE):
            raise ValueError(f"role must be 'encode' or 'decode', got {role!r}")
        self.role = role
        self.messages = 0
        self.original_bytes = 0
        self.wire_bytes = 0
        self.control_bytes = 0
        self.dictionary_inband_bytes = 0
        self.dictionary_http_bytes = 0
        #: Shadow permessage-deflate on sampled connections (:class:`ShadowDeflate`): messages seen,
        #: bytes deflate would have sent, bytes AURA sent for the same traffic (all frames).
        self.shadow_messages = 0
        self.shadow_deflate_bytes = 0
        self.shadow_aura_bytes = 0
        self.template_hits = 0
        self.expansions = 0
        self.errors = 0
        self.by_method: dict[str, list[int]] = {}
        self.encode_latency = LatencySketch(relative_accuracy)
        self.decode_latency = LatencySketch(relative_accuracy)
        self._latency = self.encode_latency if role == ROLE_ENCODE else self.decode_latency

    def memory_bytes(self) -> int:
        """Bytes of the latency sketches' bucket arrays (the counters are a few ints)."""
        return self.encode_latency.memory_bytes() + self.decode_latency.memory_bytes()

    # -- hot path -----------------------------------------------------------
    def record(self, method: str, original: int, wire: int, seconds: float, template: bool) -> None:
        """Record one coded message (``original`` payload bytes, ``wire`` frame bytes)."""
        self.messages += 1
        self.original_bytes += original
        self.wire_bytes += wire
        if wire > original:
            self.expansions += 1
        if template:
            self.template_hits += 1
        m = self.by_method.get(method)
        if m is None:
            m = self.by_method[method] = [0, 0, 0]
        m[0] += 1
        m[1] += original
        m[2] += wire
        self._latency.add(seconds)

    def record_error(self) -> None:
        """Count one failed decode."""
        self.errors += 1

    def record_control(self, frame_bytes: int, dictionary_bytes: int = 0) -> None:
        """Count one CONTROL frame; ``dictionary_bytes``: the dictionary bytes a CHUNK carries."""
        self.control_bytes += frame_bytes
        self.dictionary_inband_bytes += dictionary_bytes

    # -- derived values -----------------------------------------------------
    @property
    def overhead_bytes(self) -> int:
        """Bytes besides data frames: CONTROL frames and HTTP dictionary bodies."""
        return self.control_bytes + self.dictionary_http_bytes

    @property
    def total_bytes(self) -> int:
        """Every byte AURA put on the network for this traffic: data frames plus overhead."""
        return self.wire_bytes + self.overhead_bytes

    @property
    def ratio(self) -> float:
        """original / total bytes, overhead included (> 1 means compression); 0.0 before any byte."""
        total = self.total_bytes
        return self.original_bytes / total if total else 0.0

    @property
    def vs_deflate(self) -> float:
        """Estimated permessage-deflate w15 bytes / AURA bytes on the sampled connections (0.0: no sample).

        Above 1: AURA sends fewer bytes than permessage-deflate would have on the same traffic.
        """
        return self.shadow_deflate_bytes / self.shadow_aura_bytes if self.shadow_aura_bytes else 0.0

    @property
    def data_ratio(self) -> float:
        """original / data frame bytes (the codec alone, without dictionary transfers and CONTROL frames)."""
        return self.original_bytes / self.wire_bytes if self.wire_bytes else 0.0

    @property
    def bytes_saved(self) -> int:
        """original - total bytes (negative when AURA costs more than it saves)."""
        return self.original_bytes - self.total_bytes

    @property
    def savings(self) -> float:
        """Fraction of bandwidth saved, 1 - total / original; 0.0 before any byte."""
        return 1.0 - self.total_bytes / self.original_bytes if self.original_bytes else 0.0

    @property
    def template_hit_rate(self) -> float:
        return self.template_hits / self.messages if self.messages else 0.0

    @property
    def expansion_rate(self) -> float:
        """Fraction of messages whose frame was larger than the message."""
        return self.expansions / self.messages if self.messages else 0.0

    @property
    def error_rate(self) -> float:
        """errors / (messages + errors)."""
        n = self.messages + self.errors
        return self.errors / n if n else 0.0

    @property
    def method_counts(self) -> dict[str, int]:
        return {k: v[0] for k, v in self.by_method.items()}

    def method_ratio(self, method: str) -> float:
        m = self.by_method.get(method)
        return m[1] / m[2] if m is not None and m[2] else 0.0

    # -- aggregation --------------------------------------------------------
    def merge(self, other: CompressionMetrics) -> CompressionMetrics:
        """Add ``other``'s counts into this one (returns self, for chaining)."""
        self.messages += other.messages
        self.original_bytes += other.original_bytes
        self.wire_bytes += other.wire_bytes
        self.control_bytes += other.control_bytes
        self.dictionary_inband_bytes += other.dictionary_inband_bytes
        self.dictionary_http_bytes += other.dictionary_http_bytes
        self.shadow_messages += other.shadow_messages
        self.shadow_deflate_bytes += other.shadow_deflate_bytes
        self.shadow_aura_bytes += other.shadow_aura_bytes
        self.template_hits += other.template_hits
        self.expansions += other.expansions
        self.errors += other.errors
        for k, v in other.by_method.items():
            m = self.by_method.get(k)
            if m is None:
                m = self.by_method[k] = [0, 0, 0]
            m[0] += v[0]
            m[1] += v[1]
            m[2] += v[2]
        self.encode_latency.merge(other.encode_latency)
        self.decode_latency.merge(other.decode_latency)
        return self

    @classmethod
    def aggregate(cls, parts: list[CompressionMetrics]) -> CompressionMetrics:
        """A new metrics object holding the sum of ``parts``."""
        out = cls()
        for p in parts:
            out.merge(p)
        return out

    def copy(self) -> CompressionMetrics:
        out = CompressionMetrics(self.role, relative_accuracy=self.encode_latency.relative_accuracy)
        return out.merge(self)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready dict of every counter and derived value (latencies in seconds)."""
        methods: dict[str, dict[str, float]] = {}
        for k in sorted(self.by_method):
            c, o, w = self.by_method[k]
            methods[k] = {
                "count": c,
                "share": c / self.messages if self.messages else 0.0,
                "original_bytes": o,
                "wire_bytes": w,
                "ratio": o / w if w else 0.0,
            }
        return {
            "messages": self.messages,
            "original_bytes": self.original_bytes,
            "wire_bytes": self.wire_bytes,
            "control_bytes": self.control_bytes,
            "dictionary_bytes": {"inband": self.dictionary_inband_bytes, "http": self.dictionary_http_bytes},
            "total_bytes": self.total_bytes,
            "ratio": self.ratio,
            "data_ratio": self.data_ratio,
            "vs_deflate": {"ratio": self.vs_deflate, "messages": self.shadow_messages,
                           "deflate_bytes": self.shadow_deflate_bytes, "aura_bytes": self.shadow_aura_bytes},
            "bytes_saved": self.bytes_saved,
            "savings": self.savings,
            "template_hits": self.template_hits,
            "template_hit_rate": self.template_hit_rate,
            "expansions": self.expansions,
            "expansion_rate": self.expansion_rate,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "methods": methods,
            "latency": {
                ROLE_ENCODE: self.encode_latency.summary(),
                ROLE_DECODE: self.decode_latency.summary(),
            },
        }

    def __repr__(self) -> str:
        return (f"<CompressionMetrics {self.role} messages={self.messages} ratio={self.ratio:.3f} "
                f"errors={self.errors}>")


#: Default bytes of application messages one sampled connection is shadow-coded for (both directions).
SHADOW_BUDGET = 1 << 20
#: Messages longer than this are left out of the shadow estimate (counted on neither side).
SHADOW_MAX_MESSAGE = 65536


class ShadowDeflate:
    """permessage-deflate (RFC 7692) run beside one sampled connection, to estimate "better than deflate".

    One zlib stream per direction with the strongest common setting (window 15,
    memLevel 8, level 6, context takeover), fed the application messages; each
    message costs what RFC 7692 §7.2.1 sends: the SYNC_FLUSH output without its
    last 4 bytes (00 00 ff ff).  WebSocket framing is the same for both and left
    out.  About 300 KiB of zlib state per direction, so the caller bounds how
    many connections it shadows.

    The CPU is bounded too: a stream codes at most ``budget`` bytes of messages
    (then :attr:`spent` is True and the caller drops the object, freeing the zlib
    state for another connection's sample), and a message longer than
    ``max_message`` is not coded (:meth:`deflate_size` returns None: the caller
    leaves it out of both sides of the estimate).  No I/O here.
    """

    __slots__ = ("_streams", "budget", "max_message")

    def __init__(self, budget: int = SHADOW_BUDGET, max_message: int = SHADOW_MAX_MESSAGE) -> None:
        self._streams = {"sent": zlib.compressobj(6, zlib.DEFLATED, -15, 8),
                         "received": zlib.compressobj(6, zlib.DEFLATED, -15, 8)}
        self.budget = budget
        self.max_message = max_message

    @property
    def spent(self) -> bool:
        """True once the byte budget is used up."""
        return self.budget <= 0

    def deflate_size(self, direction: str, message: str | bytes) -> int | None:
        """Bytes permessage-deflate would send for ``message`` in ``direction`` ("sent"/"received"),
        or None for a message above ``max_message`` (not coded)."""
        if len(message) > self.max_message:  # characters or bytes: both bound the work
            return None
        data = message.encode("utf-8") if isinstance(message, str) else message
        self.budget -= len(data)
        c = self._streams[direction]
        out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
        return len(out) - 4 if out.endswith(b"\x00\x00\xff\xff") else len(out)
