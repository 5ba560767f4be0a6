"""A v1 peer and a v2 peer refuse each other cleanly (spec/wire-format.md §3, spec/session.md §4.1.1, §8).

Over real sockets: a server of wire v1 (it announces context revision 1 in HELLO) is refused by
this client with close 1002 and a reason naming both revisions, before any data frame; a v1 client's
first data frame (header version bits 0) is refused by this server with 1002; and frame by frame a
v2 decoder refuses every v1 data frame with UnsupportedVersionError while v1's own parser (version
bits must be 0) refuses every frame this encoder makes.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import pytest
import websockets
from websockets.asyncio.server import serve

from aura_wire import AuraMiddleware, Decoder, Encoder, ProtocolError, UnsupportedVersionError
from aura_wire.client import connect
from aura_wire.codec.config import CONTEXT_REVISION
from aura_wire.session.control import Hello, pack_control
from aura_wire.session.params import DEFAULT_PARAMS, PARAM_REVISION

if __name__ == "__main__":  # run as a script: conftest's helpers are one folder up
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conftest import serve_app

#: v1 frames, as the v1 reference wrote them: RAW text "hello" (stateless and context), a context
#: BRIO frame header, a CONTROL frame (unchanged in v2)
V1_FRAMES = [bytes.fromhex("0868656c6c6f"), bytes.fromhex("1868656c6c6f"), bytes.fromhex("3c0000")]


def test_v2_decoder_refuses_v1_frames() -> None:
    for ctx in (False, True):
        for f in V1_FRAMES:
            with pytest.raises(UnsupportedVersionError, match="version 1 is not supported"):
                Decoder(context=ctx).decode(f)


def test_v1_parser_refuses_v2_frames() -> None:
    # v1 decoders MUST refuse a frame whose version bits are not 0 (v1 spec §3): every v2 data frame
    # has version bits 1, STATE frames included
    enc = Encoder(context=True)
    msgs: list[str | bytes] = ["hello", b"\x00\x01", '{"a":1}', '{"a":2}', '{"a":3}']
    frames = [enc.encode(m) for m in msgs * 3]
    assert all(f[0] >> 6 == 1 for f in frames)


async def test_client_refuses_a_v1_server() -> None:
    assert CONTEXT_REVISION == 2
    v1_params = tuple((k, 1 if k == PARAM_REVISION else v) for k, v in DEFAULT_PARAMS)
    closed: list[tuple[int | None, str | None]] = []

    async def v1_server(ws: Any) -> None:
        await ws.send(pack_control(Hello(version=1, max_chunk=16384, dictionaries=(), params=v1_params)))
        try:
            await ws.recv()
        except websockets.ConnectionClosed as exc:
            closed.append((exc.rcvd.code if exc.rcvd else None, exc.rcvd.reason if exc.rcvd else None))

    async with serve(v1_server, "127.0.0.1", 0, subprotocols=["aura.v1"]) as srv:  # type: ignore[list-item]
        port = srv.sockets[0].getsockname()[1]
        with pytest.raises(ProtocolError, match="revision"):
            async with connect(f"ws://127.0.0.1:{port}/", dictionary_cache=False):
                pass
        for _ in range(200):
            if closed:
                break
            await asyncio.sleep(0.01)
    assert closed and closed[0][0] == 1002 and "revision 1" in (closed[0][1] or "") and "2" in (closed[0][1] or "")


async def echo(scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
               send: Callable[[MutableMapping[str, Any]], Awaitable[None]]) -> None:
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    while (await receive())["type"] != "websocket.disconnect":
        pass


async def test_server_refuses_a_v1_clients_frames() -> None:
    async with serve_app(AuraMiddleware(echo)) as url:
        async with websockets.connect(url.replace("http", "ws") + "/", subprotocols=["aura.v1"]) as ws:  # type: ignore[list-item]
            hello = await ws.recv()
            assert isinstance(hello, bytes) and hello[0] == 0x07
            await ws.send(V1_FRAMES[0])  # a v1 client's stateless RAW text frame
            with pytest.raises(websockets.ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 10)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1002
