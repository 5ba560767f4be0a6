"""Encoder speed knobs: levels, method prediction, the large-message fast path, COPY's content index.

Every level must produce frames the decoder turns back into the exact messages; the knobs
only change which frames the encoder picks and how much it tries.  Timing thresholds live in
benchmarks/server_cpu.py, not here.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from aura_wire import Decoder, Dictionary, Encoder, train_dictionary
from aura_wire.codec.config import DEFAULT_LEVEL, LEVELS, CodecConfig
from aura_wire.codec.frame import METHOD_RAW, METHOD_ZSTD, parse_header
from aura_wire.errors import ConfigError




def _events(n: int, seed: int = 5) -> list[str]:
    r = random.Random(seed)
    out = []
    for i in range(n):
        kind = r.choice(["trade", "book", "note"])
        if kind == "trade":
            out.append(json.dumps({"type": "trade", "id": i, "price": f"{20000 + r.randrange(500)}.{r.randrange(100):02d}",
                                   "side": r.choice(["buy", "sell"]), "qty": f"0.{r.randrange(1000):03d}"}))
        elif kind == "book":
            # 0.5-4 KiB: large enough for the ZSTD trial and the prediction's larger size classes
            levels = [[f"{20000 + r.randrange(500)}.{r.randrange(100):02d}", f"{r.random():.4f}"]
                      for _ in range(r.randrange(20, 120))]
            out.append(json.dumps({"type": "book", "seq": i, "bids": levels}))
        else:
            out.append(f"user{r.randrange(30)} says " + " ".join(r.choice(["hello", "price", "moon", "sell", "hodl"])
                                                            for _ in range(r.randrange(3, 30))))
    return out


@pytest.fixture(scope="module")
def trained() -> Dictionary:
    return train_dictionary(_events(400, seed=1))


# -- levels -------------------------------------------------------------------------------------

def test_default_level_is_the_dataclass_defaults() -> None:
    assert CodecConfig.from_mapping({}) == CodecConfig() == CodecConfig.from_mapping({"level": DEFAULT_LEVEL})
    assert LEVELS[DEFAULT_LEVEL] == {}


def test_level_sets_its_knobs_and_explicit_keys_win() -> None:
    lean = CodecConfig.from_mapping({"level": 1})
    assert lean.level == 1 and lean.window == LEVELS[1]["window"] and lean.brio_search_ring == 0
    best = CodecConfig.from_mapping({"level": 4})
    assert best.explore_interval == 0 and best.copy_searches == 24 and best.zstd_table_log == 0
    mixed = CodecConfig.from_mapping({"level": 1, "window": 8192, "brotli": True})
    assert mixed.window == 8192 and mixed.brotli is True and mixed.template_brio_window == LEVELS[1]["template_brio_window"]


@pytest.mark.parametrize("level", [-1, 5, "fast", True, 2.0])
def test_unknown_level_names_the_field(level: object) -> None:
    with pytest.raises(ConfigError) as info:
        CodecConfig.from_mapping({"level": level})
    assert info.value.field == "level"


@pytest.mark.parametrize("knob, value", [("explore_interval", 256), ("copy_searches", 1), ("zstd_table_log", 3),
                                         ("brio_probe_every", -1), ("large_message_size", 0)])
def test_speed_knobs_are_validated(knob: str, value: int) -> None:
    with pytest.raises(ConfigError) as info:
        CodecConfig.from_mapping({knob: value})
    assert info.value.field == knob


@pytest.mark.parametrize("level", sorted(LEVELS))
@pytest.mark.parametrize("context", [True, False])
def test_every_level_round_trips(trained: Dictionary, level: int, context: bool) -> None:
    enc = Encoder(trained, context=context, level=level)
    dec = Decoder(trained, context=context, level=level)
    wire = raw = 0
    for m in _events(300, seed=2):
        frame = enc.encode(m)
        assert dec.decode(frame) == m
        wire += len(frame)
        raw += len(m.encode())
    assert wire < raw / 2


def test_level_context_fields_reach_the_peer(trained: Dictionary) -> None:
    """A level that changes context fields (window, ...) needs the same values at both ends: the
    session announces them in HELLO; the decoder built from the same level agrees."""
    cfg = CodecConfig.from_mapping({"level": 1})
    assert cfg.context_params()["window"] == LEVELS[1]["window"]
    enc = Encoder(trained, context=True, level=1)
    params: dict[str, Any] = cfg.context_params()
    dec = Decoder(trained, context=True, **params)
    for m in _events(120, seed=3):
        assert dec.decode(enc.encode(m)) == m


# -- method prediction ------------------------------------------------------------------------------

def test_prediction_backs_off_while_the_winner_repeats() -> None:
    from aura_wire.codec.encoder import _slot

    enc = Encoder(None, context=True, templates=False, explore_interval=8)
    dec = Decoder(None, context=True, templates=False)
    msg = "the same shape of message, over and over, " * 3
    slot = _slot(len(msg.encode()), False)
    ivs = []
    for i in range(40):
        assert dec.decode(enc.encode(msg + str(i % 10))) == msg + str(i % 10)
        ivs.append(enc._iv[slot])
    assert max(ivs) == 8  # doubled up to explore_interval: most messages try only the predicted method
    assert ivs[:4] == sorted(ivs[:4])


def test_explore_interval_zero_tries_everything_every_time() -> None:
    enc = Encoder(None, context=True, templates=False, explore_interval=0)
    for i in range(20):
        enc.encode(f"message number {i} with some text to compress " * 4)
    assert max(enc._iv) == 0 and max(enc._due) == 0


def test_zstd_beside_brio_backs_off_while_it_loses() -> None:
    """A slot whose full trials see ZSTD lose to BRIO skips ZSTD in its next full trials, 1, 2, 4 ...
    up to 4 * explore_interval of them; with explore_interval 0 (level 4) every trial tries it; a
    slot above brio_max_size, where ZSTD is the only byte-level method, always tries it."""
    from aura_wire.codec.encoder import _slot

    r = random.Random(11)
    words = ["alpha", "beta", "gamma", "delta", "request", "response", "network", "loaded"]
    msgs = [" ".join(r.choice(words) for _ in range(200)) + f" {i}" for i in range(200)]
    slot = _slot(len(msgs[0].encode()), False)
    enc = Encoder(None, context=True, templates=False, explore_interval=2)
    dec = Decoder(None, context=True, templates=False)
    ivs = []
    for m in msgs:
        assert dec.decode(enc.encode(m)) == m
        ivs.append(enc._ziv[slot])
    assert max(ivs) == 8 and ivs.index(8) > ivs.index(4) > ivs.index(2) > ivs.index(1)
    every = Encoder(None, context=True, templates=False, explore_interval=0)
    for m in msgs[:40]:
        every.encode(m)
    assert max(every._ziv) == 0 and max(every._zskip) == 0
    large = Encoder(None, context=True, templates=False, explore_interval=2, brio_max_size=512)
    for m in msgs[:40]:
        large.encode(m)
    assert max(large._ziv) == 0  # BRIO never tried beside it: nothing to back off from


# -- large messages ------------------------------------------------------------------------------------

@pytest.mark.parametrize("context", [True, False])
def test_large_messages_take_the_fast_path_and_keep_the_context(trained: Dictionary, context: bool) -> None:
    enc = Encoder(trained, context=context, large_message_size=65536)
    dec = Decoder(trained, context=context)
    small = _events(40, seed=4)
    noise = random.Random(9).randbytes(300_000)
    text = ("\n".join(small) * 200)[:300_000]
    for m in small[:20]:
        assert dec.decode(enc.encode(m)) == m
    f_noise = enc.encode(noise)
    assert parse_header(f_noise).method == METHOD_RAW  # the probe saw incompressible data
    assert dec.decode(f_noise) == noise
    f_text = enc.encode(text)
    assert parse_header(f_text).method == METHOD_ZSTD and len(f_text) < len(text) // 20
    assert dec.decode(f_text) == text
    for m in small[20:]:  # both ends committed the large messages the same way
        assert dec.decode(enc.encode(m)) == m


# -- COPY's content index ---------------------------------------------------------------------------

def test_content_index_answers_as_rfind() -> None:
    from aura_wire.codec.templates.copy import ContentIndex

    r = random.Random(3)
    parts = [b"a" * 3000, b'{"key":"value","n":1}' * 50, bytes(r.randrange(256) for _ in range(2000)), b"a" * 500]
    shared_content = b"".join(parts)
    index = ContentIndex(shared_content)
    needles = [shared_content[i:i + n] for i in range(0, len(shared_content) - 64, 37) for n in (8, 9, 15, 64)]
    needles += [b"a" * 8, b"a" * 200, b"a" * 7 + b"b", b'"value","n":1}{"k', b"not in there at all"]
    needles += [bytes(r.randrange(256) for _ in range(8)) for _ in range(200)]
    for s in needles:
        assert index.rfind(s) == shared_content.rfind(s), s


def test_a_config_object_takes_its_level_too() -> None:
    """CodecConfig(level=N) built directly (config=...) gets the level's knobs, like keywords do."""
    direct = CodecConfig(level=1)
    assert direct == CodecConfig.from_mapping({"level": 1})
    assert Encoder(config=CodecConfig(level=4)).config.explore_interval == 0
    # a new level on top of a config keeps the knobs the config set itself
    mine = CodecConfig.from_mapping({"zstd_level": 9})
    moved = CodecConfig.resolve(mine, {"level": 1})
    assert moved.zstd_level == 9 and moved.window == LEVELS[1]["window"]
    back = CodecConfig.resolve(moved, {"level": 3})
    assert back.window == CodecConfig().window and back.zstd_level == 9


