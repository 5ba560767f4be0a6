"""A uvicorn + AuraMiddleware server in its own process, for tests that measure server CPU.

Run as ``python tests/e2e/cpu_probe_server.py FD [--dictionary PATH]`` with ``FD`` a bound TCP socket
inherited from the parent.  The app acknowledges every message with ``"ok"`` (on the path ``/echo``
it sends every message back instead); the text message ``"cpu?"`` is answered with this process's
CPU time in seconds (``time.process_time()``), so a test measures exactly the server's CPU between
two probes.  Prints ``ready`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

from aura_wire import AuraMiddleware, load_dictionary


async def app(scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
               send: Callable[[MutableMapping[str, Any]], Awaitable[None]]) -> None:
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    echo = scope.get("path") == "/echo"
    try:
        await _serve(receive, send, echo)
    except OSError:  # the client left while an answer was being sent (ConnectionGone)
        return


async def _serve(receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
                 send: Callable[[MutableMapping[str, Any]], Awaitable[None]], echo: bool) -> None:
    while True:
        ev = await receive()
        if ev["type"] == "websocket.disconnect":
            return
        if ev.get("text") == "cpu?":
            await send({"type": "websocket.send", "text": repr(time.process_time())})
        elif echo:
            await send({"type": "websocket.send", "text": ev["text"]} if ev.get("text") is not None
                       else {"type": "websocket.send", "bytes": ev["bytes"]})
        else:
            await send({"type": "websocket.send", "text": "ok"})


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("fd", type=int)
    ap.add_argument("--dictionary", default=None)
    args = ap.parse_args()
    d = load_dictionary(args.dictionary) if args.dictionary else None
    sock = socket.socket(fileno=args.fd)
    config = uvicorn.Config(AuraMiddleware(app, d), log_level="warning", lifespan="off", ws="websockets-sansio")
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    print("ready", flush=True)
    await task


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
