"""aura_wire.client against real servers: fallbacks, fetch modes, cache hits, stale and corrupted caches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK

from aura_wire.client import DictionaryCache, connect
from aura_wire.errors import ConfigError
from aura_wire.middleware import AuraMiddleware
from conftest import TEST_CODEC, count_bytes, port_of, serve_app, small_dictionary

CC = TEST_CODEC
MSG = '{"type":"message","room":"a","user":"alice","text":"hello world"}'


async def echo(ws: WebSocket) -> None:
    protos = ws.scope.get("subprotocols") or []
    await ws.accept(subprotocol="chat" if "chat" in protos else None)  # the protocols this app speaks
    async for m in ws.iter_text():
        await ws.send_text(m)


async def greet_and_close(ws: WebSocket) -> None:
    await ws.accept()
    for i in range(3):
        await ws.send_text(f"greeting {i}")
    await ws.close()


INNER = Starlette(routes=[WebSocketRoute("/echo", echo), WebSocketRoute("/greet", greet_and_close)])


def url(base: str, path: str = "/echo") -> str:
    return base.replace("http://", "ws://") + path


async def roundtrip(c: Any, n: int = 3) -> None:
    for i in range(n):
        await c.send(f"{MSG} {i}")
        assert await c.recv() == f"{MSG} {i}"


async def test_server_without_aura_gives_a_plain_connection(tmp_path: Path) -> None:
    async with serve_app(INNER) as base:
        async with connect(url(base), dictionary_cache=tmp_path, **CC) as c:
            assert not c.aura and c.subprotocol is None
            await roundtrip(c)
            assert c.stats.sent_raw_bytes == c.stats.sent_wire_bytes > 0
            assert await c.wait_synced(1) is False
        async with connect(url(base), subprotocols=["chat"], dictionary_cache=tmp_path, **CC) as c:
            assert not c.aura and c.subprotocol == "chat"  # the plain fallback offer was selected
            await roundtrip(c, 1)


@pytest.mark.parametrize("fetch", ["inband", "http", "auto"])
async def test_fetch_then_cache_hit(tmp_path: Path, fetch: str) -> None:
    d = small_dictionary()
    cache = DictionaryCache(tmp_path)
    async with serve_app(AuraMiddleware(INNER, dictionary=d, **CC)) as base:
        async with connect(url(base), dictionary_cache=cache, fetch=fetch, **CC) as c:
            assert await c.wait_synced(5)
            await roundtrip(c)
            first_control = c.stats.control_bytes
        assert cache.get(d.id) == d
        async with connect(url(base), dictionary_cache=cache, fetch="none", **CC) as c:
            assert await c.wait_synced(5) and c.dictionary_id == d.id
            await roundtrip(c)
            assert c.stats.control_bytes < 200  # HELLO + two USE: no transfer this time
    if fetch == "inband":
        from aura_wire.session.transfer import coded_form

        assert len(coded_form(d, "br")) < first_control < len(d)  # the transfer travelled Brotli-coded
    else:
        assert first_control < 200  # the dictionary came over HTTP


async def test_no_fetch_stays_dictionary_free(tmp_path: Path) -> None:
    async with serve_app(AuraMiddleware(INNER, dictionary=small_dictionary(), **CC)) as base:
        async with connect(url(base), dictionary_cache=tmp_path, fetch="none", **CC) as c:
            assert c.aura and await c.wait_synced(5) is False
            await roundtrip(c)
            assert c.dictionary_id is None


async def test_stale_dictionary_in_cache_gets_the_new_one(tmp_path: Path) -> None:
    old, new = small_dictionary("old"), small_dictionary("new")
    cache = DictionaryCache(tmp_path)
    cache.put(old)
    async with serve_app(AuraMiddleware(INNER, dictionary=new, **CC)) as base:
        async with connect(url(base), dictionary_cache=cache, **CC) as c:
            assert await c.wait_synced(5) and c.dictionary_id == new.id
            await roundtrip(c)
    assert cache.get(new.id) == new and cache.get(old.id) == old


async def test_corrupted_cache_entry_is_detected_and_refetched(tmp_path: Path) -> None:
    d = small_dictionary()
    cache = DictionaryCache(tmp_path)
    cache.put(d)
    path = cache.path_for(d.id)
    raw = bytearray(path.read_bytes())
    raw[20] ^= 0xFF
    path.write_bytes(bytes(raw))
    async with serve_app(AuraMiddleware(INNER, dictionary=d, **CC)) as base:
        async with connect(url(base), dictionary_cache=cache, **CC) as c:
            assert await c.wait_synced(5) and c.dictionary_id == d.id
            await roundtrip(c)
    assert cache.corrupted == 1 and cache.get(d.id) == d


async def test_async_iteration_ends_on_normal_close(tmp_path: Path) -> None:
    async with serve_app(AuraMiddleware(INNER, dictionary=small_dictionary(), **CC)) as base:
        async with connect(url(base, "/greet"), dictionary_cache=tmp_path, **CC) as c:
            assert [m async for m in c] == ["greeting 0", "greeting 1", "greeting 2"]
            with pytest.raises(ConnectionClosedOK):
                await c.recv()


async def test_sensitive_send_and_stats(tmp_path: Path) -> None:
    async with serve_app(AuraMiddleware(INNER, dictionary=small_dictionary(), **CC)) as base:
        async with connect(url(base), dictionary_cache=tmp_path, **CC) as c:
            assert await c.wait_synced(5)
            await c.send("password=hunter2", sensitive=True)
            assert await c.recv() == "password=hunter2"
            await roundtrip(c, 5)
            s = c.stats
            assert s.sent_messages == 6 and s.received_messages == 6
            assert s.sent_raw_bytes == len("password=hunter2") + sum(len(f"{MSG} {i}") for i in range(5))
            assert sum(s.sent_methods.values()) == 6
            assert s.as_dict()["aura"] is True


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        connect("ws://127.0.0.1:1/", fetch="carrier-pigeon")
    with pytest.raises(ConfigError):
        connect("ws://127.0.0.1:1/", zstd_level=1000)


async def test_corrupted_inband_transfer_is_rejected_by_hash(tmp_path: Path) -> None:
    """A byte of the dictionary flipped on the wire (server frames are unmasked): the client refuses it."""

    def flip(data: bytes) -> bytes:
        at = data.find(b"AURD\x01\x00")
        if at < 0 or at + 60 >= len(data):
            return data
        out = bytearray(data)
        out[at + 60] ^= 0x20
        return bytes(out)

    d = small_dictionary()
    cache = DictionaryCache(tmp_path)
    async with serve_app(AuraMiddleware(INNER, dictionary=d, **CC)) as base:
        async with count_bytes(port_of(base), alter_downstream=flip) as proxy:
            async with connect(f"ws://127.0.0.1:{proxy.port}/echo", dictionary_cache=cache, transfer_codings=(),
                               **CC) as c:  # uncoded transfer: the flip lands inside the dictionary bytes
                assert c.aura
                assert await c.wait_synced(5) is False
                with pytest.raises(ConnectionClosedError) as info:
                    await c.recv()
                assert info.value.sent is not None and info.value.sent.code == 1007
                assert "SHA-256" in info.value.sent.reason
    assert cache.entries() == []  # nothing unverified reaches the cache
