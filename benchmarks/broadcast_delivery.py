"""Per-delivery cost of AuraMiddleware broadcast: awaiting flushes in turn vs a task per connection (gather).

In one process, no sockets: ``--clients`` AURA connections (server sessions on
one dictionary, the client holding it) whose ``send`` appends the frame to a
list; each broadcast message is encoded once and delivered to every
connection.  Two delivery loops run on the same messages, interleaved for
``--runs`` rounds:

* ``in-turn``: ``AuraMiddleware.broadcast`` as shipped (``AuraConnection.deliver`` per connection: the
  server's send runs at once and is done on return; only a send that has to wait goes on in a task);
* ``gather``: the previous loop (queue for all, then ``asyncio.gather`` of one flush coroutine per
  connection, each wrapped in a Task), reproduced here as the peer.

Prints CPU microseconds per delivery (process time / (messages x clients)), median over rounds with
the spread, and the ratio.  The encode is excluded (both loops reuse one frame per message).

    python benchmarks/broadcast_delivery.py --clients 200 --messages 200 --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from typing import Any

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from aura_wire import Dictionary, train_dictionary
from aura_wire.middleware.asgi import AuraConnection, AuraMiddleware
from aura_wire.session import Role, Session
from aura_wire.session.negotiation import Hints


def sample(n: int, skip: int = 0) -> list[str]:
    with open(os.path.join(REPO, "aura_wire", "data", "sample.jsonl"), encoding="utf-8") as f:
        lines = f.readlines()[skip:skip + n]
    return [json.loads(x)["m"] for x in lines]


async def _app(scope: Any, receive: Any, send: Any) -> None:  # never called
    raise AssertionError


def make_connections(mw: AuraMiddleware, d: Dictionary, n: int) -> list[AuraConnection]:
    out = []
    for _ in range(n):
        sink: list[bytes] = []

        async def send(msg: Any, sink: list[bytes] = sink) -> None:
            sink.append(msg["bytes"])
            if len(sink) > 64:
                sink.clear()
        conn = AuraConnection(mw, {"type": "websocket"}, send)
        conn.session = Session(Role.SERVER, dictionaries=[d], hints=Hints(have=(d.id,)))
        conn.session.start()
        conn.accepted = True  # broadcast targets are accepted connections
        mw.connections[conn.id] = conn
        out.append(conn)
    return out


async def gather_delivery(targets: list[AuraConnection], frame: bytes, raw: int) -> None:
    """The delivery loop before this change: one flush coroutine per connection, gathered."""
    flushes = []
    for conn in targets:
        assert conn.session is not None
        conn.session.send_prepared(frame, raw)
        flushes.append(conn.flush())
    await asyncio.gather(*flushes)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    d = train_dictionary(sample(200), templates=False)
    msgs = sample(args.messages, skip=300)
    mw = AuraMiddleware(_app, dictionary=d)
    conns = make_connections(mw, d, args.clients)
    for c in conns:
        await c.flush()  # HELLO and the held-dictionary USE
    frames = [(mw._broadcast_encoder(d).encode(m), len(m.encode())) for m in msgs]
    res: dict[str, list[float]] = {"in-turn": [], "gather": []}
    for r in range(args.runs):
        for name in (("in-turn", "gather") if r % 2 == 0 else ("gather", "in-turn")):
            t0 = time.process_time()
            if name == "gather":
                for f, raw in frames:
                    await gather_delivery(conns, f, raw)
            else:
                for (f, _raw), m in zip(frames, msgs, strict=True):
                    await mw._deliver(conns, m, d.id, f)
            res[name].append((time.process_time() - t0) / (len(msgs) * len(conns)) * 1e6)
    return {k: {"median": statistics.median(v), "spread": (max(v) - min(v)) / statistics.median(v)}
            for k, v in res.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=200)
    p.add_argument("--messages", type=int, default=200)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    out = asyncio.run(run(args))
    for k, v in out.items():
        print(f"{k:8} {v['median']:6.2f} us/delivery  (spread {v['spread'] * 100:.0f}%)")
    print(f"gather / in-turn: {out['gather']['median'] / out['in-turn']['median']:.2f}x")


if __name__ == "__main__":
    main()
