"""A server application marks a message sensitive through the ASGI message (spec/wire-format.md §5.3)."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from aura_wire.client import connect
from aura_wire.middleware import AuraMiddleware
from aura_wire.middleware.asgi import SENSITIVE_KEY
from conftest import TEST_CODEC, serve_app

SECRET = "session-token=" + "Zq8v1X0bK3pT7mWc" * 8


def app_sending(first_sensitive: bool) -> Any:
    async def endpoint(ws: WebSocket) -> None:
        sub = ws.scope.get("subprotocols", [])
        await ws.accept(subprotocol=sub[0] if sub else None)
        await ws.receive_text()
        await ws.send({"type": "websocket.send", "text": SECRET, SENSITIVE_KEY: first_sensitive})
        await ws.send({"type": "websocket.send", "text": SECRET})
        await ws.receive_text()
        await ws.close()

    return AuraMiddleware(Starlette(routes=[WebSocketRoute("/ws", endpoint)]), **TEST_CODEC)


async def second_frame_size(first_sensitive: bool) -> int:
    async with serve_app(app_sending(first_sensitive)) as base:
        async with connect(base.replace("http", "ws") + "/ws", dictionary_cache=False, **TEST_CODEC) as conn:
            assert conn.aura
            await conn.send("go")
            assert await conn.recv() == SECRET
            after_first = conn.stats.received_wire_bytes
            assert await conn.recv() == SECRET
            size = conn.stats.received_wire_bytes - after_first
            await conn.send("done")
            return size


async def test_sensitive_message_shares_no_context() -> None:
    # Not sensitive: the second copy refers to the first through the history and is tiny.
    shared = await second_frame_size(first_sensitive=False)
    # Sensitive: the first copy never entered the history, so the second is coded from scratch.
    isolated = await second_frame_size(first_sensitive=True)
    assert shared < 20 < isolated


async def test_sensitive_key_is_stripped_for_plain_clients() -> None:
    from websockets.asyncio.client import connect as ws_connect

    async with serve_app(app_sending(True)) as base:
        async with ws_connect(base.replace("http", "ws") + "/ws") as ws:
            await ws.send("go")
            assert await ws.recv() == SECRET
            assert await ws.recv() == SECRET
            await ws.send("done")
