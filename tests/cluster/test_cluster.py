"""Three uvicorn replicas sharing a real redis-server: broadcast, rollout, failover, Redis restart, cache reuse.

One cluster for the module (a redis-server and three ``uvicorn cluster_app:app``
processes on 127.0.0.1); the tests run in file order and each leaves the
cluster serving.  Every wait polls an observable condition with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import websockets
from _cluster import RedisServer, Replica, redis_or_skip, sample_messages, until

from aura_wire import Dictionary, train_dictionary
from aura_wire.client import connect
from aura_wire.client.cache import DictionaryCache


@dataclass
class Cluster:
    redis: RedisServer
    replicas: list[Replica]
    seed: Dictionary

    def redis_client(self) -> Any:
        import redis.asyncio as aioredis

        return aioredis.from_url(self.redis.url)


async def _adopt(url: str, d: Dictionary) -> None:
    from aura_wire.cluster.redis_store import RedisStore

    store = RedisStore(url)
    try:
        await store.adopt(d, origin="test")
    finally:
        await store.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Any:
    exe = redis_or_skip()
    work: Path = tmp_path_factory.mktemp("cluster")
    redis = RedisServer(exe, work)
    redis.start()
    seed = train_dictionary(sample_messages(60), templates=False)
    asyncio.run(_adopt(redis.url, seed))
    replicas = [Replica(f"r{i}", redis.url, work, AURA_TEST_MIN_IMPROVEMENT="-1") for i in (1, 2, 3)]
    try:
        for r in replicas:
            r.start()
        for r in replicas:
            r.wait_ready()
        yield Cluster(redis, replicas, seed)
    finally:
        for r in replicas:
            r.stop()
        redis.stop()


@contextlib.asynccontextmanager
async def clients(replicas: list[Replica], aura_per_replica: int, plain_per_replica: int,
                  **options: Any) -> AsyncIterator[tuple[list[Any], list[Any]]]:
    """Synced AURA clients and plain websocket clients on each replica, subscribed on the server."""
    before = [(await r.aget("/stats"))["subscribers"] for r in replicas]
    options.setdefault("dictionary_cache", False)
    options.setdefault("fetch", "inband")
    async with contextlib.AsyncExitStack() as stack:
        aura: list[Any] = []
        plain: list[Any] = []
        for r in replicas:
            for _ in range(aura_per_replica):
                c = await stack.enter_async_context(connect(r.ws, **options))
                assert await c.wait_synced(10)
                aura.append(c)
            for _ in range(plain_per_replica):
                plain.append(await stack.enter_async_context(websockets.connect(r.ws)))
        want = [b + aura_per_replica + plain_per_replica for b in before]

        async def subscribed() -> bool:
            return [(await r.aget("/stats"))["subscribers"] for r in replicas] == want
        await until(subscribed, 10, "every client subscribed on its replica")
        yield aura, plain


async def receive_all(conns: list[Any], n: int, timeout: float = 20.0) -> list[list[Any]]:
    async def one(c: Any) -> list[Any]:
        return [await asyncio.wait_for(c.recv(), timeout) for _ in range(n)]
    return list(await asyncio.gather(*(one(c) for c in conns)))


async def test_broadcast_reaches_every_client_on_all_replicas_encoded_once(cluster: Cluster) -> None:
    reps = cluster.replicas
    msgs = sample_messages(200, skip=100)
    before = [(await r.aget("/stats"))["broadcast_encodes"] for r in reps]
    async with clients(reps, 3, 1) as (aura, plain):
        assert {c.dictionary_id for c in aura} == {cluster.seed.id}
        await reps[0].apost("/publish", {"messages": msgs})
        for got in await receive_all(aura + plain, len(msgs)):
            assert got == msgs  # byte-exact and in order, AURA and plain clients alike
    after = [(await r.aget("/stats"))["broadcast_encodes"] for r in reps]
    encodes = [a - b for a, b in zip(after, before, strict=True)]
    assert sum(encodes) == len(msgs), encodes  # once per message for the whole cluster
    assert encodes[0] == len(msgs)


async def test_rollout_reaches_every_replica_and_open_connections_keep_theirs(cluster: Cluster) -> None:
    reps = cluster.replicas
    r = cluster.redis_client()
    try:
        old_id = (await r.get("aura:current")).decode()
        async with clients([reps[2]], 1, 0) as (old, _):
            assert old[0].dictionary_id == old_id
            # Traffic on replica 1 feeds the shared sample (echoed messages are sent by the app).
            async with clients([reps[0]], 1, 0) as (feeders, _):
                traffic = sample_messages(300, skip=300)
                for m in traffic:
                    await feeders[0].send(m)
                    assert await asyncio.wait_for(feeders[0].recv(), 10) == m

            async def sampled() -> bool:
                return int(await r.xlen("aura:samples")) >= 300
            await until(sampled, 10, "samples in the shared buffer")
            await reps[1].apost("/train", {})

            async def adopted() -> str | None:
                cur = (await r.get("aura:current")).decode()
                return cur if cur != old_id else None
            new_id = await until(adopted, 60, "a dictionary adopted by the trainer")
            t0 = time.monotonic()

            async def everywhere() -> bool:
                return all([(await x.aget("/_aura/dict/"))["current"] == new_id for x in reps])
            await until(everywhere, 10, "every replica announcing the new dictionary")
            print(f"adoption visible on all 3 replicas {time.monotonic() - t0:.3f} s after it was observed in Redis")
            # New connections on every replica get the new dictionary.
            async with clients(reps, 1, 0) as (fresh, _):
                assert [c.dictionary_id for c in fresh] == [new_id] * 3
                # The open connection kept the old one and still gets broadcasts right (re-encoded for it).
                msgs = sample_messages(20, skip=700)
                await reps[0].apost("/publish", {"messages": msgs})
                for got in await receive_all(fresh + old, len(msgs)):
                    assert got == msgs
            assert old[0].dictionary_id == old_id
    finally:
        await r.aclose()


async def test_replica_killed_mid_round_another_finishes_the_next(cluster: Cluster) -> None:
    reps = cluster.replicas
    r = cluster.redis_client()
    try:
        before = (await r.get("aura:current")).decode()
        async def r3_holds_lock() -> bool:
            v = await r.get("aura:lock:train")
            if v is None:
                await reps[2].apost("/train", {})  # (again: a lock left by the previous round may not have expired)
                return False
            owner: bytes = v
            return owner.startswith(b"r3/")
        await until(r3_holds_lock, 20, "replica 3 to take the trainer lock", interval=0.005)
        reps[2].kill()  # SIGKILL mid-round: it never releases the lock; the lock expires
        assert (await r.get("aura:current")).decode() == before

        async def r2_round() -> Any:
            stats = await reps[1].aget("/stats")
            done = [x for x in stats["rounds"] if x["time"] > t_kill]
            if done:
                return done[-1]
            await reps[1].apost("/train", {})  # refused while the dead replica's lock lives
            return None
        t_kill = time.time()
        rec = await until(r2_round, 60, "replica 2 to run the next round", interval=0.2)
        assert rec["replica"] == "r2" and rec["adopted"], rec
        cur = (await r.get("aura:current")).decode()
        assert cur == rec["adopted"] != before

        async def both() -> bool:
            return all([(await x.aget("/_aura/dict/"))["current"] == cur for x in reps[:2]])
        await until(both, 10, "the live replicas announcing the new dictionary")
    finally:
        await r.aclose()
    # The replica comes back and joins with the cluster's current dictionary.
    reps[2].start()
    reps[2].wait_ready()
    assert (await reps[2].aget("/_aura/dict/"))["current"] == cur


async def test_redis_restart_mid_stream_loses_no_message(cluster: Cluster) -> None:
    reps = cluster.replicas
    msgs = sample_messages(240, skip=500)
    async with clients(reps, 2, 1) as (aura, plain):
        held = {c.dictionary_id for c in aura}
        await reps[0].apost("/publish", {"messages": msgs[:80]})
        cluster.redis.stop()
        await reps[0].apost("/publish", {"messages": msgs[80:160]})  # queued for the other replicas
        # A new connection while Redis is down gets the dictionary its replica holds.
        async with connect(reps[1].ws, dictionary_cache=False, fetch="inband") as c:
            assert await c.wait_synced(10)
            assert c.dictionary_id in held
        cluster.redis.start()  # same port, empty: the replicas reconnect and keep their dictionaries
        await reps[0].apost("/publish", {"messages": msgs[160:]})
        for got in await receive_all(aura + plain, len(msgs), timeout=30):
            assert got == msgs

        async def reconnected() -> bool:
            return all([(await x.aget("/stats"))["connected"] for x in reps])
        await until(reconnected, 20, "every replica reconnected to Redis")
    assert all([(await x.aget("/_aura/dict/"))["current"] in held for x in reps])


async def test_reconnect_to_another_replica_reuses_the_cached_dictionary(cluster: Cluster, tmp_path: Path) -> None:
    reps = cluster.replicas
    cache = DictionaryCache(tmp_path)
    async with connect(reps[0].ws, dictionary_cache=cache, fetch="inband") as c:
        assert await c.wait_synced(10)
        first = c.dictionary_id
        downloaded = c.stats.control_bytes
    # fetch="none": the only way to hold the dictionary on replica 2 is the cache.
    async with connect(reps[1].ws, dictionary_cache=cache, fetch="none") as c:
        assert await c.wait_synced(10)
        assert c.dictionary_id == first is not None
        assert c.stats.control_bytes < downloaded / 10  # HELLO and USE only, no transfer


async def test_cluster_view_lists_every_replica(cluster: Cluster) -> None:
    reps = cluster.replicas

    async def three() -> Any:
        h = await reps[1].aget("/aura/health")
        return h if h["cluster"]["count"] == 3 and not h["cluster"]["stale"] else None
    h = await until(three, 10, "the cluster view to list three replicas")
    rows = h["cluster"]["replicas"]
    assert [row["replica"] for row in rows] == ["r1", "r2", "r3"]
    assert h["cluster"]["total"]["messages"] == sum(row["messages"] for row in rows)
    with contextlib.closing(__import__("urllib.request").request.urlopen(reps[0].http + "/aura/dashboard")) as resp:
        page = resp.read().decode()
    assert 'id="cluster-card"' in page and "renderCluster" in page
