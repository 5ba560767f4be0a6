"""End to end: real uvicorn/hypercorn servers with AuraMiddleware, aura_wire.client, corpus messages both ways.

Every message of a corpus slice goes client → server and back (the server echoes), and
must arrive exactly.  The bytes on the socket (handshake and WebSocket framing
included) are counted by a proxy and compared with the same run over plain
websockets with permessage-deflate (context takeover, as uvicorn negotiates it).
The dictionary is trained on messages that precede the slice.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from websockets.asyncio.client import connect as ws_connect

from aura_wire.client import DictionaryCache, connect
from aura_wire.middleware import AuraMiddleware
from conftest import TEST_CODEC, count_bytes, echo_app, load_corpus, port_of, serve_app, stream, trained_dictionary

pytestmark = pytest.mark.corpora

TRAIN = 80
SLICE = 100


@pytest.mark.parametrize(
    ("backend", "name"),
    [("uvicorn", "chat_ubuntu_irc"), ("hypercorn", "logs_openssh")],
)
async def test_corpus_both_ways_exact_and_smaller_than_deflate(backend: str, name: str, tmp_path: Path) -> None:
    d = trained_dictionary(name, TRAIN)
    messages = load_corpus(name, SLICE, skip=TRAIN)
    cache = DictionaryCache(tmp_path)
    raw = 2 * sum(len(m.encode()) for m in messages)
    mw = AuraMiddleware(echo_app, dictionary=d, **TEST_CODEC)
    async with serve_app(mw, backend) as base:
        async with count_bytes(port_of(base)) as first:
            async with connect(f"ws://127.0.0.1:{first.port}/echo", dictionary_cache=cache, **TEST_CODEC) as c:
                assert await c.wait_synced(10)  # first visit: in-band transfer of the dictionary
                got = await stream(c, messages[:5])
                assert got == messages[:5]
        async with count_bytes(port_of(base)) as aura:
            async with connect(f"ws://127.0.0.1:{aura.port}/echo", dictionary_cache=cache, **TEST_CODEC) as c:
                got = await stream(c, messages)
                stats = c.stats
        assert got == messages  # exact, in order, same type
        assert stats.sent_raw_bytes == stats.received_raw_bytes == raw // 2
    async with serve_app(echo_app, backend) as base:
        async with count_bytes(port_of(base)) as deflate:
            async with ws_connect(f"ws://127.0.0.1:{deflate.port}/echo", compression="deflate", proxy=None,
                                  max_size=None) as ws:
                assert ws.protocol.extensions, "the server did not negotiate permessage-deflate"
                got = await stream(ws, messages)
        assert got == messages
    print(f"\n{name} via {backend}: {SLICE} messages each way, {raw} bytes of messages; socket bytes: "
          f"aura {aura.total} (ratio {raw / aura.total:.2f}), permessage-deflate {deflate.total} "
          f"(ratio {raw / deflate.total:.2f}); first visit with in-band dictionary transfer {first.total}; "
          f"methods {stats.sent_methods}")
    assert aura.total < deflate.total


async def test_rollout_mid_traffic(tmp_path: Path) -> None:
    """A new dictionary for new connections; an open connection keeps its own until it closes."""
    name = "chat_ubuntu_irc"
    old = trained_dictionary(name, 40)
    new = trained_dictionary(name, TRAIN)
    messages = load_corpus(name, 40, skip=TRAIN)
    mw = AuraMiddleware(echo_app, dictionary=old, keep_versions=1, **TEST_CODEC)
    async with serve_app(mw) as base:
        url = base.replace("http://", "ws://") + "/echo"
        async with connect(url, dictionary_cache=tmp_path / "a", **TEST_CODEC) as a:
            assert await a.wait_synced(10) and a.dictionary_id == old.id
            assert await stream(a, messages[:10]) == messages[:10]
            mw.set_dictionary(new)
            assert old.id in mw.available_dictionaries()  # still in use by a
            async with connect(url, dictionary_cache=tmp_path / "b", **TEST_CODEC) as b:
                assert await b.wait_synced(10) and b.dictionary_id == new.id
                for m in messages[10:]:
                    await a.send(m)
                    await b.send(m)
                    assert await a.recv() == m and await b.recv() == m
            assert a.dictionary_id == old.id
            conn_a = [c for c in mw.connections.values() if c.session and c.session.send_dictionary is old]
            assert len(conn_a) == 1
        for _ in range(100):
            if not mw.connections:
                break
            await asyncio.sleep(0.02)
        assert list(mw.available_dictionaries()) == [new.id]  # old released once its last connection closed
