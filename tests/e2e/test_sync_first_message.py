"""The dictionary from the first message, over real sockets (spec/session.md §3.4, §6.1.1, §6.8).

uvicorn + AuraMiddleware + aura_wire.client on 127.0.0.1, bytes counted by a TCP relay:

* a client that holds the dictionary (it used it with this server before) names it in its
  offer, and a 2,000-message burst the application sends right after ``accept()`` uses it
  from the first message;
* ``await connection_of(ws).synced()`` lets an application wait for a client that fetches;
* a client that decodes only some methods gets only those;
* a client fetches only when the announced saving pays for the transfer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from aura_wire.client import DictionaryCache, connect
from aura_wire.middleware import AuraMiddleware, connection_of
from conftest import count_bytes, load_corpus, port_of, serve_app, small_dictionary
from aura_wire import train_dictionary

N = 2000
RESULTS: dict[str, Any] = {}  # what the app saw, set by each run and popped by the test that reads it


def burst_app(messages: list[str], *, wait_synced: float | None = None) -> Starlette:
    async def burst(ws: WebSocket) -> None:
        await ws.accept()
        conn = connection_of(ws)
        if wait_synced is not None:
            RESULTS["synced"] = await conn.synced(timeout=wait_synced)
        # Whether the server already codes with the dictionary before the first message.
        s = conn.session
        RESULTS["dict_at_first"] = s.send_dictionary.id if s is not None and s.send_dictionary else None
        for m in messages:
            await ws.send_text(m)
        await ws.receive_text()  # the client's "done"
        await ws.close()

    return Starlette(routes=[WebSocketRoute("/burst", burst)])


async def receive_all(uri: str, n: int, *, wait: bool = False, **options: Any) -> tuple[list[str | bytes], Any]:
    async with connect(uri, **options) as c:
        got = [await c.recv() for _ in range(n)]
        if wait:
            assert await c.wait_synced(30)
        await c.send("done")
        stats = c.stats.as_dict()
        stats["dictionary_id"] = c.dictionary_id
    return got, stats


async def test_held_dictionary_is_used_from_the_first_message_of_a_burst(tmp_path: Path) -> None:

    d = train_dictionary(load_corpus("market_coinbase", 1000), name="coinbase[:1000]")
    msgs = load_corpus("market_coinbase", N, skip=4000)
    cache = DictionaryCache(tmp_path)
    async with serve_app(AuraMiddleware(burst_app(msgs), dictionary=d)) as base:
        port = port_of(base)
        async with count_bytes(port) as plain:
            got, _ = await receive_all(f"ws://127.0.0.1:{plain.port}/burst", N, dictionary_cache=False,
                                       fetch="none")
        assert got == msgs and RESULTS.pop("dict_at_first") is None
        # First visit: no hint (nothing cached); the dictionary is fetched in-band, then cached.
        async with count_bytes(port) as first:
            got, stats = await receive_all(f"ws://127.0.0.1:{first.port}/burst", N, dictionary_cache=cache,
                                           fetch_when="now", wait=True)
        assert got == msgs and RESULTS.pop("dict_at_first") is None and stats["dictionary_id"] == d.id
        assert cache.held_for(f"http://127.0.0.1:{first.port}") == [d.id]
        # Returning client, same origin: it names the dictionary; the burst uses it from message 1.
        async with count_bytes(port) as again:
            origin_cache = DictionaryCache(tmp_path)
            origin_cache.remember(f"http://127.0.0.1:{again.port}", d.id)
            got, stats = await receive_all(f"ws://127.0.0.1:{again.port}/burst", N, dictionary_cache=origin_cache)
        assert got == msgs, "every message byte for byte"
        assert RESULTS.pop("dict_at_first") == d.id
        assert stats["control"]["received_bytes"] < 200  # HELLO + USE: no transfer
    # Counted on the socket: the returning client's burst is much smaller than the dictionary-free one.
    assert again.downstream < plain.downstream, (again.downstream, plain.downstream)


async def test_app_can_await_synced_for_a_fetching_client(tmp_path: Path) -> None:

    d = train_dictionary(load_corpus("chat_ubuntu_irc", 600), name="irc[:600]")
    msgs = load_corpus("chat_ubuntu_irc", 200, skip=3000)
    async with serve_app(AuraMiddleware(burst_app(msgs, wait_synced=30), dictionary=d)) as base:
        uri = base.replace("http://", "ws://") + "/burst"
        got, stats = await receive_all(uri, len(msgs), dictionary_cache=tmp_path, fetch_when="now")
        assert got == msgs and RESULTS.pop("synced") is True and RESULTS.pop("dict_at_first") == d.id
    async with serve_app(AuraMiddleware(burst_app(msgs, wait_synced=0.5), dictionary=d)) as base:
        uri = base.replace("http://", "ws://") + "/burst"
        # A client that never takes the dictionary: synced() gives up at its timeout with False.
        got, stats = await receive_all(uri, len(msgs), dictionary_cache=False, fetch="none")
        assert got == msgs and RESULTS.pop("synced") is False and RESULTS.pop("dict_at_first") is None


async def test_client_gets_only_the_methods_it_decodes(tmp_path: Path) -> None:
    msgs = load_corpus("json_github_webhooks", 60) + load_corpus("chat_ubuntu_irc", 100)
    async with serve_app(AuraMiddleware(burst_app(msgs))) as base:
        uri = base.replace("http://", "ws://") + "/burst"
        got, stats = await receive_all(uri, len(msgs), dictionary_cache=False, decodes={"zstd"})
        assert got == msgs
        assert set(stats["received"]["methods"]) <= {"raw", "zstd"}, stats["received"]["methods"]
        got, stats = await receive_all(uri, len(msgs), dictionary_cache=False)
        assert got == msgs and set(stats["received"]["methods"]) - {"raw", "zstd"}  # unrestricted: others too


async def test_short_session_does_not_fetch_a_dictionary_that_does_not_pay(tmp_path: Path) -> None:

    d = train_dictionary(load_corpus("market_coinbase", 1000), name="coinbase[:1000]")
    msgs = load_corpus("market_coinbase", 200, skip=4000)
    mw = AuraMiddleware(burst_app(msgs))
    # Announce a saving of 2 bytes per message: the coded dictionary needs thousands of messages to pay.
    mw.set_dictionary(d, saving_per_message=2.0)
    async with serve_app(mw) as base:
        uri = base.replace("http://", "ws://") + "/burst"
        got, stats = await receive_all(uri, len(msgs), dictionary_cache=tmp_path)
        assert got == msgs and stats["dictionary_id"] is None
        assert stats["control"]["received_bytes"] < 300  # HELLO only: nothing fetched
        # A generous saving: the client fetches once the traffic pays for the transfer.
        mw.set_dictionary(d, saving_per_message=500.0)
        got, stats = await receive_all(uri, len(msgs), dictionary_cache=tmp_path, wait=True)
        assert got == msgs and stats["dictionary_id"] == d.id


async def test_traffic_of_earlier_sessions_counts_towards_the_fetch(tmp_path: Path) -> None:
    """Three short sessions, none of which pays alone: the third fetches, as the spec's MAY allows (§6.8)."""
    d = small_dictionary()
    msgs = [f'{{"type":"message","room":"a","user":"alice","text":"hello world {i}"}}' for i in range(50)]
    mw = AuraMiddleware(burst_app(msgs))
    cache = DictionaryCache(tmp_path)
    # The in-band transfer costs about 180 bytes (97 Brotli-coded + CHUNK framing): at 1.5 bytes saved
    # per message, ~118 messages pay for it; each session carries 51 (50 down, "done" up).
    mw.set_dictionary(d, saving_per_message=1.5)
    async with serve_app(mw) as base:
        uri = base.replace("http://", "ws://") + "/burst"
        origin = base
        fetched: list[bool] = []
        for _ in range(4):
            got, stats = await receive_all(uri, len(msgs), dictionary_cache=cache, wait=len(fetched) == 2)
            assert got == msgs
            fetched.append(stats["dictionary_bytes"] > 0)
        assert fetched == [False, False, True, False], fetched  # the fourth is a returning client
        assert cache.get(d.id) == d and cache.traffic_for(origin) == 0  # reset once fetched
