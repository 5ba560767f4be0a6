"""The encoder's choices about template state that cost or save bytes (no wire rule involved):
when a learned shape is DEFINEd (state.WIN_MIN, _State._pays) and how much a template frame may lose
to BRIO to keep the predictions fresh (TemplateEncoder.state_bonus, regime_bonus).  Round trips use the real Decoder."""

from __future__ import annotations

import json

from aura_wire import Decoder, Encoder
from aura_wire.codec.templates.coders import (
    _BONUS_MAX,
    _REGIME_HORIZON,
    _REGIME_MAX,
    _REGIME_PROBE,
    _REGIME_PROBE_BONUS,
    TemplateEncoder,
)
from aura_wire.codec.templates.payload import trial_size
from aura_wire.codec.templates.section import Template
from aura_wire.codec.templates.state import DEFINE_PROBE, PAYS_MIN_SIZE, WIN_MIN, _Match, _State


def _shape(i: int) -> bytes:
    # a JSON shape of its own per i (the key names differ), every value a hole
    return json.dumps({f"k{i}_{j}": j * i for j in range(4)}).encode()


def _promote(st: _State, data: bytes) -> bytes:
    """Learn ``data`` twice (candidate, then its shape again): the instructions of the second."""
    instr = b""
    for _ in range(2):
        instr = st.learn(data, None)
        st.commit(data, None)
    return instr


def test_defines_are_sent_while_runtime_templates_pay() -> None:
    st = _State(None, True, 8, 4096)
    assert st.win >= WIN_MIN
    instr = _promote(st, _shape(1))
    assert instr and len(st.runtime) == 1


def test_defines_held_as_candidates_when_evicted_templates_never_coded() -> None:
    # one runtime template at a time: each DEFINE evicts the previous one, never used
    st = _State(None, True, 1, 4096)
    sent = 0
    for i in range(40):
        if _promote(st, _shape(i)):
            sent += 1
    assert st.win < WIN_MIN
    # the first definitions go out until the evictions have shown they are wasted, then only
    # every DEFINE_PROBE-th one (the estimate stays honest)
    assert 4 <= sent < 40 - (40 - 12) // 2
    held_before = st.held
    probes = 0
    for i in range(100, 100 + 2 * DEFINE_PROBE):
        if _promote(st, _shape(i)):
            probes += 1
    assert st.held - held_before == 2 * DEFINE_PROBE and probes == 2


def test_a_used_template_counts_as_paying() -> None:
    st = _State(None, True, 1, 4096)
    st.win = 0
    st.held = DEFINE_PROBE - 1  # the next promotion is a probe
    assert _promote(st, _shape(1))
    tid = next(iter(st.runtime))
    st.note_use(tid, True)
    st.held = DEFINE_PROBE - 1
    assert _promote(st, _shape(2))  # evicts tid, which coded a frame
    assert st.win == 256 >> 2


def test_held_defines_round_trip() -> None:
    enc = Encoder(None, context=True, max_runtime_templates=1)
    dec = Decoder(None, context=True, max_runtime_templates=1)
    msgs = [_shape(i % 30).decode() for i in range(200)]
    for m in msgs:
        assert dec.decode(enc.encode(m)) == m
    st = enc._tmpl._state if enc._tmpl is not None else None
    assert st is not None and st.held + st.gated > 0


def test_define_gate_needs_the_template_to_beat_the_first_frame() -> None:
    data = json.dumps({f"key_{j}": f"value {j} of a large event" for j in range(40)}).encode()
    assert len(data) >= PAYS_MIN_SIZE
    for first, defined in ((3, False), (10_000, True)):
        st = _State(None, True, 8, 4096)
        st.trial_size = trial_size  # as TemplateEncoder sets it
        assert st.learn(data, None) == b""  # first sight: a candidate, no DEFINE
        st.commit(data, None, first)  # the frame that message went as
        assert bool(st.learn(data, None)) == defined
        st.commit(data, None, first)
        assert len(st.runtime) == (1 if defined else 0) and st.gated == (0 if defined else 1)
    # a DEFINE that alone takes the first frame's bytes cannot pay: gated without coding a trial
    calls: list[int] = []

    def counted(m: _Match, d: bytes, s: _State) -> int:
        calls.append(1)
        return trial_size(m, d, s)

    for first, trials in ((3, 0), (10_000, 1)):
        calls.clear()
        st = _State(None, True, 8, 4096)
        st.trial_size = counted
        st.learn(data, None)
        st.commit(data, None, first)
        st.learn(data, None)
        assert len(calls) == trials and st.gated == (1 - trials)
    # the vectors' encoder (hold_defines off) and an unknown frame size define as before, and so does
    # a message below PAYS_MIN_SIZE whatever its first frame was (its template wins only once predicted)
    small = _shape(1)
    for st, size, m in ((_State(None, True, 8, 4096), -1, data), (_State(None, True, 8, 4096), 3, data),
                        (_State(None, True, 8, 4096), 3, small)):
        st.trial_size = trial_size
        st.hold_defines = size < 0 or m is small
        st.learn(m, None)
        st.commit(m, None, size)
        assert st.learn(m, None)
        assert st.gated == 0


