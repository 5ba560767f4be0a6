"""AuraMiddleware under real ASGI servers on 127.0.0.1: pass-through, negotiation, endpoint, errors, broadcast."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from aura_wire.client import connect
from aura_wire.errors import ConfigError
from aura_wire.middleware import AuraMiddleware, connection_of
from conftest import TEST_CODEC, count_bytes, eventually, port_of, serve_app, small_dictionary

CC = TEST_CODEC
SEEN: dict[str, Any] = {}


async def echo(ws: WebSocket) -> None:
    SEEN["subprotocols"] = list(ws.scope.get("subprotocols", []))
    await ws.accept(subprotocol=SEEN["subprotocols"][0] if SEEN["subprotocols"] else None)
    try:
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                SEEN["disconnect"] = msg.get("code")
                return
            if msg.get("text") is not None:
                await ws.send_text(msg["text"])
            else:
                await ws.send_bytes(msg["bytes"])
    except WebSocketDisconnect as exc:
        SEEN["disconnect"] = exc.code


ROOM: list[WebSocket] = []


async def room(ws: WebSocket) -> None:
    await ws.accept()
    ROOM.append(ws)
    try:
        async for text in ws.iter_text():
            await MW_HOLDER["mw"].broadcast(text, ROOM)
    finally:
        ROOM.remove(ws)


async def push(ws: WebSocket) -> None:
    """Sends only, never receives: the middleware must still process the client's control frames."""
    await ws.accept()
    for i in range(40):
        await ws.send_text('{"type":"message","room":"a","user":"alice","text":"hello world %d"}' % i)
        await asyncio.sleep(0.01)
    await ws.close()


async def hello(request: Any) -> PlainTextResponse:
    return PlainTextResponse("hello from the app")


MW_HOLDER: dict[str, AuraMiddleware] = {}


def make_app(**options: Any) -> AuraMiddleware:
    inner = Starlette(routes=[WebSocketRoute("/echo", echo), WebSocketRoute("/room", room),
                              WebSocketRoute("/push", push), Route("/hello", hello)])
    opts = dict(CC)
    opts.update(options)
    mw = AuraMiddleware(inner, **opts)
    MW_HOLDER["mw"] = mw
    return mw


def ws_url(base: str, path: str) -> str:
    return base.replace("http://", "ws://") + path


@pytest.mark.parametrize("backend", ["uvicorn", "hypercorn"])
async def test_aura_echo_text_and_binary(backend: str, tmp_path: Any) -> None:
    d = small_dictionary()
    async with serve_app(make_app(dictionary=d), backend) as base:
        async with connect(ws_url(base, "/echo"), dictionary_cache=tmp_path, **CC) as c:
            assert c.aura and c.subprotocol is None
            assert SEEN["subprotocols"] == []
            sent: list[str | bytes] = ["hello", b"\x00\x01\xff", "", b"", "héllo wörld " * 50]
            for m in sent:
                await c.send(m)
            got = [await c.recv() for _ in sent]
            assert got == sent and [type(x) for x in got] == [type(x) for x in sent]
            assert await c.wait_synced(5)
            await c.send('{"type":"message","room":"a","user":"alice","text":"hello world"}')
            assert await c.recv() == '{"type":"message","room":"a","user":"alice","text":"hello world"}'
            assert c.dictionary_id == d.id


async def test_plain_client_gets_the_app_byte_for_byte() -> None:
    """Same client, same messages, with and without the middleware: identical bytes on the socket."""
    inner = Starlette(routes=[WebSocketRoute("/echo", echo)])
    counts = []
    for app in (inner, AuraMiddleware(inner, dictionary=small_dictionary(), **CC)):
        async with serve_app(app) as base:
            port = port_of(base)
            async with count_bytes(port) as counter:
                async with ws_connect(f"ws://127.0.0.1:{counter.port}/echo", compression=None,
                                      subprotocols=None, proxy=None) as ws:
                    assert ws.subprotocol is None
                    plain: list[str | bytes] = ["plain text", b"\x01\x02 binary", "x" * 3000]
                    for m in plain:
                        await ws.send(m)
                        assert await ws.recv() == m
                await counter.settled()
            counts.append((counter.upstream, counter.downstream))
    assert counts[0] == counts[1]


async def test_subprotocol_composition(tmp_path: Any) -> None:
    async with serve_app(make_app(dictionary=small_dictionary())) as base:
        async with connect(ws_url(base, "/echo"), subprotocols=["chat.v2"], dictionary_cache=tmp_path, **CC) as c:
            assert c.aura and c.subprotocol == "chat.v2"
            assert SEEN["subprotocols"] == ["chat.v2"]  # aura.v1.chat.v2 and chat.v2 seen once, unprefixed
            await c.send("x")
            assert await c.recv() == "x"
        # A client without AURA offering only the app protocol: plain, and the app sees it unchanged.
        async with ws_connect(ws_url(base, "/echo"), subprotocols=[Subprotocol("chat.v2")], proxy=None) as ws:
            assert ws.subprotocol == "chat.v2"
            await ws.send("plain")
            assert await ws.recv() == "plain"


