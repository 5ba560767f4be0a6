"""The server side of one AURA connection: ASGI ``receive``/``send`` wrapped around a Session.

:class:`ServerAdapter` is what :class:`~aura_wire.middleware.AuraMiddleware`
runs for a websocket connection whose client offers AURA: at the
application's ``websocket.accept`` it selects the subprotocol and starts the
connection's :class:`~aura_wire.session.Session`; the application's sends
become frames, a reader task turns the client's frames into the messages the
application receives, and a failed session closes the connection with its
close code.  I/O adapter only: the protocol is in :mod:`aura_wire.session`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from typing import TYPE_CHECKING

from aura_wire.errors import CLOSE_INTERNAL_ERROR, ProtocolError
from aura_wire.middleware.connection import (
    SENSITIVE_KEY,
    AuraConnection,
    ConnectionGone,
    Message,
    Receive,
    Scope,
    Send,
)
from aura_wire.session import ConnectionFailed, MessageReceived, Role, Session
from aura_wire.session.negotiation import Hints, server_select
from aura_wire.session.params import server_codec_config

if TYPE_CHECKING:
    from aura_wire.middleware.asgi import AuraMiddleware

__all__ = ["ServerAdapter"]

#: Messages buffered between the connection's reader task and the application.
_INBOX_SIZE = 16


class _Inbox:
    """The reader task's messages for the application, in order, at most ``size`` waiting (the
    final disconnect may go beyond): asyncio.Queue for one reader and one application, each wait
    on a future of its own, without the queue's task accounting (``join``) it does not need."""

    def __init__(self, size: int) -> None:
        self._items: collections.deque[Message] = collections.deque()
        self._size = size
        self._getters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._putters: collections.deque[asyncio.Future[None]] = collections.deque()

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return len(self._items) >= self._size

    @staticmethod
    def _wake(waiters: collections.deque[asyncio.Future[None]]) -> None:
        while waiters:
            w = waiters.popleft()
            if not w.done():
                w.set_result(None)
                return

    @staticmethod
    async def _wait(waiters: collections.deque[asyncio.Future[None]]) -> None:
        w = asyncio.get_running_loop().create_future()
        waiters.append(w)
        try:
            await w
        except BaseException:  # cancelled: leave the line, or pass on the wake-up it was given
            if w.cancel():
                with contextlib.suppress(ValueError):
                    waiters.remove(w)
            else:
                _Inbox._wake(waiters)
            raise

    def put_nowait(self, message: Message) -> None:
        self._items.append(message)
        if self._getters:
            self._wake(self._getters)

    async def put(self, message: Message) -> None:
        while self.full():
            await self._wait(self._putters)
        self.put_nowait(message)

    def get_nowait(self) -> Message:
        message = self._items.popleft()
        if self._putters:
            self._wake(self._putters)
        return message

    async def get(self) -> Message:
        while not self._items:
            await self._wait(self._getters)
        return self.get_nowait()