def _text_match(enc: TemplateEncoder, v0: bytes, v1: bytes) -> _Match:
    t = Template.text([b"", b"", b"sshd:", b"ok"], [True, True, False, False], [b""] * 4, [b""] * 4,
                      [0, 1, 1, 1, 0])
    m = _Match(1, t, [v0, v1], [], [0, 1, 1, 1, 0])
    st = enc._state
    st.trial_match = m
    st.trial_c0 = 1
    st.trial_c1 = 3
    st.lasts[(1, None)] = [v0, v1]  # the template has predictions
    enc._trial_match = m
    return m


def test_state_bonus_measures_stale_predictions() -> None:
    enc = TemplateEncoder(None, context=True)
    st = enc._state
    _text_match(enc, b"10", b"10:00:01")
    assert enc.state_bonus() == _BONUS_MAX  # starts at the cap
    # a stream whose first slots repeat the previous message while prev_text is stale (the previous
    # message went BRIO): 1 + 3 coded bytes lost each time; the bonus stays at the cap
    st.prev_text = [b"09", b"09:59:59"]
    for _ in range(30):
        m = _text_match(enc, b"10", b"10:00:01")
        enc._observe(m)
        enc._fresh = False
    assert enc.state_bonus() == _BONUS_MAX
    # a stream whose first slots never repeat (millisecond times): nothing lost, the bonus fades out
    for i in range(60):
        m = _text_match(enc, b"10", b"10:00:%02d.%03d" % (i % 60, i))
        st.prev_text = [b"10", b"x"]
        enc._observe(m)
        enc._fresh = False
    assert enc.state_bonus() == 0


def test_regime_bonus_measures_fresh_template_frames() -> None:
    enc = TemplateEncoder(None, context=True)
    m = _text_match(enc, b"10", b"10:00:01")
    # never a template frame yet: probe (may lose by 16) to measure one with fresh predictions
    assert enc.regime_bonus(20, 8) == _REGIME_PROBE_BONUS
    reg = enc._regime[m.tid]
    reg[2] = 1  # it went as a template frame
    enc._fresh = True
    # fresh template frames of 5 against BRIO frames of about 8: worth a refresh, capped
    assert enc.regime_bonus(5, 8) == min(_REGIME_MAX, _REGIME_HORIZON * (reg[1] - reg[0]) >> 4) > 0
    # fresh template frames that lose to BRIO: no bonus; a stale one probes again only now and then
    for _ in range(8):
        enc.regime_bonus(12, 6)
    assert enc.regime_bonus(12, 6) == 0
    reg[2] = 0
    bonuses = [enc.regime_bonus(20, 6) for _ in range(2 * _REGIME_PROBE)]
    assert bonuses.count(_REGIME_PROBE_BONUS) == 2 and bonuses.count(0) == 2 * _REGIME_PROBE - 2
    enc._trial_match = None
    assert enc.regime_bonus(20, 6) == 0


def test_state_bonus_only_for_text_templates() -> None:
    enc = TemplateEncoder(None, context=True)
    t = Template.json(0, [b'{"a":', b"}"], {})
    enc._trial_match = _Match(1, t, [b"1"], [], [])
    assert enc.state_bonus() == 0
    enc._trial_match = None
    assert enc.state_bonus() == 0
    _text_match(enc, b"10", b"10:00:01")
    assert enc.state_bonus() == _BONUS_MAX
    enc._state.lasts.clear()  # a template without predictions yet: no bonus
    assert enc.state_bonus() == 0


def test_regime_bonus_text_only_skips_json_templates() -> None:
    # level 4 passes text_only: a JSON template gets no regime bonus, a text one still does
    enc = TemplateEncoder(None, context=True)
    t = Template.json(0, [b'{"a":', b"}"], {})
    enc._trial_match = _Match(1, t, [b"1"], [], [])
    assert enc.regime_bonus(20, 8) == _REGIME_PROBE_BONUS
    assert enc.regime_bonus(20, 8, True) == 0
    _text_match(enc, b"10", b"10:00:01")
    assert enc.regime_bonus(20, 8, True) == _REGIME_PROBE_BONUS


def test_unprimed_runtime_only() -> None:
    # level 4 primes only runtime templates (defined on this connection), not dictionary ones
    enc = TemplateEncoder(None, context=True)
    t = Template.json(0, [b'{"a":', b"}"], {})
    enc._trial_match = _Match(1, t, [b"1"], [], [])
    assert enc.unprimed() and not enc.unprimed(True)
    enc._state.runtime[1] = t
    assert enc.unprimed(True)
    enc._state.lasts[(1, None)] = []
    assert not enc.unprimed() and not enc.unprimed(True)
