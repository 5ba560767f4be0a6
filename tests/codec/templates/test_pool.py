"""The learner's compact candidates (templates.pool) answer as their templates do."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aura_wire.codec.templates.pool import Cand, rule_template
from aura_wire.codec.templates.section import Template
from aura_wire.codec.templates.text import generalised, text_matches, tokenize

_WORDS = [b"a", b"user", b"id=7", b"[x]", b"x9", b"[pid:42]", b"GET", b"/api/v1", b"ok", b"12:00:01", b"t" * 40,
          b"(%s)" % (b"9" * 40)]
_line = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=8).flatmap(
    lambda ws: st.lists(st.integers(1, 3), min_size=len(ws), max_size=len(ws)).map(
        lambda gaps: b"".join(b" " * g + w for g, w in zip(gaps, ws, strict=True))))


def _tok(line: bytes) -> tuple[list[bytes], list[int]]:
    tk = tokenize(line)
    assert tk is not None
    return tk


def _learned(line: bytes) -> Template:
    """A candidate as the learner makes one (the fixed rule of text.rule_desc)."""
    return rule_template(*_tok(line))


def _fields(c: Cand) -> tuple[object, ...]:
    return (c.kind, c.size, c.fp, c.ntok, c.meta, c.blob, c.seps, c.tmpl is None)


def _same(a: Template, b: Template) -> bool:
    return a.to_bytes() == b.to_bytes()


@settings(max_examples=300, deadline=None)
@given(_line, _line, _line)
def test_compact_candidate_answers_as_its_template(a: bytes, b: bytes, c: bytes) -> None:
    t = _learned(a)
    assert _fields(Cand.learned(*_tok(a))) == _fields(Cand.of_text(t))  # made without the Template
    nt = generalised(t, *_tok(b)) if len(_tok(b)[0]) == len(t.toks) else None
    for tmpl in (t, nt):
        if tmpl is None:
            continue
        cand = Cand.of_text(tmpl)
        assert cand.tmpl is None  # stored compactly
        assert _same(cand.template(), tmpl)
        assert cand.size == tmpl.size and cand.fp == tmpl.footprint()
        for line in (a, b, c):
            toks, seps = _tok(line)
            assert cand.matches(toks, seps) == text_matches(tmpl, toks, seps)
            if len(toks) == len(tmpl.toks):
                g1, g2 = cand.generalised(toks, seps), generalised(tmpl, toks, seps)
                assert (g1 is None) == (g2 is None)
                if g1 is not None and g2 is not None:
                    assert _same(g1, g2)
        assert cand.memory() < tmpl.footprint()


def test_a_piece_too_long_for_the_compact_form_keeps_the_template() -> None:
    line = b"/" * 70000 + b"9 ok"
    t = _learned(line)
    cand = Cand.of_text(t)
    assert cand.tmpl is t
    toks, seps = _tok(line)
    assert cand.matches(toks, seps) and cand.template() is t
    long = Cand.learned(toks, seps)  # the learner's rule: the same template, kept as one
    assert long.tmpl is not None and _same(long.template(), t) and long.matches(toks, seps)
    spaced = b"a" + b" " * 300 + b"b 1"
    c2 = Cand.learned(*_tok(spaced))
    assert c2.tmpl is not None and _same(c2.template(), _learned(spaced))
