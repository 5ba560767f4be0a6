"""The measurement run behind the numbers in the report: every corpus, over real sockets.

Skipped unless ``AURA_E2E_FULL=1`` (minutes in pure Python):

    AURA_E2E_FULL=1 PYTHONPATH=. pytest -s tests/e2e/test_e2e_all_corpora.py

For each corpus: a dictionary trained on the first 200 messages, the next 300
sent by aura_wire.client to uvicorn + AuraMiddleware and echoed back, exact;
the socket bytes (proxy-counted, handshake included, dictionary already cached)
against plain websockets + permessage-deflate under uvicorn (window 12, as it
ships) and hypercorn (window 15).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from websockets.asyncio.client import connect as ws_connect

from aura_wire import train_dictionary
from aura_wire.client import DictionaryCache, connect
from aura_wire.middleware import AuraMiddleware
from conftest import CORPORA, TEST_CODEC, count_bytes, echo_app, load_corpus, port_of, serve_app, stream

pytestmark = [
    pytest.mark.slow,
    pytest.mark.corpora,
    pytest.mark.skipif(os.environ.get("AURA_E2E_FULL") != "1", reason="full corpus run: set AURA_E2E_FULL=1"),
]

NAMES = sorted(p.stem for p in CORPORA.glob("*.jsonl")) or ["chat_ubuntu_irc"]


@pytest.mark.parametrize("name", NAMES)
async def test_corpus_against_deflate(name: str, tmp_path: Path) -> None:
    d = train_dictionary(load_corpus(name, 200), templates=False, brio=TEST_CODEC["brio"])
    messages = load_corpus(name, 300, skip=200)
    raw = 2 * sum(len(m.encode()) for m in messages)
    cache = DictionaryCache(tmp_path)
    cache.put(d)
    # Pure-Python coding of 100-KB messages blocks the shared event loop for seconds: no keepalive pings.
    async with serve_app(AuraMiddleware(echo_app, dictionary=d, **TEST_CODEC), ws_ping_interval=None) as base:
        async with count_bytes(port_of(base)) as aura:
            async with connect(f"ws://127.0.0.1:{aura.port}/echo", dictionary_cache=cache,
                               websocket_options={"ping_interval": None}, **TEST_CODEC) as c:
                assert await c.wait_synced(10)
                assert await stream(c, messages) == messages
    deflate = {}
    for backend in ("uvicorn", "hypercorn"):
        async with serve_app(echo_app, backend) as base:
            async with count_bytes(port_of(base)) as counter:
                async with ws_connect(f"ws://127.0.0.1:{counter.port}/echo", compression="deflate", proxy=None,
                                      max_size=None, ping_interval=None) as ws:
                    assert await stream(ws, messages) == messages
            deflate[backend] = counter.total
    print(f"\n| {name} | {raw} | aura {aura.total} ({raw / aura.total:.2f}) | deflate uvicorn {deflate['uvicorn']} "
          f"({raw / deflate['uvicorn']:.2f}) | deflate hypercorn {deflate['hypercorn']} "
          f"({raw / deflate['hypercorn']:.2f}) |")
    assert aura.total < min(deflate.values())
