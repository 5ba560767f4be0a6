"""Fuzzy TEMPLATE payloads (reference mode 3: template + edit script, spec/templates.md §4.3)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aura_wire.codec.decoder import Decoder
from aura_wire.codec.encoder import Encoder
from aura_wire.codec.templates.coders import TemplateDecoder, TemplateEncoder
from aura_wire.codec.templates.section import TemplateSet
from aura_wire.codec.templates.context import TemplateState
from aura_wire.training.templates import train_templates
from aura_wire.codec.varint import encode_uvarint
from aura_wire.errors import AuraError, LimitError, PayloadError
from aura_wire import train_dictionary

CORPORA = Path(__file__).resolve().parents[4] / "shared" / "corpora"


def _talk(i: int) -> bytes:
    return f"user u{i} says: I do not know why job {i * 7} failed after {i}ms".encode()


TALK = [_talk(i) for i in range(40)]
TALK_SET = TemplateSet.from_section(train_templates(TALK, min_frequency=5, min_distinct=8))


def _is_fuzzy(p: bytes | None) -> bool:
    return p is not None and p[0] & 3 == 3


def _snap(s: TemplateState) -> object:
    """Everything §5 says both sides keep identical."""
    return (list(s.mru), dict(s.masks), {k: list(v) for k, v in s.lasts.items()}, list(s.prev_text),
            {tid: t.to_bytes() for tid, t in s.runtime.items()},
            dict(s.atom_ctx.recent), s.atom_ctx.rseq)


def test_dont_vs_do_not_stateless_and_context() -> None:
    assert len(TALK_SET) == 1
    msg = b"user u6 says: I don't know why job 42 failed after 6ms"
    for ctx in (False, True):
        enc = TemplateEncoder(TALK_SET, context=ctx)
        dec = TemplateDecoder(TALK_SET, context=ctx)
        exact = enc.encode(TALK[5], True)
        assert exact is not None and not _is_fuzzy(exact)
        enc.commit(TALK[5], True)
        assert dec.decode(exact, True, 1 << 16, b"", enc.last_instructions) == TALK[5]
        p = enc.encode(msg, True)
        assert _is_fuzzy(p)
        assert p is not None and len(p) < len(msg) // 2
        # the inserted bytes are just the difference: "n'" replaces " no" ("do not" -> "don't")
        assert b"n'" in p and b"know" not in p
        enc.commit(msg, True)
        assert dec.decode(p, True, 1 << 16, b"", enc.last_instructions) == msg
        if ctx:
            assert _snap(enc._state) == _snap(dec._state)


def test_fuzzy_off_and_exact_first() -> None:
    msg = b"user u6 says: I don't know why job 42 failed after 6ms"
    assert TemplateEncoder(TALK_SET, context=False, fuzzy=False).encode(msg, True) is None
    enc = TemplateEncoder(TALK_SET, context=False)
    for m in TALK:
        p = enc.encode(m, True)
        assert p is not None and not _is_fuzzy(p)
    # far from every template: no fuzzy payload either
    assert enc.encode(b"completely different words here", True) is None
    assert enc.encode(b'{"user":"u6","says":"I do not know"}', True) is None


@pytest.mark.parametrize("msg", [
    b"user u6 says: I do really not know why job 42 failed after 6ms",   # token added
    b"user u6 says: I do know why job 42 failed after 6ms",              # token removed
    b"user u6 says:  I do not know why job 42 failed after 6ms",          # wider separator
    b"user u6 says: I do not know why job 42 failed!! after 6ms",         # literal with a suffix
    b"user u6 said: I do not know how job 42 failed after 6ms",           # two places
    b"user u6 says: I do not know why job 42 failed after 6ms ",          # trailing space
])
def test_edits_round_trip(msg: bytes) -> None:
    for ctx in (False, True):
        enc = TemplateEncoder(TALK_SET, context=ctx)
        dec = TemplateDecoder(TALK_SET, context=ctx)
        p = enc.encode(msg, True)
        assert _is_fuzzy(p), msg
        assert p is not None
        enc.commit(msg, True)
        assert dec.decode(p, True, len(msg), b"", enc.last_instructions) == msg
        with pytest.raises(LimitError):
            TemplateDecoder(TALK_SET, context=ctx).decode(p, True, len(msg) - 1)


def test_fuzzy_frame_updates_state_like_another_method() -> None:
    """A fuzzy payload changes no template state (templates.md §4.3): decoding it or skipping it leaves
    the decoder's state the same (only the instructions sent with it apply)."""
    a = TemplateDecoder(TALK_SET, context=True)
    b = TemplateDecoder(TALK_SET, context=True)
    enc = TemplateEncoder(TALK_SET, context=True)
    for i, m in enumerate([TALK[1], b"user u2 says: I don't know why job 14 failed after 2ms", TALK[3],
                           b"user u4 says: I don't know why job 28 failed after 4ms"]):
        p = enc.encode(m, True)
        assert p is not None
        enc.commit(m, True)
        assert a.decode(p, True, 1 << 16, b"", enc.last_instructions) == m
        if _is_fuzzy(p):
            b.follow(enc.last_instructions, m)
        else:
            assert b.decode(p, True, 1 << 16, b"", enc.last_instructions) == m
        assert _snap(a._state) == _snap(b._state) == _snap(enc._state), i


