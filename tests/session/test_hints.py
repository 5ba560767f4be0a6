"""Client hints in the offer (spec/session.md §3.4-§3.5, §4.1.2, §4.3.1, §6.1.1), sans-I/O.

Parsing the hint tokens, the server coding only the methods a client decodes, the early
switch for a dictionary the client holds, and coded in-band transfers with their bounds.
The real-socket tests (a burst right after accept) are in test_sync_first_message.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import brotli
import pytest
from conftest import load_corpus, pump, small_dictionary, state_of

from aura_wire import train_dictionary
from aura_wire.codec.dictionary import Dictionary
from aura_wire.codec.frame import METHOD_NAMES
from aura_wire.codec.templates.context import parse_instructions
from aura_wire.errors import DictionaryFormatError
from aura_wire.session import (
    ConnectionFailed,
    DictionaryInUse,
    MessageReceived,
    Role,
    Session,
    State,
)
from aura_wire.session.control import (
    Chunk,
    Use,
    is_control_frame,
    pack_control,
    parse_control,
)
from aura_wire.session.negotiation import Hints, hint_tokens, parse_hints, split_offer
from aura_wire.session.transfer import coded_form, decode_transfer

ID = "ab" * 32


@pytest.mark.parametrize("tokens, expected", [
    ([], Hints()),
    (["aura.have." + ID], Hints(have=(ID,))),
    (["aura.have." + ID.upper()], Hints()),  # not lowercase: ignored
    (["aura.have." + ID[:-2]], Hints()),  # too short: ignored
    (["aura.have." + ID, "aura.have." + ID], Hints(have=(ID,))),  # repeated: once
    ([f"aura.have.{i:064x}" for i in range(6)], Hints(have=tuple(f"{i:064x}" for i in range(4)))),  # at most 4
    (["aura.decodes.3b"], Hints(decodes=0x3B)),
    (["aura.decodes.1"], Hints(decodes=1)),
    (["aura.coding.gzip", "aura.coding.br", "aura.coding.zstd"], Hints(codings=("gzip", "br"))),
    (["aura.future.thing", "aura.v1"], Hints()),
])
def test_parse_hints(tokens: list[str], expected: Hints) -> None:
    assert parse_hints(tokens) == expected


@pytest.mark.parametrize("bad", ["aura.decodes.3a", "aura.decodes.03b", "aura.decodes.12345", "aura.decodes.3B",
                                 "aura.decodes.", "aura.decodes.xyz"])
def test_unusable_decodes_hint_means_no_aura(bad: str) -> None:
    assert parse_hints([bad]) is None
    assert parse_hints(["aura.decodes.3b", "aura.decodes.3b"]) is None


def test_hint_tokens_round_trip_and_never_reach_the_application() -> None:
    h = Hints(have=(ID,), decodes=0x3B, codings=("br", "gzip"))
    tokens = hint_tokens(h)
    assert tokens == ["aura.have." + ID, "aura.decodes.3b", "aura.coding.br", "aura.coding.gzip"]
    assert parse_hints(tokens) == h
    aura, app = split_offer(["aura.v1.chat", "chat", *tokens, "aura.later.hint"])
    assert aura and app == ["chat"]


def _run(hints: Hints, dicts: list[Dictionary], messages: list[str], held: Sequence[Dictionary] = (),
         context: bool = True) -> tuple[Session, Session, list[bytes]]:
    from aura_wire.session import SessionConfig

    server = Session(Role.SERVER, dictionaries=dicts, hints=hints, config=SessionConfig(context=context))
    client = Session(Role.CLIENT, hints=hints, held=list(held), config=SessionConfig(context=context))
    server.start()
    frames: list[bytes] = []
    for m in messages:
        server.send_message(m)
    out = server.data_to_send()
    frames = [f for f in out if not is_control_frame(f)]
    got = []
    for f in out:
        client.receive_frame(f)
        got += [e.data for e in client.events() if isinstance(e, MessageReceived)]
    assert got == messages  # byte for byte
    return server, client, frames


_DICTS: dict[str, Dictionary] = {}


def _mixed_dictionary() -> Dictionary:
    if "mixed" not in _DICTS:
        _DICTS["mixed"] = train_dictionary(load_corpus("chat_ubuntu_irc", 200, skip=400)
                                           + load_corpus("json_github_webhooks", 40, skip=100))
    return _DICTS["mixed"]


@pytest.mark.parametrize("mask", [0x01, 0x03, 0x11, 0x19, 0x3B, 0x3F])
@pytest.mark.parametrize("context", [True, False])
def test_server_codes_only_the_methods_the_client_decodes(mask: int, context: bool) -> None:
    msgs = load_corpus("json_github_webhooks", 20) + load_corpus("chat_ubuntu_irc", 40)
    d = _mixed_dictionary()
    server, _, frames = _run(Hints(have=(d.id,), decodes=mask), [d], msgs, held=[d], context=context)
    # a STATE frame (method 6) wraps a frame of another method: count the inner one
    used = {f[0] & 0x07 if f[0] & 0x07 != 6 else f[parse_instructions(f, 1)[1]] & 0x07 for f in frames}
    assert used <= {m for m in range(6) if mask >> m & 1}, [METHOD_NAMES[m] for m in used]
    if mask == 0x3F and context:
        assert len(used) >= 2  # the unrestricted server does use several methods on this traffic
    if not mask >> 5 & 1:
        assert server.params is not None and server.params.values["template_brio_window"] == 0


def test_held_dictionary_is_used_from_the_first_frame() -> None:
    d = _mixed_dictionary()
    msgs = load_corpus("chat_ubuntu_irc", 3)
    server, client, frames = _run(Hints(have=(d.id,)), [d], msgs, held=[d])
    assert frames[0][0] & 0x20  # D=1: the very first data frame uses the dictionary
    assert server.state is State.USE_SENT and client.state is State.SYNCED
    for f in client.data_to_send():
        server.receive_frame(f)
    assert state_of(server) is State.SYNCED and server.receive_dictionary == d
    assert [e for e in server.events() if isinstance(e, DictionaryInUse)] == [DictionaryInUse("send", d.id),
                                                                              DictionaryInUse("receive", d.id)]


def test_without_the_hint_the_first_frames_are_dictionary_free() -> None:
    d = small_dictionary()
    msgs = ['{"type":"message","room":"a","user":"alice","text":"hello world"}'] * 3
    server, client, frames = _run(Hints(), [d], msgs)
    assert not any(f[0] & 0x20 for f in frames)
    assert client.state is State.OFFERED


def test_client_use_naming_another_dictionary_after_the_early_switch_is_refused() -> None:
    d, other = small_dictionary("a"), small_dictionary("b")
    server = Session(Role.SERVER, dictionaries=[d, other], hints=Hints(have=(d.id,)))
    server.start()
    server.data_to_send()
    server.receive_frame(pack_control(Use(other.id)))
    (fail,) = [e for e in server.events() if isinstance(e, ConnectionFailed)]
    assert fail.code == 1002 and "not" in fail.reason


@pytest.mark.parametrize("coding", ["br", "gzip"])
def test_coded_transfer_is_smaller_and_verified(coding: str) -> None:
    d = _mixed_dictionary()
    hints = Hints(codings=(coding,))
    server = Session(Role.SERVER, dictionaries=[d], hints=hints)
    client = Session(Role.CLIENT, hints=hints)
    server.start()
    pump(server, client)
    assert client.transfer_coding == coding
    client.fetch_dictionary()
    pump(server, client)
    assert client.state is State.SYNCED and client.send_dictionary == d
    assert server.stats.control_sent_bytes < len(d) * 0.6  # HELLO + CHUNK headers included


def test_corrupted_coded_transfer_closes_with_1007() -> None:
    d = small_dictionary()
    hints = Hints(codings=("br",))
    server = Session(Role.SERVER, dictionaries=[d], hints=hints)
    client = Session(Role.CLIENT, hints=hints)
    server.start()
    pump(server, client)
    client.fetch_dictionary()
    for f in client.data_to_send():
        server.receive_frame(f)
    for f in server.data_to_send():
        msg = parse_control(f)
        if isinstance(msg, Chunk) and msg.offset == 0:
            f = pack_control(Chunk(msg.dictionary_id, 0, bytes([msg.data[0] ^ 0x55]) + msg.data[1:]))
        client.receive_frame(f)
    fails = [e for e in client.events() if isinstance(e, ConnectionFailed)]
    assert [e.code for e in fails] == [1007]


@pytest.mark.parametrize("coding", ["br", "gzip"])
def test_decode_transfer_is_bounded_by_the_listed_size(coding: str) -> None:
    import gzip

    bomb = brotli.compress(b"\0" * (8 << 20)) if coding == "br" else gzip.compress(b"\0" * (8 << 20))
    with pytest.raises(DictionaryFormatError, match="failed to decode"):
        decode_transfer(coding, bomb, 1000)
    d = small_dictionary()
    body = coded_form(d, coding)
    assert decode_transfer(coding, body, len(d)) == d.to_bytes()
    for bad in (body[:-1], body + b"\0"):
        with pytest.raises(DictionaryFormatError):
            decode_transfer(coding, bad, len(d))
    with pytest.raises(DictionaryFormatError):
        decode_transfer(coding, body, len(d) - 1)
