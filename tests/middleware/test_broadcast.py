"""Broadcast delivery in the middleware: channels, one frame per dictionary, the client's decodable methods.

Sans-I/O where it can be: server sessions attached to :class:`AuraConnection`
objects whose ``send`` collects frames, decoded by the matching client sessions.
"""

from __future__ import annotations

import asyncio
from typing import Any

from _cluster import sample_messages
from conftest import eventually

from aura_wire import Dictionary, train_dictionary
from aura_wire.cluster.bus import Prepared
from aura_wire.middleware.asgi import AuraConnection, AuraMiddleware
from aura_wire.session import MessageReceived, Role, Session
from aura_wire.session.negotiation import Hints

MSGS = sample_messages(40, skip=200)
_D: list[Dictionary] = []


def dicts() -> tuple[Dictionary, Dictionary]:
    if not _D:
        _D.append(train_dictionary(sample_messages(150), templates=False))
        _D.append(train_dictionary(sample_messages(150, skip=600), templates=False))
    return _D[0], _D[1]


async def _app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never called here
    raise AssertionError


class Peer:
    """A server-side AuraConnection on dictionary ``d`` (held by the client: no transfer) and its client."""

    def __init__(self, mw: AuraMiddleware, d: Dictionary | None, decodes: int | None = None) -> None:
        hints = Hints(have=(d.id,) if d is not None else (), decodes=decodes)
        self.sent: list[bytes] = []

        async def send(msg: Any) -> None:
            self.sent.append(msg["bytes"])
        self.conn = AuraConnection(mw, {"type": "websocket", "path": "/ws"}, send)
        self.conn.session = Session(Role.SERVER, dictionaries=[d] if d is not None else [], hints=hints)
        self.client = Session(Role.CLIENT, hints=hints, held=[d] if d is not None else [])
        self.conn.session.start()
        self.conn.accepted = True  # what ServerAdapter does at the application's accept
        mw.connections[self.conn.id] = self.conn

    def received(self) -> list[str | bytes]:
        out: list[str | bytes] = []
        for f in self.sent:
            self.client.receive_frame(f)
        self.sent.clear()
        for ev in self.client.events():
            if isinstance(ev, MessageReceived):
                out.append(ev.data)
        return out

    def data_frames(self) -> list[bytes]:
        return [f for f in self.sent if f[0] & 7 != 7]


async def test_channel_broadcast_encodes_once_per_dictionary_and_only_for_subscribers() -> None:
    d1, d2 = dicts()
    mw = AuraMiddleware(_app, dictionary=d1)
    a, b, other, outsider = Peer(mw, d1), Peer(mw, d1), Peer(mw, d2), Peer(mw, d1)
    for p in (a, b, other):
        mw.subscribe(p.conn, "news")
    for p in (a, b, other, outsider):
        p.received()  # HELLO / USE
    for m in MSGS:
        assert await mw.broadcast(m, channel="news") == 3
    assert a.received() == b.received() == other.received() == MSGS
    assert outsider.received() == []
    # One encode per message on d1 (the current dictionary), one more for the connection on d2.
    assert mw.broadcast_metrics.messages == 2 * len(MSGS)
    mw.unsubscribe(b.conn, "news")
    await mw.broadcast("after", channel="news")
    assert b.received() == [] and a.received() == ["after"]


async def test_prepared_frame_goes_only_to_connections_on_its_dictionary() -> None:
    d1, d2 = dicts()
    publisher = AuraMiddleware(_app, dictionary=d2)  # another replica, already on d2
    mw = AuraMiddleware(_app, dictionary=d1)  # this replica still announces d1 (switching)
    on1, on2 = Peer(mw, d1), Peer(mw, d2)
    for p in (on1, on2):
        mw.subscribe(p.conn, "news")
        p.received()
    for m in MSGS:
        frame = publisher._broadcast_encoder(d2).encode(m)
        await mw.deliver_prepared(Prepared("r1", "news", d2.id, m, frame))
        assert on2.sent[-1] == frame  # forwarded unchanged
    assert on1.received() == on2.received() == MSGS
    assert mw.broadcast_metrics.messages == len(MSGS)  # re-encoded here only for the d1 connection