def _mutate(rng: random.Random, m: str) -> str:
    toks = m.split(" ")
    if len(toks) < 3:
        return m
    k = rng.randrange(6)
    i = rng.randrange(1, len(toks))
    if k == 0:
        toks[i] = "don't" if toks[i] != "don't" else "do not"
    elif k == 1:
        toks.insert(i, rng.choice(["really", "(retry)", "#", "x1"]))
    elif k == 2:
        del toks[i]
    elif k == 3:
        toks[i] = toks[i] + rng.choice(["!", "s", ":"])
    elif k == 4:
        toks[i] = " " + toks[i]
    else:
        toks[i] = toks[i].upper()
    return " ".join(toks)


TEXT_LOGS = [f"081109 2036{i % 60:02d} {140 + i % 9} INFO dfs.DataNode$PacketResponder: PacketResponder {i % 3} "
             f"for block blk_{(-1) ** i * (38865049064 + 7919 * i)} terminating" for i in range(40)]


def _pair_run(msgs: list[str], dictionary_samples: list[str] | None, seed: int) -> tuple[int, int]:
    """Encoder/Decoder (context) over ``msgs`` with mutated near misses mixed in; returns
    (messages, fuzzy payloads offered by the template trial)."""

    d = train_dictionary(dictionary_samples, brio=False) if dictionary_samples else None
    enc = Encoder(d, context=True)
    dec = Decoder(d, context=True)
    assert enc._tmpl is not None and dec._tmpl is not None
    rng = random.Random(seed)
    n = 0
    fuzzy = 0
    for m in msgs:
        for cur in (m, _mutate(rng, m)) if rng.random() < 0.5 else (m,):
            b = cur.encode("utf-8")
            if _is_fuzzy(enc._tmpl.encode(b, True)):  # a trial: changes nothing
                fuzzy += 1
            frame = enc.encode(cur)
            assert dec.decode(frame) == cur
            assert _snap(enc._tmpl._state) == _snap(dec._tmpl._state)
            n += 1
    return n, fuzzy


def test_encoder_decoder_pairs_synthetic() -> None:
    n, fuzzy = _pair_run([m.decode() for m in TALK] + TEXT_LOGS, [m.decode() for m in TALK] + TEXT_LOGS, 1)
    assert fuzzy >= 5 and n > 80
    n, fuzzy = _pair_run(TEXT_LOGS + [m.decode() for m in TALK], None, 2)
    assert fuzzy >= 5


@pytest.mark.parametrize("name", ["logs_android", "logs_hdfs", "logs_openssh", "chat_ubuntu_irc"])
def test_encoder_decoder_pairs_corpus(name: str) -> None:
    path = CORPORA / f"{name}.jsonl"
    if not path.exists():
        pytest.skip(f"corpus {path} absent (../shared/corpora relative to the repo root)")
    with path.open() as f:
        msgs = [json.loads(line)["m"] for line, _ in zip(f, range(260))]
    n, fuzzy = _pair_run(msgs[160:260], msgs[:160], 3)
    assert n >= 100
    if name == "logs_android":
        assert fuzzy >= 1


