"""Operations configuration: one validated dataclass from keyword arguments or a TOML file.

TOML layout (every table and key optional; defaults shown)::

    [ops]
    metrics_path = "/aura/metrics"
    health_path = "/aura/health"
    dashboard_path = "/aura/dashboard"
    history_capacity = 360        # points kept for the dashboard
    history_interval = 10.0       # seconds between points
    refresh = 5.0                 # dashboard poll period, seconds (0: no polling)

    [health]                      # HealthTargets fields
    min_ratio = 1.5

    [audit]                       # off by default: it stores message text (docs/operations.md)
    enabled = false
    path = "aura-audit.jsonl"
    max_bytes = 10485760
    backups = 3
    max_message_bytes = 65536
    sample_rate = 1.0

    [discovery]
    enabled = false
    interval = 3600.0
    min_message_count = 100
    min_improvement = 0.02
    holdout_fraction = 0.2
    keep_versions = 5
    sample_capacity = 5000
    messages_per_connection = 50
    store = ""                    # directory of dictionary versions ("" = memory only)

    [cluster]                     # replicas sharing one store, trainer and broadcast bus (aura_wire[redis])
    url = ""                      # redis://host:6379/0 ("" = one process, no cluster)
    prefix = "aura"               # key prefix, so several deployments can share a Redis
    replica_id = ""               # "" = <hostname>-<pid>
    lock_ttl = 30.0               # trainer lock expiry, seconds (refreshed while a round runs)
    poll_interval = 2.0           # safety poll of the current dictionary id, seconds
    snapshot_interval = 5.0       # per-replica metrics snapshot period, seconds
    snapshot_ttl = 15.0           # a replica leaves the view this long after its last snapshot
    sample_rate = 1.0             # share of sent messages offered to the shared training buffer
    broadcast_maxlen = 10000      # bound on the broadcast stream

With ``[cluster] url`` set, the ``[discovery]`` table drives the cluster's one
trainer (``enabled``, ``interval``, ``min_message_count``, ...;
``sample_capacity`` bounds the shared sample buffer, ``keep_versions`` the
store); ``store`` is then unused.

Errors are :class:`ConfigError` naming the field as ``table.key``.  Only
:func:`load_ops_config` reads a file.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Callable, Mapping

from aura_wire.errors import ConfigError
from aura_wire.ops.health import HealthTargets

if TYPE_CHECKING:
    from aura_wire.metrics import CompressionMetrics
    from aura_wire.ops.app import OpsApp
    from aura_wire.ops.audit import AuditLog
    from aura_wire.ops.worker import TemplateDiscoveryWorker
    from aura_wire.cluster.node import ClusterNode
    from aura_wire.middleware.asgi import AuraMiddleware

__all__ = ["AuditConfig", "ClusterConfig", "DiscoveryConfig", "OpsConfig", "load_ops_config"]


def _bare(exc: ConfigError) -> str:
    """The error's message without the "(field ...)" suffix, for re-raising with a longer field path."""
    msg = str(exc)
    suffix = f" (field {exc.field})"
    return msg[: -len(suffix)] if msg.endswith(suffix) else msg


def _check(table: str, obj: object, spec: dict[str, tuple[type, float | None, float | None]]) -> None:
    for name, (kind, lo, hi) in spec.items():
        v = getattr(obj, name)
        fname = f"{table}.{name}"
        if kind is float:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        elif kind is int:
            ok = isinstance(v, int) and not isinstance(v, bool)
        else:
            ok = isinstance(v, kind)
        if not ok:
            raise ConfigError(f"{fname} must be of type {kind.__name__}, got {v!r}", field=fname)
        if lo is not None and v < lo:
            raise ConfigError(f"{fname} must be >= {lo}, got {v!r}", field=fname)
        if hi is not None and v > hi:
            raise ConfigError(f"{fname} must be <= {hi}, got {v!r}", field=fname)


def _from_table(cls: Any, table: str, values: Mapping[str, Any]) -> Any:
    if not isinstance(values, Mapping):
        raise ConfigError(f"[{table}] must be a table", field=table)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown option(s) in [{table}]: {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                          field=f"{table}.{unknown[0]}")
    return cls(**dict(values))


@dataclass(frozen=True)
class AuditConfig:
    """The ``[audit]`` table (see :class:`~aura_wire.ops.audit.AuditLog`)."""

    enabled: bool = False
    path: str = "aura-audit.jsonl"
    max_bytes: int = 10 * 1024 * 1024
    backups: int = 3
    max_message_bytes: int = 64 * 1024
    sample_rate: float = 1.0

    def __post_init__(self) -> None:
        _check("audit", self, {"enabled": (bool, None, None), "path": (str, None, None),
                               "max_bytes": (int, 1024, None), "backups": (int, 0, 100),
                               "max_message_bytes": (int, 1, None), "sample_rate": (float, 0.0, 1.0)})


