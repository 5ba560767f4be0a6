"""Operations configuration from TOML and keyword arguments (aura_wire/ops/config.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_wire.errors import ConfigError
from aura_wire.ops.audit import AuditLog
from aura_wire.ops.config import AuditConfig, DiscoveryConfig, OpsConfig, load_ops_config
from aura_wire.ops.health import HealthTargets
from aura_wire.ops.worker import SampleBuffer, TemplateDiscoveryWorker


def test_defaults_are_off_and_documented() -> None:
    c = OpsConfig()
    assert (c.metrics_path, c.health_path, c.dashboard_path) == ("/aura/metrics", "/aura/health", "/aura/dashboard")
    assert c.health == HealthTargets()
    assert c.audit.enabled is False and c.discovery.enabled is False
    assert c.make_audit_log() is None and c.make_worker() is None
    app = c.make_app(lambda: __import__("aura_wire").CompressionMetrics())
    assert app.paths == ("/aura/metrics", "/aura/health", "/aura/dashboard", "/aura/dashboard/series")
    assert app.history.capacity == 360


def test_toml_file_builds_everything(tmp_path: Path) -> None:
    p = tmp_path / "ops.toml"
    p.write_text(f"""
[ops]
metrics_path = "/m"
history_capacity = 10
[health]
min_ratio = 2.0
min_template_hit_rate = 0.6
[audit]
enabled = true
path = "{tmp_path / 'audit.jsonl'}"
max_bytes = 4096
[discovery]
enabled = true
interval = 60
store = "{tmp_path / 'dicts'}"
keep_versions = 2
""")
    c = load_ops_config(p)
    assert c.metrics_path == "/m" and c.history_capacity == 10
    assert c.health.min_ratio == 2.0 and c.health.min_template_hit_rate == 0.6
    log = c.make_audit_log()
    assert isinstance(log, AuditLog) and log.max_bytes == 4096
    log.close()
    w = c.make_worker()
    assert isinstance(w, TemplateDiscoveryWorker)
    assert w.audit_path == str(tmp_path / "audit.jsonl") and w.samples is None
    assert w.store is not None and w.store.keep == 2 and w.discovery_interval == 60
    c2 = OpsConfig(discovery=DiscoveryConfig(enabled=True))
    w2 = c2.make_worker()
    assert w2 is not None and isinstance(w2.samples, SampleBuffer)


@pytest.mark.parametrize(("text", "field"), [
    ("[opps]\n", "opps"),
    ("[ops]\nmetric_path = '/x'\n", "ops.metric_path"),
    ("[ops]\nhealth_path = 'x'\n", "ops.health_path"),
    ("[ops]\nhistory_capacity = 1\n", "ops.history_capacity"),
    ("[health]\nmin_ratio = 'a'\n", "health.min_ratio"),
    ("[health]\nmin_ration = 1\n", "health.min_ration"),
    ("[audit]\nenabled = 'yes'\n", "audit.enabled"),
    ("[audit]\nmax_bytes = 10\n", "audit.max_bytes"),
    ("[audit]\nsample_rate = 2.0\n", "audit.sample_rate"),
    ("[discovery]\nmin_message_count = 1\n", "discovery.min_message_count"),
    ("[discovery]\nintervall = 5\n", "discovery.intervall"),
    ("[ops\n", "toml"),
])
def test_errors_name_the_field(tmp_path: Path, text: str, field: str) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as ei:
        load_ops_config(p)
    assert ei.value.field == field
    assert str(p) in str(ei.value)
    assert str(ei.value).count("(field") == 1


def test_keyword_construction_is_validated() -> None:
    with pytest.raises(ConfigError) as ei:
        AuditConfig(backups=-1)
    assert ei.value.field == "audit.backups"
    with pytest.raises(ConfigError) as ei:
        OpsConfig(refresh=-1.0)
    assert ei.value.field == "ops.refresh"
