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
import sys
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Coroutine, MutableMapping, cast

from aura_wire.errors import CLOSE_POLICY_VIOLATION, ConfigError
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

#: What a server's send raises when it will not write to this peer any more: OSError once the client has
#: gone (uvicorn's ClientDisconnected), RuntimeError after the connection was closed on the server's side
#: (uvicorn: "Unexpected ASGI message 'websocket.send'").
_REFUSED: tuple[type[BaseException], ...] = (OSError, RuntimeError)
#: Servers whose refusal is their own class outside those two, by (module, class name): hypercorn raises
#: ``hypercorn.utils.UnexpectedMessageError`` (a bare ``Exception`` subclass) for a ``websocket.send``
#: after the connection closed.  Looked up among the modules already loaded, never imported: the server
#: that raises it is running, so its module is loaded; nothing else of the Exception family is caught.
_SERVER_REFUSALS = (("hypercorn.utils", "UnexpectedMessageError"),)


def _refused() -> tuple[type[BaseException], ...]:
    """The exception classes that mean "the server refused this write: the peer is gone" (see
    ``_REFUSED``).  Used as ``except _refused():``, evaluated only once a send has raised."""
    found = list(_REFUSED)
    for module, name in _SERVER_REFUSALS:
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)


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
        #: True once the application's ``websocket.accept`` went to the server: from then until ``closed``
        #: the connection is open, and a broadcast target.  Never set for a connection the application
        #: rejects (``websocket.close`` before accept).
        self.accepted = False
        self.closed = False
        self.channels: set[str] = set()  # broadcast channels this connection subscribes to
        self._raw_send = send
        # One sender at a time keeps the order: ``_sending`` while a flush writes; others wait for ``_idle``.
        self._sending = False
        self._idle: asyncio.Future[None] | None = None
        #: Bytes of broadcast frames queued while a flush was blocked on this (slow) peer.
        self.backlog = 0
        #: A passed-through connection's broadcast messages waiting, in order, like an AURA session's frames.
        self._plain_queue: list[str | bytes] = []
        self._sync_changed = asyncio.Event()  # set when the send dictionary is in force or the connection ends
        self._told_synced = False
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

    async def _turn(self) -> None:
        """Wait until no other flush of this connection is writing, then take the turn."""
        while self._sending:
            if self._idle is None:
                self._idle = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._idle)  # shielded: one cancelled waiter must not wake the others
        self._sending = True

    def _end_turn(self) -> None:
        self._sending = False
        idle, self._idle = self._idle, None
        if idle is not None and not idle.done():
            idle.set_result(None)

    async def flush(self) -> None:
        """Send what the session queued, in order; return once it is written (or the connection ended)."""
        session = self.session
        if session is None:
            return
        if self._sending:
            await self._turn()  # the flush in progress may have sent our frames already: then this finds none
        elif not session.pending:
            self._check_synced()  # nothing to write (most received frames): no turn, no coroutine
            return
        else:
            self._sending = True
        await self._send_queued()

    @property
    def flushing(self) -> bool:
        """True while a flush (or a direct write) of this connection is writing."""
        return self._sending

    def flushed(self) -> None:
        """What :meth:`flush` does when nothing is queued and no flush is writing, without a coroutine."""
        self._check_synced()

    async def send_frame(self, frame: bytes) -> None:
        """Write ``frame``, coded for the application's own send, when nothing is queued for this
        connection and no flush is writing (the caller checked, with no await since): the server's
        send at once, holding the turn; then what was queued meanwhile (a broadcast frame, a
        control answer), as :meth:`flush` would."""
        self._sending = True
        try:
            await self._raw_send({"type": "websocket.send", "bytes": frame})
        except _refused():
            self._end_turn()
            self._gone()
            return
        except BaseException:
            self._end_turn()
            raise
        session = self.session
        if session is not None and session.pending:
            await self._send_queued()
        else:
            self._end_turn()

    async def send_passed_through(self, message: Message) -> None:
        """The application's ``send`` on a passed-through connection: the server's own, noting the
        accept (from then on the connection is a broadcast target) and the application's close (from
        then on it is not: the server would refuse the write)."""
        kind = message["type"]
        if kind == "websocket.close":
            self.closed = True
            self._notify()
        await self._raw_send(message)
        if kind == "websocket.accept":
            self.accepted = True

    def deliver(self, frame: bytes, raw_size: int) -> bool:
        """Send a broadcast frame (stateless, checked by the caller) without waiting for a slow peer.

        The usual case: nothing is queued and no flush is writing, so the server's send runs here
        and is done on return (no task, no lock, no queue).  A send that has to wait (the
        server's write buffer for this peer is full) goes on in a task; while it waits, later
        frames for this connection wait in its session, in order, for it to send: the caller
        moves on to the other connections.  Those frames count towards the middleware's
        ``broadcast_backlog``; over it the connection is closed (1008) and counted in
        ``failures``.  False when the frame was not sent: the session is closed, the server
        refused the write (the peer is gone), or this connection was dropped for its backlog.
        """
        session = self.session
        if session is None:
            return False
        if self._sending:  # a flush is writing (waiting on this peer): it sends this frame after the others
            if not session.queue_prepared(frame, raw_size):
                return False
            return self._queued(len(frame))
        if not session.sent_prepared(frame, raw_size):  # frames queued before it, or closed
            if not session.queue_prepared(frame, raw_size):
                return False
            self.start_flush()
            return True
        return self._write_now({"type": "websocket.send", "bytes": frame})

    def deliver_plain(self, message: str | bytes, raw_size: int) -> bool:
        """:meth:`deliver` for a passed-through connection: ``message`` itself, with the same
        guarantees (never waits for a slow peer, in order, bounded by ``broadcast_backlog``
        bytes of messages, 1008 over it).  Its messages wait in this connection's own queue,
        as there is no session."""
        if self._sending:
            self._plain_queue.append(message)
            return self._queued(raw_size)
        return self._write_now(_send_event(message))

    def _queued(self, size: int) -> bool:
        """``size`` more bytes wait for this peer: False, and the peer dropped, over the backlog bound."""
        self.backlog += size
        return self.backlog <= self.middleware.broadcast_backlog or self._drop_backlogged()

    def _write_now(self, message: Message) -> bool:
        """Run the server's send of ``message`` here, stepped in place with no coroutine of ours around
        it (ASGI servers' send is a coroutine function: uvicorn, hypercorn, daphne, Starlette's
        TestClient); a send that suspends goes on in a task, holding the turn."""
        self._sending = True
        coro = cast(Coroutine[Any, Any, None], self._raw_send(message))
        try:
            waiting = coro.send(None)
        except StopIteration:
            self._sending = False  # nothing suspended: nobody waits for the turn
            return True
        except _refused():
            self._sending = False
            self._gone()
            return False
        self._spawn(self._send_rest(coro, waiting))
        return True

    def _drop_backlogged(self) -> bool:
        self.closed = True  # nothing more for this peer; the others go on
        self._notify()
        failures = self.middleware.failures
        failures[CLOSE_POLICY_VIOLATION] = failures.get(CLOSE_POLICY_VIOLATION, 0) + 1
        self._spawn(self.drop(CLOSE_POLICY_VIOLATION,
                              f"broadcast backlog over {self.middleware.broadcast_backlog} bytes"))
        return False

    def start_flush(self) -> None:
        """Send what the session queued without waiting for a slow peer (see :meth:`deliver`)."""
        if self._sending:
            return  # the flush in progress sends it
        self._sending = True
        coro = self._send_queued()
        try:
            waiting = coro.send(None)
        except StopIteration:
            return
        self._spawn(_finish(coro, waiting))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        _pending.add(task)
        task.add_done_callback(self._flush_done)

    async def _send_rest(self, coro: Coroutine[Any, Any, None], waiting: Any) -> None:
        """A broadcast frame's write that had to wait, driven on; then what was queued meanwhile."""
        try:
            await _finish(coro, waiting)
        except _refused():
            self._end_turn()
            self._gone()
            return
        except BaseException:
            self._end_turn()
            raise
        await self._send_queued()

    def _gone(self) -> None:
        # The peer is gone (uvicorn raises ClientDisconnected); the reader will see the disconnect and
        # tell the application through receive().
        self.closed = True
        self._notify()

    def _flush_done(self, task: asyncio.Task[None]) -> None:
        _pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._gone()  # the server failed the write otherwise: this peer gets nothing more

    async def _send_queued(self) -> None:
        """Write what waits for this peer (the session's frames, or a passed-through connection's
        messages) until none is left; the caller has taken the turn."""
        session = self.session
        try:
            while True:
                if session is not None:
                    frames: list[bytes] | list[str | bytes] = session.data_to_send()
                else:
                    frames, self._plain_queue = self._plain_queue, []
                self.backlog = 0
                if not frames:
                    break
                for frame in frames:
                    if self.closed:
                        return
                    try:
                        await self._raw_send(_send_event(frame))
                    except _refused():
                        self._gone()
                        return
        finally:
            self._end_turn()
        self._check_synced()

    def _check_synced(self) -> None:
        """Wake :meth:`synced` waiters once the send dictionary is in force (or the session closed)."""
        session = self.session
        if not self._told_synced and session is not None:
            if session.send_dictionary is not None:
                self._told_synced = True
                self._notify()
            elif session.closed:
                self._notify()

    async def send_close(self, message: Message) -> None:
        """Send a ``websocket.close`` message once, after the frames already queued."""
        await self._turn()
        try:
            if not self.closed:
                self.closed = True
                self._notify()
                with contextlib.suppress(OSError):
                    await self._raw_send(message)
        finally:
            self._end_turn()

    async def drop(self, code: int, reason: str) -> None:
        """Close a connection already marked closed (a broadcast backlog over its bound): its queued
        frames are discarded, the close frame goes after the write in progress."""
        if self.session is not None:
            self.session.data_to_send()
            self.session.close()
        self._plain_queue = []
        self.backlog = 0
        await self._turn()
        try:
            with contextlib.suppress(*_refused()):
                await self._raw_send({"type": "websocket.close", "code": code, "reason": reason})
        finally:
            self._end_turn()

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
            "open": self.accepted and not self.closed,  # False while the application holds the accept
            "dictionary": s.send_dictionary.id if s is not None and s.send_dictionary is not None else None,
            "age_seconds": round(time.time() - self.opened_at, 3),
            "stats": s.stats.as_dict() if s is not None else None,
        }


