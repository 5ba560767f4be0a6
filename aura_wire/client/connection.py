"""The AURA WebSocket client: ``connect(uri, ...)`` on top of ``websockets`` (spec/session.md §3, §6).

:func:`connect` works like :func:`websockets.asyncio.client.connect`: an
async context manager (or awaitable) yielding a :class:`Connection` with
``send``, ``recv``, async iteration, ``close`` and ``stats``.  It offers the
``aura.v1`` subprotocol (composed with the application's own), and when the
server selects it, runs a :class:`~aura_wire.session.Session`: a background
reader task feeds received messages to the session, answers the server's
HELLO from the dictionary cache, an HTTP GET or an in-band fetch, and queues
application messages for :meth:`Connection.recv`.  :func:`connect` returns
once HELLO has arrived: the session has then adopted the server's codec
parameters (spec/session.md §4.1.1), or :func:`connect` raises the
:class:`~aura_wire.errors.ProtocolError` that made the client refuse them.  When the server does not
select AURA the connection is a plain websockets connection.

Only I/O glue here; the protocol lives in :mod:`aura_wire.session`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import urllib.parse
from types import TracebackType
from typing import Any, AsyncIterator, Generator, Iterable, Sequence

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK
from websockets.protocol import State as WsState
from websockets.typing import Subprotocol

from aura_wire.client.cache import DictionaryCache
from aura_wire.client.http import fetch_dictionary_sized
from aura_wire.codec.config import DEFAULT_MAX_MESSAGE_SIZE
from aura_wire.codec.dictionary import Dictionary
from aura_wire.codec.frame import MAX_FRAME_OVERHEAD, MAX_STATE_BLOCK, METHOD_NAMES

from aura_wire.errors import CLOSE_INTERNAL_ERROR, AuraError, ConfigError, ProtocolError
from aura_wire.session import (
    ConnectionFailed,
    DictionaryFetched,
    DictionaryInUse,
    DictionaryOffered,
    MessageReceived,
    Role,
    Session,
    SessionConfig,
    State,
)
from aura_wire.session.negotiation import (
    CODINGS,
    DICTIONARY_PATH,
    MAX_HAVE,
    Hints,
    client_offer,
    hint_tokens,
    parse_selected,
)

__all__ = ["connect", "Connection", "ClientStats"]

log = logging.getLogger("aura_wire.client")

_FETCH_MODES = ("inband", "http", "auto", "none")
_FETCH_WHEN = ("pays", "now")
_END = object()
#: Bytes of CONTROL framing per CHUNK and GET pair (id, offset, WebSocket headers), for the cost of a transfer.
_CHUNK_OVERHEAD = 80
#: Bytes of an HTTP request and response around a dictionary body (headers), for the cost of a fetch.
_HTTP_OVERHEAD = 400


def transfer_cost(size: int, *, http: bool, max_chunk: int = 16384) -> int:
    """Bytes a dictionary transfer of ``size`` body bytes puts on the network (spec §6.8)."""
    if http:
        return size + _HTTP_OVERHEAD
    return size + _CHUNK_OVERHEAD * max(1, math.ceil(size / max_chunk))


def _origin(uri: str) -> str:
    parts = urllib.parse.urlsplit(uri)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}"


def decodes_mask(methods: Iterable[str]) -> int:
    """The ``aura.decodes`` mask (spec §3.4) for method names such as ``"zstd"``; RAW is always in."""
    by_name = {name.lower(): m for m, name in METHOD_NAMES.items() if m < 7}
    mask = 1
    for name in methods:
        m = by_name.get(name.lower())
        if m is None:
            raise ConfigError(f"unknown method {name!r}; known: {', '.join(sorted(by_name))}", field="decodes")
        mask |= 1 << m
    return mask


class ClientStats:
    """Raw (application) vs wire (AURA frame) bytes per direction, and method counts.

    A view on the session's :class:`~aura_wire.session.SessionStats`; for a
    plain (non-AURA) connection raw and wire bytes are equal.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _s(self) -> Any:
        s = self._conn.session
        return s.stats if s is not None else self._conn._plain_stats

    @property
    def sent_raw_bytes(self) -> int:
        return int(self._s().sent_raw_bytes)

    @property
    def sent_wire_bytes(self) -> int:
        return int(self._s().sent_wire_bytes)

    @property
    def received_raw_bytes(self) -> int:
        return int(self._s().received_raw_bytes)

    @property
    def received_wire_bytes(self) -> int:
        return int(self._s().received_wire_bytes)

    @property
    def sent_messages(self) -> int:
        return int(self._s().sent_messages)

    @property
    def received_messages(self) -> int:
        return int(self._s().received_messages)

    @property
    def sent_methods(self) -> dict[str, int]:
        return dict(self._s().sent_methods)

    @property
    def received_methods(self) -> dict[str, int]:
        return dict(self._s().received_methods)

    @property
    def control_bytes(self) -> int:
        s = self._s()
        return int(s.control_sent_bytes + s.control_received_bytes)

    @property
    def dictionary_bytes(self) -> int:
        """Dictionary bytes this connection moved: in-band (inside the control bytes) and over HTTP."""
        s = self._s()
        return int(s.dictionary_bytes + s.http_dictionary_bytes)

    @property
    def total_bytes(self) -> int:
        """Every byte AURA put on the network for this connection: frames both ways and HTTP dictionaries."""
        s = self._s()
        return (self.sent_wire_bytes + self.received_wire_bytes + self.control_bytes
                + int(s.http_dictionary_bytes))

    @property
    def saved_bytes(self) -> int:
        """Application bytes minus :attr:`total_bytes` (control frames and dictionary transfers included)."""
        return self.sent_raw_bytes + self.received_raw_bytes - self.total_bytes

    @property
    def ratio(self) -> float:
        """Application bytes / :attr:`total_bytes`, both directions (the honest ratio; 0.0 before traffic)."""
        total = self.total_bytes
        return (self.sent_raw_bytes + self.received_raw_bytes) / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = self._s().as_dict()
        d["aura"] = self._conn.aura
        d["dictionary"] = self._conn.dictionary_id
        d["saved_bytes"] = self.saved_bytes
        d["total_bytes"] = self.total_bytes
        d["ratio"] = round(self.ratio, 4)
        return d

    def __repr__(self) -> str:
        return (f"<ClientStats sent {self.sent_raw_bytes}->{self.sent_wire_bytes} "
                f"received {self.received_raw_bytes}<-{self.received_wire_bytes} bytes>")


