"""AuraMiddleware: the AURA subprotocol route as a pure ASGI middleware (spec/session.md §3, §6).

``AuraMiddleware(app, dictionary=..., **codec_config)`` wraps any ASGI
application (Starlette, FastAPI, ...) under any ASGI server (uvicorn,
hypercorn).  For a websocket scope whose client offers ``aura.v1`` it wraps
``receive``/``send``: the application keeps receiving and sending plain
``str``/``bytes`` while the wire carries AURA frames, coded by one
:class:`~aura_wire.session.Session` per connection.  Everything else passes
straight through: a websocket client that does not offer AURA gets the
application byte for byte, HTTP requests go to the application, except the
dictionary endpoint (:mod:`.endpoint`) and, when configured, the
operations paths (``ops_app``).

This module only moves messages between the ASGI server, the session and the
application; negotiation rules live in :mod:`aura_wire.session.negotiation`,
protocol logic in :mod:`aura_wire.session.core`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from aura_wire.cluster.bus import Prepared
from aura_wire.codec.dictionary import Dictionary
from aura_wire.codec.encoder import Encoder
from aura_wire.errors import ConfigError, ProtocolError
from aura_wire.metrics import ROLE_DECODE, ROLE_ENCODE, SHADOW_BUDGET, CompressionMetrics, ShadowDeflate
from aura_wire.middleware.adapter import ServerAdapter
from aura_wire.middleware.connection import SENSITIVE_KEY as SENSITIVE_KEY
from aura_wire.middleware.connection import ASGIApp, AuraConnection, Message, Receive, Scope, Send, connection_of
from aura_wire.middleware.connection import ConnectionGone as ConnectionGone
from aura_wire.middleware.endpoint import DEFAULT_DICTIONARY_PATH, serve_dictionary
from aura_wire.session import SessionConfig
from aura_wire.session.control import is_prepared_frame
from aura_wire.session.negotiation import parse_hints, split_offer
from aura_wire.session.params import restrict_methods

if TYPE_CHECKING:
    from aura_wire.cluster.node import ClusterNode

# AuraConnection, ConnectionGone, connection_of and SENSITIVE_KEY live in .connection; they are
# importable from here as before.
__all__ = ["AuraMiddleware", "AuraConnection", "ConnectionGone", "connection_of", "SENSITIVE_KEY"]

#: A broadcast yields to the event loop after this many deliveries (about 1-2 ms of work).
_YIELD_EVERY = 64
#: Default ``broadcast_backlog``: broadcast bytes waiting for one slow client before it is dropped.
BROADCAST_BACKLOG = 4 << 20


def _metrics_dict(m: CompressionMetrics) -> dict[str, Any]:
    out: dict[str, Any] = m.snapshot()
    return out


class AuraMiddleware:
    """Pure ASGI middleware speaking AURA on websocket connections that offer ``aura.v1``.

    ``dictionary`` is the current shared dictionary (or None); :meth:`set_dictionary`
    rolls out a new one for new connections while open connections keep theirs.
    ``codec_config`` is passed through to every Encoder/Decoder.  Limits:
    ``max_message_size``, ``max_dictionary_size``, ``max_chunk`` (see
    :class:`~aura_wire.session.SessionConfig`).

    Operations: metrics are kept in :class:`~aura_wire.metrics.CompressionMetrics`
    objects shared by all connections (``sent_metrics``, ``received_metrics``,
    ``broadcast_metrics``; :meth:`metrics` aggregates them) and per connection
    (:meth:`metrics_snapshot`).  ``ops_app`` (any ASGI app) receives the HTTP
    requests it ``handles(path)`` (or, without that method, whose path is one of
    ``ops_paths``); it finds this middleware in
    ``scope["extensions"]["aura"]["middleware"]``.  :meth:`enable_ops` builds
    the standard one from :mod:`aura_wire.ops`; ``ops=True`` (or a mapping of
    its options) does the same at construction, for
    ``app.add_middleware(AuraMiddleware, ops=True)`` where there is no handle.  ``canary`` (an
    :class:`aura_wire.ops.CanarySplitter`) splits new AURA connections between
    two codec configurations, each arm with its own metrics.  ``shadow_sample``
    (0.05) of the AURA connections, at most ``shadow_max`` (4) at a time, are
    shadow-coded with permessage-deflate w15 (:class:`~aura_wire.metrics.ShadowDeflate`)
    for their first ``shadow_budget`` bytes of messages (1 MiB; messages above 64 KiB left out):
    the metrics' ``vs_deflate`` estimates how many times fewer bytes AURA sends.

    :meth:`broadcast` never waits on a slow client, AURA or passed through: what the
    server cannot write to a client yet waits for it, in order, up to ``broadcast_backlog``
    bytes (4 MiB); beyond that the client is closed with 1008 and counted in ``failures``.
    It reaches the connections open at the time: accepted by the application, not closed.
    """

    def __init__(
        self,
        app: ASGIApp,
        /,  # positional, as Starlette's add_middleware passes it (and its typed factory protocol needs)
        dictionary: Dictionary | None = None,
        *,
        context: bool = True,
        max_message_size: int | None = None,
        max_dictionary_size: int | None = None,
        max_chunk: int | None = None,
        dictionary_path: str = DEFAULT_DICTIONARY_PATH,
        keep_versions: int = 4,
        ops_app: ASGIApp | None = None,
        ops_paths: Sequence[str] = ("/aura/metrics", "/aura/health", "/aura/dashboard"),
        canary: Any = None,
        ops: bool | Mapping[str, Any] = False,
        shadow_sample: float = 0.05,
        shadow_max: int = 4,
        shadow_budget: int = SHADOW_BUDGET,
        broadcast_backlog: int = BROADCAST_BACKLOG,
        **codec_config: Any,
    ) -> None:
        self.app = app
        if not 0.0 <= shadow_sample <= 1.0:
            raise ConfigError("shadow_sample must be in [0, 1]", field="shadow_sample")
        if shadow_max < 0:
            raise ConfigError("shadow_max must be >= 0", field="shadow_max")
        if shadow_budget < 1:
            raise ConfigError("shadow_budget must be >= 1", field="shadow_budget")
        if broadcast_backlog < 0:
            raise ConfigError("broadcast_backlog must be >= 0", field="broadcast_backlog")
        #: Bytes of broadcast frames (messages, for a passed-through connection) a connection may have
        #: waiting while the server cannot write to it (a slow or stuck client); over that it is closed
        #: with 1008 and counted in ``failures``.
        self.broadcast_backlog = broadcast_backlog
        #: Fraction of AURA connections shadow-coded with permessage-deflate w15 to estimate
        #: "how much better than permessage-deflate" (metrics ``vs_deflate``), at most
        #: ``shadow_max`` at a time (about 600 KiB of zlib state and one deflate per message each).
        self.shadow_sample = shadow_sample
        self.shadow_max = shadow_max
        #: Bytes of application messages (both directions) one sampled connection is shadow-coded for;
        #: then its zlib state is freed and a later connection may be sampled.  Bounds the estimate's
        #: CPU: messages above 64 KiB are never shadow-coded (ShadowDeflate).
        self.shadow_budget = shadow_budget
        self._shadow_credit = 1.0 if shadow_sample > 0 else 0.0  # the first AURA connection is sampled
        limits: dict[str, Any] = {"context": context}
        for name, value in (("max_message_size", max_message_size), ("max_dictionary_size", max_dictionary_size),
                            ("max_chunk", max_chunk)):
            if value is not None:
                limits[name] = value
        self.session_config = SessionConfig(**limits)
        self.codec_config: dict[str, Any] = dict(codec_config)
        Encoder(None, **self.codec_config)  # validate the codec options now, with errors naming the field
        if not dictionary_path.startswith("/") or not dictionary_path.endswith("/"):
            raise ConfigError("dictionary_path must start and end with '/'", field="dictionary_path")
        if keep_versions < 1:
            raise ConfigError("keep_versions must be at least 1", field="keep_versions")
        self.dictionary_path = dictionary_path
        self.keep_versions = keep_versions
        self.ops_app = ops_app
        self.ops_paths = tuple(ops_paths)
        self.canary = canary
        if canary is not None:
            for arm in (canary.a, canary.b):
                Encoder(None, **{**self.codec_config, **arm.config})  # validate both arms now
        self.sent_metrics = CompressionMetrics(ROLE_ENCODE)
        self.received_metrics = CompressionMetrics(ROLE_DECODE)
        self.broadcast_metrics = CompressionMetrics(ROLE_ENCODE)
        self.connections: dict[int, AuraConnection] = {}
        self.total_connections = 0
        self.total_aura_connections = 0
        self.failures: dict[int, int] = {}
        self._versions: list[Dictionary] = []
        #: Estimated saving per dictionary id, bytes per 1000 messages, announced in HELLO (spec §4.1.2).
        self.savings: dict[str, int] = {}
        #: Dictionary body bytes served over HTTP (spec §6.5), counted in the transfer metrics.
        self.http_dictionary_bytes = 0
        self._broadcast_encoders: dict[tuple[str | None, int | None], Encoder] = {}
        self._channels: dict[str, dict[int, AuraConnection]] = {}
        self.cluster: ClusterNode | None = None
        self.dictionary: Dictionary | None = None
        if dictionary is not None:
            self.set_dictionary(dictionary)
        if ops:
            # the route for app.add_middleware(AuraMiddleware, ops=...), which gives no handle to call
            # enable_ops() on: True for the standard endpoints, or a mapping of make_ops_app options
            if ops_app is not None:
                raise ConfigError("pass either ops_app or ops, not both", field="ops")
            self.enable_ops(**(dict(ops) if isinstance(ops, Mapping) else {}))

    # -- dictionaries -------------------------------------------------------------
    def set_dictionary(self, dictionary: Dictionary, *, saving_per_message: float | None = None) -> None:
        """Roll out ``dictionary`` for new connections; open ones keep the one they use.

        The last ``keep_versions`` versions stay available at the dictionary
        endpoint, and so does any version an open connection still uses.
        ``saving_per_message``: the bytes the dictionary saves per application message
        (estimated on held-back traffic; default: the ``saving_per_message`` its
        training stored in its meta section, if any).  HELLO announces it so that a
        client fetches the dictionary only when it pays (spec §6.8).
        """
        if len(dictionary) > self.session_config.max_dictionary_size:
            raise ConfigError(f"dictionary of {len(dictionary)} bytes exceeds max_dictionary_size", field="dictionary")
        if saving_per_message is None:
            meta_saving = dictionary.meta.get("saving_per_message")
            if isinstance(meta_saving, (int, float)) and not isinstance(meta_saving, bool):
                saving_per_message = float(meta_saving)
        if saving_per_message is not None:
            if not saving_per_message >= 0:
                raise ConfigError("saving_per_message must be >= 0", field="saving_per_message")
            self.savings[dictionary.id] = int(round(saving_per_message * 1000))
        self._versions = [d for d in self._versions if d.id != dictionary.id] + [dictionary]
        self._versions = self._versions[-self.keep_versions:]
        self.dictionary = dictionary

    def available_dictionaries(self) -> dict[str, Dictionary]:
        """Every dictionary the endpoint serves: recent versions and those open connections use."""
        out = {d.id: d for d in reversed(self._versions)}
        for conn in self.connections.values():
            if conn.session is not None:
                for d in conn.session.dictionaries:
                    out.setdefault(d.id, d)
        return out

    # -- operations ---------------------------------------------------------------
    def metrics(self) -> CompressionMetrics:
        """Every message coded by this middleware, both directions, broadcasts and canary arms (a new object)."""
        http = CompressionMetrics(ROLE_ENCODE)
        http.dictionary_http_bytes = self.http_dictionary_bytes  # dictionary bodies served over HTTP
        parts = [self.sent_metrics, self.received_metrics, self.broadcast_metrics, http]
        if self.canary is not None:
            parts += [self.canary.a.sent_metrics, self.canary.a.received_metrics,
                      self.canary.b.sent_metrics, self.canary.b.received_metrics]
        return CompressionMetrics.aggregate(parts)

    def enable_ops(self, **options: Any) -> Any:
        """Serve the standard operations endpoints (:func:`aura_wire.ops.make_ops_app`) from this middleware.

        ``options`` go to ``make_ops_app`` (paths, health targets, ...); returns the ops app.
        """
        from aura_wire.ops import make_ops_app

        if self.canary is not None:
            options.setdefault("arms", self.canary.arm_metrics)
        if self.cluster is not None:
            options.setdefault("cluster", self.cluster.view)
        options.setdefault("connections", self.connection_counts)
        self.ops_app = make_ops_app(self.metrics, **options)
        return self.ops_app

    def _is_ops_path(self, path: str) -> bool:
        handles = getattr(self.ops_app, "handles", None)
        if callable(handles):
            return bool(handles(path))
        return any(path == p or path.startswith(p + "/") for p in self.ops_paths)

    # -- ASGI ---------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if self.cluster is not None and not self.cluster.started and kind in ("http", "websocket"):
            await self.cluster.start()  # a server that sends no lifespan events
        if kind == "http":
            path: str = scope.get("path", "")
            if path.startswith(self.dictionary_path):
                current = self.dictionary.id if self.dictionary is not None else None
                available = self.available_dictionaries()
                name = path[len(self.dictionary_path):]
                if name and name not in available and self.cluster is not None:
                    # Any replica may have announced it: load it from the cluster's store.
                    d = await self.cluster.fetch_dictionary(name)
                    if d is not None:
                        available[d.id] = d
                self.http_dictionary_bytes += await serve_dictionary(
                    scope, send, self.dictionary_path, available, current, self.savings)
                return
            if self.ops_app is not None and self._is_ops_path(path):
                await self.ops_app(self._scope_with_handle(scope, None), receive, send)
                return
            await self.app(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan" and self.cluster is not None:
            await self.app(scope, self._lifespan_receive(receive), send)
        else:
            await self.app(scope, receive, send)

    def _lifespan_receive(self, receive: Receive) -> Receive:
        """Start the cluster node at server startup and stop it at shutdown, around the app's own handling."""
        async def wrapped() -> Message:
            msg = await receive()
            if self.cluster is not None:
                if msg.get("type") == "lifespan.startup":
                    await self.cluster.start()
                elif msg.get("type") == "lifespan.shutdown":
                    await self.cluster.stop()
            return msg
        return wrapped

    def _maybe_shadow(self, conn: AuraConnection) -> None:
        # Deterministic sampling (every 1/shadow_sample-th AURA connection), bounded in number.
        self._shadow_credit += self.shadow_sample
        if self._shadow_credit < 1.0:
            return
        if sum(1 for c in self.connections.values() if c.shadow is not None) >= self.shadow_max:
            return
        self._shadow_credit -= 1.0
        conn.shadow = ShadowDeflate(self.shadow_budget)

    def _scope_with_handle(self, scope: Scope, conn: AuraConnection | None) -> Scope:
        new = dict(scope)
        ext = dict(scope.get("extensions") or {})
        ext["aura"] = {"middleware": self, "connection": conn}
        new["extensions"] = ext
        return new

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        offered = list(scope.get("subprotocols") or [])
        aura, app_protocols = split_offer(offered)
        conn = AuraConnection(self, scope, send)
        self.total_connections += 1
        self.connections[conn.id] = conn
        hints = parse_hints(offered) if aura else None
        try:
            if hints is None:
                # Not an AURA client (or an unusable aura.decodes hint, spec §3.4): the application gets
                # the original receive/send, untouched.
                plain_scope = self._scope_with_handle(scope, conn)
                if aura:
                    plain_scope["subprotocols"] = app_protocols
                await self.app(plain_scope, receive, conn.send_passed_through)
                return
            app_scope = self._scope_with_handle(scope, conn)
            app_scope["subprotocols"] = app_protocols
            conn.scope = app_scope
            await ServerAdapter(self, conn, offered, receive, send, hints).run(app_scope)
        finally:
            conn.closed = True
            self.connections.pop(conn.id, None)
            for ch in conn.channels:
                subs = self._channels.get(ch)
                if subs is not None:
                    subs.pop(conn.id, None)
                    if not subs:
                        del self._channels[ch]

    # -- broadcast -------------------------------------------------------------------
    def _broadcast_encoder(self, dictionary: Dictionary | None, decodes: int | None = None) -> Encoder:
        """The stateless encoder for ``dictionary`` and clients that decode the methods in ``decodes``."""
        key = (dictionary.id if dictionary is not None else None, decodes)
        enc = self._broadcast_encoders.get(key)
        if enc is None:
            # Stateless frames, so one frame serves every connection on this dictionary.  Templates are
            # off: a stateless TEMPLATE frame is not accepted by a context-mode decoder.
            cfg = restrict_methods(self.codec_config, decodes)
            cfg["templates"] = False
            enc = Encoder(dictionary, context=False, **cfg)
            enc.metrics = self.broadcast_metrics
            self._broadcast_encoders[key] = enc
            live = {d.id for d in self.available_dictionaries().values()}
            for k in [k for k in self._broadcast_encoders if k[0] is not None and k[0] not in live]:
                del self._broadcast_encoders[k]
        return enc

    def subscribe(self, connection: Any, channel: str) -> None:
        """Add a connection (AuraConnection, Starlette ``WebSocket`` or scope) to a broadcast channel.

        It leaves every channel when it closes.
        """
        conn = connection if isinstance(connection, AuraConnection) else connection_of(connection)
        if conn.closed:
            return
        conn.channels.add(channel)
        self._channels.setdefault(channel, {})[conn.id] = conn

    def unsubscribe(self, connection: Any, channel: str) -> None:
        conn = connection if isinstance(connection, AuraConnection) else connection_of(connection)
        conn.channels.discard(channel)
        subs = self._channels.get(channel)
        if subs is not None:
            subs.pop(conn.id, None)
            if not subs:
                del self._channels[channel]

    def subscribers(self, channel: str) -> list[AuraConnection]:
        """This replica's open connections subscribed to ``channel``."""
        return list(self._channels.get(channel, {}).values())

    async def broadcast(self, message: str | bytes, connections: Iterable[Any] | None = None, *,
                        channel: str | None = None) -> int:
        """Send ``message`` to many connections, encoding it once per dictionary in use.

        ``connections``: :class:`AuraConnection` objects, Starlette ``WebSocket``
        objects or scopes (None: every connection of this middleware).  Only open
        connections get it: accepted by the application and not closed; one not yet
        accepted is skipped, neither sent to nor a failure, and gets the broadcasts
        made after its accept.
        ``channel``: send to the subscribers of this channel instead (see
        :meth:`subscribe`); with a cluster (:meth:`enable_cluster`) the frame
        encoded here is published once and every replica forwards it to its
        own subscribers without encoding again.  The frame is stateless (C=0),
        so it does not touch any connection's context.  Passed-through
        connections get the plain message.  Returns how many connections of
        this replica it was sent to.
        """
        if channel is not None:
            if connections is not None:
                raise ConfigError("pass connections or channel, not both", field="channel")
            d = self.dictionary
            frame = self._broadcast_encoder(d).encode(message)
            did = d.id if d is not None else None
            if self.cluster is not None:
                self.cluster.sample(message)
                self.cluster.publish(channel, did, message, frame)
            return await self._deliver(self.subscribers(channel), message, did, frame)
        targets = [c if isinstance(c, AuraConnection) else connection_of(c)
                   for c in (list(self.connections.values()) if connections is None else connections)]
        return await self._deliver(targets, message, None, None)

    async def deliver_prepared(self, prepared: Prepared) -> int:
        """Send a broadcast another replica encoded to this replica's subscribers of its channel."""
        return await self._deliver(self.subscribers(prepared.channel), prepared.message, prepared.dictionary_id,
                                   prepared.frame)

    async def _deliver(self, targets: list[AuraConnection], message: str | bytes, frame_dict: str | None,
                       frame: bytes | None) -> int:
        """Send one stateless frame per AURA connection, the message itself per passed-through one, in
        turn (no task per delivery, no waiting on a slow peer: :meth:`AuraConnection.deliver`,
        :meth:`AuraConnection.deliver_plain`).

        ``frame`` (when given) was encoded on dictionary ``frame_dict``: it
        goes unchanged to connections that send with exactly that dictionary
        (also when the frame happens not to use it: the match is by id, never
        by the D bit, which names no dictionary); connections on another
        dictionary get a frame encoded here for
        theirs, once per dictionary; so do clients whose ``aura.decodes`` hint
        (spec §3.5) excludes the frame's method.  A frame never reaches a
        connection that does not hold its dictionary or cannot decode it.
        """
        frames: dict[tuple[str | None, int | None], bytes] = {}
        if frame is not None and not is_prepared_frame(frame):
            raise ProtocolError("a broadcast frame must be a stateless data frame", field="frame")
        method = frame[0] & 7 if frame is not None else 0
        raw = len(message.encode("utf-8")) if isinstance(message, str) else len(message)
        sent = 0
        for conn in targets:
            if conn.closed or not conn.accepted:
                continue  # open connections only: a write before the accept is refused (and not a failure)
            s = conn.session
            # No task per delivery and no waiting on a slow peer: the send runs now and is done on return,
            # unless this peer's write buffer is full; then it goes on in a task and the next messages for
            # this peer wait (bounded by broadcast_backlog), while the others get theirs.
            if s is None:
                # Passed through: the message itself, delivered the same way.  False: the client left, the
                # application closed the connection itself (the server refuses the send), or it was dropped.
                if not conn.deliver_plain(message, raw):
                    continue
            else:
                d = s.send_dictionary
                did = d.id if d is not None else None
                decodes = s.hints.decodes
                if frame is not None and did == frame_dict and (decodes is None or decodes >> method & 1):
                    f = frame
                else:
                    key = (did, decodes)
                    cached = frames.get(key)
                    if cached is None:
                        cached = frames[key] = self._broadcast_encoder(d, decodes).encode(message)
                    f = cached
                if not conn.deliver(f, raw):
                    continue  # the session is closed, the peer is gone or was dropped for its backlog
                if conn.shadow is not None:
                    conn.observe_shadow("sent", message)
            sent += 1
            if not sent % _YIELD_EVERY:
                await asyncio.sleep(0)  # flushes that never block never yield: let other connections run
        return sent

    # -- cluster -----------------------------------------------------------------------
    def enable_cluster(self, url: str | None = None, *, node: ClusterNode | None = None,
                       **options: Any) -> ClusterNode:
        """Join a cluster of replicas sharing one dictionary store, trainer and broadcast bus.

        ``url``: a ``redis://`` URL (needs the extra ``aura_wire[redis]``); or
        ``node``: a ready :class:`~aura_wire.cluster.ClusterNode`.  ``options``
        go to :func:`aura_wire.cluster.connect_redis` (``replica_id``,
        ``train_interval``, ``lock_ttl``, ``sample_rate``, ``prefix``, ...).
        The node starts with the server (ASGI lifespan, or the first request
        when the server sends no lifespan events).
        """
        if (url is None) == (node is None):
            raise ConfigError("enable_cluster takes a redis:// url or a node", field="cluster.url")
        if node is None:
            from aura_wire.cluster import connect_redis

            assert url is not None
            node = connect_redis(self, url, **options)
        self.cluster = node
        ops = self.ops_app
        if ops is not None and hasattr(ops, "cluster") and ops.cluster is None:
            ops.cluster = node.view  # enable_ops ran first
        return node

    # -- metrics ---------------------------------------------------------------------
    def connection_counts(self) -> dict[str, int]:
        """Open and total websocket connections, all and AURA (the others are passed through plain).

        ``open``: accepted by the application and not closed, the connections a broadcast reaches;
        ``pending``: in the handshake, not yet accepted (nor rejected) by the application."""
        open_, open_aura, pending = 0, 0, 0
        for c in self.connections.values():
            if c.closed:
                continue
            if not c.accepted:
                pending += 1
                continue
            open_ += 1
            if c.aura:
                open_aura += 1
        return {
            "open": open_,
            "open_aura": open_aura,
            "pending": pending,
            "total": self.total_connections,
            "total_aura": self.total_aura_connections,
        }

    def metrics_snapshot(self, *, per_connection: bool = True) -> dict[str, Any]:
        """Aggregated and per-connection metrics, JSON-friendly, for the operations endpoints."""
        out: dict[str, Any] = {
            "connections": self.connection_counts(),
            "dictionary": self.dictionary.id if self.dictionary is not None else None,
            "dictionaries_available": list(self.available_dictionaries()),
            "total": _metrics_dict(self.metrics()),
            "sent": _metrics_dict(self.sent_metrics),
            "received": _metrics_dict(self.received_metrics),
            "broadcast": _metrics_dict(self.broadcast_metrics),
            "close_codes": {str(k): v for k, v in sorted(self.failures.items())},
        }
        if self.canary is not None:
            out["canary"] = self.canary.report()
        if per_connection:
            out["per_connection"] = [c.snapshot() for c in self.connections.values()]
        return out


