"""The permessage-aura extension on plain websockets servers and clients (no ASGI)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from conftest import TEST_CODEC, small_dictionary
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Frame

from aura_wire.extension import (
    ClientPerMessageAuraFactory,
    PerMessageAura,
    ServerPerMessageAuraFactory,
    client_extensions,
    server_extensions,
)

CC = TEST_CODEC
MESSAGES: list[str | bytes] = ["hi", b"\x00\x01bin", "", '{"type":"message","room":"a","user":"alice","text":"hello world"}',
                              "é" * 2000]


async def echo(ws: ServerConnection) -> None:
    try:
        async for m in ws:
            await ws.send(m)
    except ConnectionClosed:
        pass


class _Server:
    def __init__(self, extensions: list[Any], process_request: Any = None) -> None:
        self.extensions = extensions
        self.process_request = process_request

    async def __aenter__(self) -> str:
        self.cm = serve(echo, "127.0.0.1", 0, extensions=self.extensions, compression=None,
                        process_request=self.process_request)
        srv = await self.cm.__aenter__()
        port = next(iter(srv.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    async def __aexit__(self, *exc: Any) -> None:
        await self.cm.__aexit__(*exc)


async def roundtrip(uri: str, extensions: Any) -> list[Any]:
    async with ws_connect(uri, extensions=extensions, compression=None, proxy=None) as ws:
        for m in MESSAGES:
            await ws.send(m)
            assert await ws.recv() == m
        return list(ws.protocol.extensions)


async def test_dictionary_offers_and_fallbacks() -> None:
    d, other = small_dictionary("a"), small_dictionary("b")
    async with _Server(server_extensions([d], **CC)) as uri:
        exts = await roundtrip(uri, client_extensions([other, d], **CC))
        assert len(exts) == 1 and isinstance(exts[0], PerMessageAura) and exts[0].dictionary == d
        exts = await roundtrip(uri, client_extensions([other], **CC))  # server lacks it: no dictionary
        assert len(exts) == 1 and isinstance(exts[0], PerMessageAura) and exts[0].dictionary is None
        exts = await roundtrip(uri, [ClientPerMessageDeflateFactory()])  # deflate-only client
        assert len(exts) == 1 and isinstance(exts[0], PerMessageDeflate)
        assert await roundtrip(uri, None) == []  # no extension at all


async def test_only_one_of_aura_and_deflate_applies() -> None:
    d = small_dictionary()
    async with _Server(server_extensions([d], **CC)) as uri:
        exts = await roundtrip(uri, client_extensions([d], deflate=True, **CC))
        assert [type(e) for e in exts] == [PerMessageAura]
    # A stock deflate factory listed first on the server wins when the client offers deflate first.
    async with _Server([ServerPerMessageDeflateFactory(), ServerPerMessageAuraFactory(d, **CC)]) as uri:
        exts = await roundtrip(uri, [ClientPerMessageDeflateFactory(), ClientPerMessageAuraFactory(d, **CC)])
        assert [type(e) for e in exts] == [PerMessageDeflate]


async def test_context_off_is_negotiated() -> None:
    d = small_dictionary()
    async with _Server(server_extensions([d], context=False, **CC)) as uri:
        exts = await roundtrip(uri, client_extensions([d], **CC))
        assert isinstance(exts[0], PerMessageAura) and exts[0].context is False


def test_bad_parameters_refused() -> None:
    from websockets.exceptions import NegotiationError

    f = ServerPerMessageAuraFactory(small_dictionary(), **CC)
    for params in ([("dict", "zz")], [("color", "blue")], [("no_context", "1")], [("dict", "ab" * 32)]):
        with pytest.raises(NegotiationError):
            f.process_request_params(params, [])


class _Faulty(PerMessageAura):
    """A client extension that sends a chosen broken frame instead of the message."""

    payload = b""

    def encode(self, frame: Frame) -> Frame:
        if frame.opcode.value in (1, 2):
            return dataclasses.replace(frame, data=self.payload)
        return frame


class _FaultyFactory(ClientPerMessageAuraFactory):
    def process_response_params(self, params: Any, accepted: Any) -> Any:
        base = super().process_response_params(params, accepted)
        assert isinstance(base, PerMessageAura)
        return _Faulty(base.session.role, None, codec_config=CC)


@pytest.mark.parametrize(
    ("payload", "code"),
    [(b"\x0e\x00", 1002), (b"\x07\x02" + b"\x00" * 32, 1002), (b"\x58\xff\xfe\x0a", 1007), (b"\x69abc", 1007)],
)
async def test_bad_frames_close_with_the_right_code(payload: bytes, code: int) -> None:
    async with _Server(server_extensions(None, **CC)) as uri:
        _Faulty.payload = payload
        async with ws_connect(uri, extensions=[_FaultyFactory(**CC)], compression=None, proxy=None) as ws:
            await ws.send("this text becomes a broken frame")
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == code


async def test_dictionary_endpoint_for_websockets_serve(tmp_path: Any) -> None:
    import hashlib

    from aura_wire.client.http import fetch_dictionary
    from aura_wire.errors import UnknownDictionaryError
    from aura_wire.extension import dictionary_endpoint

    d = small_dictionary()
    async with _Server(server_extensions([d], **CC), dictionary_endpoint([d])) as uri:
        got = await fetch_dictionary(uri, d.id)
        assert got == d and hashlib.sha256(got.to_bytes()).hexdigest() == d.id
        with pytest.raises(UnknownDictionaryError):
            await fetch_dictionary(uri, "0" * 64)
        exts = await roundtrip(uri, client_extensions([got], **CC))  # then offer it in the handshake
        assert exts[0].dictionary == d


def test_package_reexports_the_module_api() -> None:
    """``aura_wire.extension`` offers every public name of ``permessage_aura`` (listed once, there)."""
    import aura_wire.extension as package
    from aura_wire.extension import permessage_aura

    for name in permessage_aura.__all__:
        assert getattr(package, name) is getattr(permessage_aura, name)
