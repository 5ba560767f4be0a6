"""Faults (issue 7, part 4): broken transfers, restarts, corrupted caches, late frames, desynchronised context.

Sans-I/O where the logic lives in the session core, real uvicorn servers on 127.0.0.1 where the fault
is a socket event (a peer vanishing mid-transfer, a server restart).  The rule checked everywhere: a
message is delivered exactly or not at all; a broken connection closes with the right code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from pathlib import Path
from typing import Any, MutableMapping

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from aura_wire import AuraError, ContextDesyncError, Decoder, Dictionary, Encoder, train_dictionary
from aura_wire.client import connect
from aura_wire.client.cache import DictionaryCache
from aura_wire.codec.frame import METHOD_TEMPLATE, parse_header
from aura_wire.errors import CLOSE_INVALID_DATA
from aura_wire.middleware import AuraMiddleware
from aura_wire.session import (
    ConnectionFailed, DictionaryOffered, MessageReceived, Role, Session, SessionConfig,
)
from aura_wire.session.control import Chunk, Get, Hello, pack_control, parse_control
from conftest import bound_socket, serve_app


OPTS: dict[str, Any] = {"brio": True, "templates": True}
BRIO_ONLY: dict[str, Any] = {"brio": True, "templates": False, "zstd": False, "brotli": False}

Scope = MutableMapping[str, Any]


def _ticks(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    return [json.dumps({"type": "tick", "seq": 1000 + i, "px": f"{100 + rnd.random():.2f}",
                        "sym": rnd.choice(["AAA", "BBB"])}, separators=(",", ":")) for i in range(n)]


def _dictionary(seed: int) -> Dictionary:
    # zstd-only dictionaries train in milliseconds; the sessions still run BRIO/templates when present.
    rnd = random.Random(seed)
    samples = [json.dumps({"type": "tick", "seq": i, "v": rnd.randint(0, 10 ** 6), "tag": f"t{seed}"})
               for i in range(300)]
    return train_dictionary(samples, brio=False, templates=False, zstd_dict_size=8192, name=f"d{seed}")


@pytest.fixture(scope="module")
def dict_a() -> Dictionary:
    return _dictionary(1)


@pytest.fixture(scope="module")
def dict_b() -> Dictionary:
    return _dictionary(2)


# -- desynchronised context ---------------------------------------------------------------------------------


def _desync_configs() -> list[Any]:
    out: list[Any] = []
    out.append(pytest.param(BRIO_ONLY, id="brio"))
    # F3 (fixed): context TEMPLATE frames now end with a check byte (spec/wire-format.md §5.2 rule 4)
    out.append(pytest.param({"brio": False, "templates": True, "zstd": False, "brotli": False},
                            id="templates"))
    out.append(pytest.param({**OPTS}, id="all-methods"))
    return out


@pytest.mark.parametrize("opts", _desync_configs())
@pytest.mark.parametrize("fault", ["drop", "duplicate", "swap"])
def test_desynchronised_context_delivers_wrong_text_only_as_the_check_byte_allows(opts: dict[str, Any],
                                                                                  fault: str) -> None:
    """A lost, repeated or reordered frame breaks the context: spec/wire-format.md §5.4 lets a wrong
    message through one check byte with probability 2^-8 per frame, and the chained check value makes
    every later frame fail with that probability again. Over 200 faults, at most a handful of wrong
    messages (expected under 1; a decoder that skips the check delivers wrong text nearly every
    time), and none after the next frame: the connection's next frame is refused."""
    wrong: list[str] = []
    detected = 0
    for seed in range(200):
        rnd = random.Random(seed)
        msgs = _ticks(10, seed)
        enc = Encoder(None, context=True, **opts)
        frames = [enc.encode(m) for m in msgs]
        expected = list(range(len(msgs)))  # index of the message each received frame carries
        k = rnd.randrange(1, len(frames) - 2)
        if fault == "drop":
            del expected[k]
        elif fault == "duplicate":
            expected.insert(k, k)
        else:
            expected[k], expected[k + 1] = expected[k + 1], expected[k]
        dec = Decoder(None, context=True, **opts)
        wrong_at = -1
        for pos, i in enumerate(expected):
            try:
                out = dec.decode(frames[i])
            except AuraError as exc:
                detected += 1
                assert exc.close_code == CLOSE_INVALID_DATA or pos > k
                break
            if out != msgs[i]:
                assert wrong_at < 0, f"seed {seed}: a second wrong message after a desync"
                wrong_at = pos
                wrong.append(f"seed {seed}: frame {i} (method {parse_header(frames[i]).method_name}) gave {out!r}")
        else:
            assert wrong_at < 0, f"seed {seed}: the desync was never detected after a wrong message"
    assert len(wrong) <= 4, wrong[:3]
    assert detected > 0  # the fault did reach a context-dependent frame at least once


