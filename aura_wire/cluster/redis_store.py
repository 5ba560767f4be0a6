"""The Redis backend of the store protocol and of the cluster bus (redis-py, asyncio).

The only module of aura_wire that talks to Redis; install it with the extra
``aura_wire[redis]``.  Keys, under a configurable ``prefix`` (default
``aura``)::

    {p}:dict:<id>        dictionary blob (content-addressed; dropped when it leaves the kept versions)
    {p}:versions         list of adopted ids, oldest first (the last ``keep``)
    {p}:current          id of the current dictionary
    {p}:events           pub/sub channel: adoption announcements (bus.Adopted)
    {p}:broadcast        stream of prepared broadcasts (bus.Prepared), MAXLEN ~ broadcast_maxlen
    {p}:samples          stream of training samples, MAXLEN ~ sample_capacity
    {p}:lock:train       the trainer lock: a random token, with an expiry
    {p}:replica:<id>     a replica's metrics snapshot (JSON), with an expiry

Adoption is one Lua script (blob, version list, current id, pruning and the
announcement in one atomic step), so no reader sees a current id whose
blob is missing, and the announcement never precedes the data.  Broadcasts
go through a stream rather than pub/sub: a replica reads on from the last
entry it saw, so a subscriber that reconnects after a Redis restart does not
lose what was published meanwhile (stream ids are times, so they keep
increasing across a restart of a Redis that lost its data).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

try:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("the Redis store needs redis-py: pip install 'aura_wire[redis]'") from exc

from aura_wire.cluster import bus
from aura_wire.codec.dictionary import Dictionary
from aura_wire.errors import AuraError, ConfigError

__all__ = ["RedisError", "RedisStore"]

_ADOPT = """
redis.call('SET', ARGV[4] .. ARGV[1], ARGV[2])
redis.call('LREM', KEYS[1], 0, ARGV[1])
redis.call('RPUSH', KEYS[1], ARGV[1])
local n = redis.call('LLEN', KEYS[1])
local keep = tonumber(ARGV[3])
while n > keep do
  local old = redis.call('LPOP', KEYS[1])
  if old ~= ARGV[1] then redis.call('DEL', ARGV[4] .. old) end
  n = n - 1
