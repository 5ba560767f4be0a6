"""AuraSocket behaves like WebSocket in Chromium, over AURA and when it falls back to plain.

A Starlette echo app behind AuraMiddleware (``/aura/echo``) and the same app without it
(``/plain/echo``, a server without AURA): the page sends a Blob, text, a view, an ArrayBuffer and
non-ASCII text, reads binaryType ``blob`` then ``arraybuffer``, and closes with its own code.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from aura_wire import AuraMiddleware
from conftest import echo_app, serve_app
from _browser import TS, drive_page, need_browser

EXPECTED = [["blob", [1, 2, 3]], ["text", "text after blob"], ["blob", [8, 7]], ["blob", [4, 5]],
            ["text", "é ✓ 😀"], ["arraybuffer", [42]]]


def _app() -> Any:
    from starlette.responses import FileResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles
    from starlette.applications import Starlette

    async def page(_request: Any) -> Any:
        return FileResponse(TS / "test" / "socket-page.html")

    return Starlette(routes=[Route("/", page), Mount("/dist", app=StaticFiles(directory=TS / "dist")),
                             Mount("/aura", app=AuraMiddleware(echo_app)), Mount("/plain", app=echo_app)])


@pytest.mark.parametrize("route", ["aura", "plain"])
async def test_aura_socket_is_shaped_like_websocket(route: str) -> None:
    need_browser()
    async with serve_app(_app(), "uvicorn", ws="aura_wire.middleware.servers:WebSocketsSansIOProtocol") as base:
        url = f"{base}/?ws={base.replace('http', 'ws')}/{route}/echo"
        line, err = await drive_page(url)
    assert line, err
    r = json.loads(line)
    # a browser logs the first, AURA-offering handshake that a server without AURA fails
    assert [e for e in r["pageErrors"] if "Error during WebSocket handshake" not in e] == []
    assert r["got"] == EXPECTED  # same order, same bytes, as sent
    log = {entry[0]: entry[1:] for entry in r["log"]}
    assert log["readyState-at-start"] == [0]
    ready, protocol, aura, extensions, buffered = log["readyState-open"]
    assert ready == 1 and protocol == "" and buffered == "number"
    assert aura is (route == "aura")
    if route == "aura":
        assert extensions == ""  # no permessage-deflate on top of AURA
        assert r["stats"]["receivedMessages"] == 6
    else:
        assert "permessage-deflate" in extensions  # the fallback is the browser's own WebSocket
    assert log["close"] == [4321, "done", 3]
    assert r["opened"] == 1