def test_decoder_refuses_everything_after_a_desync() -> None:
    """wire-format §5.2: after a detected desync (check byte) every later frame is refused.

    Two equal-length RAW context frames arrive swapped: each still carries its own text, but the
    check byte chains the connection's history (wire v2: every data frame, over message and
    header), so the first swapped frame is refused; after that ContextDesyncError the decoder
    refuses even the right frames, and nothing wrong is ever delivered.
    """
    for seed in range(12):
        msgs = _ticks(7, seed)
        msgs[1], msgs[2] = "ok", "no"  # two short RAW context frames of equal length
        enc = Encoder(None, context=True, **BRIO_ONLY)
        frames = [enc.encode(m) for m in msgs]
        dec = Decoder(None, context=True, **BRIO_ONLY)
        assert dec.decode(frames[0]) == msgs[0]
        with pytest.raises(ContextDesyncError) as caught:
            dec.decode(frames[2])
        assert caught.value.close_code == CLOSE_INVALID_DATA
        for f in [frames[1], *frames[3:]]:
            with pytest.raises(AuraError):
                dec.decode(f)


def _session_pair(d: Dictionary | None, opts: dict[str, Any]) -> tuple[Session, Session]:
    cfg = SessionConfig(max_chunk=1024)
    srv = Session(Role.SERVER, dictionaries=[d] if d is not None else [], config=cfg, codec_config=opts)
    cli = Session(Role.CLIENT, config=cfg, codec_config=opts)
    srv.start()
    for f in srv.data_to_send():
        cli.receive_frame(f)
    for ev in cli.events():
        if isinstance(ev, DictionaryOffered):
            assert d is not None
            cli.use_dictionary(d)
    for f in cli.data_to_send():
        srv.receive_frame(f)
    for f in srv.data_to_send():
        cli.receive_frame(f)
    srv.events()
    cli.events()
    return srv, cli


def test_session_desync_closes_with_1007_and_delivers_nothing_wrong(dict_a: Dictionary) -> None:
    srv, cli = _session_pair(dict_a, BRIO_ONLY)
    msgs = _ticks(8, 4)
    delivered: list[str | bytes] = []
    failed: list[ConnectionFailed] = []
    for i, m in enumerate(msgs):
        cli.send_message(m)
        frames = cli.data_to_send()
        if i == 3:
            continue  # lost in transit
        for f in frames:
            srv.receive_frame(f)
        for ev in srv.events():
            if isinstance(ev, MessageReceived):
                delivered.append(ev.data)
            elif isinstance(ev, ConnectionFailed):
                failed.append(ev)
    assert delivered == msgs[:len(delivered)] and len(delivered) == 3
    assert len(failed) == 1 and failed[0].code == 1007 and failed[0].remote
    assert srv.closed


# -- frames after a close -------------------------------------------------------------------------------------


def test_frames_after_close_are_ignored(dict_a: Dictionary) -> None:
    srv, cli = _session_pair(dict_a, OPTS)
    cli.send_message("before")
    for m in ("after-1", "after-2"):
        cli.send_message(m)
    frames = cli.data_to_send()
    srv.receive_frame(frames[0])
    assert [e.data for e in srv.events() if isinstance(e, MessageReceived)] == ["before"]
    srv.close()
    for f in frames[1:]:
        srv.receive_frame(f)
    late = srv.events()
    assert late == [] and srv.data_to_send() == []
    with pytest.raises(AuraError):
        srv.send_message("server after close")


def test_frames_after_a_failure_are_ignored(dict_a: Dictionary) -> None:
    srv, cli = _session_pair(dict_a, OPTS)
    srv.receive_frame(b"\xc0garbage")  # version 4: 1002
    evs = srv.events()
    assert len(evs) == 1 and isinstance(evs[0], ConnectionFailed) and evs[0].code == 1002
    cli.send_message("valid but late")
    for f in cli.data_to_send():
        srv.receive_frame(f)
    srv.receive_frame(b"\x07\x01")  # and a control frame
    assert srv.events() == [] and srv.data_to_send() == []


# -- over real sockets ---------------------------------------------------------------------------------------


