"""An LLM-token-streaming server (FastAPI) behind AuraMiddleware.

    python examples/llm_stream_server.py --port 8001 [--dictionary llm.aurd]

Send a prompt to ``ws://HOST:PORT/generate``; the server streams the answer back as
many small JSON events (one per token, in the style of the Vercel AI SDK stream,
replayed from the ``llm_stream_vercel`` corpus when it is available), then
``{"type":"finish"}``.  Many tiny, similar messages: the case where a shared
dictionary and context mode beat permessage-deflate most clearly.
"""

from __future__ import annotations

import argparse
import asyncio
import json

import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from _common import load_dictionary, sample_messages
from aura_wire.middleware import AuraMiddleware

app = FastAPI()
TOKENS: list[str] = []


@app.websocket("/generate")
async def generate(ws: WebSocket) -> None:
    await ws.accept()
    turn = 0
    try:
        while True:
            prompt = await ws.receive_text()
            events = TOKENS[(turn * 200) % max(1, len(TOKENS) - 200):][:200] or [
                json.dumps({"type": "text-delta", "id": "0", "delta": w + " "}) for w in prompt.split()]
            for event in events:
                await ws.send_text(event)
                await asyncio.sleep(0.002)  # tokens trickle out as a model produces them
            await ws.send_text(json.dumps({"type": "finish", "prompt_chars": len(prompt)}))
            turn += 1
    except WebSocketDisconnect:
        pass


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8001)
    p.add_argument("--dictionary", help="a dictionary file (Dictionary.save); default: train one")
    args = p.parse_args()
    TOKENS.extend(sample_messages("llm_stream_vercel", 2000, skip=150))
    mw = AuraMiddleware(app, dictionary=load_dictionary(args.dictionary, "llm_stream_vercel"))
    uvicorn.run(mw, host=args.host, port=args.port, ws="websockets-sansio")


if __name__ == "__main__":
    main()