async def test_dictionary_endpoint_and_http_pass_through() -> None:
    d = small_dictionary()
    async with serve_app(make_app(dictionary=d)) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            r = await http.get(f"/_aura/dict/{d.id}", headers={"accept-encoding": "identity"})
            assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == d.id
            assert r.headers["etag"] == f'"{d.id}"' and "content-encoding" not in r.headers
            assert "immutable" in r.headers["cache-control"] and "max-age=31536000" in r.headers["cache-control"]
            for coding in ("gzip", "br"):  # a standard Content-Encoding, decoded by the HTTP client (spec §6.5)
                rc = await http.get(f"/_aura/dict/{d.id}", headers={"accept-encoding": coding})
                assert rc.headers["content-encoding"] == coding and rc.headers["etag"] == f'"{d.id}.{coding}"'
                assert hashlib.sha256(rc.content).hexdigest() == d.id
                assert int(rc.headers["content-length"]) < len(d) and "accept-encoding" in rc.headers["vary"]
            for tag in (f'"{d.id}"', f'"{d.id}.br"'):
                r2 = await http.get(f"/_aura/dict/{d.id}", headers={"if-none-match": tag})
                assert r2.status_code == 304 and r2.content == b""
            head = await http.head(f"/_aura/dict/{d.id}", headers={"accept-encoding": "identity"})
            assert head.headers["content-length"] == str(len(d))
            assert (await http.get("/_aura/dict/" + "0" * 64)).status_code == 404
            assert (await http.post(f"/_aura/dict/{d.id}")).status_code == 405
            index = (await http.get("/_aura/dict/")).json()
            assert index["current"] == d.id and index["dictionaries"][0]["id"] == d.id
            assert index["dictionaries"][0]["size"] == len(d) and 0 < index["dictionaries"][0]["coded"]["br"] < len(d)
            r3 = await http.get("/hello")
            assert r3.status_code == 200 and r3.text == "hello from the app"


async def raw_aura_exchange(base: str, path: str, frame: bytes | str) -> tuple[int, str]:
    async with ws_connect(ws_url(base, path), subprotocols=[Subprotocol("aura.v1")], compression=None,
                          proxy=None) as ws:
        assert ws.subprotocol == "aura.v1"
        hello_frame = await ws.recv()
        assert isinstance(hello_frame, bytes) and hello_frame[:2] == b"\x07\x01"
        await ws.send(frame)
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None
        return info.value.rcvd.code, info.value.rcvd.reason


@pytest.mark.parametrize("backend", ["uvicorn", "hypercorn"])
@pytest.mark.parametrize(
    ("frame", "code", "words"),
    [
        (b"\x87bad", 1002, "version"),  # frame version 3
        (b"\x06bad", 1002, "version"),  # a v1 data frame
        (b"\x07\x02" + b"\x11" * 32, 1002, "not announced"),
        (b"\x58\xff\xfe\x0a", 1007, "UTF-8"),  # context RAW text, invalid UTF-8, its check byte right
        ("text is not a frame", 1002, "binary"),
        (b"\x10" + b"x" * 5000, 1009, "max_message_size"),
    ],
)
async def test_bad_frames_close_with_code_and_reason(backend: str, frame: bytes | str, code: int, words: str) -> None:
    mw = make_app(dictionary=small_dictionary(), max_message_size=4096)
    async with serve_app(mw, backend) as base:
        got_code, reason = await raw_aura_exchange(base, "/echo", frame)
        assert got_code == code and words in reason and reason.startswith("aura: ")
        await eventually(lambda: mw.metrics_snapshot()["close_codes"], what="the close to be counted")
        assert mw.metrics_snapshot()["close_codes"] == {str(code): 1}


async def test_push_only_app_still_syncs(tmp_path: Any) -> None:
    d = small_dictionary()
    async with serve_app(make_app(dictionary=d)) as base:
        async with connect(ws_url(base, "/push"), dictionary_cache=tmp_path, **CC) as c:
            got = [m async for m in c]
            assert got == ['{"type":"message","room":"a","user":"alice","text":"hello world %d"}' % i for i in range(40)]
            assert c.synced and c.dictionary_id == d.id


