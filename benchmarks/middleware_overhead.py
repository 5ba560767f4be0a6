"""What AuraMiddleware itself costs per message, apart from the codec and the server (issue 17).

In one process, no sockets: one AURA connection through ``AuraMiddleware`` whose session codes with a
stub (the encoder returns one fixed RAW frame, the decoder one fixed string), under a server whose
``send`` does nothing and whose ``receive`` hands over a frame at once.  So what is left is the
middleware's and the session's own path: the ASGI events, the session's checks and counters, the
writer's turn, the reader task and its inbox.

* ``send``: the application's ``await send({"type": "websocket.send", "text": m})``;
* ``receive``: the application's ``await receive()`` of a client frame (reader task, inbox).

Each is printed beside the same loop straight on the server's send/receive (``bare``): CPU
microseconds per message, the minimum over ``--runs`` rounds (a shared machine only adds time), and
the difference.  server_cpu.py measures the whole stack; this resolves the part below its noise.

    python benchmarks/middleware_overhead.py --messages 20000 --runs 7
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from aura_wire import Dictionary, train_dictionary  # noqa: E402
from aura_wire.middleware import AuraMiddleware, connection_of  # noqa: E402

#: A RAW data frame (header byte 0: no dictionary, no context, binary) of 40 payload bytes.
FRAME = bytes([0x00]) + b"x" * 40


class StubEncoder:
    def encode(self, message: str | bytes, *, sensitive: bool = False) -> bytes:
        return FRAME


class StubDecoder:
    def decode(self, frame: bytes) -> str:
        return "hello world"


def sample(n: int) -> list[str]:
    with open(os.path.join(REPO, "aura_wire", "data", "sample.jsonl"), encoding="utf-8") as f:
        return [json.loads(x)["m"] for x in f.readlines()[:n]]


async def through_middleware(d: Dictionary, msgs: list[str], direction: str) -> float:
    """CPU seconds of the application's loop of sends (or receives) through AuraMiddleware."""
    took: list[float] = []
    go = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept", "subprotocol": None})
        session = connection_of(scope).session
        assert session is not None, "the connection did not speak AURA"
        session._encoder = StubEncoder()  # type: ignore[assignment]
        session._decoder = StubDecoder()  # type: ignore[assignment]
        go.set()
        t0 = time.process_time()
        if direction == "send":
            for m in msgs:
                await send({"type": "websocket.send", "text": m})
        else:
            for _ in msgs:
                await receive()
        took.append(time.process_time() - t0)

    connected = False

    async def server_receive() -> dict[str, Any]:
        nonlocal connected
        if not connected:
            connected = True
            return {"type": "websocket.connect"}
        await go.wait()
        return {"type": "websocket.receive", "bytes": FRAME}

    async def server_send(message: Any) -> None:
        pass

    mw = AuraMiddleware(app, d, shadow_sample=0.0)
    scope = {"type": "websocket", "path": "/", "headers": [], "subprotocols": ["aura.v1", "aura.have." + d.id]}
    await mw(scope, server_receive, server_send)
    return took[0]


async def bare(msgs: list[str], direction: str) -> float:
    """The same loop straight on a server's send/receive."""
    async def server_send(message: Any) -> None:
        pass

    async def server_receive() -> dict[str, Any]:
        return {"type": "websocket.receive", "bytes": FRAME}

    t0 = time.process_time()
    if direction == "send":
        for m in msgs:
            await server_send({"type": "websocket.send", "text": m})
    else:
        for _ in msgs:
            await server_receive()
    return time.process_time() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=20000)
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    base = sample(300)
    d = train_dictionary(base, templates=False)
    msgs = (base * (args.messages // len(base) + 1))[:args.messages]
    for direction in ("send", "receive"):
        mw_t, bare_t = [], []
        for _ in range(args.runs):
            mw_t.append(asyncio.run(through_middleware(d, msgs, direction)))
            bare_t.append(asyncio.run(bare(msgs, direction)))
        m, b = min(mw_t) / len(msgs) * 1e6, min(bare_t) / len(msgs) * 1e6
        print(f"{direction:8} bare {b:6.3f}  middleware {m:6.3f}  own cost {m - b:6.3f} us/message "
              f"(min of {args.runs})")


if __name__ == "__main__":
    main()
