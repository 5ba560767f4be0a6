"""Shared test fixtures: corpus slices and real ASGI servers on 127.0.0.1.

* ``corpus(name, n)``: the first ``n`` messages of ``../shared/corpora/<name>.jsonl``
  (relative to the repository root); the test is skipped when the folder is absent.
* ``server(app, backend="uvicorn")``: an async context manager that serves an ASGI
  app on 127.0.0.1 on a free port (uvicorn or hypercorn, in this event loop) and
  yields its base URL ``http://127.0.0.1:PORT``.
* ``byte_counter(port)``: an async context manager running a TCP proxy in front of
  a port that counts the bytes each way on the socket (handshake and WebSocket
  framing included); yields a :class:`ByteCounter`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest

from aura_wire import Dictionary, train_dictionary
from aura_wire.files import load_messages
from aura_wire.session import Session, State
from aura_wire.tools.demo import echo_app as echo_app  # the tests' echo server (re-exported)

REPO = Path(__file__).resolve().parent.parent
CORPORA = REPO.parent / "shared" / "corpora"

ASGIApp = Callable[..., Awaitable[None]]


def load_corpus(name: str, n: int | None = None, *, skip: int = 0) -> list[str]:
    """Messages ``skip .. skip+n`` of a corpus; skips the test when corpora are absent."""
    path = CORPORA / f"{name}.jsonl"
    if not CORPORA.is_dir():
        pytest.skip(f"corpora folder {CORPORA} is absent (it sits next to the repository in CI)")
    if not path.exists():
        pytest.skip(f"corpus {name} not found in {CORPORA}")
    return load_messages(path, limit=None if n is None else skip + n, field="m")[skip:]


@pytest.fixture
def corpus() -> Callable[..., list[str]]:
    return load_corpus


def bound_socket(port: int = 0) -> socket.socket:
    """A TCP socket bound to 127.0.0.1:``port`` (0: a free port), SO_REUSEADDR set."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


