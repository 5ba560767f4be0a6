"""TEMPLATE method: atoms, JSON shapes, text templates, context state, runtime templates,
hostile payloads and the section format (spec/templates.md)."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings, strategies as st

from aura_wire.codec.templates.forms import AtomCtx
from aura_wire.codec.templates.atoms import decode_atom, encode_scalar
from aura_wire.codec.templates.numbers import parse_decimal, render_decimal
from aura_wire.codec.templates.section import Template, TemplateSet
from aura_wire.codec.templates.coders import TemplateDecoder, TemplateEncoder
from aura_wire.training.templates import summarize, train_templates
from aura_wire.errors import (
    AuraError,
    DictionaryFormatError,
    LimitError,
    PayloadError,
    UnknownTemplateError,
)

from _corpora import load

BIG = 1 << 24

TICKS = [
    (f'{{"stream":"{s}@bookTicker","data":{{"u":{1000 + i},"e":"bookTicker","s":"{s.upper()}",'
     f'"b":"{400 + (i * 7) % 13}.{i % 100:02d}","B":"{i % 50}","T":{1626916403864 + i * 11}}}}}')
    for i, s in ((i, ("btcusd", "ethusd", "xrpusd")[i % 3]) for i in range(60))
]
LOGS = [
    f"081109 2036{i % 60:02d} {140 + i % 9} INFO dfs.DataNode$PacketResponder: PacketResponder {i % 3} "
    f"for block blk_{(-1) ** i * (3886504906413966 + i * 7919)} terminating"
    for i in range(40)
] + [
    f"Dec 10 06:55:{i % 60:02d} LabSZ sshd[{24200 + i}]: Invalid user {('admin', 'test', 'oracle')[i % 3]} "
    f"from 173.234.{i % 256}.186"
    for i in range(40)
]


def b(s: str) -> bytes:
    return s.encode("utf-8")


@pytest.fixture(scope="module")
def tick_set() -> TemplateSet:
    return TemplateSet.from_section(train_templates([b(m) for m in TICKS[:40]]))


@pytest.fixture(scope="module")
def log_set() -> TemplateSet:
    return TemplateSet.from_section(train_templates([b(m) for m in LOGS], min_distinct=5))


def roundtrip_context(ts: TemplateSet | None, msgs: list[bytes], choose_all: bool = True) -> int:
    """Code ``msgs`` as one context connection; return the number coded with TEMPLATE."""
    enc = TemplateEncoder(ts, context=True)
    dec = TemplateDecoder(ts, context=True)
    hits = 0
    for i, m in enumerate(msgs):
        p = enc.encode(m, True)
        chosen = p is not None and (choose_all or i % 3 != 1) and len(p) < len(m)
        enc.commit(m, chosen)
        if chosen:
            assert p is not None
            assert dec.decode(p, True, BIG, b"", enc.last_instructions) == m
            hits += 1
        else:
            dec.follow(enc.last_instructions, m)
    return hits


# -- atoms -------------------------------------------------------------------------

@pytest.mark.parametrize("s", ["0", "7", "-12", "427.84", "0.5666", "1.39200000", "-0.5", "32591.9"])
def test_decimal_canonical_round_trip(s: str) -> None:
    d = parse_decimal(b(s))
    assert d is not None
    assert render_decimal(*d) == b(s)


@pytest.mark.parametrize("s", ["007", "-0", "-0.0", "1.", ".5", "1e5", "+1", "0x10", ""])
def test_decimal_rejects_non_canonical(s: str) -> None:
    assert parse_decimal(b(s)) is None


@given(st.integers(min_value=-(10 ** 39), max_value=10 ** 39), st.integers(min_value=0, max_value=39))
def test_decimal_parse_matches_python_arithmetic(m: int, scale: int) -> None:
    """Up to 40 characters, digits summed 18 at a time: the mantissa is the exact integer."""
    digits = str(abs(m)).rjust(scale + 1, "0")
    text = ("-" if m < 0 else "") + (digits[:-scale] + "." + digits[-scale:] if scale else digits)
    got = parse_decimal(text.encode())
    if len(text) > 40 or (m == 0 and text.startswith("-")):
        assert got is None
    else:
        assert got == (m, scale) and render_decimal(m, scale) == text.encode()


ATOM_TEXT = st.one_of(
    st.binary(max_size=40),
    st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{1,12})?", fullmatch=True).map(b),
    st.from_regex(r"[0-9a-f]{1,40}|[0-9A-F]{1,40}", fullmatch=True).map(b),
    st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){3}(:[0-9]{1,5})?", fullmatch=True).map(b),
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{8,15}Z", fullmatch=True).map(b),
    st.from_regex(r"[A-Za-z0-9 .]{1,30}", fullmatch=True).map(b),
    st.sampled_from([b"recent-one", b"0.5666", b"ABCDEF", b"page", b"bookTicker"]),
)


@given(ATOM_TEXT, st.one_of(st.none(), ATOM_TEXT), st.booleans())
@settings(max_examples=200, deadline=None)
def test_atom_round_trip(content: bytes, last: bytes | None, quoted: bool) -> None:
    table = [b"bookTicker", b"0", b"page"]
    atom_ctx = AtomCtx(table, {s: i for i, s in enumerate(table)})
    for r in (b"recent-one", b"0.5666", b"ABCDEF"):
        atom_ctx.add_recent(r)
    out = bytearray()
    encode_scalar(out, content, quoted, last, atom_ctx)
    got = bytearray()
    raw_last = None if last is None else (b'"' + last + b'"' if quoted else last)
    pos = decode_atom(bytes(out), 0, got, raw_last, quoted, atom_ctx, BIG, 0)
    assert pos == len(out)
    assert bytes(got) == (b'"' + content + b'"' if quoted else content)


def test_atoms_are_compact() -> None:
    out = bytearray()
    encode_scalar(out, b"1626916403867", False, b"1626916403864", AtomCtx([], {}))
    assert len(out) == 1  # delta +3 fits the tag
    out = bytearray()
    encode_scalar(out, b"4A8FF3A94E53CF376A55F4071EC47FD3", True, None, AtomCtx([], {}))
    assert len(out) == 18  # tag + length varint + 16 packed bytes
    out = bytearray()
    encode_scalar(out, b"2021-04-17T16:43:52.673980Z", True, b"2021-04-17T16:43:52.670710Z", AtomCtx([], {}))
    assert len(out) <= 3


# -- JSON shapes and text templates ------------------------------------------------------

def test_json_shape_round_trip_stateless(tick_set: TemplateSet) -> None:
    enc = TemplateEncoder(tick_set, context=False)
    dec = TemplateDecoder(tick_set, context=False)
    for m in TICKS:
        p = enc.encode(b(m), True)
        assert p is not None, m
        assert len(p) < len(m) // 3
        assert dec.decode(p, True, BIG) == b(m)


def test_json_byte_exact_spacing_escapes_and_numbers(tick_set: TemplateSet) -> None:
    msgs = [
        '{"a": 1, "b" : [1, 2.50, -0, 1e5, "x\\"y\\u00e9"], "c":{"d":null,"e":true}}',
        '{"a": 2, "b" : [1, 2.50, -0, 1e5, "x\\"y\\u00e9"], "c":{"d":false,"e":true}}',
        ' {"a":007} ',
        '[1,2,3]',
        '{"a":"\u00e9\u4e2d","b":"0012","c":"00"}',
    ]
    data = [b(m) for m in msgs] * 3
    assert roundtrip_context(tick_set, data) > 0
    assert roundtrip_context(None, data) > 0


def test_text_template_round_trip(log_set: TemplateSet) -> None:
    enc = TemplateEncoder(log_set, context=False)
    dec = TemplateDecoder(log_set, context=False)
    hits = 0
    for m in LOGS + ["081109 203615  148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_1 x"]:
        p = enc.encode(b(m), True)
        if p is not None:
            hits += 1
            assert dec.decode(p, True, BIG) == b(m)
    assert hits >= len(LOGS) * 0.9


def test_no_template_returns_none(tick_set: TemplateSet) -> None:
    enc = TemplateEncoder(tick_set, context=False)
    assert enc.encode(b"hello world", True) is None
    assert enc.encode(b'{"unknown":1}', True) is None
    assert enc.encode(b"", True) is None
    big = TICKS[0].replace('"B":"0"', '"B":"' + "7" * 70000 + '"')
    assert len(big) > 65536 and enc.encode(b(big), True) is None  # spec §3: longer messages never match


# -- context mode: prediction, runtime templates, mirrored state ------------------------------

def test_context_is_smaller_than_stateless(tick_set: TemplateSet) -> None:
    sl = TemplateEncoder(tick_set, context=False)
    atom_ctx = TemplateEncoder(tick_set, context=True)
    a = c = 0
    for m in TICKS[40:]:
        pa = sl.encode(b(m), True)
        pc = atom_ctx.encode(b(m), True)
        assert pa is not None and pc is not None
        atom_ctx.commit(b(m), True)
        a += len(pa)
        c += len(pc)
    assert c < a


def test_runtime_templates_defined_by_instructions() -> None:
    # a shape's first message makes a candidate, the second defines it (a STATE instruction the
    # decoder follows), every later one is coded with it (templates.md §5.5)
    msgs = [b(json.dumps({"id": f"chunk-{i}", "delta": "w" * (i % 5), "n": i}, separators=(",", ":")))
            for i in range(30)]
    enc = TemplateEncoder(None, context=True)
    assert enc.encode(msgs[0], True) is None
    hits = roundtrip_context(None, msgs)
    assert hits == len(msgs) - 2
    text = [b(f"user {u} logged in from 10.0.0.{i} port {4000 + i}") for i, u in
            enumerate(["ann", "bob", "cy", "dee"] * 5)]
    assert roundtrip_context(None, text) >= len(text) - 3


def test_mirrored_state_with_mixed_methods(tick_set: TemplateSet, log_set: TemplateSet) -> None:
    msgs = [b(m) for m in TICKS + LOGS]
    random.Random(5).shuffle(msgs)
    assert roundtrip_context(tick_set, msgs, choose_all=False) > 20
    assert roundtrip_context(log_set, msgs, choose_all=False) > 20


def test_runtime_bounds() -> None:
    enc = TemplateEncoder(None, context=True, max_runtime_templates=4, max_runtime_bytes=300)
    dec = TemplateDecoder(None, context=True, max_runtime_templates=4, max_runtime_bytes=300)
    for i in range(50):
        m = b(json.dumps({f"k{i}": i, "v": "x" * (i % 7)}))
        p = enc.encode(m, True)
        enc.commit(m, p is not None)
        if p is not None:
            assert dec.decode(p, True, BIG, b"", enc.last_instructions) == m
        else:
            dec.follow(enc.last_instructions, m)
        assert len(enc._state.runtime) <= 4 and enc._state.rt_bytes <= 300
        assert enc._state.cand_mem <= enc._state.cand_mem_limit  # the encoder's candidate pool: its own bound
    assert dec.memory_bytes() < 8192
    assert enc.memory_bytes() < 8192 + enc._state.cand_mem



PART = st.binary(max_size=200)


@given(st.integers(0, 3), st.lists(PART, min_size=1, max_size=12), st.dictionaries(st.integers(0, 10), PART, max_size=4))
@settings(max_examples=100, deadline=None)
def test_json_template_size_is_its_serialized_length(level: int, gaps: list[bytes],
                                                     consts: dict[int, bytes]) -> None:
    consts = {h: v for h, v in consts.items() if h < len(gaps) - 1}
    t = Template.json(level, gaps, consts)
    assert t.size == len(t.to_bytes())
    assert t.key == b"\x00".join(gaps)
    assert t.nslots == len(gaps) - 1 - len(consts)


@given(st.lists(st.tuples(st.booleans(), PART, PART), min_size=1, max_size=12),
       st.lists(st.integers(-1, 300), min_size=13, max_size=13))
@settings(max_examples=100, deadline=None)
def test_text_template_size_is_its_serialized_length(parts: list[tuple[bool, bytes, bytes]],
                                                     seps: list[int]) -> None:
    n = len(parts)
    slot = [p[0] for p in parts]
    toks = [b"" if p[0] else p[1] or b"x" for p in parts]
    t = Template.text(toks, slot, [p[1] if p[0] else b"" for p in parts],
                      [p[2] if p[0] else b"" for p in parts], seps[:n + 1])
    assert t.size == len(t.to_bytes())
    assert t.nslots == sum(slot) + sum(1 for v in seps[:n + 1] if v < 0)


def test_commit_ignores_stale_trials(tick_set: TemplateSet, log_set: TemplateSet) -> None:
    """Trial encodes of other messages (discarded candidates) and a commit of a message other than
    the last trial leave the state exactly as a plain trial + commit of each message does."""
    for ts in (tick_set, log_set, None):
        msgs = [b(m) for m in TICKS + LOGS]
        random.Random(7).shuffle(msgs)
        plain = TemplateEncoder(ts, context=True)
        noisy = TemplateEncoder(ts, context=True)
        blind = TemplateEncoder(ts, context=True)
        dec = TemplateDecoder(ts, context=True)
        for i, m in enumerate(msgs):
            p = plain.encode(m, True)
            noisy.encode(msgs[i - 1], True)
            assert noisy.encode(m, True) == p
            # a trial of another message, then the commit of this one (no trial of it)
            blind.encode(msgs[(i + 3) % len(msgs)], True)
            plain.commit(m, p is not None)
            noisy.commit(m, p is not None)
            blind.commit(m, p is not None)
            if p is not None:
                assert dec.decode(p, True, BIG, b"", blind.last_instructions) == m
            else:
                dec.follow(blind.last_instructions, m)
        for m in msgs[:20]:
            p = plain.encode(m, True)
            assert noisy.encode(m, True) == p and blind.encode(m, True) == p
            for e in (plain, noisy, blind):
                e.commit(m, p is not None)

# -- hostile input ---------------------------------------------------------------------------

def test_unknown_template_id(tick_set: TemplateSet) -> None:
    dec = TemplateDecoder(tick_set, context=False)
    with pytest.raises(UnknownTemplateError):
        dec.decode(bytes([0xA0, 0x06]), True, BIG)  # ref 800: id 200, no mask


def test_trailing_and_truncated(tick_set: TemplateSet) -> None:
    enc = TemplateEncoder(tick_set, context=False)
    dec = TemplateDecoder(tick_set, context=False)
    p = enc.encode(b(TICKS[0]), True)
    assert p is not None
    with pytest.raises(PayloadError):
        dec.decode(p + b"\x00", True, BIG)
    for cut in range(1, len(p)):
        with pytest.raises(AuraError):
            dec.decode(p[:cut], True, BIG)


def test_output_bounded_by_max_size(tick_set: TemplateSet) -> None:
    enc = TemplateEncoder(tick_set, context=False)
    dec = TemplateDecoder(tick_set, context=False)
    p = enc.encode(b(TICKS[0]), True)
    assert p is not None
    with pytest.raises(LimitError):
        dec.decode(p, True, 50)
    # a nested-array bomb: each level costs one payload byte
    runtime = TemplateDecoder(None, context=True)
    runtime.follow(bytes.fromhex("0101000101" "01"), b'{"a":[1]}')  # DEFINE_JSON 0: the "1" is a slot
    bomb = bytes([(8 + 0) << 2]) + bytes([0x1D]) * 100  # runtime id 0 (rank 8 + 0), ARR(1) x 100
    with pytest.raises(LimitError):
        runtime.decode(bomb, True, BIG)


@given(st.binary(max_size=64))
@settings(max_examples=300, deadline=None)
def test_random_payloads_raise_only_aura_errors(junk: bytes) -> None:
    dec = TemplateDecoder(_SHARED_SET, context=True)
    enc = TemplateEncoder(_SHARED_SET, context=True)
    for m in (b(TICKS[0]), b(TICKS[0])):
        p = enc.encode(m, True)
        enc.commit(m, p is not None)
        if p is None:
            dec.follow(enc.last_instructions, m)
        else:
            dec.decode(p, True, 4096, b"", enc.last_instructions)
    try:
        out = dec.decode(junk, True, 4096)
    except AuraError:
        return
    assert len(out) <= 4096


def test_mutated_payloads_raise_only_aura_errors(tick_set: TemplateSet) -> None:
    enc = TemplateEncoder(tick_set, context=False)
    rng = random.Random(1)
    payloads = [enc.encode(b(m), True) for m in TICKS]
    for _ in range(2000):
        p = bytearray(rng.choice([x for x in payloads if x is not None]))
        for _ in range(rng.randint(1, 3)):
            p[rng.randrange(len(p))] = rng.randrange(256)
        try:
            out = TemplateDecoder(tick_set, context=False).decode(bytes(p), True, 2048)
            assert len(out) <= 2048
        except AuraError:
            pass


# -- section ------------------------------------------------------------------------------

def test_section_round_trip_and_validation(tick_set: TemplateSet) -> None:
    sec = tick_set.to_section()
    again = TemplateSet.from_section(sec)
    assert len(again) == len(tick_set) > 0
    assert again.to_section() == sec
    for bad in (b"", b"\x02", sec + b"\x00", sec[:-1], b"\x01\x05abc"):
        with pytest.raises(DictionaryFormatError):
            TemplateSet.from_section(bad)


def test_summarize(tick_set: TemplateSet) -> None:
    s = summarize(tick_set.to_section(), TICKS)
    assert s["templates"] == len(tick_set)
    assert isinstance(s["hit_rate"], float) and s["hit_rate"] > 0.9
    assert isinstance(s["bytes_saved"], int) and s["bytes_saved"] > 0


# -- privacy -------------------------------------------------------------------------------

def test_privacy_secret_and_email_never_in_section() -> None:
    key = "sk-live-9fQ2xZr7LmP4vT8wK3nB6yH1"
    email = "jane.doe@example.org"
    msgs = [f'{{"user":"{email}","api_key":"{key}","event":"login","n":{i}}}' for i in range(12)]
    msgs += [f"login ok for {email} with key {key} attempt {i}" for i in range(12)]
    msgs += [f'{{"user":"u{i}","api_key":"k{i}","event":"login","n":{i}}}' for i in range(12)]
    sec = train_templates([b(m) for m in msgs], min_frequency=2, min_distinct=3)
    ts = TemplateSet.from_section(sec)
    assert len(ts) > 0
    assert b(key) not in sec and b(email) not in sec
    assert b"9fQ2xZr7" not in sec and b"example.org" not in sec
    # and the messages still round-trip through the (slot-only) templates
    assert roundtrip_context(ts, [b(m) for m in msgs]) > 0


def test_privacy_k_threshold() -> None:
    rare = [f"service alpha restarted by operator{i} code {i}" for i in range(3)]
    common = [f"service beta restarted by operator{i} code {i}" for i in range(20)]
    sec = train_templates([b(m) for m in rare + common], min_frequency=2, min_distinct=8)
    assert b"alpha" not in sec
    assert b"beta" in sec


# -- corpora (a small slice per corpus, both modes) -------------------------------------------

@pytest.mark.corpora
@pytest.mark.parametrize("name", ["logs_hdfs", "market_binance", "llm_stream_vercel", "cdp_devtools_cnn",
                                  "chat_ubuntu_irc", "json_github_webhooks"])
def test_corpus_slice_round_trip(name: str) -> None:
    msgs = [b(m) for m in load(name, 400)]
    ts = TemplateSet.from_section(train_templates(msgs[:200]))
    roundtrip_context(ts, msgs[200:], choose_all=False)
    enc = TemplateEncoder(ts, context=False)
    dec = TemplateDecoder(ts, context=False)
    for m in msgs[200:300]:
        p = enc.encode(m, True)
        if p is not None:
            assert dec.decode(p, True, BIG) == m


_SHARED_SET = TemplateSet.from_section(train_templates([b(m) for m in TICKS[:40]]))


# -- property: any JSON / text message round-trips through runtime templates -----------------

_JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
)
_JSON = st.recursive(_JSON_SCALARS, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=6), kids, max_size=4)), max_leaves=8)


@given(st.lists(st.tuples(st.dictionaries(st.text(max_size=5), _JSON, min_size=1, max_size=5),
                          st.sampled_from([(",", ":"), (", ", ": "), (",", ": ")]), st.booleans()),
                min_size=1, max_size=5))
@settings(max_examples=40, deadline=None)
def test_property_json_round_trip(objs: list[tuple[dict[str, object], tuple[str, str], bool]]) -> None:
    msgs: list[bytes] = []
    for obj, seps, ascii_only in objs:
        m = json.dumps(obj, separators=seps, ensure_ascii=ascii_only)
        msgs += [m.encode("utf-8")] * 2
    roundtrip_context(None, msgs)
    roundtrip_context(_SHARED_SET, msgs, choose_all=False)


@given(st.lists(st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=40), min_size=1, max_size=12))
@settings(max_examples=120, deadline=None)
def test_property_text_round_trip(lines: list[str]) -> None:
    msgs = [b(x) for x in lines] + [b(x + " 12") for x in lines]
    roundtrip_context(None, msgs)


def test_runtime_templates_are_evicted_least_recently_used_first() -> None:
    # templates.md §5.5: a shape in use survives a stream of one-off shapes that overflows the limit
    enc = TemplateEncoder(None, context=True, max_runtime_templates=4, max_runtime_bytes=4096)
    dec = TemplateDecoder(None, context=True, max_runtime_templates=4, max_runtime_bytes=4096)
    hot = [b(json.dumps({"hot": i, "v": "x"})) for i in range(40)]
    coded = 0
    for i in range(40):
        for m in (hot[i], b(json.dumps({f"once{i}": i}))):
            p = enc.encode(m, True)
            enc.commit(m, p is not None)
            if p is None:
                dec.follow(enc.last_instructions, m)
            else:
                assert dec.decode(p, True, BIG, b"", enc.last_instructions) == m
                coded += m in hot
        assert len(enc._state.runtime) <= 4
    # defined by the second hot message, then used by every later one: never evicted
    assert coded == 38
    runtime = {k: t.to_bytes() for k, t in enc._state.runtime.items()}
    assert runtime == {k: t.to_bytes() for k, t in dec._state.runtime.items()}
