"""The ops ASGI app through a real uvicorn server on 127.0.0.1 (aura_wire/ops/app.py)."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from typing import Any, Callable

import httpx
import pytest
import uvicorn

from aura_wire.errors import ConfigError
from aura_wire.metrics import CompressionMetrics
from aura_wire.ops.app import OpsApp, make_ops_app
from aura_wire.ops.health import HealthTargets
from aura_wire.ops.history import MetricsHistory
from aura_wire.ops.prometheus import render_prometheus

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (\S+)$')


def parse_exposition(text: str) -> dict[str, float]:
    """Check the text format strictly and return {"name{labels}": value}."""
    assert text.endswith("\n")
    out: dict[str, float] = {}
    typed: dict[str, str] = {}
    finished: set[str] = set()
    current: str | None = None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "summary", "histogram", "untyped")
            assert name not in typed, f"family {name} typed twice"
            typed[name] = kind
            if current is not None:
                finished.add(current)
            current = name
            continue
        m = SAMPLE_RE.match(line)
        assert m, f"bad sample line {line!r}"
        name = m.group(1)
        family = re.sub(r"_(sum|count)$", "", name) if typed.get(re.sub(r"_(sum|count)$", "", name)) == "summary" \
            else name
        assert family == current, f"sample {name} outside its family group ({current})"
        assert family not in finished
        out[name + (m.group(2) or "")] = float(m.group(3))
    return out


def traffic(n: int = 300, expand: int = 0) -> CompressionMetrics:
    m = CompressionMetrics()
    for i in range(n):
        if i < expand:
            m.record("raw", 10, 11, 2e-5, False)
        else:
            m.record("template" if i % 2 else "zstd", 300, 90, 4e-5 + (i % 10) * 1e-6, bool(i % 2))
    return m


class Server:
    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> httpx.AsyncClient:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        for _ in range(200):
            if self.server.started:
                break
            await asyncio.sleep(0.01)
        assert self.server.started
        self.client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", timeout=10)
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()
        self.server.should_exit = True
        assert self.task is not None
        await self.task
        self.sock.close()


@pytest.fixture
def live() -> Callable[[Any], Server]:
    return Server


async def test_endpoints_through_uvicorn(live: Callable[[Any], Server]) -> None:
    m = traffic()
    app = make_ops_app(lambda: m, history=MetricsHistory(interval=0.0))
    async with live(app) as client:
        r = await client.get("/aura/metrics")
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        samples = parse_exposition(r.text)
        assert samples["aura_wire_messages_total"] == 300
        assert samples["aura_wire_original_bytes_total"] == 90000
        assert samples["aura_wire_wire_bytes_total"] == 27000
        assert samples["aura_wire_compression_ratio"] == pytest.approx(300 / 90)
        assert samples['aura_wire_method_messages_total{method="template"}'] == 150
        assert samples['aura_wire_latency_seconds_count{role="encode"}'] == 300
        p95 = samples['aura_wire_latency_seconds{role="encode",quantile="0.95"}']
        assert p95 == pytest.approx(4.9e-5, rel=0.02)
        assert samples['aura_wire_health_alerts{severity="critical"}'] == 0

        r = await client.get("/aura/health")
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "ok"
        assert body["alerts"] == []
        assert body["metrics"]["ratio"] == pytest.approx(300 / 90)

        r = await client.get("/aura/dashboard")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        page = r.text
        assert "<svg" in page and "c-latency" in page
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "dashboard must not load remote assets"
        init = re.search(r'<script id="aura-initial" type="application/json">(.*?)</script>', page, re.S)
        assert init is not None
        assert json.loads(init.group(1))["health"]["metrics"]["messages"] == 300

        for _ in range(3):
            m.record("brio", 100, 20, 1e-5, False)
            r = await client.get("/aura/dashboard/series")
        pts = r.json()["points"]
        assert len(pts) >= 4
        assert pts[-1]["messages"] == 303
        assert pts[-1]["interval"]["methods"] == {"brio": 1, "template": 0, "zstd": 0}

        assert (await client.get("/elsewhere")).status_code == 404
        assert (await client.post("/aura/metrics")).status_code == 405
        head = await client.head("/aura/health")
        assert head.status_code == 200 and head.content == b""


async def test_critical_health_is_503_and_paths_are_configurable(live: Callable[[Any], Server]) -> None:
    m = traffic(expand=300)
    app = make_ops_app(lambda: m, metrics_path="/ops/prom", health_path="/ops/healthz",
                       dashboard_path="/ops/ui", targets=HealthTargets(min_template_hit_rate=None))
    assert app.paths == ("/ops/prom", "/ops/healthz", "/ops/ui", "/ops/ui/series")
    async with live(app) as client:
        r = await client.get("/ops/healthz")
        assert r.status_code == 503
        assert r.json()["status"] == "critical"
        assert {a["code"] for a in r.json()["alerts"]} >= {"ratio_below_one", "expansion_high"}
        assert (await client.get("/aura/health")).status_code == 404
        prom = parse_exposition((await client.get("/ops/prom")).text)
        assert prom['aura_wire_health_alerts{severity="critical"}'] == 2


async def test_mounting_in_front_of_an_application(live: Callable[[Any], Server]) -> None:
    """How the middleware mounts the app: ask handles(), else pass the request on."""
    m = traffic()
    ops = make_ops_app(lambda: m)

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"application"})

    async def wrapper(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and ops.handles(scope["path"]):
            await ops(scope, receive, send)
        else:
            await inner(scope, receive, send)

    async with live(wrapper) as client:
        assert (await client.get("/hello")).text == "application"
        assert (await client.get("/aura/health")).json()["metrics"]["messages"] == 300


def test_handles_and_path_validation() -> None:
    app = OpsApp(CompressionMetrics)
    assert app.handles("/aura/metrics") and app.handles("/aura/metrics/")
    assert not app.handles("/aura") and not app.handles("/aura/metricsx")
    with pytest.raises(ConfigError) as ei:
        OpsApp(CompressionMetrics, health_path="health")
    assert ei.value.field == "health_path"
    with pytest.raises(ConfigError):
        OpsApp(CompressionMetrics, health_path="/x", metrics_path="/x")


def test_prometheus_canary_arms_and_label_escaping() -> None:
    a, b = traffic(10), traffic(20)
    text = render_prometheus(traffic(30), arms={"a": a, 'b"\\\n': b})
    samples = parse_exposition(text)
    assert samples['aura_wire_arm_messages_total{arm="a"}'] == 10
    assert samples['aura_wire_arm_messages_total{arm="b\\"\\\\\\n"}'] == 20


def test_history_ring_buffer_is_bounded_and_computes_intervals() -> None:
    now = [1000.0]
    h = MetricsHistory(capacity=5, interval=10.0, clock=lambda: now[0])
    m = CompressionMetrics()
    for step in range(12):
        for _ in range(10):
            m.record("zstd", 100, 50 if step % 2 else 25, 1e-4 * (step + 1), False)
        h.maybe_sample(m)
        assert not h.maybe_sample(m)  # same instant: no new point
        now[0] += 10.0
    pts = h.points()
    assert len(pts) == 5
    assert pts[-1]["messages"] == 120
    last = pts[-1]["interval"]
    assert last["messages"] == 10
    assert last["ratio"] == pytest.approx(2.0)  # step 11: 100 -> 50
    assert pts[-2]["interval"]["ratio"] == pytest.approx(4.0)
    assert last["encode_p50"] == pytest.approx(1.2e-3, rel=0.02)
    assert pts[-1]["ratio"] == pytest.approx(1200 * 10 / (6 * 250 + 6 * 500))


def test_ops_package_exports() -> None:
    import aura_wire.ops as ops

    assert ops.__all__ == sorted(ops.__all__)
    for name in ops.__all__:
        assert getattr(ops, name) is not None
    assert ops.make_ops_app is make_ops_app


def test_dashboard_escapes_embedded_data() -> None:
    from aura_wire.ops.dashboard import render_dashboard

    page = render_dashboard({"x": "</script><script>alert(1)</script>"}, {"points": []},
                            series_url="/s", health_url="/h", title="<b>t</b>")
    assert "</script><script>alert(1)" not in page
    assert "<title>&lt;b&gt;t&lt;/b&gt;</title>" in page
    init = re.search(r'<script id="aura-initial" type="application/json">(.*?)</script>', page, re.S)
    assert init is not None
    assert json.loads(init.group(1))["health"]["x"] == "</script><script>alert(1)</script>"


async def test_canary_arms_in_health_and_dashboard(live: Callable[[Any], Server]) -> None:
    arms = {"a": traffic(200), "b": traffic(120, expand=120)}
    app = make_ops_app(lambda: traffic(320), arms=lambda: arms, targets=HealthTargets(min_template_hit_rate=None))
    async with live(app) as client:
        health = (await client.get("/aura/health")).json()
        page = (await client.get("/aura/dashboard")).text
        prom = parse_exposition((await client.get("/aura/metrics")).text)
    assert health["arms"]["a"]["status"] == "ok"
    assert health["arms"]["b"]["status"] == "critical"
    assert health["arms"]["b"]["metrics"]["messages"] == 120
    init = re.search(r'<script id="aura-initial" type="application/json">(.*?)</script>', page, re.S)
    assert init is not None and set(json.loads(init.group(1))["health"]["arms"]) == {"a", "b"}
    assert prom['aura_wire_arm_messages_total{arm="b"}'] == 120