@contextlib.asynccontextmanager
async def serve_app(app: ASGIApp, backend: str = "uvicorn", *, sock: socket.socket | None = None,
                    **options: Any) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 in the running loop; yield ``http://127.0.0.1:PORT``.

    ``sock``: a bound socket to serve on (uvicorn only; e.g. to restart a server on the same port),
    else a free port. The socket is closed when the server stops."""
    if sock is not None and backend != "uvicorn":
        raise ValueError("sock= is supported with the uvicorn backend only")
    if sock is None:
        sock = bound_socket()
    port = sock.getsockname()[1]
    if backend == "uvicorn":
        import uvicorn

        config = uvicorn.Config(app, log_level="warning", lifespan="off", ws=options.pop("ws", "websockets-sansio"),
                                **options)
        server = uvicorn.Server(config)
        task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        try:
            for _ in range(500):
                if server.started:
                    break
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 10)
            sock.close()
    elif backend == "hypercorn":
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        sock.close()
        hconfig = Config()
        hconfig.bind = [f"127.0.0.1:{port}"]
        hconfig.loglevel = "WARNING"
        hconfig.accesslog = None
        hconfig.errorlog = None
        for key, value in options.items():
            setattr(hconfig, key, value)
        stop = asyncio.Event()
        task = asyncio.get_running_loop().create_task(
            serve(app, hconfig, shutdown_trigger=stop.wait, mode="asgi"))
        for _ in range(500):
            with contextlib.suppress(OSError):
                _, w = await asyncio.open_connection("127.0.0.1", port)
                w.close()
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 10)
    else:
        raise ValueError(f"unknown backend {backend!r}")


@pytest.fixture
def server() -> Callable[..., contextlib.AbstractAsyncContextManager[str]]:
    return serve_app


class ByteCounter:
    """Bytes seen on the socket by a counting proxy, per direction."""

    def __init__(self) -> None:
        self.upstream = 0  # client -> server
        self.downstream = 0  # server -> client
        self.port = 0
        self.pipes_started = 0
        self.pipes_open = 0

    @property
    def total(self) -> int:
        return self.upstream + self.downstream

    async def settled(self, timeout: float = 5.0) -> None:
        """Wait until every connection through the proxy has ended both ways (all bytes counted)."""
        await eventually(lambda: self.pipes_started > 0 and self.pipes_open == 0, timeout, "the proxied connections to end")


async def eventually(cond: Callable[[], object], timeout: float = 5.0, what: str = "the condition",
                     interval: float = 0.01) -> None:
    """Poll ``cond()`` until it is true (the synchronisation for state another task changes); fail after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def count_bytes(target_port: int, *,
                      alter_downstream: Callable[[bytes], bytes] | None = None) -> AsyncIterator[ByteCounter]:
    """A TCP proxy on a free port forwarding to ``target_port``, counting bytes both ways.

    ``alter_downstream`` may rewrite what the server sends (to simulate corruption in transit).
    """
    counter = ByteCounter()
    tasks: set[asyncio.Task[None]] = set()

    async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter, up: bool) -> None:
        counter.pipes_started += 1
        counter.pipes_open += 1
        try:
            while True:
                data = await r.read(65536)
                if not data:
                    break
                if up:
                    counter.upstream += len(data)
                else:
                    counter.downstream += len(data)
                    if alter_downstream is not None:
                        data = alter_downstream(data)
                w.write(data)
                await w.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            counter.pipes_open -= 1
            with contextlib.suppress(Exception):
                w.close()

    async def handle(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        sr, sw = await asyncio.open_connection("127.0.0.1", target_port)
        for coro in (pipe(cr, sw, True), pipe(sr, cw, False)):
            t = asyncio.get_running_loop().create_task(coro)
            tasks.add(t)
            t.add_done_callback(tasks.discard)

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    counter.port = srv.sockets[0].getsockname()[1]
    try:
        yield counter
    finally:
        srv.close()
        for t in list(tasks):
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await srv.wait_closed()


@pytest.fixture
def byte_counter() -> Callable[[int], contextlib.AbstractAsyncContextManager[ByteCounter]]:
    return count_bytes


#: Codec options the session/middleware/client tests pass through to every Encoder/Decoder: BRIO on,
#: templates off (the session and the adapters are under test there; templates have their own tests
#: in tests/codec/templates/).
TEST_CODEC: dict[str, Any] = {"templates": False, "brio": True}

_trained: dict[tuple[str, int], Dictionary] = {}


def trained_dictionary(name: str, n: int = 200) -> Dictionary:
    """A dictionary trained on the first ``n`` messages of a corpus (cached for the test run)."""

    key = (name, n)
    if key not in _trained:
        _trained[key] = train_dictionary(load_corpus(name, n), templates=False, brio=TEST_CODEC["brio"],
                                         name=f"{name}[:{n}]")
    return _trained[key]


def small_dictionary(tag: str = "a") -> Dictionary:
    """A tiny deterministic dictionary (no corpus needed) for sync tests."""
    from aura_wire.codec.dictionary import SECTION_META, SECTION_ZSTD

    content = (f'{{"type":"message","room":"{tag}","user":"alice","text":"hello world"}}' * 40).encode()
    return Dictionary({SECTION_META: b"\x81\xa4name\xa1" + tag.encode()[:1], SECTION_ZSTD: content})


async def stream(conn: Any, messages: list[str]) -> list[str | bytes]:
    """Send every message while receiving the echoes concurrently (a real stream, not ping-pong)."""

    async def reader() -> list[str | bytes]:
        return [await conn.recv() for _ in messages]

    task = asyncio.ensure_future(reader())
    for m in messages:
        await conn.send(m)
    return await task


def port_of(base: str) -> int:
    """The port of a base URL such as ``http://127.0.0.1:PORT``."""
    return int(base.rsplit(":", 1)[1])


def state_of(session: Session) -> State:
    """A session's state read afresh: after ``assert s.state is X`` mypy keeps ``s.state`` narrowed to X even
    across the frames that change it (a call such as :func:`pump`); read it through this after such calls."""
    return session.state


def pump(a: Any, b: Any) -> tuple[list[Any], list[Any]]:
    """Deliver queued frames between two sans-I/O sessions both ways until quiet; return their events."""
    ea: list[Any] = []
    eb: list[Any] = []
    moved = True
    while moved:
        moved = False
        for src, dst, sink in ((a, b, eb), (b, a, ea)):
            for f in src.data_to_send():
                moved = True
                dst.receive_frame(f)
            sink.extend(dst.events())
    return ea + a.events(), eb + b.events()
