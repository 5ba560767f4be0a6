"""Negotiated codec parameters (spec/session.md §4.1.1, §9): the server announces, the client adopts.

Sans-I/O sessions first, then the real stack: uvicorn + AuraMiddleware and aura_wire.client on
127.0.0.1, a hand-made websockets server for a HELLO no reference server sends, and the
permessage-aura extension route.
"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidHandshake, NegotiationError
from websockets.typing import Subprotocol

from aura_wire.client import connect
from aura_wire.codec.config import CONTEXT_FIELDS, CONTEXT_REVISION, CodecConfig
from aura_wire.codec.decoder import Decoder
from aura_wire.errors import AuraError, ProtocolError
from aura_wire.extension import (
    ClientPerMessageAuraFactory,
    PerMessageAura,
    ServerPerMessageAuraFactory,
    client_extensions,
    server_extensions,
)
from aura_wire.middleware import AuraMiddleware
from aura_wire.session import ConnectionFailed, MessageReceived, Role, Session, SessionConfig, State
from aura_wire.session.control import Hello, is_control_frame, pack_control, parse_control
from aura_wire.session.params import PARAM_KEYS, ContextParams, adopt_params, announced_params, check_params
from conftest import echo_app, pump, serve_app

REPO = Path(__file__).resolve().parents[2]

#: Non-default values for every field that shapes context state (defaults: 8192, 32768, 512, 2048, 64, 4096, 6144).
SERVER_CODEC: dict[str, Any] = {"window": 2048, "zstd_window": 4096, "zstd_history_min_size": 256,
                                "template_brio_window": 1024, "max_runtime_templates": 8,
                                "max_runtime_template_bytes": 2048, "template_state_bytes": 1024}


def traffic(n: int, seed: int = 1) -> list[str | bytes]:
    """Chat lines, 300-byte updates (ZSTD history under zstd_history_min_size 256), large snapshots, binary."""
    rnd = random.Random(seed)
    users = [f"user{i}" for i in range(12)]
    out: list[str | bytes] = []
    for i in range(n):
        k = i % 10
        if k < 6:
            out.append(json.dumps({"type": "message", "room": rnd.choice("abc"), "user": rnd.choice(users),
                                   "text": " ".join(rnd.choice(["hello", "world", "ok", "lunch", "deploy", "now"])
                                                    for _ in range(rnd.randint(1, 9))), "seq": i}))
        elif k < 8:
            out.append(json.dumps({"type": "update", "seq": i, "rows": [
                {"id": j, "name": f"item {j}", "price": rnd.randint(1, 9999) / 100} for j in range(i % 7, i % 7 + 8)]}))
        elif k == 8:
            out.append(json.dumps({"type": "snapshot", "seq": i, "rows": [
                {"id": j, "name": f"item {j}", "tags": ["a", "b"], "qty": rnd.randint(0, 50)} for j in range(30)]}))
        else:
            out.append(bytes(rnd.randrange(4) for _ in range(rnd.randint(0, 200))))
    return out


def received(events: list[Any]) -> list[Any]:
    return [e.data for e in events if isinstance(e, MessageReceived)]


def failures(events: list[Any]) -> list[ConnectionFailed]:
    return [e for e in events if isinstance(e, ConnectionFailed)]


def exchange(server: Session, client: Session, messages: list[str | bytes]) -> tuple[list[Any], list[Any]]:
    es: list[Any] = []
    ec: list[Any] = []
    for m in messages:
        if server.closed or client.closed:
            break
        server.send_message(m)
        client.send_message(m)
        a, b = pump(server, client)
        es += a
        ec += b
    return es, ec


# -- sans-I/O ---------------------------------------------------------------------------------------------


def test_hello_carries_the_server_parameters_and_the_client_adopts_them() -> None:
    server = Session(Role.SERVER, codec_config=SERVER_CODEC)
    client = Session(Role.CLIENT, codec_config={"zstd_level": 1, "window": 65536, "fuzzy_templates": False})
    server.start()
    (hello_frame,) = server.data_to_send()
    hello = parse_control(hello_frame)
    assert isinstance(hello, Hello)
    assert dict(hello.params) == {0: 1, 1: CONTEXT_REVISION, **{PARAM_KEYS[n]: v for n, v in SERVER_CODEC.items()}}
    assert [k for k, _ in hello.params] == list(range(9))
    client.receive_frame(hello_frame)
    assert client.events() == []
    assert client.params == ContextParams(True, CONTEXT_REVISION, SERVER_CODEC)
    cfg = client.codec_config
    assert {n: cfg[n] for n in CONTEXT_FIELDS} == SERVER_CODEC  # the client's own window=65536 is replaced
    assert cfg["zstd_level"] == 1 and cfg["fuzzy_templates"] is False  # encoder-only knobs stay the client's
    assert client.context is True and client.state is State.PLAIN


def test_non_default_server_and_default_client_stay_in_sync_in_context_mode() -> None:
    server = Session(Role.SERVER, codec_config=SERVER_CODEC)
    client = Session(Role.CLIENT)
    server.start()
    pump(server, client)
    msgs = traffic(60)
    es, ec = exchange(server, client, msgs)
    assert failures(es) == [] and failures(ec) == []
    assert received(es) == msgs and received(ec) == msgs
    assert server.stats.sent_methods.keys() - {"RAW"}  # context methods were used, not only RAW


def test_template_state_budget_is_left_out_at_its_default_and_taken_when_absent() -> None:
    server = Session(Role.SERVER)
    client = Session(Role.CLIENT)
    server.start()
    (hello_frame,) = server.data_to_send()
    hello = parse_control(hello_frame)
    assert isinstance(hello, Hello)
    assert [k for k, _ in hello.params] == list(range(8))  # key 8 left out: earlier clients keep working
    client.receive_frame(hello_frame)
    assert client.params is not None and client.params.values["template_state_bytes"] == 6144
    assert client.codec_config["template_state_bytes"] == 6144


def test_lean_level_server_and_templating_client_agree_on_the_budget() -> None:
    """Level 0 announces template_state_bytes 1024 (key 8); a client that does send templates adopts it,
    so the server's decoder keeps the same small state as the client's encoder, and the server's own
    frames decode at the client."""
    server = Session(Role.SERVER, codec_config={"level": 0})
    client = Session(Role.CLIENT, codec_config={"templates": True})
    server.start()
    (hello_frame,) = server.data_to_send()
    hello = parse_control(hello_frame)
    assert isinstance(hello, Hello) and dict(hello.params)[PARAM_KEYS["template_state_bytes"]] == 1024
    client.receive_frame(hello_frame)
    assert client.codec_config["template_state_bytes"] == 1024
    msgs = traffic(80, seed=5)
    es, ec = exchange(server, client, msgs)
    assert failures(es) == [] and failures(ec) == []
    assert received(es) == msgs and received(ec) == msgs
    assert client.stats.sent_methods.keys() & {"template", "template_brio"}  # the budget was exercised


def test_without_negotiation_the_same_traffic_desynchronises() -> None:
    """What happened before: each side built its codec from its own configuration (the failure fixed here)."""
    server = Session.for_extension(Role.SERVER, None, codec_config=SERVER_CODEC)
    client = Session.for_extension(Role.CLIENT, None)  # defaults: nothing tells it the server's values
    es, ec = exchange(server, client, traffic(60))
    fails = failures(es) + failures(ec)
    assert fails and fails[0].code == 1007


def test_adopted_parameters_vector_depends_on_the_adoption() -> None:
    vector = json.loads((REPO / "spec/vectors/session/adopted_parameters.json").read_text())
    for adopt, ok in ((vector["server_codec_config"], True), ({}, False)):
        dec = Decoder(None, context=True, **vector["codec_config"], **adopt)
        try:
            got = [dec.decode(bytes.fromhex(st["frame"])) for st in vector["steps"]
                   if st.get("from") == "server" and not is_control_frame(bytes.fromhex(st["frame"]))]
        except AuraError:
            assert not ok
            continue
        assert ok and got == [st["message"]["text"] for st in vector["steps"] if st.get("from") == "server"
                              and "message" in st]


def test_client_codes_stateless_before_hello_and_refuses_data_before_it() -> None:
    server = Session(Role.SERVER, codec_config=SERVER_CODEC)
    client = Session(Role.CLIENT)
    client.send_message('{"type":"message","text":"early"}' * 4)
    (early,) = client.data_to_send()
    assert early[0] & 0x30 == 0  # C=0, D=0: decodable whatever the parameters
    server.start()
    server.receive_frame(early)
    assert received(server.events()) == ['{"type":"message","text":"early"}' * 4]
    client2 = Session(Role.CLIENT)
    client2.receive_frame(b"\x08hi")  # a RAW text frame before HELLO
    (fail,) = failures(client2.events())
    assert fail.code == 1002 and "before HELLO" in fail.reason


def hello_with(**changes: int | None) -> bytes:
    server = Session(Role.SERVER)
    server.start()
    hello = parse_control(server.data_to_send()[0])
    assert isinstance(hello, Hello)
    params = dict(hello.params)
    for name, value in changes.items():
        key = PARAM_KEYS[name] if name in PARAM_KEYS else int(name.lstrip("k"))
        if value is None:
            params.pop(key)
        else:
            params[key] = value
    return pack_control(hello._replace(params=tuple(sorted(params.items()))))


@pytest.mark.parametrize(("changes", "config", "text"), [
    ({"revision": CONTEXT_REVISION + 1}, SessionConfig(), "revision"),
    ({"revision": 0}, SessionConfig(), "revision"),
    ({"context": 2}, SessionConfig(), "context flag"),
    ({"window": None}, SessionConfig(), "lacks parameter(s) window"),
    ({"k9": 1}, SessionConfig(), "unknown mandatory parameter key 9"),
    ({"k63": 1}, SessionConfig(), "unknown mandatory parameter key 63"),
    ({"window": (1 << 20) + 1}, SessionConfig(), "window must be in"),
    ({"zstd_history_min_size": 0}, SessionConfig(), "zstd_history_min_size must be in"),
    ({"max_runtime_template_bytes": 2**64 - 1}, SessionConfig(), "max_runtime_template_bytes must be in"),
    ({"window": 1 << 20}, SessionConfig(max_context_memory=1 << 20), "max_context_memory"),
    ({}, SessionConfig(context=False), "refuse"),
])
def test_client_refuses_hostile_or_unacceptable_parameters(changes: dict[str, int | None], config: SessionConfig,
                                                           text: str) -> None:
    client = Session(Role.CLIENT, config=config)
    client.receive_frame(hello_with(**changes))
    (fail,) = failures(client.events())
    assert fail.code == 1002 and text in fail.reason and fail.remote
    assert isinstance(client.failure, ProtocolError) and client.state is State.CLOSED
    assert len(fail.reason.encode()) <= 123


def test_optional_keys_ignored_and_stateless_server_accepted_by_any_client() -> None:
    client = Session(Role.CLIENT)
    client.receive_frame(hello_with(k120=5, k1000000=2**64 - 1))
    assert client.events() == [] and client.params is not None
    stateless = Session(Role.SERVER, config=SessionConfig(context=False), codec_config={"window": 1 << 20,
                                                                                         "zstd_window": 1 << 22})
    refusing = Session(Role.CLIENT, config=SessionConfig(context=False, max_context_memory=0))
    stateless.start()
    pump(stateless, refusing)
    assert refusing.context is False and not refusing.closed  # the memory bound applies to context mode only
    es, ec = exchange(stateless, refusing, traffic(10))
    assert received(es) == received(ec) == traffic(10)


def test_param_helpers() -> None:
    assert tuple(PARAM_KEYS)[2:] == CONTEXT_FIELDS  # every field that shapes context state has a HELLO key
    p = announced_params(True, {})
    assert p.values == CodecConfig().context_params() and adopt_params(p.pairs()) == p
    merged = check_params(p, allow_context=True, max_context_memory=1 << 30, codec_config={"zstd_level": 9})
    assert merged["zstd_level"] == 9 and merged["window"] == CodecConfig().window


# -- real server and client --------------------------------------------------------------------------------


async def test_e2e_default_client_adopts_non_default_server_parameters() -> None:
    mw = AuraMiddleware(echo_app, **SERVER_CODEC)
    msgs = traffic(300, seed=7)
    async with serve_app(mw) as base:
        async with connect(base.replace("http", "ws") + "/echo", dictionary_cache=False) as c:
            assert c.session is not None and c.session.params is not None
            assert c.session.params.values == SERVER_CODEC  # adopted at connect(), before any data frame

            async def reader() -> list[str | bytes]:
                return [await c.recv() for _ in msgs]

            task = asyncio.ensure_future(reader())
            for m in msgs:
                await c.send(m)
            got = await asyncio.wait_for(task, 60)
            assert got == msgs
            assert c.stats.received_methods.keys() - {"RAW"} and c.stats.sent_methods.keys() - {"RAW"}
            assert c.stats.sent_wire_bytes < c.stats.sent_raw_bytes / 2
        assert mw.failures == {}


async def test_e2e_client_refuses_a_too_large_context() -> None:
    mw = AuraMiddleware(echo_app, window=1 << 20, zstd_window=1 << 22)
    async with serve_app(mw) as base:
        with pytest.raises(ProtocolError, match="max_context_memory") as info:
            await connect(base.replace("http", "ws") + "/echo", dictionary_cache=False, max_context_memory=1 << 20)
        assert info.value.close_code == 1002
        async with connect(base.replace("http", "ws") + "/echo", dictionary_cache=False) as c:  # default: 8 MiB
            await c.send("ok")
            assert await c.recv() == "ok"


async def test_e2e_server_with_unknown_revision() -> None:
    closes: list[tuple[int | None, str | None]] = []
    hello = hello_with(revision=CONTEXT_REVISION + 1)

    async def handler(ws: ServerConnection) -> None:
        await ws.send(hello)
        try:
            async for _ in ws:
                pass
        except ConnectionClosed:
            pass
        closes.append((ws.close_code, ws.close_reason))

    async with serve(handler, "127.0.0.1", 0, subprotocols=[Subprotocol("aura.v1")],
                     compression=None) as srv:
        port = next(iter(srv.sockets)).getsockname()[1]
        with pytest.raises(ProtocolError, match="revision"):
            await connect(f"ws://127.0.0.1:{port}/", dictionary_cache=False)
        for _ in range(100):
            if closes:
                break
            await asyncio.sleep(0.01)
    assert closes and closes[0][0] == 1002 and "revision" in (closes[0][1] or "")


# -- permessage-aura ---------------------------------------------------------------------------------------


async def _ext_echo(ws: ServerConnection) -> None:
    try:
        async for m in ws:
            await ws.send(m)
    except ConnectionClosed:
        pass


async def test_extension_route_carries_the_parameters() -> None:
    msgs = traffic(40, seed=3)
    async with serve(_ext_echo, "127.0.0.1", 0, extensions=server_extensions(None, deflate=False, **SERVER_CODEC),
                     compression=None) as srv:
        uri = f"ws://127.0.0.1:{next(iter(srv.sockets)).getsockname()[1]}"
        async with ws_connect(uri, extensions=client_extensions(None, deflate=False), compression=None,
                              proxy=None) as ws:
            (ext,) = ws.protocol.extensions
            assert isinstance(ext, PerMessageAura) and ext.context
            assert {n: ext.session.codec_config[n] for n in CONTEXT_FIELDS} == SERVER_CODEC
            for m in msgs:
                await ws.send(m)
                assert await ws.recv() == m
        with pytest.raises(InvalidHandshake):  # too much context for this client: no acceptable response
            async with ws_connect(uri, extensions=client_extensions(None, deflate=False, max_context_memory=1024),
                                  compression=None, proxy=None):
                pass


def test_extension_revision_and_bounds_checks() -> None:
    server = ServerPerMessageAuraFactory(None, **SERVER_CODEC)
    params, _ = server.process_request_params([("rev", str(CONTEXT_REVISION))], [])
    assert ("rev", str(CONTEXT_REVISION)) in params and ("window", "2048") in params
    with pytest.raises(NegotiationError, match="revision"):
        server.process_request_params([("rev", str(CONTEXT_REVISION + 1))], [])
    with pytest.raises(NegotiationError):  # the client does not set context fields
        server.process_request_params([("window", "1")], [])
    client = ClientPerMessageAuraFactory(None)
    assert ("rev", str(CONTEXT_REVISION)) in client.get_request_params()
    ext = client.process_response_params(params, [])
    assert isinstance(ext, PerMessageAura) and ext.session.codec_config["window"] == 2048
    assert ("template_state_bytes", "1024") in params and ext.session.codec_config["template_state_bytes"] == 1024
    default, _ = ServerPerMessageAuraFactory(None).process_request_params([("rev", str(CONTEXT_REVISION))], [])
    assert "template_state_bytes" not in dict(default)  # left out at 6144, as in HELLO
    ext = client.process_response_params(default, [])
    assert isinstance(ext, PerMessageAura) and ext.session.codec_config["template_state_bytes"] == 6144
    for bad in ([p for p in params if p[0] != "rev"],  # no revision
                [p for p in params if p[0] != "window"],  # a context field missing
                [(k, str(CONTEXT_REVISION + 1) if k == "rev" else v) for k, v in params],
                [(k, "99999999999" if k == "window" else v) for k, v in params],
                [(k, "-1" if k == "window" else v) for k, v in params]):
        with pytest.raises(NegotiationError):
            client.process_response_params(bad, [])
    stateless = client.process_response_params([("no_context", None), ("rev", str(CONTEXT_REVISION))], [])
    assert isinstance(stateless, PerMessageAura) and stateless.context is False
