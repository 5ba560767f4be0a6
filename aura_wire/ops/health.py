"""Health targets and alerts computed from :class:`~aura_wire.metrics.CompressionMetrics`.

:func:`check_health` compares a metrics snapshot with :class:`HealthTargets`
and returns :class:`Alert` values, most severe first.  Pure functions, no I/O.

Rules (``t`` = targets; rates are fractions, 0.05 = 5 %):

=========================  ==========================================  ========
alert code                 condition                                   severity
=========================  ==========================================  ========
``ratio_below_one``        ratio < ``t.critical_ratio`` (1.0)          critical
``ratio_low``              ratio < ``t.min_ratio`` (1.5)               warning
``savings_low``            savings < ``t.min_savings`` (0.33)          warning
``expansion_high``         expansion rate > ``t.critical_expansion``   critical
                           (0.10)
``expansion_above_target`` expansion rate > ``t.max_expansion`` (0.05) warning
``template_hit_rate_low``  hit rate < ``t.warning_template_hit_rate``  warning
                           (0.40)
``template_hit_rate_below  hit rate < ``t.min_template_hit_rate``      info
_target``                  (0.50)
``encode_p95_high``        encode p95 > ``t.max_p95_encode_seconds``   warning
                           (0.002)
``decode_errors``          error rate > ``t.max_error_rate`` (0.001)   warning
``insufficient_data``      messages < ``t.min_messages`` (100); no     info
                           other rule is checked
=========================  ==========================================  ========

Only the most severe of a pair fires (ratio < 1.0 gives ``ratio_below_one``
alone).  The template rules are skipped when ``min_template_hit_rate`` is
None (deployments without templates); the latency rule is skipped when no
message was encoded.  The overall status is the worst severity among the
alerts: ``critical`` > ``warning`` > ``ok`` (info alerts leave it ``ok``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Final, Mapping

from aura_wire.errors import ConfigError
from aura_wire.metrics import CompressionMetrics

__all__ = ["Alert", "HealthTargets", "check_health", "health_status", "health_report",
           "CRITICAL", "WARNING", "INFO"]

CRITICAL: Final = "critical"
WARNING: Final = "warning"
INFO: Final = "info"
_RANK: Final = {CRITICAL: 0, WARNING: 1, INFO: 2}


@dataclass(frozen=True)
class Alert:
    """One health finding: ``severity`` is "critical", "warning" or "info"."""

    severity: str
    code: str
    message: str
    value: float
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HealthTargets:
    """Targets of a healthy deployment (documented defaults, validated on construction).

    * ``min_ratio`` (1.5): warning below.  ``critical_ratio`` (1.0): critical below.
    * ``min_savings`` (0.33): warning below (fraction of bytes saved).
    * ``max_expansion`` (0.05): warning above (fraction of frames larger than their message).
      ``critical_expansion`` (0.10): critical above.
    * ``min_template_hit_rate`` (0.50): info below; None disables both template rules.
      ``warning_template_hit_rate`` (0.40): warning below.
    * ``max_p95_encode_seconds`` (0.002): warning above.
    * ``max_error_rate`` (0.001): warning above (failed decodes / all decodes).
    * ``min_messages`` (100): fewer messages give only an ``insufficient_data`` info alert.
    """

    min_ratio: float = 1.5
    critical_ratio: float = 1.0
    min_savings: float = 0.33
    max_expansion: float = 0.05
    critical_expansion: float = 0.10
    min_template_hit_rate: float | None = 0.50
    warning_template_hit_rate: float = 0.40
    max_p95_encode_seconds: float = 0.002
    max_error_rate: float = 0.001
    min_messages: int = 100

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "min_template_hit_rate" and v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(f"{f.name} must be a number, got {v!r}", field=f.name)
            if v < 0:
                raise ConfigError(f"{f.name} must be >= 0, got {v!r}", field=f.name)
        for name in ("min_savings", "max_expansion", "critical_expansion", "warning_template_hit_rate",
                     "max_error_rate"):
            if getattr(self, name) > 1:
                raise ConfigError(f"{name} is a fraction and must be <= 1, got {getattr(self, name)!r}", field=name)
        if self.min_template_hit_rate is not None and self.min_template_hit_rate > 1:
            raise ConfigError("min_template_hit_rate is a fraction and must be <= 1", field="min_template_hit_rate")
        if not isinstance(self.min_messages, int):
            raise ConfigError("min_messages must be an integer", field="min_messages")
        if self.critical_ratio > self.min_ratio:
            raise ConfigError("critical_ratio must be <= min_ratio", field="critical_ratio")
        if self.critical_expansion < self.max_expansion:
            raise ConfigError("critical_expansion must be >= max_expansion", field="critical_expansion")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> HealthTargets:
        """Build from keyword arguments or a TOML table; unknown keys are errors naming the key."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown health target(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                              field=unknown[0])
        return cls(**dict(values))