async def test_broadcast_frames_use_only_methods_the_client_decodes() -> None:
    d1, _ = dicts()
    mw = AuraMiddleware(_app, dictionary=d1)
    full, raw_zstd = Peer(mw, d1), Peer(mw, d1, decodes=0x03)
    for p in (full, raw_zstd):
        mw.subscribe(p.conn, "news")
        p.received()
    for m in MSGS:
        await mw.broadcast(m, channel="news")
    assert {f[0] & 7 for f in raw_zstd.data_frames()} <= {0, 1}
    assert {f[0] & 7 for f in full.data_frames()} - {0, 1}  # the unrestricted frames do use other methods
    assert full.received() == raw_zstd.received() == MSGS


async def test_broadcast_to_connections_without_channel_still_works() -> None:
    d1, _ = dicts()
    mw = AuraMiddleware(_app, dictionary=d1)
    peers = [Peer(mw, d1), Peer(mw, None)]
    for p in peers:
        p.received()
    assert await mw.broadcast(MSGS[0]) == 2
    assert [p.received() for p in peers] == [[MSGS[0]], [MSGS[0]]]


async def test_a_failing_plain_connection_does_not_stop_the_broadcast() -> None:
    d1, _ = dicts()
    mw = AuraMiddleware(_app, dictionary=d1)

    async def gone(msg: Any) -> None:
        raise OSError("client disconnected")

    dead = AuraConnection(mw, {"type": "websocket"}, gone)  # passed through: no session
    dead.accepted = True
    mw.connections[dead.id] = dead
    mw.subscribe(dead, "news")
    peer = Peer(mw, d1)
    mw.subscribe(peer.conn, "news")
    peer.received()
    assert await mw.broadcast(MSGS[0], channel="news") == 1
    assert peer.received() == [MSGS[0]] and dead.closed


async def test_a_peer_whose_write_waits_does_not_hold_up_the_broadcast() -> None:
    """The server's write to one peer waits (its buffer is full): the broadcast goes on to the others;
    that peer's next frames wait in its session and follow in order once the write completes, up to
    ``broadcast_backlog`` bytes; past it the peer is closed with 1008 and counted in ``failures``."""
    d1, _ = dicts()
    size = [len(AuraMiddleware(_app, dictionary=d1)._broadcast_encoder(d1).encode(m)) for m in MSGS[:5]]
    backlog = max(size[1], size[3])  # MSGS[1] and MSGS[3] each fit, MSGS[3] and MSGS[4] together do not
    assert size[3] + size[4] > backlog
    mw = AuraMiddleware(_app, dictionary=d1, broadcast_backlog=backlog)
    fast, slow = Peer(mw, d1), Peer(mw, d1)
    for p in (fast, slow):
        await p.conn.flush()  # HELLO
        p.received()
    writable = asyncio.Event()
    closes: list[Any] = []

    async def blocked_send(msg: Any) -> None:  # a server whose write buffer for this peer is full
        await writable.wait()
        if msg["type"] == "websocket.close":
            closes.append(msg)
        else:
            slow.sent.append(msg["bytes"])
    slow.conn._raw_send = blocked_send
    assert await mw.broadcast(MSGS[0]) == 2  # written to fast; waiting for slow
    assert await mw.broadcast(MSGS[1]) == 2  # queued for slow, within the backlog
    assert fast.received() == MSGS[:2] and slow.sent == []
    writable.set()
    await eventually(lambda: len(slow.sent) == 2, what="the slow peer's frames")
    assert slow.received() == MSGS[:2]  # in order, once its write completed
    writable.clear()
    assert await mw.broadcast(MSGS[2]) == 2  # slow waits again
    assert await mw.broadcast(MSGS[3]) == 2  # queued: within the backlog
    assert await mw.broadcast(MSGS[4]) == 1  # over it: slow is dropped, fast goes on
    assert slow.conn.closed and mw.failures == {1008: 1}
    assert await mw.broadcast(MSGS[5]) == 1
    assert fast.received() == MSGS[2:6]
    writable.set()
    await eventually(lambda: bool(closes), what="the slow peer's close")
    assert closes[0]["code"] == 1008 and slow.received() == [MSGS[2]]  # the write in progress, then the close


