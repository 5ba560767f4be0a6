"""Prometheus text exposition (format 0.0.4) of CompressionMetrics and health alerts.

Written by hand to the exact text format
(https://prometheus.io/docs/instrumenting/exposition_formats/): one
``# HELP`` and one ``# TYPE`` line per family, label values escaped
(``\\``, ``"``, newline), a final newline.  No I/O here.
"""

from __future__ import annotations

import math
from typing import Callable, Final, Mapping

from aura_wire.metrics import ROLE_DECODE, ROLE_ENCODE, CompressionMetrics
from aura_wire.ops.health import CRITICAL, INFO, WARNING, Alert

__all__ = ["CONTENT_TYPE", "render_prometheus"]

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
_QUANTILES: Final = (0.5, 0.95, 0.99)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(v: float) -> str:
    if isinstance(v, int):
        return str(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.seen: set[str] = set()

    def family(self, name: str, kind: str, help_text: str) -> None:
        if name in self.seen:
            return
        self.seen.add(name)
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, labels: Mapping[str, str], value: float) -> None:
        self.lines.append(f"{name}{_labels(labels)} {_num(value)}")


def _write_metrics(w: _Writer, prefix: str, parts: list[tuple[dict[str, str], CompressionMetrics]]) -> None:
    """Write every family; all samples of one family stay together, as the format requires."""
    scalars: tuple[tuple[str, str, str, Callable[[CompressionMetrics], float]], ...] = (
        ("messages_total", "counter", "Messages coded (encoded and decoded).", lambda m: m.messages),
        ("original_bytes_total", "counter", "Message payload bytes before coding.", lambda m: m.original_bytes),
        ("wire_bytes_total", "counter", "Data frame bytes on the wire (header included).", lambda m: m.wire_bytes),
        ("control_bytes_total", "counter", "CONTROL frame bytes (HELLO, USE, GET, CHUNK; in-band dictionary "
         "transfers included).", lambda m: m.control_bytes),
        ("total_bytes_total", "counter", "Every byte AURA sent or received: data frames, CONTROL frames and "
         "dictionaries served over HTTP.", lambda m: m.total_bytes),
        ("compression_ratio", "gauge", "original_bytes / total bytes, CONTROL frames and dictionary transfers "
         "included (higher is better; 0 before traffic).", lambda m: m.ratio),
        ("data_compression_ratio", "gauge", "original_bytes / data frame bytes (the codec alone).",
         lambda m: m.data_ratio),
        ("vs_permessage_deflate_ratio", "gauge", "Estimated permessage-deflate w15 bytes / AURA bytes (all frames) "
         "on the connections shadow-coded with zlib (> 1: AURA sends fewer; 0 before a sample).",
         lambda m: m.vs_deflate),
        ("shadow_messages_total", "counter", "Messages shadow-coded with permessage-deflate w15 (sampled "
         "connections).", lambda m: m.shadow_messages),
        ("bandwidth_saved_bytes", "gauge", "original_bytes - total bytes (negative if expanding).",
         lambda m: m.bytes_saved),
        ("bandwidth_savings_ratio", "gauge", "1 - total bytes / original_bytes.", lambda m: m.savings),
        ("template_hits_total", "counter", "Messages coded by a template.", lambda m: m.template_hits),
        ("template_hit_ratio", "gauge", "template_hits / messages.", lambda m: m.template_hit_rate),
        ("expansions_total", "counter", "Frames larger than their message.", lambda m: m.expansions),
        ("expansion_ratio", "gauge", "expansions / messages.", lambda m: m.expansion_rate),
        ("errors_total", "counter", "Frames that failed to decode.", lambda m: m.errors),
    )
    for name, kind, help_text, get in scalars:
        w.family(prefix + name, kind, help_text)
        for base, m in parts:
            w.sample(prefix + name, base, get(m))
    name = prefix + "dictionary_transfer_bytes_total"
    w.family(name, "counter", "Dictionary bytes transferred, by route (inband: inside CHUNK frames; http: "
             "bodies served by the dictionary endpoint).")
    for base, m in parts:
        w.sample(name, {**base, "route": "inband"}, m.dictionary_inband_bytes)
        w.sample(name, {**base, "route": "http"}, m.dictionary_http_bytes)
    per_method = (
        ("method_messages_total", "counter", "Messages per coding method.", 0),
        ("method_original_bytes_total", "counter", "Original bytes per coding method.", 1),
        ("method_wire_bytes_total", "counter", "Wire bytes per coding method.", 2),
    )
    for name, kind, help_text, idx in per_method:
        w.family(prefix + name, kind, help_text)
        for base, m in parts:
            for method in sorted(m.by_method):
                w.sample(prefix + name, {**base, "method": method}, m.by_method[method][idx])
    w.family(prefix + "method_compression_ratio", "gauge", "original / wire bytes per coding method.")
    for base, m in parts:
        for method in sorted(m.by_method):
            w.sample(prefix + "method_compression_ratio", {**base, "method": method}, m.method_ratio(method))
    lat = prefix + "latency_seconds"
    w.family(lat, "summary", "Coding latency per message (quantiles from a log-bucket sketch, 2% relative error).")
    for base, m in parts:
        for role, sk in ((ROLE_ENCODE, m.encode_latency), (ROLE_DECODE, m.decode_latency)):
            for q in _QUANTILES:
                w.sample(lat, {**base, "role": role, "quantile": str(q)}, sk.quantile(q))
            w.sample(lat + "_sum", {**base, "role": role}, sk.total)
            w.sample(lat + "_count", {**base, "role": role}, sk.count)


def render_prometheus(
    metrics: CompressionMetrics,
    alerts: list[Alert] | None = None,
    *,
    arms: Mapping[str, CompressionMetrics] | None = None,
    prefix: str = "aura_wire_",
) -> str:
    """The exposition text for ``metrics`` (and per-arm canary metrics, label ``arm``)."""
    w = _Writer()
    _write_metrics(w, prefix, [({}, metrics)])
    if alerts is not None:
        name = prefix + "health_alerts"
        w.family(name, "gauge", "Active health alerts by severity.")
        for sev in (CRITICAL, WARNING, INFO):
            w.sample(name, {"severity": sev}, sum(1 for a in alerts if a.severity == sev))
    if arms:
        _write_metrics(w, prefix + "arm_", [({"arm": arm}, arms[arm]) for arm in sorted(arms)])
    return "\n".join(w.lines) + "\n"
