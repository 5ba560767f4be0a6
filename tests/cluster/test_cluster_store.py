"""The store protocol's two backends, the Redis bus primitives, bus messages, the cluster view and [cluster].

Redis tests run against a real redis-server on 127.0.0.1 (skipped, with the
reason, only when it is not installed).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgpack
import pytest
from _cluster import RedisServer, redis_or_skip, until
from conftest import serve_app, small_dictionary
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from aura_wire.cluster import bus
from aura_wire.cluster.view import aggregate, replica_snapshot
from aura_wire.errors import ConfigError, FrameError
from aura_wire.metrics import CompressionMetrics
from aura_wire.ops.config import ClusterConfig, OpsConfig
from aura_wire.ops.storage import FolderStore, Store

if TYPE_CHECKING:  # imported inside the fixture: the module needs redis-py
    from aura_wire.cluster.redis_store import RedisStore


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = RedisServer(redis_or_skip(), tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


_n = 0


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[RedisStore]:
    from aura_wire.cluster.redis_store import RedisStore

    global _n
    _n += 1
    s = RedisStore(redis_server.url, prefix=f"t{_n}", keep=2, sample_capacity=100)
    yield s
    await s.close()


# -- folder backend -------------------------------------------------------------
async def test_folder_store_implements_the_store_protocol(tmp_path: Path) -> None:
    fs = FolderStore(tmp_path, keep=2)
    assert isinstance(fs, Store)
    a, b, c = small_dictionary("a"), small_dictionary("b"), small_dictionary("c")
    assert await fs.current_id() is None
    for d in (a, b, c):
        await fs.adopt(d, origin="x")
    assert await fs.version_ids() == [b.id, c.id]
    assert await fs.current_id() == c.id
    assert await fs.load_dictionary(c.id) == c
    assert await fs.load_dictionary(a.id) is None  # pruned with its file
    assert not (tmp_path / f"{a.id}.aura").exists()


# -- Redis backend --------------------------------------------------------------
async def test_redis_adopt_is_atomic_with_its_announcement_and_prunes(store: RedisStore) -> None:
    assert isinstance(store, Store)
    a, b, c = small_dictionary("a"), small_dictionary("b"), small_dictionary("c")
    got: list[bytes] = []

    async def listen() -> None:
        async for raw in store.announcements():
            got.append(raw)
    task = asyncio.create_task(listen())
    try:
        async def subscribed() -> bool:
            return int((await store._redis.pubsub_numsub(store.k_events))[0][1]) > 0
        await until(subscribed, 5, "the announcement subscription")
        for d in (a, b, c):
            await store.adopt(d, origin="r9")
        await until(lambda: asyncio.sleep(0, len(got) == 3), 5, "three announcements")
    finally:
        task.cancel()
    assert [bus.unpack(m) for m in got] == [bus.Adopted("r9", d.id) for d in (a, b, c)]
    assert await store.version_ids() == [b.id, c.id]
    assert await store.current_id() == c.id
    assert await store.load_dictionary(c.id) == c
    assert await store.load_dictionary(a.id) is None
    assert not await store._redis.exists(f"{store.prefix}:dict:{a.id}")
    # A corrupted blob is refused (the id is the SHA-256 of the bytes).
    await store._redis.set(f"{store.prefix}:dict:{b.id}", b.to_bytes()[:-1] + b"x")
    assert await store.load_dictionary(b.id) is None


async def test_redis_lock_expires_and_only_its_owner_refreshes_or_releases(store: RedisStore) -> None:
    t1 = await store.acquire_lock(0.3, "r1")
    assert t1 is not None and t1.startswith("r1/")
    assert await store.acquire_lock(5, "r2") is None
    assert await store.lock_owner() == "r1"
    assert await store.refresh_lock("r2/bogus", 5) is False
    await store.release_lock("r2/bogus")
    assert await store.lock_owner() == "r1"
    # r1 "dies": nobody refreshes; the lock expires and r2 takes it.
    t2 = await until(lambda: store.acquire_lock(5, "r2"), 5, "the lock to expire", interval=0.05)
    assert await store.refresh_lock(t1, 5) is False
    await store.release_lock(t1)
    assert await store.lock_owner() == "r2"
    assert t2 is not None
    await store.release_lock(t2)
    assert await store.lock_owner() is None


async def test_redis_samples_are_bounded_and_keep_their_type(store: RedisStore) -> None:
    await store.add_samples([f"m{i}" for i in range(1000)] + [b"\x00\xffbin"])
    n = int(await store._redis.xlen(store.k_samples))
    assert n <= 100 + 100  # MAXLEN ~ 100: trimmed in whole stream nodes (100 entries each by default)
    got = await store.samples(10)
    assert got == [f"m{i}" for i in range(991, 1000)] + [b"\x00\xffbin"]


async def test_redis_broadcast_stream_reads_on_from_the_last_entry(store: RedisStore) -> None:
    start = await store.last_broadcast_id()
    p = [bus.pack(bus.Prepared("r1", "news", None, f"x{i}", b"\x40x")) for i in range(3)]
    await store.publish(p)
    rows = await store.read_broadcasts(start, block=0.5)
    assert [raw for _, raw in rows] == p
    assert await store.read_broadcasts(rows[-1][0], block=0.05) == []


async def test_redis_snapshots_expire(store: RedisStore) -> None:
    await store.put_snapshot("a", {"replica": "a"}, ttl=30)
    await store.put_snapshot("b", {"replica": "b"}, ttl=0.2)
    assert sorted(s["replica"] for s in await store.snapshots()) == ["a", "b"]

    async def only_a() -> bool:
        return [s["replica"] for s in await store.snapshots()] == ["a"]
    await until(only_a, 5, "b's snapshot to expire", interval=0.05)


# -- sensitive messages never reach the shared sample ---------------------------
async def test_sensitive_messages_are_never_sampled(redis_server: RedisServer) -> None:
    from aura_wire.client import connect
    from aura_wire.middleware.asgi import AuraMiddleware

    async def ws(w: WebSocket) -> None:
        await w.accept()
        await w.send({"type": "websocket.send", "text": "secret-token-123", "aura.sensitive": True})
        await w.send_text("public message")
        await w.receive()

    mw = AuraMiddleware(Starlette(routes=[WebSocketRoute("/ws", ws)]))
    node = mw.enable_cluster(redis_server.url, prefix="sens", replica_id="s1", sample_flush_interval=0.05)
    try:
        async with serve_app(mw) as base, connect(base.replace("http", "ws") + "/ws", dictionary_cache=False) as c:
            assert [await c.recv(), await c.recv()] == ["secret-token-123", "public message"]

            async def sampled() -> list[Any]:
                return list(await node.backend.samples(100))
            got = await until(sampled, 5, "the public message in the shared sample")
            assert got == ["public message"]
    finally:
        await node.stop()


# -- bus messages ---------------------------------------------------------------
@pytest.mark.parametrize("msg", [
    bus.Prepared("r1/5f3a", "news", "ab" * 32, "héllo", b"\x61frame", 7, 1764000000.25),
    bus.Prepared("r2", "", None, b"\x00\x01", b"\x40"),
    bus.Adopted("r3", "cd" * 32),
])
def test_bus_messages_round_trip(msg: Any) -> None:
    assert bus.unpack(bus.pack(msg)) == msg


@pytest.mark.parametrize("data, field", [
    (b"\xc1", "bus"),
    (b"\x92\x02\x01", "bus.version"),
    (b"\x93\x01\x09\xa1x", "bus.kind"),
    (msgpack.packb([1, 1, "r", "c", "", True, b"m", b"", 1, 0.0]), "bus.frame"),
    (msgpack.packb([1, 1, "r", "c", "", True, b"m", b"\x40", -1, 0.0]), "bus.seq"),
    (msgpack.packb([1, 1, "r", "c", "", True, b"m", b"\x40", "1", 0.0]), "bus.seq"),
    (msgpack.packb([1, 1, "r", "c", "", True, b"m", b"\x40", 1, 5]), "bus.time"),
])
def test_bus_refuses_malformed_messages(data: bytes, field: str) -> None:
    with pytest.raises(FrameError) as ei:
        bus.unpack(data)
    assert ei.value.field == field


# -- the cluster view -----------------------------------------------------------
def _mw_snapshot(messages: int, original: int, wire: int, dictionary: str | None, open_: int,
                 pending: int = 0) -> dict[str, Any]:
    m = CompressionMetrics()
    for _ in range(messages):
        m.record("zstd", original // messages, wire // messages, 1e-4, False)
    return {"total": m.snapshot(), "broadcast": {"messages": 1}, "dictionary": dictionary,
            "connections": {"open": open_, "open_aura": open_, "pending": pending,
                            "total": open_ + pending, "total_aura": open_}}


def test_view_aggregates_counters_and_flags_a_rollout() -> None:
    snaps = [replica_snapshot("b", _mw_snapshot(200, 20000, 5000, "d1", 3, pending=1), now=100.0),
             replica_snapshot("a", _mw_snapshot(100, 10000, 2000, "d2", 2, pending=4), now=99.0)]
    v = aggregate(snaps, now=101.0)
    assert [r["replica"] for r in v["replicas"]] == ["a", "b"]
    assert v["total"]["messages"] == 300 and v["total"]["original_bytes"] == 30000
    assert v["total"]["wire_bytes"] == 7000
    assert v["connections"]["open"] == 5 and v["broadcast_encodes"] == 2
    assert v["connections"]["pending"] == 5 and v["connections"]["total"] == 10  # handshakes in progress
    assert v["dictionaries"] == {"d1": 1, "d2": 1}  # two dictionaries: a rollout in progress
    assert v["replicas"][0]["age_seconds"] == 2.0 and v["replicas"][0]["ratio"] == 5.0


# -- configuration --------------------------------------------------------------
def test_cluster_config_from_toml_table() -> None:
    cfg = OpsConfig.from_mapping({"cluster": {"url": "redis://10.0.0.5:6379/1", "lock_ttl": 10}})
    assert cfg.cluster.url == "redis://10.0.0.5:6379/1" and cfg.cluster.lock_ttl == 10
    assert OpsConfig().cluster.url == ""
    with pytest.raises(ConfigError) as ei:
        OpsConfig.from_mapping({"cluster": {"url": "http://x"}})
    assert ei.value.field == "cluster.url"
    with pytest.raises(ConfigError) as ei:
        OpsConfig.from_mapping({"cluster": {"urll": "redis://x"}})
    assert ei.value.field == "cluster.urll"
    with pytest.raises(ConfigError) as ei:
        ClusterConfig(sample_rate=2.0)
    assert ei.value.field == "cluster.sample_rate"


def test_make_cluster_is_off_without_a_url() -> None:
    from aura_wire.middleware.asgi import AuraMiddleware

    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never called
        raise AssertionError

    off = AuraMiddleware(app)
    assert OpsConfig().make_cluster(off) is None and off.cluster is None
    mw = AuraMiddleware(app)
    node = OpsConfig.from_mapping({"cluster": {"url": "redis://127.0.0.1:1/0", "replica_id": "x"},
                                   "discovery": {"enabled": True, "interval": 60.0}}).make_cluster(mw)
    assert node is not None and mw.cluster is node
    assert node.replica_id == "x" and node.train_interval == 60.0


async def test_dictionary_endpoint_serves_a_kept_version_from_the_store(redis_server: RedisServer) -> None:
    import httpx

    from aura_wire.cluster.redis_store import RedisStore
    from aura_wire.middleware.asgi import AuraMiddleware

    a, b = small_dictionary("p"), small_dictionary("q")
    seed = RedisStore(redis_server.url, prefix="miss", keep=3)
    await seed.adopt(a)
    await seed.adopt(b)
    await seed.close()
    mw = AuraMiddleware(Starlette(routes=[]))
    node = mw.enable_cluster(redis_server.url, prefix="miss", replica_id="m1")
    try:
        async with serve_app(mw) as base, httpx.AsyncClient(base_url=base) as http:
            listing = (await http.get("/_aura/dict/")).json()  # the first request starts the node
            assert listing["current"] == b.id and a.id not in [x["id"] for x in listing["dictionaries"]]
            r = await http.get(f"/_aura/dict/{a.id}")  # never held here: loaded from the store
            assert r.status_code == 200 and r.content == a.to_bytes()
            assert (await http.get("/_aura/dict/" + "0" * 64)).status_code == 404
    finally:
        await node.stop()