class _PlainStats:
    def __init__(self) -> None:
        self.sent_messages = self.sent_raw_bytes = self.sent_wire_bytes = 0
        self.received_messages = self.received_raw_bytes = self.received_wire_bytes = 0
        self.control_sent_bytes = self.control_received_bytes = 0
        self.dictionary_bytes = self.http_dictionary_bytes = 0
        self.sent_methods: dict[str, int] = {}
        self.received_methods: dict[str, int] = {}

    def as_dict(self) -> dict[str, Any]:
        return {"sent": {"messages": self.sent_messages, "raw_bytes": self.sent_raw_bytes,
                         "wire_bytes": self.sent_wire_bytes},
                "received": {"messages": self.received_messages, "raw_bytes": self.received_raw_bytes,
                             "wire_bytes": self.received_wire_bytes}}


def _size(m: str | bytes) -> int:
    return len(m.encode("utf-8")) if isinstance(m, str) else len(m)


class Connection:
    """An open client connection; AURA when :attr:`aura` is True, plain websockets otherwise."""

    def __init__(self, ws: ClientConnection, session: Session | None, subprotocol: str | None, *,
                 uri: str, cache: DictionaryCache | None, fetch: str, dictionary_path: str,
                 max_queue: int = 16, fetch_when: str = "now") -> None:
        self.ws = ws
        self.session = session
        self.subprotocol = subprotocol
        self.uri = uri
        self._cache = cache
        self._fetch = fetch
        self._fetch_when = fetch_when
        #: A fetch waiting for its break-even point (spec §6.8): (id, size, messages at which it pays).
        self._deferred: tuple[str, int, float] | None = None
        #: Messages of earlier connections to this origin that ended before their dictionary paid (spec §6.8).
        self._earlier_traffic = 0
        self._dictionary_path = dictionary_path
        self._plain_stats = _PlainStats()
        self.stats = ClientStats(self)
        # The inbox itself is unbounded so the end marker always fits (a full inbox used to drop it and
        # recv() waited forever); back-pressure is _deliver's: the reader waits while ``max_queue``
        # messages are unread, except before the dictionary sync settles, when it keeps reading up to
        # ``max_message_size`` bytes of messages (the sync frames queue behind them).
        self._inbox: asyncio.Queue[object] = asyncio.Queue()
        self._max_queue = max_queue
        self._queued_bytes = 0
        self._space = asyncio.Event()
        self._space.set()
        self._lock = asyncio.Lock()
        self._synced = asyncio.Event()
        self._settled = asyncio.Event()  # synced, or known to stay dictionary-free
        self._hello = asyncio.Event()  # HELLO handled (parameters adopted), or the session ended
        self._error: BaseException | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._reader: asyncio.Task[None] | None = None
        if session is not None:
            self._reader = asyncio.get_running_loop().create_task(self._read())
        else:
            self._settled.set()
            self._hello.set()

    # -- properties ------------------------------------------------------------------
    @property
    def aura(self) -> bool:
        """True when the server selected AURA."""
        return self.session is not None

    @property
    def dictionary_id(self) -> str | None:
        """The dictionary the client's frames use now (None: dictionary-free)."""
        s = self.session
        d = s.send_dictionary if s is not None else None
        return d.id if d is not None else None

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self, timeout: float | None = 10.0) -> bool:
        """Wait until both directions use a dictionary, or it is settled that none will (returns False)."""
        await asyncio.wait_for(self._settled.wait(), timeout)
        return self._synced.is_set()

    # -- application API ------------------------------------------------------------------
    async def send(self, message: str | bytes, *, sensitive: bool = False) -> None:
        """Send one message (``str`` as text, ``bytes`` as binary).

        ``sensitive=True`` codes it with no shared state: no dictionary, no
        history, and later frames do not depend on it (spec §7, wire-format §7).
        """
        s = self.session
        if s is None:
            await self.ws.send(message)
            st = self._plain_stats
            st.sent_messages += 1
            st.sent_raw_bytes += _size(message)
            st.sent_wire_bytes += _size(message)
            return
        if s.closed:
            await self._raise_closed()
        s.send_message(message, sensitive=sensitive)
        if self._deferred is not None:
            await self._maybe_fetch()
        await self._flush()

    async def recv(self) -> str | bytes:
        """The next message from the server; raises ``websockets.ConnectionClosed`` at the end."""
        if self.session is None:
            msg = await self.ws.recv()
            st = self._plain_stats
            st.received_messages += 1
            st.received_raw_bytes += _size(msg)
            st.received_wire_bytes += _size(msg)
            return msg
        item = await self._inbox.get()
        if item is _END:
            self._inbox.put_nowait(_END)  # later calls end the same way
            await self._raise_closed()
        assert isinstance(item, (str, bytes))
        self._queued_bytes -= len(item)
        if self._inbox.qsize() < self._max_queue:
            self._space.set()
        return item

    async def _deliver(self, data: str | bytes) -> None:
        """Queue a received message for recv(), waiting while the application is behind."""
        self._inbox.put_nowait(data)
        self._queued_bytes += len(data)
        if self._inbox.qsize() < self._max_queue:
            return
        s = self.session
        if not self._settled.is_set() and s is not None and self._queued_bytes <= s.config.max_message_size:
            return  # the sync is still running: keep reading so wait_synced() can finish
        self._space.clear()
        await self._space.wait()

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str | bytes]:
        try:
            while True:
                yield await self.recv()
        except ConnectionClosedOK:
            return

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (and stop the reader)."""
        s = self.session
        if self._deferred is not None and self._cache is not None and s is not None:
            # The dictionary did not pay within this connection: the next one to this origin counts
            # this traffic too, so a client that keeps coming back fetches it in the end (spec §6.8).
            n = s.stats.sent_messages + s.stats.received_messages
            with contextlib.suppress(OSError):
                await asyncio.to_thread(self._cache.add_traffic, _origin(self.uri), n)
            self._deferred = None
        if self.session is not None and not self.session.closed:
            self.session.close()
        await self.ws.close(code, reason)
        await self._stop_tasks()

    async def _stop_tasks(self) -> None:
        tasks = list(self._tasks)
        if self._reader is not None:
            tasks.append(self._reader)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await t

    async def _raise_closed(self) -> None:
        if self._error is not None and not isinstance(self._error, ConnectionClosed):
            raise self._error
        await self.ws.wait_closed()
        while True:  # messages the reader left behind are dropped; recv then raises ConnectionClosed
            await self.ws.recv()

    # -- session driving -----------------------------------------------------------------
    async def _flush(self, *, from_reader: bool = False) -> None:
        s = self.session
        assert s is not None
        async with self._lock:
            for frame in s.data_to_send():
                if from_reader and self.ws.state is not WsState.OPEN:
                    # The server is closing: what the session answers (a GET, a USE) is moot, and
                    # websockets' send() would wait up to close_timeout for the close to finish, which
                    # cannot happen while unread messages keep the socket paused.  Keep reading instead.
                    return
                try:
                    await self.ws.send(frame)
                except ConnectionClosed:
                    if not from_reader:
                        raise
                    # The server is closing: keep reading what it sent before its close frame.
                    return

    async def _read(self) -> None:
        s = self.session
        assert s is not None
        try:
            while True:
                try:
                    data = await self.ws.recv()
                except ConnectionClosed:
                    if not s.closed:
                        s.close()
                    break
                if isinstance(data, str):
                    s.fail(ProtocolError("text message on an AURA connection (frames are binary messages)",
                                         field="websocket.opcode"))
                else:
                    s.receive_frame(data)
                await self._flush(from_reader=True)
                if not await self._handle_events():
                    break
        except ConnectionClosed:
            pass
        except BaseException as exc:
            if not isinstance(exc, asyncio.CancelledError):
                self._error = exc
                with contextlib.suppress(ConnectionClosed):
                    await self.ws.close(CLOSE_INTERNAL_ERROR, "internal error")
            raise
        finally:
            self._settled.set()
            self._hello.set()
            self._inbox.put_nowait(_END)  # the inbox is unbounded: the end is never lost

    async def _handle_events(self) -> bool:
        s = self.session
        assert s is not None
        if s.params is not None:
            self._hello.set()  # HELLO adopted: connect() may return before the offer is answered
        for ev in s.events():
            if isinstance(ev, MessageReceived):
                await self._deliver(ev.data)
                if self._deferred is not None:
                    await self._maybe_fetch()
            elif isinstance(ev, DictionaryOffered):
                await self._on_offer(ev)
            elif isinstance(ev, DictionaryFetched):
                if self._cache is not None:
                    await asyncio.to_thread(self._cache.put, ev.dictionary)
            elif isinstance(ev, DictionaryInUse):
                if ev.direction == "send" and self._cache is not None:
                    # Next time, name it in the offer (aura.have) so the server switches at once (spec §6.1.1).
                    await asyncio.to_thread(self._cache.remember, _origin(self.uri), ev.dictionary_id)
                if ev.direction == "receive":
                    self._synced.set()
                    self._settled.set()
            elif isinstance(ev, ConnectionFailed):
                log.warning("closing AURA connection: %d %s", ev.code, ev.reason)
                await self.ws.close(ev.code, ev.reason)
                return False
        if s.state is State.PLAIN:
            self._settled.set()
        if s.params is not None or s.closed:
            self._hello.set()
        return True

    async def _on_offer(self, ev: DictionaryOffered) -> None:
        s = self.session
        assert s is not None
        if self._cache is not None:
            for did in ev.ids:
                d = await asyncio.to_thread(self._cache.get, did)
                if d is not None:
                    s.use_dictionary(d)
                    await self._flush(from_reader=True)
                    return
        if self._fetch == "none":
            s.decline()
            self._settled.set()
            return
        saving = ev.savings[0] if ev.savings else None
        if self._fetch_when == "pays" and saving is not None:
            # Rent or buy (spec §6.8): fetch once the traffic so far would have paid for the transfer.
            size = ev.transfer_sizes[0] if self._fetch == "inband" and ev.transfer_sizes else ev.sizes[0]
            cost = transfer_cost(size, http=self._fetch != "inband")
            self._deferred = (ev.ids[0], ev.sizes[0], cost * 1000 / saving if saving > 0 else math.inf)
            if self._cache is not None:
                self._earlier_traffic = await asyncio.to_thread(self._cache.traffic_for, _origin(self.uri))
            self._settled.set()  # nothing happens until the traffic pays for it
            await self._maybe_fetch()
            return
        await self._start_fetch(ev.ids[0], ev.sizes[0])

    async def _maybe_fetch(self) -> None:
        s = self.session
        deferred = self._deferred
        if s is None or deferred is None or s.state is not State.OFFERED:
            return
        if self._earlier_traffic + s.stats.sent_messages + s.stats.received_messages >= deferred[2]:
            self._deferred = None
            if self._cache is not None and self._earlier_traffic:
                await asyncio.to_thread(self._cache.add_traffic, _origin(self.uri), 0)
            self._settled.clear()
            await self._start_fetch(deferred[0], deferred[1])

    async def _start_fetch(self, dictionary_id: str, size: int) -> None:
        s = self.session
        assert s is not None
        if self._fetch == "inband":
            s.fetch_dictionary(dictionary_id)
            await self._flush(from_reader=True)
        else:
            task = asyncio.get_running_loop().create_task(self._http_fetch(dictionary_id, size))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _http_fetch(self, dictionary_id: str, size: int) -> None:
        s = self.session
        assert s is not None
        try:
            d, body = await fetch_dictionary_sized(self.uri, dictionary_id, path=self._dictionary_path,
                                                   max_size=s.config.max_dictionary_size)
            s.stats.http_dictionary_bytes += body
        except AuraError as exc:
            log.warning("HTTP fetch of dictionary %s failed: %s", dictionary_id[:12], exc)
            if s.state is not State.OFFERED:
                return
            if self._fetch == "auto":
                s.fetch_dictionary(dictionary_id)
            else:
                s.decline()
                self._settled.set()
            await self._flush(from_reader=True)
            return
        if self._cache is not None:
            await asyncio.to_thread(self._cache.put, d)
        if s.state is State.OFFERED:
            s.use_dictionary(d)
            await self._flush(from_reader=True)
            await self._handle_events()


class connect:
    """Open an AURA WebSocket connection: ``async with connect(uri) as conn: ...``.

    * ``dictionary_cache``: a :class:`DictionaryCache`, a directory, ``None``
      (the per-user default cache directory) or ``False`` (no disk cache).
    * ``subprotocols``: application subprotocols; offered as ``aura.v1.<p>``
      followed by the plain ``<p>`` (fallback for servers without AURA).
    * ``fetch``: how a dictionary the cache lacks is obtained: ``"inband"``
      (default; GET/CHUNK control frames), ``"http"`` (the middleware's
      dictionary endpoint), ``"auto"`` (HTTP, then in-band) or ``"none"``.
    * ``fetch_when``: ``"pays"`` (default): when the server announces the saving a
      dictionary brings, fetch it only once this connection's messages so far
      would have paid for the transfer (spec §6.8), so a short session never
      does; ``"now"``: fetch at once.
    * Hints (spec §3.4): the client names in its offer the cached dictionaries it used
      with this origin before (the server then uses one from its first message),
      ``decodes`` (method names, e.g. ``{"zstd", "brio"}``; None: every method) and
      ``transfer_codings`` (in-band transfers coded with ``br``/``gzip``).
    * ``context``, ``max_message_size``, ``max_dictionary_size``, ``max_context_memory``: session
      options (:class:`~aura_wire.session.SessionConfig`).  The server decides the codec
      parameters that shape context state (context mode, revision, ``window``, ``zstd_window``,
      ...) and the client adopts them from HELLO; ``context=False`` refuses context mode and
      ``max_context_memory`` bounds the history a server may ask for.  A refused HELLO makes
      :func:`connect` raise :class:`~aura_wire.errors.ProtocolError` (the socket closes with 1002).
    * ``compression``: passed to websockets (default None: AURA frames are
      already compressed; permessage-deflate on top would code every message twice).
    * ``websocket_options``: other keyword arguments for ``websockets.connect``.
    * ``codec_config``: passed through to every Encoder/Decoder; its context fields
      (CONTEXT_FIELDS) are replaced by the server's values from HELLO.
    """

    def __init__(
        self,
        uri: str,
        *,
        dictionary_cache: DictionaryCache | str | os.PathLike[str] | None | bool = None,
        subprotocols: Sequence[str] | None = None,
        context: bool = True,
        fetch: str = "inband",
        fetch_when: str = "pays",
        decodes: Iterable[str] | None = None,
        transfer_codings: Sequence[str] = ("br", "gzip"),
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_dictionary_size: int | None = None,
        max_context_memory: int | None = None,
        compression: str | None = None,
        dictionary_path: str = DICTIONARY_PATH,
        open_timeout: float | None = 10,
        websocket_options: dict[str, Any] | None = None,
        **codec_config: Any,
    ) -> None:
        if fetch not in _FETCH_MODES:
            raise ConfigError(f"fetch must be one of {', '.join(_FETCH_MODES)}, got {fetch!r}", field="fetch")
        if fetch_when not in _FETCH_WHEN:
            raise ConfigError(f"fetch_when must be one of {', '.join(_FETCH_WHEN)}, got {fetch_when!r}",
                              field="fetch_when")
        for c in transfer_codings:
            if c not in CODINGS:
                raise ConfigError(f"unknown transfer coding {c!r}; known: {', '.join(CODINGS)}",
                                  field="transfer_codings")
        self.fetch_when = fetch_when
        self.decodes = decodes_mask(decodes) if decodes is not None else None
        self.transfer_codings = tuple(dict.fromkeys(transfer_codings))
        self.uri = uri
        if dictionary_cache is False:
            self.cache: DictionaryCache | None = None
        elif dictionary_cache is None or dictionary_cache is True:
            self.cache = DictionaryCache()
        elif isinstance(dictionary_cache, DictionaryCache):
            self.cache = dictionary_cache
        else:
            self.cache = DictionaryCache(dictionary_cache)
        self.subprotocols = list(subprotocols or [])
        self.fetch = fetch
        limits: dict[str, Any] = {"context": context, "max_message_size": max_message_size}
        if max_dictionary_size is not None:
            limits["max_dictionary_size"] = max_dictionary_size
        if max_context_memory is not None:
            limits["max_context_memory"] = max_context_memory
        self.session_config = SessionConfig(**limits)
        self.codec_config = dict(codec_config)
        Session(Role.CLIENT, config=self.session_config, codec_config=self.codec_config)  # validate options now
        self.compression = compression
        self.dictionary_path = dictionary_path
        self.open_timeout = open_timeout
        self.websocket_options = dict(websocket_options or {})
        self.connection: Connection | None = None

    async def _held(self) -> list[Dictionary]:
        """Cached dictionaries this client used with the server's origin (the aura.have hints)."""
        if self.cache is None:
            return []
        cache = self.cache
        ids = await asyncio.to_thread(cache.held_for, _origin(self.uri), MAX_HAVE)
        out = []
        for did in ids:
            d = await asyncio.to_thread(cache.get, did)
            if d is not None and len(d) <= self.session_config.max_dictionary_size:
                out.append(d)
        return out

    async def _open(self) -> Connection:
        held = await self._held()
        hints = Hints(tuple(d.id for d in held), self.decodes, self.transfer_codings)
        offer = client_offer(self.subprotocols) + hint_tokens(hints)
        opts = dict(self.websocket_options)
        opts.setdefault("max_size", self.session_config.max_message_size + MAX_FRAME_OVERHEAD + MAX_STATE_BLOCK)
        opts.setdefault("proxy", None)
        ws = await ws_connect(self.uri, subprotocols=[Subprotocol(p) for p in offer],
                              compression=self.compression, open_timeout=self.open_timeout, **opts)
        aura, app_protocol = parse_selected(ws.subprotocol)
        session = Session(Role.CLIENT, config=self.session_config, codec_config=self.codec_config, hints=hints,
                          held=held) if aura else None
        conn = Connection(ws, session, app_protocol, uri=self.uri, cache=self.cache, fetch=self.fetch,
                          dictionary_path=self.dictionary_path, fetch_when=self.fetch_when)
        if session is not None:
            # HELLO follows the handshake at once; waiting for it lets a refused parameter set fail
            # here, with its reason, rather than at the first recv().
            try:
                await asyncio.wait_for(conn._hello.wait(), self.open_timeout)
            except asyncio.TimeoutError:
                await conn.close(1002, "aura: no HELLO from the server")
                raise
            if session.params is None and session.failure is not None:
                await conn.close(session.close_code or 1002, session.close_reason or "")
                raise session.failure
        self.connection = conn
        return conn

    def __await__(self) -> Generator[Any, None, Connection]:
        return self._open().__await__()

    async def __aenter__(self) -> Connection:
        return await self._open()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self.connection is not None:
            await self.connection.close()


