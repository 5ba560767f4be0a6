"""The sans-I/O session: sync sequences, switch point, errors and limits, without sockets."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aura_wire.codec.dictionary import Dictionary
from aura_wire.errors import ConfigError, ProtocolError
from aura_wire.session import (
    TRANSITIONS,
    ConnectionFailed,
    DictionaryFetched,
    DictionaryInUse,
    DictionaryOffered,
    Event,
    MessageReceived,
    Role,
    Session,
    SessionConfig,
    State,
)
from aura_wire.session.control import Chunk, Get, Hello, Unknown, Use, pack_control, parse_control
from conftest import TEST_CODEC, pump, small_dictionary, state_of

CC = TEST_CODEC


def pair(dicts: Dictionary | list[Dictionary] | None = None, config: SessionConfig | None = None,
         client_config: SessionConfig | None = None) -> tuple[Session, Session]:
    d = small_dictionary() if dicts is None else dicts
    server = Session(Role.SERVER, dictionaries=d if isinstance(d, list) else [d], config=config, codec_config=CC)
    client = Session(Role.CLIENT, config=client_config, codec_config=CC)
    return server, client


def messages(events: list[Any]) -> list[str | bytes]:
    return [e.data for e in events if isinstance(e, MessageReceived)]


def failure(events: list[Any]) -> ConnectionFailed:
    fails = [e for e in events if isinstance(e, ConnectionFailed)]
    assert len(fails) == 1, events
    return fails[0]


def test_no_dictionary_server_announces_none_and_both_stay_plain() -> None:
    server = Session(Role.SERVER, codec_config=CC)
    client = Session(Role.CLIENT, codec_config=CC)
    server.start()
    assert server.state is State.PLAIN
    server.send_message("hi")
    client.send_message(b"\x00\xff")
    es, ec = pump(server, client)
    assert client.state is State.PLAIN
    assert messages(ec) == ["hi"] and messages(es) == [b"\x00\xff"]
    assert not any(isinstance(e, DictionaryOffered) for e in ec)


def test_client_holding_the_dictionary_switches_both_directions() -> None:
    d = small_dictionary()
    server, client = pair(d)
    server.start()
    _, ec = pump(server, client)
    offered = [e for e in ec if isinstance(e, DictionaryOffered)]
    assert [(o.ids, o.sizes, o.transfer_sizes, o.savings) for o in offered] == [((d.id,), (len(d),), (len(d),), (None,))]
    client.use_dictionary(d)
    assert client.state is State.USE_SENT and client.send_dictionary is d
    es, ec = pump(server, client)
    assert server.state is State.SYNCED and state_of(client) is State.SYNCED
    assert DictionaryInUse("receive", d.id) in es and DictionaryInUse("send", d.id) in es
    assert DictionaryInUse("receive", d.id) in ec
    assert server.send_dictionary is d and client.receive_dictionary is d


def test_inband_fetch_in_bounded_chunks_verified_then_switch() -> None:
    d = small_dictionary()
    server, client = pair(d, config=SessionConfig(max_chunk=100))
    server.start()
    pump(server, client)
    client.fetch_dictionary()
    gets = [parse_control(f) for f in client.data_to_send()]
    assert len(gets) == 4 and all(isinstance(g, Get) and g.length <= 100 for g in gets)  # fetch_window
    for g in gets:
        server.receive_frame(pack_control(g))
    chunks = [parse_control(f) for f in server.data_to_send()]
    assert all(isinstance(c, Chunk) and len(c.data) <= 100 for c in chunks)
    for c in chunks:
        client.receive_frame(pack_control(c))
    es, ec = pump(server, client)
    fetched = [e for e in client.events() + ec if isinstance(e, DictionaryFetched)]
    assert client.state is State.SYNCED and server.state is State.SYNCED
    assert client.send_dictionary == d and client.send_dictionary.id == d.id
    assert fetched == [] or fetched[0].dictionary == d


def test_frames_after_switch_point_decode_with_fresh_context() -> None:
    d = small_dictionary()
    server, client = pair(d)
    server.start()
    pump(server, client)
    sent = ['{"type":"message","room":"a","user":"alice","text":"hello world %d"}' % i for i in range(6)]
    # Messages before, across and after the switch, in both directions.
    for m in sent[:2]:
        server.send_message(m)
        client.send_message(m)
    client.use_dictionary(d)
    for m in sent[2:4]:
        client.send_message(m)
    es, ec = pump(server, client)
    for m in sent[4:]:
        server.send_message(m)
        client.send_message(m)
    es2, ec2 = pump(server, client)
    assert messages(es + es2) == sent
    assert messages(ec + ec2) == sent[:2] + sent[4:]


def test_corrupted_transfer_is_rejected_by_hash_with_1007() -> None:
    d = small_dictionary()
    server, client = pair(d, config=SessionConfig(max_chunk=4096))
    server.start()
    pump(server, client)
    client.fetch_dictionary()
    for f in client.data_to_send():
        server.receive_frame(f)
    for f in server.data_to_send():
        msg = parse_control(f)
        assert isinstance(msg, Chunk)
        bad = bytearray(msg.data)
        bad[len(bad) // 2] ^= 0x01
        client.receive_frame(pack_control(Chunk(msg.dictionary_id, msg.offset, bytes(bad))))
    fail = failure(client.events())
    assert fail.code == 1007 and "SHA-256" in fail.reason and fail.remote
    assert client.state is State.CLOSED and client.send_dictionary is None
    assert len(fail.reason.encode()) <= 123


def test_frames_after_close_are_ignored() -> None:
    server, client = pair()
    server.start()
    client.receive_frame(b"\x07\x99")  # unknown mandatory control type
    assert failure(client.events()).code == 1002
    client.receive_frame(server.data_to_send()[0])
    assert client.events() == []
    with pytest.raises(ProtocolError) as info:
        client.send_message("late")
    assert not info.value.remote


@pytest.mark.parametrize(
    ("frame", "code", "words"),
    [
        (b"\x07", 1002, "control type"),
        (b"\x07\x02" + b"\x00" * 31, 1002, "truncated"),
        (b"\x07\x02" + b"\x00" * 33, 1002, "trailing"),
        (b"\x07\x01\x02\x10\x00", 1002, "version"),
        (b"\x87", 1002, "version"),  # frame version 3
        (b"\x08abc", 1002, "version"),  # a v1 data frame
        (b"\x61abc", 1007, "dictionary"),  # ZSTD with D=1 before the switch
        (b"\x58\xff\xfe\x0a", 1007, "UTF-8"),  # context RAW text, invalid UTF-8, its check byte right
    ],
)
def test_client_bad_frames_close_with_the_right_code(frame: bytes, code: int, words: str) -> None:
    server, client = pair()
    server.start()
    pump(server, client)
    client.receive_frame(frame)
    fail = failure(client.events())
    assert fail.code == code and words.lower() in fail.reason.lower(), fail


def test_use_of_unannounced_dictionary_is_a_protocol_error() -> None:
    server, client = pair()
    server.start()
    server.data_to_send()
    server.receive_frame(pack_control(Use("ab" * 32)))
    fail = failure(server.events())
    assert fail.code == 1002 and "not announced" in fail.reason


def test_second_use_and_hello_to_server_are_protocol_errors_naming_the_state() -> None:
    d = small_dictionary()
    server, client = pair(d)
    server.start()
    pump(server, client)
    client.use_dictionary(d)
    pump(server, client)
    server.receive_frame(pack_control(Use(d.id)))
    fail = failure(server.events())
    assert fail.code == 1002 and "synced" in fail.reason and "USE" in fail.reason
    s2 = Session(Role.SERVER, codec_config=CC)
    s2.start()
    s2.receive_frame(pack_control(Hello(1, 10, ())))
    assert failure(s2.events()).code == 1002


def test_oversized_message_closes_with_1009() -> None:
    server, client = pair(client_config=SessionConfig(max_message_size=1000))
    server.start()
    server.send_message("x" * 5000)
    _, ec = pump(server, client)
    fail = failure(ec)
    assert fail.code == 1009


def test_message_of_exactly_max_message_size_is_delivered() -> None:
    # an incompressible message travels RAW: header + message + check byte (wire v2), one byte
    # more than v1's frame; the frame pre-check must not refuse what the message limit allows
    message = random.Random(7).randbytes(1024)  # nothing to compress
    server, client = pair(client_config=SessionConfig(max_message_size=len(message)))
    server.start()
    pump(server, client)
    server.send_message(message)
    _, ec = pump(server, client)
    assert messages(ec) == [message]


def test_get_flood_is_bounded() -> None:
    d = small_dictionary()
    server, _ = pair(d, config=SessionConfig(max_chunk=1024, max_fetch_factor=2))
    server.start()
    server.data_to_send()
    total = 0
    for _ in range(10):
        server.receive_frame(pack_control(Get(d.id, 0, 1024)))
        total += sum(len(f) for f in server.data_to_send())
        if server.closed:
            break
    assert failure(server.events()).code == 1009
    assert total <= 2 * len(d) + 200


@pytest.mark.parametrize("get", [Get("ab" * 32, 0, 10), Get("", 0, 0), Get("", 0, 10**6), Get("", 10**6, 1)])
def test_bad_gets_are_protocol_errors(get: Get) -> None:
    d = small_dictionary()
    server, _ = pair(d)
    server.start()
    server.receive_frame(pack_control(get._replace(dictionary_id=get.dictionary_id or d.id)))
    assert failure(server.events()).code == 1002


def test_unsolicited_or_mismatched_chunk_is_a_protocol_error() -> None:
    d = small_dictionary()
    server, client = pair(d, config=SessionConfig(max_chunk=100))
    server.start()
    pump(server, client)
    client.receive_frame(pack_control(Chunk(d.id, 0, b"x" * 100)))
    assert failure(client.events()).code == 1002
    server, client = pair(d, config=SessionConfig(max_chunk=100))
    server.start()
    pump(server, client)
    client.fetch_dictionary()
    client.data_to_send()
    client.receive_frame(pack_control(Chunk(d.id, 100, d.to_bytes()[100:200])))  # answers GET 2 first
    assert failure(client.events()).code == 1002


def test_optional_control_types_are_ignored() -> None:
    server, client = pair()
    server.start()
    pump(server, client)
    client.receive_frame(pack_control(Unknown(0x41, b"future")))
    server.send_message("still fine")
    _, ec = pump(server, client)
    assert messages(ec) == ["still fine"] and not client.closed


def test_optional_control_message_failing_its_check_closes_1002() -> None:
    good = pack_control(Unknown(0x41, b"future"))
    assert parse_control(good) == Unknown(0x41, b"future")
    for bad in (good[:-1] + bytes([good[-1] ^ 1]), good[:2] + good[3:], b"\x07\x41\x00\x00\x00"):
        server, client = pair()
        server.start()
        pump(server, client)
        client.receive_frame(bad)
        assert failure(client.events()).code == 1002 and client.closed


def _synced_stateless_pair() -> tuple[Session, Session]:
    server, client = pair(config=SessionConfig(context=False), client_config=SessionConfig(context=False))
    server.start()
    pump(server, client)
    client.use_dictionary(small_dictionary())
    pump(server, client)
    assert server.state is State.SYNCED and state_of(client) is State.SYNCED
    return server, client


def test_data_frame_turned_into_control_is_refused_never_dropped() -> None:
    """A stateless data frame whose header byte became 0x07 is refused (1002) by both roles, never ignored.

    Its payload's first byte is an optional control type for many messages (text and JSON start with
    0x40-0x7F in RAW frames); before the CRC-32 of spec/session.md §4.4 those vanished without an error.
    """
    rnd = random.Random(14)
    msgs: list[str | bytes] = ["Hello", "hi there", '{"type":"message","room":"a","user":"bob","text":"yo"}']
    msgs += [f"{rnd.choice('ABCxyz')}{rnd.getrandbits(40):x} {'w' * rnd.randint(0, 30)}" for _ in range(40)]
    msgs += [bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 60))) for _ in range(20)]
    sender_s, sender_c = _synced_stateless_pair()
    optional = 0
    for role in ("client", "server"):
        sender = sender_s if role == "client" else sender_c
        for m in msgs:
            sender.send_message(m)
            (frame,) = sender.data_to_send()
            assert not frame[0] & 0x10  # stateless: no later frame would notice a loss
            optional += 0x40 <= frame[1] <= 0x7F
            server, client = _synced_stateless_pair()
            receiver = client if role == "client" else server
            receiver.receive_frame(b"\x07" + frame[1:])
            events = receiver.events()
            assert not messages(events), m
            assert failure(events).code == 1002, m
    assert optional >= 40  # the path that used to drop the message silently is exercised


def test_oversized_dictionary_is_declined_by_the_client() -> None:
    d = small_dictionary()
    server, client = pair(d, client_config=SessionConfig(max_dictionary_size=100))
    server.start()
    _, ec = pump(server, client)
    assert client.state is State.PLAIN and not any(isinstance(e, DictionaryOffered) for e in ec)


def test_local_misuse_raises() -> None:
    d = small_dictionary()
    server, client = pair(d)
    with pytest.raises(ProtocolError):
        client.use_dictionary(d)  # not offered yet
    with pytest.raises(ConfigError):
        Session(Role.CLIENT, dictionaries=[d])
    with pytest.raises(ConfigError):
        Session(Role.SERVER, codec_config={"max_message_size": 10})
    with pytest.raises(ProtocolError):
        client.start()


def test_sensitive_messages_do_not_change_later_frame_sizes() -> None:
    d = small_dictionary()
    sizes = []
    for secret in ("token=hunter2hunter2", "token=correcthorsebattery"):
        server, client = pair(d)
        server.start()
        pump(server, client)
        client.use_dictionary(d)
        pump(server, client)
        server.send_message(secret, sensitive=True)
        for f in server.data_to_send():
            assert not f[0] & 0x30  # C=0, D=0
            client.receive_frame(f)
        server.send_message("probe: token=hunter2hunter2")
        sizes.append(len(server.data_to_send()[0]))
        assert messages(client.events()) == [secret]
    assert sizes[0] == sizes[1]


def test_send_prepared_counts_and_checks() -> None:
    d = small_dictionary()
    server, client = pair(d)
    server.start()
    pump(server, client)
    from aura_wire import Encoder

    frame = Encoder(None, context=False, **CC).encode("broadcast")
    server.send_prepared(frame, 9)
    _, ec = pump(server, client)
    assert messages(ec) == ["broadcast"] and server.stats.sent_raw_bytes == 9
    with pytest.raises(ProtocolError):
        server.send_prepared(b"\x18ctx", 3)  # a context frame cannot be shared
    with pytest.raises(ProtocolError):
        server.send_prepared(b"\x21zz", 2)  # uses a dictionary this connection does not send with
    with pytest.raises(ProtocolError):
        server.send_prepared(b"\x07\x02", 0)  # CONTROL


def test_transition_table_is_complete_for_live_states() -> None:
    for role in Role:
        for state in State:
            if state is State.CLOSED:
                continue
            assert TRANSITIONS[(role, state, Event.FAIL)] is State.CLOSED
            assert TRANSITIONS[(role, state, Event.DATA)] is state
    assert (Role.SERVER, State.ANNOUNCED, Event.RECV_HELLO) not in TRANSITIONS


def test_stats_count_raw_and_wire_bytes() -> None:
    server, client = pair()
    server.start()
    pump(server, client)
    server.send_message("héllo")
    client.send_message(b"abc")
    pump(server, client)
    assert server.stats.sent_raw_bytes == 6 and client.stats.received_raw_bytes == 6
    assert server.stats.sent_wire_bytes == client.stats.received_wire_bytes
    assert client.stats.sent_methods == server.stats.received_methods
    assert server.stats.control_sent_bytes == client.stats.control_received_bytes > 0


@settings(max_examples=40, deadline=None)
@given(msgs=st.lists(st.one_of(st.text(max_size=300), st.binary(max_size=300)), max_size=12),
       switch_at=st.integers(0, 12), context=st.booleans())
def test_round_trip_across_the_switch_point(msgs: list[str | bytes], switch_at: int, context: bool) -> None:
    d = small_dictionary()
    cfg = SessionConfig(context=context)
    server, client = pair(d, config=cfg, client_config=cfg)
    server.start()
    pump(server, client)
    got_c: list[str | bytes] = []
    got_s: list[str | bytes] = []
    for i, m in enumerate(msgs):
        if i == switch_at:
            client.use_dictionary(d)
        server.send_message(m)
        client.send_message(m)
        es, ec = pump(server, client)
        got_s += messages(es)
        got_c += messages(ec)
    assert got_c == msgs and got_s == msgs
    assert not server.closed and not client.closed


def test_hash_of_fetched_dictionary_matches_its_id() -> None:
    d = small_dictionary("z")
    assert hashlib.sha256(d.to_bytes()).hexdigest() == d.id


def test_spec_state_table_matches_the_code() -> None:
    from pathlib import Path

    spec = (Path(__file__).resolve().parents[2] / "spec" / "session.md").read_text()
    section = spec.split("## 5. States")[1].split("## 6.")[0]
    rows = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in ("server", "client"):
            rows.add(tuple(cells[:4]))
    table = {(r.value, s.value, e.value, n.value) for (r, s, e), n in TRANSITIONS.items()
             if e not in (Event.DATA, Event.FAIL, Event.CLOSE)}
    assert rows == table


def test_public_names_exist() -> None:
    import importlib

    for name in ("aura_wire.session", "aura_wire.session.control", "aura_wire.session.negotiation",
                 "aura_wire.middleware", "aura_wire.client", "aura_wire.extension"):
        module = importlib.import_module(name)
        assert module.__all__, name
        for attr in module.__all__:
            assert hasattr(module, attr), f"{name}.{attr}"


@pytest.mark.parametrize(
    ("offered", "app_sees", "choice", "wire", "aura"),
    [
        (["aura.v1"], [], None, "aura.v1", True),
        (["aura.v1.graphql-transport-ws", "graphql-transport-ws"], ["graphql-transport-ws"],
         "graphql-transport-ws", "aura.v1.graphql-transport-ws", True),
        (["chat"], ["chat"], "chat", "chat", False),
        (["aura.v1.a", "b"], ["a", "b"], "b", "b", False),
        ([], [], None, None, False),
        (["aura.v1."], ["aura.v1."], None, None, False),
    ],
)
def test_subprotocol_negotiation(offered: list[str], app_sees: list[str], choice: str | None, wire: str | None,
                                 aura: bool) -> None:
    from aura_wire.session.negotiation import client_offer, parse_selected, server_select, split_offer

    assert split_offer(offered)[1] == app_sees
    assert server_select(offered, choice) == (wire, aura)
    assert parse_selected(wire) == (aura, choice if aura else wire)
    assert client_offer(["x", "y"]) == ["aura.v1.x", "aura.v1.y", "x", "y"]
    assert client_offer([]) == ["aura.v1"]


@settings(max_examples=150, deadline=None)
@given(frames=st.lists(st.one_of(st.binary(max_size=60),
                                 st.binary(max_size=60).map(lambda b: b"\x07" + b),
                                 st.binary(max_size=60).map(lambda b: b"\x07\x04" + b)), max_size=6),
       role=st.sampled_from([Role.SERVER, Role.CLIENT]))
def test_hostile_frames_never_escape_as_exceptions(frames: list[bytes], role: Role) -> None:
    d = small_dictionary()
    server, client = pair(d, config=SessionConfig(max_message_size=4096))
    server.start()
    pump(server, client)
    target = server if role is Role.SERVER else client
    for f in frames:
        target.receive_frame(f)  # errors become ConnectionFailed events, never exceptions
    evs = target.events()
    fails = [e for e in evs if isinstance(e, ConnectionFailed)]
    assert len(fails) <= 1
    if fails:
        assert target.closed and fails[0].code in (1002, 1007, 1009) and fails[0].reason.startswith("aura: ")
