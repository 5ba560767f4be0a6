"""The application the cluster tests run in three uvicorn processes (configured by environment variables).

* ``/ws``: accepts, subscribes the connection to channel ``news`` and echoes
  what it receives (the echoed messages feed the shared training sample).
* ``POST /publish`` ``{"messages": [...], "channel": "news"}``: broadcasts them in order.
* ``POST /train``: starts one trainer round in the background (``{"started": true}``).
* ``GET /stats``: this replica's counters (broadcast encodes, dictionary, node state).
* ``/aura/health`` etc.: the standard ops endpoints, with the cluster view.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from aura_wire.middleware.asgi import AuraMiddleware

CODEC: dict[str, Any] = {}
_rounds: list[asyncio.Task[Any]] = []


async def ws_endpoint(ws: WebSocket) -> None:
    await ws.accept(subprotocol=None)
    mw.subscribe(ws, "news")
    try:
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                return
            if msg.get("text") is not None:
                await ws.send_text(msg["text"])
            elif msg.get("bytes") is not None:
                await ws.send_bytes(msg["bytes"])
    except WebSocketDisconnect:
        return


async def publish(request: Request) -> JSONResponse:
    body = await request.json()
    channel = body.get("channel", "news")
    sent = 0
    for m in body["messages"]:
        sent += await mw.broadcast(m, channel=channel)
    return JSONResponse({"local_deliveries": sent})


async def train(request: Request) -> JSONResponse:
    assert mw.cluster is not None
    _rounds.append(asyncio.get_running_loop().create_task(mw.cluster.train_round()))
    return JSONResponse({"started": True})


async def stats(request: Request) -> JSONResponse:
    node = mw.cluster
    snap = mw.metrics_snapshot(per_connection=False)
    out: dict[str, Any] = {
        "replica": os.environ.get("AURA_TEST_REPLICA"),
        "pid": os.getpid(),
        "dictionary": snap["dictionary"],
        "broadcast_encodes": snap["broadcast"]["messages"],
        "subscribers": len(mw.subscribers("news")),
        "started": bool(node is not None and node.started),
        "connected": bool(node is not None and node.connected),
        "rounds": node.rounds if node is not None else [],
        "adoptions": node.adoptions if node is not None else [],
        "received": node.received if node is not None else 0,
        "published": node.published if node is not None else 0,
    }
    return JSONResponse(out)


inner = Starlette(routes=[WebSocketRoute("/ws", ws_endpoint), Route("/publish", publish, methods=["POST"]),
                          Route("/train", train, methods=["POST"]), Route("/stats", stats)])
mw = AuraMiddleware(inner, **CODEC)
mw.enable_cluster(
    os.environ["AURA_TEST_REDIS"],
    replica_id=os.environ.get("AURA_TEST_REPLICA"),
    lock_ttl=float(os.environ.get("AURA_TEST_LOCK_TTL", "2.0")),
    poll_interval=float(os.environ.get("AURA_TEST_POLL", "0.5")),
    snapshot_interval=0.5,
    snapshot_ttl=3.0,
    sample_flush_interval=0.2,
    sample_capacity=2000,
    discovery={"min_message_count": 50, "train_options": {"templates": False},
               # the failover test checks who finishes a round, not how much it wins: it may accept any
               "min_improvement": float(os.environ.get("AURA_TEST_MIN_IMPROVEMENT", "0.02"))},
)
mw.enable_ops()
app = mw