class ServerAdapter:
    """Runs one AURA-offering websocket connection: wraps receive/send around a Session."""

    def __init__(self, mw: AuraMiddleware, conn: AuraConnection, offered: list[str], receive: Receive,
                 send: Send, hints: Hints) -> None:
        self.mw = mw
        self.hints = hints
        self.conn = conn
        self.offered = offered
        self.raw_receive = receive
        self.raw_send = send
        self.accepted = False
        self.inbox = _Inbox(_INBOX_SIZE)
        self.reader: asyncio.Task[None] | None = None
        self.final: Message | None = None
        self.app_closed = False  # the application sent websocket.close

    async def run(self, app_scope: Scope) -> None:
        try:
            await self.mw.app(app_scope, self.receive, self.send)
        finally:
            if self.reader is not None:
                self.reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.reader
            if self.conn.session is not None:
                self.conn.session.close()
            self.conn._notify()

    async def receive(self) -> Message:
        if self.conn.session is None:
            return await self.raw_receive()
        inbox = self.inbox
        if not inbox.empty():
            return inbox.get_nowait()  # no coroutine when a message is waiting
        if self.final is not None:
            return self.final
        return await inbox.get()

    async def send(self, message: Message) -> None:
        kind = message["type"]
        conn = self.conn
        session = conn.session
        if session is None:
            if kind == "websocket.accept" and not self.accepted:
                await self._accept(message)
                return
            if SENSITIVE_KEY in message:
                message = {k: v for k, v in message.items() if k != SENSITIVE_KEY}
            await conn.send_passed_through(message)
            return
        if kind == "websocket.send":
            if self.app_closed:
                # after its own close the application gets what the server gives it (uvicorn: RuntimeError)
                await self.raw_send({k: v for k, v in message.items() if k != SENSITIVE_KEY})
                return
            if conn.closed or session.closed:
                raise ConnectionGone("the AURA connection is closed")
            text = message.get("text")
            data: str | bytes = text if text is not None else bytes(message.get("bytes") or b"")
            # {"type": "websocket.send", ..., "aura.sensitive": True}: code it with no shared state
            # (spec/wire-format.md §5.3), e.g. a message that carries a secret next to attacker data
            sensitive = bool(message.get(SENSITIVE_KEY, False))
            # The usual case: nothing waits for this peer and no flush is writing, so the frame goes
            # straight to the server's send (no session queue, no flush coroutine); otherwise it
            # queues behind what waits, in order.
            direct = not conn._sending and not session.pending
            if direct:
                frame = session.encode(data, sensitive=sensitive)
            else:
                session.send_message(data, sensitive=sensitive)
            if conn.shadow is not None:
                conn.observe_shadow("sent", data)
            cluster = self.mw.cluster
            if cluster is not None and not sensitive:
                cluster.sample(data)  # sensitive messages never reach the shared training buffer
            if direct:
                await conn.send_frame(frame)
            else:
                await conn.flush()
            if conn.closed:  # the server reported the peer gone while we wrote
                raise ConnectionGone("the AURA connection is closed")
        elif kind == "websocket.close":
            self.app_closed = True
            await conn.send_close(message)
            session.close()
        else:
            await self.raw_send(message)

    async def _accept(self, message: Message) -> None:
        """The application's ``websocket.accept``: AURA when the selected subprotocol says so (the
        session starts and HELLO goes out), else the connection is passed through from now on."""
        self.accepted = True
        chosen, aura = server_select(self.offered, message.get("subprotocol"))
        self.conn.subprotocol = message.get("subprotocol")
        if not aura:
            await self.conn.send_passed_through(message)
            return
        out = dict(message)
        out["subprotocol"] = chosen
        codec, sent, received = self.mw.codec_config, self.mw.sent_metrics, self.mw.received_metrics
        if self.mw.canary is not None:
            arm = self.mw.canary.choose()
            self.conn.arm = arm.name
            codec = {**codec, **arm.config}
            sent, received = arm.sent_metrics, arm.received_metrics
        new = Session(
            Role.SERVER,
            dictionaries=[self.mw.dictionary] if self.mw.dictionary is not None else [],
            config=self.mw.session_config,
            codec_config=server_codec_config(codec),
            send_metrics=sent,
            receive_metrics=received,
            hints=self.hints,
            savings=self.mw.savings,
        )
        self.conn.session = new
        self.mw.total_aura_connections += 1
        self.mw._maybe_shadow(self.conn)
        await self.raw_send(out)
        new.start()
        self.conn.accepted = True  # a broadcast target from now on: its frames follow the HELLO
        await self.conn.flush()
        self.reader = asyncio.create_task(self._read())

    async def _fail(self, code: int, reason: str) -> None:
        self.mw.failures[code] = self.mw.failures.get(code, 0) + 1
        await self.conn.send_close({"type": "websocket.close", "code": code, "reason": reason})
        self.final = {"type": "websocket.disconnect", "code": code, "reason": reason}
        await self.inbox.put(self.final)

    async def _read(self) -> None:
        try:
            await self._read_loop()
        except OSError:
            pass  # the server reports the peer gone while we answered a control frame (uvicorn: ClientDisconnected)
        finally:
            self.conn.closed = True
            self.conn._notify()
            if self.conn.session is not None:
                self.conn.session.close()
            if self.final is None:
                self.final = {"type": "websocket.disconnect", "code": 1006}
                if not self.inbox.full():
                    self.inbox.put_nowait(self.final)

    async def _read_loop(self) -> None:
        conn = self.conn
        session = conn.session
        assert session is not None
        while True:
            msg = await self.raw_receive()
            kind = msg["type"]
            if kind == "websocket.disconnect":
                self.conn.closed = True  # from now on the application's sends raise ConnectionGone
                self.final = msg
                await self.inbox.put(msg)
                return
            if kind != "websocket.receive":
                continue
            data = msg.get("bytes")
            if data is None:
                session.fail(ProtocolError("text message on an AURA connection (frames are binary messages)",
                                           field="websocket.opcode"))
            else:
                try:
                    session.receive_frame(data)
                except Exception:  # a bug in the codec: close with 1011, no details leaked
                    await self._fail(CLOSE_INTERNAL_ERROR, "internal error")
                    raise
            if session.pending or conn.flushing:
                await conn.flush()
            else:
                conn.flushed()  # nothing to write (a data frame): no flush coroutine
            inbox = self.inbox
            for ev in session.events():
                if isinstance(ev, MessageReceived):
                    if conn.shadow is not None:
                        conn.observe_shadow("received", ev.data)
                    out = ({"type": "websocket.receive", "text": ev.data} if isinstance(ev.data, str)
                           else {"type": "websocket.receive", "bytes": ev.data})
                    if inbox.full():
                        await inbox.put(out)  # the application is behind: wait for it
                    else:
                        inbox.put_nowait(out)
                elif isinstance(ev, ConnectionFailed):
                    await self._fail(ev.code, ev.reason)
                    return
