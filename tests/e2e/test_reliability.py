"""Reliability over real sockets (issue 19): no orphaned endpoints, no client hangs, bounded memory.

Every test runs real uvicorn on 127.0.0.1 with AuraMiddleware and the real aura_wire client
(or a raw websockets client where the test must send a hostile frame).  Waits are on events
with a timeout that only bounds a failure; nothing sleeps to synchronise.
"""

from __future__ import annotations

import asyncio
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from aura_wire.client import connect
from aura_wire.middleware import AuraMiddleware
from conftest import TEST_CODEC, bound_socket, echo_app, serve_app, small_dictionary

CC = TEST_CODEC
MSG = '{"type":"tick","sym":"AAA","px":"101.25","seq":%d}'


def ws_url(base: str, path: str) -> str:
    return base.replace("http://", "ws://") + path


# -- item 1: a send-only endpoint learns that its AURA client has left ---------------------------------------


class FeedApp:
    """A send-only feed (``while True: await ws.send_text(...)``); counts the loops still running."""

    def __init__(self) -> None:
        self.running = 0
        self.started = 0
        self.endings: list[str] = []
        self.all_ended = asyncio.Event()
        self.app = Starlette(routes=[WebSocketRoute("/feed", self.feed)])

    async def feed(self, ws: WebSocket) -> None:
        await ws.accept()
        self.running += 1
        self.started += 1
        self.all_ended.clear()
        seq = 0
        try:
            while True:
                await ws.send_text(MSG % seq)
                seq += 1
                await asyncio.sleep(0.002)  # pacing of the feed, not synchronisation
        except BaseException as exc:
            self.endings.append(type(exc).__name__)
            raise
        finally:
            self.running -= 1
            if self.running == 0:
                self.all_ended.set()


async def _leave(base: str, aura: bool, abort: bool) -> None:
    if aura:
        async with connect(ws_url(base, "/feed"), dictionary_cache=False, **CC) as c:
            assert c.aura
            for _ in range(3):
                tick = await c.recv()
                assert isinstance(tick, str) and tick.startswith('{"type":"tick"')
            if abort:
                c.ws.transport.abort()  # the client dies: no close frame
    else:
        async with ws_connect(ws_url(base, "/feed"), compression=None) as ws:
            for _ in range(3):
                assert str(await ws.recv()).startswith('{"type":"tick"')
            if abort:
                ws.transport.abort()


# Plain connections under hypercorn are left out: hypercorn's own send() returns silently after the
# close ("allow app to finish after close"), so a plain send-only loop never ends there either; the
# middleware follows the ASGI spec (raise an IOError subclass) under both servers.
@pytest.mark.parametrize("aura,backend", [(True, "uvicorn"), (False, "uvicorn"), (True, "hypercorn")],
                         ids=["aura-uvicorn", "plain-uvicorn", "aura-hypercorn"])
async def test_send_only_endpoint_ends_when_clients_leave(aura: bool, backend: str) -> None:
    feed = FeedApp()
    app = AuraMiddleware(feed.app, **CC)
    async with serve_app(app, backend) as base:
        clients = [_leave(base, aura, abort=i % 2 == 1) for i in range(20)]
        await asyncio.gather(*clients, return_exceptions=False)
        assert feed.started == 20
        try:
            await asyncio.wait_for(feed.all_ended.wait(), 10)
        except asyncio.TimeoutError:
            pass
        left_running = feed.running
        assert left_running == 0, f"{left_running} of 20 feed loops still running after their clients left"
        # exactly what the app gets without the middleware: Starlette's WebSocketDisconnect
        assert set(feed.endings) == {WebSocketDisconnect.__name__}, feed.endings
        assert not app.connections


async def test_send_after_disconnect_raises_oserror_at_asgi_level() -> None:
    """The raw ASGI semantics: ``send`` on a closed connection raises an OSError (ASGI spec: IOError)."""
    outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def raw_app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "hello"})
        msg = await receive()
        assert msg["type"] == "websocket.disconnect"
        try:
            await send({"type": "websocket.send", "text": "after"})
        except OSError as exc:
            outcome.set_result(f"OSError:{type(exc).__name__}")
            return
        outcome.set_result("returned")

    async with serve_app(AuraMiddleware(raw_app, **CC)) as base:
        async with connect(ws_url(base, "/"), dictionary_cache=False, **CC) as c:
            assert c.aura and await c.recv() == "hello"
        got = await asyncio.wait_for(outcome, 10)
    assert got.startswith("OSError:"), got


