"""A bounded ring buffer of metrics points, feeding the dashboard's time series.

Each :meth:`MetricsHistory.sample` stores one small point: cumulative
counters, plus values for the interval since the previous point (ratio,
savings, method mix, encode/decode p50/p95/p99 computed from the difference
of the latency sketch's bucket counts).  Memory is fixed: ``capacity``
points plus one copy of the sketch buckets.  The clock is a parameter, so the
buffer is testable without sleeping; no I/O here.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Callable

from aura_wire.metrics import CompressionMetrics

__all__ = ["MetricsHistory"]

_QS = (0.5, 0.95, 0.99)


class MetricsHistory:
    """Keep the last ``capacity`` points, at most one every ``interval`` seconds."""

    def __init__(self, capacity: int = 360, interval: float = 10.0, *,
                 clock: Callable[[], float] = time.time) -> None:
        if capacity < 2:
            raise ValueError("capacity must be >= 2")
        if interval < 0:
            raise ValueError("interval must be >= 0")
        self.capacity = capacity
        self.interval = interval
        self._clock = clock
        self._points: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._last_t: float | None = None
        self._prev: dict[str, Any] | None = None
        self._prev_enc: list[int] | None = None
        self._prev_dec: list[int] | None = None

    def __len__(self) -> int:
        return len(self._points)

    def maybe_sample(self, metrics: CompressionMetrics) -> bool:
        """Sample when ``interval`` has passed since the last point; return whether it did."""
        now = self._clock()
        if self._last_t is not None and now - self._last_t < self.interval:
            return False
        self.sample(metrics, now)
        return True

    def sample(self, metrics: CompressionMetrics, now: float | None = None) -> dict[str, Any]:
        """Append a point for ``metrics`` now (``metrics`` must be cumulative: counters never go down)."""
        t = self._clock() if now is None else now
        enc = metrics.encode_latency
        dec = metrics.decode_latency
        prev = self._prev
        cur_methods = metrics.method_counts
        if prev is None or metrics.messages < prev["messages"]:
            # First point, or the source was reset: the interval is "since start".
            prev = {"messages": 0, "original_bytes": 0, "wire_bytes": 0, "total_bytes": 0, "template_hits": 0,
                    "expansions": 0, "errors": 0, "methods": {}, "shadow_deflate_bytes": 0, "shadow_aura_bytes": 0}
            self._prev_enc = None
            self._prev_dec = None
        d_orig = metrics.original_bytes - prev["original_bytes"]
        d_wire = metrics.wire_bytes - prev["wire_bytes"]
        d_total = metrics.total_bytes - prev["total_bytes"]  # CONTROL frames and dictionary transfers included
        d_sd = metrics.shadow_deflate_bytes - prev["shadow_deflate_bytes"]
        d_sa = metrics.shadow_aura_bytes - prev["shadow_aura_bytes"]
        d_msgs = metrics.messages - prev["messages"]
        enc_q = enc.quantiles_since(self._prev_enc or [0] * enc.nbuckets, _QS)
        dec_q = dec.quantiles_since(self._prev_dec or [0] * dec.nbuckets, _QS)
        point: dict[str, Any] = {
            "t": t,
            "messages": metrics.messages,
            "original_bytes": metrics.original_bytes,
            "wire_bytes": metrics.wire_bytes,
            "total_bytes": metrics.total_bytes,
            "ratio": metrics.ratio,
            "vs_deflate": metrics.vs_deflate or None,
            "savings": metrics.savings,
            "errors": metrics.errors,
            "interval": {
                "messages": d_msgs,
                "original_bytes": d_orig,
                "wire_bytes": d_wire,
                "total_bytes": d_total,
                "ratio": d_orig / d_total if d_total else None,
                "vs_deflate": d_sd / d_sa if d_sa > 0 else None,
                "savings": 1.0 - d_total / d_orig if d_orig else None,
                "template_hits": metrics.template_hits - prev["template_hits"],
                "expansions": metrics.expansions - prev["expansions"],
                "errors": metrics.errors - prev["errors"],
                "methods": {k: v - prev["methods"].get(k, 0) for k, v in sorted(cur_methods.items())},
                "encode_p50": enc_q[0], "encode_p95": enc_q[1], "encode_p99": enc_q[2],
                "decode_p50": dec_q[0], "decode_p95": dec_q[1], "decode_p99": dec_q[2],
            },
        }
        self._points.append(point)
        self._last_t = t
        self._prev = {"messages": metrics.messages, "original_bytes": metrics.original_bytes,
                      "wire_bytes": metrics.wire_bytes, "total_bytes": metrics.total_bytes,
                      "shadow_deflate_bytes": metrics.shadow_deflate_bytes,
                      "shadow_aura_bytes": metrics.shadow_aura_bytes,
                      "template_hits": metrics.template_hits,
                      "expansions": metrics.expansions, "errors": metrics.errors, "methods": cur_methods}
        self._prev_enc = enc.bucket_counts()
        self._prev_dec = dec.bucket_counts()
        return point

    def points(self) -> list[dict[str, Any]]:
        """The stored points, oldest first (JSON-ready)."""
        return list(self._points)