end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('PUBLISH', KEYS[3], ARGV[5])
return n
"""

_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisStore:
    """Store protocol (:class:`aura_wire.ops.storage.Store`) plus the cluster bus, on one Redis server.

    ``RedisStore("redis://127.0.0.1:6379/0", prefix="aura", keep=5)``.  Every
    method raises :class:`RedisError` (re-exported here) when Redis cannot be
    reached; the cluster node catches it, keeps serving with what it holds,
    and retries.
    """

    def __init__(self, url: str, *, prefix: str = "aura", keep: int = 5, sample_capacity: int = 5000,
                 broadcast_maxlen: int = 10000, socket_timeout: float = 5.0) -> None:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"cluster url must start with redis://, rediss:// or unix://, got {url!r}",
                              field="cluster.url")
        if keep < 1:
            raise ConfigError("keep must be >= 1", field="keep_versions")
        self.url = url
        self.prefix = prefix
        self.keep = keep
        self.sample_capacity = sample_capacity
        self.broadcast_maxlen = broadcast_maxlen
        opts: dict[str, Any] = {"socket_connect_timeout": socket_timeout, "health_check_interval": 10}
        # Typed Any: redis-py annotates replies as bytes | str (for decode_responses=True); ours are bytes.
        self._redis: Any = aioredis.from_url(url, socket_timeout=socket_timeout, **opts)
        # Blocking reads (XREAD BLOCK, pub/sub; they block for at most 1 s) get their own connections,
        # with a longer read timeout: a busy event loop must not turn a slow reply into a reconnect.
        self._blocking: Any = aioredis.from_url(url, socket_timeout=socket_timeout + 10, **opts)
        self._adopt = self._redis.register_script(_ADOPT)
        self._refresh = self._redis.register_script(_REFRESH)
        self._release = self._redis.register_script(_RELEASE)
        self.k_versions = f"{prefix}:versions"
        self.k_current = f"{prefix}:current"
        self.k_events = f"{prefix}:events"
        self.k_broadcast = f"{prefix}:broadcast"
        self.k_samples = f"{prefix}:samples"
        self.k_lock = f"{prefix}:lock:train"

    def _k_dict(self, dict_id: str) -> str:
        return f"{self.prefix}:dict:{dict_id}"

    async def close(self) -> None:
        await self._redis.aclose()
        await self._blocking.aclose()

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    # -- the Store protocol -------------------------------------------------
    async def load_dictionary(self, dict_id: str) -> Dictionary | None:
        data = await self._redis.get(self._k_dict(dict_id))
        if data is None:
            return None
        try:
            return Dictionary.from_bytes(data, expected_id=dict_id)
        except AuraError:
            return None  # a corrupted blob is as good as a missing one: the caller keeps what it holds

    async def adopt(self, dictionary: Dictionary, *, origin: str = "") -> None:
        msg = bus.pack(bus.Adopted(origin, dictionary.id))
        await self._adopt(keys=[self.k_versions, self.k_current, self.k_events],
                          args=[dictionary.id, dictionary.to_bytes(), self.keep, f"{self.prefix}:dict:", msg])

    async def current_id(self) -> str | None:
        v = await self._redis.get(self.k_current)
        return v.decode("ascii") if v is not None else None

    async def version_ids(self) -> list[str]:
        return [v.decode("ascii") for v in await self._redis.lrange(self.k_versions, 0, -1)]

    # -- training samples ---------------------------------------------------
    async def add_samples(self, messages: list[str | bytes]) -> None:
        """Append samples to the shared buffer (bounded: MAXLEN ~ ``sample_capacity``)."""
        if not messages:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for m in messages:
                fields: dict[str | bytes, bytes | str] = (
                    {"t": m} if isinstance(m, str) else {"b": m})
                pipe.xadd(self.k_samples, fields, maxlen=self.sample_capacity, approximate=True)
            await pipe.execute()

    async def samples(self, limit: int) -> list[str | bytes]:
        """The newest ``limit`` samples, oldest first."""
        rows = await self._redis.xrevrange(self.k_samples, count=limit)
        out: list[str | bytes] = []
        for _id, fields in reversed(rows):
            if b"t" in fields:
                try:
                    out.append(fields[b"t"].decode("utf-8"))
                except UnicodeDecodeError:
                    continue
            elif b"b" in fields:
                out.append(bytes(fields[b"b"]))
        return out

    # -- the trainer lock ---------------------------------------------------
    async def acquire_lock(self, ttl: float, owner: str) -> str | None:
        """Take the trainer lock for ``ttl`` seconds; returns its token, or None when another holds it."""
        token = f"{owner}/{secrets.token_hex(8)}"
        ok = await self._redis.set(self.k_lock, token, nx=True, px=max(1, int(ttl * 1000)))
        return token if ok else None

    async def refresh_lock(self, token: str, ttl: float) -> bool:
        return bool(await self._refresh(keys=[self.k_lock], args=[token, max(1, int(ttl * 1000))]))

    async def release_lock(self, token: str) -> None:
        await self._release(keys=[self.k_lock], args=[token])

    async def lock_owner(self) -> str | None:
        v = await self._redis.get(self.k_lock)
        return v.decode("utf-8").split("/", 1)[0] if v is not None else None

    # -- broadcast stream ---------------------------------------------------
    async def publish(self, packed: list[bytes]) -> None:
        """Append prepared broadcasts (``bus.pack``) to the stream, in order, in one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for p in packed:
                pipe.xadd(self.k_broadcast, {"m": p}, maxlen=self.broadcast_maxlen, approximate=True)
            await pipe.execute()

    async def last_broadcast_id(self) -> str:
        """The id of the newest stream entry ("0-0" when empty): where a new reader starts."""
        rows = await self._redis.xrevrange(self.k_broadcast, count=1)
        return rows[0][0].decode("ascii") if rows else "0-0"

    async def read_broadcasts(self, after: str, *, block: float = 1.0,
                              count: int = 512) -> list[tuple[str, bytes]]:
        """Entries after ``after`` (waiting up to ``block`` seconds for the first), oldest first."""
        got = await self._blocking.xread({self.k_broadcast: after}, count=count, block=max(1, int(block * 1000)))
        out: list[tuple[str, bytes]] = []
        for _key, rows in got or []:
            for rid, fields in rows:
                out.append((rid.decode("ascii"), bytes(fields.get(b"m", b""))))
        return out

    # -- adoption announcements --------------------------------------------
    async def announcements(self) -> AsyncIterator[bytes]:
        """Adoption messages as they are published (until the connection fails: RedisError)."""
        pubsub = self._blocking.pubsub()
        try:
            await pubsub.subscribe(self.k_events)
            while True:
                msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if msg is not None and msg.get("type") == "message":
                    yield bytes(msg["data"])
        finally:
            await pubsub.aclose()

    # -- replica snapshots --------------------------------------------------
    async def put_snapshot(self, replica: str, snapshot: dict[str, Any], ttl: float) -> None:
        await self._redis.set(f"{self.prefix}:replica:{replica}", json.dumps(snapshot, separators=(",", ":")),
                              px=max(1, int(ttl * 1000)))

    async def snapshots(self) -> list[dict[str, Any]]:
        keys = [k async for k in self._redis.scan_iter(match=f"{self.prefix}:replica:*", count=100)]
        if not keys:
            return []
        out = []
        for raw in await self._redis.mget(keys):
            if raw is None:
                continue  # expired between SCAN and MGET
            try:
                v = json.loads(raw)
            except ValueError:
                continue
            if isinstance(v, dict):
                out.append(v)
        return out