class Echo:
    """ASGI echo app that records what it received."""

    def __init__(self) -> None:
        self.received: list[str | bytes] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            m = await receive()
            if m["type"] == "websocket.disconnect":
                return
            data = m.get("text") if m.get("text") is not None else m.get("bytes")
            self.received.append(data)
            key = "text" if isinstance(data, str) else "bytes"
            try:
                await send({"type": "websocket.send", key: data})
            except OSError:
                pass  # the connection is gone (ASGI: send raises an IOError); keep draining receive()


def _binary(data: str | bytes) -> bytes:
    assert isinstance(data, bytes), "AURA frames travel as binary WebSocket messages"
    return data


async def _echo_round(conn: Any, msgs: list[str]) -> list[str | bytes]:
    out = []
    for m in msgs:
        await conn.send(m)
        out.append(await asyncio.wait_for(conn.recv(), 20))
    return out


async def test_client_disconnects_mid_dictionary_transfer(dict_a: Dictionary, tmp_path: Path) -> None:
    echo = Echo()
    mw = AuraMiddleware(echo, dictionary=dict_a, max_chunk=1024, **OPTS)
    sock = bound_socket()
    port = sock.getsockname()[1]
    uri = f"ws://127.0.0.1:{port}/ws"
    async with serve_app(mw, sock=sock, ws="auto"):
        # A hand-driven client: take HELLO, ask for the dictionary, read one CHUNK, then vanish (no close frame).
        ws = await ws_connect(uri, subprotocols=[Subprotocol("aura.v1")], compression=None)
        assert ws.subprotocol == "aura.v1"
        hello = parse_control(_binary(await ws.recv()))
        assert isinstance(hello, Hello) and hello.dictionaries[0][0] == dict_a.id
        await ws.send(pack_control(Get(dict_a.id, 0, 1024)))
        await ws.send(pack_control(Get(dict_a.id, 1024, 1024)))
        chunk = parse_control(_binary(await ws.recv()))
        assert isinstance(chunk, Chunk) and chunk.data == dict_a.to_bytes()[:1024]
        ws.transport.abort()
        for _ in range(200):
            if not mw.connections:
                break
            await asyncio.sleep(0.02)
        assert not mw.connections, "the server still holds the aborted connection"
        # The server is unharmed: a real client without the dictionary fetches it in-band and talks.
        cache = DictionaryCache(tmp_path / "cache")
        async with connect(uri, dictionary_cache=cache, fetch="inband", **OPTS) as conn:
            assert await conn.wait_synced(20)
            msgs = _ticks(4, 5)
            assert await _echo_round(conn, msgs) == msgs
        assert cache.get(dict_a.id) == dict_a
    assert echo.received == msgs


async def test_server_vanishes_mid_transfer_leaves_no_partial_cache(dict_a: Dictionary, tmp_path: Path) -> None:
    """The mirror case: the server drops the socket after one CHUNK; the client caches nothing."""

    async def handler(ws: Any) -> None:
        await ws.send(pack_control(Hello(1, 1024, ((dict_a.id, len(dict_a)),))))
        req = parse_control(_binary(await ws.recv()))
        assert isinstance(req, Get)
        await ws.send(pack_control(Chunk(dict_a.id, req.offset, dict_a.to_bytes()[req.offset:req.offset + req.length])))
        ws.transport.abort()

    cache_dir = tmp_path / "cache"
    async with ws_serve(handler, "127.0.0.1", 0, subprotocols=[Subprotocol("aura.v1")], compression=None) as server:
        port = list(server.sockets)[0].getsockname()[1]
        conn = await connect(f"ws://127.0.0.1:{port}/", dictionary_cache=cache_dir, fetch="inband", **OPTS)
        try:
            synced = await conn.wait_synced(10)
            assert not synced
            with pytest.raises((ConnectionClosed, AuraError)):
                await asyncio.wait_for(conn.recv(), 10)
        finally:
            await conn.close()
    leftovers = [p.name for p in cache_dir.rglob("*") if p.is_file()] if cache_dir.exists() else []
    assert leftovers == []


async def test_corrupted_dictionary_in_client_cache_is_detected_and_refetched(dict_a: Dictionary,
                                                                              tmp_path: Path) -> None:
    cache = DictionaryCache(tmp_path / "cache")
    cache.put(dict_a)
    path = cache.path_for(dict_a.id)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    echo = Echo()
    mw = AuraMiddleware(echo, dictionary=dict_a, max_chunk=4096, **OPTS)
    sock = bound_socket()
    async with serve_app(mw, sock=sock, ws="auto"):
        uri = f"ws://127.0.0.1:{sock.getsockname()[1]}/ws"
        async with connect(uri, dictionary_cache=cache, fetch="inband", **OPTS) as conn:
            assert await conn.wait_synced(20)
            assert conn.dictionary_id == dict_a.id
            msgs = _ticks(3, 6)
            assert await _echo_round(conn, msgs) == msgs
    assert cache.corrupted >= 1
    assert path.read_bytes() == dict_a.to_bytes()  # refetched and stored again, verified


