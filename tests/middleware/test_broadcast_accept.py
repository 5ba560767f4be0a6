"""Broadcast reaches exactly the open connections: never one the application has not accepted yet.

Real uvicorn (both websockets implementations) and hypercorn on 127.0.0.1, the real websockets client
and the aura_wire client.  The application holds the accept of some connections (AURA-offering and
passed through) until the test sets an event, and rejects others (``websocket.close`` before accept);
broadcasts made meanwhile (to every connection, to a list naming the waiting ones, to a channel they
subscribed to before their accept) reach only the open clients and count no failure.  Once accepted,
a connection gets every broadcast made after its accept and none made before.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from aura_wire.client import connect
from aura_wire.middleware import AuraConnection, AuraMiddleware, connection_of
from conftest import serve_app

BACKENDS = [
    pytest.param("uvicorn", {"ws": "aura_wire.middleware.servers:WebSocketsProtocol"},
                 marks=pytest.mark.filterwarnings("ignore:The `websockets` implementation is deprecated")),
    ("uvicorn", {"ws": "aura_wire.middleware.servers:WebSocketsSansIOProtocol"}),
    ("hypercorn", {}),
]
KINDS = ("aura", "plain")


@pytest.mark.parametrize(("backend", "options"), BACKENDS, ids=["uvicorn-websockets", "uvicorn-sansio", "hypercorn"])
async def test_broadcast_skips_connections_not_yet_accepted(backend: str, options: dict[str, Any],
                                                            tmp_path: Any) -> None:
    if backend == "hypercorn":
        from aura_wire.middleware.servers import use_with_hypercorn

        use_with_hypercorn()
    # per path ("/open", "/late-aura", "/late-plain", "/reject-aura", "/reject-plain"):
    waiting = {k: asyncio.Event() for k in ("late-aura", "late-plain", "reject-aura", "reject-plain")}
    release = {k: asyncio.Event() for k in waiting}
    accepted = {k: asyncio.Event() for k in ("late-aura", "late-plain")}
    conns: dict[str, AuraConnection] = {}
    opened: list[AuraConnection] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        name = scope["path"].strip("/")
        conn = connection_of(scope)
        mw.subscribe(conn, "room")  # allowed before the accept: it takes effect at the accept
        if name != "open":
            conns[name] = conn
            waiting[name].set()
            await release[name].wait()
            if name.startswith("reject"):
                await send({"type": "websocket.close", "code": 1000})
                return
        await send({"type": "websocket.accept", "subprotocol": None})
        if name == "open":
            opened.append(conn)
        else:
            accepted[name].set()
        while (await receive())["type"] != "websocket.disconnect":
            pass

    mw = AuraMiddleware(app)
    async with serve_app(mw, backend, **options) as base:
        url = base.replace("http://", "ws://")
        # one open client of each kind
        clients: dict[str, Any] = {"open-aura": await connect(url + "/open", dictionary_cache=tmp_path / "o"),
                                   "open-plain": await ws_connect(url + "/open")}
        assert len(opened) == 2 and sorted(c.aura for c in opened) == [False, True]
        # the others connect; the application holds their accept
        pending = {
            "late-aura": asyncio.ensure_future(connect(url + "/late-aura", dictionary_cache=tmp_path / "l")),
            "late-plain": asyncio.ensure_future(ws_connect(url + "/late-plain")),
            "reject-aura": asyncio.ensure_future(connect(url + "/reject-aura", dictionary_cache=tmp_path / "r")),
            "reject-plain": asyncio.ensure_future(ws_connect(url + "/reject-plain")),
        }
        for ev in waiting.values():
            await asyncio.wait_for(ev.wait(), 10)
        assert len(mw.connections) == 6

        async def broadcast_three_ways(tag: str, expected: int) -> list[str]:
            """One broadcast to every connection, one to a list naming all six, one to the channel."""
            sent = [f"{tag}-all", f"{tag}-list", f"{tag}-room"]
            assert await asyncio.wait_for(mw.broadcast(sent[0]), 10) == expected
            assert await asyncio.wait_for(mw.broadcast(sent[1], opened + list(conns.values())), 10) == expected
            assert await asyncio.wait_for(mw.broadcast(sent[2], channel="room"), 10) == expected
            return sent

        before = await broadcast_three_ways("before", 2)  # only the two open clients
        assert mw.failures == {}
        assert not any(c.closed for c in conns.values())  # the waiting ones are not marked gone

        # the application accepts the late ones and rejects the others
        for ev in release.values():
            ev.set()
        for name in ("late-aura", "late-plain"):
            clients[name] = await asyncio.wait_for(pending[name], 10)
            await asyncio.wait_for(accepted[name].wait(), 10)
        for name in ("reject-aura", "reject-plain"):
            with pytest.raises(InvalidStatus) as refused:
                await asyncio.wait_for(pending[name], 10)
            assert refused.value.response.status_code == 403
        after = await broadcast_three_ways("after", 4)  # the open ones and the newly accepted ones

        for name, client in clients.items():
            got = [await asyncio.wait_for(client.recv(), 10) for _ in range(6 if name.startswith("open") else 3)]
            # order on one connection is kept: a late client's first message is the first one after its accept
            assert got == (before + after if name.startswith("open") else after), name
        assert mw.failures == {}
        assert all(not c.closed for n, c in conns.items() if n.startswith("late"))
        for client in clients.values():
            await client.close()
