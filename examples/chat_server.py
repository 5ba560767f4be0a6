"""A chat server (Starlette) behind AuraMiddleware.

    python examples/chat_server.py --port 8000 [--dictionary chat.aurd]

Clients join ``ws://HOST:PORT/chat/<room>``; every text message is broadcast to the
room with ``AuraMiddleware.broadcast`` (encoded once per dictionary, stateless frames).
Plain WebSocket clients (a browser, ``websockets``) work unchanged; AURA clients
(``examples/client_live.py``) get compressed frames.  ``GET /stats`` shows the
middleware's metrics as JSON, ``GET /_aura/dict/`` lists the dictionaries.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from _common import load_dictionary
from aura_wire.middleware import AuraMiddleware

ROOMS: dict[str, set[WebSocket]] = defaultdict(set)


async def chat(ws: WebSocket) -> None:
    room = ws.path_params["room"]
    await ws.accept()
    ROOMS[room].add(ws)
    try:
        async for text in ws.iter_text():
            await MIDDLEWARE.broadcast(text, ROOMS[room])
    except WebSocketDisconnect:
        pass
    finally:
        ROOMS[room].discard(ws)


async def stats(request: Request) -> JSONResponse:
    return JSONResponse(MIDDLEWARE.metrics_snapshot())


app = Starlette(routes=[WebSocketRoute("/chat/{room}", chat), Route("/stats", stats)])
MIDDLEWARE: AuraMiddleware


def main() -> None:
    global MIDDLEWARE
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--dictionary", help="a dictionary file (Dictionary.save); default: train one")
    p.add_argument("--corpus", default="chat_ubuntu_irc")
    args = p.parse_args()
    MIDDLEWARE = AuraMiddleware(app, dictionary=load_dictionary(args.dictionary, args.corpus))
    uvicorn.run(MIDDLEWARE, host=args.host, port=args.port, ws="websockets-sansio")


if __name__ == "__main__":
    main()