def _send_event(message: str | bytes) -> Message:
    """The ASGI ``websocket.send`` event carrying ``message`` (text for a str, bytes otherwise)."""
    if isinstance(message, str):
        return {"type": "websocket.send", "text": message}
    return {"type": "websocket.send", "bytes": message}


#: Flushes that had to wait for their peer, running on in tasks (a strong reference until they end).
_pending: set[asyncio.Task[None]] = set()


async def _finish(coro: Coroutine[Any, Any, None], waiting: Any) -> None:
    """Drive ``coro`` on from its first suspension, where it waits for ``waiting`` (a future, or None
    for a bare yield): what an eager task does (Python 3.12), for :meth:`AuraConnection.start_flush`."""
    while True:
        cancelled: BaseException | None = None
        try:
            if waiting is None:
                await asyncio.sleep(0)
            else:
                waiting._asyncio_future_blocking = False  # as a Task does with what its coroutine yields
                await waiting
        except asyncio.CancelledError as exc:
            if waiting is None or not waiting.cancelled():
                cancelled = exc  # this task was cancelled, not the future: pass it on
        except BaseException:  # noqa: S110 - the future's own error: the coroutine gets it when resumed
            pass
        try:
            waiting = coro.throw(cancelled) if cancelled is not None else coro.send(None)
        except StopIteration:
            return


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