# -- item 2: the client never hangs on unread messages ---------------------------------------------------------


class Burst:
    """Sends ``n`` messages at once, then closes (1000) or crashes; ``done`` when the app has ended."""

    def __init__(self, dictionary: Any = None) -> None:
        self.done = asyncio.Event()
        self.app = AuraMiddleware(Starlette(routes=[WebSocketRoute("/burst/{n:int}/{end}", self.burst)]),
                                  dictionary=dictionary, **CC)

    async def burst(self, ws: WebSocket) -> None:
        n = ws.path_params["n"]
        try:
            await ws.accept()
            for i in range(n):
                await ws.send_text(MSG % i)
            if ws.path_params["end"] == "crash":
                raise RuntimeError("the application crashed")
            if ws.path_params["end"] == "close":
                await ws.close(1000)
            else:  # "stay": keep the connection open until the client leaves
                async for _ in ws.iter_text():
                    pass
        finally:
            self.done.set()


async def _read_all(c: Any, n: int) -> list[str]:
    got: list[str] = []

    async def drain() -> None:
        async for m in c:
            got.append(m)

    await asyncio.wait_for(drain(), 10)  # a hang fails the test after 10 s
    return got


@pytest.mark.parametrize("end", ["close", "crash"])
@pytest.mark.parametrize("n", [15, 16, 100, 1000])
async def test_unread_messages_then_close_do_not_hang(n: int, end: str) -> None:
    srv = Burst()
    async with serve_app(srv.app) as base:
        async with connect(ws_url(base, f"/burst/{n}/{end}"), dictionary_cache=False, **CC) as c:
            assert c.aura
            await asyncio.wait_for(srv.done.wait(), 10)  # the server has sent everything and ended
            if n <= 16:  # within websockets' own buffer: the close has reached the client before it reads
                await asyncio.wait_for(c.ws.wait_closed(), 10)
            if end == "close":
                got = await _read_all(c, n)
                assert got == [MSG % i for i in range(n)]
            else:
                received: list[str | bytes] = []
                with pytest.raises(ConnectionClosed):
                    while True:
                        received.append(await asyncio.wait_for(c.recv(), 10))
                assert received == [MSG % i for i in range(n)]
            with pytest.raises(ConnectionClosed):  # later calls end the same way
                await asyncio.wait_for(c.recv(), 10)


@pytest.mark.parametrize("attempt", range(5))
@pytest.mark.parametrize("offer", [False, True], ids=["no-dictionary", "dictionary-offered"])
async def test_connect_when_the_server_sends_17_and_closes_at_once(attempt: int, offer: bool) -> None:
    # With a dictionary offered, the client's GET met a closing socket: websockets' send() waited
    # for the close, which the 17 unread messages kept paused, and connect() timed out.
    srv = Burst(small_dictionary() if offer else None)
    async with serve_app(srv.app) as base:
        async with connect(ws_url(base, "/burst/17/close"), dictionary_cache=False, open_timeout=10, **CC) as c:
            assert await _read_all(c, 17) == [MSG % i for i in range(17)]


@pytest.mark.parametrize("n", [100, 1000])
async def test_wait_synced_with_messages_pushed_before_the_sync(n: int, tmp_path: Path) -> None:
    srv = Burst(small_dictionary())
    async with serve_app(srv.app) as base:
        async with connect(ws_url(base, f"/burst/{n}/stay"), dictionary_cache=tmp_path, **CC) as c:
            assert await c.wait_synced(10)
            got = [await asyncio.wait_for(c.recv(), 10) for _ in range(n)]
            assert got == [MSG % i for i in range(n)]
            await c.send("after the sync")


# -- item 3: a ZSTD frame that lies about its size is refused at bounded memory ---------------------------------


