"""Compression side channels (CRIME/BREACH family): sensitive messages and the dictionary privacy guard.

spec/wire-format.md §5.3: a message encoded with ``sensitive=True`` is coded with C=0 and D=0 and is not
committed, so its content can neither depend on nor change the size of any other frame.  These tests
encode the same later traffic after two different secrets and compare the frames; a control test shows
that without ``sensitive`` the same measurement does see the secret (so the comparison can fail).
docs/security-side-channels.md explains when to use it.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any, MutableMapping

import pytest

from aura_wire import Decoder, Dictionary, Encoder, train_dictionary
from aura_wire.codec.dictionary import SECTION_ZSTD
from aura_wire.codec.frame import parse_header


OPTS: dict[str, Any] = {"brio": True, "templates": True}

SECRET_A = "sk_live_7Hq2ZpX9vR4mTt0KcW"
SECRET_B = "sk_live_Lm3Nb8Yd1Qe6Gs5JxR"


def _traffic(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    return [json.dumps({"type": "order", "id": i, "user": f"u{rnd.randint(1, 50)}", "qty": rnd.randint(1, 9),
                        "note": rnd.choice(["fast", "gift", "none", "call first"])}) for i in range(n)]


TRAIN = _traffic(220, 1)


@pytest.fixture(scope="module")
def dictionary() -> Dictionary:
    return train_dictionary(TRAIN, zstd_dict_size=4096, brio_content_size=4096, **OPTS)


def _secret_message(secret: str) -> str:
    return json.dumps({"type": "session", "user": "victim", "auth": secret, "csrf": secret[::-1]})


def _later(secret_guess: str) -> list[str]:
    # The attacker controls (part of) later traffic and injects guesses of the secret, as in CRIME.
    out = _traffic(30, 2)
    out.insert(5, json.dumps({"type": "search", "q": f'"auth": "{secret_guess}"'}))
    out.append(json.dumps({"type": "echo", "text": secret_guess}))
    return out


def _frames_after(d: Dictionary | None, context: bool, secret: str, sensitive: bool, guess: str) -> list[bytes]:
    enc = Encoder(d, context=context, **OPTS)
    dec = Decoder(d, context=context, **OPTS)
    frames: list[bytes] = []
    for i, m in enumerate(_traffic(10, 3)):
        frames.append(enc.encode(m))
        if i == 4:
            f = enc.encode(_secret_message(secret), sensitive=sensitive)
            assert dec.decode(frames[-1]) == _traffic(10, 3)[i]
            assert dec.decode(f) == _secret_message(secret)
            continue
        assert dec.decode(frames[-1]) == m
    later = [enc.encode(m) for m in _later(guess)]
    for f, m in zip(later, _later(guess)):
        assert dec.decode(f) == m
    return later


@pytest.mark.parametrize("with_dict", [True, False])
@pytest.mark.parametrize("context", [True, False])
def test_sensitive_secret_does_not_change_later_frames(dictionary: Dictionary, with_dict: bool, context: bool) -> None:
    d = dictionary if with_dict else None
    # The attacker guesses SECRET_A; the victim's secret is A in one world, B in the other.
    world_a = _frames_after(d, context, SECRET_A, True, SECRET_A)
    world_b = _frames_after(d, context, SECRET_B, True, SECRET_A)
    assert [len(f) for f in world_a] == [len(f) for f in world_b]
    assert world_a == world_b  # stronger: the later frames are byte-identical


def test_sensitive_frame_flags_and_no_state(dictionary: Dictionary) -> None:
    enc = Encoder(dictionary, context=True, **OPTS)
    before = enc.memory_bytes()
    f = enc.encode(_secret_message(SECRET_A) * 20, sensitive=True)
    h = parse_header(f)
    assert not h.context and not h.uses_dictionary
    assert enc.memory_bytes() == before
    # A fresh stateless decoder without the dictionary decodes it: it depends on nothing shared.
    assert Decoder(None, context=False, **OPTS).decode(f) == _secret_message(SECRET_A) * 20


def test_non_sensitive_secret_does_change_later_frames(dictionary: Dictionary) -> None:
    """Control: the same measurement detects the secret when the message is not marked sensitive."""
    hit = _frames_after(dictionary, True, SECRET_A, False, SECRET_A)
    miss = _frames_after(dictionary, True, SECRET_B, False, SECRET_A)
    assert sum(len(f) for f in hit) < sum(len(f) for f in miss)


def test_within_one_message_size_still_depends_on_content() -> None:
    """Documented limit of ``sensitive``: it isolates a message from others, not a secret from the
    attacker-controlled text inside the same message (use compression off for that, see the doc)."""
    enc = Encoder(None, context=False, **OPTS)
    body = "".join(_traffic(8, 4))  # long enough for every compressing method to be tried
    m_hit = _secret_message(SECRET_A) + body + " reflected=" + SECRET_A
    m_miss = _secret_message(SECRET_A) + body + " reflected=" + SECRET_B
    assert len(enc.encode(m_hit, sensitive=True)) < len(enc.encode(m_miss, sensitive=True))
    raw_only = Encoder(None, context=False, zstd=False, brotli=False, brio=False, templates=False)
    assert len(raw_only.encode(m_hit, sensitive=True)) == len(raw_only.encode(m_miss, sensitive=True))


# -- dictionary privacy guard -------------------------------------------------------------------------


def _with_secret(samples: list[str], secret: str, copies: int) -> list[str]:
    out = list(samples)
    for j in range(copies):
        i = 7 + j * 19
        out[i] = out[i][:-1] + f', "auth": "{secret}"}}'
    return out


def _contains_part(blob: bytes, secret: str, k: int = 10) -> bool:
    s = secret.encode()
    return any(s[i:i + k] in blob for i in range(len(s) - k + 1))


@pytest.mark.parametrize("copies", [1, 7])
def test_brio_and_template_sections_exclude_rare_secret(copies: int) -> None:
    d = train_dictionary(_with_secret(TRAIN, SECRET_A, copies), zstd_dict_size=0, min_distinct=8, **OPTS)
    for kind, body in d.sections.items():
        assert not _contains_part(body, SECRET_A), f"section {kind} holds part of a secret seen in {copies} messages"


@pytest.mark.parametrize("copies", [1, 4])
def test_zstd_section_excludes_rare_secret(copies: int) -> None:
    # Only the zstd section matters here: train it alone (BRIO/templates are covered above).
    d = train_dictionary(_with_secret(TRAIN, SECRET_A, copies), zstd_dict_size=32768, min_distinct=8, brio=False,
                         templates=False)
    zd = d.section(SECTION_ZSTD)
    assert zd is not None
    assert not _contains_part(zd, SECRET_A)


def test_secret_in_many_messages_can_enter_the_dictionary() -> None:
    """Control for the guard tests: content seen in many messages does reach the dictionary, so the
    substring check above is able to see a secret when it is there."""
    d = train_dictionary(_with_secret(TRAIN, SECRET_A, 12), zstd_dict_size=32768, min_distinct=8, **OPTS)
    assert _contains_part(d.to_bytes(), SECRET_A)


# -- the same through AuraMiddleware, over a real socket ------------------------------------------------------


class _SecretApp:
    """ASGI app: on "go <secret>" it sends some traffic, the secret marked sensitive, then more traffic."""

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        await receive()
        await send({"type": "websocket.accept"})
        m = await receive()
        secret = str(m.get("text", "")).removeprefix("go ")
        for t in _traffic(4, 5):
            await send({"type": "websocket.send", "text": t})
        await send({"type": "websocket.send", "text": _secret_message(secret), "aura.sensitive": True})
        for t in _later(SECRET_A):
            await send({"type": "websocket.send", "text": t})
        await receive()


async def _frames_from_server(secret: str) -> list[bytes]:
    import socket

    import uvicorn
    from websockets.asyncio.client import connect as ws_connect
    from websockets.typing import Subprotocol

    from aura_wire.middleware import AuraMiddleware
    from aura_wire.session import MessageReceived, Role, Session

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(AuraMiddleware(_SecretApp(), dictionary=None, **OPTS),
                                           log_level="warning", lifespan="off"))
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        uri = f"ws://127.0.0.1:{sock.getsockname()[1]}/"
        async with ws_connect(uri, subprotocols=[Subprotocol("aura.v1")], compression=None) as ws:
            cli = Session(Role.CLIENT, codec_config=OPTS)
            hello = await ws.recv()
            assert isinstance(hello, bytes)
            cli.receive_frame(hello)
            cli.send_message("go " + secret)
            for f in cli.data_to_send():
                await ws.send(f)
            expected = _traffic(4, 5) + [_secret_message(secret)] + _later(SECRET_A)
            frames: list[bytes] = []
            for _ in expected:
                data: str | bytes = await asyncio.wait_for(ws.recv(), 30)
                assert isinstance(data, bytes)
                f = data
                frames.append(f)
                cli.receive_frame(f)
            got = [e.data for e in cli.events() if isinstance(e, MessageReceived)]
            assert got == expected
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()
    return frames


async def test_middleware_sensitive_key_sends_a_stateless_frame() -> None:
    world_a = await _frames_from_server(SECRET_A)
    world_b = await _frames_from_server(SECRET_B)
    h = parse_header(world_a[4])
    assert not h.context and not h.uses_dictionary
    assert world_a[:4] == world_b[:4] and world_a[5:] == world_b[5:]
    assert world_a[4] != world_b[4]