async def test_a_plain_peer_whose_write_waits_gets_the_same_treatment() -> None:
    """A passed-through connection whose write waits: the broadcast goes on; its next messages (text
    stays text) wait in order and follow once the write completes; past ``broadcast_backlog`` bytes
    of messages it is closed with 1008 and counted in ``failures``."""
    d1, _ = dicts()
    msgs: list[str | bytes] = [m if i % 2 else (m.encode() if isinstance(m, str) else m)
                               for i, m in enumerate(MSGS[:6])]
    size = [len(m.encode()) if isinstance(m, str) else len(m) for m in msgs]
    mw = AuraMiddleware(_app, dictionary=d1, broadcast_backlog=max(size[1], size[3]))
    assert size[3] + size[4] > mw.broadcast_backlog
    fast = Peer(mw, d1)
    await fast.conn.flush()
    fast.received()
    writable = asyncio.Event()
    got: list[Any] = []

    async def blocked_send(msg: Any) -> None:
        await writable.wait()
        got.append(msg)
    slow = AuraConnection(mw, {"type": "websocket"}, blocked_send)  # passed through: no session
    slow.accepted = True
    mw.connections[slow.id] = slow

    def plain() -> list[str | bytes]:
        out = [m.get("text", m.get("bytes")) for m in got if m["type"] == "websocket.send"]
        got[:] = [m for m in got if m["type"] != "websocket.send"]
        return out
    assert await mw.broadcast(msgs[0]) == 2  # written to fast; waiting for slow
    assert await mw.broadcast(msgs[1]) == 2  # queued for slow, within the backlog
    assert fast.received() == msgs[:2] and got == []
    writable.set()
    await eventually(lambda: len(got) == 2, what="the slow peer's messages")
    assert plain() == msgs[:2]  # in order, text as text, once its write completed
    writable.clear()
    assert await mw.broadcast(msgs[2]) == 2
    assert await mw.broadcast(msgs[3]) == 2
    assert await mw.broadcast(msgs[4]) == 1  # over the backlog: slow is dropped, fast goes on
    assert slow.closed and mw.failures == {1008: 1}
    assert await mw.broadcast(msgs[5]) == 1
    assert fast.received() == msgs[2:6]
    writable.set()
    await eventually(lambda: any(m["type"] == "websocket.close" for m in got), what="the slow peer's close")
    assert plain() == [msgs[2]] and got[0]["code"] == 1008  # the write in progress, then the close


async def test_a_plain_connection_is_a_target_from_its_accept_to_its_close() -> None:
    """The passed-through application's send (``send_passed_through``) marks the accept and the
    application's own close: before the one and after the other a broadcast neither writes to the
    connection nor counts it, and never counts a failure."""
    mw = AuraMiddleware(_app)
    got: list[Any] = []

    async def send(msg: Any) -> None:
        got.append(msg)  # every write tried, also the ones refused
        if msg["type"] == "websocket.send" and got[0]["type"] != "websocket.accept":
            raise RuntimeError("Expected ASGI message 'websocket.accept'")  # as uvicorn before the accept
        if len(got) > 1 and got[-2]["type"] == "websocket.close":
            raise RuntimeError("Unexpected ASGI message 'websocket.send'")  # as uvicorn after a close
    conn = AuraConnection(mw, {"type": "websocket"}, send)
    mw.connections[conn.id] = conn
    mw.subscribe(conn, "news")
    assert await mw.broadcast("early") == 0 and await mw.broadcast("early", channel="news") == 0
    assert (got, conn.closed, conn.accepted) == ([], False, False)  # skipped, and not marked gone
    await conn.send_passed_through({"type": "websocket.accept"})
    assert conn.accepted
    assert await mw.broadcast("first") == 1 and await mw.broadcast(b"second", [conn]) == 1
    assert await mw.broadcast("third", channel="news") == 1
    await conn.send_passed_through({"type": "websocket.send", "text": "own"})
    await conn.send_passed_through({"type": "websocket.close", "code": 1000})
    assert conn.closed and conn.accepted
    assert await mw.broadcast("late") == 0 and await mw.broadcast("late", channel="news") == 0
    assert [(m["type"][10:], m.get("text", m.get("bytes"))) for m in got] == [
        ("accept", None), ("send", "first"), ("send", b"second"), ("send", "third"), ("send", "own"), ("close", None)]
    assert mw.failures == {}