def _templated_slot_encoder() -> tuple[Encoder, Decoder, list[str], int]:
    """An encoder whose templated slot predicts a template frame (template frames won its full
    trials) and is between full trials; the messages of that slot."""
    from aura_wire.codec.encoder import _P_NONE, _slot

    enc = Encoder(None, context=True, explore_interval=16)
    dec = Decoder(None, context=True)
    msgs = [f"12-03 10:15:{i % 60:02d}.{i * 37 % 1000:03d} I Worker: job {i * 7919 % 100000} done in {i % 97} ms"
            for i in range(200)]
    slot = _slot(len(msgs[0].encode()), True)
    for m in msgs[:60]:
        assert dec.decode(enc.encode(m)) == m
    assert enc._pred[slot] == _P_NONE and enc._brio_rate[slot] > 0
    return enc, dec, msgs[60:], slot


def test_a_template_frame_above_the_slots_brio_rate_gets_a_brio_trial() -> None:
    # between full trials only the predicted method is tried, except BRIO when the template frame is
    # larger than the frames BRIO reached in the slot (_brio_rate, per 256 message bytes): a trial
    # updates the rate, so a changed rate shows the trial ran
    enc, dec, rest, slot = _templated_slot_encoder()
    tried = 0
    for m in rest:
        due = enc._due[slot]
        enc._brio_rate[slot] = 1  # BRIO "reached" 1/256 of the message: every template frame is above it
        assert dec.decode(enc.encode(m)) == m
        if due and enc._pred[slot] == 0:
            tried += enc._brio_rate[slot] != 1
    assert tried > 10


def test_a_template_frame_below_the_slots_brio_rate_gets_no_extra_trial() -> None:
    enc, dec, rest, slot = _templated_slot_encoder()
    skipped = 0
    for m in rest:
        due = enc._due[slot]
        enc._brio_rate[slot] = 1 << 16  # BRIO "needs" 256 bytes per message byte: never worth a trial
        assert dec.decode(enc.encode(m)) == m
        if due and enc._pred[slot] == 0:
            assert enc._brio_rate[slot] == 1 << 16
            skipped += 1
    assert skipped > 10
