"""Health targets and alerts at each threshold (aura_wire/ops/health.py)."""

from __future__ import annotations

import pytest

from aura_wire.errors import ConfigError
from aura_wire.metrics import CompressionMetrics
from aura_wire.ops.health import HealthTargets, check_health, health_report, health_status


def make(n: int = 200, original: int = 300, wire: int = 100, *, expansions: int = 0, template: int = 0,
         seconds: float = 1e-4, errors: int = 0) -> CompressionMetrics:
    """n messages of ``original`` -> ``wire`` bytes, the first ``expansions`` of them expanding (+1 byte)."""
    m = CompressionMetrics()
    for i in range(n):
        if i < expansions:
            m.record("raw", 10, 11, seconds, False)
        else:
            m.record("template" if i - expansions < template else "zstd", original, wire, seconds,
                     i - expansions < template)
    for _ in range(errors):
        m.record_error()
    return m


def codes(m: CompressionMetrics, t: HealthTargets | None = None) -> dict[str, str]:
    return {a.code: a.severity for a in check_health(m, t)}


NO_TMPL = HealthTargets(min_template_hit_rate=None)


def test_defaults_match_the_issue() -> None:
    t = HealthTargets()
    assert (t.min_ratio, t.min_savings, t.max_expansion, t.min_template_hit_rate, t.max_p95_encode_seconds) == (
        1.5, 0.33, 0.05, 0.5, 0.002)
    assert (t.critical_ratio, t.critical_expansion, t.warning_template_hit_rate) == (1.0, 0.10, 0.40)


def test_healthy_traffic_has_no_alerts() -> None:
    m = make(template=150)
    assert check_health(m) == []
    assert health_status(check_health(m)) == "ok"


@pytest.mark.parametrize(("wire", "expected"), [
    (100, {}),                                    # ratio 3.0
    (199, {}),                                    # ratio 1.508: just above 1.5, savings 33.7 %
    (201, {"ratio_low": "warning", "savings_low": "warning"}),   # ratio 1.493
    (299, {"ratio_low": "warning", "savings_low": "warning"}),   # ratio 1.003
    (301, {"ratio_below_one": "critical", "savings_low": "warning",
           "expansion_high": "critical"}),      # ratio 0.997: every frame expands
])
def test_ratio_thresholds(wire: int, expected: dict[str, str]) -> None:
    assert codes(make(original=300, wire=wire), NO_TMPL) == expected


def test_savings_threshold_alone() -> None:
    t = HealthTargets(min_template_hit_rate=None, min_ratio=1.2, min_savings=0.40)
    assert codes(make(original=100, wire=61), t) == {"savings_low": "warning"}   # 39 % saved, ratio 1.64
    assert codes(make(original=100, wire=59), t) == {}                           # 41 %


@pytest.mark.parametrize(("expansions", "expected"), [
    (10, {}),                                      # 5.0 %: not above the target
    (11, {"expansion_above_target": "warning"}),   # 5.5 %
    (20, {"expansion_above_target": "warning"}),   # 10.0 %: not above the critical level
    (21, {"expansion_high": "critical"}),          # 10.5 %
])
def test_expansion_thresholds(expansions: int, expected: dict[str, str]) -> None:
    assert codes(make(n=200, expansions=expansions), NO_TMPL) == expected


@pytest.mark.parametrize(("hits", "expected"), [
    (100, {}),                                              # 50 %
    (99, {"template_hit_rate_below_target": "info"}),       # 49.5 %
    (80, {"template_hit_rate_below_target": "info"}),       # 40 %
    (79, {"template_hit_rate_low": "warning"}),             # 39.5 %
])
def test_template_hit_rate_thresholds(hits: int, expected: dict[str, str]) -> None:
    assert codes(make(n=200, template=hits)) == expected


def test_template_rules_can_be_disabled() -> None:
    assert codes(make(template=0), NO_TMPL) == {}
    assert codes(make(template=0)) == {"template_hit_rate_low": "warning"}


@pytest.mark.parametrize(("seconds", "fires"), [(1.9e-3, False), (2.2e-3, True)])
def test_encode_p95_threshold(seconds: float, fires: bool) -> None:
    got = codes(make(seconds=seconds), NO_TMPL)
    assert got == ({"encode_p95_high": "warning"} if fires else {})


def test_decode_latency_does_not_trigger_the_encode_rule() -> None:
    m = CompressionMetrics("decode")
    for _ in range(200):
        m.record("zstd", 300, 100, 0.5, False)
    assert codes(m, NO_TMPL) == {}


def test_error_rate_threshold() -> None:
    assert codes(make(n=2000, errors=2), NO_TMPL) == {}          # 0.0999 %
    assert codes(make(n=2000, errors=3), NO_TMPL) == {"decode_errors": "warning"}


def test_insufficient_data_suppresses_everything_else() -> None:
    m = make(n=50, original=10, wire=20)
    alerts = check_health(m)
    assert [a.code for a in alerts] == ["insufficient_data"]
    assert health_status(alerts) == "ok"
    assert codes(m, HealthTargets(min_messages=10, min_template_hit_rate=None))["ratio_below_one"] == "critical"


def test_alerts_sorted_by_severity_and_status_is_worst() -> None:
    m = make(n=200, original=300, wire=400, expansions=30)
    alerts = check_health(m)
    sev = [a.severity for a in alerts]
    assert sev == sorted(sev, key=["critical", "warning", "info"].index)
    assert health_status(alerts) == "critical"
    rep = health_report(m)
    assert rep["status"] == "critical"
    assert rep["metrics"]["messages"] == 200
    assert {a["code"] for a in rep["alerts"]} >= {"ratio_below_one", "expansion_high"}
    assert rep["targets"]["min_ratio"] == 1.5


def test_targets_validation_names_the_field() -> None:
    with pytest.raises(ConfigError) as ei:
        HealthTargets(min_savings=1.5)
    assert ei.value.field == "min_savings"
    with pytest.raises(ConfigError) as ei:
        HealthTargets.from_mapping({"min_ratio": "2"})
    assert ei.value.field == "min_ratio"
    with pytest.raises(ConfigError) as ei:
        HealthTargets.from_mapping({"min_ratoi": 2.0})
    assert ei.value.field == "min_ratoi"
    with pytest.raises(ConfigError) as ei:
        HealthTargets(critical_ratio=2.0)
    assert ei.value.field == "critical_ratio"
    assert HealthTargets.from_mapping({"min_ratio": 2.0}).min_ratio == 2.0