@dataclass(frozen=True)
class DiscoveryConfig:
    """The ``[discovery]`` table (see :class:`~aura_wire.ops.worker.TemplateDiscoveryWorker`)."""

    enabled: bool = False
    interval: float = 3600.0
    min_message_count: int = 100
    min_improvement: float = 0.02
    holdout_fraction: float = 0.2
    keep_versions: int = 5
    sample_capacity: int = 5000
    messages_per_connection: int = 50
    store: str = ""

    def __post_init__(self) -> None:
        _check("discovery", self, {"enabled": (bool, None, None), "interval": (float, 1e-3, None),
                                   "min_message_count": (int, 2, None), "min_improvement": (float, 0.0, 0.99),
                                   "holdout_fraction": (float, 0.01, 0.99), "keep_versions": (int, 1, 1000),
                                   "sample_capacity": (int, 2, 10_000_000),
                                   "messages_per_connection": (int, 1, None), "store": (str, None, None)})


@dataclass(frozen=True)
class ClusterConfig:
    """The ``[cluster]`` table (see :mod:`aura_wire.cluster`); off while ``url`` is empty."""

    url: str = ""
    prefix: str = "aura"
    replica_id: str = ""
    lock_ttl: float = 30.0
    poll_interval: float = 2.0
    snapshot_interval: float = 5.0
    snapshot_ttl: float = 15.0
    sample_rate: float = 1.0
    broadcast_maxlen: int = 10000

    def __post_init__(self) -> None:
        _check("cluster", self, {"url": (str, None, None), "prefix": (str, None, None),
                                 "replica_id": (str, None, None), "lock_ttl": (float, 0.1, None),
                                 "poll_interval": (float, 0.01, None), "snapshot_interval": (float, 0.01, None),
                                 "snapshot_ttl": (float, 0.1, None), "sample_rate": (float, 0.0, 1.0),
                                 "broadcast_maxlen": (int, 100, None)})
        if self.url and not self.url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"cluster.url must be a redis://, rediss:// or unix:// URL, got {self.url!r}",
                              field="cluster.url")
        if not self.prefix or any(c in self.prefix for c in " *?[]"):
            raise ConfigError(f"cluster.prefix must be non-empty without spaces or glob characters, got "
                              f"{self.prefix!r}", field="cluster.prefix")


