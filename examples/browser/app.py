"""A browser page on AuraSocket: a live market stream with its running compression ratio.

    (cd clients/typescript && npm ci && npm run build)
    python examples/browser/app.py --port 8002        # then open http://127.0.0.1:8002/

FastAPI behind ``AuraMiddleware``, served by uvicorn with the protocol class that keeps
permessage-deflate off AURA connections (``aura_wire.middleware.servers``). The page
(``index.html``) opens ``AuraSocket`` on ``/stream``, shows the messages as they arrive and the
socket's ``stats``: bytes received on the wire and as messages, the ratio, the dictionary state
(fetched from ``/_aura/dict/<id>`` on the first visit, then from the Cache API). A browser
without the client library (or ``?plain=1``) gets the same stream over a plain WebSocket.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # examples/_common.py

import uvicorn  # noqa: E402
from fastapi import FastAPI, WebSocket, WebSocketDisconnect  # noqa: E402
from fastapi.responses import FileResponse  # noqa: E402
from fastapi.staticfiles import StaticFiles  # noqa: E402

from _common import load_dictionary, sample_messages  # noqa: E402
from aura_wire import Dictionary  # noqa: E402
from aura_wire.middleware import AuraMiddleware  # noqa: E402

DIST = HERE.parent.parent / "clients" / "typescript" / "dist"
CORPUS = "market_coinbase"


def build_app(dictionary_path: str | None = None, rate: float = 20.0, train: int = 300,
              dictionary: Dictionary | None = None) -> AuraMiddleware:
    stream = sample_messages(CORPUS, 2000, skip=train)
    app = FastAPI()

    @app.get("/")
    async def index() -> FileResponse:
        return FileResponse(HERE / "index.html")

    @app.websocket("/stream")
    async def feed(ws: WebSocket) -> None:
        await ws.accept()
        try:
            i = 0
            while True:
                await ws.send_text(stream[i % len(stream)])
                i += 1
                await asyncio.sleep(1 / rate)
        except WebSocketDisconnect:
            pass

    if DIST.is_dir():
        app.mount("/dist", StaticFiles(directory=DIST), name="dist")
    # trained on other messages of the same feed (the first 300), never on what is streamed
    if dictionary is None and train > 0:
        dictionary = load_dictionary(dictionary_path, CORPUS, n=train)
    return AuraMiddleware(app, dictionary)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=8002)
    ap.add_argument("--dictionary")
    ap.add_argument("--rate", type=float, default=20.0, help="messages per second")
    args = ap.parse_args()
    if not DIST.is_dir():
        sys.exit("build the client first: (cd clients/typescript && npm ci && npm run build)")
    uvicorn.run(build_app(args.dictionary, args.rate), host="127.0.0.1", port=args.port,
                ws="aura_wire.middleware.servers:WebSocketsSansIOProtocol")


if __name__ == "__main__":
    main()
