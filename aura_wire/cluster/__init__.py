"""Many replicas, one dictionary, one encode: the cluster room.

What may do I/O here: ``bus`` (the messages replicas exchange) and ``view``
(the operators' aggregate) are pure values and functions; ``node`` is the
asyncio adapter that runs one replica's loops; ``redis_store`` is the only
module that talks to Redis (the optional extra ``aura_wire[redis]``).  The
store protocol itself, and its folder backend, live in
:mod:`aura_wire.ops.storage`.

Why a room of its own rather than ops/: the cluster carries runtime traffic
(prepared broadcast frames, dictionary rollout to new connections), not just
operators' data, and it sits above both the middleware and ops.

Usage::

    mw = AuraMiddleware(app, dictionary=seed)
    mw.enable_cluster("redis://redis:6379/0", train_interval=3600)
    # in the app: mw.subscribe(websocket, "news"); await mw.broadcast(msg, channel="news")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aura_wire.cluster.bus import Adopted, Prepared

if TYPE_CHECKING:
    from aura_wire.cluster.node import ClusterNode
    from aura_wire.middleware.asgi import AuraMiddleware

# The node (and through it ops/) is imported on use: the middleware imports this package for
# ``bus`` alone and must stay light.  ``from aura_wire.cluster.node import ClusterNode``.
__all__ = ["Adopted", "Prepared", "connect_redis"]

_STORE_OPTIONS = ("prefix", "keep", "broadcast_maxlen")


def connect_redis(middleware: AuraMiddleware, url: str, **options: Any) -> ClusterNode:
    """A :class:`ClusterNode` for ``middleware`` on the Redis server at ``url`` (not started yet).

    ``prefix``, ``keep`` and ``broadcast_maxlen`` go to the
    :class:`~aura_wire.cluster.redis_store.RedisStore`; the other options to the node.
    """
    from aura_wire.cluster.node import ClusterNode
    from aura_wire.cluster.redis_store import RedisError, RedisStore

    store_opts = {k: options.pop(k) for k in _STORE_OPTIONS if k in options}
    store_opts.setdefault("keep", middleware.keep_versions)
    if "sample_capacity" in options:
        store_opts["sample_capacity"] = options["sample_capacity"]
    store = RedisStore(url, **store_opts)
    return ClusterNode(middleware, store, transient=(RedisError,), **options)