def lying_zstd_frame(payload_bytes: int, declared: int = 1 << 20) -> bytes:
    """A stateless ZSTD AURA frame declaring ``declared`` bytes, then 128 KiB run-length blocks.

    Each 4-byte block (RFC 8878 §3.1.1.2, Block_Type 1) expands to 128 KiB: a 16 KB frame
    would produce 512 MB if decompressed before its size is checked.
    """
    head = bytes([0x40 | 0x01 | 0x08])  # v2, ZSTD, text, no context, no dictionary (spec/wire-format.md §3)
    # Frame_Header_Descriptor: 4-byte Frame_Content_Size, not single segment, so a Window_Descriptor
    # of 1 MiB follows (RFC 8878 §3.1.1.1.1-2): a streaming decoder then emits block after block.
    zhdr = bytes([0x80, 10 << 3]) + struct.pack("<I", declared)
    n_blocks = (payload_bytes - len(zhdr)) // 4
    blocks = bytearray()
    for i in range(n_blocks):
        hdr = (1 if i == n_blocks - 1 else 0) | (1 << 1) | (131072 << 3)
        blocks += hdr.to_bytes(3, "little") + b"x"
    return head + zhdr + bytes(blocks)


def brotli_bomb(output_bytes: int, lgwin: int = 24) -> bytes:
    """A BROTLI AURA frame (spec/wire-format.md §4.3) whose payload expands to ``output_bytes``."""
    import brotli

    payload: bytes = brotli.compress(b"x" * output_bytes, quality=1, lgwin=lgwin)
    return bytes([0x40 | 0x02 | 0x08]) + payload  # v2, BROTLI, text


_SERVER = r"""
import asyncio, socket, sys
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from aura_wire.middleware import AuraMiddleware

async def echo(ws):
    await ws.accept()
    async for m in ws.iter_text():
        await ws.send_text(m)

app = AuraMiddleware(Starlette(routes=[WebSocketRoute("/echo", echo)]), templates=False)
sock = socket.socket(fileno=int(sys.argv[1]))
config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="websockets-sansio")
asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
"""


_FEED_SERVER = r"""
import asyncio, socket, sys
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from aura_wire.middleware import AuraMiddleware

async def feed(ws):
    await ws.accept()
    i = 0
    while True:
        await ws.send_text('{"type":"tick","seq":%d}' % i)
        i += 1
        await asyncio.sleep(0.005)  # the feed's pace

app = AuraMiddleware(Starlette(routes=[WebSocketRoute("/feed", feed)]), templates=False)
sock = socket.socket(fileno=int(sys.argv[1]))
config = uvicorn.Config(app, log_level="critical", lifespan="off", ws="websockets-sansio")
asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
"""


