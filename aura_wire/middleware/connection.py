"""One websocket connection as the middleware and the application see it (spec/session.md §3).

:class:`AuraConnection` is the handle on one connection, AURA or passed
through: its session, its ordered sender, its broadcast channels and its
shadow permessage-deflate sample.  The application reaches it with
:func:`connection_of`.  :class:`ConnectionGone` is what ``send`` raises once
the connection has ended.  The ASGI type names used by the middleware modules
are defined here too.  I/O adapter only: the protocol is in :mod:`aura_wire.session`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable, MutableMapping

from aura_wire.errors import ConfigError
from aura_wire.metrics import ShadowDeflate
from aura_wire.session import Session, State

if TYPE_CHECKING:
    from aura_wire.middleware.asgi import AuraMiddleware

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["AuraConnection", "ConnectionGone", "connection_of", "SENSITIVE_KEY", "Scope", "Message", "Receive",
           "Send", "ASGIApp"]

_ids = itertools.count(1)


class ConnectionGone(OSError):
    """Raised by ``send`` once an AURA connection has ended (the peer left, or the session failed).

    The ASGI spec asks a server to raise "a server-specific subclass of IOError" when
    ``send`` is called on a closed connection (uvicorn raises ``ClientDisconnected``); the
    middleware does the same, so frameworks react as they do without it (Starlette turns any
    OSError into ``WebSocketDisconnect(1006)``) and a send-only loop ends when its client leaves.
    """


#: Key of an ASGI ``websocket.send`` message that marks the message sensitive (no compression context).
SENSITIVE_KEY = "aura.sensitive"


class AuraConnection:
    """The middleware's handle on one websocket connection (AURA or passed through).

    Reachable from the application as ``scope["extensions"]["aura"]["connection"]``
    (see :func:`connection_of`); used by :meth:`AuraMiddleware.broadcast`.
    """

    def __init__(self, middleware: AuraMiddleware, scope: Scope, send: Send) -> None:
        self.id = next(_ids)
        self.middleware = middleware
        self.scope = scope
        self.opened_at = time.time()
        self.session: Session | None = None
        self.subprotocol: str | None = None
        self.arm: str | None = None  # canary arm, when the middleware splits connections
        self.closed = False
        self.channels: set[str] = set()  # broadcast channels this connection subscribes to
        self._raw_send = send
        self._lock = asyncio.Lock()
        self._sync_changed = asyncio.Event()  # set when the send dictionary is in force or the connection ends
        #: Shadow permessage-deflate when this connection is sampled (AuraMiddleware(shadow_sample=...)).
        self.shadow: ShadowDeflate | None = None
        self._shadow_seen = 0  # the connection's AURA bytes (all frames) already counted

    def observe_shadow(self, direction: str, message: str | bytes) -> None:
        """Sampled connections: count what permessage-deflate would have sent for ``message`` and what
        AURA sent (every frame since the last observation, CONTROL frames included).

        A message the shadow does not code (too long) is left out of both sides; once the shadow's
        byte budget is spent it is dropped (its zlib state freed, a later connection may be sampled)."""
        shadow, s = self.shadow, self.session
        if shadow is None or s is None:
            return
        st = s.stats
        total = st.sent_wire_bytes + st.received_wire_bytes + st.control_sent_bytes + st.control_received_bytes
        size = shadow.deflate_size(direction, message)
        if size is not None:
            m = self.middleware.sent_metrics
            m.shadow_messages += 1
            m.shadow_deflate_bytes += size
            m.shadow_aura_bytes += total - self._shadow_seen
        self._shadow_seen = total
        if shadow.spent:
            self.shadow = None

    async def synced(self, timeout: float | None = None) -> bool:
        """Wait until this connection's frames to the client use a dictionary (spec/session.md §6.1).

        True once they do: at once for a client that named the dictionary in its offer
        (spec §6.1.1), after its USE otherwise.  False when none will on this connection
        (passed through, no dictionary announced, closed) or when ``timeout`` seconds pass
        first (a client that fetches only when it pays may switch late or never, spec §6.8).
        """
        while True:
            s = self.session
            if s is not None and s.send_dictionary is not None:
                return True
            if s is None or self.closed or s.closed or s.state is State.PLAIN:
                return False
            self._sync_changed.clear()
            try:
                await asyncio.wait_for(self._sync_changed.wait(), timeout)
            except asyncio.TimeoutError:
                return False

    def _notify(self) -> None:
        self._sync_changed.set()

    @property
    def aura(self) -> bool:
        """True when this connection speaks AURA."""
        return self.session is not None

    async def flush(self) -> None:
        """Send what the session queued, in order (one sender at a time keeps the order)."""
        session = self.session
        if session is None:
            return
        async with self._lock:
            for frame in session.data_to_send():
                if self.closed:
                    return
                try:
                    await self._raw_send({"type": "websocket.send", "bytes": frame})
                except OSError:
                    # The peer is gone (uvicorn raises ClientDisconnected); the reader will see the
                    # disconnect and tell the application through receive().
                    self.closed = True
                    self._notify()
                    return
        if session.send_dictionary is not None or session.closed:
            self._notify()

    async def send_plain(self, message: str | bytes) -> None:
        """Send an application message to a passed-through (non-AURA) connection."""
        async with self._lock:
            if self.closed:
                return
            if isinstance(message, str):
                await self._raw_send({"type": "websocket.send", "text": message})
            else:
                await self._raw_send({"type": "websocket.send", "bytes": message})

    async def send_close(self, message: Message) -> None:
        """Send a ``websocket.close`` message once, after the frames already queued."""
        async with self._lock:
            if not self.closed:
                self.closed = True
                self._notify()
                with contextlib.suppress(OSError):
                    await self._raw_send(message)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close this connection from outside the application (e.g. an admin or a rollout policy)."""
        if self.session is not None:
            await self.flush()
            self.session.close()
        await self.send_close({"type": "websocket.close", "code": code, "reason": reason})

    def snapshot(self) -> dict[str, Any]:
        s = self.session
        return {
            "id": self.id,
            "path": self.scope.get("path"),
            "aura": s is not None,
            "subprotocol": self.subprotocol,
            "arm": self.arm,
            "state": s.state.value if s is not None else "passthrough",
            "dictionary": s.send_dictionary.id if s is not None and s.send_dictionary is not None else None,
            "age_seconds": round(time.time() - self.opened_at, 3),
            "stats": s.stats.as_dict() if s is not None else None,
        }


def connection_of(websocket_or_scope: Any) -> AuraConnection:
    """The :class:`AuraConnection` of a Starlette ``WebSocket`` (anything with ``.scope``) or an ASGI scope."""
    scope = getattr(websocket_or_scope, "scope", websocket_or_scope)
    try:
        conn = scope["extensions"]["aura"]["connection"]
    except (KeyError, TypeError) as exc:
        raise ConfigError("this websocket did not pass through AuraMiddleware", field="scope") from exc
    if not isinstance(conn, AuraConnection):
        raise ConfigError("scope['extensions']['aura']['connection'] is not an AuraConnection", field="scope")
    return conn
