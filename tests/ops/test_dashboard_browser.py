"""The ops dashboard rendered by headless Chromium, read back from its DOM (issue 19, dashboard items).

A live uvicorn serves ``make_ops_app``; Chromium runs the page's script (``--dump-dom``) and the
test reads the SVG it drew: one time axis shared by every chart with distinct tick labels, the
p95 target line inside the plot with its value in the label (or named as above the chart), points
drawn when there are only two samples, binary byte units and the AURA / plain connection count.
Skipped, saying why, where Chromium is not installed (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import asyncio
import re
import shutil
from typing import Any

import pytest

from aura_wire import Encoder
from aura_wire.metrics import CompressionMetrics
from aura_wire.ops import HealthTargets, MetricsHistory, make_ops_app
from conftest import serve_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)")

MSGS = ['{"type":"tick","sym":"AAA","px":"%d.25","seq":%d}' % (100 + i % 9, i) for i in range(400)]


async def _dom(url: str) -> str:
    assert CHROMIUM is not None
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
        "--disable-background-networking", "--virtual-time-budget=3000", "--dump-dom", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


def _svg(dom: str, chart: str) -> str:
    m = re.search(rf'<svg id="{chart}"[^>]*>(.*?)</svg>', dom, re.S)
    assert m, f"chart {chart} not in the DOM"
    return m.group(1)


def _time_ticks(svg: str) -> list[str]:
    return re.findall(r">(\d\d:\d\d(?::\d\d)?)</text>", svg)


def _plot_y_range(svg: str) -> tuple[float, float]:
    # the y axis is the longest vertical grey line (the others are x tick marks)
    spans = [(float(y1), float(y2)) for _, y1, y2 in
             re.findall(r'<line x1="([\d.]+)" x2="\1" y1="([\d.]+)" y2="([\d.]+)" stroke="#9ca3af"', svg)]
    assert spans, "no y axis line"
    return max(spans, key=lambda s: s[1] - s[0])


async def _serve_and_render(points: int, p95_target: float | None) -> tuple[str, dict[str, Any]]:
    """``p95_target`` None: the encode p95 measured on this traffic (so the target lies within the data)."""
    now = [1_700_000_000.0]
    history = MetricsHistory(capacity=64, interval=10.0, clock=lambda: now[0])
    total = CompressionMetrics()
    history.sample(total)  # a server samples once before any traffic: no ratio of 0 may be drawn from it
    for step in range(points - 1):
        now[0] += 10.0
        enc = Encoder(None, templates=False)
        for m in MSGS[step * 20:(step + 1) * 20]:
            enc.encode(m)
        total.merge(enc.metrics)
        history.sample(total)
    if p95_target is None:
        p95_target = total.encode_latency.quantile(0.95)
    conns = {"open": 5, "open_aura": 3, "total": 9, "total_aura": 6}
    app = make_ops_app(lambda: total, history=history, refresh=0, connections=lambda: conns,
                       targets=HealthTargets(min_template_hit_rate=None, min_messages=1,
                                             max_p95_encode_seconds=p95_target))
    async with serve_app(app) as base:
        dom = await _dom(base + "/aura/dashboard")
    return dom, conns


@pytest.mark.parametrize("points", [2, 12])
async def test_dashboard_axes_target_and_tiles(points: int) -> None:
    dom, conns = await _serve_and_render(points, p95_target=2.0)  # far above any encode time here
    charts = ["c-ratio", "c-savings", "c-methods", "c-latency"]
    ticks = {c: _time_ticks(_svg(dom, c)) for c in charts}
    for c, t in ticks.items():
        assert t and len(t) == len(set(t)), f"{c}: repeated or missing time labels {t}"
    assert len({tuple(t) for t in ticks.values()}) == 1, f"charts use different time axes: {ticks}"
    lat = _svg(dom, "c-latency")
    # 2 s is far above: named, not drawn clamped to the top
    assert re.search(r"p95 target [\d.]+ ms \u2191 above the chart", lat), lat[-600:]
    # with two samples (one before any traffic) the series still show: points are drawn
    assert "<circle" in lat or "<path" in lat
    ratio = _svg(dom, "c-ratio")
    assert "<circle" in ratio or re.search(r'<path d="M[\d.]+ [\d.]+ L', ratio)
    tiles = re.search(r'<section class="tiles" id="tiles">(.*?)</section>', dom, re.S)
    assert tiles
    assert f"{conns['open_aura']} / {conns['open'] - conns['open_aura']}" in tiles.group(1)
    assert re.search(r">[\d.]+ (B|KiB|MiB)<", tiles.group(1)) and " KB<" not in tiles.group(1)


async def test_p95_target_line_sits_inside_the_plot_with_its_value() -> None:
    # a target near the encode times: it joins the scale and is drawn where it belongs
    dom, _ = await _serve_and_render(8, p95_target=None)
    lat = _svg(dom, "c-latency")
    m = re.search(r'<line x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)" y2="\1" stroke="#b91c1c"[^>]*(?:/>|></line>)'
                  r'<text[^>]*y="([\d.]+)"'
                  r'[^>]*>(p95 target [^<]*)</text>', lat)
    assert m, "no p95 target line"
    top, bottom = _plot_y_range(lat)
    y, label_y = float(m.group(1)), float(m.group(2))
    assert top <= y <= bottom and top <= label_y - 8 and label_y <= bottom, (top, y, label_y, bottom)
    assert re.search(r"p95 target \d", m.group(3)), m.group(3)