async def test_server_restarted_with_new_dictionary_while_clients_reconnect(dict_a: Dictionary, dict_b: Dictionary,
                                                                           tmp_path: Path) -> None:
    n_clients = 8
    cache = DictionaryCache(tmp_path / "cache")
    cache.put(dict_a)
    probe = bound_socket()
    port = probe.getsockname()[1]
    uri = f"ws://127.0.0.1:{port}/ws"
    msgs = _ticks(3, 7)

    async def one_life(k: int, expect: Dictionary, ready: asyncio.Event) -> str:
        async with connect(uri, dictionary_cache=cache, fetch="inband", open_timeout=5, **OPTS) as conn:
            assert await conn.wait_synced(20)
            assert await _echo_round(conn, [f"{k}:{m}" for m in msgs]) == [f"{k}:{m}" for m in msgs]
            did = conn.dictionary_id
            assert did == expect.id
            ready.set()
            # Stay connected until the server goes away.
            with contextlib.suppress(ConnectionClosed, AuraError):
                await asyncio.wait_for(conn.recv(), 30)
            return str(did)

    async def reconnecting_client(k: int, first: asyncio.Event) -> list[str]:
        seen = [await one_life(k, dict_a, first)]
        for _attempt in range(100):  # reconnect with a short backoff until the new server answers
            try:
                async with connect(uri, dictionary_cache=cache, fetch="inband", open_timeout=2, **OPTS) as conn:
                    assert await conn.wait_synced(20)
                    sent = [f"{k}:again:{m}" for m in msgs]
                    assert await _echo_round(conn, sent) == sent
                    seen.append(str(conn.dictionary_id))
                    return seen
            except (OSError, ConnectionClosed, asyncio.TimeoutError):
                await asyncio.sleep(0.05)
        raise AssertionError(f"client {k} never reconnected")

    echo_a, echo_b = Echo(), Echo()
    events = [asyncio.Event() for _ in range(n_clients)]
    async with serve_app(AuraMiddleware(echo_a, dictionary=dict_a, **OPTS), sock=probe, ws="auto"):
        tasks = [asyncio.create_task(reconnecting_client(k, events[k])) for k in range(n_clients)]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 60)
    # Server A is down; the clients are retrying.  Restart on the same port with dictionary B.
    async with serve_app(AuraMiddleware(echo_b, dictionary=dict_b, **OPTS), sock=bound_socket(port), ws="auto"):
        results = await asyncio.wait_for(asyncio.gather(*tasks), 90)
    assert all(r == [dict_a.id, dict_b.id] for r in results), results
    assert sorted(echo_b.received) == sorted(f"{k}:again:{m}" for k in range(n_clients) for m in msgs)
    assert cache.get(dict_b.id) == dict_b  # fetched once in-band, verified, cached


# -- desync over a real socket ---------------------------------------------------------------------------------


async def test_desync_over_a_socket_closes_1007_and_app_never_sees_wrong_text() -> None:
    echo = Echo()
    mw = AuraMiddleware(echo, dictionary=None, **BRIO_ONLY)
    sock = bound_socket()
    async with serve_app(mw, sock=sock, ws="auto"):
        ws = await ws_connect(f"ws://127.0.0.1:{sock.getsockname()[1]}/ws", subprotocols=[Subprotocol("aura.v1")],
                              compression=None)
        cli = Session(Role.CLIENT, codec_config=BRIO_ONLY)
        cli.receive_frame(_binary(await ws.recv()))  # HELLO without dictionaries: dictionary-free from the start
        assert not [e for e in cli.events() if isinstance(e, ConnectionFailed)]
        msgs = _ticks(6, 8)
        code = None
        try:
            for i, m in enumerate(msgs):
                cli.send_message(m)
                frames = cli.data_to_send()
                if i == 2:
                    continue  # this frame is lost: the server's context no longer matches ours
                for f in frames:
                    assert parse_header(f).method != METHOD_TEMPLATE
                    await ws.send(f)
            await asyncio.wait_for(ws.wait_closed(), 10)
        finally:
            code = ws.close_code
            await ws.close()
    assert code == 1007
    assert echo.received == msgs[:len(echo.received)] and len(echo.received) == 2
