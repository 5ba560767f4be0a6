"""The learner's economics: its own runtime-template budget (state.BUDGET_START) starts at 4 KiB
within the decoder's limit (``max_runtime_template_bytes``) and grows only to keep templates that
coded template frames; a candidate is defined when the rent it ran up pays for its DEFINE (rent or
buy, state.RENT_SHIFT).  Round trips use the real Decoder with the announced limit."""

from __future__ import annotations

import json

from aura_wire import Decoder, Encoder
from aura_wire.codec.templates.context import write_define_json
from aura_wire.codec.templates.json_shape import holes, parse
from aura_wire.codec.templates.state import BUDGET_START, RENT_PRIOR, RENT_SHIFT, _State


def _shape(i: int) -> bytes:
    # a JSON shape of its own per i (the key names differ), every value a hole
    return json.dumps({f"field_{i}_{j}": j * i for j in range(6)}).encode()


def _promote(st: _State, data: bytes) -> None:
    """Learn ``data`` twice (candidate, then its shape again): the second defines it."""
    for _ in range(2):
        st.learn(data, None)
        st.commit(data, None)


def _sightings_until_defined(st: _State, data: bytes, most: int = 200) -> int:
    for i in range(1, most + 1):
        st.learn(data, None)
        st.commit(data, None)
        if st.runtime:
            return i
    return 0


def _define_size(data: bytes) -> int:
    root = parse(data)
    assert root is not None
    hs = holes(root, 0)
    assert hs is not None
    out = bytearray()
    write_define_json(out, 0, [(n.start, n.end) for n in hs])
    return len(out)


def test_a_fresh_connection_defines_on_the_second_sighting() -> None:
    st = _State(None, True, 64, 4096)
    assert st.saving == RENT_PRIOR
    assert _sightings_until_defined(st, _shape(1)) == 2


def test_rent_or_buy_defines_once_the_measured_saving_pays_for_the_define() -> None:
    data = _shape(1)
    size = _define_size(data)
    for saving in (1, 2, 4):
        st = _State(None, True, 64, 4096)
        for _ in range(60):
            st.note_saving(saving)  # the EWMA settles on the measured saving
        assert st.saving == saving << 4
        # sightings after the first each add the saving; defined once they reach the share of the size
        need = -(-(size << 4) // ((saving << 4) << RENT_SHIFT))
        assert _sightings_until_defined(st, data) == 1 + need


def test_templates_that_save_nothing_are_never_defined() -> None:
    st = _State(None, True, 64, 4096)
    for _ in range(60):
        st.note_saving(0)
    assert st.saving == 0
    assert _sightings_until_defined(st, _shape(1)) == 0 and _sightings_until_defined(st, _shape(2)) == 0


def test_without_holding_defines_the_second_sighting_defines() -> None:
    st = _State(None, True, 64, 4096)
    st.hold_defines = False  # how the spec vectors are made
    for _ in range(60):
        st.note_saving(0)
    assert _sightings_until_defined(st, _shape(1)) == 2


def _fill(st: _State, shapes: int, used: bool) -> int:
    """Promote ``shapes`` shapes, marking each as having coded a template frame when ``used``;
    return the sum of the sizes of the templates defined."""
    defined = 0
    for i in range(shapes):
        before = set(st.runtime)
        _promote(st, _shape(i))
        for tid in set(st.runtime) - before:
            defined += st.runtime[tid].size
            if used:
                st.note_use(tid, True)
    return defined


def test_budget_starts_at_4_kib_within_the_decoders_limit() -> None:
    assert BUDGET_START == 4096
    assert _State(None, True, 64, 16384).budget == BUDGET_START
    assert _State(None, True, 64, 2048).budget == 2048  # a lower limit (level 1) is the budget
    assert _State(None, True, 64, 4096).budget == 4096  # the codec default: as before


def test_budget_grows_to_keep_templates_that_paid() -> None:
    st = _State(None, True, 64, 16384)
    st.hold_defines = False  # every shape defined on its second sighting
    defined = _fill(st, 60, used=True)
    assert defined > BUDGET_START  # the shapes need more than the starting budget
    assert BUDGET_START < st.budget <= 16384
    assert st.rt_bytes == defined and len(st.runtime) == 60  # every one kept: each had paid
    # the limit the decoder enforces is never passed
    assert st.rt_bytes <= st.max_bytes


def test_budget_stays_when_templates_never_code_a_frame() -> None:
    st = _State(None, True, 64, 16384)
    st.hold_defines = False  # every shape is defined, so the byte limit is what evicts
    _fill(st, 60, used=False)
    assert st.budget == BUDGET_START
    assert st.rt_bytes <= BUDGET_START


def test_limit_at_the_start_never_grows() -> None:
    st = _State(None, True, 64, 2048)
    _fill(st, 60, used=True)
    assert st.budget == 2048 and st.rt_bytes <= 2048


def _log_stream(formats: int, rounds: int) -> list[str]:
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
             "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango"]
    out = []
    for r in range(rounds):
        for k in range(formats):
            # each format its own literal words (a letters-only tag in every one: no two formats
            # share half of them, so none generalises into another)
            tag = chr(97 + k % 26) + chr(97 + k // 26)
            lits = " ".join(f"{words[(k + j) % 20]}{tag}{words[(k * 7 + j) % 20]}" for j in range(4 + k % 4))
            out.append(f"12-03 10:{r % 60:02d}:{k % 60:02d}.{r * k % 1000:03d} I Service{tag}: "
                       f"{lits} value={r * 31 + k} id={r * 977 % 10007}")
    return out


def test_a_larger_announced_limit_round_trips_and_keeps_paying_formats() -> None:
    msgs = _log_stream(48, 8)
    sizes = {}
    for limit in (4096, 16384):
        enc = Encoder(None, context=True, window=32768, max_runtime_template_bytes=limit)
        dec = Decoder(None, context=True, window=32768, max_runtime_template_bytes=limit)
        total = 0
        for m in msgs:
            frame = enc.encode(m)
            assert dec.decode(frame) == m
            total += len(frame)
        sizes[limit] = total
    assert sizes[16384] < sizes[4096]
