"""examples/browser: the page streams over AuraSocket in headless Chromium with a ratio above 1."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import serve_app
from _browser import drive_page, need_browser

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "browser"


async def test_browser_example_streams_over_aura() -> None:
    need_browser()
    sys.path.insert(0, str(EXAMPLE))
    try:
        from app import build_app  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(EXAMPLE))
    app = build_app(rate=40.0, train=0)  # no dictionary: training is not what this test is about
    async with serve_app(app, "uvicorn", ws="aura_wire.middleware.servers:WebSocketsSansIOProtocol") as base:
        line, err = await drive_page(base + "/")
    assert line, err or "no output"
    got = json.loads(line)
    assert got["pageErrors"] == []
    assert got["transport"].startswith("AURA")
    assert got["extensions"] == ""
    assert got["messages"] >= 20 and got["ratio"] > 1.2, got
