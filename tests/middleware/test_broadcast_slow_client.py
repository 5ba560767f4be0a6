"""Broadcast on a real server when one client stops reading: the others get every message, in order,
without waiting for it; the stuck client is closed (1008) once its backlog passes ``broadcast_backlog``.

Real uvicorn (both websockets implementations) and hypercorn on 127.0.0.1; the stuck client is the
real websockets client with a small receive buffer, that does not read until the end: offering AURA,
or passed through (no subprotocol, no extension).  The others are AURA clients and plain websockets
clients side by side.
"""

from __future__ import annotations

import asyncio
import functools
import random
import socket
from typing import Any

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from aura_wire.client import connect
from aura_wire.middleware import AuraMiddleware, AuraConnection, connection_of
from aura_wire.session import MessageReceived, Role, Session
from aura_wire.session.negotiation import Hints
from conftest import serve_app

BACKENDS = [
    pytest.param("uvicorn", {"ws": "aura_wire.middleware.servers:WebSocketsProtocol"},
                 marks=pytest.mark.filterwarnings("ignore:The `websockets` implementation is deprecated")),
    ("uvicorn", {"ws": "aura_wire.middleware.servers:WebSocketsSansIOProtocol"}),
    ("hypercorn", {}),
]
BACKLOG = 256 * 1024
AURA_READERS = 2
PLAIN_READERS = 2
READERS = AURA_READERS + PLAIN_READERS


def messages(n: int) -> list[str | bytes]:
    rng = random.Random(17)
    # incompressible: coded RAW, quickly; every fifth one text (a passed-through client gets it as text)
    return [f"{i}:{rng.randbytes(4000).hex()}" if i % 5 == 4 else i.to_bytes(4, "big") + rng.randbytes(8000)
            for i in range(n)]


def all_have(got: list[list[str | bytes]], n: int) -> bool:
    return all(len(g) >= n for g in got)


@pytest.mark.parametrize("stuck_kind", ["aura", "plain"])
@pytest.mark.parametrize(("backend", "options"), BACKENDS, ids=["uvicorn-websockets", "uvicorn-sansio", "hypercorn"])
async def test_a_stuck_client_does_not_hold_up_the_others(backend: str, options: dict[str, Any], stuck_kind: str,
                                                          tmp_path: Any) -> None:
    if backend == "hypercorn":
        from aura_wire.middleware.servers import use_with_hypercorn

        use_with_hypercorn()
    members: list[AuraConnection] = []
    joined = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept", "subprotocol": None})
        members.append(connection_of(scope))
        if len(members) == READERS + 1:
            joined.set()
        while (await receive())["type"] != "websocket.disconnect":
            pass

    mw = AuraMiddleware(app, broadcast_backlog=BACKLOG)
    msgs = messages(2000)  # 16 MB: far more than the stuck client's socket buffers and the backlog hold
    async with serve_app(mw, backend, **options) as base:
        url = base.replace("http://", "ws://") + "/room"
        stuck_sock = socket.socket()
        stuck_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills after a few frames
        stuck_sock.connect(("127.0.0.1", int(base.rsplit(":", 1)[1])))
        offer = ["aura.v1"] if stuck_kind == "aura" else None  # plain: no subprotocol, no extension offered
        stuck = await ws_connect(url, sock=stuck_sock, subprotocols=offer,  # type: ignore[arg-type]
                                 max_queue=1, ping_interval=None, compression=None, max_size=None)
        readers: list[Any] = [await connect(url, dictionary_cache=tmp_path / str(i)) for i in range(AURA_READERS)]
        readers += [await ws_connect(url, max_size=None) for _ in range(PLAIN_READERS)]
        await asyncio.wait_for(joined.wait(), 10)
        assert sum(c.aura for c in members) == AURA_READERS + (stuck_kind == "aura")
        stuck_conn = next(c for c in members if c.scope["client"][1] == stuck_sock.getsockname()[1])
        got: list[list[str | bytes]] = [[] for _ in readers]
        arrived = asyncio.Condition()

        async def read(i: int) -> None:
            async for m in readers[i]:
                got[i].append(m)
                async with arrived:
                    arrived.notify_all()

        tasks = [asyncio.create_task(read(i)) for i in range(READERS)]
        counts: list[int] = []
        for n, m in enumerate(msgs):  # until the stuck client has been dropped, and 20 messages more
            if len(counts) >= 20 and counts[-20] == READERS:
                break
            counts.append(await asyncio.wait_for(mw.broadcast(m, members), 10))
            async with arrived:  # pace on the readers (they share this process's loop with the server)
                await asyncio.wait_for(arrived.wait_for(functools.partial(all_have, got, n + 1)), 10)
        sent = msgs[:len(counts)]
        assert got == [sent] * READERS  # every message, in order, byte for byte, to every reader
        assert stuck_conn.closed and mw.failures.get(1008) == 1
        dropped_at = counts.index(READERS)
        assert counts == [READERS + 1] * dropped_at + [READERS] * 20

        # the stuck client, reading at last: an in-order prefix of the messages, then the 1008 close
        client = Session(Role.CLIENT, hints=Hints())
        received: list[str | bytes] = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                data = await asyncio.wait_for(stuck.recv(), 10)
                if stuck_kind == "plain":
                    received.append(data)
                    continue
                client.receive_frame(data)  # type: ignore[arg-type]
                received += [e.data for e in client.events() if isinstance(e, MessageReceived)]
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert received == msgs[:len(received)] and 0 < len(received) <= dropped_at
        print(f"dropped after {dropped_at} messages, {len(received)} of them received")
        for r in readers:
            await r.close()
        for t in tasks:
            await t
