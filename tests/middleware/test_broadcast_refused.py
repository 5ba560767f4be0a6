"""A write the server refuses marks that connection gone and never escapes out of ``broadcast``; the
connection counts report as open only the connections a broadcast reaches.

Real uvicorn (both websockets implementations) and hypercorn on 127.0.0.1, the real websockets client
and the aura_wire client.  An outer ASGI layer (outside AuraMiddleware, as a timeout or auth
middleware would be) closes two connections, one AURA and one passed through, with the server's own
``send``: the middleware is not told, so the next broadcast's writes to them are refused by the server
(hypercorn: ``UnexpectedMessageError``; uvicorn: ``RuntimeError``).  Broadcasts made right after must
not raise, must mark the two closed, and the other clients get every message, in order.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from aura_wire.client import connect
from aura_wire.middleware import AuraConnection, AuraMiddleware, connection_of
from conftest import eventually, serve_app

BACKENDS = [
    pytest.param("uvicorn", {"ws": "aura_wire.middleware.servers:WebSocketsProtocol"},
                 marks=pytest.mark.filterwarnings("ignore:The `websockets` implementation is deprecated")),
    ("uvicorn", {"ws": "aura_wire.middleware.servers:WebSocketsSansIOProtocol"}),
    ("hypercorn", {}),
]
IDS = ["uvicorn-websockets", "uvicorn-sansio", "hypercorn"]


def _use(backend: str) -> None:
    if backend == "hypercorn":
        from aura_wire.middleware.servers import use_with_hypercorn

        use_with_hypercorn()


def _accepting_app(conns: dict[str, AuraConnection]) -> Any:
    """An application that accepts every websocket, records its connection by path and reads until the end."""
    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept", "subprotocol": None})
        conns[scope["path"].strip("/")] = connection_of(scope)
        while (await receive())["type"] != "websocket.disconnect":
            pass
    return app


async def _four_clients(url: str, tmp_path: Any, other: str, conns: dict[str, AuraConnection]) -> dict[str, Any]:
    """An AURA and a plain client on ``/keep-*`` and on ``/{other}-*``, once the application accepted all four."""
    clients: dict[str, Any] = {}
    for group in ("keep", other):
        clients[f"{group}-aura"] = await connect(f"{url}/{group}-aura", dictionary_cache=tmp_path / group)
        clients[f"{group}-plain"] = await ws_connect(f"{url}/{group}-plain")
    await eventually(lambda: len(conns) == 4, what="four accepted connections")
    return clients


@pytest.mark.parametrize(("backend", "options"), BACKENDS, ids=IDS)
async def test_refused_write_marks_the_connection_gone(backend: str, options: dict[str, Any],
                                                       tmp_path: Any) -> None:
    _use(backend)
    server_send: dict[str, Any] = {}  # path -> the server's own send, held by the outer layer
    conns: dict[str, AuraConnection] = {}

    mw = AuraMiddleware(_accepting_app(conns))

    async def outer(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            server_send[scope["path"].strip("/")] = send
        await mw(scope, receive, send)

    async with serve_app(outer, backend, **options) as base:
        url = base.replace("http://", "ws://")
        clients = await _four_clients(url, tmp_path, "gone", conns)
        assert await asyncio.wait_for(mw.broadcast("m0"), 10) == 4
        # the outer layer closes two of them with the server's send: the middleware is not told
        for name in ("gone-aura", "gone-plain"):
            await server_send[name]({"type": "websocket.close", "code": 1000})
        sent = [await asyncio.wait_for(mw.broadcast(f"m{i}"), 10) for i in range(1, 6)]  # never raises
        assert sent == [2] * 5, sent  # the refused writes count as not sent
        assert conns["gone-aura"].closed and conns["gone-plain"].closed
        assert not conns["keep-aura"].closed and not conns["keep-plain"].closed
        assert mw.failures == {}  # a peer gone is not a close code of ours (as when the client leaves)
        expected = [f"m{i}" for i in range(6)]
        for name in ("keep-aura", "keep-plain"):
            got = [await asyncio.wait_for(clients[name].recv(), 10) for _ in range(6)]
            assert got == expected, name
        for name in ("gone-aura", "gone-plain"):
            assert await asyncio.wait_for(clients[name].recv(), 10) == "m0"
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(clients[name].recv(), 10)
        counts = mw.connection_counts()
        assert counts["open"] == 2 and counts["open_aura"] == 1 and counts["pending"] == 0, counts
        for client in clients.values():
            await client.close()


@pytest.mark.parametrize(("backend", "options"), BACKENDS, ids=IDS)
async def test_open_count_is_accepted_and_not_closed(backend: str, options: dict[str, Any],
                                                     tmp_path: Any) -> None:
    _use(backend)
    waiting = {k: asyncio.Event() for k in ("aura", "plain")}
    release = {k: asyncio.Event() for k in waiting}
    accepted = {k: asyncio.Event() for k in waiting}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        name = scope["path"].strip("/")
        waiting[name].set()
        await release[name].wait()
        await send({"type": "websocket.accept", "subprotocol": None})
        accepted[name].set()
        while (await receive())["type"] != "websocket.disconnect":
            pass

    mw = AuraMiddleware(app)
    async with serve_app(mw, backend, **options) as base:
        url = base.replace("http://", "ws://")
        assert mw.connection_counts()["open"] == 0
        pending: dict[str, asyncio.Future[Any]] = {
            "aura": asyncio.ensure_future(connect(url + "/aura", dictionary_cache=tmp_path / "a")),
            "plain": asyncio.ensure_future(ws_connect(url + "/plain"))}
        for ev in waiting.values():
            await asyncio.wait_for(ev.wait(), 10)
        counts = mw.connection_counts()
        assert (counts["open"], counts["open_aura"], counts["pending"]) == (0, 0, 2), counts
        assert [c["open"] for c in mw.metrics_snapshot()["per_connection"]] == [False, False]
        assert await asyncio.wait_for(mw.broadcast("none"), 10) == 0  # consistent with the count

        release["plain"].set()
        plain = await asyncio.wait_for(pending["plain"], 10)
        await asyncio.wait_for(accepted["plain"].wait(), 10)
        counts = mw.connection_counts()
        assert (counts["open"], counts["open_aura"], counts["pending"]) == (1, 0, 1), counts

        release["aura"].set()
        aura = await asyncio.wait_for(pending["aura"], 10)
        await asyncio.wait_for(accepted["aura"].wait(), 10)
        counts = mw.connection_counts()
        assert (counts["open"], counts["open_aura"], counts["pending"]) == (2, 1, 0), counts
        assert await asyncio.wait_for(mw.broadcast("both"), 10) == counts["open"]
        assert await asyncio.wait_for(plain.recv(), 10) == "both"
        assert await asyncio.wait_for(aura.recv(), 10) == "both"

        await plain.close()
        await eventually(lambda: mw.connection_counts()["open"] == 1, what="the plain client counted closed")
        assert mw.connection_counts()["open_aura"] == 1
        await aura.close()
        await eventually(lambda: mw.connection_counts()["open"] == 0, what="the aura client counted closed")
        assert mw.connection_counts()["pending"] == 0


@pytest.mark.parametrize(("backend", "options"), BACKENDS, ids=IDS)
async def test_broadcast_racing_clients_that_leave(backend: str, options: dict[str, Any], tmp_path: Any) -> None:
    """Clients close while broadcasts run: no broadcast raises, the leavers end up closed (not open),
    the others get every message in order."""
    _use(backend)
    conns: dict[str, AuraConnection] = {}

    mw = AuraMiddleware(_accepting_app(conns))
    async with serve_app(mw, backend, **options) as base:
        url = base.replace("http://", "ws://")
        clients = await _four_clients(url, tmp_path, "leave", conns)
        messages = [f"r{i}" for i in range(40)]
        leaving = [asyncio.ensure_future(clients[n].close()) for n in ("leave-aura", "leave-plain")]
        for m in messages:
            assert 2 <= await asyncio.wait_for(mw.broadcast(m), 10) <= 4
            await asyncio.sleep(0)  # let the closes and the server's reads run between broadcasts
        await asyncio.wait_for(asyncio.gather(*leaving), 10)
        await eventually(lambda: conns["leave-aura"].closed and conns["leave-plain"].closed,
                         what="the leavers marked closed")
        assert mw.failures == {}
        for name in ("keep-aura", "keep-plain"):
            got = [await asyncio.wait_for(clients[name].recv(), 10) for _ in messages]
            assert got == messages, name
        assert mw.connection_counts()["open"] == 2
        for name in ("keep-aura", "keep-plain"):
            await clients[name].close()
