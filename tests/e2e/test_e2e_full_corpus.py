"""Every message of a corpus, both ways, over a real socket, under uvicorn and hypercorn (issue 8, done-when).

The dictionary is trained on the first half of ``logs_openssh``; then all of its
2,000 messages are streamed by ``aura_wire.client`` to the server with
``AuraMiddleware`` and echoed back, each compared exactly; the socket bytes
(counted by a proxy, handshake included, dictionary already cached) must be
fewer than the same run with plain ``websockets`` and permessage-deflate against
the same server.  It needs the compiled codec: the pure build takes minutes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from websockets.asyncio.client import connect as ws_connect

import aura_wire
from aura_wire import train_dictionary
from aura_wire.client import DictionaryCache, connect
from aura_wire.middleware import AuraMiddleware
from conftest import count_bytes, echo_app, load_corpus, port_of, serve_app, stream

pytestmark = [
    pytest.mark.corpora,
    pytest.mark.skipif(not aura_wire.compiled, reason="streams 2,000 messages each way: needs the compiled codec"),
]

NAME = "logs_openssh"


@pytest.mark.parametrize("backend", ["uvicorn", "hypercorn"])
async def test_every_message_both_ways_beats_deflate(backend: str, tmp_path: Path) -> None:
    messages = load_corpus(NAME)
    assert len(messages) == 2000
    d = train_dictionary(messages[: len(messages) // 2])
    cache = DictionaryCache(tmp_path)
    cache.put(d)
    raw = 2 * sum(len(m.encode()) for m in messages)
    async with serve_app(AuraMiddleware(echo_app, dictionary=d), backend) as base:
        async with count_bytes(port_of(base)) as aura:
            async with connect(f"ws://127.0.0.1:{aura.port}/echo", dictionary_cache=cache) as c:
                assert c.aura and await c.wait_synced(10)
                assert await stream(c, messages) == messages
    async with serve_app(echo_app, backend) as base:
        async with count_bytes(port_of(base)) as deflate:
            async with ws_connect(f"ws://127.0.0.1:{deflate.port}/echo", compression="deflate", proxy=None,
                                  max_size=None) as ws:
                assert await stream(ws, messages) == messages
    assert aura.total < deflate.total, (raw, aura.total, deflate.total)
    print(f"\n{backend} {NAME}: raw {raw} B, aura {aura.total} B ({raw / aura.total:.2f}), "
          f"permessage-deflate {deflate.total} B ({raw / deflate.total:.2f})")