@dataclass(frozen=True)
class OpsConfig:
    """Everything the operations layer needs, with documented defaults (module docstring)."""

    metrics_path: str = "/aura/metrics"
    health_path: str = "/aura/health"
    dashboard_path: str = "/aura/dashboard"
    history_capacity: int = 360
    history_interval: float = 10.0
    refresh: float = 5.0
    health: HealthTargets = field(default_factory=HealthTargets)
    audit: AuditConfig = field(default_factory=AuditConfig)
    discovery: DiscoveryConfig = field(default_factory=DiscoveryConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)

    def __post_init__(self) -> None:
        _check("ops", self, {"metrics_path": (str, None, None), "health_path": (str, None, None),
                             "dashboard_path": (str, None, None), "history_capacity": (int, 2, 1_000_000),
                             "history_interval": (float, 0.0, None), "refresh": (float, 0.0, None)})
        for name in ("metrics_path", "health_path", "dashboard_path"):
            if not getattr(self, name).startswith("/"):
                raise ConfigError(f"ops.{name} must start with '/'", field=f"ops.{name}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> OpsConfig:
        """Build from a parsed TOML document (tables ``ops``, ``health``, ``audit``, ``discovery``, ``cluster``)."""
        tables = {"ops", "health", "audit", "discovery", "cluster"}
        unknown = sorted(set(values) - tables)
        if unknown:
            raise ConfigError(f"unknown table(s): {', '.join(unknown)}; known: {', '.join(sorted(tables))}",
                              field=unknown[0])
        ops = values.get("ops", {})
        if not isinstance(ops, Mapping):
            raise ConfigError("[ops] must be a table", field="ops")
        top = {f.name for f in fields(cls)} - {"health", "audit", "discovery", "cluster"}
        bad = sorted(set(ops) - top)
        if bad:
            raise ConfigError(f"unknown option(s) in [ops]: {', '.join(bad)}; known: {', '.join(sorted(top))}",
                              field=f"ops.{bad[0]}")
        try:
            health = HealthTargets.from_mapping(values.get("health", {}))
        except ConfigError as exc:
            raise ConfigError(f"[health] {_bare(exc)}", field=f"health.{exc.field}") from exc
        return cls(**dict(ops), health=health,
                   audit=_from_table(AuditConfig, "audit", values.get("audit", {})),
                   discovery=_from_table(DiscoveryConfig, "discovery", values.get("discovery", {})),
                   cluster=_from_table(ClusterConfig, "cluster", values.get("cluster", {})))

    # -- builders -------------------------------------------------------------
    def make_app(self, source: Callable[[], CompressionMetrics], **kwargs: Any) -> OpsApp:
        """``make_ops_app(source, ...)`` with this configuration's paths, history and targets."""
        from aura_wire.ops.app import make_ops_app
        from aura_wire.ops.history import MetricsHistory

        return make_ops_app(source, metrics_path=self.metrics_path, health_path=self.health_path,
                            dashboard_path=self.dashboard_path, targets=self.health, refresh=self.refresh,
                            history=MetricsHistory(self.history_capacity, self.history_interval), **kwargs)

    def make_audit_log(self) -> AuditLog | None:
        """An :class:`AuditLog`, or None when ``[audit] enabled`` is false (the default)."""
        if not self.audit.enabled:
            return None
        from aura_wire.ops.audit import AuditLog

        a = self.audit
        return AuditLog(a.path, max_bytes=a.max_bytes, backups=a.backups, max_message_bytes=a.max_message_bytes,
                        sample_rate=a.sample_rate)

    def make_worker(self, **kwargs: Any) -> TemplateDiscoveryWorker | None:
        """A :class:`TemplateDiscoveryWorker`, or None when ``[discovery] enabled`` is false (the default).

        ``kwargs`` go to the worker (``on_new_dictionary``, ``current``,
        ``train_options``, ``codec``...).  Samples come from the audit log
        when it is enabled, else from an in-memory :class:`SampleBuffer`.
        """
        if not self.discovery.enabled:
            return None
        from aura_wire.ops.worker import DictionaryStore, SampleBuffer, TemplateDiscoveryWorker

        d = self.discovery
        store = DictionaryStore(d.store, keep=d.keep_versions) if d.store else None
        source: dict[str, Any] = ({"audit_path": self.audit.path} if self.audit.enabled
                                  else {"samples": SampleBuffer(d.sample_capacity)})
        return TemplateDiscoveryWorker(d.interval, d.min_message_count, store=store,
                                       min_improvement=d.min_improvement, holdout_fraction=d.holdout_fraction,
                                       keep_versions=d.keep_versions, messages_per_connection=d.messages_per_connection,
                                       max_samples=d.sample_capacity, **source, **kwargs)


    def make_cluster(self, middleware: AuraMiddleware, **kwargs: Any) -> ClusterNode | None:
        """Join ``middleware`` to the cluster at ``[cluster] url`` (None when it is empty, the default).

        The trainer runs when ``[discovery] enabled``; ``kwargs`` go to the
        node (``executor``, ``targets``, ...).
        """
        c = self.cluster
        if not c.url:
            return None
        d = self.discovery
        opts: dict[str, Any] = {
            "prefix": c.prefix, "keep": d.keep_versions, "broadcast_maxlen": c.broadcast_maxlen,
            "replica_id": c.replica_id or None, "lock_ttl": c.lock_ttl, "poll_interval": c.poll_interval,
            "snapshot_interval": c.snapshot_interval, "snapshot_ttl": c.snapshot_ttl, "sample_rate": c.sample_rate,
            "sample_capacity": d.sample_capacity, "targets": self.health,
            "train_interval": d.interval if d.enabled else None,
            "discovery": {"min_message_count": d.min_message_count, "min_improvement": d.min_improvement,
                          "holdout_fraction": d.holdout_fraction,
                          "messages_per_connection": d.messages_per_connection},
        }
        opts.update(kwargs)
        node: ClusterNode = middleware.enable_cluster(c.url, **opts)
        return node


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a TOML file; invalid TOML is a ConfigError naming the file."""
    p = os.fspath(path)
    try:
        with open(p, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}", field="toml") from exc


def load_ops_config(path: str | os.PathLike[str]) -> OpsConfig:
    """Read and validate an operations TOML file; errors name the file and the field."""
    p = os.fspath(path)
    raw = read_toml(p)
    try:
        return OpsConfig.from_mapping(raw)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {_bare(exc)}", field=exc.field) from exc
