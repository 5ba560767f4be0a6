"""Canary split of new connections between two configurations, with per-arm metrics.

``CanarySplitter(percent, config_a, config_b, seed=0)`` sends ``percent`` %
of new connections to arm "b" (the canary) and the rest to arm "a".  The
choice is a pure function of ``(seed, connection_id)`` (BLAKE2b), so it is
reproducible and the same client id always lands in the same arm; without
an id a per-splitter counter is used.  The middleware either hands
``arm.sent_metrics`` / ``arm.received_metrics`` to the arm's connections as
shared metrics objects, or merges each connection's Encoder/Decoder metrics
into its arm with :meth:`record` when it closes.  No I/O here.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from typing import Any, Mapping

from aura_wire.errors import ConfigError
from aura_wire.metrics import ROLE_DECODE, ROLE_ENCODE, CompressionMetrics

__all__ = ["CanarySplitter", "Arm"]


class Arm:
    """One side of the split: its ``name``, ``config`` and metrics.

    ``sent_metrics`` (role encode) and ``received_metrics`` (role decode) can
    be handed to every connection of the arm as shared metrics objects, or
    filled at close with :meth:`CanarySplitter.record`.
    """

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        self.name = name
        self.config = dict(config)
        self.sent_metrics = CompressionMetrics(ROLE_ENCODE)
        self.received_metrics = CompressionMetrics(ROLE_DECODE)
        self.connections = 0

    @property
    def metrics(self) -> CompressionMetrics:
        """Both directions aggregated (a new object)."""
        return CompressionMetrics.aggregate([self.sent_metrics, self.received_metrics])

    def __repr__(self) -> str:
        return f"<Arm {self.name} connections={self.connections} {self.metrics!r}>"


class CanarySplitter:
    """Decide per new connection which configuration it uses."""

    def __init__(self, percent: float, config_a: Mapping[str, Any], config_b: Mapping[str, Any], *,
                 seed: int | str = 0) -> None:
        if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0.0 <= percent <= 100.0:
            raise ConfigError(f"canary percent must be in [0, 100], got {percent!r}", field="percent")
        self.percent = float(percent)
        self.seed = str(seed)
        self.a = Arm("a", config_a)
        self.b = Arm("b", config_b)
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def bucket(self, connection_id: str | bytes | int) -> float:
        """The connection's position in [0, 100): arm "b" when below ``percent``."""
        key = connection_id if isinstance(connection_id, bytes) else str(connection_id).encode("utf-8")
        h = hashlib.blake2b(key, digest_size=8, key=self.seed.encode("utf-8")[:64]).digest()
        return int.from_bytes(h, "big") / 2.0**64 * 100.0

    def choose(self, connection_id: str | bytes | int | None = None) -> Arm:
        """The arm of a new connection (counted in ``arm.connections``)."""
        if connection_id is None:
            connection_id = f"#{next(self._counter)}"
        arm = self.b if self.bucket(connection_id) < self.percent else self.a
        with self._lock:
            arm.connections += 1
        return arm

    def arm(self, name: str) -> Arm:
        if name == "a":
            return self.a
        if name == "b":
            return self.b
        raise KeyError(name)

    def record(self, arm: Arm | str, metrics: CompressionMetrics) -> None:
        """Merge a finished connection's Encoder or Decoder metrics into its arm (by ``metrics.role``)."""
        target = self.arm(arm) if isinstance(arm, str) else arm
        with self._lock:
            (target.sent_metrics if metrics.role == ROLE_ENCODE else target.received_metrics).merge(metrics)

    def arm_metrics(self) -> dict[str, CompressionMetrics]:
        """``{"a": ..., "b": ...}`` copies, suitable for ``make_ops_app(arms=splitter.arm_metrics)``."""
        with self._lock:
            return {"a": self.a.metrics, "b": self.b.metrics}

    def report(self) -> dict[str, Any]:
        """Both arms' snapshots and the ratio of b over a (> 1: the canary compresses better)."""
        arms = self.arm_metrics()
        am, bm = arms["a"], arms["b"]
        return {
            "percent": self.percent,
            "a": {"config": self.a.config, "connections": self.a.connections, "metrics": am.snapshot()},
            "b": {"config": self.b.config, "connections": self.b.connections, "metrics": bm.snapshot()},
            "ratio_b_over_a": bm.ratio / am.ratio if am.ratio else None,
        }
