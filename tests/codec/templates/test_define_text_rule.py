"""DEFINE_TEXT_RULE (spec/templates.md §5.5): the decoder builds, from the rule and the overrides,
exactly the text template the encoder meant, and the encoder sends it only when it is the shorter
spelling of that template."""

from __future__ import annotations

import pytest

from aura_wire import Decoder, Encoder
from aura_wire.codec.templates.context import (
    OP_DEFINE_TEXT,
    OP_DEFINE_TEXT_RULE,
    build_text,
    build_text_rule,
    parse_instructions,
    tokens_of,
    write_define_text,
)
from aura_wire.codec.templates.section import Template
from aura_wire.codec.templates.section import rule_desc
from aura_wire.errors import PayloadError

LINES = [
    b"03-17 16:15:19.986  1702  3693 I DisplayManagerService: stopWifiDisplayScanLocked count=0",
    b"pid=4711, (12ms) v2-beta org.example.service.LongClassNameWithoutDigits h\xc3\xa9llo:7 [a]9{b}",
    b"  lead and trail  ",
    b"user=alice logged in from 10.0.0.7 port 22",
]


def _rule_template(m: bytes) -> Template:
    toks, seps = tokens_of(m)
    descs = [rule_desc(t) for t in toks]
    return Template.text([b"" if d else t for t, (d, _) in zip(toks, descs, strict=True)],
                         [d > 0 for d, _ in descs],
                         [t[:d - 1] if d else b"" for t, (d, _) in zip(toks, descs, strict=True)],
                         [t[len(t) - s:] if s else b"" for t, (_, s) in zip(toks, descs, strict=True)], seps)


def _same(a: Template, b: Template) -> bool:
    return (a.toks, a.slot, a.pre, a.suf, a.seps) == (b.toks, b.slot, b.pre, b.suf, b.seps)


@pytest.mark.parametrize("m", LINES)
def test_rule_alone_is_three_bytes_and_builds_the_rule_template(m: bytes) -> None:
    t = _rule_template(m)
    out = bytearray()
    write_define_text(out, 5, t, tokens_of(m)[0])
    assert bytes(out) == bytes([OP_DEFINE_TEXT_RULE, 5, 0, 0])
    ins, end = parse_instructions(b"\x01" + bytes(out), 0)
    assert end == len(out) + 1
    assert _same(build_text_rule(m, ins[0].args), t)


@pytest.mark.parametrize("m", LINES)
def test_overrides_and_variable_separators_rebuild_the_template(m: bytes) -> None:
    toks, seps = tokens_of(m)
    r = _rule_template(m)
    # the first token a slot without affixes, the last a literal, separator 1 variable
    slot, pre, suf, lit = list(r.slot), list(r.pre), list(r.suf), list(r.toks)
    slot[0], pre[0], suf[0], lit[0] = True, b"", b"", b""
    slot[-1], pre[-1], suf[-1], lit[-1] = False, b"", b"", toks[-1]
    tseps = list(seps)
    tseps[1] = -1
    g = Template.text(lit, slot, pre, suf, tseps)
    for kind, toks_given in ((OP_DEFINE_TEXT_RULE, toks), (OP_DEFINE_TEXT, None)):
        out = bytearray()
        write_define_text(out, 0, g, toks_given)
        assert out[0] == kind
        ins, _ = parse_instructions(b"\x01" + bytes(out), 0)
        built = build_text_rule(m, ins[0].args) if kind == OP_DEFINE_TEXT_RULE else build_text(m, ins[0].args)
        assert _same(built, g)


def test_rule_is_not_sent_when_longer() -> None:
    # every token a slot with affixes the rule would not give: DEFINE_TEXT is shorter
    m = b"a1 b2 c3 d4"
    toks, seps = tokens_of(m)
    t = Template.text([b""] * 4, [True] * 4, [b"a", b"b", b"c", b"d"], [b""] * 4, seps)
    out = bytearray()
    write_define_text(out, 0, t, toks)
    assert out[0] == OP_DEFINE_TEXT
    ins, _ = parse_instructions(b"\x01" + bytes(out), 0)
    assert _same(build_text(m, ins[0].args), t)


def test_override_past_the_last_token_is_a_payload_error() -> None:
    with pytest.raises(PayloadError):
        build_text_rule(b"two tokens", [1, 2, 0, 0])


def test_logs_round_trip_and_the_encoder_uses_the_rule() -> None:
    lines = [f"2026-12-03 08:00:{i:02d} worker-{i % 3} job {1000 + i} done in {i * 7} ms user=u{i % 5}"
             for i in range(40)]
    enc = Encoder(None, context=True)
    dec = Decoder(None, context=True)
    ops = []
    for line in lines:
        fr = enc.encode(line)
        assert dec.decode(fr) == line
        if fr[0] & 0xD7 == 0x56:
            ops += [i.op for i in parse_instructions(fr, 1)[0]]
    assert OP_DEFINE_TEXT_RULE in ops
