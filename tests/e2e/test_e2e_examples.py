"""The example servers work end to end (with a small dictionary instead of a trained one)."""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path
from typing import Any

from aura_wire.client import connect
from aura_wire.middleware import AuraMiddleware
from conftest import TEST_CODEC, serve_app, small_dictionary

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(name: str) -> Any:
    """An example module, imported from examples/ at run time (Any: mypy does not read examples/)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    return importlib.import_module(name)


async def test_chat_server_broadcasts_to_the_room(tmp_path: Path) -> None:
    chat = example("chat_server")
    chat.MIDDLEWARE = AuraMiddleware(chat.app, dictionary=small_dictionary(), **TEST_CODEC)
    async with serve_app(chat.MIDDLEWARE) as base:
        url = base.replace("http://", "ws://") + "/chat/general"
        async with connect(url, dictionary_cache=tmp_path, **TEST_CODEC) as a, \
                connect(url, dictionary_cache=tmp_path, **TEST_CODEC) as b:
            assert await a.wait_synced(5) and await b.wait_synced(5)
            while len(chat.ROOMS["general"]) < 2:
                await asyncio.sleep(0.01)
            await a.send('{"type":"message","room":"a","user":"alice","text":"hello world"}')
            assert await b.recv() == '{"type":"message","room":"a","user":"alice","text":"hello world"}'
            assert await a.recv() == '{"type":"message","room":"a","user":"alice","text":"hello world"}'


async def test_llm_stream_server_streams_tokens(tmp_path: Path) -> None:
    llm = example("llm_stream_server")
    mw = AuraMiddleware(llm.app, dictionary=small_dictionary(), **TEST_CODEC)
    async with serve_app(mw) as base:
        async with connect(base.replace("http://", "ws://") + "/generate", dictionary_cache=tmp_path,
                           **TEST_CODEC) as c:
            await c.send("tell me a story")
            got = []
            async for m in c:
                got.append(m)
                if isinstance(m, str) and '"finish"' in m:
                    break
            assert len(got) >= 2 and '"finish"' in str(got[-1])
