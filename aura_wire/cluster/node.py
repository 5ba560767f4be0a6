"""ClusterNode: one replica's link to the cluster (the asyncio adapter between middleware and store).

A :class:`ClusterNode` runs beside an :class:`~aura_wire.middleware.AuraMiddleware`
in the server's event loop, with a backend that implements
:class:`ClusterBackend` (``aura_wire.cluster.redis_store.RedisStore``).  It
runs a few small loops, each of which survives the backend going away (it
logs, waits with a capped backoff, and resumes where it left off), while
the middleware keeps serving with the dictionaries it holds:

* **rollout**: follows adoption announcements (pub/sub), and polls the
  current id every ``poll_interval`` seconds as a safety net for
  announcements missed while disconnected; a new current dictionary is
  loaded from the store and handed to ``set_dictionary`` (new connections
  get it, open ones keep theirs, spec/session.md §6.7).
* **broadcast**: reads prepared broadcasts from the other replicas and hands
  them to ``middleware.deliver_prepared``; :meth:`publish` queues this
  replica's in a bounded outbox that a writer drains in order, in batches
  (a broadcast never waits for Redis; during an outage the outbox holds up
  to ``outbox_capacity`` messages, then drops the oldest, counted in
  ``dropped``).  Redis may lose what it accepted but no replica read yet
  (a restart without persistence): so the writer keeps what it published
  in the last ``replay_seconds`` (at most ``replay_capacity`` messages) and
  publishes it again after any backend failure; receivers drop what they
  have seen by (origin, seq), the origin being this node's run.
* **samples**: :meth:`sample` (called by the middleware for every
  non-sensitive message it sends) keeps at most ``sample_batch`` messages
  per ``sample_flush_interval`` with probability ``sample_rate``; a flusher
  appends them to the shared bounded buffer.
* **trainer** (when ``train_interval`` is set): every interval, try the
  trainer lock (``lock_ttl`` seconds, refreshed while the round runs); the
  holder trains on the shared samples with
  :func:`aura_wire.ops.worker.evaluate_round` in ``executor`` and adopts a
  winning candidate in the store (atomic with its announcement).  A
  replica that dies mid-round stops refreshing the lock; it expires and
  another replica takes the next round.
* **view**: every ``snapshot_interval`` seconds, write this replica's
  snapshot (expiry ``snapshot_ttl``) and read everyone's into the
  :func:`aura_wire.cluster.view.aggregate` that :meth:`view` returns.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import functools
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from aura_wire.cluster import bus
from aura_wire.cluster.view import aggregate, replica_snapshot
from aura_wire.codec.dictionary import Dictionary
from aura_wire.errors import AuraError, ConfigError
from aura_wire.ops.health import HealthTargets
from aura_wire.ops.storage import Store

if TYPE_CHECKING:
    from aura_wire.middleware.asgi import AuraMiddleware

__all__ = ["ClusterBackend", "ClusterNode", "default_replica_id"]

log = logging.getLogger("aura_wire.cluster")

#: Errors that mean "the backend is unreachable right now" (redis-py's errors are ConnectionError/OSError
#: subclasses or RedisError; the backend module adds its own error class to this tuple via ``transient``).
_TRANSIENT: tuple[type[BaseException], ...] = (OSError, ConnectionError, asyncio.TimeoutError)


def default_replica_id() -> str:
    """``<hostname>-<pid>``: unique per process on a host, readable in the dashboard."""
    return f"{socket.gethostname()}-{os.getpid()}"


class ClusterBackend(Store, Protocol):
    """What a node needs from its backend beyond the :class:`~aura_wire.ops.storage.Store` protocol."""

    async def add_samples(self, messages: list[str | bytes]) -> None: ...
    async def samples(self, limit: int) -> list[str | bytes]: ...
    async def acquire_lock(self, ttl: float, owner: str) -> str | None: ...
    async def refresh_lock(self, token: str, ttl: float) -> bool: ...
    async def release_lock(self, token: str) -> None: ...
    async def publish(self, packed: list[bytes]) -> None: ...
    async def last_broadcast_id(self) -> str: ...
    async def read_broadcasts(self, after: str, *, block: float = 1.0,
                              count: int = 512) -> list[tuple[str, bytes]]: ...
    def announcements(self) -> AsyncIterator[bytes]: ...
    async def put_snapshot(self, replica: str, snapshot: dict[str, Any], ttl: float) -> None: ...
    async def snapshots(self) -> list[dict[str, Any]]: ...
    async def close(self) -> None: ...


class ClusterNode:
    """One replica's cluster loops (see the module docstring)."""

    def __init__(
        self,
        middleware: AuraMiddleware,
        backend: ClusterBackend,
        *,
        replica_id: str | None = None,
        transient: tuple[type[BaseException], ...] = (),
        poll_interval: float = 2.0,
        snapshot_interval: float = 5.0,
        snapshot_ttl: float = 15.0,
        sample_rate: float = 1.0,
        sample_batch: int = 200,
        sample_flush_interval: float = 1.0,
        sample_capacity: int = 5000,
        max_sample_bytes: int = 64 * 1024,
        outbox_capacity: int = 10000,
        replay_seconds: float = 10.0,
        replay_capacity: int = 2000,
        train_interval: float | None = None,
        lock_ttl: float = 30.0,
        discovery: dict[str, Any] | None = None,
        executor: concurrent.futures.Executor | None = None,
        targets: HealthTargets | None = None,
    ) -> None:
        for name, v in (("poll_interval", poll_interval), ("snapshot_interval", snapshot_interval),
                        ("snapshot_ttl", snapshot_ttl), ("sample_flush_interval", sample_flush_interval),
                        ("lock_ttl", lock_ttl)):
            if not v > 0:
                raise ConfigError(f"cluster.{name} must be > 0, got {v!r}", field=f"cluster.{name}")
        if not 0.0 <= sample_rate <= 1.0:
            raise ConfigError("cluster.sample_rate must be in [0, 1]", field="cluster.sample_rate")
        if train_interval is not None and not train_interval > 0:
            raise ConfigError("cluster.train_interval must be > 0", field="cluster.train_interval")
        self.middleware = middleware
        self.backend = backend
        self.replica_id = replica_id or default_replica_id()
        #: Origin of this node's broadcasts: the replica and this run (a restarted replica starts its seq anew).
        self.instance = f"{self.replica_id}/{secrets.token_hex(4)}"
        self.replay_seconds = replay_seconds
        self.replay_capacity = replay_capacity
        self.transient = _TRANSIENT + tuple(transient)
        self.poll_interval = poll_interval
        self.snapshot_interval = snapshot_interval
        self.snapshot_ttl = snapshot_ttl
        self.sample_rate = sample_rate
        self.sample_batch = sample_batch
        self.sample_flush_interval = sample_flush_interval
        self.sample_capacity = sample_capacity
        self.max_sample_bytes = max_sample_bytes
        self.train_interval = train_interval
        self.lock_ttl = lock_ttl
        self.discovery: dict[str, Any] = {"min_message_count": 100, "holdout_fraction": 0.2,
                                          "min_improvement": 0.02, "messages_per_connection": 50,
                                          "train_options": {}, "codec": dict(middleware.codec_config)}
        if discovery:
            unknown = sorted(set(discovery) - set(self.discovery))
            if unknown:
                raise ConfigError(f"unknown discovery option(s): {', '.join(unknown)}", field=f"discovery.{unknown[0]}")
            self.discovery.update(discovery)
        self.executor = executor
        self.targets = targets
        # state
        self.connected = False
        self.dropped = 0
        self.published = 0
        self.received = 0
        self.bad_messages = 0
        self.rounds: list[dict[str, Any]] = []
        self.adoptions: list[tuple[float, str]] = []  # (time applied here, id)
        self._outbox: collections.deque[bytes] = collections.deque()
        self._seq = 0
        self._published: collections.deque[tuple[float, bytes]] = collections.deque(maxlen=max(1, replay_capacity))
        self._replay = False
        self._seen: dict[str, int] = {}  # origin -> last seq delivered here
        self.duplicates = 0
        self._outbox_capacity = outbox_capacity
        self._outbox_ready = asyncio.Event()
        self._samples: list[str | bytes] = []
        self._rng = random.Random()
        self._fetched: dict[str, Dictionary] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._view: dict[str, Any] | None = None
        self._started = False
        self._last_broadcast: str | None = None
        self._reading_since = time.time()  # broadcasts first published before this are not ours to deliver

    # -- hot path (called by the middleware) ---------------------------------
    def sample(self, message: str | bytes) -> None:
        """Offer a message the application sent (never a ``sensitive`` one) to the shared training buffer."""
        if len(self._samples) >= self.sample_batch or len(message) > self.max_sample_bytes:
            return
        if self.sample_rate < 1.0 and self._rng.random() >= self.sample_rate:
            return
        self._samples.append(message)

    def publish(self, channel: str, dictionary_id: str | None, message: str | bytes, frame: bytes) -> None:
        """Queue a prepared broadcast for the other replicas (never blocks; see the module docstring)."""
        if len(self._outbox) >= self._outbox_capacity:
            self._outbox.popleft()
            self.dropped += 1
        self._seq += 1
        self._outbox.append(bus.pack(bus.Prepared(self.instance, channel, dictionary_id, message, frame, self._seq,
                                                  time.time())))
        self._outbox_ready.set()

    # -- lifecycle ----------------------------------------------------------
    @property
    def started(self) -> bool:
        return self._started

    async def start(self, *, initial_timeout: float = 3.0) -> None:
        """Adopt the cluster's current dictionary (when Redis answers within ``initial_timeout``) and start the loops."""
        if self._started:
            return
        self._started = True
        try:
            cur = await asyncio.wait_for(self.backend.current_id(), initial_timeout)
            self.connected = True
            if cur is not None:
                await self._apply(cur)
            elif self.middleware.dictionary is not None:
                log.info("cluster store has no dictionary yet; this replica's stays local until one is adopted")
            self._last_broadcast = await asyncio.wait_for(self.backend.last_broadcast_id(), initial_timeout)
            self._reading_since = time.time()
        except self.transient as exc:
            log.warning("cluster store unreachable at start (%s); serving with the local dictionary", exc)
        loops: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("rollout", self._follow_announcements), ("poll", self._poll_current),
            ("broadcast-in", self._read_broadcasts), ("broadcast-out", self._write_broadcasts),
            ("samples", self._flush_samples), ("view", self._publish_snapshots)]
        if self.train_interval is not None:
            loops.append(("trainer", self._train_loop))
        for name, fn in loops:
            self._tasks.append(asyncio.get_running_loop().create_task(self._forever(name, fn),
                                                                      name=f"aura-cluster-{name}"))

    async def stop(self) -> None:
        """Cancel the loops, flush what the outbox holds (best effort), close the backend."""
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks = []
        if self._outbox:
            with contextlib.suppress(*self.transient, Exception):
                await asyncio.wait_for(self.backend.publish(list(self._outbox)), 2.0)
        with contextlib.suppress(*self.transient, Exception):
            await self.backend.close()
        self._started = False

    async def _forever(self, name: str, fn: Callable[[], Awaitable[None]]) -> None:
        """Run one loop; on a backend failure log, back off (0.05 s doubling to 2 s) and run it again."""
        delay = 0.05
        while True:
            try:
                await fn()
                delay = 0.05
            except asyncio.CancelledError:
                raise
            except self.transient as exc:
                if self.connected:
                    log.warning("cluster backend unreachable (%s loop): %s; retrying", name, exc)
                self.connected = False
                self._replay = True  # Redis may have lost broadcasts no replica has read yet
                self._outbox_ready.set()  # the writer replays them as soon as Redis answers
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            except Exception:
                log.exception("cluster %s loop failed; restarting it", name)
                await asyncio.sleep(1.0)

    # -- dictionaries -------------------------------------------------------
    async def fetch_dictionary(self, dict_id: str) -> Dictionary | None:
        """A dictionary by id from the store (cached here), for the dictionary endpoint's misses."""
        d = self._fetched.get(dict_id)
        if d is None:
            try:
                d = await self.backend.load_dictionary(dict_id)
            except self.transient:
                return None
            if d is not None:
                self._fetched[dict_id] = d
                while len(self._fetched) > 8:
                    self._fetched.pop(next(iter(self._fetched)))
        return d

    async def _apply(self, dict_id: str) -> bool:
        mw = self.middleware
        if mw.dictionary is not None and mw.dictionary.id == dict_id:
            return False
        d = mw.available_dictionaries().get(dict_id) or await self.fetch_dictionary(dict_id)
        if d is None:
            log.error("cluster announced dictionary %s but the store does not hold it (or it is corrupted)",
                      dict_id[:12])
            return False
        mw.set_dictionary(d)
        self.adoptions.append((time.time(), dict_id))
        del self.adoptions[:-32]
        log.info("cluster dictionary %s now announced to new connections", dict_id[:12])
        return True

    async def _follow_announcements(self) -> None:
        async for raw in self.backend.announcements():
            self.connected = True
            try:
                msg = bus.unpack(raw)
            except AuraError as exc:
                self.bad_messages += 1
                log.error("dropped a malformed cluster announcement: %s", exc)
                continue
            if isinstance(msg, bus.Adopted):
                await self._apply(msg.dictionary_id)

    async def _poll_current(self) -> None:
        while True:
            cur = await self.backend.current_id()
            self.connected = True
            if cur is not None:
                await self._apply(cur)
            await asyncio.sleep(self.poll_interval)

    # -- broadcast ----------------------------------------------------------
    async def _read_broadcasts(self) -> None:
        if self._last_broadcast is None:
            self._last_broadcast = await self.backend.last_broadcast_id()
            self._reading_since = time.time()
        while True:
            rows = await self.backend.read_broadcasts(self._last_broadcast, block=1.0)
            self.connected = True
            for rid, raw in rows:
                self._last_broadcast = rid
                try:
                    msg = bus.unpack(raw)
                except AuraError as exc:
                    self.bad_messages += 1
                    log.error("dropped a malformed cluster broadcast: %s", exc)
                    continue
                if isinstance(msg, bus.Prepared) and msg.origin != self.instance:
                    last = self._seen.get(msg.origin, 0)
                    if msg.seq <= last or msg.time < self._reading_since:
                        self.duplicates += 1  # republished after a failure, or a retried batch
                        continue
                    self._seen[msg.origin] = msg.seq
                    if len(self._seen) > 256:
                        self._seen.pop(next(iter(self._seen)))
                    self.received += 1
                    await self.middleware.deliver_prepared(msg)
                    await asyncio.sleep(0)  # a batch of up to 512 messages must not hold the loop

    async def _write_broadcasts(self) -> None:
        while True:
            if not self._outbox and not self._replay:
                self._outbox_ready.clear()
                await self._outbox_ready.wait()
            if self._replay:
                horizon = time.monotonic() - self.replay_seconds
                again = [p for t, p in self._published if t >= horizon]
                if again:
                    await self.backend.publish(again)  # receivers drop the ones they have
                self._replay = False
            batch = [self._outbox[i] for i in range(min(256, len(self._outbox)))]
            if not batch:
                continue
            try:
                await self.backend.publish(batch)  # on failure the batch stays queued, in order
            except self.transient:
                self._replay = True  # part of the batch may have reached Redis before the failure
                raise
            now = time.monotonic()
            for p in batch:
                self._outbox.popleft()
                self._published.append((now, p))
            self.published += len(batch)
            self.connected = True

    # -- samples and training ----------------------------------------------
    async def _flush_samples(self) -> None:
        while True:
            await asyncio.sleep(self.sample_flush_interval)
            batch, self._samples = self._samples, []
            if batch:
                await self.backend.add_samples(batch)

    async def _train_loop(self) -> None:
        assert self.train_interval is not None
        while True:
            await asyncio.sleep(self.train_interval)
            await self.train_round()

    async def train_round(self) -> dict[str, Any] | None:
        """One trainer round, if this replica gets the lock; returns what it did (None: another holds it)."""
        from aura_wire.ops.worker import evaluate_round

        token = await self.backend.acquire_lock(self.lock_ttl, self.replica_id)
        if token is None:
            return None
        keeper = asyncio.get_running_loop().create_task(self._keep_lock(token))
        try:
            data = await self.backend.samples(self.sample_capacity)
            current = self.middleware.dictionary
            call = functools.partial(evaluate_round, data, current.to_bytes() if current is not None else None,
                                     seed=len(self.rounds), **self.discovery)
            res, blob = await asyncio.get_running_loop().run_in_executor(self.executor, call)
            adopted = None
            if blob is not None:
                if not await self.backend.refresh_lock(token, self.lock_ttl):
                    log.warning("trainer lock lost during the round; candidate %s dropped", (res.candidate_id or "")[:12])
                else:
                    cand = Dictionary.from_bytes(blob)
                    await self.backend.adopt(cand, origin=self.replica_id)
                    await self._apply(cand.id)
                    adopted = cand.id
            rec = {"time": time.time(), "replica": self.replica_id, "adopted": adopted, "reason": res.reason,
                   "samples": res.samples, "seconds": round(res.seconds, 3)}
            self.rounds.append(rec)
            del self.rounds[:-32]
            return rec
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            with contextlib.suppress(*self.transient):
                await self.backend.release_lock(token)

    async def _keep_lock(self, token: str) -> None:
        while True:
            await asyncio.sleep(self.lock_ttl / 3)
            with contextlib.suppress(*self.transient):
                if not await self.backend.refresh_lock(token, self.lock_ttl):
                    return

    # -- operators' view ----------------------------------------------------
    def local_snapshot(self) -> dict[str, Any]:
        extra = {"cluster": {"connected": self.connected, "published": self.published, "received": self.received,
                             "dropped": self.dropped, "duplicates": self.duplicates, "outbox": len(self._outbox),
                             "last_adoption": self.adoptions[-1][0] if self.adoptions else None}}
        return replica_snapshot(self.replica_id, self.middleware.metrics_snapshot(per_connection=False), extra=extra)

    async def _publish_snapshots(self) -> None:
        while True:
            await self.backend.put_snapshot(self.replica_id, self.local_snapshot(), self.snapshot_ttl)
            self._view = aggregate(await self.backend.snapshots(), self.targets)
            self.connected = True
            await asyncio.sleep(self.snapshot_interval)

    def view(self) -> dict[str, Any]:
        """The last cluster aggregate (``stale`` is True when it is this replica alone: store unreachable)."""
        if self._view is None or not self.connected:
            v = aggregate([self.local_snapshot()], self.targets)
            v["stale"] = True
            return v
        v = dict(self._view)
        v["stale"] = False
        return v
