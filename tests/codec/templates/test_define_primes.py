"""A DEFINE primes the template it defines (spec/templates.md §5.5): after it, the new template's
predictions are the slot values of the message that carried it, on both sides, so its first payload
is predicted."""

from __future__ import annotations

import pytest

from aura_wire.codec.templates.coders import TemplateDecoder, TemplateEncoder
from aura_wire.codec.templates.context import parse_instructions

JSON = [b'{"id":"chatcmpl-3792851e-8f1b","delta":{"content":"We"},"n":1}',
        b'{"id":"chatcmpl-3792851e-8f1b","delta":{"content":" have"},"n":2}',
        b'{"id":"chatcmpl-3792851e-8f1b","delta":{"content":" a"},"n":3}']
TEXT = [b"03-17 16:15:19.986  1702  3693 I Display: scan count=0",
        b"03-17 16:15:19.990  1702   3694 I Display: scan count=1",
        b"03-17 16:15:19.995  1702  3694 I Display: scan count=2"]


@pytest.mark.parametrize("msgs", [JSON, TEXT], ids=["json", "text"])
def test_define_primes_both_sides(msgs: list[bytes]) -> None:
    enc = TemplateEncoder(None, context=True, hold_defines=False)
    dec = TemplateDecoder(None, context=True)
    defined = None
    first_lasts = None
    sizes = []
    for m in msgs:
        p = enc.encode(m, True)
        ins = enc.learn(m)
        enc.commit(m, p is not None)
        if p is not None:
            sizes.append(len(p))
            got = dec.decode_payload(p, 1 << 20)
            assert got.data == m
            dec.commit(got)
        if ins:
            dec.apply(parse_instructions(ins, 0)[0], m)
            defined = m
            tid0 = dec._state.mru[0]
            first_lasts = dec._state.lasts.get((tid0, None))
        # the decoder follows the encoder's mirrored state exactly
        assert dec._state.lasts == enc._state.lasts
        assert dec._state.mru == enc._state.mru
        assert dec._state.masks == enc._state.masks
        assert dec._state.prev_text == enc._state.prev_text
    # the second message defined the template (a candidate first); the third is its first payload,
    # predicted from the second: its lasts (kept until the third was committed) are the second's values
    assert defined == msgs[1]
    assert len(sizes) == 1
    tid = dec._state.mru[0]
    assert tid == tid0
    # primed with the defining message's values (each a piece of it), before any payload
    assert first_lasts and all(v is not None and v in msgs[1] for v in first_lasts)
    # ... and the first payload was coded against them: at least one slot equal to its prediction
    assert dec._state.masks[tid] != 0


def test_define_values_are_the_slots() -> None:
    enc = TemplateEncoder(None, context=True, hold_defines=False)
    dec = TemplateDecoder(None, context=True)
    for m in TEXT[:2]:
        enc.encode(m, True)
        ins = enc.learn(m)
        enc.commit(m, False)
        if ins:
            dec.apply(parse_instructions(ins, 0)[0], m)
    tid = dec._state.mru[0]
    t = dec._state.template(tid)
    assert t is not None
    values = dec._state.lasts[(tid, None)]
    # every value is a piece of the defining message (variable separators: runs of spaces)
    assert values and all(v is not None and (v in TEXT[1] or v.strip(b" ") == b"") for v in values)
    assert len(values) == t.nslots
