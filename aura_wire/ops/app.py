"""The operations ASGI app: Prometheus metrics, JSON health, dashboard, time series.

``OpsApp(source, ...)`` (also named ``make_ops_app``) is a plain ASGI
callable (no framework) answering GET/HEAD on four configurable paths:

* ``metrics_path`` (``/aura/metrics``): Prometheus text exposition 0.0.4.
* ``health_path`` (``/aura/health``): JSON ``{"status", "metrics", "alerts", "targets"}``;
  HTTP 200 for ok/warning, 503 for critical (so load balancers can act on it).
* ``dashboard_path`` (``/aura/dashboard``): the HTML page.
* ``series_path`` (``dashboard_path + "/series"``): JSON ``{"points": [...]}``
  from the bounded :class:`~aura_wire.ops.history.MetricsHistory`.

Any other path gets a 404 from ``__call__``; a middleware should ask
:meth:`OpsApp.handles` first and pass other requests to the application.
``source()`` is called once per request and must return cumulative metrics
(counters that never go down); the history samples it lazily on requests, or
periodically when :meth:`OpsApp.run_sampler` runs as a task.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable, Mapping, MutableMapping

from aura_wire.errors import ConfigError
from aura_wire.metrics import CompressionMetrics
from aura_wire.ops.dashboard import render_dashboard
from aura_wire.ops.health import HealthTargets, check_health, health_report
from aura_wire.ops.history import MetricsHistory
from aura_wire.ops.prometheus import CONTENT_TYPE, render_prometheus

__all__ = ["OpsApp", "make_ops_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MetricsSource = Callable[[], CompressionMetrics]
ArmsSource = Callable[[], Mapping[str, CompressionMetrics]]
#: Open connections: ``{"open": n, "open_aura": n, ...}`` (``AuraMiddleware.connection_counts``).
ConnectionsSource = Callable[[], Mapping[str, int]]
#: The cluster view (``ClusterNode.view``): a JSON-ready aggregate with one row per replica.
ClusterSource = Callable[[], Mapping[str, Any]]


def _check_path(name: str, path: str) -> str:
    if not isinstance(path, str) or not path.startswith("/") or any(c in path for c in " ?#"):
        raise ConfigError(f"{name} must be an absolute URL path without query, got {path!r}", field=name)
    return path.rstrip("/") or "/"


class OpsApp:
    """ASGI app of the operations endpoints (see module docstring).

    ``arms`` adds per-arm canary metrics, ``cluster`` the cluster view, ``connections`` the open AURA / plain
    connection counts (health JSON and dashboard).
    """

    def __init__(
        self,
        source: MetricsSource,
        *,
        metrics_path: str = "/aura/metrics",
        health_path: str = "/aura/health",
        dashboard_path: str = "/aura/dashboard",
        series_path: str | None = None,
        targets: HealthTargets | None = None,
        history: MetricsHistory | None = None,
        arms: ArmsSource | None = None,
        refresh: float = 5.0,
        cluster: ClusterSource | None = None,
        connections: ConnectionsSource | None = None,
    ) -> None:
        self.source = source
        self.cluster = cluster
        self.connections = connections
        self.targets = targets if targets is not None else HealthTargets()
        self.history = history if history is not None else MetricsHistory()
        self.arms = arms
        self.refresh = refresh
        self.metrics_path = _check_path("metrics_path", metrics_path)
        self.health_path = _check_path("health_path", health_path)
        self.dashboard_path = _check_path("dashboard_path", dashboard_path)
        self.series_path = _check_path(
            "series_path", series_path if series_path is not None else self.dashboard_path.rstrip("/") + "/series")
        paths = [self.metrics_path, self.health_path, self.dashboard_path, self.series_path]
        if len(set(paths)) != len(paths):
            raise ConfigError(f"ops paths must be distinct, got {paths}", field="paths")
        self._routes: dict[str, Callable[[], tuple[int, str, bytes]]] = {
            self.metrics_path: self._metrics,
            self.health_path: self._health,
            self.dashboard_path: self._dashboard,
            self.series_path: self._series,
        }

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(self._routes)

    def handles(self, path: str) -> bool:
        """True when ``path`` (an ASGI ``scope["path"]``) is one of this app's endpoints."""
        return (path.rstrip("/") or "/") in self._routes

    # -- responses ----------------------------------------------------------
    def _current(self) -> CompressionMetrics:
        m = self.source()
        self.history.maybe_sample(m)
        return m

    def _metrics(self) -> tuple[int, str, bytes]:
        m = self._current()
        arms = dict(self.arms()) if self.arms is not None else None
        body = render_prometheus(m, check_health(m, self.targets), arms=arms)
        return 200, CONTENT_TYPE, body.encode("utf-8")

    def _health_report(self, m: CompressionMetrics) -> dict[str, Any]:
        rep = health_report(m, self.targets)
        if self.arms is not None:
            rep["arms"] = {k: health_report(v, self.targets) for k, v in sorted(self.arms().items())}
        if self.connections is not None:
            rep["connections"] = dict(self.connections())
        if self.cluster is not None:
            # Informational: the status (and HTTP code) stays this replica's, for its load balancer.
            rep["cluster"] = dict(self.cluster())
        return rep

    def _health(self) -> tuple[int, str, bytes]:
        rep = self._health_report(self._current())
        status = 503 if rep["status"] == "critical" else 200
        return status, "application/json", _dumps(rep)

    def _series(self) -> tuple[int, str, bytes]:
        self._current()
        return 200, "application/json", _dumps({"interval": self.history.interval, "points": self.history.points()})

    def _dashboard(self) -> tuple[int, str, bytes]:
        m = self._current()
        page = render_dashboard(
            self._health_report(m),
            {"interval": self.history.interval, "points": self.history.points()},
            series_url=self.series_path,
            health_url=self.health_path,
            refresh=self.refresh,
        )
        return 200, "text/html; charset=utf-8", page.encode("utf-8")

    # -- ASGI ---------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            return
        path = scope.get("path", "/")
        route = self._routes.get(path.rstrip("/") or "/")
        method = scope.get("method", "GET")
        if route is None:
            await _respond(send, 404, "text/plain; charset=utf-8", b"not found\n", method == "HEAD")
            return
        if method not in ("GET", "HEAD"):
            await _respond(send, 405, "text/plain; charset=utf-8", b"method not allowed\n", False,
                           extra=[(b"allow", b"GET, HEAD")])
            return
        status, ctype, body = route()
        await _respond(send, status, ctype, body, method == "HEAD")

    async def run_sampler(self) -> None:
        """Sample the source into the history every ``history.interval`` seconds, forever (run as a task)."""
        while True:
            self.history.maybe_sample(self.source())
            await asyncio.sleep(max(self.history.interval, 0.05))


#: The factory name of the first release; the same callable as the class (one signature to keep).
make_ops_app = OpsApp


def _dumps(value: Any) -> bytes:
    return json.dumps(value, allow_nan=False, separators=(",", ":")).encode("utf-8")


async def _respond(send: Send, status: int, ctype: str, body: bytes, head: bool,
                   extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", ctype.encode("latin-1")), (b"content-length", str(len(body)).encode("ascii")),
               (b"cache-control", b"no-store")]
    if extra:
        headers += extra
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def answer_lifespan(receive: Receive, send: Send) -> None:
    """Answer an ASGI lifespan scope (startup, shutdown) for an app with nothing to start: ops, the demo, scripts."""
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