# -- property tests ---------------------------------------------------------------

WORDS = st.sampled_from(["user", "u6", "says:", "I", "do", "not", "don't", "know", "why", "job", "42",
                         "failed", "after", "6ms", "", "x", "{", "\u00e9t\u00e9", "007"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.integers(0, 39), edits=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 2), WORDS),
                                                max_size=3),
       ctx=st.booleans())
def test_property_near_misses_round_trip(base: int, edits: list[tuple[int, int, str]], ctx: bool) -> None:
    toks = TALK[base].decode().split(" ")
    for pos, op, w in edits:
        pos = min(pos, len(toks))
        if op == 0:
            toks.insert(pos, w)
        elif op == 1 and pos < len(toks):
            del toks[pos]
        elif pos < len(toks):
            toks[pos] = w
    msg = " ".join(toks).encode()
    enc = TemplateEncoder(TALK_SET, context=ctx)
    dec = TemplateDecoder(TALK_SET, context=ctx)
    for m in (TALK[(base + 1) % 40], msg, msg):
        p = enc.encode(m, True)
        enc.commit(m, p is not None)
        if p is None:
            dec.follow(enc.last_instructions, m)
        else:
            assert len(p) < max(len(m), 1) or not _is_fuzzy(p)
            assert dec.decode(p, True, 1 << 16, b"", enc.last_instructions) == m
        if ctx:
            assert _snap(enc._state) == _snap(dec._state)


def _fuzzy_payload() -> bytes:
    p = TemplateEncoder(TALK_SET, context=False).encode(
        b"user u6 says: I don't know why job 42 failed after 6ms", True)
    assert _is_fuzzy(p) and p is not None
    return p


@settings(max_examples=300, deadline=None)
@given(cut=st.integers(0, 80), tail=st.binary(max_size=24), flip=st.integers(0, 200), bit=st.integers(0, 7),
       max_size=st.integers(0, 200))
def test_property_hostile_fuzzy_payloads(cut: int, tail: bytes, flip: int, bit: int, max_size: int) -> None:
    """Truncated, extended or bit-flipped fuzzy payloads: a message within max_size, or an AuraError."""
    p = bytearray(_fuzzy_payload())
    p = p[:min(cut, len(p))] + tail if cut < len(p) else p + tail
    if p and flip < len(p):
        p[flip] ^= 1 << bit
    for ctx in (False, True):
        try:
            out = TemplateDecoder(TALK_SET, context=ctx).decode(bytes(p), True, max_size)
        except AuraError:
            continue
        assert len(out) <= max_size


def test_hostile_hand_made() -> None:
    p = _fuzzy_payload()
    dec = TemplateDecoder(TALK_SET, context=False)
    ref = p[:1]
    exact = TemplateEncoder(TALK_SET, context=False).encode(TALK[6], True)
    assert exact is not None and exact[0] == 0
    body = exact[1:]
    n = len(TALK[6])

    def fz(sub: int, edits: bytes) -> bytes:
        return ref + encode_uvarint(sub) + body + edits

    assert dec.decode(fz(1 << 2, b"\x00\x01\x00"), True, 999) == TALK[6][1:]
    for bad in (fz(1 << 2 | 3, b"\x00\x01\x00"),                # mask mode 3
                fz(0, b""),                                     # no edits
                fz(1 << 2, b"\x00\x00\x00"),                    # empty edit
                fz(2 << 2, b"\x00\x01\x00\x00\x01\x00"),        # adjacent
                fz(1 << 2, encode_uvarint(n) + b"\x01\x00"),    # past the end
                fz(1 << 2, b"\x00\x00\x05ab"),                  # insert past the payload
                fz(1 << 2, b"\x00\x01\x00\x00"),                # trailing
                fz(200 << 2, b"\x00\x01\x00" * 3)):             # more edits than bytes
        with pytest.raises(PayloadError):
            dec.decode(bad, True, 999)
    with pytest.raises(LimitError):
        dec.decode(fz(1 << 2, b"\x00\x00\x04abcd"), True, n + 3)
    # the rendered template may exceed max_size by the slack, not more
    assert dec.decode(fz(1 << 2, b"\x00" + encode_uvarint(n - 1) + b"\x00"), True, 1) == TALK[6][-1:]
