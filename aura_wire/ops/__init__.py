"""Operations layer: health, Prometheus/JSON/dashboard endpoints, audit log, discovery, A/B.

Layout (what may do I/O): ``health``, ``prometheus``, ``history``,
``dashboard``, ``canary`` are pure; ``app`` is the ASGI adapter; ``audit``
and ``storage`` (the :class:`Store` protocol and its :class:`FolderStore`)
write files, ``worker`` through them and its asyncio wrapper;
``compare`` reads corpora and TOML files.  The metrics themselves live in
:mod:`aura_wire.metrics`.
"""

from aura_wire.ops.app import OpsApp, make_ops_app
from aura_wire.ops.audit import AuditLog, read_audit_messages, redact
from aura_wire.ops.canary import Arm, CanarySplitter
from aura_wire.ops.config import AuditConfig, ClusterConfig, DiscoveryConfig, OpsConfig, load_ops_config
from aura_wire.ops.compare import compare, compare_files, format_table, load_config, load_corpus
from aura_wire.ops.health import Alert, HealthTargets, check_health, health_report, health_status
from aura_wire.ops.history import MetricsHistory
from aura_wire.ops.prometheus import render_prometheus
from aura_wire.ops.storage import FolderStore, Store
from aura_wire.ops.worker import DictionaryStore, DiscoveryResult, SampleBuffer, TemplateDiscoveryWorker

__all__ = [
    "Alert",
    "Arm",
    "AuditConfig",
    "AuditLog",
    "CanarySplitter",
    "ClusterConfig",
    "DictionaryStore",
    "DiscoveryConfig",
    "DiscoveryResult",
    "FolderStore",
    "HealthTargets",
    "MetricsHistory",
    "OpsApp",
    "OpsConfig",
    "SampleBuffer",
    "Store",
    "TemplateDiscoveryWorker",
    "check_health",
    "compare",
    "compare_files",
    "format_table",
    "health_report",
    "health_status",
    "load_config",
    "load_corpus",
    "load_ops_config",
    "make_ops_app",
    "read_audit_messages",
    "redact",
    "render_prometheus",
]