def _spawn_server(script: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Run ``script`` (a uvicorn server) in its own process on a listening socket; return it and its URL."""
    import aura_wire

    sock = bound_socket()
    sock.listen(64)  # connections wait in the backlog until the server process accepts them
    port = sock.getsockname()[1]
    env = dict(os.environ)
    # the aura_wire this test runs (installed or source tree), not whatever the working directory holds
    pkg_parent = str(Path(aura_wire.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([pkg_parent, env.get("PYTHONPATH", "")])
    proc = subprocess.Popen([sys.executable, "-c", script, str(sock.fileno())], pass_fds=[sock.fileno()], env=env,
                            cwd=tmp)
    sock.close()
    return proc, f"http://127.0.0.1:{port}"


async def test_server_stops_on_sigterm_after_aura_clients_left(tmp_path: Path) -> None:
    """Issue 19 item 1: with the feed loops orphaned, uvicorn waited for them forever on SIGTERM."""
    import signal

    proc, base = _spawn_server(_FEED_SERVER, tmp_path)
    try:
        for i in range(20):
            async with connect(ws_url(base, "/feed"), dictionary_cache=False, templates=False) as c:
                tick = await c.recv()
                assert c.aura and isinstance(tick, str) and tick.startswith('{"type":"tick"')
                if i % 2:
                    c.ws.transport.abort()
        proc.send_signal(signal.SIGTERM)
        rc = await asyncio.to_thread(proc.wait, 10)  # raises TimeoutExpired if the server hangs
        assert rc in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled, after a clean shutdown
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to read the server's peak RSS")
@pytest.mark.parametrize("frame", ["zstd-16k", "zstd-64k", "zstd-declares-16MiB", "brotli-64MiB",
                                   "brotli-64MiB-window-22"])
async def test_bomb_frames_are_refused_at_flat_memory(frame: str, tmp_path: Path) -> None:
    proc, base = _spawn_server(_SERVER, tmp_path)
    try:
        async with connect(ws_url(base, "/echo"), dictionary_cache=False, templates=False) as c:
            assert c.aura
            for i in range(20):  # warm up: the server's baseline includes a working connection
                await c.send(MSG % i)
                assert await c.recv() == MSG % i
            before = _vm_hwm_kib(proc.pid)
            hostile = {"zstd-16k": lambda: lying_zstd_frame(16_000), "zstd-64k": lambda: lying_zstd_frame(64_000),
                       # declares the most max_message_size allows, then produces more
                       "zstd-declares-16MiB": lambda: lying_zstd_frame(1_000, declared=(16 << 20) - 1),
                       "brotli-64MiB": lambda: brotli_bomb(64 << 20),
                       "brotli-64MiB-window-22": lambda: brotli_bomb(64 << 20, lgwin=22)}[frame]()
            await c.ws.send(hostile)
            with pytest.raises(ConnectionClosed) as info:
                await asyncio.wait_for(c.recv(), 10)
            after = _vm_hwm_kib(proc.pid)
        growth_mib = (after - before) / 1024
        print(f"{frame} ({len(hostile)} bytes): server peak RSS +{growth_mib:.1f} MiB, close {info.value.rcvd}")
        assert info.value.rcvd is not None and info.value.rcvd.code in (1007, 1009), info.value.rcvd
        # Issue 19: at most 32 MB.  ZSTD is refused before any large output.  BROTLI has no declared
        # size: output up to max_message_size (16 MiB) is legitimate, plus the decoder's window, which
        # is refused above 22 bits (4 MiB) before decoding (a 24-bit window cost 16 MiB more: +33.6 MiB
        # in all; an unbounded first step, ~79 MiB).
        bound = 32
        assert growth_mib <= bound, f"peak RSS grew by {growth_mib:.1f} MiB (bound {bound})"
        assert proc.poll() is None  # the server survived
    finally:
        proc.terminate()
        proc.wait(10)


# -- method switches shape the encoder only (issue 19, new user friction) ---------------------------------------

ORDERS = ['{"type":"order","id":%d,"side":"buy","qty":%d,"px":"%d.25","user":"u%d"}' % (i, i % 7, 100 + i % 13, i % 5)
          for i in range(300)]


@pytest.mark.parametrize("server_templates,client_templates", [(True, False), (False, True)])
async def test_templates_switch_never_narrows_what_a_side_decodes(server_templates: bool,
                                                                   client_templates: bool) -> None:
    app = AuraMiddleware(echo_app, templates=server_templates)
    async with serve_app(app) as base:
        async with connect(ws_url(base, "/echo"), dictionary_cache=False, templates=client_templates) as c:
            assert c.aura
            for m in ORDERS:
                await c.send(m)
                assert await asyncio.wait_for(c.recv(), 10) == m
            sent = c.stats.sent_methods
            received = c.stats.received_methods
    templated = {k: v for k, v in (received if server_templates else sent).items() if k.startswith("template")}
    assert templated, (sent, received)  # the side with templates on did send TEMPLATE frames
    assert not any(k.startswith("template") for k in (sent if server_templates else received))


# -- operations endpoints with app.add_middleware (issue 19, new user friction) ----------------------------------


@pytest.mark.parametrize("route", ["add_middleware", "wrap"])
async def test_ops_endpoints_via_add_middleware_and_via_the_handle(route: str) -> None:
    import httpx

    inner = Starlette(routes=[Mount("/", app=echo_app)])
    if route == "add_middleware":  # no handle: the options go through add_middleware
        inner.add_middleware(AuraMiddleware, ops={"health_path": "/ops/health"}, **CC)
        app: Any = inner
    else:  # the wrapped app is the handle
        app = AuraMiddleware(inner, **CC)
        app.enable_ops(health_path="/ops/health")
    async with serve_app(app) as base:
        async with connect(ws_url(base, "/echo"), dictionary_cache=False, **CC) as c, \
                ws_connect(ws_url(base, "/echo"), compression=None) as plain:
            assert c.aura
            for m in ORDERS[:20]:
                await c.send(m)
                assert await c.recv() == m
            await plain.send("plain")
            assert await plain.recv() == "plain"
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                health = await http.get("/ops/health")
                dashboard = await http.get("/aura/dashboard")
    assert health.status_code == 200 and health.json()["metrics"]["messages"] >= 40, health.text
    conns = health.json()["connections"]  # the dashboard's "Connections AURA / plain" tile
    assert conns["open"] == 2 and conns["open_aura"] == 1, conns
    assert dashboard.status_code == 200 and "<svg" in dashboard.text