async def test_broadcast_encodes_once_per_dictionary(tmp_path: Any) -> None:
    d = small_dictionary()
    mw = make_app(dictionary=d)
    async with serve_app(mw) as base:
        url = ws_url(base, "/room")
        async with connect(url, dictionary_cache=tmp_path, **CC) as a, \
                connect(url, dictionary_cache=tmp_path / "other", **CC) as b, \
                ws_connect(url, proxy=None) as plain:
            assert await a.wait_synced(5) and await b.wait_synced(5)
            while len(ROOM) < 3:
                await asyncio.sleep(0.01)
            text = '{"type":"message","room":"a","user":"alice","text":"hello world, everyone"}'
            await a.send(text)
            assert await a.recv() == text and await b.recv() == text and await plain.recv() == text
            assert mw.broadcast_metrics.messages == 1  # one encoding for the two AURA connections
            assert b.stats.received_methods and b.stats.received_wire_bytes < len(text)
            conns = [connection_of(ws) for ws in ROOM]
            assert sorted(c.aura for c in conns) == [False, True, True]


async def test_metrics_snapshot_and_ops_hook(tmp_path: Any) -> None:
    async def ops(scope: Any, receive: Any, send: Any) -> None:
        mw = scope["extensions"]["aura"]["middleware"]
        await JSONResponse(mw.metrics_snapshot())(scope, receive, send)

    mw = make_app(dictionary=small_dictionary(), ops_app=ops, ops_paths=["/metrics"])
    async with serve_app(mw) as base:
        async with connect(ws_url(base, "/echo"), dictionary_cache=tmp_path, **CC) as c:
            for i in range(5):
                await c.send(f"message number {i} " * 5)
                await c.recv()
            async with httpx.AsyncClient(base_url=base) as http:
                snap = (await http.get("/metrics")).json()
                assert (await http.get("/metricsfoo")).status_code == 404
        assert snap["connections"]["open_aura"] == 1
        assert snap["received"]["messages"] == 5 and snap["sent"]["messages"] == 5
        assert snap["sent"]["original_bytes"] == sum(len(f"message number {i} " * 5) for i in range(5))
        assert snap["total"]["messages"] == 10
        per = snap["per_connection"][0]
        assert per["aura"] and per["stats"]["received"]["raw_bytes"] == snap["received"]["original_bytes"]
        json.dumps(snap)


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        AuraMiddleware(Starlette(), zstd_level=99)
    assert info.value.field == "zstd_level"
    with pytest.raises(ConfigError):
        AuraMiddleware(Starlette(), dictionary_path="/no-slash")


async def test_standard_ops_endpoints_and_canary(tmp_path: Any) -> None:
    from aura_wire.ops import CanarySplitter

    canary = CanarySplitter(50, {"zstd_level": 3}, {"zstd_level": 1}, seed=1)
    mw = make_app(dictionary=small_dictionary(), canary=canary)
    mw.enable_ops()
    async with serve_app(mw) as base:
        for i in range(6):
            async with connect(ws_url(base, "/echo"), dictionary_cache=tmp_path, **CC) as c:
                await c.send(f"hello {i} " * 10)
                assert await c.recv() == f"hello {i} " * 10
        async with httpx.AsyncClient(base_url=base) as http:
            prom = await http.get("/aura/metrics")
            health = await http.get("/aura/health")
            page = await http.get("/aura/dashboard")
            app_404 = await http.get("/aura/nothing-here")
    assert prom.status_code == 200 and "aura" in prom.text
    assert health.status_code in (200, 503) and "status" in health.json()
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert app_404.status_code == 404  # not an ops path: the application answered
    assert canary.a.connections + canary.b.connections == 6
    assert mw.metrics().messages == 12  # 6 received + 6 sent, all in the arms
    snap = mw.metrics_snapshot()
    assert snap["canary"]["a"]["connections"] == canary.a.connections


async def test_client_disconnecting_mid_transfer_leaves_nothing_behind() -> None:
    d = small_dictionary()
    mw = make_app(dictionary=d, max_chunk=64)
    async with serve_app(mw) as base:
        from aura_wire.session.control import Get, pack_control

        async with ws_connect(ws_url(base, "/echo"), subprotocols=[Subprotocol("aura.v1")], compression=None,
                              proxy=None) as ws:
            await ws.recv()  # HELLO
            for off in range(0, 640, 64):
                await ws.send(pack_control(Get(d.id, off, 64)))
            await ws.recv()  # first CHUNK, then vanish
        for _ in range(200):
            if not mw.connections:
                break
            await asyncio.sleep(0.01)
        assert mw.connections == {}
        async with connect(ws_url(base, "/echo"), dictionary_cache=False, **CC) as c:  # the server still works
            assert await c.wait_synced(5)
            await c.send("after")
            assert await c.recv() == "after"