def check_health(metrics: CompressionMetrics, targets: HealthTargets | None = None) -> list[Alert]:
    """Alerts for ``metrics`` against ``targets`` (defaults when None), most severe first."""
    t = targets if targets is not None else HealthTargets()
    if metrics.messages < t.min_messages:
        return [Alert(INFO, "insufficient_data",
                      f"only {metrics.messages} messages (< {t.min_messages}); health not evaluated",
                      float(metrics.messages), float(t.min_messages))]
    out: list[Alert] = []
    ratio = metrics.ratio
    if ratio < t.critical_ratio:
        out.append(Alert(CRITICAL, "ratio_below_one",
                         f"compression ratio {ratio:.3f} < {t.critical_ratio}: the codec expands traffic",
                         ratio, t.critical_ratio))
    elif ratio < t.min_ratio:
        out.append(Alert(WARNING, "ratio_low", f"compression ratio {ratio:.3f} < target {t.min_ratio}",
                         ratio, t.min_ratio))
    savings = metrics.savings
    if savings < t.min_savings:
        out.append(Alert(WARNING, "savings_low",
                         f"bandwidth savings {savings:.1%} < target {t.min_savings:.1%}", savings, t.min_savings))
    exp = metrics.expansion_rate
    if exp > t.critical_expansion:
        out.append(Alert(CRITICAL, "expansion_high",
                         f"{exp:.1%} of frames are larger than their message (> {t.critical_expansion:.1%})",
                         exp, t.critical_expansion))
    elif exp > t.max_expansion:
        out.append(Alert(WARNING, "expansion_above_target",
                         f"{exp:.1%} of frames are larger than their message (> target {t.max_expansion:.1%})",
                         exp, t.max_expansion))
    if t.min_template_hit_rate is not None:
        hit = metrics.template_hit_rate
        if hit < t.warning_template_hit_rate:
            out.append(Alert(WARNING, "template_hit_rate_low",
                             f"template hit rate {hit:.1%} < {t.warning_template_hit_rate:.1%}",
                             hit, t.warning_template_hit_rate))
        elif hit < t.min_template_hit_rate:
            out.append(Alert(INFO, "template_hit_rate_below_target",
                             f"template hit rate {hit:.1%} < target {t.min_template_hit_rate:.1%}",
                             hit, t.min_template_hit_rate))
    if metrics.encode_latency.count:
        p95 = metrics.encode_latency.quantile(0.95)
        if p95 > t.max_p95_encode_seconds:
            out.append(Alert(WARNING, "encode_p95_high",
                             f"encode p95 latency {p95 * 1e3:.3f} ms > target {t.max_p95_encode_seconds * 1e3:.3f} ms",
                             p95, t.max_p95_encode_seconds))
    err = metrics.error_rate
    if err > t.max_error_rate:
        out.append(Alert(WARNING, "decode_errors",
                         f"{metrics.errors} failed decodes ({err:.2%} > {t.max_error_rate:.2%})",
                         err, t.max_error_rate))
    out.sort(key=lambda a: _RANK[a.severity])
    return out


def health_status(alerts: list[Alert]) -> str:
    """"critical", "warning" or "ok" (info alerts do not count)."""
    sev = {a.severity for a in alerts}
    if CRITICAL in sev:
        return CRITICAL
    if WARNING in sev:
        return WARNING
    return "ok"


def health_report(metrics: CompressionMetrics, targets: HealthTargets | None = None) -> dict[str, Any]:
    """The JSON health report: ``{"status", "metrics", "alerts", "targets"}``."""
    t = targets if targets is not None else HealthTargets()
    alerts = check_health(metrics, t)
    return {
        "status": health_status(alerts),
        "metrics": metrics.snapshot(),
        "alerts": [a.to_dict() for a in alerts],
        "targets": asdict(t),
    }
