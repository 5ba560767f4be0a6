"""The cluster view for operators: per-replica snapshots and their aggregate (pure, no I/O here).

Every replica writes a :func:`replica_snapshot` to the store with an expiry
(a replica that dies drops out of the view when its snapshot expires); any
replica reads them all back and :func:`aggregate` sums them for the health
endpoint and the dashboard's per-replica table.

The aggregate sums the counters (messages, bytes, template hits,
expansions, errors, per-method counts): those add exactly.  Latency
quantiles do not add, so the table shows each replica's encode p95 and the
aggregate reports the largest of them (an upper bound on the cluster's
p95), not a merged sketch.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from aura_wire.metrics import CompressionMetrics
from aura_wire.ops.health import HealthTargets, health_report

__all__ = ["aggregate", "metrics_from_snapshot", "replica_snapshot"]


def replica_snapshot(replica: str, middleware_snapshot: Mapping[str, Any], *, now: float | None = None,
                     extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-ready record one replica publishes (``middleware_snapshot``: ``AuraMiddleware.metrics_snapshot``)."""
    total = middleware_snapshot.get("total", {})
    out = {
        "replica": replica,
        "time": time.time() if now is None else now,
        "dictionary": middleware_snapshot.get("dictionary"),
        "connections": dict(middleware_snapshot.get("connections", {})),
        "total": dict(total),
        "broadcast": dict(middleware_snapshot.get("broadcast", {})),
        "close_codes": dict(middleware_snapshot.get("close_codes", {})),
    }
    if extra:
        out.update(extra)
    return out


def metrics_from_snapshot(snap: Mapping[str, Any]) -> CompressionMetrics:
    """A :class:`CompressionMetrics` holding the counters of a ``CompressionMetrics.snapshot()`` (no latencies)."""
    m = CompressionMetrics()
    for name in ("messages", "original_bytes", "wire_bytes", "template_hits", "expansions", "errors"):
        v = snap.get(name, 0)
        setattr(m, name, int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0)
    methods = snap.get("methods", {})
    if isinstance(methods, Mapping):
        for k, v in methods.items():
            if isinstance(v, Mapping):
                m.by_method[str(k)] = [int(v.get("count", 0)), int(v.get("original_bytes", 0)),
                                       int(v.get("wire_bytes", 0))]
    return m


def _p95(snap: Mapping[str, Any]) -> float:
    lat = snap.get("latency", {})
    enc = lat.get("encode", {}) if isinstance(lat, Mapping) else {}
    v = enc.get("p95", 0.0) if isinstance(enc, Mapping) else 0.0
    return float(v) if isinstance(v, (int, float)) else 0.0


def aggregate(snapshots: Sequence[Mapping[str, Any]], targets: HealthTargets | None = None, *,
              now: float | None = None) -> dict[str, Any]:
    """Sum replica snapshots into the cluster view: totals, health, and one row per replica.

    Rows are sorted by replica id; ``dictionaries`` counts replicas per
    current dictionary (more than one key means a rollout in progress).
    """
    t = time.time() if now is None else now
    rows: list[dict[str, Any]] = []
    parts: list[CompressionMetrics] = []
    dictionaries: dict[str, int] = {}
    connections = {"open": 0, "open_aura": 0, "pending": 0, "total": 0, "total_aura": 0}
    broadcast_messages = 0
    p95 = 0.0
    for s in sorted(snapshots, key=lambda s: str(s.get("replica", ""))):
        m = metrics_from_snapshot(s.get("total", {}))
        parts.append(m)
        conns = s.get("connections", {})
        for k in connections:
            v = conns.get(k, 0) if isinstance(conns, Mapping) else 0
            connections[k] += int(v) if isinstance(v, int) else 0
        did = s.get("dictionary")
        key = str(did) if did else "none"
        dictionaries[key] = dictionaries.get(key, 0) + 1
        bm = s.get("broadcast", {})
        bmsgs = int(bm.get("messages", 0)) if isinstance(bm, Mapping) else 0
        broadcast_messages += bmsgs
        rp95 = _p95(s.get("total", {}))
        p95 = max(p95, rp95)
        rows.append({
            "replica": s.get("replica"),
            "age_seconds": round(max(0.0, t - float(s.get("time", t))), 3),
            "dictionary": did,
            "connections": conns.get("open", 0) if isinstance(conns, Mapping) else 0,
            "messages": m.messages,
            "ratio": m.ratio,
            "savings": m.savings,
            "broadcast_encodes": bmsgs,
            "encode_p95": rp95,
            "errors": m.errors,
            "status": health_report(m, targets)["status"],
        })
    total = CompressionMetrics.aggregate(parts)
    rep = health_report(total, targets)
    return {
        "replicas": rows,
        "count": len(rows),
        "status": rep["status"],
        "alerts": rep["alerts"],
        "total": total.snapshot(),
        "connections": connections,
        "dictionaries": dictionaries,
        "broadcast_encodes": broadcast_messages,
        "encode_p95_max": p95,
    }
